// The occupation an address shows, with the shipped rules/address.yaml: office buildings and
// parks, colleges and dormitories, homes kept apart, and the documented conflict order.
#include "core/occupation.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <random>

#include "core/planner.h"
#include "core/text.h"
#include "generated_orders.h"
#include "test_rules.h"

namespace cuifu {
namespace {

using testing::default_rules;

std::string occupation_of(std::string_view address) {
  return read_address(default_rules(), address).occupation.occupation;
}

std::string segment_of(const char* address) {
  Order o = testing::make_order("A1", "buyer", testing::at("2026-11-23 10:00"));
  o.address = address;
  o.amount = 19900;
  const SegmentMatch m = classify(default_rules(), {&o}, 0);
  return m.rule ? m.rule->name : "<none>";
}

// Two readings of one address alike in every part: the occupation, its scores and the why.
::testing::AssertionResult same_reading(const OccupationGuess& a, const OccupationGuess& b) {
  if (a.occupation != b.occupation) return ::testing::AssertionFailure() << a.occupation << " vs " << b.occupation;
  if (a.scores != b.scores) return ::testing::AssertionFailure() << "the scores differ";
  if (a.why != b.why) {
    std::size_t i = 0;
    while (i < a.why.size() && i < b.why.size() && a.why[i] == b.why[i]) ++i;
    return ::testing::AssertionFailure() << "why line " << i << ": " << (i < a.why.size() ? a.why[i] : "(none)")
                                         << " vs " << (i < b.why.size() ? b.why[i] : "(none)");
  }
  return ::testing::AssertionSuccess();
}

TEST(Occupation, OfficeBuildingsParksAndCompanies) {
  for (const char* a :
       {"建华南路商通大厦8层", "宜山路2000号利丰广场1号楼5层", "酒仙桥恒通商务园", "鄞州区南部商务区红巨大厦28层",
        "上海市嘉定区安亭镇新源路58号世昶广场1001室", "北京市怀柔区杨宋镇凤翔科技开发区凤翔一园8号",
        "北京市朝阳区望京街10号望京SOHO塔2", "广东省深圳市南山区科技园 腾讯滨海大厦",
        "浙江省杭州市余杭区文一西路969号阿里巴巴集团", "江苏省苏州市工业园区星湖街328号创意产业园B座12楼"}) {
    EXPECT_EQ(occupation_of(a), "office") << a << ": " << read_address(default_rules(), a).occupation.why_text();
  }
}

TEST(Occupation, CollegesSchoolsAndDormitories) {
  for (const char* a :
       {"西安市西安交通大学南校区", "驻马店市黄淮学院", "衡水市衡水职业技术学院18栋629室",
        "湖北省武汉市洪山区珞喻路1037号华中科技大学紫菘学生公寓",
        "北京市海淀区学院路37号北京航空航天大学 学生宿舍 6号楼", "重庆市沙坪坝区大学城 重庆大学虎溪校区",
        "四川省成都市郫都区红光大道9999号西南财经大学柳林校区 格致苑12栋305"}) {
    EXPECT_EQ(occupation_of(a), "student") << a << ": " << read_address(default_rules(), a).occupation.why_text();
  }
}

TEST(Occupation, HomesAreKeptApartFromOfficeAndStudent) {
  for (const char* a :
       {"辽宁省 沈阳市 和平区 南京南街 77号 枫林小区 4栋 702", "北京市海淀区学院路 学知园小区 3号楼2单元501",
        "重庆市沙坪坝区大学城 熙街 融创城 5栋 2单元 1801", "浙江省杭州市西湖区 文三路 某某大学 家属院 12幢 301",
        "上海市闵行区 莘庄镇 春申路 公寓 小区 3号 1201室", "广东省广州市天河区 员村 二横路 5号 301"}) {
    const std::string o = occupation_of(a);
    EXPECT_TRUE(o != "office" && o != "student")
        << a << " -> " << o << ": " << read_address(default_rules(), a).occupation.why_text();
  }
}

// Found by the address fuzzer: a floor followed by a long run of digits sent std::regex into
// exponential backtracking (the floor pattern repeated a 1-2 digit group), so reading this
// address did not finish. The pattern repeats only Chinese numerals now, and the patterns read
// at most the first 512 bytes of an address.
TEST(Occupation, ALongRunOfDigitsAfterAFloorIsReadLikeAnyOtherAddress) {
  const std::string office = "上海浦东新区张江高科技园区博云路1号浦软大厦10楼";
  EXPECT_EQ(occupation_of(office + std::string(90, '0')), "office");
  EXPECT_EQ(occupation_of(office + std::string(5000, '7')), "office");
  EXPECT_EQ(occupation_of("上海市 浦东新区 陆家嘴环路 1000号 金茂大厦 十二楼"), "office");
}

TEST(Occupation, EveryCueInTheWhyNamesItsRulesLine) {
  const auto r = read_address(default_rules(), "建华南路商通大厦8层");
  ASSERT_FALSE(r.occupation.why.empty());
  bool cited = false;
  for (const auto& w : r.occupation.why) cited |= w.find("address.yaml:") != std::string::npos;
  EXPECT_TRUE(cited) << r.occupation.why_text();
}

TEST(Occupation, StreetNamedAfterACollegeIsNotACollege) {
  const auto r = read_address(default_rules(), "北京市海淀区学院路 学知园小区 3号楼2单元501");
  EXPECT_NE(r.occupation.occupation, "student");
  EXPECT_NE(r.occupation.why_text().find("not counted"), std::string::npos) << r.occupation.why_text();
}

TEST(Occupation, SegmentsFollowTheOccupation) {
  EXPECT_EQ(segment_of("西安市西安交通大学南校区"), "student");
  EXPECT_EQ(segment_of("建华南路商通大厦8层"), "office_worker");
  EXPECT_EQ(segment_of("辽宁省 沈阳市 和平区 南京南街 77号 枫林小区 4栋 702"), "default");
  EXPECT_EQ(segment_of("香港九龍旺角彌敦道123號"), "foreign");
}

TEST(Occupation, TiesGoToThePreferOrder) {
  OccupationRules rules;
  rules.min_score = 1;
  rules.prefer = {"student", "office", "home"};
  rules.cues.push_back({"office", "A", false, 2, {"t.yaml", 1, 1}, nullptr});
  rules.cues.push_back({"student", "B", false, 2, {"t.yaml", 2, 1}, nullptr});
  EXPECT_EQ(guess_occupation(rules, "A B").occupation, "student");
  rules.prefer = {"office", "student", "home"};
  EXPECT_EQ(guess_occupation(rules, "A B").occupation, "office");
  EXPECT_EQ(guess_occupation(rules, "nothing").occupation, "");
}

// The shipped cues' words are looked for in one pass (OccupationRules::words); the word by word
// search is the reference. Addresses strung together from the cue words, their halves and
// digits overlap in every way (产业园区 holds 产业园 and 园区, 学生公寓 holds 公寓).
TEST(Occupation, OnePassWordSearchReadsEveryAddressAsTheWordByWordSearch) {
  const OccupationRules& shipped = default_rules().address.occupation;
  ASSERT_NE(shipped.words, nullptr);
  OccupationRules word_by_word = shipped;
  word_by_word.words = nullptr;
  std::vector<std::string> pieces = {"1",  "12", "305", " ", "号", "路",   "栋",
                                     "层", "室", "F",   "A", "座", "社区", "大学城"};
  for (const auto& cue : shipped.cues) {
    if (cue.is_pattern) continue;
    pieces.push_back(cue.text);
    // Its first and last characters alone, so that pieces join into longer and shorter words.
    std::size_t cut = 1;
    while (cut < cue.text.size() && (static_cast<unsigned char>(cue.text[cut]) & 0xC0) == 0x80) ++cut;
    pieces.push_back(cue.text.substr(0, cut));
    pieces.push_back(cue.text.substr(cut));
  }
  std::mt19937 rng(5);
  int with_occupation = 0;
  for (int i = 0; i < 4000; ++i) {
    std::string address = i % 2 ? "北京市海淀区" : "";
    const unsigned n = 1 + rng() % 7;
    for (unsigned k = 0; k < n; ++k) address += pieces[rng() % pieces.size()];
    const OccupationGuess fast = guess_occupation(shipped, address);
    const OccupationGuess slow = guess_occupation(word_by_word, address);
    ASSERT_TRUE(same_reading(fast, slow)) << address;
    with_occupation += !fast.occupation.empty();
  }
  EXPECT_GT(with_occupation, 1000);  // the addresses do reach decisions
}

TEST(Occupation, PatternsRejectChineseInsideBracketClasses) {
  std::string error;
  EXPECT_EQ(compile_cue_pattern("[东西]路", &error), nullptr);
  EXPECT_NE(error.find("(东|西)"), std::string::npos);
  EXPECT_NE(compile_cue_pattern("(东|西)路", &error), nullptr);
  EXPECT_EQ(compile_cue_pattern("(unclosed", &error), nullptr);
}

// What a pattern's matches must contain, read conservatively: literals and groups of literal
// alternatives that cannot be left out, \d as the digits; nothing for what it cannot read.
TEST(Occupation, RequiredLiteralsOfAPattern) {
  const std::vector<std::string> digits = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
  EXPECT_EQ(required_literals("大学城"), (RequiredLiterals{{"大学城"}}));
  EXPECT_EQ(required_literals("\\d+ *单元"), (RequiredLiterals{digits, {"单元"}}));
  EXPECT_EQ(required_literals("[0-9]{2,}x"), (RequiredLiterals{digits, {"x"}}));
  EXPECT_EQ(required_literals("(号|幢) *(\\d{1,2}|(一|二)+) *(楼|层)"), (RequiredLiterals{{"号", "幢"}, {"楼", "层"}}));
  EXPECT_EQ(required_literals("(大厦|园)?[^ ]{0,12}\\d* *(室|层)"), (RequiredLiterals{{"室", "层"}}));
  EXPECT_EQ(required_literals("(^|[^A-Za-z])[A-Za-z] *座"), (RequiredLiterals{{"座"}}));
  EXPECT_EQ(required_literals("社区(居委会)?(?=.{0,90}(路|街))"), (RequiredLiterals{{"社区"}}));
  EXPECT_EQ(required_literals("(?:ab|cd)e"), (RequiredLiterals{{"ab", "cd"}, {"e"}}));
  EXPECT_EQ(required_literals("((ab)c)"), (RequiredLiterals{{"abc"}}));
  EXPECT_EQ(required_literals("ab\\bc"), (RequiredLiterals{{"ab"}, {"c"}}));
  EXPECT_EQ(required_literals("a|bc"), (RequiredLiterals{{"a", "bc"}}));
  EXPECT_EQ(required_literals("x{2}\\.y{0,1}"), (RequiredLiterals{{"x"}, {"."}}));
  EXPECT_EQ(required_literals("\\d+ *(层|F|f)(\\b|[^a-z]|$)"), (RequiredLiterals{digits, {"层", "F", "f"}}));
  // Nothing required, or nothing this reader may assume.
  EXPECT_TRUE(required_literals("a|\\d").empty());
  EXPECT_TRUE(required_literals("(a|)b").size() == 1);  // only b
  EXPECT_TRUE(required_literals("楼?").empty());        // the ? takes the last byte of 楼 only
  EXPECT_TRUE(required_literals("楼*x").size() == 1);
  EXPECT_TRUE(required_literals("(?<=a)b").empty());
  EXPECT_TRUE(required_literals("(?i)ab").empty());
  EXPECT_TRUE(required_literals("\\u0041b").empty());
  EXPECT_TRUE(required_literals("\\1a").empty());
  EXPECT_TRUE(required_literals("a{,2}b").empty());
  EXPECT_TRUE(required_literals("(ab").empty());
  EXPECT_TRUE(required_literals("ab)").empty());
  EXPECT_TRUE(required_literals("[]a]b").empty());
  EXPECT_TRUE(required_literals("a**").empty());
  EXPECT_TRUE(required_literals(".*").empty());
}

// Every bundled address (the labelled sets, the generated orders' and addresses strung from the
// cues' pieces): read with the pattern filter as without it, and no pattern the filter skips
// matches the address.
TEST(Occupation, PatternFilterReadsEveryAddressAsWithoutIt) {
  const OccupationRules& shipped = default_rules().address.occupation;
  ASSERT_NE(shipped.filter, nullptr);
  OccupationRules unfiltered = shipped;
  unfiltered.filter = nullptr;
  std::vector<std::string> addresses;
  for (const char* set : {"data/eval/holdout.tsv", "data/eval/tune.tsv"}) {
    std::ifstream in(testing::source_path(set));
    ASSERT_TRUE(in) << set;
    for (std::string line; std::getline(in, line);) {
      const auto tab = line.find('\t');
      if (tab == std::string::npos) continue;
      addresses.push_back(line.substr(tab + 1, line.find('\t', tab + 1) - tab - 1));
    }
  }
  ASSERT_GT(addresses.size(), 2000u);
  for (const auto& o : testing::generated_orders(3000, testing::at("2026-11-23 21:00"))) addresses.push_back(o.address);
  const std::vector<std::string> pieces = {"1",     "12",   "305",  " ",    "号",   "路",     "栋",   "层",
                                           "室",    "F",    "A",    "座",   "社区", "大学城", "单元", "弄",
                                           "1-2-3", "大厦", "公寓", "学院", "８层", "Ｂ座",   "宿舍", "站",
                                           "中心",  "街",   "楼",   "幢",   "SOHO", "居委会"};
  std::mt19937 rng(11);
  for (int i = 0; i < 4000; ++i) {
    std::string address = i % 2 ? "上海市浦东新区" : "";
    const unsigned n = 1 + rng() % 8;
    for (unsigned k = 0; k < n; ++k) address += pieces[rng() % pieces.size()];
    addresses.push_back(address);
  }
  std::vector<std::pair<const CuePattern*, std::string>> patterns;
  for (const auto& m : shipped.masks) patterns.emplace_back(m.re.get(), m.pattern);
  for (const auto& c : shipped.cues) {
    if (c.is_pattern) patterns.emplace_back(c.re.get(), c.text);
  }
  ASSERT_GE(patterns.size(), 15u);
  int with_clauses = 0;
  for (const auto& [re, pattern] : patterns) with_clauses += !required_literals(pattern).empty();
  EXPECT_GE(with_clauses, 14);  // the filter does spare searches
  int decided = 0;
  for (const auto& address : addresses) {
    const OccupationGuess fast = guess_occupation(shipped, address);
    const OccupationGuess slow = guess_occupation(unfiltered, address);
    ASSERT_TRUE(same_reading(fast, slow)) << address;
    decided += !fast.occupation.empty();
    for (const auto& [re, pattern] : patterns) {
      if (!re) continue;
      const RequiredLiterals clauses = required_literals(pattern);
      const bool may = std::all_of(clauses.begin(), clauses.end(), [&](const std::vector<std::string>& any) {
        return std::any_of(any.begin(), any.end(), [&](const std::string& w) { return contains(address, w); });
      });
      if (!may) {
        EXPECT_FALSE(re->search(address)) << pattern << " on " << address;
      }
    }
  }
  EXPECT_GT(decided, 1000);
}

// The filter is in use: patterns counted as they are searched, an address without their words
// searches none of them.
TEST(Occupation, PatternFilterSparesTheSearches) {
  struct Counting final : CuePattern {
    std::shared_ptr<const CuePattern> inner;
    mutable int searches = 0;
    std::optional<std::pair<std::size_t, std::size_t>> search(std::string_view text) const override {
      ++searches;
      return inner->search(text);
    }
  };
  OccupationRules rules = default_rules().address.occupation;
  std::vector<std::shared_ptr<Counting>> counters;
  const auto count = [&](std::shared_ptr<const CuePattern>& re) {
    if (!re) return;
    auto c = std::make_shared<Counting>();
    c->inner = re;
    counters.push_back(c);
    re = c;
  };
  for (auto& m : rules.masks) count(m.re);
  for (auto& c : rules.cues) count(c.re);
  sort_cues_for_search(rules);
  const auto searches = [&] {
    int n = 0;
    for (const auto& c : counters) n += std::exchange(c->searches, 0);
    return n;
  };
  EXPECT_EQ(guess_occupation(rules, "Paris").occupation, "");
  EXPECT_EQ(searches(), 0);
  EXPECT_EQ(guess_occupation(rules, "北京市朝阳区建国路88号SOHO现代城A座1502室").occupation, "office");
  const int some = searches();
  EXPECT_GT(some, 0);
  EXPECT_LT(some, static_cast<int>(counters.size()));
  rules.filter = nullptr;
  EXPECT_EQ(guess_occupation(rules, "Paris").occupation, "");
  EXPECT_EQ(searches(), static_cast<int>(counters.size()));
}

}  // namespace
}  // namespace cuifu
