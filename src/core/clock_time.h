// Shop-local wall-clock time for the pure core.
//
// The planner reasons in the shop's local time: quiet hours, channel windows and
// "per calendar day" caps are all local notions, and order exports carry local
// times. Conversion to and from absolute instants (with the shop's time zone)
// happens at the io edge (io/zone.h), never here.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace cuifu {

using LocalTime = std::chrono::local_seconds;
using Minutes = std::chrono::minutes;
using Seconds = std::chrono::seconds;

// Parses "YYYY-MM-DD HH:MM[:SS]" (a 'T' or '/' date separator is accepted too).
// Returns nullopt for anything else, including impossible dates (2026-02-30).
std::optional<LocalTime> parse_local_time(std::string_view text);

// Parses "YYYY-MM-DD" into local midnight of that day.
std::optional<LocalTime> parse_local_date(std::string_view text);

// "YYYY-MM-DD HH:MM:SS" / "YYYY-MM-DD HH:MM" / "YYYY-MM-DD".
std::string format_local_time(LocalTime t);
std::string format_local_hm(LocalTime t);
std::string format_local_date(LocalTime t);

// Local midnight of the day that contains t.
LocalTime start_of_day(LocalTime t);

// Minutes since local midnight, 0..1439.
int minute_of_day(LocalTime t);

// Hour of the day, 0..23.
inline int hour_of_day(LocalTime t) {
  return minute_of_day(t) / 60;
}

// Supplies "now" to whoever needs it. The core never reads the real clock;
// the daemon, plan and backtest each pass their own (real, fixed or simulated).
class Clock {
 public:
  virtual ~Clock() = default;
  virtual LocalTime now() const = 0;
};

// A clock that answers a set instant until moved: for tests that step time by hand.
class FixedClock final : public Clock {
 public:
  explicit FixedClock(LocalTime t) : now_(t) {}
  LocalTime now() const override { return now_; }
  void set(LocalTime t) { now_ = t; }

 private:
  LocalTime now_;
};

}  // namespace cuifu
