#!/usr/bin/env python3
"""Every feature the README names has a test that drives it through the CLI: checks tests/readme/claims.tsv.

    check_claims.py SOURCE_DIR             fails when a README claim has no row, or a row's test does not drive it
    check_claims.py SOURCE_DIR --suggest   prints rows for the claims that have none, found by searching the tests

Claims are read from README.md and configs/*/README.md: every `--flag`, every ETL op (the op list of
src/etl/ops/op_factory.cpp, which the README must name too), every evaluation protocol, every `/v2/...` endpoint,
every body and masking scheme, every kind `seqrec inspect` prints. A row is "kind <TAB> claim <TAB> test":
  - a GoogleTest test (Suite.Name) in a file that runs the seqrec binary, whose body holds the claim's text;
  - Readme.EveryShellBlockRuns, when a README shell block that runs (not marked skip) holds the claim's text, or a
    file such a block names (a workflow file, a model config);
  - a CTest shell test (its NAME in tests/CMakeLists.txt), when its script holds the claim's text;
  - "-" with a reason in a fourth column, for text that is not a seqrec feature (`cmake --build`).
Standard library only.
"""
import glob
import os
import re
import sys

README_FILES = ["README.md"]  # plus configs/*/README.md
FLAG = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]+)")
ENDPOINT = re.compile(r"(/v2(?:/[A-Za-z0-9_{}\[\].]+)*)")
FIXED_VALUES = {
    "protocol": ["last-item", "every-prefix", "leave-one-out"],
    "body": ["gpt2", "bert", "albert", "electra", "xlnet", "transfo_xl", "gru", "lstm", "sasrec"],
    "masking": ["clm", "mlm", "plm", "rtd"],
    "inspect": ["bundle", "workflow", "checkpoint", "sessions", "data", "schema"],
}


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def readme_texts(source):
    files = [os.path.join(source, f) for f in README_FILES] + sorted(glob.glob(os.path.join(source, "configs", "*", "README.md")))
    return {os.path.relpath(f, source): read(f) for f in files}


def op_names(source):
    text = read(os.path.join(source, "src", "etl", "ops", "op_factory.cpp"))
    listed = re.search(r"op_names\(\)\s*\{[^}]*?\{([^}]*)\}", text, re.S)
    if not listed:
        raise SystemExit("check_claims: cannot find the op list in src/etl/ops/op_factory.cpp (op_names)")
    return re.findall(r'"([A-Za-z]+)"', listed.group(1))


def claims(source):
    """[(kind, claim)] in a stable order, and the problems found on the way (an op the README does not name)."""
    texts = readme_texts(source)
    everything = "\n".join(texts.values())
    found, problems = [], []
    for flag in sorted(set(FLAG.findall(everything))):
        found.append(("flag", flag))
    for op in op_names(source):
        if not re.search(r"\b" + op + r"\b", everything):
            problems.append(f"the README does not name the ETL op {op}")
        found.append(("op", op))
    for endpoint in sorted(set(ENDPOINT.findall(everything))):
        found.append(("endpoint", endpoint))
    for kind, values in FIXED_VALUES.items():
        for value in values:
            found.append((kind, value))
    return found, problems


def claim_pattern(kind, claim):
    if kind == "flag":
        return re.compile(re.escape(claim) + r"(?![a-z0-9-])")
    if kind == "endpoint":
        # /v2/models/{name}[/versions/1]/ready is driven by /v2/models/recs/ready and /v2/models/recs/versions/1/ready.
        text = re.escape(claim).replace(r"\{name\}", "[A-Za-z0-9_]+").replace(r"\[/versions/1\]", "(/versions/1)?")
        return re.compile(text + r"(?![A-Za-z0-9_/])")
    if kind == "inspect":
        # What `seqrec inspect` said it is: j["kind"] == "bundle" in a test, "kind": "bundle" in a README block.
        return re.compile(r'\["kind"\],\s*"' + claim + r'"|"kind": "' + claim + r'"')
    if kind == "op":
        return re.compile(r'"' + claim + r'"|\b' + claim + r"\b")
    return re.compile(r'(?<![A-Za-z0-9_])' + re.escape(claim) + r'(?![A-Za-z0-9_])')


