// Reading addresses with the shipped gazetteer: addresses that start at each level, Hong Kong /
// Macau / Taiwan and foreign addresses in both scripts, and the traps (武汉市香港路).
#include "core/address.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "core/planner.h"
#include "test_rules.h"

namespace cuifu {
namespace {

using testing::default_rules;

ParsedAddress parse(std::string_view a) {
  return parse_address(*default_rules().address.gazetteer, a);
}

bool why_has(const ParsedAddress& p, std::string_view part) {
  return p.why_text().find(part) != std::string::npos;
}

TEST(Address, ShippedRulesLoadTheGazetteer) {
  ASSERT_NE(default_rules().address.gazetteer, nullptr);
  EXPECT_GT(default_rules().address.gazetteer->size(), 3000u);
}

TEST(Address, StartsAtProvince) {
  const auto p = parse("湖北省 武汉市 江岸区 香港路 58号");
  EXPECT_EQ(p.province, "湖北省");
  EXPECT_EQ(p.city, "武汉市");
  EXPECT_EQ(p.county, "江岸区");
  EXPECT_EQ(p.rest, "香港路 58号");
  EXPECT_FALSE(p.overseas);
  const auto q = parse("内蒙古自治区呼和浩特市新城区");
  EXPECT_EQ(q.province, "内蒙古自治区");
  EXPECT_EQ(q.city, "呼和浩特市");
  EXPECT_EQ(q.county, "新城区");
}

// Every separator, alone or in a run of several, is skipped between the parts (the skip first
// looks at the byte a separator can start with); a byte that merely starts like one is not.
TEST(Address, EverySeparatorAndRunsOfThemSeparateTheParts) {
  for (const char* sep : {" ",  "\t", ",",  ";",  ":", "/", "-",  "(",  ")",   "，",  "、",   "：",
                          "；", "（", "）", "　", "·", "|", "\r", "\n", " ，", "（ ", "、　·"}) {
    const auto p = parse(std::string("湖北省") + sep + "武汉市" + sep + "江岸区" + sep + "香港路 58号");
    EXPECT_EQ(p.province, "湖北省") << sep;
    EXPECT_EQ(p.city, "武汉市") << sep;
    EXPECT_EQ(p.county, "江岸区") << sep;
    EXPECT_EQ(p.rest, "香港路 58号") << sep;
  }
  // 。 and ． start with the bytes of 、 and ， but are no separators: they stay in the rest.
  EXPECT_EQ(parse("湖北省武汉市江岸区。香港路").rest, "。香港路");
  EXPECT_EQ(parse("湖北省武汉市江岸区．香港路").rest, "．香港路");
}

TEST(Address, MunicipalityWrittenTwiceOrWithShortForms) {
  const auto p = parse("北京 北京市 朝阳区 望京街道 望京西园三区");
  EXPECT_EQ(p.province, "北京市");
  EXPECT_EQ(p.city, "北京市");
  EXPECT_EQ(p.county, "朝阳区");
  EXPECT_EQ(p.rest, "望京街道 望京西园三区");
  const auto q = parse("上海浦东张江高科技园区博云路2号");
  EXPECT_EQ(q.province, "上海市");
  EXPECT_EQ(q.county, "浦东新区");
  EXPECT_EQ(q.rest, "张江高科技园区博云路2号");
}

TEST(Address, StartsAtCityAndInfersTheProvince) {
  const auto p = parse("西安市西安交通大学南校区");
  EXPECT_EQ(p.province, "陕西省");
  EXPECT_EQ(p.city, "西安市");
  EXPECT_EQ(p.rest, "西安交通大学南校区");
  EXPECT_TRUE(why_has(p, "province 陕西省 inferred from 西安市")) << p.why_text();
  EXPECT_EQ(parse("驻马店市黄淮学院").province, "河南省");
  EXPECT_EQ(parse("衡水市衡水职业技术学院18栋629室").province, "河北省");
  const auto s = parse("西安 雁塔区 小寨东路 1号");
  EXPECT_EQ(s.city, "西安市");
  EXPECT_EQ(s.county, "雁塔区");
}

TEST(Address, StartsAtCountyAndInfersCityAndProvince) {
  const auto p = parse("鄞州区南部商务区红巨大厦28层");
  EXPECT_EQ(p.province, "浙江省");
  EXPECT_EQ(p.city, "宁波市");
  EXPECT_EQ(p.county, "鄞州区");
  EXPECT_EQ(p.rest, "南部商务区红巨大厦28层");
  const auto q = parse("浦东新区世纪大道100号");
  EXPECT_EQ(q.province, "上海市");
  EXPECT_EQ(q.city, "上海市");
}

TEST(Address, AutonomousPrefecturesAndCountiesWithTheirShortForms) {
  const auto p = parse("延边朝鲜族自治州延吉市河南街道");
  EXPECT_EQ(p.province, "吉林省");
  EXPECT_EQ(p.city, "延边朝鲜族自治州");
  EXPECT_EQ(p.county, "延吉市");
  EXPECT_EQ(parse("延边 延吉市 河南街道").city, "延边朝鲜族自治州");
  const auto q = parse("湖北省宜昌市长阳县龙舟坪镇");
  EXPECT_EQ(q.county, "长阳土家族自治县");
}

TEST(Address, AmbiguousCountyIsResolvedByWhatFollowsOrLeftOpen) {
  const auto open = parse("朝阳区望京街10号");
  EXPECT_EQ(open.county, "朝阳区");
  EXPECT_EQ(open.province, "");
  EXPECT_TRUE(why_has(open, "not resolved")) << open.why_text();
  EXPECT_FALSE(open.overseas);
  EXPECT_EQ(parse("北京市朝阳区望京街10号望京SOHO塔2").province, "北京市");
  // 鼓楼区 is in 南京 and 徐州 (江苏): the province is known, the city is not.
  const auto gulou = parse("江苏省鼓楼区中山路1号");
  EXPECT_EQ(gulou.province, "江苏省");
  EXPECT_EQ(gulou.county, "鼓楼区");
  EXPECT_EQ(gulou.city, "");
}

TEST(Address, StartsAtStreetIsMainlandWithRegionNotRecognised) {
  for (const char* a : {"建华南路商通大厦8层", "宜山路2000号利丰广场1号楼5层", "酒仙桥恒通商务园"}) {
    const auto p = parse(a);
    EXPECT_FALSE(p.overseas) << a;
    EXPECT_TRUE(why_has(p, "region not recognised")) << a << ": " << p.why_text();
    EXPECT_EQ(p.rest, a);
  }
}

TEST(Address, StreetsNamedAfterHongKongMacauOrTaiwanStayMainland) {
  for (const char* a :
       {"武汉市香港路58号", "上海市台湾路3号", "山东省 青岛市 市南区 香港中路 10号 颐和国际大厦",
        "上海 上海市 普陀区 澳门路 168号", "福建省 厦门市 思明区 台湾街 12号", "香港路58号", "台湾街12号",
        "澳门路168号", "重庆市九龙坡区杨家坪", "九龙坡区谢家湾正街", "广东省梅州市大埔县湖寮镇"}) {
    const auto p = parse(a);
    EXPECT_FALSE(p.overseas) << a << ": " << p.why_text();
  }
}

// followed_by_street() turns a word down on its first two bytes before comparing: every one
// of its words, after a place name, still makes the name a street's.
TEST(Address, EveryStreetWordAfterAPlaceNameMakesItAStreet) {
  for (const char* w : {"路", "街", "道", "巷", "弄", "大道", "大街", "东路", "西路", "南路", "北路", "中路", "花园",
                        "广场", "商城", "新村"}) {
    const std::string a = std::string("香港") + w + "12号";
    EXPECT_FALSE(parse(a).overseas) << a << ": " << parse(a).why_text();
    // The name followed by a space, then the word: the place.
    EXPECT_TRUE(parse(std::string("香港 ") + w + "12号").overseas) << w;
  }
  EXPECT_TRUE(parse("香港跪12号").overseas);  // 跪 (U+8DEA) shares 路's first two bytes
  EXPECT_TRUE(parse("香港").overseas);        // nothing after the name
}

// latin_hit() skips a key whose first byte the address lacks: a Latin name written in capitals,
// after Chinese text and digits, is still found.
TEST(Address, LatinPlaceNameInCapitalsAfterChineseTextIsFound) {
  const auto p = parse("某某街 12号 HONG KONG");
  EXPECT_TRUE(p.overseas) << p.why_text();
  EXPECT_EQ(p.outside, "香港特别行政区");
  EXPECT_FALSE(parse("某某街 12号 hongkon").overseas);
}

TEST(Address, HongKongMacauAndTaiwanInEitherScript) {
  for (const char* a : {"香港特别行政区 九龙 旺角 弥敦道 123号", "香港九龍旺角彌敦道123號", "九龙 旺角 弥敦道 580号",
                        "旺角弥敦道580号", "铜锣湾 轩尼诗道 500号", "Flat 3B, 132 Nathan Road, Kowloon, Hong Kong",
                        "Room 1201, 12/F, Tower 2, Times Square, Causeway Bay", "澳门特别行政区 氹仔 花城大马路 100号",
                        "氹仔 花城大马路 100号", "澳門氹仔", "Avenida da Praia Grande, Macau", "台湾 台北市 信义区",
                        "台北市信义区信义路五段7号", "臺北市信義區", "新北市板橋區文化路一段",
                        "No. 7, Section 5, Xinyi Road, Taipei"}) {
    const auto p = parse(a);
    EXPECT_TRUE(p.overseas) << a << ": " << p.why_text();
  }
  EXPECT_EQ(parse("九龍旺角彌敦道").outside, "香港特别行政区");
  EXPECT_EQ(parse("氹仔 花城大马路").outside, "澳门特别行政区");
  EXPECT_EQ(parse("新北市板橋區").outside, "台湾省");
}

TEST(Address, ForeignCountriesInChineseAndEnglish) {
  for (const char* a : {"日本东京都千代田区丸之内1-1", "美国 加利福尼亚州 旧金山", "新加坡 乌节路 391号",
                        "1-1 Marunouchi, Chiyoda-ku, Tokyo, Japan", "Singapore 238859 Orchard Road 391 #12-01",
                        "221B Baker Street, London NW1 6XE", "350 Fifth Avenue, New York, NY 10118"}) {
    const auto p = parse(a);
    EXPECT_TRUE(p.overseas) << a << ": " << p.why_text();
  }
  EXPECT_EQ(parse("日本东京都千代田区").outside, "日本");
  EXPECT_TRUE(why_has(parse("221B Baker Street, London NW1 6XE"), "Latin-script address without a mainland region"));
}

TEST(Address, LatinAddressNamingAMainlandPlaceIsMainland) {
  const auto p = parse("No. 1 Jianguomenwai Avenue, Chaoyang District, Beijing, China");
  EXPECT_FALSE(p.overseas) << p.why_text();
  EXPECT_EQ(p.province, "北京市");
  EXPECT_FALSE(parse("Room 502, Building 3, Zhangjiang Hi-Tech Park, Shanghai 201203").overseas);
  EXPECT_TRUE(parse("88 Queensway, Admiralty, Hong Kong, China").overseas);
}

TEST(Address, EmptyAddressIsMainland) {
  EXPECT_FALSE(parse("").overseas);
  EXPECT_FALSE(parse("   ").overseas);
}

TEST(Address, WorksWithoutAGazetteer) {
  const Gazetteer none;
  EXPECT_FALSE(parse_address(none, "西安市西安交通大学").overseas);
  EXPECT_TRUE(parse_address(none, "221B Baker Street, London").overseas);
}

TEST(Address, IsOverseasAddressUsesTheRulesGazetteer) {
  EXPECT_TRUE(is_overseas_address(default_rules(), "香港九龍旺角"));
  EXPECT_FALSE(is_overseas_address(default_rules(), "武汉市香港路"));
}

}  // namespace
}  // namespace cuifu

