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
#include <random>
#include <string>
#include <thread>

#include "io/config.h"
#include "io/store.h"

namespace cuifu {

// What one attempt did.
struct AttemptResult {
  enum class Kind { delivered, retry, permanent };
  Kind kind = Kind::permanent;
  std::string detail;  // "HTTP 503: ...", "timeout", "HTTP 200"
  static AttemptResult delivered(std::string d = {}) { return {Kind::delivered, std::move(d)}; }
  static AttemptResult retry(std::string d) { return {Kind::retry, std::move(d)}; }
  static AttemptResult permanent(std::string d) { return {Kind::permanent, std::move(d)}; }
};

// Sends one reminder once. Implementations are called from one worker thread at a time
// and must not touch the store or the event loop. Every HTTP request carries the
// reminder's idempotency key (header X-Idempotency-Key) so a gateway can drop duplicates.
class ChannelSender {
 public:
  virtual ~ChannelSender() = default;
  virtual AttemptResult send(const OutboxRow& row) = 0;
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
// no response (refused, timeout) retry.
AttemptResult classify_http(long status, const std::string& error, bool timed_out, const std::string& body);

// The end of a delivery, after retries.
struct DeliveryReport {
  std::int64_t id = 0;
  bool delivered = false;
  bool interrupted = false;  // stopped by shutdown before an attempt concluded it
  bool cancelled = false;    // the gate refused it right before an attempt; `error` says why
  int attempts = 0;
  std::string error;
  double seconds = 0;  // from the first attempt to the end, real time
};

// One channel's queue and worker thread. submit() may be called from any thread; `done`
// is called on the worker thread (the daemon posts it back to its loop).
class ChannelWorker {
 public:
  using Done = std::function<void(DeliveryReport)>;
  // Asked (on the worker thread) right before every attempt, after queueing, rate-limit
  // and backoff waits: empty to go ahead, otherwise why the reminder must not go out now
  // (paid meanwhile, stale feed, quiet hours...). Must be thread-safe.
  using Gate = std::function<std::string(const OutboxRow&)>;
  ChannelWorker(std::string name, std::unique_ptr<ChannelSender> sender, DeliveryPolicy policy);
  ~ChannelWorker();  // stop() + join
  ChannelWorker(const ChannelWorker&) = delete;
  ChannelWorker& operator=(const ChannelWorker&) = delete;

  void submit(OutboxRow row, Done done, Gate gate = {});
  // No new work: queued rows and rows waiting for a retry are reported interrupted; an
  // attempt in progress finishes (bounded by the channel timeout).
  void stop();
  std::size_t pending() const;

 private:
  void run();
  // Waits until `deadline` or stop(); false when stopped.
  bool wait_until(std::chrono::steady_clock::time_point deadline);

  std::string name_;
  std::unique_ptr<ChannelSender> sender_;
  DeliveryPolicy policy_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  struct Item {
    OutboxRow row;
    Done done;
    Gate gate;
  };
  std::deque<Item> queue_;
  bool stopping_ = false;
  bool busy_ = false;
  TokenBucket bucket_;
  std::mt19937 rng_;
  std::thread thread_;
};

}  // namespace cuifu
