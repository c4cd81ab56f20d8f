// The status server's read-only routes (/healthz, /metrics) as functions of plain facts the
// daemon gathers: no daemon state is reached from here, so they are tested alone.
#pragma once

#include <array>
#include <cstdint>
#include <iterator>
#include <map>
#include <optional>
#include <string>

#include "app/status_server.h"
#include "io/store.h"

namespace cuifu {

// Latency histogram for /metrics (seconds). Loop thread only.
struct LatencyHistogram {
  static constexpr double kBounds[] = {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
  std::array<std::uint64_t, std::size(kBounds)> buckets{};
  std::uint64_t count = 0;
  double sum = 0;
  void observe(double s);
};

struct StatusFacts {
  bool paused = true;
  std::string paused_reason;
  std::string now;  // daemon time, formatted
  bool simulated = false;
  std::string feed;
  std::optional<double> feed_age_seconds;  // daemon time
  std::size_t feed_orders = 0;
  // Why the newest feed snapshot is not trusted to cancel anything ("" when it is).
  std::string feed_suspect;
  std::size_t in_flight = 0;
  std::optional<std::string> chat;  // the chat export, when one is configured
  std::size_t chat_messages = 0;
  std::string chat_error;
  std::map<std::pair<Channel, OutboxState>, std::int64_t> counts;
  LatencyHistogram latency;
  // Attempts that ended, by outcome ("sent", "retry", "failed", "cancelled", "released").
  std::map<std::string, std::uint64_t> attempts;
  // The plan against the outbox: a reconcile being prepared or written now, and the last one
  // that ended (none yet: a daemon just started has not planned anything).
  bool reconciling = false;
  struct Reconciled {
    std::string why;       // "new feed snapshot", "reload", "after a send", ...
    std::string finished;  // daemon time, formatted
    double seconds = 0;    // from its start until written (real time)
    bool ok = true;        // false: given up (a database error, the daemon stopping)
    int buyers_planned = 0;
    int inserted = 0;
    int revived = 0;
    int cancelled = 0;
  };
  std::optional<Reconciled> last_reconcile;
};

StatusReply healthz_reply(const StatusFacts& f);
StatusReply metrics_reply(const StatusFacts& f);

}  // namespace cuifu
