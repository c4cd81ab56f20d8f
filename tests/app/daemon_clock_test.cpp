#include "app/daemon_clock.h"

#include <gtest/gtest.h>

#include <chrono>

namespace cuifu {
namespace {

using namespace std::chrono_literals;

LocalTime at(int h, int m, int s) {
  return LocalTime{std::chrono::local_days{std::chrono::year{2026} / 11 / 24}.time_since_epoch() +
                   std::chrono::hours{h} + std::chrono::minutes{m} + std::chrono::seconds{s}};
}

// The re-plan after a minute's sends runs mid-minute, never as the next minute's reminders fall
// due (it ran exactly 60 s after the first send, at the next minute's first second).
TEST(DaemonClock, TheReplanAfterSendsRunsAtAHalfMinuteNotWhenTheNextMinuteFallsDue) {
  EXPECT_EQ(replan_moment(at(12, 0, 0)), at(12, 0, 30));
  EXPECT_EQ(replan_moment(at(12, 0, 9)), at(12, 0, 30));
  EXPECT_EQ(replan_moment(at(12, 0, 11)), at(12, 1, 30));
  EXPECT_EQ(replan_moment(at(12, 0, 45)), at(12, 1, 30));
  EXPECT_EQ(replan_moment(at(23, 59, 30)), at(0, 0, 30) + std::chrono::days{1});
  for (int s = 0; s < 120; ++s) {
    const LocalTime now = at(12, 0, 0) + std::chrono::seconds{s};
    const auto wait = replan_moment(now) - now;
    EXPECT_GE(wait, std::chrono::seconds{20});
    EXPECT_LE(wait, std::chrono::seconds{80});
    EXPECT_EQ(std::chrono::floor<std::chrono::minutes>(replan_moment(now)) + std::chrono::seconds{30},
              replan_moment(now));
  }
}

TEST(DaemonClock, ASimulatedClockSaysHowLongUntilAMomentToTheMillisecondNotAWholeSecondLater) {
  SimulatedClock c(at(10, 0, 0), 60);  // a simulated minute per real second
  // 30 simulated seconds: half a real second (less the microseconds since the start).
  const auto half = c.until(at(10, 0, 30));
  EXPECT_GT(half, 300ms);
  EXPECT_LE(half, 500ms);
  EXPECT_EQ(c.until(at(9, 59, 0)), DaemonClock::RealDuration::zero());  // already passed
}

TEST(DaemonClock, TheRealClockSaysHowLongUntilTheNextSecondsComeNotASecondMore) {
  RealDaemonClock c(ShopZone("Asia/Shanghai"));
  const LocalTime next = c.now() + std::chrono::seconds{2};
  // now() is floored to the second: the real time until `next` is between 1 and 2 s.
  const auto wait = c.until(next);
  EXPECT_GT(wait, 900ms);
  EXPECT_LE(wait, 2s);
  EXPECT_EQ(c.until(c.now() - std::chrono::seconds{1}), DaemonClock::RealDuration::zero());
}

}  // namespace
}  // namespace cuifu
