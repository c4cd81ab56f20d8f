// The planner honours what the call desk recorded of a phone reminder (core/call_follow_up.h),
// against the shop's default rules: a big-ticket order gets IM at +20m, a call at +3h and an
// SMS at +24h (SMS windows 12:00-13:30 and 17:00-22:00); calls.will_pay_grace is 24h.
#include "core/call_follow_up.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "test_rules.h"

namespace cuifu {
namespace {

using testing::at;
using testing::default_rules;
using testing::default_templates;

constexpr const char* kShop = "青禾家居旗舰店";

Order big_order(std::string id, LocalTime created) {
  Order o = testing::make_order(std::move(id), "tb_big", created);
  o.address = testing::kHomeAddress;
  o.amount = 399900;
  return o;
}

// The IM at 09:20 and the call at 12:00 were made; the call's outcome as given.
ContactHistory called(CallOutcome outcome, const char* outcome_at, std::vector<std::string> ids = {"A1"}) {
  ContactHistory h;
  h.add({"tb_big", Channel::im, at("2026-11-23 09:20"), ids, 1, kShop});
  ContactRecord call{"tb_big", Channel::phone, at("2026-11-23 12:00"), ids, 2, kShop};
  call.call_outcome = outcome;
  if (outcome_at) call.outcome_at = at(outcome_at);
  call.outcome_by = "小李";
  h.add(call);
  return h;
}

Plan plan_from(const std::vector<Order>& orders, const ContactHistory& h, const char* now) {
  const LocalTime t = at(now);
  return plan(orders, h, default_rules(), default_templates(), PlanRequest{t, t, t + std::chrono::days{4}});
}

bool any_why(const PlannedReminder& r, std::string_view part) {
  return std::any_of(r.why.begin(), r.why.end(), [&](const std::string& w) { return w.find(part) != w.npos; });
}

const SkippedOrder* skipped(const Plan& p, std::string_view id) {
  for (const auto& s : p.skipped) {
    if (s.order_id == id) return &s;
  }
  return nullptr;
}

TEST(CallFollowUp, WithoutAnOutcomeTheSmsStepFollowsTheCall) {
  const Plan p =
      plan_from({big_order("A1", at("2026-11-23 09:00"))}, called(CallOutcome::none, nullptr), "2026-11-23 13:00");
  ASSERT_EQ(p.reminders.size(), 1u);
  EXPECT_EQ(p.reminders[0].channel, Channel::sms);
  EXPECT_EQ(p.reminders[0].send_at, at("2026-11-24 12:00"));
}

TEST(CallFollowUp, ARefusalEndsTheRemindersOfThatCallsOrdersAndSaysWhichCall) {
  const Plan p = plan_from({big_order("A1", at("2026-11-23 09:00"))}, called(CallOutcome::refused, "2026-11-23 12:05"),
                           "2026-11-23 13:00");
  EXPECT_TRUE(p.reminders.empty());
  const SkippedOrder* s = skipped(p, "A1");
  ASSERT_NE(s, nullptr);
  EXPECT_NE(s->reason.find("refused on the call of 2026-11-23 12:00 (小李)"), std::string::npos) << s->reason;
}

TEST(CallFollowUp, ARefusalLeavesTheBuyersOtherOrdersReminded) {
  // A2 was placed after the call: the buyer refused A1, not A2.
  const Plan p = plan_from({big_order("A1", at("2026-11-23 09:00")), big_order("A2", at("2026-11-23 12:30"))},
                           called(CallOutcome::refused, "2026-11-23 12:05"), "2026-11-23 13:00");
  ASSERT_FALSE(p.reminders.empty());
  for (const auto& r : p.reminders) EXPECT_EQ(r.order_ids, std::vector<std::string>{"A2"});
  ASSERT_NE(skipped(p, "A1"), nullptr);
}

TEST(CallFollowUp, APromiseToPayHoldsTheNextReminderForTheGracePeriod) {
  const Plan p = plan_from({big_order("A1", at("2026-11-23 09:00"))}, called(CallOutcome::will_pay, "2026-11-23 12:30"),
                           "2026-11-23 13:00");
  ASSERT_EQ(p.reminders.size(), 1u);
  EXPECT_EQ(p.reminders[0].send_at, at("2026-11-24 12:30"));  // not 12:00: 24h after the promise
  EXPECT_TRUE(any_why(p.reminders[0], "buyer promised to pay on the call of 2026-11-23 12:00 (小李)"));
  // The line names the rule it applied, with its place in the rules.
  EXPECT_TRUE(any_why(p.reminders[0], "nothing before 2026-11-24 12:30 (calls.will_pay_grace 24 h, "));
  EXPECT_TRUE(any_why(p.reminders[0], "/rules/policy.yaml:"));
}

TEST(CallFollowUp, AnOrderHeldByAPromiseSaysSoWhenNothingFallsInThePlan) {
  const LocalTime now = at("2026-11-23 13:00");
  const Plan p = plan({big_order("A1", at("2026-11-23 09:00"))}, called(CallOutcome::will_pay, "2026-11-23 12:30"),
                      default_rules(), default_templates(), PlanRequest{now, now, at("2026-11-24 12:00")});
  EXPECT_TRUE(p.reminders.empty());
  const SkippedOrder* s = skipped(p, "A1");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->reason.rfind("buyer promised to pay on the call of 2026-11-23 12:00 (小李): nothing before "
                            "2026-11-24 12:30",
                            0),
            0u)
      << s->reason;
}

TEST(CallFollowUp, NoAnswerLetsTheSequenceGoOnAndSaysSo) {
  const Plan p = plan_from({big_order("A1", at("2026-11-23 09:00"))},
                           called(CallOutcome::no_answer, "2026-11-23 12:02"), "2026-11-23 13:00");
  ASSERT_EQ(p.reminders.size(), 1u);
  EXPECT_EQ(p.reminders[0].channel, Channel::sms);  // never the phone twice in a row
  EXPECT_EQ(p.reminders[0].send_at, at("2026-11-24 12:00"));
  EXPECT_TRUE(any_why(p.reminders[0], "the call of 2026-11-23 12:00 (小李) was not answered: the sequence goes on"));
}

TEST(CallFollowUp, AnOutcomeRecordedAfterNowIsNotSeen) {
  // A plan (or a backtest) at 12:03 does not know what the desk will record at 12:05.
  const Plan p = plan_from({big_order("A1", at("2026-11-23 09:00"))}, called(CallOutcome::refused, "2026-11-23 12:05"),
                           "2026-11-23 12:03");
  ASSERT_EQ(p.reminders.size(), 1u);
  EXPECT_EQ(skipped(p, "A1"), nullptr);
}

TEST(CallFollowUp, TheLatestOutcomeOfTheOrdersCounts) {
  // A refusal recorded, then corrected to a promise on a later call: the promise counts.
  ContactHistory h = called(CallOutcome::refused, "2026-11-23 12:05");
  ContactRecord again{"tb_big", Channel::phone, at("2026-11-23 15:00"), {"A1"}, 2, kShop};
  again.call_outcome = CallOutcome::will_pay;
  again.outcome_at = at("2026-11-23 15:10");
  h.add(again);
  EXPECT_EQ(refused_on_call(h.contacts, "A1", at("2026-11-23 16:00")), "");
  const auto f = follow_up_after_call(default_rules().calls, h.contacts, {"A1"}, at("2026-11-23 16:00"));
  ASSERT_TRUE(f);
  EXPECT_EQ(f->not_before, at("2026-11-24 15:10"));
}

}  // namespace
}  // namespace cuifu
