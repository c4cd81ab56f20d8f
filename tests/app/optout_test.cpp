#include "app/optout.h"

#include <gtest/gtest.h>

namespace cuifu {
namespace {

TEST(OptOutReply, RecognisesTheUsualStopWords) {
  for (const char* t : {"退订", "TD", "td", " T ", "n", "R.", "退订，谢谢"}) EXPECT_TRUE(is_opt_out_reply(t)) << t;
}

TEST(OptOutReply, IgnoresOrdinaryReplies) {
  for (const char* t : {"好的", "Thanks", "T1", "TDD", "", "已付款"}) EXPECT_FALSE(is_opt_out_reply(t)) << t;
}

}  // namespace
}  // namespace cuifu
