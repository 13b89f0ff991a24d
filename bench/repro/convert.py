#!/usr/bin/env python3
"""Converts a research dataset from ../shared/data into a seqrec data folder (schema.json + sessions/{train,valid,test}),
keeping that dataset's published split exactly. Standard library only.

    python3 bench/repro/convert.py diginetica|yoochoose-100k|amazon-beauty|amazon-games DATA_DIR OUT_DIR

Item ids become categorified ids (DESIGN.md section 2: 0 padding, 1 null, 2 OOV, real items from 3) in descending
training frequency, as seqrec etl numbers them. Datasets without timestamps get increasing pseudo-times in file order,
so "more recent" still means "later in the file".
"""
import collections
import json
import os
import shutil
import struct
import sys


def write_sessions(rows, folder):
    """rows: list of (session_id, [item ids], [timestamps ms]). Writes the seqrec-sessions columnar layout."""
    tmp = folder + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    id_bytes = bytearray()
    id_offsets, offsets, items, times, days = [0], [0], [], [], []
    for sid, its, ts in rows:
        id_bytes += sid.encode()
        id_offsets.append(len(id_bytes))
        items.extend(its)
        times.extend(ts)
        offsets.append(len(items))
        days.append(ts[0] // 86400000 if ts else 0)

    def put(name, values):
        with open(os.path.join(tmp, name), "wb") as f:
            f.write(struct.pack("<%dq" % len(values), *values))

    with open(os.path.join(tmp, "session_id.values.bin"), "wb") as f:
        f.write(bytes(id_bytes))
    put("session_id.offsets.bin", id_offsets)
    put("item_id.values.bin", items)
    put("item_id.offsets.bin", offsets)
    put("timestamp.values.bin", times)
    put("day.bin", days)
    manifest = {
        "format": "seqrec-sessions", "version": 1, "rows": len(rows), "values": len(items),
        "session_id_bytes": len(id_bytes),
        "columns": [
            {"name": "session_id", "dtype": "string", "is_list": False},
            {"name": "item_id", "dtype": "int64", "is_list": True},
            {"name": "timestamp", "dtype": "int64", "is_list": True, "offsets": "item_id"},
            {"name": "day", "dtype": "int64", "is_list": False},
        ],
    }
    with open(os.path.join(tmp, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    shutil.rmtree(folder, ignore_errors=True)
    os.rename(tmp, folder)


def write_dataset(out, splits, raw_train_items, note, refit=None):
    """splits: {"train": [(sid, [raw items], [ts])], ...}. Ids by descending training frequency, ties by raw id.
    refit: rows (all the training data: train and valid) to write OUT-refit, the same ids and test split with
    these as train and an empty valid, for the recipe's final training once valid has chosen the epochs."""
    counts = collections.Counter(raw_train_items)
    for rows in splits.values():
        for _, its, _ in rows:
            for it in its:
                counts.setdefault(it, 0)
    order = sorted(counts, key=lambda it: (-counts[it], str(it)))
    ids = {raw: 3 + i for i, raw in enumerate(order)}
    os.makedirs(os.path.join(out, "sessions"), exist_ok=True)
    longest = 1
    for name, rows in splits.items():
        encoded = [(sid, [ids[it] for it in its], ts) for sid, its, ts in rows]
        longest = max([longest] + [len(its) for _, its, _ in encoded])
        write_sessions(encoded, os.path.join(out, "sessions", name))
    schema = {"format": "seqrec-schema", "version": 1, "columns": [
        {"name": "session_id", "dtype": "string", "is_list": False, "tags": ["session", "id"]},
        {"name": "item_id", "dtype": "int64", "is_list": True, "tags": ["item", "id", "categorical", "list", "target"],
         "int_domain": {"min": 0, "max": 3 + len(order) - 1}, "value_count": {"min": 1, "max": longest}},
        {"name": "timestamp", "dtype": "int64", "is_list": True, "tags": ["time", "list"],
         "value_count": {"min": 1, "max": longest}},
        {"name": "day", "dtype": "int64", "is_list": False, "tags": ["time"]},
    ]}
    with open(os.path.join(out, "schema.json"), "w") as f:
        json.dump(schema, f, indent=2)
        f.write("\n")
    if refit is not None:
        full = out.rstrip("/") + "-refit"
        os.makedirs(os.path.join(full, "sessions"), exist_ok=True)
        shutil.copyfile(os.path.join(out, "schema.json"), os.path.join(full, "schema.json"))
        for name, rows in (("train", refit), ("valid", []), ("test", splits["test"])):
            write_sessions([(sid, [ids[it] for it in its], ts) for sid, its, ts in rows], os.path.join(full, "sessions", name))
    summary = {"items": len(order), "note": note}
    for name, rows in splits.items():
        summary[name] = {"rows": len(rows), "clicks": sum(len(r[1]) for r in rows)}
    with open(os.path.join(out, "conversion.json"), "w") as f:
        json.dump(summary, f, indent=2)
        f.write("\n")
    print(json.dumps(summary), file=sys.stderr)


def pseudo_times(start, n):
    return [(start + i) * 1000 for i in range(n)]


def read_lines(path):
    with open(path) as f:
        return [line.split() for line in f if line.strip()]


def diginetica(data, out):
    train = read_lines(os.path.join(data, "train_sessions_part00.txt")) + read_lines(
        os.path.join(data, "train_sessions_part01.txt"))
    test = read_lines(os.path.join(data, "test_sessions.txt"))
    # SR-GNN keeps the training sessions in time order: the last 10% are the validation split for tuning.
    cut = len(train) - len(train) // 10
    rows, clock = [], 0
    for i, s in enumerate(train + test):
        rows.append(("s%d" % i, s, pseudo_times(clock, len(s))))
        clock += len(s)
    splits = {"train": rows[:cut], "valid": rows[cut:len(train)], "test": rows[len(train):]}
    write_dataset(out, splits, [it for _, s, _ in splits["train"] for it in s] +
                  [it for _, s, _ in splits["valid"] for it in s],
                  "SR-GNN split; valid = last 10% of train sessions; evaluate test with every-prefix",
                  refit=rows[:len(train)])


def yoochoose(data, out):
    def read(name):
        sessions = collections.defaultdict(list)
        with open(os.path.join(data, "yoochoose-clicks-100k_%s.txt" % name)) as f:
            header = f.readline().rstrip("\n").split("\t")
            s_col, i_col, t_col = header.index("SessionId"), header.index("ItemId"), header.index("Time")
            for line in f:
                p = line.rstrip("\n").split("\t")
                sessions[p[s_col]].append((float(p[t_col]), len(sessions[p[s_col]]), p[i_col]))
        rows = []
        for sid, events in sessions.items():
            events.sort()
            rows.append((sid, [e[2] for e in events], [int(e[0] * 1000) for e in events]))
        rows.sort(key=lambda r: (r[2][0], r[0]))
        return rows

    train, valid, test = read("train_tr"), read("train_valid"), read("test")
    full = read("train_full")
    write_dataset(out, {"train": train, "valid": valid, "test": test},
                  [it for _, s, _ in full for it in s],
                  "session-rec rsc15 split: train = train_tr, valid = train_valid, test = test (every next click); "
                  "refit on train_full", refit=full)


def leave_one_out(users, out, min_evaluated, note):
    """users: list of (user id, [items]) in chronological order. SASRec / S3-Rec split."""
    train, valid, test, refit = [], [], [], []
    for uid, items in users:
        times = pseudo_times(0, len(items))
        if len(items) < min_evaluated:
            train.append((uid, items, times))
            refit.append((uid, items, times))
            continue
        train.append((uid, items[:-2], times[:-2]))
        valid.append((uid, items[:-1], times[:-1]))
        test.append((uid, items, times))
        refit.append((uid, items[:-1], times[:-1]))  # train + the valid item; the test item stays unseen
    write_dataset(out, {"train": train, "valid": valid, "test": test}, [it for _, s, _ in train for it in s], note,
                  refit=refit)


def amazon_beauty(data, out):
    users = [(p[0], p[1:]) for p in read_lines(os.path.join(data, "Beauty.txt"))]
    leave_one_out(users, out, 3, "S3-Rec/ICLRec leave-one-out: train = seq[:-2], valid = seq[:-1], test = seq")


def amazon_games(data, out):
    users = collections.OrderedDict()
    for p in read_lines(os.path.join(data, "Video.txt")):
        users.setdefault(p[0], []).append(p[1])
    leave_one_out(list(users.items()), out, 4,
                  "SASRec data_partition: users with >= 4 actions evaluated; others only train")


CONVERTERS = {"diginetica": diginetica, "yoochoose-100k": yoochoose, "amazon-beauty": amazon_beauty,
              "amazon-games": amazon_games}

if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] not in CONVERTERS:
        sys.exit("usage: convert.py {%s} DATA_DIR OUT_DIR" % ",".join(CONVERTERS))
    CONVERTERS[sys.argv[1]](sys.argv[2], sys.argv[3])
