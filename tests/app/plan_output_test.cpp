// The plan's JSON writer against nlohmann::json, which the rest of the JSON output uses.
#include "app/plan_output.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>

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

// The writer skips text 8 bytes at a time: a character to escape must be found wherever it
// falls in a block (first byte, last, straddling two), next to multi-byte characters.
TEST(PlanJson, EscapesAreFoundAtEveryPositionOfLongText) {
  const std::vector<std::string> pieces = {"王", "a",    "\"", "\\", "\n", "\x01",    "\x1f",
                                           " ",  "\x7f", "😀",  "/",  "~",  "\xc2\x80"};
  std::mt19937 rng(3);
  for (int i = 0; i < 5000; ++i) {
    std::string s;
    const unsigned n = rng() % 40;
    for (unsigned k = 0; k < n; ++k) s += pieces[rng() % (k % 5 == 0 ? pieces.size() : 2)];
    std::string out;
    append_json_string(out, s);
    ASSERT_EQ(out, nlohmann::json(s).dump()) << s;
  }
}

}  // namespace
}  // namespace cuifu
