#!/usr/bin/env python3
"""The Transformers4Rec side of bench/t4rec/run.sh (runs in bench/.venv-t4rec: Transformers4Rec 23.12, Merlin 23.8).

    t4rec_train.py prepare --seqrec-data DIR --out DIR [--max-length 20]
    t4rec_train.py train --data DIR --arch xlnet|gpt2 [--epochs N --batch-size B --lr LR ...]

`prepare` reads a seqrec data folder (as bench/repro/convert.py writes it: sessions/{train,test}/ in seqrec's columnar
layout, ids already categorified 3.. by training frequency) and writes, from the same sessions cut to their last
--max-length items (NVTabular's ListSlice(-20)), both what T4Rec reads (t4rec/{train,test}.parquet with one
`item_id-list` column, and the Merlin schema, schema.pbtxt) and a seqrec data folder (schema.json,
sessions/{train,valid,test}; valid is empty), so both sides train and test on exactly the same sequences and ids.

`train` builds tr.TabularSequenceFeatures.from_schema(...) with clm masking, an XLNet or GPT-2 body
(tr.XLNetConfig.build / tr.GPT2Config.build), tr.NextItemPredictionTask with weight tying, trains with tr.Trainer on
the CPU (no_cuda=True, data_loader_engine="merlin", no checkpoints, no resume) and evaluates the test sessions as
T4Rec does with clm: the last item of each session is predicted from the items before it, ranked against the whole
catalogue. Prints one JSON line: train seconds, sequences/s, Recall@20, NDCG@20.
"""
import argparse
import json
import os
import shutil
import struct
import sys
import time


def read_seqrec_sessions(folder):
    import numpy as np

    manifest = json.load(open(os.path.join(folder, "manifest.json")))
    offsets = np.fromfile(os.path.join(folder, "item_id.offsets.bin"), dtype="<i8")
    items = np.fromfile(os.path.join(folder, "item_id.values.bin"), dtype="<i8")
    times = np.fromfile(os.path.join(folder, "timestamp.values.bin"), dtype="<i8")
    id_offsets = np.fromfile(os.path.join(folder, "session_id.offsets.bin"), dtype="<i8")
    id_bytes = open(os.path.join(folder, "session_id.values.bin"), "rb").read()
    assert len(offsets) == manifest["rows"] + 1
    rows = []
    for r in range(manifest["rows"]):
        sid = id_bytes[id_offsets[r]:id_offsets[r + 1]].decode()
        rows.append((sid, items[offsets[r]:offsets[r + 1]].tolist(), times[offsets[r]:offsets[r + 1]].tolist()))
    return rows


def prepare(args):
    import numpy as np
    import pandas as pd
    from merlin.schema import ColumnSchema, Schema, Tags
    from merlin.schema.io.tensorflow_metadata import TensorflowMetadata

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "repro"))
    from convert import write_sessions  # seqrec's columnar layout, as bench/repro/convert.py writes it

    src_schema = json.load(open(os.path.join(args.seqrec_data, "schema.json")))
    item_col = next(c for c in src_schema["columns"] if c["name"] == "item_id")
    max_id = item_col["int_domain"]["max"]
    L = args.max_length
    splits = {}
    for name in ("train", "test"):
        rows = read_seqrec_sessions(os.path.join(args.seqrec_data, "sessions", name))
        cut = [(sid, its[-L:], ts[-L:]) for sid, its, ts in rows]
        splits[name] = [r for r in cut if len(r[1]) >= 2]
    splits["valid"] = []

    os.makedirs(os.path.join(args.out, "sessions"), exist_ok=True)
    os.makedirs(os.path.join(args.out, "t4rec"), exist_ok=True)
    longest = max(len(its) for rows in splits.values() for _, its, _ in rows)
    for name, rows in splits.items():
        write_sessions(rows, os.path.join(args.out, "sessions", name))
    schema = dict(src_schema)
    schema["columns"] = []
    for c in src_schema["columns"]:
        c = dict(c)
        if "value_count" in c:
            c["value_count"] = {"min": 1, "max": longest}
        schema["columns"].append(c)
    with open(os.path.join(args.out, "schema.json"), "w") as f:
        json.dump(schema, f, indent=2)
        f.write("\n")

    for name in ("train", "test"):
        rows = splits[name]
        df = pd.DataFrame({
            "session_id": np.arange(len(rows), dtype=np.int64),
            "item_id-list": [np.asarray(its, dtype=np.int64) for _, its, _ in rows],
        })
        df.to_parquet(os.path.join(args.out, "t4rec", name + ".parquet"), index=False)
    merlin_schema = Schema([
        ColumnSchema("item_id-list", dtype="int64", is_list=True, is_ragged=True,
                     tags=[Tags.ITEM, Tags.ID, Tags.CATEGORICAL, Tags.LIST, Tags.ITEM_ID],
                     properties={"domain": {"min": 0, "max": int(max_id), "name": "item_id"},
                                 "value_count": {"min": 2, "max": L}}),
    ])
    TensorflowMetadata.from_merlin_schema(merlin_schema).to_proto_text_file(
        os.path.join(args.out, "t4rec"), "schema.pbtxt")
    summary = {"max_length": L, "items": int(max_id) + 1,
               **{n: {"sessions": len(r), "clicks": sum(len(x[1]) for x in r)} for n, r in splits.items()}}
    with open(os.path.join(args.out, "prepare.json"), "w") as f:
        json.dump(summary, f)
    print(json.dumps(summary))