namespace cuifu {
namespace {

// The planner probes an address at every character with only the spellings that can start
// there; a length missing from that list would lose a place, a wrong order the longest match.
TEST(Address, ProbesOnlyTheSpellingsThatShareTheTextsFirstCharacter) {
  Gazetteer g({{PlaceKind::province, "330000", "浙江省", {"浙江"}, ""},
               {PlaceKind::city, "330200", "宁波市", {"宁波"}, "330000"},
               {PlaceKind::county, "330212", "鄞州区", {"鄞州"}, "330200"},
               {PlaceKind::county, "330213", "宁海县", {"宁海"}, "330200"},
               {PlaceKind::outside, "HK", "香港特别行政区", {"港", "Hong Kong"}, ""}});
  EXPECT_EQ(g.key_lengths_at("宁波市鄞州区"), (std::vector<std::size_t>{9, 6}));  // 宁波市 宁海县, 宁波 宁海
  EXPECT_EQ(g.key_lengths_at("浙江"), (std::vector<std::size_t>{9, 6}));
  EXPECT_EQ(g.key_lengths_at("港岛"), (std::vector<std::size_t>{3}));  // 香港特别行政区 starts with 香
  EXPECT_EQ(g.key_lengths_at("路12号"), (std::vector<std::size_t>{}));
  EXPECT_EQ(g.key_lengths_at("ab"), (std::vector<std::size_t>{}));
  EXPECT_EQ(parse_address(g, "宁海县跃龙街道").county, "宁海县");
  EXPECT_EQ(parse_address(g, "宁波鄞州区首南街道").county, "鄞州区");
}

}  // namespace
}  // namespace cuifu

