#include "io/zone.h"

#include <date/tz.h>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

namespace cuifu {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

// ShopZone's conversions straight from date/tz, a lookup each (what ShopZone did before it kept
// the span it looked up last).
struct Reference {
  const date::time_zone* zone;

  LocalTime to_local(SysTime t) const {
    return LocalTime{t.time_since_epoch() + zone->get_info(date::sys_seconds{t.time_since_epoch()}).offset};
  }
  SysTime to_sys(LocalTime t) const {
    const auto info = zone->get_info(date::local_seconds{t.time_since_epoch()});
    if (info.result == date::local_info::nonexistent) return SysTime{info.second.begin.time_since_epoch()};
    return SysTime{t.time_since_epoch() - info.first.offset};
  }
  std::string iso(SysTime t) const {
    const auto offset = zone->get_info(date::sys_seconds{t.time_since_epoch()}).offset;
    const auto off = std::chrono::duration_cast<minutes>(offset).count();
    const LocalTime local{t.time_since_epoch() + offset};
    std::string text = format_local_time(local);
    text[10] = 'T';
    return fmt::format("{}{}{:02d}:{:02d}", text, off < 0 ? '-' : '+', std::abs(off) / 60, std::abs(off) % 60);
  }
};

SysTime utc(int y, unsigned m, unsigned d, int h = 0) {
  return SysTime{date::sys_days{date::year{y} / m / d}.time_since_epoch() + hours{h}};
}

// ShopZone keeps, per thread, the last span of one offset it looked up and converts inside it
// without asking date/tz: the same instants, local times and texts as asking every time, across
// DST changes (into a gap, out through the repeated hour), a 30-minute DST (Lord Howe), a zone
// that skipped a whole day (Apia, 2011-12-30), and zones taken in turn.
TEST(ShopZone, ConversionsAreDateTzsAcrossTransitionsAndZones) {
  const std::vector<std::string> names = {"Asia/Shanghai", "America/New_York", "Europe/London", "Australia/Lord_Howe",
                                          "Pacific/Apia"};
  std::vector<ShopZone> zones;
  std::vector<Reference> refs;
  for (const auto& n : names) {
    zones.emplace_back(n);
    refs.push_back({date::locate_zone(n)});
  }
  const auto check = [&](std::size_t z, SysTime t) {
    const ShopZone& zone = zones[z];
    const Reference& ref = refs[z];
    const LocalTime local = ref.to_local(t);
    ASSERT_EQ(zone.to_local(t), local) << names[z] << " " << ref.iso(t);
    ASSERT_EQ(zone.iso(t), ref.iso(t)) << names[z];
    ASSERT_EQ(zone.iso(local), ref.iso(ref.to_sys(local))) << names[z] << " " << ref.iso(t);
    // Local times around it, some in a gap or a repeated hour when t is near a change.
    for (const auto d :
         {minutes{0}, minutes{-61}, minutes{29}, minutes{59}, minutes{-30}, minutes{25 * 60}, minutes{-47 * 60}}) {
      ASSERT_EQ(zone.to_sys(local + d), ref.to_sys(local + d)) << names[z] << " " << ref.iso(t) << " " << d.count();
    }
  };
  // Every zone through two years, a step of 7 h 13 min (so every hour of the day comes round).
  for (std::size_t z = 0; z < zones.size(); ++z) {
    for (SysTime t = utc(2011, 1, 1); t < utc(2013, 1, 1); t += hours{7} + minutes{13}) check(z, t);
  }
  // Minute by minute over each zone's changes of 2011 (and Apia's lost day), zones in turn.
  for (SysTime t = utc(2011, 3, 12); t < utc(2011, 3, 14); t += minutes{7}) {
    for (std::size_t z = 0; z < zones.size(); ++z) check(z, t);
  }
  for (const SysTime from :
       {utc(2011, 3, 26), utc(2011, 4, 2), utc(2011, 10, 1), utc(2011, 10, 29), utc(2011, 11, 5), utc(2011, 12, 29)}) {
    for (std::size_t z = 0; z < zones.size(); ++z) {
      for (SysTime t = from; t < from + hours{48}; t += minutes{5}) check(z, t);
    }
  }
}

TEST(ShopZone, TheSameOnEveryThread) {
  const ShopZone zone("America/New_York");
  const Reference ref{date::locate_zone("America/New_York")};
  std::vector<std::string> mine, theirs;
  const auto run = [&](std::vector<std::string>& out) {
    for (SysTime t = utc(2026, 3, 7); t < utc(2026, 3, 10); t += minutes{37}) {
      out.push_back(zone.iso(t) + " " + zone.iso(zone.to_local(t) + minutes{90}));
    }
  };
  run(mine);
  std::thread other([&] { run(theirs); });
  other.join();
  EXPECT_EQ(mine, theirs);
  EXPECT_EQ(mine.front(),
            ref.iso(utc(2026, 3, 7)) + " " + ref.iso(ref.to_sys(ref.to_local(utc(2026, 3, 7)) + minutes{90})));
}

}  // namespace
}  // namespace cuifu
