// `cuifu run`: the reminder daemon.
//
// A Daemon owns its event loop (io_context), the signal_set and the timers; feed polls and
// channel sends run on worker threads and post their results back, so the loop never
// blocks on the network. The store, the rule set and the snapshot are touched only on the
// loop thread; the channel workers read only a mutex-guarded copy of what they need to refuse
// a queued or retried send right before an attempt (paid meanwhile, stale feed, quiet hours,
// opt-out). Everything that can be wrong with the setup (config, secrets, rules,
// templates, database, listen address) fails in the constructor, before the loop starts,
// so errors reach the terminal.
//
// Delivery is at-least-once with an idempotency key: a row is marked 'sending' before its
// request goes out; after a crash, 'sending' rows are sent again with the SAME key (the
// gateway drops the duplicate), which is preferred over possibly losing a reminder.
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
