// The daemon's clocks: shop-local "now" plus the mapping between the daemon's time and
// the real (steady) time its timers run on. The real clock maps 1:1; the simulated clock
// (rehearsal, `--simulate-from T --speed N`) starts at T and runs N times faster, so
// timers are scaled down by N and a day can be rehearsed in minutes.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>

#include "core/clock_time.h"
#include "io/zone.h"

namespace cuifu {

class DaemonClock : public Clock {
 public:
  using RealDuration = std::chrono::steady_clock::duration;
  // How long a timer must wait in real time for `d` of daemon time to pass.
  virtual RealDuration to_real(std::chrono::duration<double> d) const = 0;
  // How much daemon time passes in `d` of real time.
  virtual std::chrono::duration<double> to_daemon(std::chrono::duration<double> d) const = 0;
  virtual bool simulated() const = 0;
  // How long a timer must wait in real time until now() reaches `t` (0 when it has), to the
  // moment: a send timer armed with it wakes as a reminder falls due, not up to a second later.
  virtual RealDuration until(LocalTime t) const = 0;
  // Called when the loop starts: a simulated clock begins running here, so that setup
  // time does not count as simulated time.
  virtual void start() {}
};

class RealDaemonClock final : public DaemonClock {
 public:
  explicit RealDaemonClock(ShopZone zone) : zone_(zone), clock_(std::move(zone)) {}
  LocalTime now() const override { return clock_.now(); }
  RealDuration until(LocalTime t) const override {
    // now() is the system time floored to the second: it reaches t when the system time does.
    const auto left = zone_.to_sys(t) - std::chrono::system_clock::now();
    return std::max(RealDuration::zero(), std::chrono::duration_cast<RealDuration>(left));
  }
  RealDuration to_real(std::chrono::duration<double> d) const override {
    return std::chrono::duration_cast<RealDuration>(d);
  }
  std::chrono::duration<double> to_daemon(std::chrono::duration<double> d) const override { return d; }
  bool simulated() const override { return false; }

 private:
  ShopZone zone_;
  SystemClock clock_;
};

class SimulatedClock final : public DaemonClock {
 public:
  // REQUIRES: speed > 0.
  SimulatedClock(LocalTime start, double speed)
      : start_(start), speed_(speed), real_start_(std::chrono::steady_clock::now().time_since_epoch().count()) {}
  LocalTime now() const override {
    const std::chrono::duration<double> real = std::chrono::steady_clock::now() - real_start();
    return start_ + std::chrono::floor<Seconds>(real * speed_);
  }
  RealDuration to_real(std::chrono::duration<double> d) const override {
    return std::chrono::duration_cast<RealDuration>(d / speed_);
  }
  std::chrono::duration<double> to_daemon(std::chrono::duration<double> d) const override { return d * speed_; }
  bool simulated() const override { return true; }
  RealDuration until(LocalTime t) const override {
    // now() reaches t when the real time since the start, times the speed, reaches t - start.
    const auto at =
        real_start() + std::chrono::duration_cast<RealDuration>(std::chrono::duration<double>(t - start_) / speed_);
    return std::max(RealDuration::zero(), at - std::chrono::steady_clock::now());
  }
  void start() override { real_start_ = std::chrono::steady_clock::now().time_since_epoch().count(); }

 private:
  std::chrono::steady_clock::time_point real_start() const {
    return std::chrono::steady_clock::time_point(std::chrono::steady_clock::duration(real_start_.load()));
  }

  LocalTime start_;
  double speed_;
  // Set again by start() on the loop's thread while the status thread may read the clock.
  std::atomic<std::chrono::steady_clock::rep> real_start_;
};

// When the re-plan that follows sends runs: the first half-minute (hh:mm:30) at least 20 s after
// `now`. Reminders fall due on whole minutes, so the sends of a minute start at its first second;
// a re-plan a whole minute after them (as it was) ran exactly when the next minute's reminders
// fell due, and delayed them. Between 20 and 80 s later, so a burst of sends still makes one
// re-plan, not one per send.
inline LocalTime replan_moment(LocalTime now) {
  LocalTime t = std::chrono::floor<std::chrono::minutes>(now) + std::chrono::seconds{30};
  while (t - now < std::chrono::seconds{20}) t += std::chrono::minutes{1};
  return t;
}

}  // namespace cuifu
