#!/usr/bin/env python3
"""Runs every fenced shell block of Markdown files, as a user would paste them, so a README cannot drift.

    run_readme_blocks.py --seqrec build/seqrec --source . README.md configs/etl/README.md

Blocks are fenced with ```sh, ```bash or ```console; other fences (```text, ```json, ...) are not commands.
Each file's blocks run in order in one fresh folder (holding links to the repository's configs/, bench/, scripts/
and build/; of data/ only the shipped dataset, linked inside a data/ the blocks write as their own output), with `seqrec` on PATH, under `bash -euo pipefail`; each block must exit 0.
In a ```console block, lines starting with "$ " are commands and the lines after each one are the shape of its
output: every line must match, where "..." inside a line matches any text and a line holding only "..." matches
any number of lines.

An HTML comment on the line(s) just before a fence tells the runner more:
    <!-- readme-test: skip: REASON -->         not run (a long benchmark, a set-up command); the reason is required
    <!-- readme-test: background: READY-CMD --> started in the background and stopped when the file ends; the next
                                                block waits until READY-CMD succeeds (e.g. a health check)
Standard library only: the test suite needs nothing but python3.
"""
import argparse
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time

SHELL_FENCES = {"sh", "bash", "shell", "console"}
MARKER = re.compile(r"<!--\s*readme-test:\s*(skip|background)\s*:\s*(.*?)\s*-->")


class Block:
    def __init__(self, path, line, fence, text, marker, marker_arg):
        self.path, self.line, self.fence, self.text = path, line, fence, text
        self.marker, self.marker_arg = marker, marker_arg

    def where(self):
        return f"{self.path}:{self.line}"


def parse_blocks(path):
    """Fenced blocks with the readme-test marker just above them (blank lines allowed in between)."""
    lines = open(path, encoding="utf-8").read().split("\n")
    blocks, i = [], 0
    while i < len(lines):
        opening = re.match(r"^(\s*)```(\S*)\s*$", lines[i])
        if not opening:
            i += 1
            continue
        indent, fence, start = opening.group(1), opening.group(2), i
        body = []
        i += 1
        while i < len(lines) and not re.match(r"^\s*```\s*$", lines[i]):
            body.append(lines[i][len(indent):] if lines[i].startswith(indent) else lines[i])
            i += 1
        if i == len(lines):
            raise SystemExit(f"{path}:{start + 1}: a fence that is never closed")
        i += 1
        marker, marker_arg = None, None
        j = start - 1
        while j >= 0 and lines[j].strip() == "":
            j -= 1
        found = MARKER.search(lines[j]) if j >= 0 else None
        if found:
            marker, marker_arg = found.group(1), found.group(2)
            if not marker_arg:
                raise SystemExit(f"{path}:{j + 1}: readme-test: {marker} needs its argument (a reason, or a ready check)")
        if fence in SHELL_FENCES:
            blocks.append(Block(path, start + 1, fence, "\n".join(body), marker, marker_arg))
        elif marker:
            raise SystemExit(f"{path}:{j + 1}: a readme-test marker above a ```{fence} block, which never runs")
    return blocks


def line_pattern(expected):
    return re.compile("^" + ".*".join(re.escape(part) for part in expected.split("...")) + "$")


def output_matches(expected, actual):
    """Each expected line matches one actual line; a line of only "..." matches any number of lines."""
    memo = {}

    def match(e, a):
        if (e, a) in memo:
            return memo[(e, a)]
        if e == len(expected):
            result = a == len(actual)
        elif expected[e].strip() == "...":
            result = any(match(e + 1, k) for k in range(a, len(actual) + 1))
        else:
            result = a < len(actual) and bool(line_pattern(expected[e].rstrip()).match(actual[a].rstrip())) and match(e + 1, a + 1)
        memo[(e, a)] = result
        return result

    return match(0, 0)


def incomplete(command):
    """True while a command goes on to the next line: a trailing backslash or an open quotation."""
    if command.endswith("\\"):
        return True
    try:
        shlex.split(command, comments=True)
        return False
    except ValueError:
        return True


def console_steps(text):
    """[(command, [expected output lines])] from a console block; a command goes on over lines while it is incomplete."""
    steps = []
    for line in text.split("\n"):
        if steps and not steps[-1][1] and incomplete(steps[-1][0]):
            steps[-1][0] += "\n" + line
        elif line.startswith("$ "):
            steps.append([line[2:], []])
        elif steps:
            steps[-1][1].append(line)
        elif line.strip():
            raise SystemExit(f"a console block must start with a '$ ' command, got: {line}")
    for step in steps:
        while step[1] and not step[1][-1].strip():
            step[1].pop()
    return steps


