#!/usr/bin/env python3
"""Scale a Taobao export made by tools/gen_sample.py up to many orders, fast.

  tools/scale_sample.py --in sample_orders.csv --copies K --out big.csv

Writes the header once, then K copies of every record. Copy k (from 0) gets its own buyers
and order ids: the buyer's nickname gets the suffix "~k" (k > 0) and the 19-digit order id
has its first three digits replaced by k (mod 1000), so order ids stay unique for K <= 1000
as long as the input's ids are unique in their last 16 digits (gen_sample's are random).
Everything else (statuses, times, notes, malformed rows) is copied byte for byte, so a
100,000-order file made by gen_sample.py (7 minutes on a loaded machine) becomes a
1,000,000-order file in seconds. Works on GB18030 or UTF-8 input: the bytes are read as
Latin-1, which is safe because no trail byte of either encoding is a comma, quote or line
break. Python 3 standard library only.
"""
import argparse
import csv
import sys


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--in", dest="src", required=True)
    ap.add_argument("--copies", type=int, required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    if not 1 <= args.copies <= 1000:
        sys.exit("scale_sample: --copies must be 1..1000")
    with open(args.src, encoding="latin-1", newline="") as f:
        rows = list(csv.reader(f))
    header, records = rows[0], rows[1:]
    id_col, buyer_col = 0, 1
    with open(args.out, "w", encoding="latin-1", newline="") as f:
        w = csv.writer(f, lineterminator="\r\n")
        w.writerow(header)
        for k in range(args.copies):
            suffix = "" if k == 0 else f"~{k}"
            for r in records:
                r = list(r)
                oid = r[id_col]
                if k > 0 and len(oid) >= 19 and oid.isdigit():
                    r[id_col] = f"{k:03d}" + oid[3:]
                if len(r) > buyer_col and r[buyer_col]:
                    r[buyer_col] += suffix
                w.writerow(r)


if __name__ == "__main__":
    main()
