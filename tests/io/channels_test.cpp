#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <nlohmann/json.hpp>

#include "io/channels/delivery.h"
#include "io/channels/senders.h"

namespace cuifu {
namespace {

using namespace std::chrono_literals;

OutboxRow sample_row() {
  OutboxRow r;
  r.id = 7;
  r.idempotency_key = "cf-0000000000000001";
  r.buyer = "buyer1";
  r.order_ids = {"A1", "A2"};
  r.channel = Channel::sms;
  r.step = 2;
  r.segment = "office";
  r.message = "王先生，您好";
  r.subject = "订单未付款提醒";
  r.contact = "13812341234";
  r.send_at = *parse_local_time("2026-11-24 12:00");
  return r;
}

TEST(TokenBucket, AllowsABurstThenPacesAtTheRate) {
  const auto t0 = std::chrono::steady_clock::time_point{} + 100s;
  TokenBucket b(2.0, 3, t0);
  EXPECT_EQ(b.take(t0).count(), 0);
  EXPECT_EQ(b.take(t0).count(), 0);
  EXPECT_EQ(b.take(t0).count(), 0);
  const auto wait = b.take(t0);
  EXPECT_NEAR(std::chrono::duration<double>(wait).count(), 0.5, 1e-6);
  EXPECT_EQ(b.take(t0 + 500ms).count(), 0);
}

TEST(Backoff, DoublesUpToTheCapWithJitter) {
  DeliveryPolicy p;
  p.backoff_initial = 1s;
  p.backoff_max = 5s;
  EXPECT_EQ(backoff_delay(1, p, 1.0), 1000ms);
  EXPECT_EQ(backoff_delay(2, p, 1.0), 2000ms);
  EXPECT_EQ(backoff_delay(3, p, 1.0), 4000ms);
  EXPECT_EQ(backoff_delay(4, p, 1.0), 5000ms);
  EXPECT_EQ(backoff_delay(2, p, 0.0), 1000ms);
}

TEST(ClassifyHttp, RetriesServerErrorsAndTimeoutsButNotClientErrors) {
  EXPECT_EQ(classify_http(200, "", false, "").kind, AttemptResult::Kind::delivered);
  EXPECT_EQ(classify_http(503, "", false, "busy").kind, AttemptResult::Kind::retry);
  EXPECT_EQ(classify_http(429, "", false, "").kind, AttemptResult::Kind::retry);
  EXPECT_EQ(classify_http(0, "timeout", true, "").kind, AttemptResult::Kind::retry);
  EXPECT_EQ(classify_http(400, "", false, "bad phone").kind, AttemptResult::Kind::permanent);
  EXPECT_EQ(classify_http(404, "", false, "").kind, AttemptResult::Kind::permanent);
}

TEST(AliyunSigning, SignsTheSortedPercentEncodedQuery) {
  SmsConfig c;
  c.sign_name = "青禾家居";
  c.template_code = "SMS_71390007";
  const auto params = aliyun_sendsms_params(sample_row(), c, "testid", "2026-11-24T04:00:00Z", "nonce-1");
  const std::string q = aliyun_signed_query(params, "testsecret");
  // Reference value computed independently (Python hmac/hashlib) for the same parameters.
  EXPECT_EQ(q.substr(0, q.find('&')), "Signature=GxSylOd%2BaRuzkyUk6H7s%2BzgGgQc%3D");
  EXPECT_NE(q.find("&PhoneNumbers=13812341234&"), std::string::npos);
  EXPECT_NE(q.find("TemplateParam=%7B%22content%22%3A%22"), std::string::npos);
}

TEST(GenericSms, UsesTheConfiguredFieldNames) {
  SmsConfig c;
  c.fields = {{"phone", "mobile"}, {"message", "content"}, {"key", "request_id"}};
  c.extra = {{"sign", "青禾家居"}};
  const auto j = nlohmann::json::parse(sms_generic_payload(sample_row(), c));
  EXPECT_EQ(j["mobile"], "13812341234");
  EXPECT_EQ(j["content"], "王先生，您好");
  EXPECT_EQ(j["request_id"], "cf-0000000000000001");
  EXPECT_EQ(j["sign"], "青禾家居");
  EXPECT_FALSE(j.contains("buyer"));
}

TEST(Email, EncodesTheSubjectAndCarriesTheKeyInMessageId) {
  auto row = sample_row();
  row.contact = "li@example.com";
  const std::string m = build_email(row, "青禾家居 <service@shop.example>", "Tue, 24 Nov 2026 04:00:00 +0000");
  EXPECT_NE(m.find("Subject: =?UTF-8?B?"), std::string::npos);
  EXPECT_NE(m.find("Message-ID: <cf-0000000000000001@shop.example>"), std::string::npos);
  EXPECT_NE(m.find("To: <li@example.com>"), std::string::npos);
  EXPECT_NE(m.find("Content-Type: text/plain; charset=UTF-8"), std::string::npos);
  EXPECT_EQ(rfc2047("plain"), "plain");
  EXPECT_EQ(rfc2047("催付"), "=?UTF-8?B?5YKs5LuY?=");
  EXPECT_EQ(email_address("Shop <a@b.c>"), "a@b.c");
}

class ScriptedSender : public ChannelSender {
 public:
  explicit ScriptedSender(std::vector<AttemptResult> script) : script_(std::move(script)) {}
  AttemptResult send(const OutboxRow&) override {
    const auto i = calls++;
    return i < script_.size() ? script_[i] : script_.back();
  }
  std::atomic<std::size_t> calls{0};

