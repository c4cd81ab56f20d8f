#include "app/status_routes.h"

#include <fmt/format.h>

#include <cmath>
#include <nlohmann/json.hpp>

namespace cuifu {

void LatencyHistogram::observe(double s) {
  for (std::size_t i = 0; i < std::size(kBounds); ++i) buckets[i] += s <= kBounds[i];
  ++count;
  sum += s;
}

namespace {

std::int64_t depth(const StatusFacts& f) {
  std::int64_t n = 0;
  for (const auto& [k, v] : f.counts) {
    if (k.second == OutboxState::planned || k.second == OutboxState::sending) n += v;
  }
  return n;
}

}  // namespace

StatusReply healthz_reply(const StatusFacts& f) {
  nlohmann::json j = {
      {"status", f.paused ? "paused" : "ok"},
      {"sending_paused", f.paused},
      {"reason", f.paused_reason},
      {"now", f.now},
      {"simulated", f.simulated},
      {"feed", f.feed},
      {"feed_age_seconds",
       f.feed_age_seconds ? nlohmann::json(static_cast<std::int64_t>(*f.feed_age_seconds)) : nlohmann::json(nullptr)},
      {"feed_orders", f.feed_orders},
      {"feed_trusted", f.feed_suspect.empty()},
      {"outbox_depth", depth(f)},
      {"in_flight", f.in_flight}};
  if (!f.feed_suspect.empty()) j["feed_suspect"] = f.feed_suspect;
  j["reconciling"] = f.reconciling;
  j["last_reconcile"] = nullptr;
  if (const auto& r = f.last_reconcile) {
    j["last_reconcile"] = {{"why", r->why},
                           {"finished", r->finished},
                           {"seconds", std::round(r->seconds * 1000) / 1000},
                           {"ok", r->ok},
                           {"buyers_planned", r->buyers_planned},
                           {"new", r->inserted},
                           {"re_planned", r->revived},
                           {"cancelled", r->cancelled}};
  }
  if (f.chat) {
    j["chat"] = *f.chat;
    j["chat_messages"] = f.chat_messages;
    j["chat_error"] = f.chat_error;
  }
  return {f.paused ? 503 : 200, "application/json", j.dump() + "\n"};
}

StatusReply metrics_reply(const StatusFacts& f) {
  std::string out;
  out += "# HELP cuifu_reminders_total Reminders in the outbox, by channel and state.\n";
  out += "# TYPE cuifu_reminders_total gauge\n";
  for (Channel c : kAllChannels) {
    for (auto s : kAllOutboxStates) {
      const auto it = f.counts.find({c, s});
      out += fmt::format("cuifu_reminders_total{{channel=\"{}\",state=\"{}\"}} {}\n", to_string(c), to_string(s),
                         it == f.counts.end() ? 0 : it->second);
    }
  }
  out += "# HELP cuifu_feed_age_seconds Age of the newest feed snapshot (daemon time).\n";
  out += "# TYPE cuifu_feed_age_seconds gauge\n";
  out += fmt::format("cuifu_feed_age_seconds {}\n",
                     f.feed_age_seconds ? fmt::format("{:.0f}", *f.feed_age_seconds) : "+Inf");
  out += "# HELP cuifu_outbox_depth Reminders planned or being sent.\n# TYPE cuifu_outbox_depth gauge\n";
  out += fmt::format("cuifu_outbox_depth {}\n", depth(f));
  out += "# HELP cuifu_in_flight Requests that may be on their way right now.\n# TYPE cuifu_in_flight gauge\n";
  out += fmt::format("cuifu_in_flight {}\n", f.in_flight);
  out += "# HELP cuifu_sending_paused 1 while sending is paused (stale or unreadable feed).\n";
  out += "# TYPE cuifu_sending_paused gauge\n";
  out += fmt::format("cuifu_sending_paused {}\n", f.paused ? 1 : 0);
  out += "# HELP cuifu_reconciling 1 while the plan is being made again against the outbox.\n";
  out += "# TYPE cuifu_reconciling gauge\n";
  out += fmt::format("cuifu_reconciling {}\n", f.reconciling ? 1 : 0);
  if (const auto& r = f.last_reconcile) {
    out += "# HELP cuifu_last_reconcile_seconds How long the last reconcile took, from its start until written.\n";
    out += "# TYPE cuifu_last_reconcile_seconds gauge\n";
    out += fmt::format("cuifu_last_reconcile_seconds {:.3f}\n", r->seconds);
  }
  out += "# HELP cuifu_attempts_total Send attempts that ended, by outcome.\n# TYPE cuifu_attempts_total counter\n";
  for (const auto& [k, n] : f.attempts) out += fmt::format("cuifu_attempts_total{{outcome=\"{}\"}} {}\n", k, n);
  out += "# HELP cuifu_send_latency_seconds Time of one send attempt (real time).\n";
  out += "# TYPE cuifu_send_latency_seconds histogram\n";
  for (std::size_t i = 0; i < std::size(LatencyHistogram::kBounds); ++i) {
    out += fmt::format("cuifu_send_latency_seconds_bucket{{le=\"{}\"}} {}\n", LatencyHistogram::kBounds[i],
                       f.latency.buckets[i]);
  }
  out += fmt::format("cuifu_send_latency_seconds_bucket{{le=\"+Inf\"}} {}\n", f.latency.count);
  out += fmt::format("cuifu_send_latency_seconds_sum {}\n", f.latency.sum);
  out += fmt::format("cuifu_send_latency_seconds_count {}\n", f.latency.count);
  return {200, "text/plain; version=0.0.4; charset=utf-8", out};
}

}  // namespace cuifu
