#!/usr/bin/env python3
"""RecBole 1.2.1's GRU4Rec and SASRec on the two reference settings of bench/peers.sh, with the splits fixed exactly
as the other peers see them (RecBole's benchmark files: one row per prediction, "history -> next item", which is
RecBole's own sequential data augmentation, written out here so the split is the published one).

  --model GRU4Rec  yoochoose-100k (session-rec rsc15): trains on every next click of train_full, tests every next
                   click of the test sessions, full ranking (Recall@20, MRR@20). 10 epochs, 100 units (embedding and
                   hidden), batch 32 histories, at most 50 items of history. RecBole has no sampled softmax: its
                   cross-entropy is over the whole catalogue (2,933 items; the reference draws 2,048 negatives).
                   RecBole's dropout is on the embedding (0.3, its default); Adam, learning rate 0.001 (its default).
  --model SASRec   Amazon Games (SASRec data_partition, leave-one-out): trains on every prefix of each user's
                   training items, tests the last item against 100 uniformly sampled items the user did not
                   interact with (HR@10, NDCG@10). d 50, 1 head, 2 layers, feed-forward 50, ReLU,
                   dropout 0.5, history 50, batch 128, one uniform negative per prediction with RecBole's BPR loss
                   (RecBole's SASRec offers BPR or CE, not BCE), Adam 0.001. 5 epochs by default; RecBole trains one
                   row per prefix, so its epoch is ~7x the positions of SASRec.pytorch's (one row per user, every
                   position): bench/peers.sh gives it a fraction of an epoch to fit its time budget.

Training runs without validation (RecBole's fit with no valid data); train_seconds is fit() alone. --fraction F trains
each epoch on its first F of the (shuffled) batches only, for settings whose full epochs do not fit a time budget: the
JSON's epochs_trained is epochs x F. The test ranks with the trained model's full_sort_predict and this script's own
metrics (rank = 1 + the items scored strictly higher, as the other peers; the padding id never ranks): RecBole's own
uni100 evaluation runs the sequence model once per candidate (101 passes per user), slower than the training itself. The SASRec
negatives are drawn as sasrec_peer.py draws them (uniform among the items the user never interacted with). Prints one
JSON line.
"""
import argparse
import itertools
import json
import logging
import math
import os
import resource
import sys
import time
import warnings
from collections import defaultdict

import numpy as np

warnings.filterwarnings("ignore")


class FirstBatches:
    """A RecBole train loader cut to its first `batches` batches of every epoch (shuffled as usual)."""

    def __init__(self, loader, batches):
        self.loader, self.batches = loader, batches

    def __iter__(self):
        return itertools.islice(iter(self.loader), self.batches)

    def __len__(self):
        return min(self.batches, len(self.loader))

    def __getattr__(self, name):
        return getattr(self.loader, name)


def sample_excluding(rng, num_items, size, excluded):
    """Uniform internal ids in 1..num_items-1, none in the sorted array `excluded`."""
    out = rng.integers(1, num_items, size=size)
    while True:
        bad = np.isin(out, excluded)
        if not bad.any():
            return out
        out[bad] = rng.integers(1, num_items, size=int(bad.sum()))


def write_benchmark(folder, name, splits, user_field):
    """splits: {"train"|"valid"|"test": [(user, [history], target)]} -> RecBole atomic benchmark files."""
    os.makedirs(os.path.join(folder, name), exist_ok=True)
    for split, rows in splits.items():
        with open(os.path.join(folder, name, f"{name}.{split}.inter"), "w") as f:
            f.write(f"{user_field}:token\titem_id_list:token_seq\titem_id:token\n")
            for u, history, target in rows:
                f.write(f"{u}\t{' '.join(map(str, history))}\t{target}\n")
    return {k: len(v) for k, v in splits.items()}


def prefixes(user, items, maxlen):
    return [(user, items[max(0, t - maxlen):t], items[t]) for t in range(1, len(items))]


