#!/usr/bin/env bash
# bench/repro/compare.py with a recipe whose evaluate section sets hybrid_sknn: the MODEL+sknn row is ours, the
# model alone is reported beside it, and neither is listed among the baselines.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 - "$work" <<'PY'
import json, os, sys
work = sys.argv[1]
row = lambda name, r, m: {"name": name, "predictions": 10, "seconds": 1.0, "metrics": {"recall@20": r, "mrr@20": m}}
json.dump({"split": "test", "protocol": "every-prefix, full ranking", "sampled": False,
           "results": [row("gpt2", 0.50, 0.18), row("gpt2+sknn", 0.55, 0.19), row("sknn", 0.45, 0.17)]},
          open(os.path.join(work, "test.json"), "w"))
json.dump({"evaluate": {"protocol": "every-prefix", "hybrid_sknn": 0.3},
           "published": {"source": "made up", "scale": 100, "metrics": {"recall@20": "P@20", "mrr@20": "MRR@20"},
                         "rows": {"X": {"recall@20": 54.0, "mrr@20": 18.5}},
                         "target": {"recall@20": 54.3, "mrr@20": 19.1}}},
          open(os.path.join(work, "recipe.json"), "w"))
PY
mkdir -p "$work/run"
python3 "$root/bench/repro/compare.py" demo "$work/recipe.json" "$work/test.json" 1 2 "$work/run" > "$work/out"
python3 - "$(tail -1 "$work/out")" <<'PY'
import json, sys
s = json.loads(sys.argv[1])
assert s["test"]["recall@20"] == 55.0 and s["test"]["mrr@20"] == 19.0, s["test"]
assert s["model_alone"] == {"recall@20": 50.0, "mrr@20": 18.0}, s["model_alone"]
assert list(s["baselines"]) == ["sknn"], s["baselines"]
assert s["target_met"] == {"recall@20": True, "mrr@20": False}, s["target_met"]
PY
grep -q "gpt2+sknn (ours)" "$work/out" || { cat "$work/out"; exit 1; }
echo "compare.py reports the hybrid as ours"
