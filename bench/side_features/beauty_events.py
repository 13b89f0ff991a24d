#!/usr/bin/env python3
"""Amazon Beauty (S3-Rec/ICLRec files) -> one raw events CSV laid out for the leave-one-out protocol through seqrec etl.

    python3 bench/side_features/beauty_events.py Beauty.txt Beauty_item2attributes.json OUT.csv

Every user appears three times, as three sessions, exactly as bench/repro/convert.py lays amazon-beauty out:
  <user>.train = seq[:-2]   first timestamp on 2024-01-01  -> sessions/train
  <user>.valid = seq[:-1]   first timestamp on 2024-01-02  -> sessions/valid (its last item = the valid target)
  <user>.test  = seq        first timestamp on 2024-01-03  -> sessions/test  (its last item = the test target)
The workflow (beauty.json) routes them with a "cutoffs" split on those days. Timestamps are pseudo-times: the day
above plus the event's position in seconds (Beauty.txt has no times, only the order).
Columns: user,item,ts,attr_first,attr_last; attr_first / attr_last = the first / last id of the item's attribute
list in Beauty_item2attributes.json (empty when the item has none). Standard library only.
"""
import csv
import json
import sys

DAY = 86400
BASE = 1704067200  # 2024-01-01T00:00:00Z
COPIES = (("train", 2, 0), ("valid", 1, 1), ("test", 0, 2))  # (suffix, items dropped from the end, day offset)


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: beauty_events.py Beauty.txt Beauty_item2attributes.json OUT.csv")
    seq_path, attr_path, out_path = sys.argv[1:]
    with open(attr_path) as f:
        attrs = {str(k): v for k, v in json.load(f).items()}
    users = events = short = 0
    missing = set()
    with open(seq_path) as f, open(out_path, "w", newline="") as out:
        w = csv.writer(out, lineterminator="\n")
        w.writerow(["user", "item", "ts", "attr_first", "attr_last"])
        for line in f:
            p = line.split()
            if not p:
                continue
            uid, items = p[0], p[1:]
            users += 1
            if len(items) < 3:  # cannot give a train prefix of >= 1 item plus a valid and a test target
                short += 1
                continue
            for suffix, drop, day in COPIES:
                seq = items[:len(items) - drop] if drop else items
                for pos, it in enumerate(seq):
                    a = attrs.get(it) or []
                    if not a:
                        missing.add(it)
                    w.writerow([uid + "." + suffix, it, BASE + day * DAY + pos,
                                a[0] if a else "", a[-1] if a else ""])
                    events += 1
    print("[beauty_events] %d users (%d with < 3 items skipped), %d event rows, %d items without attributes"
          % (users, short, events, len(missing)), file=sys.stderr)


if __name__ == "__main__":
    main()
