#!/usr/bin/env python3
"""Plain PyTorch peer of seqrec's SASRec setting: configs/repro/amazon-games.json (the GPT-2 recipe that reproduces
SASRec's Amazon Games figure: d_model 64, 2 heads, 2 layers, max_length 50, dropout 0.3, full cross-entropy, AdamW
lr 0.002, batch 128; test leave-one-out against 100 sampled unseen items). Model, training and metrics: peer_common.py.

    python3 bench/gpu/sasrec_peer.py --data .gpu/data/amazon-games --device cuda [--compile] [--epochs N]

Prints a JSON line (seq/s, s/epoch, peak GPU memory) after training and again with the test metrics.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peer_common import main  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

if __name__ == "__main__":
    main(os.path.join(ROOT, "configs", "repro", "amazon-games.json"), "sasrec-amazon-games")
