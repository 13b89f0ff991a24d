#!/usr/bin/env python3
"""A plain PyTorch GRU4Rec, trained the way the official GRU4Rec PyTorch code trains (hidasib/GRU4Rec_PyTorch_Official,
paramfiles/rsc15_xe_shared_100_best.py), for bench/peers.sh. That code is not on PyPI and cannot be fetched here, so
this is a re-implementation of its algorithm, not a copy:

- session-parallel mini-batches: BATCH sessions side by side in time order of their first click, one event of each per
  step; a finished session's slot takes the next session and its hidden state is reset to zeros;
- one layer of GRUCell(100, 100) with "constrained embedding": the input embedding of an item is its output vector
  (Wy), plus an output bias per item (By);
- 2,048 negatives per step shared by the whole mini-batch, drawn from popularity^0.5 (sample_alpha 0.5); the scores
  are over the batch's own targets + those samples;
- cross-entropy with logQ correction (logq 1.0), summed over the batch and divided by the batch size;
- dropout 0.4 on the hidden state, none on the embedding;
- Adagrad with momentum (learning rate 0.2, momentum 0.2, eps 1e-6) with sparse (row-wise) updates of Wy and By;
- weights uniform in +-sqrt(6 / (fan_in + fan_out)) per gate, biases zero.

Evaluation as the official evaluation.py: the test sessions replayed session-parallel (512 at a time), every next click
ranked against the whole catalogue (items of train_full); rank = 1 + items scored strictly higher; Recall@20, MRR@20.
Reads the session-rec files (SessionId, ItemId, Time) directly. Prints one JSON line.
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


def read_events(path):
    """(session ids, item ids, times) sorted by session then time; sessions ordered later by their first click."""
    sessions, items, times = [], [], []
    with open(path) as f:
        header = f.readline().rstrip("\n").split("\t")
        s_col, i_col, t_col = header.index("SessionId"), header.index("ItemId"), header.index("Time")
        for line in f:
            p = line.rstrip("\n").split("\t")
            sessions.append(int(p[s_col]))
            items.append(int(p[i_col]))
            times.append(float(p[t_col]))
    sessions, items, times = np.array(sessions), np.array(items), np.array(times)
    order = np.lexsort((times, sessions))
    return sessions[order], items[order], times[order]


def session_offsets(sessions, times, by_time):
    """Offsets of each session's events and the order sessions are fed in (by first click, as session_order='time')."""
    change = np.flatnonzero(sessions[1:] != sessions[:-1]) + 1
    offsets = np.concatenate([[0], change, [len(sessions)]]).astype(np.int64)
    order = np.argsort(times[offsets[:-1]], kind="stable") if by_time else np.arange(len(offsets) - 1)
    return offsets, order


def session_parallel(offsets, order, batch_size):
    """Yields ("step", input positions, target positions) and ("reset", finished mask, valid mask), as GRU4Rec does."""
    slots = np.arange(min(batch_size, len(order)))
    next_session = len(slots)
    start = offsets[order[slots]]
    end = offsets[order[slots] + 1]
    while True:
        shortest = int((end - start).min())
        for i in range(shortest - 1):
            yield "step", start + i, start + i + 1
        start = start + shortest - 1
        finished = end - start <= 1
        n_finished = int(finished.sum())
        slots = slots.copy()
        slots[finished] = next_session + np.arange(n_finished)
        next_session += n_finished
        valid = slots < len(order)
        if not valid.any():
            return
        refill = finished & valid
        start[refill] = offsets[order[slots[refill]]]
        end[refill] = offsets[order[slots[refill]] + 1]
        yield "reset", finished, valid
        slots, start, end = slots[valid], start[valid], end[valid]


