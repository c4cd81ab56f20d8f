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

}  // namespace
}  // namespace cuifu
