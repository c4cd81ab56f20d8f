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

// An operator who restarted the daemon sees from /healthz whether its plan is made yet, and what
// the last reconcile did.
TEST(StatusRoutes, HealthzAndMetricsTellWhetherThePlanIsBeingMadeAndWhatTheLastReconcileDid) {
  StatusFacts f;
  f.paused = false;
  f.reconciling = true;
  auto j = nlohmann::json::parse(healthz_reply(f).body);
  EXPECT_EQ(j["reconciling"], true);
  EXPECT_TRUE(j["last_reconcile"].is_null());
  EXPECT_NE(metrics_reply(f).body.find("cuifu_reconciling 1\n"), std::string::npos);
  EXPECT_EQ(metrics_reply(f).body.find("cuifu_last_reconcile_seconds"), std::string::npos);

  f.reconciling = false;
  f.last_reconcile =
      StatusFacts::Reconciled{"new feed snapshot", "2026-11-24 09:00:00", 1.23456, true, 7020, 16, 28, 13028};
  j = nlohmann::json::parse(healthz_reply(f).body);
  EXPECT_EQ(j["reconciling"], false);
  EXPECT_EQ(j["last_reconcile"]["why"], "new feed snapshot");
  EXPECT_EQ(j["last_reconcile"]["finished"], "2026-11-24 09:00:00");
  EXPECT_DOUBLE_EQ(j["last_reconcile"]["seconds"].get<double>(), 1.235);
  EXPECT_EQ(j["last_reconcile"]["ok"], true);
  EXPECT_EQ(j["last_reconcile"]["buyers_planned"], 7020);
  EXPECT_EQ(j["last_reconcile"]["new"], 16);
  EXPECT_EQ(j["last_reconcile"]["re_planned"], 28);
  EXPECT_EQ(j["last_reconcile"]["cancelled"], 13028);
  const std::string metrics = metrics_reply(f).body;
  EXPECT_NE(metrics.find("cuifu_reconciling 0\n"), std::string::npos);
  EXPECT_NE(metrics.find("cuifu_last_reconcile_seconds 1.235\n"), std::string::npos);
}

}  // namespace
}  // namespace cuifu
