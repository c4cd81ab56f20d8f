#include "io/zone.h"

#include <date/tz.h>
#include <fmt/format.h>

#include <stdexcept>

namespace cuifu {

namespace {
const date::time_zone* tz(const void* p) {
  return static_cast<const date::time_zone*>(p);
}

// The interval of one zone with one offset that the thread looked up last: get_info() searches
// the zone's transitions on every call, and a plan converts two times per reminder it writes
// (each both ways), nearly all of them in the same interval.
struct Span {
  const void* zone = nullptr;
  date::sys_seconds begin, end;  // [begin, end)
  std::chrono::seconds offset{};
};
thread_local Span last_span;

// tz(zone)->get_info(t).offset.
std::chrono::seconds offset_at(const void* zone, date::sys_seconds t) {
  Span& s = last_span;
  if (s.zone == zone && t >= s.begin && t < s.end) return s.offset;
  const auto info = tz(zone)->get_info(t);
  s = {zone, info.begin, info.end, info.offset};
  return info.offset;
}

// Local times this far inside the thread's last span map to exactly one instant, in that span:
// no other offset (they differ by less than a day) reaches past its ends.
constexpr std::chrono::seconds kSpanMargin = std::chrono::hours(48);
}  // namespace

ShopZone::ShopZone(const std::string& name) : name_(name), zone_(nullptr) {
  try {
    zone_ = date::locate_zone(name);
  } catch (const std::exception& e) {
    throw std::runtime_error(fmt::format("unknown time zone '{}' ({})", name, e.what()));
  }
}

LocalTime ShopZone::to_local(SysTime t) const {
  return LocalTime{t.time_since_epoch() + offset_at(zone_, date::sys_seconds{t.time_since_epoch()})};
}

SysTime ShopZone::to_sys(LocalTime t) const {
  // Well inside the span looked up last: the unique instant, as get_info(local) would give it.
  if (const Span& s = last_span; s.zone == zone_) {
    const date::sys_seconds at{t.time_since_epoch() - s.offset};
    if (at - s.begin >= kSpanMargin && s.end - at > kSpanMargin) return SysTime{at.time_since_epoch()};
  }
  const date::local_seconds lt{t.time_since_epoch()};
  const auto info = tz(zone_)->get_info(lt);
  switch (info.result) {
    case date::local_info::unique:
      last_span = {zone_, info.first.begin, info.first.end, info.first.offset};
      return SysTime{t.time_since_epoch() - info.first.offset};
    case date::local_info::ambiguous:  // the earlier instant
      return SysTime{t.time_since_epoch() - info.first.offset};
    case date::local_info::nonexistent:  // in a DST gap: the moment the gap ends
      return SysTime{info.second.begin.time_since_epoch()};
  }
  return SysTime{t.time_since_epoch() - info.first.offset};
}

std::string ShopZone::iso(SysTime t) const {
  const std::chrono::seconds offset = offset_at(zone_, date::sys_seconds{t.time_since_epoch()});
  const LocalTime local{t.time_since_epoch() + offset};
  const auto off = std::chrono::duration_cast<std::chrono::minutes>(offset).count();
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
