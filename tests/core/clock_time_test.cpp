#include "core/clock_time.h"

#include <gtest/gtest.h>

namespace cuifu {
namespace {

using std::chrono::days;
using std::chrono::hours;

LocalTime ymd_hms(int y, unsigned m, unsigned d, int h, int mi, int s = 0) {
  return LocalTime{std::chrono::local_days{std::chrono::year{y} / m / d}} + hours{h} + Minutes{mi} + Seconds{s};
}

TEST(ClockTime, ParsesTheTimesShopExportsAndUsersWrite) {
  EXPECT_EQ(parse_local_time("2026-11-23 21:00"), ymd_hms(2026, 11, 23, 21, 0));
  EXPECT_EQ(parse_local_time("2026-11-23 21:00:07"), ymd_hms(2026, 11, 23, 21, 0, 7));
  EXPECT_EQ(parse_local_time("2026/11/23 09:05"), ymd_hms(2026, 11, 23, 9, 5));
  EXPECT_EQ(parse_local_time("2026/11/23 09:05:59"), ymd_hms(2026, 11, 23, 9, 5, 59));
  EXPECT_EQ(parse_local_time("2026-11-23T21:00"), ymd_hms(2026, 11, 23, 21, 0));
  EXPECT_EQ(parse_local_time(" 2026-11-23 21:00 \r"), ymd_hms(2026, 11, 23, 21, 0));
  EXPECT_EQ(parse_local_time("2028-02-29 00:00"), ymd_hms(2028, 2, 29, 0, 0));  // leap day
}

TEST(ClockTime, AcceptsSingleDigitMonthDayAndHourAsSpreadsheetsResaveThem) {
  EXPECT_EQ(parse_local_time("2026/1/3 9:05"), ymd_hms(2026, 1, 3, 9, 5));
  EXPECT_EQ(parse_local_time("2026-1-3 21:00:00"), ymd_hms(2026, 1, 3, 21, 0));
  EXPECT_EQ(parse_local_date("2026/1/3"), ymd_hms(2026, 1, 3, 0, 0));
}

TEST(ClockTime, RejectsImpossibleDatesTimesAndGarbage) {
  for (const char* bad :
       {"2026-02-30 10:00", "2027-02-29 10:00", "2026-13-01 10:00", "2026-11-00 10:00", "2026-11-23 25:00",
        "2026-11-23 24:00", "2026-11-23 21:60", "2026-11-23 21:00:60", "2026-11-23", "2026-11-23 21",
        "2026-11-23 21:00:0", "2026-11/23 21:00", "2026.11.23 21:00", "tomorrow 21:00", "", "2026-11-23 21:00 +08:00",
        "26-11-23 21:00", "2026-11-23 9:5", "２０２６-11-23 21:00"}) {
    EXPECT_FALSE(parse_local_time(bad).has_value()) << "accepted: '" << bad << "'";
  }
}

TEST(ClockTime, ParsesDatesAsLocalMidnight) {
  EXPECT_EQ(parse_local_date("2026-11-24"), ymd_hms(2026, 11, 24, 0, 0));
  EXPECT_FALSE(parse_local_date("2026-11-31").has_value());
  EXPECT_FALSE(parse_local_date("2026-11-24 10:00").has_value());
}

TEST(ClockTime, MinuteOfDayCountsFromLocalMidnight) {
  EXPECT_EQ(minute_of_day(ymd_hms(2026, 11, 23, 0, 0)), 0);
  EXPECT_EQ(minute_of_day(ymd_hms(2026, 11, 23, 12, 30)), 750);
  EXPECT_EQ(minute_of_day(ymd_hms(2026, 11, 23, 23, 59, 59)), 1439);
  EXPECT_EQ(hour_of_day(ymd_hms(2026, 11, 23, 21, 59)), 21);
}

TEST(ClockTime, StartOfDayIsLocalMidnightOfTheSameDay) {
  EXPECT_EQ(start_of_day(ymd_hms(2026, 11, 23, 21, 0)), ymd_hms(2026, 11, 23, 0, 0));
  EXPECT_EQ(start_of_day(ymd_hms(2026, 11, 23, 0, 0)), ymd_hms(2026, 11, 23, 0, 0));
  EXPECT_EQ(start_of_day(ymd_hms(2026, 12, 31, 23, 59, 59)), ymd_hms(2026, 12, 31, 0, 0));
  EXPECT_EQ(start_of_day(ymd_hms(1969, 12, 31, 23, 0)), ymd_hms(1969, 12, 31, 0, 0));  // before the epoch
}

TEST(ClockTime, FormatsRoundTripThroughTheParser) {
  const LocalTime t = ymd_hms(2026, 11, 5, 7, 3, 9);
  EXPECT_EQ(format_local_time(t), "2026-11-05 07:03:09");
  EXPECT_EQ(format_local_hm(t), "2026-11-05 07:03");
  EXPECT_EQ(format_local_date(t), "2026-11-05");
  EXPECT_EQ(parse_local_time(format_local_time(t)), t);
}

TEST(ClockTime, FixedClockAnswersTheTimeItWasGiven) {
  FixedClock clock(ymd_hms(2026, 11, 23, 21, 0));
  EXPECT_EQ(clock.now(), ymd_hms(2026, 11, 23, 21, 0));
  clock.set(clock.now() + days{1});
  EXPECT_EQ(clock.now(), ymd_hms(2026, 11, 24, 21, 0));
}

}  // namespace
}  // namespace cuifu
