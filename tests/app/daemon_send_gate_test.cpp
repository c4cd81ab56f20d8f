// The daemon's last check before a reminder goes out: the moment must still be allowed.
// A reminder due at 21:59 whose sending was delayed (outage within the catch-up limit,
// a stale-feed pause, a slow channel queue) must not go out at 22:30 in quiet hours.
#include "app/send_gate.h"

#include <gtest/gtest.h>

#include "../core/test_rules.h"

namespace cuifu {
namespace {

using testing::at;

OutboxRow row_for(Channel c, int step = 1) {
  OutboxRow r;
  r.id = 1;
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

TEST(SendGate, AllowsTheSlotItself) {
  const auto set = testing::code_rule_set({step(Channel::im)});
  EXPECT_EQ(send_time_problem(set.rules, row_for(Channel::im), at("2026-11-23 21:59")), "");
}

TEST(SendGate, RefusesALateSendThatFallsIntoQuietHours) {
  const auto set = testing::code_rule_set({step(Channel::im)});
  const auto why = send_time_problem(set.rules, row_for(Channel::im), at("2026-11-23 22:30"));
  EXPECT_NE(why.find("quiet hours"), std::string::npos) << why;
}

TEST(SendGate, RefusesOutsideTheChannelsWindows) {
  auto set = testing::code_rule_set({step(Channel::sms)});
  set.rules.quiet_hours.clear();
  const auto why = send_time_problem(set.rules, row_for(Channel::sms), at("2026-11-23 23:00"));
  EXPECT_NE(why.find("sms windows"), std::string::npos) << why;
}

TEST(SendGate, RefusesOutsideTheStepsWindows) {
  const auto set = testing::code_rule_set({step(Channel::im, {DailyWindow{12 * 60, 13 * 60}})});
  EXPECT_EQ(send_time_problem(set.rules, row_for(Channel::im), at("2026-11-23 12:30")), "");
  const auto why = send_time_problem(set.rules, row_for(Channel::im), at("2026-11-23 13:20"));
  EXPECT_NE(why.find("step 1"), std::string::npos) << why;
}

TEST(SendGate, RefusesADisabledChannel) {
  auto set = testing::code_rule_set({step(Channel::im)});
  set.rules.channels[Channel::im].enabled = false;
  EXPECT_NE(send_time_problem(set.rules, row_for(Channel::im), at("2026-11-23 12:00")), "");
}

}  // namespace
}  // namespace cuifu

namespace cuifu {
namespace {

using testing::at;

OutboxRow cap_row(Channel c, std::vector<std::string> orders = {"1001"}) {
  OutboxRow r;
  r.id = 7;
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

TEST(SendGateCaps, AllowsASendThatKeepsEveryCap) {
  const std::vector<ContactRecord> log = {contact(Channel::im, "2026-11-24 10:00")};
  EXPECT_EQ(cap_problem(testing::default_rules(), log, cap_row(Channel::sms), at("2026-11-24 18:00")), "");
}

TEST(SendGateCaps, RefusesASendTooSoonAfterTheLastContact) {
  // A row planned for 18:00 before an earlier reminder went out late, at 17:10.
  const std::vector<ContactRecord> log = {contact(Channel::im, "2026-11-24 17:10")};
  const auto why = cap_problem(testing::default_rules(), log, cap_row(Channel::sms), at("2026-11-24 18:00"));
  EXPECT_NE(why.find("min gap"), std::string::npos) << why;
}

TEST(SendGateCaps, CountsASendStillInFlightLikeALoggedOne) {
  // Two rows of one buyer due in the same pass: the first is handed to its worker at 18:00.
  const std::vector<ContactRecord> in_flight = {contact(Channel::im, "2026-11-24 18:00", {"1002"})};
  const auto why = cap_problem(testing::default_rules(), in_flight, cap_row(Channel::sms), at("2026-11-24 18:00"));
  EXPECT_FALSE(why.empty());
}

TEST(SendGateCaps, RefusesTheSameChannelTwiceInARow) {
  const std::vector<ContactRecord> log = {contact(Channel::sms, "2026-11-24 10:00")};
  const auto why = cap_problem(testing::default_rules(), log, cap_row(Channel::sms), at("2026-11-24 18:00"));
  EXPECT_NE(why.find("twice in a row"), std::string::npos) << why;
}

TEST(SendGateCaps, RefusesAThirdContactOnOneDay) {
  const std::vector<ContactRecord> log = {contact(Channel::im, "2026-11-24 08:00", {"9"}),
                                          contact(Channel::sms, "2026-11-24 12:00", {"9"})};
  const auto why = cap_problem(testing::default_rules(), log, cap_row(Channel::im), at("2026-11-24 18:00"));
  EXPECT_NE(why.find("a day"), std::string::npos) << why;
}

TEST(SendGateCaps, RefusesAFourthReminderForAnOrder) {
  const std::vector<ContactRecord> log = {contact(Channel::im, "2026-11-21 10:00"),
                                          contact(Channel::sms, "2026-11-22 12:00"),
                                          contact(Channel::im, "2026-11-23 12:00")};
  const auto why = cap_problem(testing::default_rules(), log, cap_row(Channel::sms), at("2026-11-24 18:00"));
  EXPECT_NE(why.find("cap 3"), std::string::npos) << why;
}

TEST(SendGateCaps, IgnoresOtherBuyersContacts) {
  std::vector<ContactRecord> log = {contact(Channel::sms, "2026-11-24 17:30")};
  log[0].buyer = "someone_else";
  EXPECT_EQ(cap_problem(testing::default_rules(), log, cap_row(Channel::sms), at("2026-11-24 18:00")), "");
}

}  // namespace
}  // namespace cuifu

namespace cuifu {
namespace {

TEST(SendGateScope, AllowsAnImForANewOrderAfterAnImAboutAnOldOneOutsideTheLookBack) {
  // The daemon's last check uses the planner's scope: an IM at 11:18 about order A does not
  // stop the 20:11 IM about order B; an IM 1 h before, whatever it was about, does.
  OutboxRow row;
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

TEST(SendGateScope, CountsOnlyTheContactsOfTheRowsShopAndUsesItsCaps) {
  OutboxRow row;
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

  OptOutSet opted = {{"青禾家居旗舰店", "tb_wang", Channel::sms}};
  EXPECT_FALSE(is_opted_out(opted, row));
  opted.insert({"", "tb_wang", Channel::sms});
  EXPECT_TRUE(is_opted_out(opted, row));
}

}  // namespace
}  // namespace cuifu