 private:
  std::vector<AttemptResult> script_;
};

DeliveryPolicy fast_policy() {
  DeliveryPolicy p;
  p.rate_per_second = 1000;
  p.burst = 10;
  p.max_attempts = 4;
  p.backoff_initial = std::chrono::seconds{0};
  p.backoff_max = std::chrono::seconds{0};
  return p;
}

DeliveryReport deliver(ChannelWorker& w) {
  std::promise<DeliveryReport> done;
  w.submit(sample_row(), [&](DeliveryReport r) { done.set_value(std::move(r)); });
  return done.get_future().get();
}

TEST(ChannelWorker, RetriesTransientFailuresUntilDelivered) {
  auto sender = std::make_unique<ScriptedSender>(std::vector<AttemptResult>{
      AttemptResult::retry("HTTP 503"), AttemptResult::retry("timeout"), AttemptResult::delivered()});
  auto* s = sender.get();
  ChannelWorker w("sms", std::move(sender), fast_policy());
  const auto r = deliver(w);
  EXPECT_TRUE(r.delivered);
  EXPECT_EQ(r.attempts, 3);
  EXPECT_EQ(s->calls, 3u);
}

TEST(ChannelWorker, DoesNotRetryAPermanentFailure) {
  auto sender = std::make_unique<ScriptedSender>(std::vector<AttemptResult>{AttemptResult::permanent("HTTP 400")});
  auto* s = sender.get();
  ChannelWorker w("sms", std::move(sender), fast_policy());
  const auto r = deliver(w);
  EXPECT_FALSE(r.delivered);
  EXPECT_EQ(r.attempts, 1);
  EXPECT_EQ(r.error, "HTTP 400");
  EXPECT_EQ(s->calls, 1u);
}

TEST(ChannelWorker, GivesUpAfterMaxAttempts) {
  ChannelWorker w("im", std::make_unique<ScriptedSender>(std::vector<AttemptResult>{AttemptResult::retry("HTTP 500")}),
                  fast_policy());
  const auto r = deliver(w);
  EXPECT_FALSE(r.delivered);
  EXPECT_EQ(r.attempts, 4);
  EXPECT_EQ(r.error, "HTTP 500 (after 4 attempts)");
}

TEST(ChannelWorker, StopInterruptsABackoffWait) {
  auto p = fast_policy();
  p.backoff_initial = std::chrono::seconds{60};
  p.backoff_max = std::chrono::seconds{60};
  ChannelWorker w("im", std::make_unique<ScriptedSender>(std::vector<AttemptResult>{AttemptResult::retry("HTTP 500")}),
                  p);
  std::promise<DeliveryReport> done;
  w.submit(sample_row(), [&](DeliveryReport r) { done.set_value(std::move(r)); });
  std::this_thread::sleep_for(50ms);
  w.stop();
  auto f = done.get_future();
  ASSERT_EQ(f.wait_for(5s), std::future_status::ready);
  const auto r = f.get();
  EXPECT_TRUE(r.interrupted);
  EXPECT_FALSE(r.delivered);
}

// A retry is a new send: if the order was paid (or the feed went stale, or quiet hours
// began) while the reminder waited for its retry, the retry must not go out.
TEST(ChannelWorker, AsksTheGateBeforeEveryAttemptIncludingRetries) {
  auto sender = std::make_unique<ScriptedSender>(
      std::vector<AttemptResult>{AttemptResult::retry("HTTP 503"), AttemptResult::delivered()});
  auto* s = sender.get();
  ChannelWorker w("sms", std::move(sender), fast_policy());
  std::atomic<int> asked{0};
  std::promise<DeliveryReport> done;
  w.submit(
      sample_row(), [&](DeliveryReport r) { done.set_value(std::move(r)); },
      [&](const OutboxRow&) { return ++asked == 1 ? std::string{} : std::string("order 1001 paid"); });
  auto f = done.get_future();
  ASSERT_EQ(f.wait_for(5s), std::future_status::ready);
  const auto r = f.get();
  EXPECT_EQ(s->calls, 1u);
  EXPECT_FALSE(r.delivered);
  EXPECT_TRUE(r.cancelled);
  EXPECT_FALSE(r.interrupted);
  EXPECT_EQ(r.error, "order 1001 paid");
}

TEST(ChannelWorker, AGateThatRefusesAtOnceMeansNoAttempt) {
  auto sender = std::make_unique<ScriptedSender>(std::vector<AttemptResult>{AttemptResult::delivered()});
  auto* s = sender.get();
  ChannelWorker w("im", std::move(sender), fast_policy());
  std::promise<DeliveryReport> done;
  w.submit(
      sample_row(), [&](DeliveryReport r) { done.set_value(std::move(r)); },
      [](const OutboxRow&) { return std::string("feed is stale"); });
  const auto r = done.get_future().get();
  EXPECT_EQ(s->calls, 0u);
  EXPECT_TRUE(r.cancelled);
  EXPECT_EQ(r.attempts, 0);
}

}  // namespace
}  // namespace cuifu
