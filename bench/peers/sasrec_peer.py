#!/usr/bin/env python3
"""A plain PyTorch SASRec, trained the way pmixer/SASRec.pytorch trains it (python/main.py, model.py, utils.py), for
bench/peers.sh. That code is not on PyPI and cannot be fetched here, so this is a re-implementation of its algorithm
at the SASRec paper's settings for Amazon Games, not a copy:

- SASRec's data_partition of `user item` lines: users with >= 4 actions keep their last item for test and the one
  before for valid; the rest trains; users with < 4 actions only train;
- each epoch, every user once in a shuffled order (a user with <= 1 training item is replaced by a random user),
  batches of 128: the last 50 training items as input (left-padded), the next item as the positive at every
  position and one negative per position drawn uniformly from the items the user never trained on;
- item embedding x sqrt(d) + learned positions (1..L, 0 for padding), embedding dropout; 2 blocks of
  torch.nn.MultiheadAttention (1 head, causal mask) and a point-wise ReLU feed-forward d -> d, post-LayerNorm as
  the official default (norm_first off; LayerNorm eps 1e-8), a last LayerNorm; d 50, dropout 0.5 (the paper's
  setting for Games);
- binary cross-entropy with logits on the positive and the negative logits at the non-padding positions;
- Adam, learning rate 0.001, betas (0.9, 0.98); xavier_normal_ on every weight matrix, padding rows zero.

Test as the official evaluate(): the input is the training items + the valid item (last 50), ranked against 100 items
drawn uniformly among those the user never interacted with; HR@10 and NDCG@10 over the evaluated users (every such
user by default; the official code samples 10,000 when there are more: --eval-users 10000). Prints one JSON line.
"""
import argparse
import json
import os
import resource
import time
from collections import defaultdict

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def data_partition(path):
    users = defaultdict(list)
    num_items = 0
    with open(path) as f:
        for line in f:
            if not line.strip():
                continue
            u, i = line.split()
            users[int(u)].append(int(i))
            num_items = max(num_items, int(i))
    train, valid, test = {}, {}, {}
    for u, seq in users.items():
        if len(seq) < 4:
            train[u], valid[u], test[u] = seq, [], []
        else:
            train[u], valid[u], test[u] = seq[:-2], [seq[-2]], [seq[-1]]
    return train, valid, test, max(users), num_items


def sample_excluding(rng, num_items, size, excluded):
    """Uniform ids in 1..num_items, none in the sorted array `excluded` (rejection, vectorised)."""
    out = rng.integers(1, num_items + 1, size=size)
    while True:
        bad = np.isin(out, excluded)
        if not bad.any():
            return out
        out[bad] = rng.integers(1, num_items + 1, size=int(bad.sum()))


class PointWiseFeedForward(nn.Module):
    def __init__(self, d, dropout):
        super().__init__()
        self.conv1 = nn.Conv1d(d, d, kernel_size=1)
        self.conv2 = nn.Conv1d(d, d, kernel_size=1)
        self.dropout1 = nn.Dropout(dropout)
        self.dropout2 = nn.Dropout(dropout)

    def forward(self, x):  # [B, L, d]
        y = self.dropout2(self.conv2(F.relu(self.dropout1(self.conv1(x.transpose(-1, -2))))))
        return y.transpose(-1, -2)


class SASRec(nn.Module):
    def __init__(self, num_items, d, blocks, heads, maxlen, dropout, norm_first=False):
        super().__init__()
        self.norm_first = norm_first
        self.item_emb = nn.Embedding(num_items + 1, d, padding_idx=0)
        self.pos_emb = nn.Embedding(maxlen + 1, d, padding_idx=0)
        self.emb_dropout = nn.Dropout(dropout)
        self.attn_norms = nn.ModuleList([nn.LayerNorm(d, eps=1e-8) for _ in range(blocks)])
        self.attns = nn.ModuleList([nn.MultiheadAttention(d, heads, dropout) for _ in range(blocks)])
        self.ffn_norms = nn.ModuleList([nn.LayerNorm(d, eps=1e-8) for _ in range(blocks)])
        self.ffns = nn.ModuleList([PointWiseFeedForward(d, dropout) for _ in range(blocks)])
        self.last_norm = nn.LayerNorm(d, eps=1e-8)
        for p in self.parameters():
            if p.dim() >= 2:
                nn.init.xavier_normal_(p)
        with torch.no_grad():
            self.item_emb.weight[0].zero_()
            self.pos_emb.weight[0].zero_()

    def features(self, seqs):  # seqs [B, L] left-padded item ids
        B, L = seqs.shape
        x = self.item_emb(seqs) * self.item_emb.embedding_dim ** 0.5
        positions = torch.arange(1, L + 1).unsqueeze(0).expand(B, -1) * seqs.ne(0)
        x = self.emb_dropout(x + self.pos_emb(positions))
        causal = ~torch.tril(torch.ones(L, L, dtype=torch.bool))
        for norm_a, attn, norm_f, ffn in zip(self.attn_norms, self.attns, self.ffn_norms, self.ffns):
            x = x.transpose(0, 1)  # MultiheadAttention wants [L, B, d]
            if self.norm_first:
                q = norm_a(x)
                x = (x + attn(q, q, q, attn_mask=causal, need_weights=False)[0]).transpose(0, 1)
                x = x + ffn(norm_f(x))
            else:
                x = norm_a(x + attn(x, x, x, attn_mask=causal, need_weights=False)[0]).transpose(0, 1)
                x = norm_f(x + ffn(x))
        return self.last_norm(x)

    def forward(self, seqs, pos, neg):
        h = self.features(seqs)
        return (h * self.item_emb(pos)).sum(-1), (h * self.item_emb(neg)).sum(-1)

    def score(self, seqs, candidates):  # candidates [B, C]
        h = self.features(seqs)[:, -1, :]
        return (self.item_emb(candidates) * h.unsqueeze(1)).sum(-1)


