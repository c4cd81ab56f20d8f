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
