#include "app/send_gate.h"

#include <fmt/format.h>

#include <algorithm>
#include <tuple>

namespace cuifu {

namespace {

std::string minutes(std::chrono::duration<double> d) {
  return fmt::format("{} min", static_cast<long long>(d.count() / 60));
}

GateDecision not_time_or_place(const GateInputs& in, const Outgoing& row, LocalTime now) {
  using K = GateDecision::Kind;
  if (in.paused) return {K::paused, "sending paused: " + in.paused_reason};
  if (!in.orders) return {K::paused, "sending paused: no feed snapshot"};
  if (!in.rules) return {K::paused, "sending paused: no rules"};
  const auto view_of = [&](const std::string& id) -> std::optional<OrderView> {
    const Order* o = in.orders->find(id);
    return o ? std::optional<OrderView>(order_view(*o, *in.rules)) : std::nullopt;
  };
  if (std::string p = payable_problem(view_of, row, now); !p.empty()) return {K::not_payable, std::move(p)};
  if (is_opted_out(in.opted_out, row)) {
    return {K::opted_out, fmt::format("buyer opted out of {}", to_string(row.channel))};
  }
  if (!in.configured.count(row.channel)) {
    return {K::not_configured, fmt::format("channel {} is not configured", to_string(row.channel))};
  }
  if (std::string p = send_time_problem(*in.rules, row, now); !p.empty()) return {K::send_time, std::move(p)};
  return {};
}

}  // namespace

bool is_opted_out(const OptOutSet& opted_out, const Outgoing& row) {
  if (opted_out.empty()) return false;  // no key built (two strings copied) for every send
  return opted_out.count({"", row.buyer, row.channel}) > 0 ||
         (!row.shop.empty() && opted_out.count({row.shop, row.buyer, row.channel}) > 0);
}

GateDecision decide(const GateInputs& in, const Outgoing& row, const std::vector<ContactRecord>& contacts,
                    LocalTime now) {
  using K = GateDecision::Kind;
  if (in.paused) return {K::paused, "sending paused: " + in.paused_reason};
  const auto late = std::chrono::duration<double>(now - row.send_at);
  if (late > in.catch_up_limit) {
    return {K::missed_slot, fmt::format("missed its slot {} by {} (catch-up limit {}): not sent late; re-planning",
                                        format_local_hm(row.send_at), minutes(late), minutes(in.catch_up_limit))};
  }
  if (GateDecision d = not_time_or_place(in, row, now); !d.sends()) return d;
  if (std::string p = cap_problem(*in.rules, contacts, row, now); !p.empty()) return {K::caps, std::move(p)};
  return {};
}

std::vector<CatchUpSlot> spread_catch_up(std::vector<OutboxRow> backlog, LocalTime now, std::chrono::seconds spread,
                                         std::chrono::seconds catch_up_limit) {
  std::map<Channel, std::vector<const OutboxRow*>> by_channel;
  std::sort(backlog.begin(), backlog.end(), [](const OutboxRow& a, const OutboxRow& b) {
    return std::tie(a.send_at, a.id) < std::tie(b.send_at, b.id);
  });
  for (const auto& r : backlog) by_channel[r.channel].push_back(&r);
  std::vector<CatchUpSlot> out;
  for (const auto& [channel, rows] : by_channel) {
    const auto gap = std::chrono::duration<double>(spread) / static_cast<double>(rows.size());
    for (std::size_t i = 1; i < rows.size(); ++i) {
      const LocalTime even = now + std::chrono::floor<Seconds>(gap * static_cast<double>(i));
      const LocalTime latest = rows[i]->send_at + catch_up_limit - Minutes{1};
      const LocalTime at = std::min(even, latest);
      if (at > now) out.push_back({rows[i]->id, at});
    }
  }
  return out;
}

void SendGate::publish(std::shared_ptr<const GateInputs> in) {
  std::lock_guard lock(mu_);
  inputs_ = std::move(in);
}

std::shared_ptr<const GateInputs> SendGate::inputs() const {
  std::lock_guard lock(mu_);
  return inputs_;
}

std::string SendGate::last_look(const Outgoing& row, LocalTime now) const {
  return not_time_or_place(*inputs(), row, now).detail;
}

}  // namespace cuifu