def gtest_bodies(source):
    """{Suite.Name: body} for tests in files that run the seqrec binary."""
    bodies = {}
    for path in glob.glob(os.path.join(source, "tests", "**", "*.cpp"), recursive=True):
        text = read(path)
        if "run_cli(" not in text and "SEQREC_CLI_PATH" not in text:
            continue
        starts = [(m.start(), f"{m.group(2)}.{m.group(3)}") for m in re.finditer(r"\bTEST(_F|_P)?\((\w+),\s*(\w+)\)", text)]
        for i, (start, name) in enumerate(starts):
            end = starts[i + 1][0] if i + 1 < len(starts) else len(text)
            bodies[name] = text[start:end]
    return bodies


def shell_tests(source):
    """{CTest name: script text} for the shell tests of tests/CMakeLists.txt."""
    text = read(os.path.join(source, "tests", "CMakeLists.txt"))
    out = {}
    for name, script in re.findall(r"add_test\(NAME\s+(\S+)\s+COMMAND\s+bash\s+\$\{CMAKE_CURRENT_SOURCE_DIR\}/(\S+\.sh)", text):
        out[name] = read(os.path.join(source, "tests", script))
    return out


def readme_run_text(source):
    """The text of every README shell block that runs, plus the files those blocks name (configs/...)."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from run_readme_blocks import parse_blocks
    text = []
    for relative in readme_texts(source):
        for block in parse_blocks(os.path.join(source, relative)):
            if block.marker == "skip":
                continue
            text.append(block.text)
            for named in re.findall(r"(configs/[\w./-]+\.(?:json|ya?ml))", block.text):
                if os.path.exists(os.path.join(source, named)):
                    text.append(read(os.path.join(source, named)))
    return "\n".join(text)


def evidence(source):
    bodies = gtest_bodies(source)
    bodies.update(shell_tests(source))
    bodies["Readme.EveryShellBlockRuns"] = readme_run_text(source)
    return bodies


def load_table(path):
    rows = {}
    for number, line in enumerate(read(path).split("\n"), 1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) < 3:
            raise SystemExit(f"{path}:{number}: expected kind<TAB>claim<TAB>test[<TAB>reason]")
        rows[(fields[0], fields[1])] = (number, fields[2], fields[3] if len(fields) > 3 else "")
    return rows


def main():
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    source = sys.argv[1]
    table_path = os.path.join(source, "tests", "readme", "claims.tsv")
    found, problems = claims(source)
    bodies = evidence(source)
    if "--suggest" in sys.argv:
        rows = load_table(table_path) if os.path.exists(table_path) else {}
        for kind, claim in found:
            if (kind, claim) in rows:
                continue
            pattern = claim_pattern(kind, claim)
            tests = sorted(name for name, body in bodies.items() if pattern.search(body))
            # The README's own blocks first, then tests of the command line, then the rest.
            preferred = ([t for t in tests if t == "Readme.EveryShellBlockRuns"] or [t for t in tests if "Cli" in t] or tests)
            print(f"{kind}\t{claim}\t{preferred[0] if preferred else '?'}")
        return 0
    rows = load_table(table_path)
    for kind, claim in found:
        if (kind, claim) not in rows:
            problems.append(f"README claim {kind} '{claim}' has no row in tests/readme/claims.tsv "
                            f"(run: python3 tests/readme/check_claims.py . --suggest)")
            continue
        number, test, reason = rows[(kind, claim)]
        where = f"tests/readme/claims.tsv:{number}"
        if test == "-":
            if not reason:
                problems.append(f"{where}: '{claim}' is mapped to no test and gives no reason")
            continue
        if test not in bodies:
            problems.append(f"{where}: test {test} does not exist or does not run the seqrec binary")
        elif not claim_pattern(kind, claim).search(bodies[test]):
            problems.append(f"{where}: test {test} does not drive {kind} '{claim}'")
    claimed = set(found)
    for (kind, claim), (number, _, _) in rows.items():
        if (kind, claim) not in claimed:
            problems.append(f"tests/readme/claims.tsv:{number}: {kind} '{claim}' is no longer in the README; remove the row")
    for p in problems:
        print(p)
    print(f"{len(found)} README claims, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
