"""Plain PyTorch peer of seqrec's GPT-2 recipe (configs/repro/*.json), for bench/gpu/run.sh: the same model, loss,
optimizer, schedule, batches and test protocol, on any device, eager or under torch.compile.

- Model, as src/model/gpt2.cpp: item embedding, learned positions (max_length + 1 of them), embedding dropout, pre-LN
  GPT-2 blocks (LayerNorm -> fused qkv -> causal attention with dropout -> output projection -> dropout; LayerNorm ->
  Linear(d, 4d) -> exact GELU -> Linear(4d, d) -> dropout), final LayerNorm, output tied to the item embedding; N(0, 0.02)
  weights, zero biases; ids 0..2 (padding, null, OOV) never scored.
- Attention is F.scaled_dot_product_attention(is_causal=True): rows are left-aligned (padding after the last item), so
  the causal mask alone keeps every real position off the padding, as seqrec's causal + padding mask does.
- Loss, as SequenceModel::training_loss: full-catalogue cross-entropy over ids >= 3 at every position whose target is a
  real item, averaged over those positions (computed against item_embedding.weight[3:], padding targets ignored).
- Batches, as Trainer::epoch_order with bucket_by_length: rows with >= 2 items, the last max_length + 1 items of each,
  shuffled, sorted by length within windows of 64 batches, full batches shuffled, the partial batch last; each batch as
  wide as its longest row. (numpy's generator, so not the same permutation as seqrec's mt19937.)
- AdamW with weight decay on matrices only, linear warmup then constant / linear / cosine per step (train/lr_schedule.cpp),
  clip_grad_norm 1.0. On CUDA: fused AdamW, foreach clipping, no host sync inside an epoch.
- The kept model is the epoch with the lowest mean training loss, as seqrec keeps its checkpoint when there is no valid
  split (the refit data: train = train + valid, valid empty); test metrics as seqrec evaluate: leave-one-out (optionally
  against N sampled unseen negatives) or every prefix, rank = 1 + items scored strictly higher.

Timing: each epoch ends with a device synchronize; sequences/s and s/epoch are the median over epochs 2.. (epoch 1 holds
CUDA warm-up and, with --compile, the compilation, reported apart as first_epoch_s). Prints a JSON line after the
training ("test": null) and the full one after the test; --json FILE holds the latest.
"""
import argparse
import copy
import json
import math
import os
import platform
import resource
import statistics
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

FIRST_ITEM = 3  # 0 padding, 1 null, 2 OOV


# ---------------------------------------------------------------------------------------------------------------- data
def read_sessions(folder):
    """(offsets, items) of a seqrec-sessions folder (bench/repro/convert.py or seqrec etl)."""
    manifest = json.load(open(os.path.join(folder, "manifest.json")))
    offsets = np.fromfile(os.path.join(folder, "item_id.offsets.bin"), dtype="<i8")
    items = np.fromfile(os.path.join(folder, "item_id.values.bin"), dtype="<i8")
    assert len(offsets) == manifest["rows"] + 1, folder
    return offsets, items


def num_items_of(data):
    schema = json.load(open(os.path.join(data, "schema.json")))
    item = next(c for c in schema["columns"] if "item" in c.get("tags", []))
    return int(item["int_domain"]["max"]) + 1


def left_aligned(offsets, items, rows, ends, width):
    """[len(rows), width] int64: row r's items [max(0, end - width), end), left-aligned, zero padded; and lengths."""
    out = np.zeros((len(rows), width), dtype=np.int64)
    lengths = np.zeros(len(rows), dtype=np.int64)
    for i, (r, end) in enumerate(zip(rows, ends)):
        begin = max(offsets[r], offsets[r] + end - width)
        seq = items[begin:offsets[r] + end]
        out[i, :len(seq)] = seq
        lengths[i] = len(seq)
    return out, lengths


