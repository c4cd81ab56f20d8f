// `cuifu run`: the reminder daemon.
//
// A Daemon is a thin loop (io_context, signal_set, timers, reload, shutdown) over parts that
// return values and are tested alone: reconcile (plan + rows -> upserts and cancels), the send
// gate (due row + snapshot + contacts -> send or cancel, through core/send_policy), the
// delivery book (claims, outcomes, recovery after a crash) and the status routes. Feed polls
// and channel sends run on worker threads and post their results back, so the loop never
// blocks on the network; the store, the rules and the snapshot are touched only on the loop
// thread (the workers read an immutable copy through SendGate). Everything that can be wrong
// with the setup (config, secrets, rules, templates, database, listen address) fails in the
// constructor, before the loop starts, so errors reach the terminal.
//
// Delivery: up to 64 requests in flight on a channel whose gateway drops duplicates by key, 4 on
// the others (one per worker). A row is 'sending' only while its request may be on its way;
// after a crash it is resent with the same idempotency key where the gateway drops
// duplicates, and reported 'unknown' (never resent) where it would not.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "core/clock_time.h"
#include "io/config.h"

namespace cuifu {

struct DaemonOptions {
  std::string config_path;
  std::optional<LocalTime> simulate_from;  // rehearsal: a simulated clock starting here
  double speed = 1;                        // rehearsal: how much faster than real time
};

class Daemon {
 public:
  // Loads and validates everything; throws (LoadError, StoreError, std::runtime_error) on any problem.
  explicit Daemon(const DaemonOptions& options);
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // Runs until SIGTERM/SIGINT; returns the exit code (0 after a graceful stop).
  int run();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cuifu
