#!/usr/bin/env python3
"""The PyTorch (Python) peer of seqrec's default model, for the side-by-side in bench/perf.sh.

Same architecture as src/model/gpt2.cpp (pre-LayerNorm GPT-2 blocks, learned positions, causal + padding
mask inside attention, output layer tied to the item embedding, ids 0..2 never scored), same loss
(full-catalogue cross-entropy at every position, null/OOV targets ignored), same optimizer (AdamW,
weight decay 0.01), same batches (the last max_length+1 items of each session, shuffled each epoch),
read from the same sessions folder that `seqrec etl` wrote. Prints one JSON object like perf_bench.
"""
import argparse
import json
import math
import os
import resource
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def read_sessions(folder):
    manifest = json.load(open(os.path.join(folder, "manifest.json")))
    offsets = np.fromfile(os.path.join(folder, "item_id.offsets.bin"), dtype="<i8")
    items = np.fromfile(os.path.join(folder, "item_id.values.bin"), dtype="<i8")
    assert len(offsets) == manifest["rows"] + 1
    return [items[offsets[r]:offsets[r + 1]] for r in range(manifest["rows"])]


def pad_batch(sessions, rows, length, hold_out_last=False):
    seqs = []
    targets = []
    for r in rows:
        s = sessions[r]
        if hold_out_last:
            targets.append(s[-1])
            s = s[:-1]
        seqs.append(s[-length:])
    width = max(1, max(len(s) for s in seqs))
    out = np.zeros((len(seqs), width), dtype=np.int64)
    for b, s in enumerate(seqs):
        out[b, :len(s)] = s
    lengths = torch.tensor([len(s) for s in seqs])
    return torch.from_numpy(out), lengths, torch.tensor(targets, dtype=torch.long)


