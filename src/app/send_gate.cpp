#include "app/send_gate.h"

#include <fmt/format.h>

#include <algorithm>

namespace cuifu {

namespace {

bool in_any(const std::vector<DailyWindow>& ws, int m) {
  return std::any_of(ws.begin(), ws.end(), [m](const DailyWindow& w) { return w.contains(m); });
}

}  // namespace

std::string send_time_problem(const Rules& rules, const OutboxRow& row, LocalTime now) {
  const int m = minute_of_day(now);
  const std::string at = format_local_hm(now);
  const std::string ch(to_string(row.channel));
  for (const auto& q : rules.quiet_hours) {
    if (q.contains(m)) return fmt::format("{} is inside quiet hours {}", at, q.str());
  }
  const ChannelRule* rule = rules.channel(row.channel);
  if (!rule || !rule->enabled) return fmt::format("channel {} is disabled in the rules", ch);
  if (!rule->windows.empty() && !in_any(rule->windows, m)) {
    return fmt::format("{} is outside the {} windows", at, ch);
  }
  const SegmentRule* seg = rules.segment(row.segment);
  if (seg && row.step >= 1 && row.step <= static_cast<int>(seg->steps.size())) {
    const ReminderStep& step = seg->steps[static_cast<std::size_t>(row.step - 1)];
    if (step.channel == row.channel && !step.windows.empty() && !in_any(step.windows, m)) {
      return fmt::format("{} is outside step {}'s windows", at, row.step);
    }
  }
  return {};
}

}  // namespace cuifu
