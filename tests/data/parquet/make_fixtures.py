#!/usr/bin/env python3
"""Makes the Parquet test fixtures with pyarrow (an implementation independent of seqrec's reader):

    .venv/bin/python tests/data/parquet/make_fixtures.py tests/data/parquet

events.csv is the ground truth; every .parquet here holds the same events in another physical layout, so the
ETL must produce the same sessions from each. The fixtures are committed: the tests need no Python.
"""
import os
import random
import shutil
import sys

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

out = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(__file__)
rng = random.Random(5)
rows = []
for s in range(60):
    length = 2 + rng.randrange(6)
    for e in range(length):
        rows.append({"session_id": f"s{s:03d}", "item_id": 1000 + rng.randrange(25),
                     "timestamp": 1704067200 + s * 3600 + e * 30,
                     "category": None if rng.random() < 0.1 else f"c{rng.randrange(4)}",
                     "price": rng.randrange(4, 400) / 4, "day": 1 + s // 20})  # prices in quarters: exact in float32 too

with open(os.path.join(out, "events.csv"), "w") as f:
    f.write("session_id,item_id,timestamp,category,price,day\n")
    for r in rows:
        f.write(f"{r['session_id']},{r['item_id']},{r['timestamp']},{r['category'] or ''},{r['price']},{r['day']}\n")

columns = {k: [r[k] for r in rows] for k in rows[0]}
table = pa.table({
    "session_id": pa.array(columns["session_id"], pa.string()),
    "item_id": pa.array(columns["item_id"], pa.int64()),
    # Spark and pandas write timestamps as a timestamp type, not epoch numbers.
    "timestamp": pa.array([t * 1000 for t in columns["timestamp"]], pa.timestamp("ms")),
    "category": pa.array(columns["category"], pa.string()),
    "price": pa.array(columns["price"], pa.float64()),
    "day": pa.array(columns["day"], pa.int32()),
})
# Snappy, dictionary pages, several row groups (pandas' and NVTabular's defaults, small groups).
pq.write_table(table, os.path.join(out, "events_snappy.parquet"), compression="snappy", row_group_size=50)
# zstd, data pages v2, no dictionary, microsecond timestamps, item ids as strings and the price as float32.
v2 = table.set_column(2, "timestamp", pa.array([t * 1000000 for t in columns["timestamp"]], pa.timestamp("us")))
v2 = v2.set_column(1, "item_id", pa.array([str(i) for i in columns["item_id"]], pa.string()))
v2 = v2.set_column(4, "price", pa.array(columns["price"], pa.float32()))
pq.write_table(v2, os.path.join(out, "events_zstd_v2.parquet"), compression="zstd", use_dictionary=False,
               data_page_version="2.0", row_group_size=100)
# A hive-partitioned folder as Spark writes it: day=N/part-*.parquet, the day only in the folder names.
hive = os.path.join(out, "events_by_day")
shutil.rmtree(hive, ignore_errors=True)
for day in sorted(set(columns["day"])):
    part = table.filter(pc.equal(table["day"], day)).drop_columns(["day"])
    os.makedirs(os.path.join(hive, f"day={day}"))
    pq.write_table(part, os.path.join(hive, f"day={day}", "part-00000.snappy.parquet"), compression="snappy")
open(os.path.join(hive, "_SUCCESS"), "w").close()
# Damaged files: a timestamp in nanoseconds stored as seconds (year 50000+), and a file cut short.
bad = table.set_column(2, "timestamp", pa.array([t * 1000000000 for t in columns["timestamp"]], pa.int64()))
pq.write_table(bad.slice(0, 20), os.path.join(out, "bad_timestamps.parquet"))
data = open(os.path.join(out, "events_snappy.parquet"), "rb").read()
open(os.path.join(out, "truncated.parquet"), "wb").write(data[: len(data) // 2])

# NVTabular's processed output: one row per session, list columns, a Merlin schema.pbtxt beside the splits (train
# as one file, valid as a folder of part files, test as one file). Item a is always followed by succ(a), so a model
# trained on it must learn that; the schema is NVTabular's own text (tests/data/etl/nvtabular_schema.pbtxt's layout).
nvt = os.path.join(out, "nvt")
shutil.rmtree(nvt, ignore_errors=True)
os.makedirs(os.path.join(nvt, "valid"))
succ = lambda a: 3 + ((a - 3) * 7 + 1) % 50


def sessions(count, first_id):
    ids, items, categories, prices, days = [], [], [], [], []
    for s in range(count):
        n = 3 + rng.randrange(8)
        a = 3 + rng.randrange(50)
        seq = []
        for _ in range(n):
            seq.append(a)
            a = succ(a)
        ids.append(first_id + s)
        items.append(seq)
        categories.append([3 + x % 4 for x in seq])
        prices.append([round(rng.uniform(-2, 3), 3) for _ in seq])
        days.append(1 + s % 3)
    return pa.table({"session_id": pa.array(ids, pa.int64()), "item_id-list": pa.array(items, pa.list_(pa.int64())),
                     "category-list": pa.array(categories, pa.list_(pa.int64())),
                     "price_log_norm-list": pa.array(prices, pa.list_(pa.float32())),
                     "day_index-first": pa.array(days, pa.int64())})


pq.write_table(sessions(600, 0), os.path.join(nvt, "train.parquet"), compression="snappy", row_group_size=200)
valid = sessions(120, 1000)
pq.write_table(valid.slice(0, 60), os.path.join(nvt, "valid", "part.0.parquet"))
pq.write_table(valid.slice(60), os.path.join(nvt, "valid", "part.1.parquet"))
pq.write_table(sessions(120, 2000), os.path.join(nvt, "test.parquet"), compression="zstd")
shutil.copy(os.path.join(out, "..", "etl", "nvtabular_schema.pbtxt"), os.path.join(nvt, "schema.pbtxt"))
