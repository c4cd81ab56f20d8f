// `cuifu plan --chat` end to end: the built binary on the bundled small export and its chat
// (tests/data/taobao_small_chat.csv, described in taobao_small_expected.md).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "../core/test_rules.h"
#include "run_cuifu.h"

namespace cuifu {
namespace {

using nlohmann::json;
using testing::run_cuifu;
using testing::RunResult;
using testing::source_path;

const std::string kChat = source_path("tests/data/taobao_small_chat.csv");

RunResult plan_run(bool with_chat, std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {"plan",
                                   "--feed",
                                   source_path("tests/data/taobao_small_gb18030.csv"),
                                   "--now",
                                   "2026-11-23 21:00",
                                   "--format",
                                   "json",
                                   "--rules",
                                   source_path("rules"),
                                   "--templates",
                                   source_path("templates")};
  if (with_chat) {
    args.push_back("--chat");
    args.push_back(kChat);
  }
  args.insert(args.end(), extra.begin(), extra.end());
  return run_cuifu(args);
}

const RunResult& chat_run() {
  static const RunResult r = plan_run(true);
  return r;
}
const json& chat_plan() {
  static const json j = json::parse(chat_run().out);
  return j;
}

std::vector<json> reminders_of(const json& plan, std::string_view buyer) {
  std::vector<json> out;
  for (const auto& r : plan["reminders"]) {
    if (r["buyer"] == buyer) out.push_back(r);
  }
  return out;
}

std::string why_of(const json& r) {
  std::string s;
  for (const auto& w : r["why"]) s += w.get<std::string>() + "\n";
  return s;
}

TEST(PlanChatE2e, TheReasonComesFromTheChatAndPicksTheTemplateVariant) {
  ASSERT_EQ(chat_run().exit_code, 0) << chat_run().err;
  // tb_xiaoming88 asked in the chat when it ships: tomorrow's office SMS is the delivery variant.
  const auto rs = reminders_of(chat_plan(), "tb_xiaoming88");
  ASSERT_FALSE(rs.empty()) << chat_run().out;
  const json& sms = rs.front();
  EXPECT_EQ(sms["channel"], "sms");
  EXPECT_EQ(sms["template"], "office_worker.delivery") << why_of(sms);
  const std::string why = why_of(sms);
  EXPECT_NE(why.find("reason delivery ("), std::string::npos) << why;
  EXPECT_NE(why.find("rules/policy.yaml:"), std::string::npos) << why;
  // The message that decided it is quoted, with the phone number in it masked.
  EXPECT_NE(why.find("buyer wrote in the chat at 11-23 10:03: \"这个床头柜什么时候发货？急用，电话138****5678\""),
            std::string::npos)
      << why;
  EXPECT_EQ(chat_run().out.find("13812345678"), std::string::npos);
  EXPECT_NE(why.find("template office_worker.delivery: the variant for reason delivery"), std::string::npos) << why;

  // tb_chenxi_2005's note says balance, but later she wrote her mother pays: the latest word wins.
  const auto cx = reminders_of(chat_plan(), "tb_chenxi_2005");
  ASSERT_FALSE(cx.empty());
  for (const auto& r : cx) {
    if (r["channel"] == "sms") {
      EXPECT_EQ(r["template"], "student.other_payer") << why_of(r);
    }
  }
  // A shop message about a discount is not the buyer's reason: tb_combo stays price (its note).
  for (const auto& r : reminders_of(chat_plan(), "tb_combo")) {
    if (r["channel"] == "sms") {
      EXPECT_EQ(r["template"], "default.price") << why_of(r);
    }
  }
  // mike_hk's payment failed; the foreign e-mail has no such variant and the why says so.
  const auto mk = reminders_of(chat_plan(), "mike_hk");
  ASSERT_FALSE(mk.empty());
  EXPECT_EQ(mk.front()["template"], "foreign");
  EXPECT_NE(why_of(mk.front()).find("no email variant foreign.payment_failed, the base template"), std::string::npos)
      << why_of(mk.front());
  EXPECT_NE(why_of(mk.front()).find("m***@example.com"), std::string::npos) << why_of(mk.front());
}

TEST(PlanChatE2e, ABuyerWhoSaidTheyWillNotBuyIsSkippedWithTheirWords) {
  const json* skip = nullptr;
  for (const auto& s : chat_plan()["skipped"]) {
    if (s["order_id"] == "3984217650000000005") skip = &s;
  }
  ASSERT_NE(skip, nullptr) << chat_run().out;
  const std::string reason = (*skip)["reason"];
  EXPECT_NE(reason.find("stop will_not_buy ("), std::string::npos) << reason;
  EXPECT_NE(reason.find("rules/policy.yaml:"), std::string::npos) << reason;
  EXPECT_NE(reason.find("\"不好意思，拍错了，这单不要了\""), std::string::npos) << reason;
  EXPECT_TRUE(reminders_of(chat_plan(), "lily_2019").empty());
  // Tonight (21:00, an IM) and tomorrow: reminded without the chat, never with it.
  const json with_tonight = json::parse(plan_run(true, {"--date", "2026-11-23"}).out);
  const json without_tonight = json::parse(plan_run(false, {"--date", "2026-11-23"}).out);
  EXPECT_TRUE(reminders_of(with_tonight, "lily_2019").empty());
  EXPECT_FALSE(reminders_of(without_tonight, "lily_2019").empty()) << without_tonight.dump();
}

TEST(PlanChatE2e, BadChatRowsAreRejectedWithTheirLineAndTheRestIsUsed) {
  const std::string& err = chat_run().err;
  EXPECT_NE(err.find(kChat + ":8: rejected: bad time '2026-11-23 25:61:00' in 时间"), std::string::npos) << err;
  EXPECT_NE(err.find(kChat + ":10: rejected: unknown sender '路人甲' in 发送方"), std::string::npos) << err;
}

TEST(PlanChatE2e, AnUnreadableChatIsOneClearError) {
  const RunResult r = run_cuifu({"plan", "--feed", source_path("tests/data/taobao_small_gb18030.csv"), "--now",
                                 "2026-11-23 21:00", "--rules", source_path("rules"), "--templates",
                                 source_path("templates"), "--chat", source_path("tests/data/no-such-chat.csv")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("cannot read"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("no-such-chat.csv"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace cuifu
