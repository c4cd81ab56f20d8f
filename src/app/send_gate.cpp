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

bool is_opted_out(const OptOutSet& opted_out, const OutboxRow& row) {
  return opted_out.count({"", row.buyer, row.channel}) > 0 ||
         (!row.shop.empty() && opted_out.count({row.shop, row.buyer, row.channel}) > 0);
}

std::string cap_problem(const Rules& rules, const std::vector<ContactRecord>& contacts, const OutboxRow& row,
                        LocalTime now) {
  const Caps& caps = *rules.for_shop(row.shop).caps;
  const ContactRecord* last = nullptr;
  int today = 0;
  for (const auto& c : contacts) {
    // A contact logged without a shop (before shops were kept apart) counts in every shop.
    if (c.buyer != row.buyer || (!c.shop.empty() && c.shop != row.shop) || c.at > now) continue;
    if (!last || c.at > last->at) last = &c;
    today += start_of_day(c.at) == start_of_day(now);
  }
  if (last && now - last->at < caps.min_gap) {
    return fmt::format("only {} min since the previous contact at {} (min gap {} min)",
                       std::chrono::duration_cast<Minutes>(now - last->at).count(), format_local_hm(last->at),
                       caps.min_gap.count());
  }
  const bool same_sequence =
      last && (now - last->at < caps.repeat_channel_lookback ||
               std::any_of(row.order_ids.begin(), row.order_ids.end(), [&](const std::string& id) {
                 return std::find(last->order_ids.begin(), last->order_ids.end(), id) != last->order_ids.end();
               }));
  if (last && caps.no_repeat_channel && last->channel == row.channel && same_sequence) {
    return fmt::format("{} was the previous contact too (never the same channel twice in a row)",
                       to_string(row.channel));
  }
  if (today >= caps.max_per_buyer_per_day) {
    return fmt::format("{} contacts on {} already (cap {} a day)", today, format_local_date(now),
                       caps.max_per_buyer_per_day);
  }
  for (const auto& id : row.order_ids) {
    const auto n = std::count_if(contacts.begin(), contacts.end(), [&](const ContactRecord& c) {
      return c.at <= now && (c.shop.empty() || c.shop == row.shop) &&
             std::find(c.order_ids.begin(), c.order_ids.end(), id) != c.order_ids.end();
    });
    if (n >= caps.max_per_order) {
      return fmt::format("order {} was reminded {} times already (cap {})", id, n, caps.max_per_order);
    }
  }
  return {};
}

}  // namespace cuifu