def patch_xlnet_uni_mask():
    """transformers 4.30's XLNetModel.create_mask (used only by attn_type="uni") calls torch.ones(qlen, klen,
    self.device), which torch rejects (huggingface/transformers#21626; later releases dropped "uni" instead of
    fixing it). The same function with the device passed as a keyword: a causal mask, 1 = masked, each position sees
    itself and the positions before it."""
    import torch
    from transformers.models.xlnet import modeling_xlnet

    def create_mask(self, qlen, mlen):
        mask = torch.ones((qlen, qlen + mlen), device=self.device)
        if self.same_length:
            mask_lo = mask[:, :qlen].tril(-1)
            mask.triu_(mlen + 1)
            mask[:, :qlen] += mask_lo
        else:
            mask.triu_(mlen + 1)
        return mask

    modeling_xlnet.XLNetModel.create_mask = create_mask


def train(args):
    import numpy as np
    import torch

    torch.set_num_threads(args.threads)
    import transformers4rec.torch as tr
    from merlin.schema.io.tensorflow_metadata import TensorflowMetadata
    from transformers4rec.config.trainer import T4RecTrainingArguments
    from transformers4rec.torch.ranking_metric import NDCGAt, RecallAt

    t4 = os.path.join(args.data, "t4rec")
    schema = TensorflowMetadata.from_proto_text_file(t4, "schema.pbtxt").to_merlin_schema()
    L = args.max_length
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)

    # Item embedding of d_model, no projection: the same input block as seqrec's (item embedding -> body).
    inputs = tr.TabularSequenceFeatures.from_schema(
        schema, max_sequence_length=L, masking="clm", aggregation="concat", embedding_dim_default=args.d_model)
    if args.arch == "xlnet" and args.xlnet_attn_type == "uni":
        patch_xlnet_uni_mask()
    if args.arch == "xlnet":
        body_config = tr.XLNetConfig.build(d_model=args.d_model, n_head=args.heads, n_layer=args.layers,
                                           total_seq_length=L, attn_type=args.xlnet_attn_type, dropout=args.dropout)
    else:
        body_config = tr.GPT2Config.build(d_model=args.d_model, n_head=args.heads, n_layer=args.layers,
                                          total_seq_length=L, dropout=args.dropout)
    body = tr.SequentialBlock(inputs, tr.TransformerBlock(body_config, masking=inputs.masking))
    metrics = [NDCGAt(top_ks=[10, 20], labels_onehot=True), RecallAt(top_ks=[10, 20], labels_onehot=True)]
    task = tr.NextItemPredictionTask(weight_tying=True, metrics=metrics)
    model = tr.Model(tr.Head(body, task, inputs=inputs))
    params = sum(p.numel() for p in model.parameters())

    n_train = int(json.load(open(os.path.join(args.data, "prepare.json")))["train"]["sessions"])
    sequences = n_train * args.epochs if args.max_steps <= 0 else args.max_steps * args.batch_size
    out_dir = args.output_dir or os.path.join(args.data, "t4rec-run-" + args.arch)
    shutil.rmtree(out_dir, ignore_errors=True)
    training_args = T4RecTrainingArguments(
        output_dir=out_dir,
        max_sequence_length=L,
        data_loader_engine="merlin",
        no_cuda=True,
        num_train_epochs=args.epochs,
        max_steps=args.max_steps if args.max_steps > 0 else -1,
        per_device_train_batch_size=args.batch_size,
        per_device_eval_batch_size=args.eval_batch_size,
        learning_rate=args.lr,
        lr_scheduler_type=args.schedule,
        warmup_steps=args.warmup_steps,
        weight_decay=args.weight_decay,
        max_grad_norm=args.clip_grad_norm,
        optim="adamw_torch",
        dataloader_drop_last=False,
        compute_metrics_each_n_steps=1,
        save_strategy="no",
        logging_steps=args.log_every,
        report_to=[],
        seed=args.seed,
        disable_tqdm=True,
    )
    trainer = tr.Trainer(model=model, args=training_args, schema=schema, compute_metrics=True)
    trainer.train_dataset_or_path = os.path.join(t4, "train.parquet")
    trainer.eval_dataset_or_path = os.path.join(t4, "test.parquet")
    start = time.perf_counter()
    trainer.train()  # from scratch: T4Rec's resume path calls torch.load, which torch 2.6+ refuses for its files
    train_seconds = time.perf_counter() - start
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    start = time.perf_counter()
    result = trainer.evaluate(metric_key_prefix="test")
    eval_seconds = time.perf_counter() - start

    def metric(name, k):
        keys = [key for key in result if key.endswith("%s_%d" % (name, k))]
        return float(result[keys[0]]) if keys else None

    print(json.dumps({
        "side": "t4rec", "arch": args.arch, "masking": "clm", "xlnet_attn_type": args.xlnet_attn_type if args.arch == "xlnet" else None,
        "d_model": args.d_model, "heads": args.heads, "layers": args.layers, "max_length": L,
        "epochs": args.epochs, "batch_size": args.batch_size, "lr": args.lr, "threads": args.threads,
        "parameters": params, "train_sessions": n_train,
        "train_seconds": round(train_seconds, 2), "sequences_per_second": round(sequences / train_seconds, 1),
        "eval_seconds": round(eval_seconds, 2), "last_train_loss": losses[-1] if losses else None,
        "recall@10": metric("recall_at", 10), "ndcg@10": metric("ndcg_at", 10),
        "recall@20": metric("recall_at", 20), "ndcg@20": metric("ndcg_at", 20),
        "raw": {k: (float(v) if isinstance(v, (int, float)) else str(v)) for k, v in result.items()},
    }))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    pp = sub.add_parser("prepare")
    pp.add_argument("--seqrec-data", required=True)
    pp.add_argument("--out", required=True)
    pp.add_argument("--max-length", type=int, default=20)
    pt = sub.add_parser("train")
    pt.add_argument("--data", required=True, help="folder written by `prepare`")
    pt.add_argument("--arch", choices=["xlnet", "gpt2"], required=True)
    pt.add_argument("--xlnet-attn-type", choices=["bi", "uni"], default="bi",
                    help="XLNet attention: T4Rec's default 'bi' (with clm T4Rec adds no causal mask: each position "
                         "attends to the next item, the evaluated target included), or 'uni' (causal, as seqrec's clm)")
    pt.add_argument("--d-model", type=int, default=320)
    pt.add_argument("--heads", type=int, default=8)
    pt.add_argument("--layers", type=int, default=2)
    pt.add_argument("--max-length", type=int, default=20)
    pt.add_argument("--dropout", type=float, default=0.1)
    pt.add_argument("--epochs", type=int, default=3)
    pt.add_argument("--max-steps", type=int, default=0, help="stop after N steps (0 = --epochs; for probes only)")
    pt.add_argument("--batch-size", type=int, default=128)
    pt.add_argument("--eval-batch-size", type=int, default=512)
    pt.add_argument("--lr", type=float, default=0.001)
    pt.add_argument("--schedule", default="linear")
    pt.add_argument("--warmup-steps", type=int, default=0)
    pt.add_argument("--weight-decay", type=float, default=0.0)
    pt.add_argument("--clip-grad-norm", type=float, default=1.0)
    pt.add_argument("--log-every", type=int, default=50)
    pt.add_argument("--seed", type=int, default=42)
    pt.add_argument("--threads", type=int, default=2)
    pt.add_argument("--output-dir", default=None)
    args = p.parse_args()
    (prepare if args.command == "prepare" else train)(args)


if __name__ == "__main__":
    main()