namespace cuifu {
namespace {

// Gazetteer::lookup probes its own open-addressing table and parent_of a table of indices; the
// places' own spellings and codes are the reference: every spelling finds exactly the places
// that carry it (full name first when it is one), anything else finds nothing.
TEST(Address, EverySpellingFindsItsPlacesAndParentsFollowTheCodes) {
  const Gazetteer& g = *default_rules().address.gazetteer;
  std::map<std::string, std::vector<std::pair<std::size_t, bool>>> expected;
  const auto latin = [](const std::string& s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
  };
  for (std::size_t i = 0; i < g.places().size(); ++i) {
    const Place& p = g.places()[i];
    const auto add = [&](const std::string& key, bool full) {
      if (key.empty() || latin(key)) return;
      auto& v = expected[key];
      if (std::none_of(v.begin(), v.end(), [&](const auto& h) { return h.first == i; })) v.emplace_back(i, full);
    };
    add(p.name, true);
    for (const auto& a : p.aliases) add(a, false);
    const Place* parent = g.parent_of(p);
    EXPECT_EQ(parent, p.parent.empty() ? nullptr : g.by_code(p.parent)) << p.code;
    const Place copy = p;  // not one of places(): found by its code
    EXPECT_EQ(g.parent_of(copy), parent) << p.code;
  }
  ASSERT_GT(expected.size(), 3000u);
  for (const auto& [key, hits] : expected) {
    const auto* found = g.lookup(key);
    ASSERT_NE(found, nullptr) << key;
    ASSERT_EQ(found->size(), hits.size()) << key;
    for (std::size_t k = 0; k < hits.size(); ++k) {
      EXPECT_EQ((*found)[k].index, hits[k].first) << key;
      EXPECT_EQ((*found)[k].full_name, hits[k].second) << key;
    }
    // The key cut short or run on is a key only when the places say so.
    for (const std::string& other : {key.substr(0, key.size() - 1), key + "路", "x" + key}) {
      EXPECT_EQ(g.lookup(other) != nullptr, expected.count(other) > 0) << other;
    }
  }
  EXPECT_EQ(g.lookup(""), nullptr);
  EXPECT_EQ(g.lookup("Beijing"), nullptr);  // Latin spellings are in latin()
  EXPECT_EQ(Gazetteer().lookup("北京"), nullptr);
  EXPECT_TRUE(Gazetteer().key_lengths_at("北京").empty());
}

}  // namespace
}  // namespace cuifu
