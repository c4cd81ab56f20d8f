#include "io/channels/delivery.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "io/quiet_thread.h"

namespace cuifu {

TokenBucket::TokenBucket(double rate, int burst, Clock::time_point now)
    : rate_(rate), burst_(std::max(1, burst)), tokens_(burst_), last_(now) {}

std::chrono::nanoseconds TokenBucket::take(Clock::time_point now) {
  if (now > last_) {
    tokens_ = std::min(burst_, tokens_ + std::chrono::duration<double>(now - last_).count() * rate_);
    last_ = now;
  }
  if (tokens_ >= 1.0) {
    tokens_ -= 1.0;
    return std::chrono::nanoseconds{0};
  }
  const double wait = (1.0 - tokens_) / rate_;
  return std::chrono::nanoseconds{static_cast<std::int64_t>(std::ceil(wait * 1e9))};
}

std::chrono::milliseconds backoff_delay(int retry, const DeliveryPolicy& p, double jitter01) {
  const double initial = std::chrono::duration<double, std::milli>(p.backoff_initial).count();
  const double cap = std::chrono::duration<double, std::milli>(p.backoff_max).count();
  const double exp = std::min(cap, initial * std::pow(2.0, std::max(0, retry - 1)));
  const double j = 0.5 + 0.5 * std::clamp(jitter01, 0.0, 1.0);
  return std::chrono::milliseconds{static_cast<std::int64_t>(exp * j)};
}

AttemptResult classify_http(long status, const std::string& error, bool timed_out, const std::string& body,
                            bool request_sent) {
  const std::string snippet = body.size() > 200 ? body.substr(0, 200) + "…" : body;
  if (status == 0) {
    std::string d = timed_out ? "timeout: " + error : error;
    if (request_sent) d = "no answer after the request was sent (" + d + ")";
    return AttemptResult::retry(std::move(d), request_sent);
  }
  if (status >= 200 && status < 300) return AttemptResult::delivered(fmt::format("HTTP {}", status));
  if (status == 408 || status == 429 || status >= 500) {
    return AttemptResult::retry(fmt::format("HTTP {}: {}", status, snippet));
  }
  return AttemptResult::permanent(fmt::format("HTTP {}: {}", status, snippet));
}

ChannelWorker::ChannelWorker(std::string name, std::unique_ptr<ChannelSender> sender)
    : name_(std::move(name)), sender_(std::move(sender)), thread_(thread_without_signals([this] { run(); })) {}

ChannelWorker::~ChannelWorker() {
  join();
}

void ChannelWorker::join() {
  stop();
  if (thread_.joinable()) join_holding_signals(thread_);
}

void ChannelWorker::submit(std::int64_t id, Outgoing out, Done done, Gate gate) {
  bool queued = false;
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {
      queue_.push_back(Item{id, std::move(out), std::move(done), std::move(gate)});
      queued = true;
    }
  }
  if (queued) {
    // After the lock is released: the worker woken does not block on it at once.
    cv_.notify_one();
    return;
  }
  AttemptReport r;
  r.id = id;
  r.kind = AttemptReport::Kind::not_started;
  r.detail = "shutting down";
  done(std::move(r));
}

void ChannelWorker::stop() {
  std::lock_guard lock(mu_);
  stopping_ = true;
  cv_.notify_all();
}

std::size_t ChannelWorker::pending() const {
  std::lock_guard lock(mu_);
  return queue_.size() + (busy_ ? 1 : 0);
}

void ChannelWorker::run() {
  for (;;) {
    Item item;
    bool stopped = false;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and drained
      item = std::move(queue_.front());
      queue_.pop_front();
      busy_ = true;
      stopped = stopping_;  // handed but never started: report it, unsent
    }
    AttemptReport report;
    report.id = item.id;
    const auto start = std::chrono::steady_clock::now();
    if (stopped) {
      report.kind = AttemptReport::Kind::not_started;
      report.detail = "shutting down";
    } else if (std::string why = item.gate ? item.gate(item.out) : std::string{}; !why.empty()) {
      report.kind = AttemptReport::Kind::refused;
      report.detail = std::move(why);
    } else {
      report.left = std::chrono::steady_clock::now();
      const AttemptResult r = sender_->send(item.out);
      report.detail = r.detail;
      switch (r.kind) {
        case AttemptResult::Kind::delivered: report.kind = AttemptReport::Kind::delivered; break;
        case AttemptResult::Kind::retry:
          report.kind = AttemptReport::Kind::retry;
          report.in_doubt = r.in_doubt;
          break;
        case AttemptResult::Kind::permanent: report.kind = AttemptReport::Kind::permanent; break;
      }
    }
    report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    item.done(std::move(report));
    std::lock_guard lock(mu_);
    busy_ = false;
  }
}

}  // namespace cuifu