def yoochoose_rows(data, maxlen):
    def sessions(file):
        events = defaultdict(list)
        with open(os.path.join(data, file)) as f:
            header = f.readline().rstrip("\n").split("\t")
            s, i, t = header.index("SessionId"), header.index("ItemId"), header.index("Time")
            for line in f:
                p = line.rstrip("\n").split("\t")
                events[p[s]].append((float(p[t]), p[i]))
        out = [(sid, [it for _, it in sorted(ev)]) for sid, ev in events.items()]
        out.sort(key=lambda r: min(t for t, _ in events[r[0]]))
        return out

    train = [r for sid, items in sessions("yoochoose-clicks-100k_train_full.txt") for r in prefixes(sid, items, maxlen)]
    test = [r for sid, items in sessions("yoochoose-clicks-100k_test.txt") for r in prefixes("t" + sid, items, maxlen)]
    # RecBole builds a valid loader whatever fit() does; a small slice of test keeps it cheap (it is never evaluated).
    return {"train": train, "valid": test[:64], "test": test}


def games_rows(path, maxlen, users):
    """users: filled with each user's items (all of them: the test's negatives are items the user never touched)."""
    with open(path) as f:
        for line in f:
            if line.strip():
                u, i = line.split()
                users[u].append(i)
    train, valid, test = [], [], []
    for u, seq in users.items():
        if len(seq) < 4:
            train += prefixes(u, seq, maxlen)
            continue
        train += prefixes(u, seq[:-2], maxlen)
        valid.append((u, seq[:-2][-maxlen:], seq[-2]))
        test.append((u, seq[:-1][-maxlen:], seq[-1]))
    return {"train": train, "valid": valid, "test": test}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", choices=["GRU4Rec", "SASRec"], required=True)
    ap.add_argument("--data", help="yoochoose-100k folder (GRU4Rec) or Video.txt (SASRec)")
    ap.add_argument("--work", default="out/peers/recbole", help="folder for RecBole's files, logs and checkpoints")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--epochs", type=int, default=0, help="0 = the reference (GRU4Rec 10, SASRec 5)")
    ap.add_argument("--fraction", type=float, default=1.0, help="train on this share of each epoch's batches")
    ap.add_argument("--seed", type=int, default=42)
    a = ap.parse_args()
    if not 0 < a.fraction <= 1:
        ap.error("--fraction must be in (0, 1]")

    import torch
    torch.set_num_threads(a.threads or os.cpu_count())
    from recbole.config import Config
    from recbole.data import create_dataset, data_preparation
    from recbole.model.sequential_recommender import GRU4Rec, SASRec
    from recbole.trainer import Trainer
    from recbole.utils import init_seed

    maxlen = 50
    work = os.path.abspath(a.work)
    os.makedirs(work, exist_ok=True)
    if a.model == "GRU4Rec":
        name, user_field = "yoochoose100k", "session_id"
        rows = yoochoose_rows(a.data or "/work/shared/data/yoochoose-100k", maxlen)
        settings = {"embedding_size": 100, "hidden_size": 100, "num_layers": 1, "dropout_prob": 0.3, "loss_type": "CE",
                    "train_batch_size": 32, "epochs": a.epochs or 10, "train_neg_sample_args": None,
                    "eval_args": {"order": "TO", "split": {"RS": [1, 0, 0]}, "group_by": "user", "mode": "full"},
                    "metrics": ["Recall", "MRR", "NDCG"], "topk": [20], "valid_metric": "MRR@20"}
        model_class = GRU4Rec
    else:
        name, user_field = "amazongames", "user_id"
        user_items = defaultdict(list)
        rows = games_rows(a.data or "/work/shared/data/amazon-games/Video.txt", maxlen, user_items)
        settings = {"hidden_size": 50, "inner_size": 50, "n_layers": 2, "n_heads": 1, "hidden_dropout_prob": 0.5,
                    "attn_dropout_prob": 0.5, "hidden_act": "relu", "layer_norm_eps": 1e-8, "loss_type": "BPR",
                    "train_batch_size": 128, "epochs": a.epochs or 5,
                    "train_neg_sample_args": {"distribution": "uniform", "sample_num": 1, "alpha": 1.0,
                                              "dynamic": False, "candidate_num": 0},
                    "eval_args": {"order": "TO", "split": {"RS": [1, 0, 0]}, "group_by": "user", "mode": "full"},
                    "metrics": ["Hit", "NDCG"], "topk": [10], "valid_metric": "NDCG@10"}
        model_class = SASRec
    counts = write_benchmark(work, name, rows, user_field)

    os.chdir(work)  # RecBole writes ./log and ./log_tensorboard
    sys.argv = sys.argv[:1]  # RecBole's Config would read (and warn about) this script's flags
    config = Config(model=model_class, dataset=name, config_dict={
        "data_path": work, "benchmark_filename": ["train", "valid", "test"], "USER_ID_FIELD": user_field,
        "ITEM_ID_FIELD": "item_id", "TIME_FIELD": None,
        "alias_of_item_id": ["item_id_list"],  # the histories' ids are the items' ids (one vocabulary)
        "load_col": {"inter": [user_field, "item_id_list", "item_id"]},
        "MAX_ITEM_LIST_LENGTH": maxlen, "use_gpu": False, "device": "cpu", "seed": a.seed, "reproducibility": True,
        "learning_rate": 0.001, "learner": "adam", "eval_batch_size": 4096, "show_progress": False,
        "checkpoint_dir": os.path.join(work, "saved"), "state": "WARNING", "log_wandb": False, "worker": 0,
        **settings})
    init_seed(config["seed"], config["reproducibility"])
    torch.set_num_threads(a.threads or os.cpu_count())  # init_seed and Config may not keep it
    logging.getLogger().setLevel(logging.WARNING)
    dataset = create_dataset(config)
    train_data, _, test_data = data_preparation(config, dataset)
    model = model_class(config, train_data.dataset).to("cpu")
    trainer = Trainer(config, model)
    batches = max(1, math.ceil(len(train_data) * a.fraction))
    start, start_cpu = time.perf_counter(), time.process_time()
    trainer.fit(FirstBatches(train_data, batches) if a.fraction < 1 else train_data, valid_data=None, verbose=False,
                saved=False, show_progress=False)
    train_seconds = time.perf_counter() - start
    train_cpu_seconds = time.process_time() - start_cpu

    # Test with the model's full_sort_predict; ranks and metrics as the other peers compute them.
    model.eval()
    test_inter = test_data.dataset.inter_feat
    rng = np.random.default_rng(a.seed)
    n_items = dataset.item_num
    sums, n = defaultdict(float), 0
    with torch.no_grad():
        for begin in range(0, len(test_inter), 1024):
            batch = test_inter[begin:begin + 1024]
            scores = model.full_sort_predict(batch)
            scores[:, 0] = -float("inf")  # padding
            target = batch["item_id"]
            target_score = scores.gather(1, target.view(-1, 1))
            if a.model == "GRU4Rec":
                rank = 1 + (scores > target_score).sum(1)
                top = rank <= 20
                sums["recall@20"] += top.sum().item()
                sums["mrr@20"] += (top.double() / rank.double()).sum().item()
            else:
                users = dataset.id2token(user_field, batch[user_field].numpy())
                negatives = np.stack([sample_excluding(rng, n_items, 100, np.unique(dataset.token2id("item_id", user_items[u])))
                                      for u in users])
                rank = (scores.gather(1, torch.from_numpy(negatives)) > target_score).sum(1)  # 0-based among 101
                top = rank < 10
                sums["hr@10"] += top.sum().item()
                sums["ndcg@10"] += (top.double() / torch.log2(rank.double() + 2)).sum().item()
            n += len(target)
    test = {k: v / max(n, 1) for k, v in sums.items()}
    if a.model == "SASRec":
        test.update({"users": n, "protocol": "leave-one-out, 100 sampled negatives (uniform, never interacted)"})
    else:
        test["events"] = n
    print(json.dumps({
        "impl": f"recbole {__import__('recbole').__version__} {a.model}",
        "model": a.model,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "epochs": config["epochs"],
        "fraction": a.fraction,
        "epochs_trained": config["epochs"] * batches / len(train_data),
        "batch_size": config["train_batch_size"],
        "train_rows_per_epoch": counts["train"],
        "train_batches": config["epochs"] * batches,
        "train_seconds": train_seconds,
        "train_cpu_seconds": train_cpu_seconds,
        "train_rows_per_s": config["epochs"] * batches * config["train_batch_size"] / train_seconds,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "test": test,
    }))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