class Runner:
    def __init__(self, seqrec, source, keep):
        self.seqrec, self.source, self.keep = os.path.abspath(seqrec), os.path.abspath(source), keep
        self.background, self.ready_check, self.failures, self.ran, self.skipped = [], None, [], 0, 0

    def environment(self, bin_dir):
        env = dict(os.environ)
        env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
        return env

    def prepare(self, work):
        bin_dir = os.path.join(work, ".bin")
        os.makedirs(bin_dir)
        os.symlink(self.seqrec, os.path.join(bin_dir, "seqrec"))
        # Not data/: the README's blocks write their own `data` folder, which must never land in the repository.
        for name in ("configs", "bench", "scripts", "build"):
            if os.path.exists(os.path.join(self.source, name)):
                os.symlink(os.path.join(self.source, name), os.path.join(work, name))
        # Only the shipped dataset itself, read-only by every block, is linked inside a data/ of the work folder's own.
        shipped = os.path.join(self.source, "data", "uci-eshop-clickstream-2008")
        if os.path.isdir(shipped):
            os.makedirs(os.path.join(work, "data"))
            os.symlink(shipped, os.path.join(work, "data", "uci-eshop-clickstream-2008"))
        return self.environment(bin_dir)

    def shell(self, command, work, env, timeout=900):
        return subprocess.run(["bash", "-euo", "pipefail", "-c", command], cwd=work, env=env, capture_output=True,
                              text=True, timeout=timeout)

    def wait_until_ready(self, work, env, block):
        if not self.ready_check:
            return True
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.shell(self.ready_check, work, env, timeout=30).returncode == 0:
                self.ready_check = None
                return True
            for process, _ in self.background:
                if process.poll() is not None:
                    break
            time.sleep(0.3)
        self.fail(block, f"the background command never became ready ({self.ready_check})", "")
        self.ready_check = None
        return False

    def fail(self, block, why, output):
        self.failures.append(f"{block.where()}: {why}\n{output}")
        print(f"FAIL {block.where()}: {why}\n{output}", flush=True)

    def run_block(self, block, work, env):
        if block.marker == "skip":
            self.skipped += 1
            print(f"skip {block.where()}: {block.marker_arg}", flush=True)
            return
        if not self.wait_until_ready(work, env, block):
            return
        started = time.time()
        if block.marker == "background":
            log = open(os.path.join(work, f".background-{block.line}.log"), "w")
            process = subprocess.Popen(["bash", "-euo", "pipefail", "-c", block.text], cwd=work, env=env, stdout=log,
                                       stderr=subprocess.STDOUT, start_new_session=True)
            self.background.append((process, log))
            self.ready_check = block.marker_arg
            print(f"bg   {block.where()}: started", flush=True)
            return
        steps = console_steps(block.text) if block.fence == "console" else [(block.text, None)]
        for command, expected in steps:
            result = self.shell(command, work, env)
            if result.returncode != 0:
                self.fail(block, f"exit code {result.returncode} from: {command}", result.stdout + result.stderr)
                return
            if expected and not output_matches(expected, result.stdout.rstrip("\n").split("\n")):
                self.fail(block, f"the output of `{command}` does not have the shape shown",
                          "expected:\n" + "\n".join(expected) + "\nactual:\n" + result.stdout)
                return
        self.ran += 1
        print(f"ok   {block.where()} ({time.time() - started:.1f} s)", flush=True)

    def stop_background(self):
        for process, log in self.background:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
            log.close()
        self.background, self.ready_check = [], None

    def run_file(self, path):
        blocks = parse_blocks(path)
        work = tempfile.mkdtemp(prefix="seqrec_readme_")
        env = self.prepare(work)
        try:
            for block in blocks:
                self.run_block(block, work, env)
        finally:
            self.stop_background()
            if self.keep:
                print(f"kept {work}")
            else:
                shutil.rmtree(work, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seqrec", required=True, help="the seqrec binary to put on PATH")
    parser.add_argument("--source", required=True, help="the repository (configs/, data/, bench/, scripts/)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folders")
    parser.add_argument("files", nargs="+")
    args = parser.parse_args()
    runner = Runner(args.seqrec, args.source, args.keep)
    for path in args.files:
        runner.run_file(os.path.join(args.source, path) if not os.path.isabs(path) else path)
    print(f"{runner.ran} blocks ran, {runner.skipped} skipped (marked), {len(runner.failures)} failed")
    return 1 if runner.failures else 0


if __name__ == "__main__":
    sys.exit(main())
