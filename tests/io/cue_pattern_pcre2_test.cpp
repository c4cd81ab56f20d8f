// The rules' cue and mask patterns searched with PCRE2 (what the planner uses) find exactly
// what the std::regex reference finds, and a pattern that would backtrack exponentially gives
// up with no match instead of stalling the planner.
#include "io/cue_pattern_pcre2.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "../core/test_rules.h"

namespace cuifu {
namespace {

std::shared_ptr<const CuePattern> pcre2(const std::string& pattern) {
  std::string error;
  auto p = compile_pcre2_pattern(pattern, &error);
  EXPECT_NE(p, nullptr) << pattern << ": " << error;
  return p;
}

std::shared_ptr<const CuePattern> reference(const std::string& pattern) {
  std::string error;
  auto p = compile_cue_pattern(pattern, &error);
  EXPECT_NE(p, nullptr) << pattern << ": " << error;
  return p;
}

// Addresses of every kind the shipped patterns look at, and edge cases of ECMAScript's
// meaning: a newline before the end ($), CR and LF (.), Latin letters next to digits (\b).
const std::vector<std::string> kAddresses = {
    "建华南路商通大厦8层",
    "宜山路2000号利丰广场1号楼5层",
    "鄞州区南部商务区红巨大厦28层",
    "上海市嘉定区安亭镇新源路58号世昶广场1001室",
    "北京市朝阳区望京街10号望京SOHO塔2",
    "江苏省苏州市工业园区星湖街328号创意产业园B座12楼",
    "北京市朝阳区建国路88号 SOHO现代城 15F",
    "北京市朝阳区建国路88号 SOHO现代城 15f室",
    "北京市朝阳区建国路88号 SOHO现代城 15fa",
    "衡水市衡水职业技术学院18栋629室",
    "湖北省武汉市洪山区珞喻路1037号华中科技大学紫菘学生公寓",
    "北京市海淀区学院路37号北京航空航天大学 学生宿舍 6号楼",
    "四川省成都市郫都区红光大道9999号西南财经大学柳林校区 格致苑12栋305",
    "辽宁省 沈阳市 和平区 南京南街 77号 枫林小区 4栋 702",
    "北京市海淀区学院路 学知园小区 3号楼2单元501",
    "重庆市沙坪坝区大学城 熙街 融创城 5栋 2单元 1801",
    "上海市闵行区 莘庄镇 春申路 公寓 小区 3号 1201室",
    "广东省广州市天河区 员村 二横路 5号 301",
    "朝阳社区居委会 幸福路12号",
    "科技园站旁 软件园地铁站 3-2-501",
    "中关村大街 8号楼 十二层",
    "大厦 8层\n",
    "大厦 8层\r\n",
    "A座1203",
    "xA座1203",
    "幸福里5弄12号",
    "18栋629",
    "18栋629\n",
    "塔B 1502室",
    "12345678901234567890层",
    "",
};

TEST(CuePatternPcre2, FindsWhatStdRegexFindsForTheShippedPatterns) {
  const auto& occ = testing::default_rules().address.occupation;
  std::vector<std::string> patterns;
  for (const auto& m : occ.masks) patterns.push_back(m.pattern);
  for (const auto& c : occ.cues) {
    if (c.is_pattern) patterns.push_back(c.text);
  }
  ASSERT_GE(patterns.size(), 15u);
  int matches = 0;
  for (const auto& pattern : patterns) {
    const auto fast = pcre2(pattern);
    const auto slow = reference(pattern);
    ASSERT_TRUE(fast && slow);
    for (const auto& address : kAddresses) {
      // Every suffix that starts on a character, as the mask loop searches on from each cut.
      for (std::size_t from = 0; from <= address.size(); ++from) {
        if (from < address.size() && (static_cast<unsigned char>(address[from]) & 0xC0) == 0x80) continue;
        const std::string_view text = std::string_view(address).substr(from);
        const auto want = slow->search(text);
        EXPECT_EQ(fast->search(text), want) << pattern << " on '" << text << "'";
        matches += want.has_value();
      }
    }
  }
  EXPECT_GT(matches, 100);  // the addresses do exercise the patterns
}

TEST(CuePatternPcre2, KeepsEcmaScriptEndAndDot) {
  // PCRE2's own defaults would match both: $ before a final newline, . on a CR.
  EXPECT_EQ(pcre2("层$")->search("8层\n"), std::nullopt);
  EXPECT_EQ(pcre2("层$")->search("8层"), std::make_pair(std::size_t{1}, std::size_t{4}));
  EXPECT_EQ(pcre2("a.b")->search("a\rb"), std::nullopt);
  EXPECT_EQ(pcre2("a.b")->search("a\nb"), std::nullopt);
  // One byte per `.` and `[^ ]`, as the rules' documentation says.
  EXPECT_EQ(pcre2("园[^ ]{0,2}8")->search("园区8"), std::nullopt);
  EXPECT_EQ(pcre2("园[^ ]{0,3}8")->search("园区8"), std::make_pair(std::size_t{0}, std::size_t{7}));
  // Leftmost, then the first alternative that matches.
  EXPECT_EQ(pcre2("(大|大厦)")->search("x大厦"), std::make_pair(std::size_t{1}, std::size_t{4}));
}

TEST(CuePatternPcre2, AnExponentialPatternGivesUpWithNoMatch) {
  // (a|aa)+c$ against many a's, a c and one more letter: every split of the a's is tried
  // (Fibonacci many) before failing; the match limit stops it with no match.
  const auto p = pcre2("(a|aa)+c$");
  EXPECT_EQ(p->search(std::string(90, 'a') + "cd"), std::nullopt);
  EXPECT_EQ(p->search("aaac"), std::make_pair(std::size_t{0}, std::size_t{4}));
}

TEST(CuePatternPcre2, RefusesWhatPcre2CannotCompile) {
  std::string error;
  EXPECT_EQ(compile_pcre2_pattern("(unclosed", &error), nullptr);
  EXPECT_NE(error.find("not a valid pattern"), std::string::npos) << error;
}

}  // namespace
}  // namespace cuifu
