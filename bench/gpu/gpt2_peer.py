#!/usr/bin/env python3
"""Plain PyTorch peer of seqrec's GPT-2 setting: configs/repro/yoochoose-100k.json (d_model 96, 2 heads, 2 layers,
max_length 20, dropout 0.2, full cross-entropy, AdamW lr 0.002 with weight decay 0.01, cosine schedule, batch 64; test:
every next click of the test sessions, full ranking). Model, training and metrics: peer_common.py.

    python3 bench/gpu/gpt2_peer.py --data .gpu/data/yoochoose-100k --device cuda [--compile] [--epochs N]

Prints a JSON line (seq/s, s/epoch, peak GPU memory) after training and again with the test metrics.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peer_common import main  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

if __name__ == "__main__":
    main(os.path.join(ROOT, "configs", "repro", "yoochoose-100k.json"), "gpt2-yoochoose-100k")
