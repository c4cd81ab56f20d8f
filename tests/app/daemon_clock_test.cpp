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
