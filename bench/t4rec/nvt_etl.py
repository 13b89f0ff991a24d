#!/usr/bin/env python3
"""NVTabular 23.8 (CPU) version of configs/etl/t4rec_session_pipeline.json, timed, for bench/t4rec/run.sh.

    nvt_etl.py --input events.csv --out DIR [--partitions 1]

Input: the CSV that `seqrec synth` writes (session_id,item_id,timestamp[s],category,price). Output: DIR/sessions/<day>/
{train,valid,test}.parquet (T4Rec's time-based split, redone in pandas) and DIR/workflow-rows, DIR/workflow-sessions
(the two fitted workflows).
Prints one JSON line with the timings and the counts.

How each step of the seqrec workflow maps onto NVTabular (ops as NVTabular 23.8 has them):
  ItemAge(item, timestamp, days)     JoinGroupby(item_id, cont timestamp, [count, min]) -> LambdaOp((ts - first) / 86400)
  Categorify(item_id, category)      Categorify(freq_threshold=1)  (fitted on all events, as seqrec fits it)
  TimeFeatures(day_index, weekday/hour sin/cos)   LambdaOps on the timestamp (UTC)
  price: FillMedian, LogOp, Normalize            the same three ops
  Normalize(item_age_days)           Normalize
  Groupby(session_id, sort timestamp, aggs)      Groupby(name_sep="-"), the same aggregations
  DropRepeats(item_id-list)          NVTabular has no op for it: a Filter on the event rows (sorted by session and
                                     time) that drops an event whose item equals the session's previous event's; it
                                     runs before the Groupby, which is the same as dropping repeats from the lists
                                     (all lists lose the same positions)
  DifferenceLag(timestamp-list)      DifferenceLag(partition_cols=session_id) on the same filtered, sorted rows
                                     -> FillMissing(0) -> LogOp, then listed by the Groupby
  ListSlice(@lists, last 20)         ListSlice(-20)
  Filter(item_id-list >= 2)          Filter(item_id-count >= 2)
  Drop(item_id-count, day_index-first), AddTags(category-list, item)   column selection, AddTags / TagAsItemID
  split window/day, 10% valid, 10% test, seed   T4Rec's time-based split (per day folder, random 80/10/10, its
                                     seed 1), re-done in pandas step for step: T4Rec 23.12's
                                     save_time_based_splits(cpu=True) cannot run on CPU (write_time_based_splits)
Session ids are read as integers (`seqrec synth` writes integers; see the DifferenceLag note below). The rows are read with pandas and sorted by (session_id, timestamp) first (DifferenceLag and the repeat filter need
sorted rows); that is timed too. With --partitions 1 (the default) NVTabular runs on one pandas partition; more
partitions are cut at session boundaries, so every session stays whole in one partition (as Groupby needs).
"""
import argparse
import json
import os
import shutil
import time


