#include "core/call_schedule.h"

#include <gtest/gtest.h>

#include "test_rules.h"

namespace cuifu {
namespace {

using testing::at;

const std::vector<DailyWindow> kPhone = {DailyWindow{9 * 60 + 30, 18 * 60}};
const std::vector<DailyWindow> kQuiet = {DailyWindow{22 * 60, 8 * 60}};

TEST(CallSchedule, CallsTheBiggestOrdersFirstAtTheDesksRate) {
  // Three tasks all due at the window's opening, 6 calls an hour: 10 minutes apart, the
  // biggest order first whatever the order of the list.
  const LocalTime day = at("2026-11-24 00:00");
  const std::vector<CallToSpread> calls = {{"small", 120000, at("2026-11-24 09:30")},
                                           {"big", 899900, at("2026-11-24 09:30")},
                                           {"mid", 399900, at("2026-11-24 09:30")}};
  const auto t = spread_calls(calls, day, kPhone, kQuiet, 6);
  ASSERT_EQ(t.size(), 3u);
  EXPECT_EQ(t[1], at("2026-11-24 09:30"));
  EXPECT_EQ(t[2], at("2026-11-24 09:40"));
  EXPECT_EQ(t[0], at("2026-11-24 09:50"));
}

TEST(CallSchedule, NeverSuggestsACallBeforeItIsDueAndFillsEachHourUpToItsCapacity) {
  const LocalTime day = at("2026-11-24 00:00");
  std::vector<CallToSpread> calls;
  for (int i = 0; i < 5; ++i) calls.push_back({"k" + std::to_string(i), 100000, at("2026-11-24 14:05")});
  const auto t = spread_calls(calls, day, kPhone, kQuiet, 4);  // every 15 minutes
  EXPECT_EQ(t[0], at("2026-11-24 14:15"));
  EXPECT_EQ(t[1], at("2026-11-24 14:30"));
  EXPECT_EQ(t[2], at("2026-11-24 14:45"));
  EXPECT_EQ(t[3], at("2026-11-24 15:00"));
  EXPECT_EQ(t[4], at("2026-11-24 15:15"));
}

TEST(CallSchedule, LeavesACallWithoutATimeWhenTheDayIsFullAndNeverInQuietHours) {
  // A window reaching into quiet hours: only 21:00-22:00 is usable, 2 calls an hour.
  const LocalTime day = at("2026-11-24 00:00");
  const std::vector<DailyWindow> late = {DailyWindow{21 * 60, 23 * 60}};
  const std::vector<CallToSpread> calls = {
      {"a", 300, at("2026-11-24 21:00")}, {"b", 200, at("2026-11-24 21:00")}, {"c", 100, at("2026-11-24 21:00")}};
  const auto t = spread_calls(calls, day, late, kQuiet, 2);
  EXPECT_EQ(t[0], at("2026-11-24 21:00"));
  EXPECT_EQ(t[1], at("2026-11-24 21:30"));
  EXPECT_FALSE(t[2]);  // 22:00 and 22:30 are quiet hours
}

TEST(CallSchedule, IsDeterministicForEqualAmounts) {
  const LocalTime day = at("2026-11-24 00:00");
  const std::vector<CallToSpread> calls = {{"b", 100, at("2026-11-24 10:00")}, {"a", 100, at("2026-11-24 10:00")}};
  const auto t = spread_calls(calls, day, kPhone, kQuiet, 6);
  EXPECT_EQ(t[1], at("2026-11-24 10:00"));  // equal amount and due time: by key
  EXPECT_EQ(t[0], at("2026-11-24 10:10"));
  EXPECT_EQ(spread_calls(calls, day, kPhone, kQuiet, 6), t);
}

TEST(CallSchedule, DeskLoadCountsTheCallsOfEachDayThatFindNoSlot) {
  // 20 calls due at 17:00 on one day: at 6 an hour the 17:00-18:00 hour of the default phone
  // window (09:30-18:00) holds 6 of them; the other 14 find no slot. One call the next day.
  std::vector<PlannedReminder> sent;
  for (int i = 0; i < 20; ++i) {
    PlannedReminder r;
    r.channel = Channel::phone;
    r.buyer = "b" + std::to_string(i);
    r.order_ids = {"A" + std::to_string(i)};
    r.send_at = at("2026-11-24 17:00");
    r.amount = 100000 + i;
    sent.push_back(r);
  }
  PlannedReminder next = sent[0];
  next.send_at = at("2026-11-25 10:00");
  sent.push_back(next);
  PlannedReminder sms = sent[0];
  sms.channel = Channel::sms;
  sent.push_back(sms);
  const CallDeskLoad load = call_desk_load(sent, testing::default_rules());
  EXPECT_EQ(load.tasks, 21);
  EXPECT_EQ(load.days, 2);
  EXPECT_EQ(load.busiest_day_tasks, 20);
  EXPECT_EQ(load.busiest_day, at("2026-11-24 00:00"));
  EXPECT_EQ(load.without_slot, 14);
}

}  // namespace
}  // namespace cuifu
