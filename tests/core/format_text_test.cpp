#include "core/format_text.h"

#include <fmt/compile.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace cuifu {
namespace {

// format_text replaces fmt::format in the why lines and skip reasons: every text must come out
// the same, short or longer than its stack buffer (500 bytes), with every kind of argument.
TEST(FormatText, GivesTheSameTextAsFmtFormat) {
  const std::string chinese = "【青禾家居】您好，您拍下的宝贝还未付款";
  std::string long_text;
  for (int i = 0; i < 80; ++i) long_text += chinese;  // well over the stack buffer
  const std::vector<std::string> ids = {"3301", "3302", "3303"};

  EXPECT_EQ(format_text(FMT_COMPILE("{}"), 42), fmt::format(FMT_COMPILE("{}"), 42));
  EXPECT_EQ(format_text(FMT_COMPILE("{}"), std::string()), "");
  EXPECT_EQ(format_text(FMT_COMPILE("")), "");
  EXPECT_EQ(format_text(FMT_COMPILE("{:02d}:{:02d}-{:02d}:{:02d}"), 9, 5, 21, 0), "09:05-21:00");
  EXPECT_EQ(format_text(FMT_COMPILE("{} h {} min"), 2L, 30L), fmt::format(FMT_COMPILE("{} h {} min"), 2L, 30L));
  EXPECT_EQ(format_text(FMT_COMPILE("{}"), fmt::join(ids, "、")), "3301、3302、3303");
  EXPECT_EQ(format_text(FMT_COMPILE("stop {} ({}): {}; not reminded"), chinese, "rules/stops.yaml:3", long_text),
            fmt::format(FMT_COMPILE("stop {} ({}): {}; not reminded"), chinese, "rules/stops.yaml:3", long_text));
  EXPECT_EQ(format_text(FMT_COMPILE("{}{}"), long_text, long_text), long_text + long_text);
  EXPECT_EQ(format_text(FMT_COMPILE("{:.1f}%"), 12.25), fmt::format(FMT_COMPILE("{:.1f}%"), 12.25));
}

}  // namespace
}  // namespace cuifu
