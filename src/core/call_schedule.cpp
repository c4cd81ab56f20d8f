#include "core/call_schedule.h"

#include <algorithm>
#include <map>
#include <numeric>

namespace cuifu {

std::vector<std::optional<LocalTime>> spread_calls(const std::vector<CallToSpread>& calls, LocalTime day,
                                                   const std::vector<DailyWindow>& windows,
                                                   const std::vector<DailyWindow>& quiet, int per_hour) {
  per_hour = std::clamp(per_hour, 1, 60);
  const LocalTime midnight = start_of_day(day);
  const auto allowed = [&](int m) {
    const auto in = [m](const DailyWindow& w) { return w.contains(m); };
    return (windows.empty() || std::any_of(windows.begin(), windows.end(), in)) &&
           std::none_of(quiet.begin(), quiet.end(), in);
  };
  std::vector<int> slots;  // minutes of the day, ascending
  const int step = 60 / per_hour;
  for (int h = 0; h < 24; ++h) {
    for (int k = 0; k < per_hour; ++k) {
      if (allowed(h * 60 + k * step)) slots.push_back(h * 60 + k * step);
    }
  }
  std::vector<bool> taken(slots.size(), false);

  std::vector<std::size_t> order(calls.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    const auto& x = calls[a];
    const auto& y = calls[b];
    if (x.amount != y.amount) return x.amount > y.amount;
    if (x.due_at != y.due_at) return x.due_at < y.due_at;
    return x.key < y.key;
  });
  std::vector<std::optional<LocalTime>> out(calls.size());
  for (const std::size_t i : order) {
    for (std::size_t s = 0; s < slots.size(); ++s) {
      const LocalTime at = midnight + Minutes{slots[s]};
      if (taken[s] || at < calls[i].due_at) continue;
      taken[s] = true;
      out[i] = at;
      break;
    }
  }
  return out;
}

CallDeskLoad call_desk_load(const std::vector<PlannedReminder>& reminders, const Rules& rules) {
  std::map<LocalTime, std::vector<CallToSpread>> by_day;
  for (const auto& r : reminders) {
    if (r.channel == Channel::phone)
      by_day[start_of_day(r.send_at)].push_back({r.idempotency_key(), r.amount, r.send_at});
  }
  const ChannelRule* phone = rules.channel(Channel::phone);
  const std::vector<DailyWindow> none;
  CallDeskLoad load;
  for (const auto& [day, calls] : by_day) {
    load.tasks += static_cast<int>(calls.size());
    ++load.days;
    if (static_cast<int>(calls.size()) > load.busiest_day_tasks) {
      load.busiest_day_tasks = static_cast<int>(calls.size());
      load.busiest_day = day;
    }
    for (const auto& at :
         spread_calls(calls, day, phone ? phone->windows : none, rules.quiet_hours, rules.calls.per_hour)) {
      load.without_slot += !at;
    }
  }
  return load;
}

}  // namespace cuifu