class Block(nn.Module):
    def __init__(self, d, heads, dropout):
        super().__init__()
        self.heads = heads
        self.ln_1 = nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.out = nn.Linear(d, d)
        self.attention_dropout = nn.Dropout(dropout)
        self.residual_dropout = nn.Dropout(dropout)
        self.ln_2 = nn.LayerNorm(d)
        self.mlp_in = nn.Linear(d, 4 * d)
        self.mlp_out = nn.Linear(4 * d, d)
        self.mlp_dropout = nn.Dropout(dropout)

    def attention(self, x, key_padding):
        B, L, D = x.shape
        H = self.heads
        q, k, v = self.qkv(x).view(B, L, 3, H, D // H).permute(2, 0, 3, 1, 4)
        scores = q @ k.transpose(-2, -1) / math.sqrt(D // H)
        future = torch.ones(L, L, dtype=torch.bool).triu(1)
        blocked = future.view(1, 1, L, L) | key_padding.view(B, 1, 1, L)
        blocked = blocked & ~torch.eye(L, dtype=torch.bool).view(1, 1, L, L)
        scores = scores.masked_fill(blocked, float("-inf"))
        weights = self.attention_dropout(torch.softmax(scores, -1))
        context = (weights @ v).transpose(1, 2).reshape(B, L, D)
        return self.residual_dropout(self.out(context))

    def forward(self, x, key_padding):
        h = x + self.attention(self.ln_1(x), key_padding)
        return h + self.mlp_dropout(self.mlp_out(F.gelu(self.mlp_in(self.ln_2(h)))))


class Gpt2(nn.Module):
    def __init__(self, num_items, d, heads, layers, max_length, dropout):
        super().__init__()
        self.item_embedding = nn.Embedding(num_items, d)
        self.position_embedding = nn.Embedding(max_length, d)
        self.embedding_dropout = nn.Dropout(dropout)
        self.blocks = nn.ModuleList([Block(d, heads, dropout) for _ in range(layers)])
        self.ln_final = nn.LayerNorm(d)
        bias = torch.zeros(num_items)
        bias[:3] = float("-inf")
        self.register_buffer("reserved_bias", bias)
        for name, p in self.named_parameters():
            if "ln_" in name:
                continue
            if "bias" in name:
                nn.init.zeros_(p)
            else:
                nn.init.normal_(p, 0.0, 0.02)

    def forward(self, items):
        L = items.shape[1]
        h = self.embedding_dropout(self.item_embedding(items) + self.position_embedding(torch.arange(L)).unsqueeze(0))
        key_padding = items.eq(0)
        for block in self.blocks:
            h = block(h, key_padding)
        return self.ln_final(h)

    def logits(self, hidden):
        return hidden @ self.item_embedding.weight.t() + self.reserved_bias

    def training_loss(self, items):
        inputs, targets = items[:, :-1], items[:, 1:]
        targets = targets.masked_fill(targets.lt(3), 0).reshape(-1)
        scores = self.logits(self.forward(inputs))
        return F.cross_entropy(scores.reshape(-1, scores.shape[-1]), targets, ignore_index=0)

    def next_item_scores(self, items, lengths):
        hidden = self.forward(items)
        last = (lengths - 1).clamp(min=0).view(-1, 1, 1).expand(-1, 1, hidden.shape[2])
        return self.logits(hidden.gather(1, last).squeeze(1))


def ranks(scores, targets):
    target_scores = scores.gather(1, targets.clamp(0, scores.shape[1] - 1).unsqueeze(1))
    r = 1 + scores.gt(target_scores).sum(1)
    return torch.where(targets < 3, torch.full_like(r, 1 << 62), r)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--d-model", type=int, default=64)
    ap.add_argument("--heads", type=int, default=2)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--max-length", type=int, default=20)
    ap.add_argument("--dropout", type=float, default=0.1)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=42)
    a = ap.parse_args()
    torch.set_num_threads(a.threads or os.cpu_count())
    torch.manual_seed(a.seed)
    rng = np.random.default_rng(a.seed)

    schema = json.load(open(os.path.join(a.data, "schema.json")))
    item = next(c for c in schema["columns"] if "item" in c["tags"])
    num_items = item["int_domain"]["max"] + 1
    train = read_sessions(os.path.join(a.data, "sessions", "train"))
    test = read_sessions(os.path.join(a.data, "sessions", "test"))

    model = Gpt2(num_items, a.d_model, a.heads, a.layers, a.max_length, a.dropout)
    optimizer = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=0.01)
    rows = np.array([r for r, s in enumerate(train) if len(s) >= 2])
    model.train()
    start = time.perf_counter()
    for _ in range(a.epochs):
        rng.shuffle(rows)
        for s in range(0, len(rows), a.batch_size):
            items, _, _ = pad_batch(train, rows[s:s + a.batch_size], a.max_length + 1)
            loss = model.training_loss(items)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    train_seconds = time.perf_counter() - start

    model.eval()
    metrics = {f"{m}@{k}": 0.0 for m in ("ndcg", "recall", "mrr") for k in (10, 20)}
    count = 0
    with torch.no_grad():
        eval_rows = [r for r, s in enumerate(test) if len(s) >= 2]
        for s in range(0, len(eval_rows), 256):
            items, lengths, targets = pad_batch(test, eval_rows[s:s + 256], a.max_length, hold_out_last=True)
            r = ranks(model.next_item_scores(items, lengths), targets).double()
            for k in (10, 20):
                hit = r <= k
                metrics[f"recall@{k}"] += hit.sum().item()
                metrics[f"ndcg@{k}"] += torch.where(hit, 1.0 / torch.log2(r + 1), torch.zeros_like(r)).sum().item()
                metrics[f"mrr@{k}"] += torch.where(hit, 1.0 / r, torch.zeros_like(r)).sum().item()
            count += len(targets)
        metrics = {k: v / max(count, 1) for k, v in metrics.items()}

        all_rows = list(range(len(test)))
        t = time.perf_counter()
        scored = 0
        for _ in range(3):
            for s in range(0, len(all_rows), 256):
                items, lengths, _ = pad_batch(test, all_rows[s:s + 256], a.max_length)
                model.next_item_scores(items, lengths).topk(20, 1)
                scored += items.shape[0]
        batched = scored / (time.perf_counter() - t)

        def latency(m):
            ms = []
            for i in range(300):
                items, lengths, _ = pad_batch(test, [i % len(test)], a.max_length)
                s = time.perf_counter()
                m.next_item_scores(items, lengths).topk(20, 1)
                ms.append((time.perf_counter() - s) * 1e3)
            ms.sort()
            return ms

        small = latency(model)
        big = Gpt2(50000, a.d_model, a.heads, a.layers, a.max_length, a.dropout).eval()
        large = latency(big)

    print(json.dumps({
        "impl": "pytorch-peer",
        "threads": torch.get_num_threads(),
        "train_seq_per_s": len(rows) * a.epochs / train_seconds,
        "train_seconds": train_seconds,
        "batched_sessions_per_s": batched,
        "single_session_ms_p50": small[len(small) // 2],
        "top20_of_50k_ms_p50": large[len(large) // 2],
        "top20_of_50k_ms_p99": large[min(len(large) - 1, int(0.99 * len(large)))],
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "test": metrics,
    }))


if __name__ == "__main__":
    main()
