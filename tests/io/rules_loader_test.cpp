// Loading rules/ and templates/: the shipped defaults load, and every kind of mistake a rule
// author makes is reported with file:line:column and the key, before anything is sent.
#include "io/rules_loader.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <optional>

#include "../core/test_rules.h"

namespace cuifu {
namespace {

using testing::ScratchDir;

// Loads the (broken) copy and returns the LoadError text; fails the test if it loads.
std::string load_error(const ScratchDir& dir) {
  try {
    load_rule_set(dir.str("rules"), dir.str("templates"));
  } catch (const LoadError& e) {
    return e.what();
  }
  ADD_FAILURE() << "the rule set loaded although it is broken";
  return {};
}

class RulesLoader : public ::testing::Test {
 protected:
  void SetUp() override { dir_.copy_default_rule_set(); }
  // "<dir>/rules/channels.yaml:17:5" for the first occurrence of needle.
  std::string at(std::string_view file, std::string_view needle) const {
    return dir_.str(file) + ":" + dir_.position_of(file, needle);
  }
  std::string line_of(std::string_view file, std::string_view needle) const {
    return dir_.str(file) + ":" + std::to_string(dir_.line_of(file, needle)) + ":";
  }
  ScratchDir dir_{"rules"};
};

TEST(RulesLoaderDefaults, ShippedRulesEncodeTheTrainingMaterial) {
  const RuleSet set = load_rule_set(testing::source_path("rules"), testing::source_path("templates"));
  const Rules& r = set.rules;
  ASSERT_EQ(r.quiet_hours.size(), 1u);
  EXPECT_EQ(r.quiet_hours[0].str(), "22:00-08:00");
  EXPECT_EQ(r.auto_close, Minutes{72 * 60});
  EXPECT_EQ(r.caps.max_per_order, 3);
  EXPECT_EQ(r.caps.max_per_buyer_per_day, 2);
  EXPECT_EQ(r.caps.min_gap, Minutes{120});
  EXPECT_TRUE(r.caps.no_repeat_channel);
  EXPECT_EQ(r.caps.skip_if_paid_within, Minutes{60});
  EXPECT_EQ(r.channels.size(), 4u);
  ASSERT_NE(r.channel(Channel::sms), nullptr);
  EXPECT_EQ(r.channel(Channel::sms)->cost_milli, 45);
  EXPECT_EQ(r.channel(Channel::sms)->sms_signature, "青禾家居");
  EXPECT_EQ(r.channel(Channel::sms)->sms_opt_out, "回T退订");
  ASSERT_NE(r.channel(Channel::phone), nullptr);
  ASSERT_EQ(r.channel(Channel::phone)->windows.size(), 1u);
  EXPECT_EQ(r.channel(Channel::phone)->windows[0].str(), "09:30-18:00");
  ASSERT_NE(r.segment("big_ticket"), nullptr);
  EXPECT_EQ(r.segment("big_ticket")->when.min_amount, Money{100000});
  ASSERT_NE(r.segment("student"), nullptr);
  EXPECT_EQ(r.segment("student")->name_suffix, "同学");
  EXPECT_EQ(r.segments.back().name, "default");
  EXPECT_EQ(r.reasons.size(), 10u);
  EXPECT_EQ(r.stops.size(), 3u);
  EXPECT_EQ(r.chat.recently_answered, Minutes{30});
  EXPECT_TRUE(validate(r).empty());
  EXPECT_TRUE(check_rule_templates(r, set.templates).empty());
  // Every step and its fallback has its template, and the step knows its file and line.
  for (const auto& seg : r.segments) {
    for (const auto& step : seg.steps) {
      EXPECT_NE(step.source.str().find("segments.yaml:"), std::string::npos) << step.source.str();
    }
  }
}

TEST(RulesLoaderDefaults, ParsesDurationsAndWindows) {
  EXPECT_EQ(parse_duration("30m"), Minutes{30});
  EXPECT_EQ(parse_duration("4h"), Minutes{240});
  EXPECT_EQ(parse_duration("1h30m"), Minutes{90});
  EXPECT_EQ(parse_duration("2d"), Minutes{2880});
  EXPECT_EQ(parse_duration("90"), Minutes{90});
  for (const char* bad : {"", "h", "2 hours", "1h30", "-5m", "1.5h", "2w"}) {
    EXPECT_FALSE(parse_duration(bad).has_value()) << bad;
  }
  EXPECT_EQ(parse_daily_window("12:00-13:30")->str(), "12:00-13:30");
  EXPECT_EQ(parse_daily_window("22:00-08:00")->str(), "22:00-08:00");
  EXPECT_TRUE(parse_daily_window("22:00-08:00")->contains(23 * 60));
  EXPECT_FALSE(parse_daily_window("22:00-08:00")->contains(12 * 60));
  for (const char* bad : {"25:00-26:00", "12:60-13:00", "12:00", "noon-13:00", "1200-1330"}) {
    EXPECT_FALSE(parse_daily_window(bad).has_value()) << bad;
  }
}

TEST_F(RulesLoader, NamesFileLineColumnAndKeyOfAnUnknownKey) {
  dir_.replace("rules/channels.yaml", "    windows: [\"08:00-21:00\"]", "    windos: [\"08:00-21:00\"]");
  const std::string e = load_error(dir_);
  EXPECT_NE(e.find(at("rules/channels.yaml", "windos")), std::string::npos) << e;
  EXPECT_NE(e.find("unknown key 'windos'"), std::string::npos) << e;
  EXPECT_NE(e.find("channels.email"), std::string::npos) << e;
}

TEST_F(RulesLoader, ChatReasonAndStopMistakesAreLocated) {
  dir_.replace("rules/policy.yaml", "  recently_answered: 30m ", "  recently_answerd: 30m ");
  dir_.replace("rules/policy.yaml", "  look_back: 3d ", "  look_back: three days ");
  dir_.replace("rules/policy.yaml", "    covers: all_orders", "    covers: everything");
  dir_.replace("rules/policy.yaml", "keywords: [忘了, 忘记, 忘付]", "keywords: [忘了, \"\", 忘付]");
  dir_.replace("rules/policy.yaml", "  - name: forgot\n", "  - name: forgot\n    unless: [x]\n");
  const std::string e = load_error(dir_);
  EXPECT_NE(e.find(at("rules/policy.yaml", "recently_answerd") + ": unknown key 'recently_answerd' in chat"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find(at("rules/policy.yaml", "three days") + ": 'look_back' must be a duration"), std::string::npos) << e;
  EXPECT_NE(e.find(at("rules/policy.yaml", "everything") +
                   ": stop complaint: covers is 'everything'; must be earlier_orders or all_orders"),
            std::string::npos)
      << e;
  EXPECT_NE(
      e.find(at("rules/policy.yaml", "\"\", 忘付") + ": reason forgot: an empty keyword would match every message"),
      std::string::npos)
      << e;
  EXPECT_NE(e.find(at("rules/policy.yaml", "unless") + ": unknown key 'unless' in reason"), std::string::npos) << e;
}

TEST(RulesLoaderDefaults, ReadsTheCallDesksSectionWithItsSource) {
  const Rules r = load_rules(testing::source_path("rules"));
  EXPECT_EQ(r.calls.will_pay_grace, Minutes{24 * 60});
  EXPECT_EQ(r.calls.per_hour, 6);
  EXPECT_EQ(r.calls.will_pay_grace_source.file, testing::source_path("rules") + "/policy.yaml");
  EXPECT_GT(r.calls.will_pay_grace_source.line, 0);
}

TEST_F(RulesLoader, CallDeskMistakesAreLocated) {
  dir_.replace("rules/policy.yaml", "  will_pay_grace: 24h ", "  will_pay_grace: a day ");
  dir_.replace("rules/policy.yaml", "  per_hour: 6 ", "  per_hour: 600 ");
  const std::string e = load_error(dir_);
  EXPECT_NE(e.find(at("rules/policy.yaml", "a day") + ": 'will_pay_grace' must be a duration"), std::string::npos) << e;
  EXPECT_NE(e.find(at("rules/policy.yaml", "600") + ": calls.per_hour is 600; must be 1..60 calls an hour"),
            std::string::npos)
      << e;
}

TEST_F(RulesLoader, RejectsAReasonDefinedTwice) {
  dir_.replace("rules/policy.yaml", "  - name: forgot\n", "  - name: price\n");
  const std::string e = load_error(dir_);
  EXPECT_NE(e.find("reason 'price' is already defined at " + dir_.str("rules/policy.yaml") + ":"), std::string::npos)
      << e;
}

TEST_F(RulesLoader, RejectsAWindowOutsideTheDay) {
  dir_.replace("rules/channels.yaml", "[\"12:00-13:30\", \"17:00-22:00\"]", "[\"12:00-13:30\", \"25:00-26:00\"]");
  const std::string e = load_error(dir_);
  EXPECT_NE(e.find(at("rules/channels.yaml", "\"25:00-26:00\"")), std::string::npos) << e;
  EXPECT_NE(e.find("25:00-26:00"), std::string::npos) << e;
  EXPECT_NE(e.find("windows"), std::string::npos) << e;
}

TEST_F(RulesLoader, RejectsABadDuration) {
  dir_.replace("rules/policy.yaml", "min_gap: 2h ", "min_gap: 2 hours ");
  const std::string e = load_error(dir_);
  EXPECT_NE(e.find(at("rules/policy.yaml", "2 hours")), std::string::npos) << e;
  EXPECT_NE(e.find("'min_gap'"), std::string::npos) << e;
}

// A scalar where a map belongs used to escape as yaml-cpp's BadSubscript (found by fuzz/rules).
TEST_F(RulesLoader, AScalarWhereAMapBelongsIsALocatedError) {
  dir_.write("rules/extra.yaml", "caps: 5\nreasons:\n  - just a word\n");
  const std::string e = load_error(dir_);
  EXPECT_NE(e.find(dir_.str("rules/extra.yaml") + ":1:7: caps must be a map"), std::string::npos) << e;
  EXPECT_NE(e.find(dir_.str("rules/extra.yaml") + ":3:5: each reason must be a map"), std::string::npos) << e;
}

// A problem of the whole set used to be reported as "<rules>: ..." (found by fuzz/rules).
TEST_F(RulesLoader, AProblemOfTheWholeSetNamesTheDirectory) {
  std::filesystem::remove(dir_.str("rules/segments.yaml"));
  const std::string e = load_error(dir_);
  EXPECT_NE(e.find(dir_.str("rules") + ": no segments defined"), std::string::npos) << e;
}

// Found by fuzz/templates: a template map without a body escaped as yaml-cpp's InvalidNode.
TEST_F(RulesLoader, AnEmailTemplateWithoutABodyIsALocatedError) {
  dir_.write("templates/email.yaml", "foreign:\n  subject: \"{shop}: your order\"\n");
  const std::string e = load_error(dir_);
  EXPECT_NE(e.find(dir_.str("templates/email.yaml") + ":2:3: email template 'foreign' needs a text body"),
            std::string::npos)
      << e;
}

TEST_F(RulesLoader, RejectsAnUnknownChannelInAStep) {
  dir_.replace("rules/segments.yaml", "{after: 2h, channel: im, template: light}",
               "{after: 2h, channel: wechat, template: light}");
  const std::string e = load_error(dir_);
  EXPECT_NE(e.find(at("rules/segments.yaml", "wechat")), std::string::npos) << e;
  EXPECT_NE(e.find("'channel' is 'wechat'"), std::string::npos) << e;
}

TEST_F(RulesLoader, RejectsAnUnknownChannelUnderChannels) {
  dir_.replace("rules/channels.yaml", "  email:", "  fax:");
  const std::string e = load_error(dir_);
  EXPECT_NE(e.find(at("rules/channels.yaml", "fax")), std::string::npos) << e;
  EXPECT_NE(e.find("unknown channel 'fax'"), std::string::npos) << e;
}

TEST_F(RulesLoader, RejectsAStepWhoseTemplateDoesNotExistNamingTheRulesLine) {
  dir_.replace("rules/segments.yaml", "windows: [\"18:00-22:00\"], template: student}",
               "windows: [\"18:00-22:00\"], template: studnet}");
  const std::string e = load_error(dir_);
  EXPECT_NE(e.find(line_of("rules/segments.yaml", "studnet")), std::string::npos) << e;
  EXPECT_NE(e.find("'studnet'"), std::string::npos) << e;
  EXPECT_NE(e.find("sms"), std::string::npos) << e;
}

TEST_F(RulesLoader, ReportsAYamlSyntaxErrorWithItsPosition) {
  dir_.replace("rules/policy.yaml", "caps:\n", "caps: [unclosed\n");
  const std::string e = load_error(dir_);
  EXPECT_NE(e.find(dir_.str("rules/policy.yaml") + ":"), std::string::npos) << e;
  EXPECT_NE(e.find("YAML syntax error"), std::string::npos) << e;
  // file:line:column, the line at or after the bad one.
  const int bad_line = dir_.line_of("rules/policy.yaml", "[unclosed");
  const auto p = e.find(dir_.str("rules/policy.yaml") + ":");
  ASSERT_NE(p, std::string::npos);
  const std::string rest = e.substr(p + dir_.str("rules/policy.yaml").size() + 1);
  const int line = std::stoi(rest);
  EXPECT_GE(line, bad_line) << e;
  EXPECT_LE(line, bad_line + 3) << e;
  EXPECT_NE(rest.find(':'), std::string::npos);
  EXPECT_GT(std::stoi(rest.substr(rest.find(':') + 1)), 0) << "a column follows the line: " << e;
}

TEST_F(RulesLoader, RejectsASectionDefinedInTwoFiles) {
  dir_.write("rules/zz_more.yaml", "# a second caps section\ncaps:\n  min_gap: 1h\n");
  const std::string e = load_error(dir_);
  EXPECT_NE(e.find(dir_.str("rules/zz_more.yaml") + ":2:1"), std::string::npos) << e;
  EXPECT_NE(e.find("'caps' is already defined at " + at("rules/policy.yaml", "caps:")), std::string::npos) << e;
}

TEST_F(RulesLoader, RejectsRulesWhoseLastSegmentIsNotACatchAll) {
  dir_.replace("rules/segments.yaml", "  - name: default\n", "  - name: default\n    when: {min_amount: 1}\n");
  const std::string e = load_error(dir_);
  EXPECT_NE(e.find(line_of("rules/segments.yaml", "name: default")), std::string::npos) << e;
  EXPECT_NE(e.find("'default'"), std::string::npos) << e;
  EXPECT_NE(e.find("catch-all"), std::string::npos) << e;
}

TEST_F(RulesLoader, RejectsATemplateNamingAnUnknownFieldWithItsFileAndLine) {
  dir_.write("templates/im.yaml", dir_.read("templates/im.yaml") + "typo: \"{salutation}您好，{itme}还未付款。\"\n");
  const std::string e = load_error(dir_);
  EXPECT_NE(e.find(line_of("templates/im.yaml", "typo:")), std::string::npos) << e;
  EXPECT_NE(e.find("itme"), std::string::npos) << e;
  EXPECT_NE(e.find("'typo'"), std::string::npos) << e;
}

TEST_F(RulesLoader, RejectsAnSmsTemplateTooLongForOneSegment) {
  dir_.write(
      "templates/sms.yaml",
      dir_.read("templates/sms.yaml") +
          "long: \"{salutation}您好，您在{shop}拍下的{item}共{order_count}笔{amount}元还未付款，订单号{order_ids}，"
          "请在{pay_by}前付款。\"\n");
  const std::string e = load_error(dir_);
  EXPECT_NE(e.find(line_of("templates/sms.yaml", "long:")), std::string::npos) << e;
  EXPECT_NE(e.find("'long'"), std::string::npos) << e;
  EXPECT_NE(e.find("characters"), std::string::npos) << e;
}

TEST_F(RulesLoader, RejectsAnSmsThatPutsTheNameTooLate) {
  dir_.write("templates/sms.yaml", dir_.read("templates/sms.yaml") +
                                       "late: \"尊敬的顾客朋友您好，{salutation}，您拍下的{item}还未付款。\"\n");
  const std::string e = load_error(dir_);
  EXPECT_NE(e.find(line_of("templates/sms.yaml", "late:")), std::string::npos) << e;
  EXPECT_NE(e.find("first 7"), std::string::npos) << e;
}

TEST_F(RulesLoader, RejectsATemplateFileNotNamedAfterAChannel) {
  dir_.write("templates/wechat.yaml", "default: \"{salutation}您好\"\n");
  const std::string e = load_error(dir_);
  EXPECT_NE(e.find("wechat.yaml"), std::string::npos) << e;
}

TEST_F(RulesLoader, ReportsEveryMistakeOfARunTogether) {
  dir_.replace("rules/channels.yaml", "    windows: [\"08:00-21:00\"]", "    windos: [\"08:00-21:00\"]");
  dir_.replace("rules/policy.yaml", "min_gap: 2h ", "min_gap: soon ");
  const std::string e = load_error(dir_);
  EXPECT_NE(e.find("windos"), std::string::npos) << e;
  EXPECT_NE(e.find("min_gap"), std::string::npos) << e;
  for (std::size_t start = 0; start < e.size();) {
    const auto end = e.find('\n', start);
    const std::string line = e.substr(start, end == std::string::npos ? std::string::npos : end - start);
    EXPECT_EQ(line.rfind(dir_.str("rules/"), 0), 0u) << "every error line starts with its file: " << line;
    if (end == std::string::npos) break;
    start = end + 1;
  }
}

TEST_F(RulesLoader, RejectsABadOccupationPatternAtItsPosition) {
  dir_.replace("rules/address.yaml", "pattern: '\\d{3,5} *室'", "pattern: '[一二三]室'");
  const std::string e = load_error(dir_);
  EXPECT_NE(e.find(at("rules/address.yaml", "'[一二三]室'")), std::string::npos) << e;
  EXPECT_NE(e.find("(东|西)"), std::string::npos) << e;
}

TEST_F(RulesLoader, RejectsAnUnknownOccupationInASegment) {
  dir_.replace("rules/segments.yaml", "occupation: student", "occupation: teacher");
  const std::string e = load_error(dir_);
  EXPECT_NE(e.find(at("rules/segments.yaml", "teacher")), std::string::npos) << e;
}

TEST_F(RulesLoader, RejectsACueWithoutAWeight) {
  dir_.replace("rules/address.yaml", "{weight: 3, words: [写字楼,", "{words: [写字楼,");
  const std::string e = load_error(dir_);
  EXPECT_NE(e.find(line_of("rules/address.yaml", "{words: [写字楼,")), std::string::npos) << e;
  EXPECT_NE(e.find("weight"), std::string::npos) << e;
}

// Points installed_data_dir() at a scratch directory for one test (the machine running the
// tests may have cuifu installed).
class DataDirGuard {
 public:
  explicit DataDirGuard(const std::string& dir) {
    if (const char* v = std::getenv("CUIFU_DATA")) old_ = v;
    ::setenv("CUIFU_DATA", dir.c_str(), 1);
  }
  ~DataDirGuard() {
    if (old_) {
      ::setenv("CUIFU_DATA", old_->c_str(), 1);
    } else {
      ::unsetenv("CUIFU_DATA");
    }
  }
  DataDirGuard(const DataDirGuard&) = delete;
  DataDirGuard& operator=(const DataDirGuard&) = delete;

 private:
  std::optional<std::string> old_;
};

TEST_F(RulesLoader, ACopiedRulesDirectoryReadsTheInstalledGazetteer) {
  // /etc/cuifu/rules copied from the installed share/cuifu/rules: no ../data beside it.
  std::filesystem::create_directories(dir_.str("etc"));
  std::filesystem::copy(dir_.str("rules"), dir_.str("etc/rules"), std::filesystem::copy_options::recursive);
  std::filesystem::create_directories(dir_.str("share/data"));
  std::filesystem::rename(dir_.str("data/gazetteer.tsv"), dir_.str("share/data/gazetteer.tsv"));
  const DataDirGuard installed(dir_.str("share/data"));
  const Rules rules = load_rules(dir_.str("etc/rules"));
  ASSERT_NE(rules.address.gazetteer, nullptr);
  const ParsedAddress p = parse_address(*rules.address.gazetteer, "驻马店市黄淮学院");
  EXPECT_FALSE(p.overseas);
  EXPECT_EQ(p.city, "驻马店市");
}

TEST_F(RulesLoader, RejectsAMissingOrBrokenGazetteer) {
  const DataDirGuard installed(dir_.str("share/data"));
  std::filesystem::remove(dir_.str("data/gazetteer.tsv"));
  std::string e = load_error(dir_);
  EXPECT_NE(e.find(at("rules/address.yaml", "../data/gazetteer.tsv")), std::string::npos) << e;
  // The error says where it looked: next to the rules, then the installed data directory.
  EXPECT_NE(e.find(dir_.str("data/gazetteer.tsv")), std::string::npos) << e;
  EXPECT_NE(e.find(dir_.str("share/data/gazetteer.tsv")), std::string::npos) << e;
  dir_.write("data/gazetteer.tsv", "province\t11\t北京市\t北京\t\ncity\t1101\t北京市\t\n");
  e = load_error(dir_);
  EXPECT_NE(e.find("gazetteer.tsv:2: expected 5 tab-separated fields"), std::string::npos) << e;
}

TEST_F(RulesLoader, RejectsAMissingDirectory) {
  EXPECT_THROW(load_rules(dir_.str("nope")), LoadError);
  EXPECT_THROW(load_templates(dir_.str("nope"), testing::default_rules()), LoadError);
}

// ---------------------------------------------------------------- nonsense and the lint gate

TEST_F(RulesLoader, RefusesANegativeCostWithItsLine) {
  dir_.replace("rules/channels.yaml", "cost: 0.045", "cost: -0.045");
  const std::string e = load_error(dir_);
  EXPECT_NE(e.find(line_of("rules/channels.yaml", "  sms:")), std::string::npos) << e;
  EXPECT_NE(e.find("negative"), std::string::npos) << e;
}

TEST_F(RulesLoader, RefusesQuietHoursCoveringTheWholeDay) {
  dir_.replace("rules/policy.yaml", "quiet_hours: [\"22:00-08:00\"]",
               "quiet_hours: [\"20:00-12:00\", \"11:00-21:00\"]");
  const std::string e = load_error(dir_);
  EXPECT_NE(e.find(line_of("rules/policy.yaml", "quiet_hours:")), std::string::npos) << e;
  EXPECT_NE(e.find("whole day"), std::string::npos) << e;
}

TEST_F(RulesLoader, RefusesAStepWindowWhollyInsideQuietHours) {
  dir_.replace("rules/segments.yaml", "windows: [\"18:00-22:00\"], template: student}",
               "windows: [\"22:30-23:30\"], template: student}");
  const std::string e = load_error(dir_);
  EXPECT_NE(e.find(line_of("rules/segments.yaml", "22:30-23:30")), std::string::npos) << e;
  EXPECT_NE(e.find("wholly inside quiet hours"), std::string::npos) << e;
}

TEST_F(RulesLoader, RefusesRulesWithoutSegmentsNamingWhere) {
  dir_.write("rules/segments.yaml", "# nothing here yet\nsegments: []\n");
  const std::string e = load_error(dir_);
  EXPECT_NE(e.find(dir_.str("rules/segments.yaml") + ":2:"), std::string::npos) << e;
  EXPECT_NE(e.find("no segments"), std::string::npos) << e;
}

TEST_F(RulesLoader, ATemplateFailingTheLintIsRefusedUnlessTheRulesAllowIt) {
  dir_.replace("templates/im.yaml", "light: \"{salutation}您好，这里是{shop}。",
               "light: \"{salutation}您好，这里是{shop}。这不是我们的问题，可能您忘了吧？亲亲！！");
  std::string e = load_error(dir_);
  EXPECT_NE(e.find(line_of("templates/im.yaml", "light:")), std::string::npos) << e;
  for (const char* kind : {"[curt", "[vague", "[qin", "[exclamation", "[question"})
    EXPECT_NE(e.find(kind), std::string::npos) << e;
  // Allowed globally: everything but what is not allowed loads.
  dir_.replace("rules/policy.yaml", "  allow: []", "  allow: [curt, vague, qin, exclamation, question]");
  EXPECT_NO_THROW(load_rule_set(dir_.str("rules"), dir_.str("templates")));
}

TEST_F(RulesLoader, ATemplateMayAllowAFindingForItselfOnly) {
  dir_.replace(
      "templates/im.yaml",
      "light: \"{salutation}您好，这里是{shop}。您拍下的「{item}」还未付款，订单保留到{pay_by}，需要的话付款即可。\"",
      "light:\n  body: \"{salutation}您好，{item}还要吗？\"\n  lint: {allow: [question]}");
  EXPECT_NO_THROW(load_rule_set(dir_.str("rules"), dir_.str("templates")));
  dir_.replace("templates/im.yaml", "lint: {allow: [question]}", "lint: {allow: [questoin]}");
  const std::string e = load_error(dir_);
  EXPECT_NE(e.find("questoin"), std::string::npos) << e;
}

TEST_F(RulesLoader, AnUnbackedClaimIsRefusedWithItsLine) {
  dir_.replace("templates/sms.yaml", "big_ticket: \"{salutation}您好，", "big_ticket: \"{salutation}您好，包邮，");
  const std::string e = load_error(dir_);
  EXPECT_NE(e.find(line_of("templates/sms.yaml", "big_ticket:")), std::string::npos) << e;
  EXPECT_NE(e.find("'包邮'"), std::string::npos) << e;
  EXPECT_NE(e.find("{#shipping}"), std::string::npos) << e;
}

TEST_F(RulesLoader, ASegmentKeepsOneRegister) {
  // Today's defaults: students got 你 in the SMS and 您 in the last IM.
  dir_.replace("rules/segments.yaml", "template: student_last_call}", "template: last_call}");
  const std::string e = load_error(dir_);
  EXPECT_NE(e.find("'last_call' says 您 but segment student"), std::string::npos) << e;
  EXPECT_NE(e.find(line_of("templates/im.yaml", "last_call: \"{salutation}您好")), std::string::npos) << e;
}

TEST_F(RulesLoader, ReadsFactsItemsAndNames) {
  dir_.replace("rules/policy.yaml", "  # promotion_ends: \"2026-11-30 23:59\"",
               "  promotion_ends: \"2026-11-30 23:59\"");
  dir_.replace("rules/policy.yaml", "    female: []", "    female: [欧阳娜娜]");
  const RuleSet set = load_rule_set(dir_.str("rules"), dir_.str("templates"));
  ASSERT_TRUE(set.rules.facts.promotion_ends.has_value());
  EXPECT_EQ(format_local_hm(*set.rules.facts.promotion_ends), "2026-11-30 23:59");
  EXPECT_EQ(set.rules.names.gender.at("欧阳娜娜"), Gender::female);
  ASSERT_FALSE(set.rules.item_categories.empty());
  EXPECT_EQ(set.rules.item_categories.front().delivery, "送货上门并安装");
  ASSERT_FALSE(set.rules.item_short_names.empty());
  dir_.replace("rules/policy.yaml", "promotion_ends: \"2026-11-30 23:59\"", "promotion_ends: \"end of November\"");
  const std::string e = load_error(dir_);
  EXPECT_NE(e.find(line_of("rules/policy.yaml", "end of November")), std::string::npos) << e;
}

}  // namespace
}  // namespace cuifu

namespace cuifu {
namespace {

TEST(RulesLoaderDefaults, ShopsSectionGivesEachShopItsSignatureNameAndCaps) {
  const Rules& r = load_rule_set(testing::source_path("rules"), testing::source_path("templates")).rules;
  ASSERT_EQ(r.shops.count("木森家具专营店"), 1u);
  const ShopSettings other = r.for_shop("木森家具专营店");
  EXPECT_EQ(other.sms_signature, "木森家具");
  EXPECT_EQ(other.display_name, "木森家具专营店");
  ASSERT_NE(other.caps, nullptr);
  EXPECT_EQ(other.caps->max_per_buyer_per_day, 1);
  EXPECT_EQ(other.caps->max_per_order, r.caps.max_per_order);  // inherited key by key
  EXPECT_EQ(other.caps->min_gap, r.caps.min_gap);
  const ShopSettings main = r.for_shop("青禾家居旗舰店");
  EXPECT_EQ(main.sms_signature, "青禾家居");
  EXPECT_EQ(main.caps->max_per_buyer_per_day, 2);
  EXPECT_EQ(r.for_shop("").display_name, "青禾家居旗舰店");
  EXPECT_EQ(r.for_shop("别家小店").sms_signature, "");  // never borrows the main shop's signature
  EXPECT_EQ(r.caps.repeat_channel_lookback, Minutes{240});
}

TEST_F(RulesLoader, ReportsAMistakeInAShopWithFileLineAndKey) {
  dir_.replace("rules/shops.yaml", "    sms_signature: 木森家具", "    sms_signatur: 木森家具");
  std::string e = load_error(dir_);
  EXPECT_NE(e.find(at("rules/shops.yaml", "sms_signatur: 木森家具")), std::string::npos) << e;
  EXPECT_NE(e.find("unknown key 'sms_signatur'"), std::string::npos) << e;
  EXPECT_NE(e.find("shops.木森家具专营店"), std::string::npos) << e;

  dir_.replace("rules/shops.yaml", "    sms_signatur: 木森家具", "    sms_signature: 木森家具");
  dir_.replace("rules/shops.yaml", "max_per_buyer_per_day: 1", "max_per_buyer_per_dya: 1");
  e = load_error(dir_);
  EXPECT_NE(e.find(at("rules/shops.yaml", "max_per_buyer_per_dya")), std::string::npos) << e;
  EXPECT_NE(e.find("shops.木森家具专营店.caps"), std::string::npos) << e;
}

TEST_F(RulesLoader, RejectsAnUnknownOrderType) {
  dir_.replace("rules/segments.yaml", "order_type: flash_sale", "order_type: groupbuy");
  const std::string e = load_error(dir_);
  EXPECT_NE(e.find(at("rules/segments.yaml", "groupbuy")), std::string::npos) << e;
  EXPECT_NE(e.find("order_type is 'groupbuy'; must be presale, flash_sale or normal"), std::string::npos) << e;
}

TEST_F(RulesLoader, RejectsAnAfterStepBehindABeforeCloseStep) {
  dir_.replace("rules/segments.yaml", "{before_close: 4h, channel: im, template: presale_last}",
               "{after: 2h, channel: im, template: presale_last}");
  const std::string e = load_error(dir_);
  EXPECT_NE(e.find(line_of("rules/segments.yaml", "{after: 2h, channel: im, template: presale_last}")),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("steps timed by 'after' must come before the steps timed by 'before_close'"), std::string::npos)
      << e;
}

TEST_F(RulesLoader, RejectsAStepWithBothAfterAndBeforeClose) {
  dir_.replace("rules/segments.yaml", "{before_close: 4h, channel: im", "{after: 1h, before_close: 4h, channel: im");
  const std::string e = load_error(dir_);
  EXPECT_NE(e.find("a step has either 'after' or 'before_close', not both"), std::string::npos) << e;
}

}  // namespace
}  // namespace cuifu
