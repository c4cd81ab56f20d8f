#include "io/channels/delivery.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>

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

AttemptResult classify_http(long status, const std::string& error, bool timed_out, const std::string& body) {
  const std::string snippet = body.size() > 200 ? body.substr(0, 200) + "…" : body;
  if (status == 0) return AttemptResult::retry(timed_out ? "timeout: " + error : error);
  if (status >= 200 && status < 300) return AttemptResult::delivered(fmt::format("HTTP {}", status));
  if (status == 408 || status == 429 || status >= 500) {
    return AttemptResult::retry(fmt::format("HTTP {}: {}", status, snippet));
  }
  return AttemptResult::permanent(fmt::format("HTTP {}: {}", status, snippet));
}

ChannelWorker::ChannelWorker(std::string name, std::unique_ptr<ChannelSender> sender, DeliveryPolicy policy)
    : name_(std::move(name)),
      sender_(std::move(sender)),
      policy_(policy),
      bucket_(policy.rate_per_second, policy.burst, std::chrono::steady_clock::now()),
      rng_(std::random_device{}()),
      thread_([this] { run(); }) {}

ChannelWorker::~ChannelWorker() {
  stop();
  if (thread_.joinable()) thread_.join();
}

void ChannelWorker::submit(OutboxRow row, Done done, Gate gate) {
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {
      queue_.push_back(Item{std::move(row), std::move(done), std::move(gate)});
      cv_.notify_all();
      return;
    }
  }
  DeliveryReport r;
  r.id = row.id;
  r.interrupted = true;
  r.error = "shutting down";
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

bool ChannelWorker::wait_until(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(mu_);
  cv_.wait_until(lock, deadline, [&] { return stopping_; });
  return !stopping_;
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
      stopped = stopping_;  // queued but never started: report it interrupted, unsent
    }
    auto& [row, done, gate] = item;
    DeliveryReport report;
    report.id = row.id;
    const auto start = std::chrono::steady_clock::now();
    for (int attempt = 1; !stopped; ++attempt) {
      // Rate limit: wait for a token (interruptible).
      for (;;) {
        const auto wait = bucket_.take(std::chrono::steady_clock::now());
        if (wait.count() == 0) break;
        if (!wait_until(std::chrono::steady_clock::now() + wait)) {
          stopped = true;
          break;
        }
      }
      if (stopped) break;
      if (gate) {
        if (std::string why = gate(row); !why.empty()) {
          report.cancelled = true;
          report.error = std::move(why);
          break;
        }
      }
      const AttemptResult r = sender_->send(row);
      report.attempts = attempt;
      if (r.kind == AttemptResult::Kind::delivered) {
        report.delivered = true;
        break;
      }
      report.error = r.detail;
      if (r.kind == AttemptResult::Kind::permanent || attempt >= policy_.max_attempts) break;
      const auto delay = backoff_delay(attempt, policy_, std::uniform_real_distribution<double>(0, 1)(rng_));
      spdlog::warn("{}: reminder {} attempt {} failed ({}); retrying in {} ms", name_, row.id, attempt, r.detail,
                   delay.count());
      if (!wait_until(std::chrono::steady_clock::now() + delay)) {
        stopped = true;
        break;
      }
    }
    if (report.cancelled) {
      // not sent now; the daemon cancels (and re-plans) it
    } else if (stopped) {
      report.interrupted = true;
      if (report.error.empty()) report.error = "shutting down";
    } else if (!report.delivered && report.attempts > 1) {
      report.error = fmt::format("{} (after {} attempts)", report.error, report.attempts);
    }
    report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    done(std::move(report));
    std::lock_guard lock(mu_);
    busy_ = false;
  }
}

}  // namespace cuifu
