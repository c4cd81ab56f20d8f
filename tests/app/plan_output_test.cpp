// The plan's JSON writer against nlohmann::json, which the rest of the JSON output uses.
#include "app/plan_output.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace cuifu {
namespace {

TEST(PlanJson, StringsAreWrittenExactlyAsNlohmannDumpsThem) {
  const std::vector<std::string> samples = {
      "",
      "plain ascii",
      "王芳您好：您的订单还未付款。",
      "quote \" and backslash \\ and slash /",
      "tab\tnewline\ncarriage\rbackspace\bformfeed\f",
      std::string("nul \0 inside", 12),
      "\x01\x1f\x7f end",
      "emoji 😀 and 𠀀 (outside the BMP)",
      "\xe2\x80\xa8 line separator",
  };
  for (const auto& s : samples) {
    std::string out;
    append_json_string(out, s);
    EXPECT_EQ(out, nlohmann::json(s).dump()) << s;
    EXPECT_EQ(nlohmann::json::parse(out).get<std::string>(), s);
  }
}

}  // namespace
}  // namespace cuifu
