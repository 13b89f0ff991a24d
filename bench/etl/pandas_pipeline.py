"""The session pipeline of configs/etl/t4rec_session_pipeline.json written in pandas, the way the
Transformers4Rec examples preprocess before NVTabular, for bench_etl.py to time against seqrec.
Usage: python3 pandas_pipeline.py EVENTS.csv OUT_DIR   (prints one JSON line: events, seconds, peak_rss_mb)"""
import json
import os
import resource
import sys
import time

import numpy as np
import pandas as pd


def categorify(col):
    # ids as NVTabular assigns them: 0 pad, 1 null, 2 OOV, 3.. by descending frequency
    counts = col.value_counts()
    mapping = pd.Series(np.arange(3, 3 + len(counts), dtype=np.int64), index=counts.index)
    return col.map(mapping).fillna(1).astype(np.int64)


def normalize(x):
    return (x - x.mean()) / x.std()


def main(path, out):
    start = time.time()
    df = pd.read_csv(path, dtype={"session_id": str, "item_id": str, "category": str, "timestamp": np.int64, "price": np.float64})
    events = len(df)
    first_seen = df.groupby("item_id")["timestamp"].transform("min")
    df["item_age_days"] = (df["timestamp"] - first_seen) / 86400.0
    df["item_id"] = categorify(df["item_id"])
    df["category"] = categorify(df["category"])
    ts = pd.to_datetime(df["timestamp"], unit="s")
    weekday, hour = ts.dt.weekday, ts.dt.hour
    df["day_index"] = df["timestamp"] // 86400
    df["weekday_sin"] = np.sin(2 * np.pi * weekday / 7)
    df["weekday_cos"] = np.cos(2 * np.pi * weekday / 7)
    df["hour_sin"] = np.sin(2 * np.pi * hour / 24)
    df["hour_cos"] = np.cos(2 * np.pi * hour / 24)
    price = df["price"].fillna(df["price"].median())
    df["price"] = normalize(np.log1p(price.clip(lower=0)))
    df["item_age_days"] = normalize(df["item_age_days"])
    df = df.sort_values(["session_id", "timestamp"], kind="stable")
    repeat = (df["session_id"] == df["session_id"].shift()) & (df["item_id"] == df["item_id"].shift())
    df = df[~repeat]
    gap = df.groupby("session_id")["timestamp"].diff().fillna(0) * 1000.0
    df["gap"] = np.log1p(gap.clip(lower=0))
    lists = ["item_id", "category", "timestamp", "weekday_sin", "weekday_cos", "hour_sin", "hour_cos", "price", "item_age_days", "gap"]
    aggs = {c + "-list": (c, list) for c in lists}
    aggs["timestamp-first"] = ("timestamp", "first")
    g = df.groupby("session_id", sort=False).agg(**aggs)
    for c in lists:
        g[c + "-list"] = g[c + "-list"].apply(lambda l: l[-20:])
    g = g[g["item_id-list"].apply(len) >= 2]
    g["day"] = g["timestamp-first"] // 86400
    rng = np.random.default_rng(42)
    u = rng.random(len(g))
    g["split"] = np.where(u < 0.1, "test", np.where(u < 0.2, "valid", "train"))
    first_day = g["day"].min()
    for (day, split), part in g.groupby(["day", "split"]):
        folder = os.path.join(out, "day-%04d" % (day - first_day + 1))
        os.makedirs(folder, exist_ok=True)
        part.drop(columns=["split"]).to_pickle(os.path.join(folder, split + ".pkl"))
    seconds = time.time() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps({"events": events, "sessions": int(len(g)), "seconds": seconds, "peak_rss_mb": peak_mb}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
