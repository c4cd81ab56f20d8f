// `cuifu check` end to end: the rule author's lint, run on the built binary.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>

#include "../core/test_rules.h"
#include "run_cuifu.h"

namespace cuifu {
namespace {

using testing::ScratchDir;
using testing::source_path;

using testing::run_cuifu;
using testing::RunResult;

RunResult run_check(const std::string& rules_dir, const std::string& templates_dir,
                    std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {"check", "--rules", rules_dir, "--templates", templates_dir};
  args.insert(args.end(), extra.begin(), extra.end());
  return run_cuifu(args);
}

TEST(CheckE2e, ShippedRulesAndTemplatesPass) {
  const RunResult r = run_check(source_path("rules"), source_path("templates"));
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("0 findings"), std::string::npos) << r.out;
}

TEST(CheckE2e, VerboseCheckRendersEveryTemplateWithinItsLimits) {
  const RunResult r = run_check(source_path("rules"), source_path("templates"), {"-v"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(r.out.find("(does not fit)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("sms.yaml:"), std::string::npos) << r.out;
}

TEST(CheckE2e, CurtPhraseInATemplateFailsWithItsFileAndLine) {
  ScratchDir dir("check-e2e");
  dir.copy_default_rule_set();
  dir.replace("templates/im.yaml", "light: \"{salutation}您好，这里是{shop}。",
              "light: \"{salutation}您好，这里是{shop}。这不是我们的问题，");
  const RunResult r = run_check(dir.str("rules"), dir.str("templates"));
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  const std::string where =
      dir.str("templates/im.yaml") + ":" + std::to_string(dir.line_of("templates/im.yaml", "light:")) + ":";
  EXPECT_NE(r.out.find(where), std::string::npos) << "expected " << where << " in:\n" << r.out;
  EXPECT_NE(r.out.find("这不是我们的问题"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("'light'"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("1 finding"), std::string::npos) << r.out;
}

TEST(CheckE2e, VagueWordInAnSmsFailsWithItsFileAndLine) {
  ScratchDir dir("check-e2e");
  dir.copy_default_rule_set();
  dir.replace("templates/sms.yaml", "big_ticket: \"{salutation}您好，", "big_ticket: \"{salutation}您好，大概");
  const RunResult r = run_check(dir.str("rules"), dir.str("templates"));
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  const std::string where =
      dir.str("templates/sms.yaml") + ":" + std::to_string(dir.line_of("templates/sms.yaml", "big_ticket:")) + ":";
  EXPECT_NE(r.out.find(where), std::string::npos) << "expected " << where << " in:\n" << r.out;
  EXPECT_NE(r.out.find("大概"), std::string::npos) << r.out;
}

TEST(CheckE2e, BrokenRulesFailWithFileLineAndColumn) {
  ScratchDir dir("check-e2e");
  dir.copy_default_rule_set();
  dir.replace("rules/channels.yaml", "    windows: [\"08:00-21:00\"]", "    windos: [\"08:00-21:00\"]");
  const RunResult r = run_check(dir.str("rules"), dir.str("templates"));
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  const std::string where = dir.str("rules/channels.yaml") + ":" + dir.position_of("rules/channels.yaml", "windos");
  EXPECT_NE((r.out + r.err).find(where), std::string::npos) << "expected " << where << " in:\n" << r.out << r.err;
  EXPECT_NE((r.out + r.err).find("windos"), std::string::npos);
}

TEST(CheckE2e, PlanRefusesALintFailingTemplateExactlyAsCheckReportsIt) {
  ScratchDir dir("check-e2e");
  dir.copy_default_rule_set();
  dir.replace("templates/im.yaml", "light: \"{salutation}您好，这里是{shop}。",
              "light: \"{salutation}您好，这里是{shop}。这不是我们的问题，可能您忘了吧？亲亲！！");
  const RunResult check = run_check(dir.str("rules"), dir.str("templates"));
  EXPECT_EQ(check.exit_code, 1) << check.out << check.err;
  const std::string where =
      dir.str("templates/im.yaml") + ":" + std::to_string(dir.line_of("templates/im.yaml", "light:"));
  EXPECT_NE(check.out.find("5 findings"), std::string::npos) << check.out;
  const RunResult plan =
      run_cuifu({"plan", "--feed", source_path("data/sample_orders.csv"), "--now", "2026-11-23 21:00", "--rules",
                 dir.str("rules"), "--templates", dir.str("templates")});
  EXPECT_EQ(plan.exit_code, 2) << plan.out << plan.err;
  EXPECT_TRUE(plan.out.empty()) << plan.out;
  // Every finding line of check is in plan's refusal, word for word.
  std::size_t lines = 0;
  for (std::size_t p = 0, e; (e = check.out.find('\n', p)) != std::string::npos; p = e + 1) {
    const std::string line = check.out.substr(p, e - p);
    if (line.rfind(where, 0) != 0) continue;
    ++lines;
    EXPECT_NE(plan.err.find(line), std::string::npos) << line << "\nnot in:\n" << plan.err;
  }
  EXPECT_EQ(lines, 5u) << check.out;

  // Allowed explicitly by the rules: check and plan both accept it.
  dir.replace("rules/policy.yaml", "  allow: []", "  allow: [curt, vague, qin, exclamation, question]");
  EXPECT_EQ(run_check(dir.str("rules"), dir.str("templates")).exit_code, 0);
}

TEST(CheckE2e, AnUnbackedClaimIsAFindingWithItsFileAndLine) {
  ScratchDir dir("check-e2e");
  dir.copy_default_rule_set();
  dir.replace("templates/im.yaml",
              "default.forgot: "
              "\"{salutation}您好，这里是{shop}。您拍下的「{item}」还差付款这一步，{#low_stock}这款目前{low_stock}，{/"
              "low_stock}",
              "default.forgot: \"{salutation}您好，这里是{shop}。您拍下的「{item}」还差付款这一步，这款库存不多，");
  const RunResult r = run_check(dir.str("rules"), dir.str("templates"));
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  const std::string where =
      dir.str("templates/im.yaml") + ":" + std::to_string(dir.line_of("templates/im.yaml", "这款库存不多")) + ":";
  EXPECT_NE(r.out.find(where), std::string::npos) << "expected " << where << " in:\n" << r.out;
  EXPECT_NE(r.out.find("'库存'"), std::string::npos) << r.out;
}

TEST(CheckE2e, NonsenseRulesAreRefusedWithFileAndLine) {
  struct Case {
    const char* file;
    const char* from;
    const char* to;
    const char* needle;  // where the finding must point
    const char* says;
  };
  const std::vector<Case> cases = {
      {"rules/channels.yaml", "cost: 1.20", "cost: -1.20", "  phone:", "negative"},
      {"rules/policy.yaml", "quiet_hours: [\"22:00-08:00\"]", "quiet_hours: [\"00:00-24:00\"]",
       "quiet_hours:", "whole day"},
      {"rules/segments.yaml", "windows: [\"12:00-13:30\", \"17:00-18:00\"]", "windows: [\"23:00-23:59\"]",
       "23:00-23:59", "quiet hours"},
  };
  for (const auto& c : cases) {
    ScratchDir dir("check-e2e");
    dir.copy_default_rule_set();
    dir.replace(c.file, c.from, c.to);
    const RunResult r = run_check(dir.str("rules"), dir.str("templates"));
    EXPECT_EQ(r.exit_code, 1) << c.to << "\n" << r.out << r.err;
    const std::string where = dir.str(c.file) + ":" + std::to_string(dir.line_of(c.file, c.needle)) + ":";
    EXPECT_NE(r.out.find(where), std::string::npos) << "expected " << where << " in:\n" << r.out;
    EXPECT_NE(r.out.find(c.says), std::string::npos) << r.out;
  }
  ScratchDir dir("check-e2e");
  dir.copy_default_rule_set();
  dir.write("rules/segments.yaml", "segments: []\n");
  const RunResult r = run_check(dir.str("rules"), dir.str("templates"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find(dir.str("rules/segments.yaml") + ":1:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("no segments"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace cuifu
