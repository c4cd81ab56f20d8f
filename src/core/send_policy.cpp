#include "core/send_policy.h"

#include <fmt/format.h>

#include <algorithm>

namespace cuifu {

namespace {

bool in_any(const std::vector<DailyWindow>& ws, int m) {
  return std::any_of(ws.begin(), ws.end(), [m](const DailyWindow& w) { return w.contains(m); });
}

}  // namespace

std::vector<std::pair<int, int>> allowed_minutes(const std::vector<DailyWindow>& quiet_hours,
                                                 const std::vector<DailyWindow>& channel_windows,
                                                 const std::vector<DailyWindow>& step_windows) {
  const auto open = [](const std::vector<DailyWindow>& ws, int m) { return ws.empty() || in_any(ws, m); };
  const auto ok = [&](int x) { return open(channel_windows, x) && open(step_windows, x) && !in_any(quiet_hours, x); };
  // Whether a minute is allowed changes only where a window starts or ends: each stretch
  // between two such minutes is judged by its first minute.
  std::vector<int> edges = {0, 1440};
  for (const auto* ws : {&quiet_hours, &channel_windows, &step_windows}) {
    for (const DailyWindow& w : *ws) {
      edges.push_back(std::clamp(w.start, 0, 1440));
      edges.push_back(std::clamp(w.end, 0, 1440));
    }
  }
  std::sort(edges.begin(), edges.end());
  edges.erase(std::unique(edges.begin(), edges.end()), edges.end());
  std::vector<std::pair<int, int>> out;
  for (std::size_t i = 0; i + 1 < edges.size(); ++i) {
    if (!ok(edges[i])) continue;
    if (!out.empty() && out.back().second == edges[i]) {
      out.back().second = edges[i + 1];
    } else {
      out.emplace_back(edges[i], edges[i + 1]);
    }
  }
  return out;
}

const std::vector<DailyWindow>& step_windows(const SegmentRule* segment, int step, Channel channel) {
  static const std::vector<DailyWindow> kNone;
  if (!segment || step < 1 || step > static_cast<int>(segment->steps.size())) return kNone;
  const ReminderStep& s = segment->steps[static_cast<std::size_t>(step - 1)];
  return s.channel == channel ? s.windows : kNone;
}

std::string send_time_problem(const Rules& rules, const Outgoing& r, LocalTime now) {
  // The time is formatted only for a refusal (the planner asks this of every slot it plans).
  const int m = minute_of_day(now);
  for (const auto& q : rules.quiet_hours) {
    if (q.contains(m)) return fmt::format("{} is inside quiet hours {}", format_local_hm(now), q.str());
  }
  const ChannelRule* rule = rules.channel(r.channel);
  if (!rule || !rule->enabled) return fmt::format("channel {} is disabled in the rules", to_string(r.channel));
  if (!rule->windows.empty() && !in_any(rule->windows, m)) {
    return fmt::format("{} is outside the {} windows", format_local_hm(now), to_string(r.channel));
  }
  const auto& sw = step_windows(rules.segment(r.segment), r.step, r.channel);
  if (!sw.empty() && !in_any(sw, m))
    return fmt::format("{} is outside step {}'s windows", format_local_hm(now), r.step);
  return {};
}

std::string cap_problem(const Rules& rules, const std::vector<ContactRecord>& contacts, const Outgoing& r,
                        LocalTime now) {
  const Caps& caps = rules.caps_for(r.shop);  // for_shop(r.shop).caps, without copying its strings
  // A buyer is (shop, buyer); a contact logged without a shop (before shops were kept
  // apart) counts in every shop.
  const auto counts = [&](const ContactRecord& c) {
    return c.buyer == r.buyer && (c.shop.empty() || c.shop == r.shop) && c.at <= now;
  };
  const ContactRecord* last = nullptr;
  int today = 0;
  for (const auto& c : contacts) {
    if (!counts(c)) continue;
    if (!last || c.at > last->at) last = &c;
    today += start_of_day(c.at) == start_of_day(now);
  }
  if (last && now - last->at < caps.min_gap) {
    return fmt::format("only {} min since the previous contact at {} (min gap {} min)",
                       std::chrono::duration_cast<Minutes>(now - last->at).count(), format_local_hm(last->at),
                       caps.min_gap.count());
  }
  // Never the same channel twice in a row within one reminder sequence: the previous contact
  // was about one of these orders, or came within the look-back (the planner's rule).
  const bool same_sequence =
      last && (now - last->at < caps.repeat_channel_lookback ||
               std::any_of(r.order_ids.begin(), r.order_ids.end(), [&](const std::string& id) {
                 return std::find(last->order_ids.begin(), last->order_ids.end(), id) != last->order_ids.end();
               }));
  if (last && caps.no_repeat_channel && last->channel == r.channel && same_sequence) {
    return fmt::format("{} was the previous contact too (never the same channel twice in a row)", to_string(r.channel));
  }
  if (today >= caps.max_per_buyer_per_day) {
    return fmt::format("{} contacts on {} already (cap {} a day)", today, format_local_date(now),
                       caps.max_per_buyer_per_day);
  }
  for (const auto& id : r.order_ids) {
    const auto n = std::count_if(contacts.begin(), contacts.end(), [&](const ContactRecord& c) {
      return counts(c) && std::find(c.order_ids.begin(), c.order_ids.end(), id) != c.order_ids.end();
    });
    if (n >= caps.max_per_order) {
      return fmt::format("order {} was reminded {} times already (cap {})", id, n, caps.max_per_order);
    }
  }
  return {};
}

OrderView order_view(const Order& o, const Rules& rules) {
  return {o.status, o.paid_at, closes_at(o, rules)};  // the planner's close: pre-sale window, flash sale, auto-close
}

std::string payable_problem(const std::string& id, const OrderView& o, LocalTime now) {
  if (o.status == OrderStatus::paid) {
    return o.paid_at ? fmt::format("order {} paid at {}", id, format_local_hm(*o.paid_at))
                     : fmt::format("order {} paid", id);
  }
  if (o.status == OrderStatus::closed) return fmt::format("order {} closed", id);
  if (o.closes_at <= now) return fmt::format("order {} auto-closed at {}", id, format_local_hm(o.closes_at));
  return {};
}

std::string payable_problem(const std::map<std::string, OrderView>& orders, const Outgoing& r, LocalTime now) {
  return payable_problem(
      [&](const std::string& id) -> std::optional<OrderView> {
        const auto it = orders.find(id);
        return it == orders.end() ? std::nullopt : std::optional<OrderView>(it->second);
      },
      r, now);
}

std::string payable_problem(const std::function<std::optional<OrderView>(const std::string& id)>& view_of,
                            const Outgoing& r, LocalTime now) {
  for (const auto& id : r.order_ids) {
    const std::optional<OrderView> view = view_of(id);
    if (!view) return fmt::format("order {} is not in the newest feed snapshot", id);
    if (std::string why = payable_problem(id, *view, now); !why.empty()) return why;
  }
  return {};
}

}  // namespace cuifu
