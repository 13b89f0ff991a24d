#!/usr/bin/env python3
"""Prints our test figures beside the published ones and the baselines'; the last line is one JSON object.

    python3 bench/repro/compare.py NAME CONFIG.json TEST.json TRAIN_SECONDS TOTAL_SECONDS RUN_DIR [BEFORE_REFIT.json]

BEFORE_REFIT.json: the test figures of the model trained on train only, when the recipe then refits on train + valid.
"""
import json
import os
import sys

name, config_path, test_path, train_seconds, total_seconds, run_dir = sys.argv[1:7]
config = json.load(open(config_path))
# A recipe with evaluate.hybrid_sknn reports the model mixed with session kNN (the row named MODEL+sknn) as ours.
hybrid = "hybrid_sknn" in config["evaluate"]


def pick_ours(results):
    return next(r for r in results if r["name"].endswith("+sknn")) if hybrid else results[0]


before = pick_ours(json.load(open(sys.argv[7]))["results"]) if len(sys.argv) > 7 else None
test = json.load(open(test_path))
published = config["published"]
scale = published.get("scale", 1)
metrics = published["metrics"]  # our key -> the paper's name
results = test["results"]
ours = pick_ours(results)
label = " (SAMPLED)" if test.get("sampled") else ""

print()
print("%s: test split, %s%s" % (name, test["protocol"], label))
print("%d predictions; published: %s" % (ours["predictions"], published["source"]))
header = "%-22s" % "model" + "".join("%19s" % metrics[m] for m in metrics) + "%10s" % "seconds"
print(header)
print("-" * len(header))
for row_name, values in published["rows"].items():
    print("%-22s" % (row_name + " (published)") + "".join("%19.4f" % values[m] for m in metrics))
print("%-22s" % "target" + "".join("%19.4f" % published["target"][m] for m in metrics))
if before is not None:
    print("%-22s" % "ours before refit" + "".join("%19.4f" % (before["metrics"][m] * scale) for m in metrics) +
          "%10.1f" % before["seconds"])
for r in results:
    print("%-22s" % (r["name"] + (" (ours)" if r is ours else "")) +
          "".join("%19.4f" % (r["metrics"][m] * scale) for m in metrics) + "%10.1f" % r["seconds"])
best = {}
history = os.path.join(run_dir, "metrics.jsonl")
if os.path.exists(history):
    for line in open(history):
        entry = json.loads(line)
        if entry.get("type") == "valid":
            best = entry
met = {m: ours["metrics"][m] * scale >= published["target"][m] for m in metrics}
print("target met: %s; training %.0f s, whole recipe %.0f s" % (
    ", ".join("%s %s" % (metrics[m], "yes" if ok else "no") for m, ok in met.items()), float(train_seconds),
    float(total_seconds)))
refit_epochs = None
if os.path.basename(os.path.normpath(run_dir)) == "run-refit":
    refit_epochs = json.load(open(os.path.join(run_dir, "config.json")))["train"]["epochs"]
    print("model: retrained on train + valid for %d epochs, the count the valid split chose" % refit_epochs)
summary = {
    "dataset": name, "protocol": test["protocol"], "sampled": bool(test.get("sampled")), "scale": scale,
    "test": {m: round(ours["metrics"][m] * scale, 4) for m in ours["metrics"]},
    "baselines": {r["name"]: {m: round(r["metrics"][m] * scale, 4) for m in metrics}
                  for r in results if r is not ours and not (hybrid and r is results[0])},
    "model_alone": {m: round(results[0]["metrics"][m] * scale, 4) for m in metrics} if hybrid else None,
    "published": published["rows"], "target": published["target"], "target_met": met,
    "refit_epochs": refit_epochs,
    "before_refit": {m: round(before["metrics"][m] * scale, 4) for m in before["metrics"]} if before else None,
    "train_seconds": round(float(train_seconds), 1), "wall_seconds": round(float(total_seconds), 1),
}
print(json.dumps(summary, separators=(",", ":")))
