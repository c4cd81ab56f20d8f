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
  const std::string date_part = format_local_time(local);
  return fmt::format("{}T{}{}{:02d}:{:02d}", date_part.substr(0, 10), date_part.substr(11), off < 0 ? '-' : '+',
                     std::abs(off) / 60, std::abs(off) % 60);
}

std::string ShopZone::iso(LocalTime t) const {
  return iso(to_sys(t));
}

LocalTime SystemClock::now() const {
  return zone_.to_local(std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()));
}

}  // namespace cuifu
