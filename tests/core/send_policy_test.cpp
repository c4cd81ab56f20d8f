// The daemon's last check before a reminder goes out: the moment must still be allowed.
// A reminder due at 21:59 whose sending was delayed (outage within the catch-up limit,
// a stale-feed pause, a slow channel queue) must not go out at 22:30 in quiet hours.
#include "core/send_policy.h"

#include <gtest/gtest.h>

#include "test_rules.h"

namespace cuifu {
namespace {

using testing::at;

Outgoing row_for(Channel c, int step = 1) {
  Outgoing r;
  r.idempotency_key = "cf-0000000000000001";
  r.buyer = "tb_wang";
  r.order_ids = {"1001"};
  r.channel = c;
  r.step = step;
  r.segment = "everyone";
  r.send_at = at("2026-11-23 21:59");
  return r;
}

ReminderStep step(Channel c, std::vector<DailyWindow> windows = {}) {
  ReminderStep s;
  s.channel = c;
  s.template_name = "t";
  s.windows = std::move(windows);
  return s;
}

TEST(SendPolicyTime, AllowsTheSlotItself) {
  const auto set = testing::code_rule_set({step(Channel::im)});
  EXPECT_EQ(send_time_problem(set.rules, row_for(Channel::im), at("2026-11-23 21:59")), "");
}

TEST(SendPolicyTime, RefusesALateSendThatFallsIntoQuietHours) {
  const auto set = testing::code_rule_set({step(Channel::im)});
  const auto why = send_time_problem(set.rules, row_for(Channel::im), at("2026-11-23 22:30"));
  EXPECT_NE(why.find("quiet hours"), std::string::npos) << why;
}

TEST(SendPolicyTime, RefusesOutsideTheChannelsWindows) {
  auto set = testing::code_rule_set({step(Channel::sms)});
  set.rules.quiet_hours.clear();
  const auto why = send_time_problem(set.rules, row_for(Channel::sms), at("2026-11-23 23:00"));
  EXPECT_NE(why.find("sms windows"), std::string::npos) << why;
}

TEST(SendPolicyTime, RefusesOutsideTheStepsWindows) {
  const auto set = testing::code_rule_set({step(Channel::im, {DailyWindow{12 * 60, 13 * 60}})});
  EXPECT_EQ(send_time_problem(set.rules, row_for(Channel::im), at("2026-11-23 12:30")), "");
  const auto why = send_time_problem(set.rules, row_for(Channel::im), at("2026-11-23 13:20"));
  EXPECT_NE(why.find("step 1"), std::string::npos) << why;
}

TEST(SendPolicyTime, RefusesADisabledChannel) {
  auto set = testing::code_rule_set({step(Channel::im)});
  set.rules.channels[Channel::im].enabled = false;
  EXPECT_NE(send_time_problem(set.rules, row_for(Channel::im), at("2026-11-23 12:00")), "");
}

}  // namespace
}  // namespace cuifu

namespace cuifu {
namespace {

using testing::at;

Outgoing cap_row(Channel c, std::vector<std::string> orders = {"1001"}) {
  Outgoing r;
  r.buyer = "tb_wang";
  r.order_ids = std::move(orders);
  r.channel = c;
  r.step = 2;
  r.segment = "default";
  r.send_at = at("2026-11-24 18:00");
  return r;
}

ContactRecord contact(Channel c, const char* when, std::vector<std::string> orders = {"1001"}) {
  return ContactRecord{"tb_wang", c, at(when), std::move(orders), 1};
}

TEST(SendPolicyCaps, AllowsASendThatKeepsEveryCap) {
  const std::vector<ContactRecord> log = {contact(Channel::im, "2026-11-24 10:00")};
  EXPECT_EQ(cap_problem(testing::default_rules(), log, cap_row(Channel::sms), at("2026-11-24 18:00")), "");
}

TEST(SendPolicyCaps, RefusesASendTooSoonAfterTheLastContact) {
  // A row planned for 18:00 before an earlier reminder went out late, at 17:10.
  const std::vector<ContactRecord> log = {contact(Channel::im, "2026-11-24 17:10")};
  const auto why = cap_problem(testing::default_rules(), log, cap_row(Channel::sms), at("2026-11-24 18:00"));
  EXPECT_NE(why.find("min gap"), std::string::npos) << why;
}

TEST(SendPolicyCaps, CountsASendStillInFlightLikeALoggedOne) {
  // Two rows of one buyer due in the same pass: the first is handed to its worker at 18:00.
  const std::vector<ContactRecord> in_flight = {contact(Channel::im, "2026-11-24 18:00", {"1002"})};
  const auto why = cap_problem(testing::default_rules(), in_flight, cap_row(Channel::sms), at("2026-11-24 18:00"));
  EXPECT_FALSE(why.empty());
}

TEST(SendPolicyCaps, RefusesTheSameChannelTwiceInARow) {
  const std::vector<ContactRecord> log = {contact(Channel::sms, "2026-11-24 10:00")};
  const auto why = cap_problem(testing::default_rules(), log, cap_row(Channel::sms), at("2026-11-24 18:00"));
  EXPECT_NE(why.find("twice in a row"), std::string::npos) << why;
}

TEST(SendPolicyCaps, RefusesAThirdContactOnOneDay) {
  const std::vector<ContactRecord> log = {contact(Channel::im, "2026-11-24 08:00", {"9"}),
                                          contact(Channel::sms, "2026-11-24 12:00", {"9"})};
  const auto why = cap_problem(testing::default_rules(), log, cap_row(Channel::im), at("2026-11-24 18:00"));
  EXPECT_NE(why.find("a day"), std::string::npos) << why;
}

TEST(SendPolicyCaps, RefusesAFourthReminderForAnOrder) {
  const std::vector<ContactRecord> log = {contact(Channel::im, "2026-11-21 10:00"),
                                          contact(Channel::sms, "2026-11-22 12:00"),
                                          contact(Channel::im, "2026-11-23 12:00")};
  const auto why = cap_problem(testing::default_rules(), log, cap_row(Channel::sms), at("2026-11-24 18:00"));
  EXPECT_NE(why.find("cap 3"), std::string::npos) << why;
}

TEST(SendPolicyCaps, IgnoresOtherBuyersContacts) {
  std::vector<ContactRecord> log = {contact(Channel::sms, "2026-11-24 17:30")};
  log[0].buyer = "someone_else";
  EXPECT_EQ(cap_problem(testing::default_rules(), log, cap_row(Channel::sms), at("2026-11-24 18:00")), "");
}

}  // namespace
}  // namespace cuifu

