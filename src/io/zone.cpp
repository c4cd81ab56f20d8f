#include "io/zone.h"

#include <date/tz.h>
#include <fmt/format.h>

#include <stdexcept>

namespace cuifu {

namespace {
const date::time_zone* tz(const void* p) {
  return static_cast<const date::time_zone*>(p);
}
}  // namespace

ShopZone::ShopZone(const std::string& name) : name_(name), zone_(nullptr) {
  try {
    zone_ = date::locate_zone(name);
  } catch (const std::exception& e) {
    throw std::runtime_error(fmt::format("unknown time zone '{}' ({})", name, e.what()));
  }
}

LocalTime ShopZone::to_local(SysTime t) const {
  const auto info = tz(zone_)->get_info(date::sys_seconds{t.time_since_epoch()});
  return LocalTime{t.time_since_epoch() + info.offset};
}

SysTime ShopZone::to_sys(LocalTime t) const {
  const date::local_seconds lt{t.time_since_epoch()};
  const auto info = tz(zone_)->get_info(lt);
  switch (info.result) {
    case date::local_info::unique:
    case date::local_info::ambiguous:  // the earlier instant
      return SysTime{t.time_since_epoch() - info.first.offset};
    case date::local_info::nonexistent:  // in a DST gap: the moment the gap ends
      return SysTime{info.second.begin.time_since_epoch()};
  }
  return SysTime{t.time_since_epoch() - info.first.offset};
}

std::string ShopZone::iso(SysTime t) const {
  const auto info = tz(zone_)->get_info(date::sys_seconds{t.time_since_epoch()});
  const LocalTime local{t.time_since_epoch() + info.offset};
  const auto off = std::chrono::duration_cast<std::chrono::minutes>(info.offset).count();
  std::string out = format_local_time(local);
  const auto h = static_cast<int>(std::abs(off) / 60), m = static_cast<int>(std::abs(off) % 60);
  if (out.size() == 19 && h < 100) {  // YYYY-MM-DD HH:MM:SS, written without a format string (one per reminder)
    out[10] = 'T';
    out += off < 0 ? '-' : '+';
    out += {static_cast<char>('0' + h / 10), static_cast<char>('0' + h % 10), ':', static_cast<char>('0' + m / 10),
            static_cast<char>('0' + m % 10)};
    return out;
  }
  return fmt::format("{}T{}{}{:02d}:{:02d}", out.substr(0, 10), out.substr(11), off < 0 ? '-' : '+', h, m);
}

std::string ShopZone::iso(LocalTime t) const {
  return iso(to_sys(t));
}

LocalTime SystemClock::now() const {
  return zone_.to_local(std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()));
}

}  // namespace cuifu