def epoch_order(lengths, batch_size, rng, bucket):
    """Trainer::epoch_order: shuffle; with bucket, stable sort by length inside windows of 64 batches, then shuffle
    the full batches and keep the partial one last."""
    order = rng.permutation(len(lengths))
    if not bucket:
        return order
    window = batch_size * 64
    for begin in range(0, len(order), window):
        chunk = order[begin:begin + window]
        order[begin:begin + window] = chunk[np.argsort(lengths[chunk], kind="stable")]
    full = len(order) // batch_size
    blocks = rng.permutation(full)
    head = order[:full * batch_size].reshape(full, batch_size)[blocks].reshape(-1)
    return np.concatenate([head, order[full * batch_size:]])


def lr_multiplier(schedule, step, warmup, total):
    """train/lr_schedule.cpp."""
    if step < warmup:
        return (step + 1) / warmup
    if schedule == "constant":
        return 1.0
    done = min(1.0, max(0.0, (step - warmup) / max(1, total - warmup)))
    return 1.0 - done if schedule == "linear" else 0.5 * (1.0 + math.cos(math.pi * done))


# --------------------------------------------------------------------------------------------------------------- model
class Block(nn.Module):
    def __init__(self, d, heads, dropout):
        super().__init__()
        self.heads = heads
        self.dropout = dropout
        self.ln_1 = nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.out = nn.Linear(d, d)
        self.residual_dropout = nn.Dropout(dropout)
        self.ln_2 = nn.LayerNorm(d)
        self.mlp_in = nn.Linear(d, 4 * d)
        self.mlp_out = nn.Linear(4 * d, d)
        self.mlp_dropout = nn.Dropout(dropout)

    def forward(self, x):
        B, L, D = x.shape
        q, k, v = self.qkv(self.ln_1(x)).view(B, L, 3, self.heads, D // self.heads).permute(2, 0, 3, 1, 4)
        context = F.scaled_dot_product_attention(q, k, v, dropout_p=self.dropout if self.training else 0.0,
                                                 is_causal=True)
        h = x + self.residual_dropout(self.out(context.transpose(1, 2).reshape(B, L, D)))
        return h + self.mlp_dropout(self.mlp_out(F.gelu(self.mlp_in(self.ln_2(h)))))


class Gpt2(nn.Module):
    def __init__(self, num_items, d, heads, layers, max_length, dropout):
        super().__init__()
        self.item_embedding = nn.Embedding(num_items, d)
        self.position_embedding = nn.Embedding(max_length + 1, d)
        self.embedding_dropout = nn.Dropout(dropout)
        self.blocks = nn.ModuleList([Block(d, heads, dropout) for _ in range(layers)])
        self.ln_final = nn.LayerNorm(d)
        with torch.no_grad():
            for name, p in self.named_parameters():
                if "ln_" in name:
                    continue
                if name.endswith("bias"):
                    p.zero_()
                else:
                    p.normal_(0.0, 0.02)

    def forward(self, items):
        positions = torch.arange(items.shape[1], device=items.device)
        h = self.embedding_dropout(self.item_embedding(items) + self.position_embedding(positions).unsqueeze(0))
        for block in self.blocks:
            h = block(h)
        return self.ln_final(h)

    def training_loss(self, items):
        """items: [B, W] left-aligned; predicts items[:, 1:] from items[:, :-1]."""
        hidden = self.forward(items[:, :-1])
        targets = items[:, 1:].reshape(-1) - FIRST_ITEM
        targets = targets.masked_fill(targets < 0, -100)  # padding, null and OOV targets carry no loss
        logits = hidden.reshape(-1, hidden.shape[-1]) @ self.item_embedding.weight[FIRST_ITEM:].t()
        return F.cross_entropy(logits.float(), targets, ignore_index=-100)

    def next_item_scores(self, items, lengths):
        hidden = self.forward(items)
        last = (lengths - 1).clamp(min=0).view(-1, 1, 1).expand(-1, 1, hidden.shape[2])
        scores = hidden.gather(1, last).squeeze(1) @ self.item_embedding.weight.t()
        scores[:, :FIRST_ITEM] = float("-inf")
        return scores


# ---------------------------------------------------------------------------------------------------------- evaluation
def predictions(offsets, items, protocol, holdout_offset=0):
    """(rows, ends): each prediction's session row and the index of its target, as Evaluator::list_predictions."""
    rows, ends = [], []
    for r in range(len(offsets) - 1):
        n = int(offsets[r + 1] - offsets[r])
        if protocol == "last-item":
            if n >= 2:
                rows.append(r); ends.append(n - 1)
        elif protocol == "every-prefix":
            for t in range(1, n):
                rows.append(r); ends.append(t)
        elif protocol == "leave-one-out":
            if n - holdout_offset >= 2:
                rows.append(r); ends.append(n - 1 - holdout_offset)
        else:
            raise SystemExit("unknown protocol " + protocol)
    return np.array(rows, dtype=np.int64), np.array(ends, dtype=np.int64)


def sampled_negatives(offsets, items, rows, count, num_items, seed):
    """count uniform items from [3, num_items) per prediction that the session never holds (SASRec's rule)."""
    rng = np.random.default_rng(seed)
    out = np.empty((len(rows), count), dtype=np.int64)
    for i, r in enumerate(rows):
        seen = items[offsets[r]:offsets[r + 1]]
        got = np.empty(0, dtype=np.int64)
        while len(got) < count:
            draw = rng.integers(FIRST_ITEM, num_items, size=2 * count)
            got = np.concatenate([got, draw[~np.isin(draw, seen)]])
        out[i] = got[:count]
    return out


@torch.no_grad()
def evaluate(model, data, split, e, max_length, num_items, device, batch_size=256, limit=0):
    offsets, items = read_sessions(os.path.join(data, "sessions", split))
    rows, ends = predictions(offsets, items, e["protocol"], e.get("holdout_offset", 0))
    if limit:
        rows, ends = rows[:limit], ends[:limit]
    ks = [int(k) for k in str(e.get("k", "10,20")).split(",")]
    ks = sorted(set(ks + [10, 20]))
    negatives = (sampled_negatives(offsets, items, rows, int(e["sampled_negatives"]), num_items, seed=7)
                 if e.get("sampled_negatives") else None)
    if e.get("exclude_seen"):
        raise SystemExit("exclude_seen is not implemented in this peer")
    model.eval()
    sums = {f"{m}@{k}": 0.0 for m in ("ndcg", "recall", "mrr") for k in ks}
    start = time.perf_counter()
    for s in range(0, len(rows), batch_size):
        r, end = rows[s:s + batch_size], ends[s:s + batch_size]
        x, lengths = left_aligned(offsets, items, r, end, max_length)
        width = max(1, int(lengths.max()))
        targets = torch.from_numpy(items[offsets[r] + end]).to(device)
        scores = model.next_item_scores(torch.from_numpy(x[:, :width]).to(device),
                                        torch.from_numpy(lengths).to(device)).float()
        target_scores = scores.gather(1, targets.clamp(0, num_items - 1).unsqueeze(1))
        if negatives is not None:
            candidates = scores.gather(1, torch.from_numpy(negatives[s:s + batch_size]).to(device))
            rank = 1 + candidates.gt(target_scores).sum(1)
        else:
            rank = 1 + scores.gt(target_scores).sum(1)
        rank = torch.where(targets < FIRST_ITEM, torch.full_like(rank, 1 << 40), rank).double()
        for k in ks:
            hit = rank <= k
            sums[f"recall@{k}"] += hit.sum().item()
            sums[f"ndcg@{k}"] += torch.where(hit, 1.0 / torch.log2(rank + 1), 0.0).sum().item()
            sums[f"mrr@{k}"] += torch.where(hit, 1.0 / rank, 0.0).sum().item()
    n = max(1, len(rows))
    return {k: v / n for k, v in sums.items()}, len(rows), time.perf_counter() - start


# ---------------------------------------------------------------------------------------------------------------- main
def parse_args(default_config, setting):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True, help="seqrec data folder (the recipe's refit data: bench/gpu/prepare.sh)")
    ap.add_argument("--config", default=default_config, help="seqrec recipe JSON whose model/train/evaluate it follows")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--compile", action="store_true", help="torch.compile the forward + loss")
    ap.add_argument("--compile-mode", default="default", help="torch.compile mode (default, reduce-overhead, ...)")
    ap.add_argument("--precision", default="fp32", choices=("fp32", "bf16"), help="bf16: torch.autocast")
    ap.add_argument("--epochs", type=int, default=0, help="0 = the recipe's")
    ap.add_argument("--max-steps", type=int, default=0, help="stop after N steps (smoke tests)")
    ap.add_argument("--max-seconds", type=float, default=0, help="stop training after this wall time (0 = none)")
    ap.add_argument("--eval-limit", type=int, default=0, help="evaluate only the first N predictions (smoke tests)")
    ap.add_argument("--split", default="test")
    ap.add_argument("--seed", type=int, default=-1, help="-1 = the recipe's")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--json", default="", help="also write the JSON line to this file")
    a = ap.parse_args()
    a.setting = setting
    return a


