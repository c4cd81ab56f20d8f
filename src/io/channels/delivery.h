// Delivering reminders on a channel: one attempt (ChannelSender), and around it the rate
// limit, retries with backoff and a worker thread (ChannelWorker), so a slow or failing
// channel never stalls the event loop or the other channels.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "core/send_policy.h"
#include "io/config.h"

namespace cuifu {

// What one attempt did.
struct AttemptResult {
  enum class Kind { delivered, retry, permanent };
  Kind kind = Kind::permanent;
  std::string detail;  // "HTTP 503: ...", "timeout", "HTTP 200"
  // No answer came after the request had left (a gateway that holds the connection, then a
  // timeout): it may have been received and delivered.
  bool in_doubt = false;
  static AttemptResult delivered(std::string d = {}) { return {Kind::delivered, std::move(d), false}; }
  static AttemptResult retry(std::string d, bool in_doubt = false) { return {Kind::retry, std::move(d), in_doubt}; }
  static AttemptResult permanent(std::string d) { return {Kind::permanent, std::move(d), false}; }
};

// Sends one reminder once. Implementations are called from one worker thread at a time
// and must not touch the store or the event loop. Every HTTP request carries the
// reminder's idempotency key (header X-Idempotency-Key) so a gateway can drop duplicates.
class ChannelSender {
 public:
  virtual ~ChannelSender() = default;
  virtual AttemptResult send(const Outgoing& row) = 0;
};

// A token bucket over caller-supplied time: `rate` tokens a second, at most `burst`.
// Pure arithmetic; not thread-safe.
class TokenBucket {
 public:
  using Clock = std::chrono::steady_clock;
  TokenBucket(double rate, int burst, Clock::time_point now);
  // Takes a token if one is there; otherwise returns how long until one will be.
  std::chrono::nanoseconds take(Clock::time_point now);

 private:
  double rate_;
  double burst_;
  double tokens_;
  Clock::time_point last_;
};

// The wait before retry number `retry` (1 = the first retry): initial * 2^(retry-1),
// capped at max, then scaled by a jitter factor in [0.5, 1.0] ("equal jitter").
// REQUIRES: 0 <= jitter01 <= 1.
std::chrono::milliseconds backoff_delay(int retry, const DeliveryPolicy& p, double jitter01);

// HTTP status -> what to do: 2xx delivered; 408, 429 and 5xx retry; other 4xx permanent;
// no response (refused, timeout) retry, in doubt when the request had left (`request_sent`).
AttemptResult classify_http(long status, const std::string& error, bool timed_out, const std::string& body,
                            bool request_sent = false);

// What became of one attempt handed to a ChannelWorker.
struct AttemptReport {
  std::int64_t id = 0;
  enum class Kind { delivered, retry, permanent, refused, not_started };
  Kind kind = Kind::not_started;
  std::string detail;     // the gateway's answer, or why the gate refused, or why it never started
  double seconds = 0;     // the request's duration, real time
  bool in_doubt = false;  // retry: no answer after the request left (AttemptResult::in_doubt)
  // When the request left (real time; unset when none did): the buyer's contact dates from then,
  // not from the claim, which may be a loop round earlier.
  std::optional<std::chrono::steady_clock::time_point> left;
};

// One channel's worker thread: it performs the attempts the daemon hands it, one at a time,
// each exactly once. It has no queue of its own beyond what it was handed: the daemon hands
// a row only when the row is claimed (marked 'sending') and the channel has room, so a crash
// leaves in doubt only the requests that may really have left. Retries, backoff and the rate
// limit are the daemon's (through the outbox and the gate), not the worker's.
// submit() and stop() may be called from any thread; `done` runs on the worker thread.
class ChannelWorker {
 public:
  using Done = std::function<void(AttemptReport)>;
  // Asked on the worker thread right before the request: empty to go ahead, otherwise why
  // the reminder must not go out now (paid meanwhile, stale feed, quiet hours...).
  // Must be thread-safe.
  using Gate = std::function<std::string(const Outgoing&)>;
  ChannelWorker(std::string name, std::unique_ptr<ChannelSender> sender);
  ~ChannelWorker();  // stop() + join
  ChannelWorker(const ChannelWorker&) = delete;
  ChannelWorker& operator=(const ChannelWorker&) = delete;

  void submit(std::int64_t id, Outgoing out, Done done, Gate gate = {});
  // No new work: what was handed but not started is reported not_started; a request in
  // progress finishes (bounded by the channel timeout).
  void stop();
  // Handed and not yet reported.
  std::size_t pending() const;
  // stop() and wait for the thread to end (the attempt in progress included).
  void join();

 private:
  void run();

  std::string name_;
  std::unique_ptr<ChannelSender> sender_;
  mutable std::mutex mu_;  // guards queue_, stopping_, busy_
  std::condition_variable cv_;
  struct Item {
    std::int64_t id = 0;
    Outgoing out;
    Done done;
    Gate gate;
  };
  std::deque<Item> queue_;
  bool stopping_ = false;
  bool busy_ = false;
  std::thread thread_;
};

}  // namespace cuifu