def write_time_based_splits(df, output_dir, partition_col, timestamp_col, test_size, val_size):
    """T4Rec 23.12's _save_time_based_splits_cpu, step for step, on the pandas frame: one folder per day, rows sorted
    by the session's first timestamp, np.random.seed(1), rand <= 0.8 train, the next 10% valid, the last 10% test.
    (T4Rec's own function cannot run here: it first writes the frame with merlin's to_parquet(partition_on=...), whose
    CPU path calls DataFrame.searchsorted, which only cudf has; and it tests isinstance(data, dask.DataFrame), which
    dask 2023.x lacks.)"""
    import numpy as np

    shutil.rmtree(output_dir, ignore_errors=True)
    for day, part in df.groupby(partition_col, sort=True):
        part = part.sort_values(timestamp_col)
        out_dir = os.path.join(output_dir, str(day))
        os.makedirs(out_dir, exist_ok=True)
        np.random.seed(1)
        random_values = np.random.rand(len(part))
        train_size = 1 - val_size - test_size
        part[random_values <= train_size].to_parquet(os.path.join(out_dir, "train.parquet"))
        part[(random_values > train_size) & (random_values <= train_size + val_size)].to_parquet(
            os.path.join(out_dir, "valid.parquet"))
        part[random_values > (1 - test_size)].to_parquet(os.path.join(out_dir, "test.parquet"))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--input", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--partitions", type=int, default=1)
    p.add_argument("--max-length", type=int, default=20)
    args = p.parse_args()

    t_import = time.perf_counter()
    import dask.dataframe as dd
    import numpy as np
    import pandas as pd
    import nvtabular as nvt
    from merlin.schema import Tags
    from nvtabular import ops
    import_seconds = time.perf_counter() - t_import

    shutil.rmtree(args.out, ignore_errors=True)
    os.makedirs(args.out)
    t0 = time.perf_counter()
    df = pd.read_csv(args.input, dtype={"session_id": "int64", "item_id": str, "category": str, "price": "float64",
                                        "timestamp": "int64"})
    n_events = len(df)
    df = df.sort_values(["session_id", "timestamp"], kind="stable").reset_index(drop=True)
    if args.partitions > 1:
        bounds = [0]
        starts = np.flatnonzero(df["session_id"].values[1:] != df["session_id"].values[:-1]) + 1
        for i in range(1, args.partitions):
            target = len(df) * i // args.partitions
            j = np.searchsorted(starts, target)
            if j < len(starts):
                bounds.append(int(starts[j]))
        bounds.append(len(df))
        ddf = dd.concat([dd.from_pandas(df.iloc[a:b], npartitions=1) for a, b in zip(bounds, bounds[1:]) if b > a])
    else:
        ddf = dd.from_pandas(df, npartitions=1)
    dataset = nvt.Dataset(ddf, cpu=True)
    read_seconds = time.perf_counter() - t0

    day = 86400.0
    sid = ["session_id"]
    # stats=["min"] alone fails in NVTabular 23.8 on the CPU (the key column gets an empty aggregation list and is
    # lost); "count" beside it works, and only the min is kept.
    item_first = ["item_id"] >> ops.JoinGroupby(cont_cols=["timestamp"], stats=["count", "min"])
    item_age = (
        item_first[["item_id_timestamp_min"]]
        >> ops.LambdaOp(lambda col, df: (df["timestamp"] - col) / day, dependency=["timestamp"])
        >> ops.Rename(name="item_age_days")
        >> ops.Normalize()
    )
    cats = ["item_id", "category"] >> ops.Categorify(freq_threshold=1)
    ts = ["timestamp"]

    def cyc(period, unit, fn, name):
        return ts >> ops.LambdaOp(lambda col: fn(2 * np.pi * ((col // unit) % period) / period)) >> ops.Rename(name=name)

    # 1970-01-01 was a Thursday: weekday (Monday = 0) = (days + 3) % 7
    weekday = lambda col: ((col // 86400) + 3) % 7
    feats = [
        ts >> ops.LambdaOp(lambda col: col // 86400) >> ops.Rename(name="timestamp_day_index"),
        ts >> ops.LambdaOp(lambda col: np.sin(2 * np.pi * weekday(col) / 7)) >> ops.Rename(name="timestamp_weekday_sin"),
        ts >> ops.LambdaOp(lambda col: np.cos(2 * np.pi * weekday(col) / 7)) >> ops.Rename(name="timestamp_weekday_cos"),
        cyc(24, 3600, np.sin, "timestamp_hour_sin"),
        cyc(24, 3600, np.cos, "timestamp_hour_cos"),
    ]
    price = ["price"] >> ops.FillMedian() >> ops.LogOp() >> ops.Normalize()
    rows = sid + cats + ts + price + item_age
    for f in feats:
        rows = rows + f

    def drop_repeats(frame):
        same_session = frame["session_id"] == frame["session_id"].shift(1)
        return ~(same_session & (frame["item_id"] == frame["item_id"].shift(1)))

    # Workflow 1 (event rows; its statistics are fitted on all events, as seqrec fits them): the features, then the
    # repeat filter as its last op, over all columns.
    rows_workflow = nvt.Workflow(rows >> ops.Filter(f=drop_repeats))

    # Workflow 2 (on workflow 1's output): gap, Groupby, ListSlice, session filter, tags. It is a second workflow
    # because an op's dependency columns (DifferenceLag's partition_cols) are read from the workflow's input, not
    # from the filtered rows: after a mid-graph Filter they no longer line up (the rows come out misaligned).
    row_cols = ["session_id", "item_id", "category", "timestamp", "price", "item_age_days", "timestamp_day_index",
                "timestamp_weekday_sin", "timestamp_weekday_cos", "timestamp_hour_sin", "timestamp_hour_cos"]
    gap = (
        ["timestamp"]
        >> ops.DifferenceLag(partition_cols=["session_id"], shift=1)  # timestamp_difference_lag_1
        >> ops.FillMissing(fill_val=0)
        >> ops.LogOp()
        >> ops.Rename(name="timestamp_gap")
    )
    list_feats = ["item_id", "category", "timestamp_weekday_sin", "timestamp_weekday_cos", "timestamp_hour_sin",
                  "timestamp_hour_cos", "price", "item_age_days", "timestamp_gap"]
    aggs = {c: ["list"] for c in list_feats}
    aggs["item_id"] = ["list", "count"]
    aggs["timestamp"] = ["list", "first"]
    aggs["timestamp_day_index"] = ["first"]
    grouped = (row_cols + gap) >> ops.Groupby(groupby_cols=["session_id"], sort_cols=["timestamp"], aggs=aggs,
                                              name_sep="-")
    list_cols = [c + "-list" for c in list_feats] + ["timestamp-list"]
    sliced = grouped[list_cols] >> ops.ListSlice(-args.max_length)
    kept = (sliced + grouped[["session_id", "item_id-count", "timestamp-first", "timestamp_day_index-first"]]) >> ops.Filter(
        f=lambda frame: frame["item_id-count"] >= 2)
    out = (
        kept[["session_id", "timestamp-first", "timestamp_day_index-first"]]
        + (kept[["item_id-list"]] >> ops.TagAsItemID())
        + (kept[["category-list"]] >> ops.AddTags([Tags.ITEM]))
        + kept[[c for c in list_cols if c not in ("item_id-list", "category-list")]]
    )
    session_workflow = nvt.Workflow(out)

    t1 = time.perf_counter()
    rows_workflow.fit(dataset)
    fit_seconds = time.perf_counter() - t1
    t2 = time.perf_counter()
    filtered = rows_workflow.transform(dataset)
    session_workflow.fit(filtered)  # no statistics in it: this only builds the graph and schema
    sessions_df = session_workflow.transform(filtered).to_ddf().compute()
    transform_seconds = time.perf_counter() - t2
    t3 = time.perf_counter()
    rows_workflow.save(os.path.join(args.out, "workflow-rows"))
    session_workflow.save(os.path.join(args.out, "workflow-sessions"))
    write_time_based_splits(sessions_df, os.path.join(args.out, "sessions"), "timestamp_day_index-first",
                            "timestamp-first", test_size=0.1, val_size=0.1)
    write_seconds = time.perf_counter() - t3
    total = time.perf_counter() - t0

    days = sorted(os.listdir(os.path.join(args.out, "sessions")))
    split_rows = {"train": 0, "valid": 0, "test": 0}
    for d in days:
        for s in split_rows:
            split_rows[s] += len(pd.read_parquet(os.path.join(args.out, "sessions", d, s + ".parquet"),
                                                 columns=["session_id"]))
    items = session_workflow.output_schema["item_id-list"].int_domain.max + 1
    print(json.dumps({
        "side": "nvtabular", "events": n_events, "sessions": int(len(sessions_df)), "days": len(days),
        "split_sessions": split_rows, "item_cardinality": int(items),
        "clicks_after_slice": int(sessions_df["item_id-list"].map(len).sum()),
        "seconds": {"import": round(import_seconds, 2), "read_sort": round(read_seconds, 2),
                    "fit": round(fit_seconds, 2), "transform": round(transform_seconds, 2),
                    "write_split": round(write_seconds, 2), "total": round(total, 2)},
        "partitions": args.partitions,
    }))


if __name__ == "__main__":
    main()
