#!/usr/bin/env python3
"""Summary of bench/gpu/run.sh (called after every step, so a run cut short still leaves one): reads the work folder
(registry.tsv, phases.tsv, the seqrec logs and run folders, the peers' JSON lines, the nvidia-smi memory samples) and
writes OUT/summary.json and OUT/summary.txt. Standard library only.

seqrec's sequences/s per epoch come from its progress lines ("[train] epoch 3/20 [...] 100% N/N seq, R seq/s, took"),
which time the training loop only, as the peers time theirs; both report the median over epochs 2.. (epoch 1 holds the
CUDA warm-up and torch.compile's compilation). Peak GPU memory: the largest nvidia-smi reading (whole device, 100 ms
samples) during the training process minus the reading before anything ran, so it includes the CUDA context and the
caching allocator's reserve for seqrec and the peers alike; the peers also give torch's own peak allocated/reserved.
"""
import argparse
import json
import os
import re
import statistics

MAIN = {"sasrec-amazon-games": ["recall@10", "ndcg@10"], "gpt2-yoochoose-100k": ["recall@20", "mrr@20"]}
LABEL = {"recall@10": "HR@10", "ndcg@10": "NDCG@10", "recall@20": "R@20", "mrr@20": "MRR@20"}
EPOCH = re.compile(r"^\[train\] epoch (\d+)(?:/\d+)? \[[#.]*\]\s+\d+% (\d+)/(\d+) seq, (\d+) seq/s, took")
DONE = re.compile(r"^\[train\] (.+?) after (\d+) steps in ([0-9.]+) s")


def read_tsv(path):
    if not os.path.exists(path):
        return []
    return [line.rstrip("\n").split("\t") for line in open(path) if line.strip()]


def peak_mib(work, name):
    def values(path):
        out = []
        if os.path.exists(path):
            for line in open(path):
                try:
                    out.append(float(line.strip().split(",")[0]))
                except ValueError:
                    pass
        return out

    samples = values(os.path.join(work, "mem", name + ".csv"))
    idle = values(os.path.join(work, "mem", "idle.csv"))
    if not samples:
        return None
    return max(samples) - (min(idle) if idle else 0.0)


def seqrec_row(work, name, setting, precision, epochs, phases):
    row = {"name": name, "impl": "seqrec", "setting": setting, "precision": precision, "epochs_asked": int(epochs)}
    log = os.path.join(work, "logs", name + ".log")
    epochs_seen = []
    if os.path.exists(log):
        for line in open(log, errors="replace"):
            m = EPOCH.match(line.strip())
            if m:
                epochs_seen.append({"epoch": int(m.group(1)), "done": int(m.group(2)), "total": int(m.group(3)),
                                    "rate": float(m.group(4))})
            d = DONE.match(line.strip())
            if d:
                row["stop_reason"], row["steps"], row["train_loop_seconds"] = d.group(1), int(d.group(2)), float(d.group(3))
    row["epochs_run"] = len(epochs_seen)
    complete = [e for e in epochs_seen if e["done"] == e["total"] and e["rate"] > 0]
    # Complete epochs after the first; else any complete one; else the partial ones (a run stopped by its time limit).
    steady = ([e for e in complete if e["epoch"] > 1] or complete
              or [e for e in epochs_seen if e["rate"] > 0 and e["done"] > 0])
    if steady:
        row["seq_per_s"] = statistics.median(e["rate"] for e in steady)
        row["s_per_epoch"] = statistics.median(e["total"] / e["rate"] for e in steady)
        row["sequences_per_epoch"] = steady[0]["total"]
        row["steady_epochs_partial"] = not complete
    if epochs_seen and epochs_seen[0]["rate"] > 0:
        row["first_epoch_s"] = epochs_seen[0]["done"] / epochs_seen[0]["rate"]
    row["epoch_seconds"] = [round(e["done"] / e["rate"], 4) for e in epochs_seen if e["rate"] > 0]
    test = os.path.join(work, "runs", name, "test.json")
    if os.path.exists(test):
        t = json.load(open(test))
        model = t["results"][0]
        row["test"] = {"protocol": t.get("protocol"), "predictions": model.get("predictions"), "metrics": model["metrics"]}
        for r in t["results"][1:]:
            row.setdefault("baselines", {})[r["name"]] = r["metrics"]
    row["phases"] = {p[0]: {"rc": p[1], "seconds": float(p[2])} for p in phases if p[0].startswith(name + ":")}
    row["gpu_peak_mib"] = peak_mib(work, name)
    return row


def peer_row(work, name, impl, setting, precision, epochs, phases):
    row = {"name": name, "impl": impl, "setting": setting, "precision": precision, "epochs_asked": int(epochs)}
    path = os.path.join(work, "peers", name + ".json")
    if os.path.exists(path):
        lines = [line for line in open(path) if line.strip().startswith("{")]
        if lines:
            j = json.loads(lines[-1])
            for key in ("seq_per_s", "s_per_epoch", "first_epoch_s", "epoch_seconds", "epochs_run", "steps",
                        "stop_reason", "sequences_per_epoch", "peak_allocated_mib", "peak_reserved_mib", "kept_epoch",
                        "torch", "device_name", "train_seconds", "wall_seconds", "impl"):
                if key in j:
                    row[key] = j[key]
            row["test"] = j.get("test")
    row["phases"] = {p[0]: {"rc": p[1], "seconds": float(p[2])} for p in phases if p[0] == name}
    row["gpu_peak_mib"] = peak_mib(work, name)
    return row