namespace cuifu {
namespace {

TEST(SendPolicyScope, AllowsAnImForANewOrderAfterAnImAboutAnOldOneOutsideTheLookBack) {
  // The daemon's last check uses the planner's scope: an IM at 11:18 about order A does not
  // stop the 20:11 IM about order B; an IM 1 h before, whatever it was about, does.
  Outgoing row;
  row.buyer = "tb_wang";
  row.order_ids = {"B"};
  row.channel = Channel::im;
  row.step = 1;
  row.segment = "default";
  row.send_at = testing::at("2026-11-24 20:11");
  const std::vector<ContactRecord> old = {
      ContactRecord{"tb_wang", Channel::im, testing::at("2026-11-24 11:18"), {"A"}, 1}};
  EXPECT_EQ(cap_problem(testing::default_rules(), old, row, row.send_at), "");
  const std::vector<ContactRecord> recent = {
      ContactRecord{"tb_wang", Channel::im, testing::at("2026-11-24 18:00"), {"A"}, 1}};
  EXPECT_NE(cap_problem(testing::default_rules(), recent, row, row.send_at).find("twice in a row"), std::string::npos);
}

TEST(SendPolicyScope, CountsOnlyTheContactsOfTheRowsShopAndUsesItsCaps) {
  Outgoing row;
  row.buyer = "tb_wang";
  row.shop = "木森家具专营店";  // max_per_buyer_per_day: 1 in rules/shops.yaml
  row.order_ids = {"B"};
  row.channel = Channel::sms;
  row.step = 2;
  row.segment = "default";
  row.send_at = testing::at("2026-11-24 18:00");
  std::vector<ContactRecord> log = {
      ContactRecord{"tb_wang", Channel::im, testing::at("2026-11-24 08:00"), {"A"}, 1, "青禾家居旗舰店"},
      ContactRecord{"tb_wang", Channel::sms, testing::at("2026-11-24 12:00"), {"A"}, 2, "青禾家居旗舰店"}};
  EXPECT_EQ(cap_problem(testing::default_rules(), log, row, row.send_at), "");
  log.push_back(ContactRecord{"tb_wang", Channel::im, testing::at("2026-11-24 09:00"), {"B"}, 1, "木森家具专营店"});
  EXPECT_NE(cap_problem(testing::default_rules(), log, row, row.send_at).find("cap 1 a day"), std::string::npos);
}

using testing::at;

Outgoing for_orders(std::vector<std::string> ids) {
  Outgoing r;
  r.buyer = "tb_wang";
  r.order_ids = std::move(ids);
  return r;
}

TEST(SendPolicyPayable, AllowsAnUnpaidOrderBeforeItCloses) {
  const std::map<std::string, OrderView> orders = {{"1001", {OrderStatus::unpaid, {}, at("2026-11-26 10:00")}}};
  EXPECT_EQ(payable_problem(orders, for_orders({"1001"}), at("2026-11-24 18:00")), "");
}

TEST(SendPolicyPayable, RefusesAPaidClosedOrGoneOrder) {
  const std::map<std::string, OrderView> orders = {
      {"1001", {OrderStatus::paid, at("2026-11-24 17:50"), at("2026-11-26 10:00")}},
      {"1002", {OrderStatus::closed, {}, at("2026-11-26 10:00")}}};
  EXPECT_NE(payable_problem(orders, for_orders({"1001"}), at("2026-11-24 18:00")).find("17:50"), std::string::npos);
  EXPECT_NE(payable_problem(orders, for_orders({"1002"}), at("2026-11-24 18:00")).find("closed"), std::string::npos);
  EXPECT_NE(payable_problem(orders, for_orders({"1003"}), at("2026-11-24 18:00")).find("not in the newest"),
            std::string::npos);
}

TEST(SendPolicyPayable, RefusesAnOrderThatAutoClosedSinceTheSnapshot) {
  // The snapshot still shows it unpaid, but its auto-close time has passed.
  Order o;
  o.id = "1001";
  o.created_at = at("2026-11-21 18:00");
  Rules rules = testing::default_rules();
  const std::map<std::string, OrderView> orders = {{"1001", order_view(o, rules)}};
  EXPECT_EQ(payable_problem(orders, for_orders({"1001"}), o.created_at + rules.auto_close - Minutes{1}), "");
  EXPECT_NE(payable_problem(orders, for_orders({"1001"}), o.created_at + rules.auto_close).find("auto-closed"),
            std::string::npos);
}

TEST(SendPolicyPayable, APresaleOrderIsPayableUntilItsBalanceWindowEndsAFlashSaleOnlyForItsMinutes) {
  // The gate closes an order exactly where the planner does: a pre-sale order placed days ago
  // is open while its balance (尾款) window is; a flash-sale order 30 minutes after it was placed.
  const Rules rules = testing::default_rules();
  Order pre;
  pre.id = "P1";
  pre.created_at = at("2026-11-19 20:00");
  pre.type = OrderType::presale;
  pre.balance_starts = at("2026-11-24 20:00");
  pre.balance_ends = at("2026-11-26 23:59");
  Order flash;
  flash.id = "F1";
  flash.created_at = at("2026-11-24 20:00");
  flash.type = OrderType::flash_sale;
  const std::map<std::string, OrderView> orders = {{"P1", order_view(pre, rules)}, {"F1", order_view(flash, rules)}};
  EXPECT_EQ(payable_problem(orders, for_orders({"P1"}), at("2026-11-25 12:00")), "");
  EXPECT_NE(payable_problem(orders, for_orders({"P1"}), at("2026-11-26 23:59")).find("closed"), std::string::npos);
  EXPECT_EQ(payable_problem(orders, for_orders({"F1"}), at("2026-11-24 20:29")), "");
  EXPECT_NE(payable_problem(orders, for_orders({"F1"}), at("2026-11-24 20:30")).find("closed"), std::string::npos);
}

// The allowed stretches of a day are exactly the minutes that no quiet hour covers and every
// given window set holds, for windows that wrap over midnight, touch, overlap or cover all day.
TEST(SendPolicyMinutes, AllowedStretchesAreTheMinutesEveryWindowAllows) {
  const std::vector<std::vector<std::string>> sets = {
      {},
      {"22:00-08:00"},
      {"08:00-21:00"},
      {"12:00-13:30", "17:00-22:00"},
      {"09:00-12:00", "11:00-14:00"},
      {"23:30-00:30"},
      {"00:00-24:00"},
      {"10:00-10:00"},
      {"06:00-06:01", "06:01-07:00"},
  };
  const auto windows = [](const std::vector<std::string>& texts) {
    std::vector<DailyWindow> ws;
    for (const auto& t : texts) ws.push_back(*parse_daily_window(t));
    return ws;
  };
  const auto in = [](const std::vector<DailyWindow>& ws, int m) {
    return std::any_of(ws.begin(), ws.end(), [m](const DailyWindow& w) { return w.contains(m); });
  };
  for (const auto& q : sets) {
    for (const auto& c : sets) {
      for (const auto& s : sets) {
        const auto quiet = windows(q), channel = windows(c), step = windows(s);
        std::vector<bool> got(1440, false);
        int last_end = -1;
        for (const auto& [from, to] : allowed_minutes(quiet, channel, step)) {
          EXPECT_LT(last_end, from) << "stretches must be sorted, apart and not touching";
          last_end = to;
          for (int m = from; m < to; ++m) got[static_cast<std::size_t>(m)] = true;
        }
        for (int m = 0; m < 1440; ++m) {
          const bool want = (channel.empty() || in(channel, m)) && (step.empty() || in(step, m)) && !in(quiet, m);
          ASSERT_EQ(got[static_cast<std::size_t>(m)], want) << "minute " << m;
        }
      }
    }
  }
}

}  // namespace
}  // namespace cuifu