def main(default_config, setting):
    a = parse_args(default_config, setting)
    recipe = json.load(open(a.config))
    m, t, e = recipe["model"], recipe["train"], recipe["evaluate"]
    assert m.get("architecture", "gpt2") == "gpt2" and not m.get("head"), "this peer covers plain GPT-2 recipes"
    epochs = a.epochs or int(t["epochs"])
    seed = int(t.get("seed", 42)) if a.seed < 0 else a.seed
    if a.threads:
        torch.set_num_threads(a.threads)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    device = torch.device(a.device)
    cuda = device.type == "cuda"
    wall_start = time.perf_counter()

    num_items = num_items_of(a.data)
    L = int(m["max_length"])
    offsets, items = read_sessions(os.path.join(a.data, "sessions", "train"))
    lengths_all = np.diff(offsets)
    rows = np.nonzero(lengths_all >= 2)[0]
    train_x, train_len = left_aligned(offsets, items, rows, lengths_all[rows], L + 1)
    train_x = torch.from_numpy(train_x).to(device)  # the whole training split lives on the device
    B = int(t["batch_size"])
    batches = (len(rows) + B - 1) // B
    total_steps = a.max_steps or epochs * batches

    model = Gpt2(num_items, int(m["d_model"]), int(m["num_heads"]), int(m["num_layers"]), L,
                 float(m.get("dropout", 0.1))).to(device)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt_name = t.get("optimizer", "adamw")
    groups = [{"params": decay, "weight_decay": float(t.get("weight_decay", 0.0))},
              {"params": no_decay, "weight_decay": 0.0}]
    lr = float(t["learning_rate"])
    extra = {"fused": True} if cuda else {}
    if opt_name == "adamw":
        optimizer = torch.optim.AdamW(groups, lr=lr, **extra)
    else:  # Adam's decay is an L2 penalty, as in seqrec
        optimizer = torch.optim.Adam(groups, lr=lr, **extra)
    clip = float(t.get("clip_grad_norm", 0.0))
    warmup = int(t.get("warmup_steps", 0))
    schedule = t.get("schedule", "constant")

    loss_fn = model.training_loss
    if a.compile:
        loss_fn = torch.compile(model.training_loss, mode=a.compile_mode, dynamic=True)
    autocast = (torch.autocast(device.type, dtype=torch.bfloat16) if a.precision == "bf16"
                else torch.autocast(device.type, enabled=False))

    def sync():
        if cuda:
            torch.cuda.synchronize(device)

    if cuda:
        torch.cuda.reset_peak_memory_stats(device)
    model.train()
    step, epoch_seconds, epoch_losses, sequences = 0, [], [], []
    best = (float("inf"), 0, None)
    stop_reason = "finished"
    train_start = time.perf_counter()
    for epoch in range(epochs):
        order = epoch_order(lengths_all[rows], B, rng, bool(t.get("bucket_by_length", False)))
        widths = [int(train_len[order[s:s + B]].max()) for s in range(0, len(order), B)]
        order_dev = torch.from_numpy(order).to(device)
        loss_sum = torch.zeros((), device=device)
        done = 0
        sync()
        t0 = time.perf_counter()
        for i, width in enumerate(widths):
            batch = train_x[order_dev[i * B:(i + 1) * B], :width]
            for group in optimizer.param_groups:
                group["lr"] = lr * lr_multiplier(schedule, step, warmup, total_steps)
            with autocast:
                loss = loss_fn(batch)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if clip > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), clip, foreach=cuda or None)
            optimizer.step()
            loss_sum += loss.detach().float()
            step += 1
            done += batch.shape[0]
            if a.max_steps and step >= a.max_steps:
                stop_reason = "max steps"
                break
            if a.max_seconds and time.perf_counter() - train_start >= a.max_seconds:
                stop_reason = "time budget"
                break
        sync()
        epoch_seconds.append(time.perf_counter() - t0)
        sequences.append(done)
        mean_loss = loss_sum.item() / max(1, i + 1)
        epoch_losses.append(mean_loss)
        if mean_loss < best[0]:  # seqrec without a valid split keeps the lowest training loss
            best = (mean_loss, epoch + 1, copy.deepcopy(model.state_dict()))
        if stop_reason != "finished":
            break
    train_seconds = time.perf_counter() - train_start
    peak = {}
    if cuda:
        peak = {"peak_allocated_mib": torch.cuda.max_memory_allocated(device) / 2**20,
                "peak_reserved_mib": torch.cuda.max_memory_reserved(device) / 2**20}

    steady = epoch_seconds[1:] if len(epoch_seconds) > 1 else epoch_seconds
    steady_seq = sequences[1:] if len(sequences) > 1 else sequences
    result = {
        "impl": "pytorch-" + ("compile" + ("" if a.compile_mode == "default" else "-" + a.compile_mode)
                              if a.compile else "eager"),
        "setting": a.setting, "config": a.config, "data": a.data, "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if cuda else platform.processor() or platform.machine(),
        "torch": torch.__version__, "precision": a.precision,
        "epochs_run": len(epoch_seconds), "epochs_asked": epochs, "steps": step, "stop_reason": stop_reason,
        "sequences_per_epoch": len(rows), "batch_size": B,
        "seq_per_s": statistics.median([n / s for n, s in zip(steady_seq, steady)]),
        "s_per_epoch": statistics.median(steady), "first_epoch_s": epoch_seconds[0],
        "epoch_seconds": [round(s, 4) for s in epoch_seconds], "train_seconds": train_seconds,
        "epoch_losses": [round(x, 5) for x in epoch_losses], "kept_epoch": best[1],
        **peak,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "test": None,
    }

    def emit():
        result["wall_seconds"] = time.perf_counter() - wall_start
        line = json.dumps(result)
        print(line, flush=True)
        if a.json:
            with open(a.json, "w") as f:
                f.write(line + "\n")

    emit()  # the training figures first: a test cut short by a time limit still leaves them
    model.load_state_dict(best[2])
    metrics, count, eval_seconds = evaluate(model, a.data, a.split, e, L, num_items, device, limit=a.eval_limit)
    result["test"] = {"split": a.split, "protocol": e["protocol"], "sampled_negatives": int(e.get("sampled_negatives", 0)),
                      "predictions": count, "seconds": eval_seconds, "metrics": metrics}
    emit()
