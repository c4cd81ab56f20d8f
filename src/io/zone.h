// Shop time zone: converts between absolute instants and the shop-local time the
// core reasons in. Backed by date/tz (the system tzdata).
#pragma once

#include <chrono>
#include <string>

#include "core/clock_time.h"

namespace cuifu {

using SysTime = std::chrono::sys_seconds;

// A named IANA zone. Cheap to copy. Thread-safe.
class ShopZone {
 public:
  // Throws std::runtime_error for an unknown zone name.
  explicit ShopZone(const std::string& name = "Asia/Shanghai");
  const std::string& name() const { return name_; }

  LocalTime to_local(SysTime t) const;
  // Nonexistent local times (DST gaps) map forward; ambiguous ones to the earlier instant.
  SysTime to_sys(LocalTime t) const;
  // ISO 8601 with offset: 2026-11-24T12:00:00+08:00.
  std::string iso(LocalTime t) const;
  std::string iso(SysTime t) const;

 private:
  std::string name_;
  const void* zone_;  // const date::time_zone*, kept opaque so the header stays light
};

// The real clock in a shop zone: what the daemon and `plan` without --now use.
class SystemClock final : public Clock {
 public:
  explicit SystemClock(ShopZone zone) : zone_(std::move(zone)) {}
  LocalTime now() const override;

 private:
  ShopZone zone_;
};

}  // namespace cuifu
