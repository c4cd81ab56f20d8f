// /healthz and /metrics from plain facts.
#include "app/status_routes.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace cuifu {
namespace {

TEST(StatusRoutes, HealthzSaysWhySendingIsPaused) {
  StatusFacts f;
  f.paused = true;
  f.paused_reason = "feed is 45 min old (max 30 min)";
  f.counts[{Channel::im, OutboxState::planned}] = 3;
  f.counts[{Channel::im, OutboxState::sending}] = 1;
  f.counts[{Channel::im, OutboxState::sent}] = 9;
  const auto r = healthz_reply(f);
  EXPECT_EQ(r.status, 503);
  const auto j = nlohmann::json::parse(r.body);
  EXPECT_EQ(j["status"], "paused");
  EXPECT_EQ(j["reason"], "feed is 45 min old (max 30 min)");
  EXPECT_EQ(j["outbox_depth"], 4);
}

TEST(StatusRoutes, MetricsCountUnknownOutcomesAndRequestsInFlight) {
  StatusFacts f;
  f.paused = false;
  f.in_flight = 2;
  f.counts[{Channel::email, OutboxState::unknown}] = 1;
  f.attempts["retry"] = 4;
  f.latency.observe(0.2);
  const auto r = metrics_reply(f);
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("cuifu_reminders_total{channel=\"email\",state=\"unknown\"} 1\n"), std::string::npos);
  EXPECT_NE(r.body.find("cuifu_in_flight 2\n"), std::string::npos);
  EXPECT_NE(r.body.find("cuifu_attempts_total{outcome=\"retry\"} 4\n"), std::string::npos);
  EXPECT_NE(r.body.find("cuifu_send_latency_seconds_bucket{le=\"0.25\"} 1\n"), std::string::npos);
  EXPECT_NE(r.body.find("cuifu_sending_paused 0\n"), std::string::npos);
}

}  // namespace
}  // namespace cuifu