def uniform_init(t, gates=1):
    """+-sqrt(6 / (rows + cols)) per gate block of the [rows, gates * cols] or [gates * rows, cols] matrix."""
    rows, cols = t.shape
    if gates > 1:
        rows, cols = (rows // gates, cols) if rows > cols else (rows, cols // gates)
    sigma = math.sqrt(6.0 / (rows + cols))
    with torch.no_grad():
        t.uniform_(-sigma, sigma)


class Gru4Rec(nn.Module):
    def __init__(self, num_items, units, dropout_hidden, dropout_embed):
        super().__init__()
        self.Wy = nn.Embedding(num_items, units, sparse=True)  # input embedding and output vectors (constrained)
        self.By = nn.Embedding(num_items, 1, sparse=True)
        self.cell = nn.GRUCell(units, units)
        self.drop_embed = nn.Dropout(dropout_embed)
        self.drop_hidden = nn.Dropout(dropout_hidden)
        uniform_init(self.Wy.weight)
        nn.init.zeros_(self.By.weight)
        uniform_init(self.cell.weight_ih, gates=3)
        uniform_init(self.cell.weight_hh, gates=3)
        nn.init.zeros_(self.cell.bias_ih)
        nn.init.zeros_(self.cell.bias_hh)

    def step(self, x, h, y=None):
        """One event per session: the new hidden state and the scores of y (every item when y is None)."""
        if y is not None:
            both = self.Wy(torch.cat([x, y]))
            e, out = both[:x.shape[0]], both[x.shape[0]:]
            bias = self.By(y).view(1, -1)
        else:
            e, out, bias = self.Wy(x), self.Wy.weight, self.By.weight.view(1, -1)
        h = self.drop_hidden(self.cell(self.drop_embed(e), h))
        return h, h @ out.t() + bias


class AdagradMomentum(torch.optim.Optimizer):
    """Adagrad with momentum; sparse gradients update only their rows (GRU4Rec's IndexedAdagradM algorithm)."""

    def __init__(self, params, lr, momentum, eps=1e-6):
        super().__init__(params, dict(lr=lr, momentum=momentum, eps=eps))
        for group in self.param_groups:
            for p in group["params"]:
                self.state[p]["acc"] = torch.zeros_like(p)
                if momentum > 0:
                    self.state[p]["mom"] = torch.zeros_like(p)

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            lr, mu, eps = group["lr"], group["momentum"], group["eps"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g, st = p.grad, self.state[p]
                if g.is_sparse:
                    g = g.coalesce()
                    rows, values = g.indices()[0], g.values()
                    acc = st["acc"][rows] + values * values
                    st["acc"][rows] = acc
                    update = values / (acc + eps).sqrt() * -lr
                    if mu > 0:
                        update = st["mom"][rows] * mu + update
                        st["mom"][rows] = update
                    p.index_add_(0, rows, update)
                else:
                    st["acc"].addcmul_(g, g)
                    denom = (st["acc"] + eps).sqrt()
                    if mu > 0:
                        st["mom"].mul_(mu).addcdiv_(g, denom, value=-lr)
                        p.add_(st["mom"])
                    else:
                        p.addcdiv_(g, denom, value=-lr)


class SampleCache:
    """Negatives from popularity^alpha, drawn in large blocks (the official code keeps a cache of them too)."""

    def __init__(self, counts, alpha, n_sample, generator, block_events=10_000_000):
        p = torch.tensor(counts, dtype=torch.float64) ** alpha
        self.cdf = (p.cumsum(0) / p.sum()).float()
        self.cdf[-1] = 1.0
        self.n, self.rows, self.gen = n_sample, max(1, block_events // n_sample), generator
        self.pointer = self.rows

    def get(self):
        if self.pointer >= self.rows:
            u = torch.rand(self.rows * self.n, generator=self.gen)
            self.block = torch.searchsorted(self.cdf, u, right=True).clamp_(max=len(self.cdf) - 1).view(self.rows, self.n)
            self.pointer = 0
        self.pointer += 1
        return self.block[self.pointer - 1]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default="/work/shared/data/yoochoose-100k", help="folder with the session-rec files")
    ap.add_argument("--train", default="yoochoose-clicks-100k_train_full.txt")
    ap.add_argument("--test", default="yoochoose-clicks-100k_test.txt")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--units", type=int, default=100)
    ap.add_argument("--n-sample", type=int, default=2048)
    ap.add_argument("--sample-alpha", type=float, default=0.5)
    ap.add_argument("--logq", type=float, default=1.0)
    ap.add_argument("--dropout-hidden", type=float, default=0.4)
    ap.add_argument("--dropout-embed", type=float, default=0.0)
    ap.add_argument("--lr", type=float, default=0.2)
    ap.add_argument("--momentum", type=float, default=0.2)
    ap.add_argument("--eval-batch-size", type=int, default=512)
    ap.add_argument("--seed", type=int, default=42)
    a = ap.parse_args()
    torch.set_num_threads(a.threads or os.cpu_count())
    torch.manual_seed(a.seed)
    gen = torch.Generator().manual_seed(a.seed)

    s, raw_items, t = read_events(os.path.join(a.data, a.train))
    vocab = {}
    for it in raw_items:  # ids in order of first appearance, as the official itemidmap (data[item].unique())
        vocab.setdefault(int(it), len(vocab))
    items = torch.tensor([vocab[int(it)] for it in raw_items], dtype=torch.long)
    counts = np.bincount(items.numpy(), minlength=len(vocab)).astype(np.float64)
    offsets, order = session_offsets(s, t, by_time=True)
    P0 = torch.tensor(counts, dtype=torch.float32)
    log_p_target = P0.log()  # logQ of a target (batch items appear by popularity)
    log_p_sample = a.sample_alpha * P0.log()  # logQ of a sampled negative (popularity^alpha)

    model = Gru4Rec(len(vocab), a.units, a.dropout_hidden, a.dropout_embed)
    opt = AdagradMomentum(model.parameters(), a.lr, a.momentum)
    cache = SampleCache(counts, a.sample_alpha, a.n_sample, gen) if a.n_sample > 0 else None
    B = a.batch_size
    events = 0
    model.train()
    start, start_cpu = time.perf_counter(), time.process_time()
    for _ in range(a.epochs):
        h = torch.zeros(min(B, len(order)), a.units)
        for kind, x, y in session_parallel(offsets, order, B):
            if kind == "reset":
                finished, valid = x, y
                h = h.detach()
                h[torch.from_numpy(finished)] = 0
                if not valid.all():
                    h = h[torch.from_numpy(valid)]
                continue
            x, y = items[x], items[y]
            m = y.shape[0]
            if cache is not None:
                sample = cache.get()
                candidates = torch.cat([y, sample])
                log_q = torch.cat([log_p_target[y], log_p_sample[sample]])
            else:
                candidates, log_q = y, log_p_target[y]
            h, scores = model.step(x, h.detach(), candidates)
            if a.logq > 0:
                scores = scores - a.logq * log_q.view(1, -1)
            loss = -torch.log_softmax(scores, 1).diagonal()[:m].sum() / B
            model.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            events += m
    train_seconds = time.perf_counter() - start
    train_cpu_seconds = time.process_time() - start_cpu

    # Test: every next click of the test sessions (items unknown to train are dropped, as the official iter_data).
    ts, t_raw, tt = read_events(os.path.join(a.data, a.test))
    known = np.array([int(it) in vocab for it in t_raw])
    ts, t_raw, tt = ts[known], t_raw[known], tt[known]
    t_items = torch.tensor([vocab[int(it)] for it in t_raw], dtype=torch.long)
    t_offsets, t_order = session_offsets(ts, tt, by_time=False)
    model.eval()
    hits, rr, n = 0.0, 0.0, 0
    with torch.no_grad():
        h = torch.zeros(min(a.eval_batch_size, len(t_order)), a.units)
        for kind, x, y in session_parallel(t_offsets, t_order, a.eval_batch_size):
            if kind == "reset":
                h[torch.from_numpy(x)] = 0
                if not y.all():
                    h = h[torch.from_numpy(y)]
                continue
            h, scores = model.step(t_items[x], h)
            target = t_items[y]
            rank = 1 + (scores > scores.gather(1, target.view(-1, 1))).sum(1)
            top = rank <= 20
            hits += top.sum().item()
            rr += (top.double() / rank.double()).sum().item()
            n += len(target)
    print(json.dumps({
        "impl": "gru4rec-peer (plain PyTorch, official GRU4Rec training)",
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "epochs": a.epochs,
        "batch_size": B,
        "n_sample": a.n_sample,
        "train_seconds": train_seconds,
        "train_cpu_seconds": train_cpu_seconds,
        "train_events_per_s": events / train_seconds,
        "train_events": events,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "test": {"recall@20": hits / max(n, 1), "mrr@20": rr / max(n, 1), "events": n},
    }))


if __name__ == "__main__":
    main()