def fmt(x, spec):
    width = int(re.match(r"\d*", spec).group() or 0)
    return format(x, spec) if isinstance(x, (int, float)) else "-".rjust(width)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--budget", type=float, default=0)
    ap.add_argument("--elapsed", type=float, default=0)
    ap.add_argument("--games-epochs", type=int, default=0)
    ap.add_argument("--yoo-epochs", type=int, default=0)
    a = ap.parse_args()
    phases = read_tsv(os.path.join(a.work, "phases.tsv"))
    rows = []
    for r in read_tsv(os.path.join(a.work, "registry.tsv")):
        if r[1] == "seqrec":
            rows.append(seqrec_row(a.work, r[0], r[2], r[3], r[4], phases))
        else:
            rows.append(peer_row(a.work, r[0], r[1], r[2], r[3], r[4], phases))

    comparisons = []
    for setting in MAIN:
        def find(impl, precision="fp32"):
            return next((x for x in rows if x["setting"] == setting and x["impl"] == impl
                         and x["precision"] == precision and x.get("seq_per_s")), None)
        eager, compiled = find("pytorch-eager"), find("pytorch-compile")
        for precision in ("fp32", "bf16"):
            ours = find("seqrec", precision)
            if not ours:
                continue
            c = {"setting": setting, "seqrec_precision": precision}
            for peer_name, peer in (("eager", eager), ("compile", compiled)):
                if peer:
                    c["speedup_vs_" + peer_name] = ours["seq_per_s"] / peer["seq_per_s"]
                    if ours.get("test") and peer.get("test"):
                        c["metric_delta_vs_" + peer_name] = {
                            k: ours["test"]["metrics"].get(k, float("nan")) - peer["test"]["metrics"].get(k, float("nan"))
                            for k in MAIN[setting]}
            if not (eager or compiled):
                continue
            c["goal_2x_eager"] = c.get("speedup_vs_eager", 0) >= 2.0 if eager else None
            c["goal_ahead_of_compile"] = c.get("speedup_vs_compile", 0) > 1.0 if compiled else None
            comparisons.append(c)

    summary = {"budget_s": a.budget, "elapsed_s": a.elapsed, "epochs": {"sasrec-amazon-games": a.games_epochs,
                                                                         "gpt2-yoochoose-100k": a.yoo_epochs},
               "phases": [{"name": p[0], "rc": p[1], "seconds": float(p[2]), "limit": float(p[3])} for p in phases],
               "rows": rows, "comparisons": comparisons}
    os.makedirs(a.out, exist_ok=True)
    tmp = os.path.join(a.out, "summary.json.tmp")
    with open(tmp, "w") as f:
        json.dump(summary, f, indent=1)
        f.write("\n")
    os.replace(tmp, os.path.join(a.out, "summary.json"))

    lines = []
    device = next((x.get("device_name") for x in rows if x.get("device_name")), None)
    env = os.path.join(a.out, "env.txt")
    if not device and os.path.exists(env):
        device = next((line.split(":", 1)[1].strip() for line in open(env, errors="replace")
                       if line.startswith("device:")), None)
    lines.append(f"GPU check: {device or '?'}; {a.elapsed:.0f} s of the {a.budget:.0f} s budget")
    lines.append("phases: " + ", ".join(f"{p[0]} {p[2]}s" + ("" if p[1] in ("0",) else f" [rc {p[1]}]") for p in phases))
    header = (f"{'setting':<20} {'impl':<16} {'prec':<5} {'epochs':>7} {'seq/s':>9} {'s/epoch':>8} {'1st ep s':>8} "
              f"{'GPU MiB':>8} {'torch MiB':>9}  test")
    lines.append(header)
    lines.append("-" * len(header))
    for x in rows:
        metrics = (x.get("test") or {}).get("metrics") or {}
        test = "  ".join(f"{LABEL[k]} {metrics[k]:.4f}" for k in MAIN.get(x["setting"], []) if k in metrics)
        epochs = f"{x.get('epochs_run', 0)}/{x['epochs_asked']}"
        status = ""
        bad = [f"{k} rc {v['rc']}" for k, v in x.get("phases", {}).items() if v["rc"] not in ("0",)]
        if bad:
            status = "  (" + ", ".join(bad) + ")"
        lines.append(f"{x['setting']:<20} {x['impl']:<16} {x['precision']:<5} {epochs:>7} {fmt(x.get('seq_per_s'), '9.0f')} "
                     f"{fmt(x.get('s_per_epoch'), '8.3f')} {fmt(x.get('first_epoch_s'), '8.2f')} "
                     f"{fmt(x.get('gpu_peak_mib'), '8.0f')} {fmt(x.get('peak_reserved_mib'), '9.0f')}  {test or '-'}{status}")
    for c in comparisons:
        parts = [f"{c['setting']} seqrec {c['seqrec_precision']}:"]
        for peer in ("eager", "compile"):
            if f"speedup_vs_{peer}" in c:
                delta = c.get(f"metric_delta_vs_{peer}", {})
                d = ", ".join(f"{LABEL[k]} {v:+.4f}" for k, v in delta.items())
                parts.append(f"{c[f'speedup_vs_{peer}']:.2f}x PyTorch {peer} (test {d or '-'})")
        lines.append(" ".join(parts))
    lines.append("seq/s and s/epoch: median over epochs 2.. of the training loop (epoch 1, with warm-up and compilation, "
                 "is '1st ep s'); GPU MiB: nvidia-smi peak minus idle (CUDA context included); torch MiB: the peers' "
                 "max_memory_reserved. Goal: >= 2x eager and > 1x compile at equal test quality.")
    with open(os.path.join(a.out, "summary.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