def left_pad(seq, maxlen):
    out = np.zeros(maxlen, dtype=np.int64)
    tail = seq[-maxlen:]
    if len(tail):
        out[maxlen - len(tail):] = tail
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default="/work/shared/data/amazon-games/Video.txt", help="`user item` lines (SASRec format)")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--maxlen", type=int, default=50)
    ap.add_argument("--hidden-units", type=int, default=50)
    ap.add_argument("--num-blocks", type=int, default=2)
    ap.add_argument("--num-heads", type=int, default=1)
    ap.add_argument("--dropout", type=float, default=0.5)
    ap.add_argument("--lr", type=float, default=0.001)
    ap.add_argument("--norm-first", action="store_true", help="pre-LayerNorm blocks (the official --norm_first)")
    ap.add_argument("--eval-users", type=int, default=0, help="evaluate this many random users (0 = all)")
    ap.add_argument("--seed", type=int, default=42)
    a = ap.parse_args()
    torch.set_num_threads(a.threads or os.cpu_count())
    torch.manual_seed(a.seed)
    rng = np.random.default_rng(a.seed)

    train, valid, test, num_users, num_items = data_partition(a.data)
    user_ids = np.array(sorted(train))
    trainable = np.array([u for u in user_ids if len(train[u]) > 1])
    train_sets = {u: np.unique(train[u]) for u in user_ids}

    def training_batch(users):
        L = a.maxlen
        seq = np.zeros((len(users), L), dtype=np.int64)
        pos = np.zeros((len(users), L), dtype=np.int64)
        neg = np.zeros((len(users), L), dtype=np.int64)
        for b, u in enumerate(users):
            items = train[u]
            inputs, targets = items[:-1][-L:], items[1:][-L:]
            n = len(inputs)
            seq[b, L - n:] = inputs
            pos[b, L - n:] = targets
            neg[b, L - n:] = sample_excluding(rng, num_items, n, train_sets[u])
        return torch.from_numpy(seq), torch.from_numpy(pos), torch.from_numpy(neg)

    model = SASRec(num_items, a.hidden_units, a.num_blocks, a.num_heads, a.maxlen, a.dropout, a.norm_first)
    optimizer = torch.optim.Adam(model.parameters(), lr=a.lr, betas=(0.9, 0.98))
    num_batches = (len(user_ids) - 1) // a.batch_size + 1
    model.train()
    sequences = positions = 0
    start, start_cpu = time.perf_counter(), time.process_time()
    for _ in range(a.epochs):
        order = rng.permutation(user_ids)
        for b in range(num_batches):
            users = order[b * a.batch_size:(b + 1) * a.batch_size]
            if len(users) < a.batch_size:  # the official sampler's batches are always full (it wraps around)
                users = np.concatenate([users, rng.permutation(user_ids)[:a.batch_size - len(users)]])
            users = np.array([u if len(train[u]) > 1 else rng.choice(trainable) for u in users])
            seq, pos, neg = training_batch(users)
            pos_logits, neg_logits = model(seq, pos, neg)
            real = pos.ne(0)
            loss = F.binary_cross_entropy_with_logits(pos_logits[real], torch.ones_like(pos_logits[real])) + \
                F.binary_cross_entropy_with_logits(neg_logits[real], torch.zeros_like(neg_logits[real]))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            sequences += len(users)
            positions += int(real.sum())
    train_seconds = time.perf_counter() - start
    train_cpu_seconds = time.process_time() - start_cpu

    # Test: history = train + valid, target = test, against 100 negatives the user never interacted with.
    users = [u for u in user_ids if len(train[u]) >= 1 and len(test[u]) >= 1]
    if a.eval_users and len(users) > a.eval_users:
        users = list(rng.choice(users, a.eval_users, replace=False))
    model.eval()
    hits = ndcg = 0.0
    with torch.no_grad():
        for s in range(0, len(users), 512):
            chunk = users[s:s + 512]
            seqs = np.stack([left_pad(train[u] + valid[u], a.maxlen) for u in chunk])
            candidates = np.zeros((len(chunk), 101), dtype=np.int64)
            for b, u in enumerate(chunk):
                candidates[b, 0] = test[u][0]
                candidates[b, 1:] = sample_excluding(rng, num_items, 100, np.unique(train[u] + valid[u] + test[u]))
            scores = model.score(torch.from_numpy(seqs), torch.from_numpy(candidates))
            rank = (scores[:, 1:] > scores[:, :1]).sum(1)  # 0-based rank of the target among the 101
            top = rank < 10
            hits += top.sum().item()
            ndcg += (top.double() / torch.log2(rank.double() + 2)).sum().item()
    n = len(users)
    print(json.dumps({
        "impl": "sasrec-peer (plain PyTorch, SASRec.pytorch training)",
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "epochs": a.epochs,
        "batch_size": a.batch_size,
        "train_seconds": train_seconds,
        "train_cpu_seconds": train_cpu_seconds,
        "train_seq_per_s": sequences / train_seconds,
        "train_positions_per_s": positions / train_seconds,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "test": {"hr@10": hits / max(n, 1), "ndcg@10": ndcg / max(n, 1), "users": n,
                 "protocol": "leave-one-out, 100 sampled negatives (uniform, never interacted)"},
    }))


if __name__ == "__main__":
    main()
