#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <fstream>
#include <functional>
#include <future>
#include <nlohmann/json.hpp>
#include <string_view>
#include <thread>

#include "io/channels/delivery.h"
#include "io/channels/senders.h"
#include "io/quiet_thread.h"

namespace cuifu {
namespace {

using namespace std::chrono_literals;

Outgoing sample_row() {
  Outgoing r;
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

TEST(ClassifyHttp, NoAnswerAfterTheRequestLeftIsARetryInDoubt) {
  const auto refused = classify_http(0, "Couldn't connect to server", false, "", false);
  EXPECT_EQ(refused.kind, AttemptResult::Kind::retry);
  EXPECT_FALSE(refused.in_doubt);
  const auto stalled = classify_http(0, "Operation timed out after 2000 milliseconds", true, "", true);
  EXPECT_EQ(stalled.kind, AttemptResult::Kind::retry);
  EXPECT_TRUE(stalled.in_doubt);
  EXPECT_NE(stalled.detail.find("no answer after the request was sent"), std::string::npos) << stalled.detail;
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
  AttemptResult send(const Outgoing&) override {
    const auto i = calls++;
    return i < script_.size() ? script_[i] : script_.back();
  }
  std::atomic<std::size_t> calls{0};

 private:
  std::vector<AttemptResult> script_;
};

AttemptReport attempt(ChannelWorker& w, ChannelWorker::Gate gate = {}) {
  std::promise<AttemptReport> done;
  w.submit(
      7, sample_row(), [&](AttemptReport r) { done.set_value(std::move(r)); }, std::move(gate));
  return done.get_future().get();
}

// The IM webhook's body, written directly, is byte for byte what nlohmann::json wrote before.
TEST(ImPayload, IsTheJsonObjectNlohmannWritesForAnyText) {
  const auto reference = [](const Outgoing& row) {
    return nlohmann::json{{"idempotency_key", row.idempotency_key},
                          {"buyer", row.buyer},
                          {"order_ids", row.order_ids},
                          {"step", row.step},
                          {"segment", row.segment},
                          {"template", row.template_name},
                          {"message", row.message}}
        .dump();
  };
  Outgoing row = sample_row();
  row.template_name = "office";
  EXPECT_EQ(im_payload(row), reference(row));
  EXPECT_EQ(nlohmann::json::parse(im_payload(row))["message"], "王先生，您好");
  const std::string texts[] = {"", "say \"hi\" \\ back/slash",
                               std::string("tab\tnl\ncr\rbs\bff\fnul") + std::string(1, '\0') + "\x01\x1f\x7f end",
                               "【青禾家居】王磊，您在本店拍下的记忆棉靠垫还未付款 😀 回T退订",
                               "\u00e9\u0800\uffff\U0010FFFF"};
  for (const auto& t : texts) {
    Outgoing r = row;
    r.message = t;
    r.buyer = t + "b";
    r.order_ids = {t, "A2"};
    r.segment = t;
    r.template_name = t;
    r.idempotency_key = t + "k";
    r.step = -3;
    EXPECT_EQ(im_payload(r), reference(r)) << t;
  }
  row.order_ids.clear();
  EXPECT_EQ(im_payload(row), reference(row));
  // Text that is not UTF-8 is refused as nlohmann::json refuses it (never sent garbled).
  for (const std::string bad : {"\xff", "\xc3", "\xe4\xb8", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80"}) {
    row.message = "ok " + bad;
    EXPECT_THROW(im_payload(row), nlohmann::json::exception) << bad.size();
  }
}

TEST(ChannelWorker, MakesExactlyOneAttemptPerHandedRow) {
  // Retries are the daemon's, through the outbox and the gate: the worker never repeats a request.
  auto sender = std::make_unique<ScriptedSender>(
      std::vector<AttemptResult>{AttemptResult::retry("HTTP 503"), AttemptResult::delivered("HTTP 200")});
  auto* s = sender.get();
  ChannelWorker w("sms", std::move(sender));
  const auto first = attempt(w);
  EXPECT_EQ(first.id, 7);
  EXPECT_EQ(first.kind, AttemptReport::Kind::retry);
  EXPECT_EQ(first.detail, "HTTP 503");
  EXPECT_EQ(s->calls, 1u);
  EXPECT_EQ(attempt(w).kind, AttemptReport::Kind::delivered);
  EXPECT_EQ(s->calls, 2u);
}

TEST(ChannelWorker, ReportsAPermanentFailure) {
  ChannelWorker w("sms", std::make_unique<ScriptedSender>(
                             std::vector<AttemptResult>{AttemptResult::permanent("HTTP 400: bad phone")}));
  const auto r = attempt(w);
  EXPECT_EQ(r.kind, AttemptReport::Kind::permanent);
  EXPECT_EQ(r.detail, "HTTP 400: bad phone");
}

TEST(ChannelWorker, AGateThatRefusesMeansNoRequest) {
  auto sender = std::make_unique<ScriptedSender>(std::vector<AttemptResult>{AttemptResult::delivered()});
  auto* s = sender.get();
  ChannelWorker w("im", std::move(sender));
  const auto r = attempt(w, [](const Outgoing&) { return std::string("order A1 paid"); });
  EXPECT_EQ(s->calls, 0u);
  EXPECT_EQ(r.kind, AttemptReport::Kind::refused);
  EXPECT_EQ(r.detail, "order A1 paid");
}

TEST(ChannelWorker, RowsHandedAfterStopAreReportedNotStarted) {
  auto sender = std::make_unique<ScriptedSender>(std::vector<AttemptResult>{AttemptResult::delivered()});
  auto* s = sender.get();
  ChannelWorker w("im", std::move(sender));
  w.stop();
  const auto r = attempt(w);
  EXPECT_EQ(r.kind, AttemptReport::Kind::not_started);
  EXPECT_EQ(s->calls, 0u);
  w.join();
  EXPECT_EQ(w.pending(), 0u);
}

// The daemon's signals are taken by the thread running its event loop, never by a channel
// worker: a SIGHUP taken by a retiring worker was seen to vanish under ThreadSanitizer.
TEST(ChannelWorker, NeverTakesTheDaemonsSignalsAndLeavesItsCreatorsMaskAsItWas) {
  const auto mask_of_this_thread = [] {
    sigset_t now;
    pthread_sigmask(SIG_BLOCK, nullptr, &now);
    return std::vector<bool>{sigismember(&now, SIGHUP) == 1, sigismember(&now, SIGINT) == 1,
                             sigismember(&now, SIGTERM) == 1};
  };
  class MaskProbe : public ChannelSender {
   public:
    explicit MaskProbe(std::function<std::vector<bool>()> mask) : mask_(std::move(mask)) {}
    AttemptResult send(const Outgoing&) override {
      worker = mask_();
      std::thread([&] { started_by_worker = mask_(); }).join();  // as curl's resolver would
      return AttemptResult::delivered();
    }
    std::vector<bool> worker, started_by_worker;

   private:
    std::function<std::vector<bool>()> mask_;
  };
  const auto before = mask_of_this_thread();
  ASSERT_EQ(before, (std::vector<bool>{false, false, false})) << "the test runner blocks them itself";
  auto sender = std::make_unique<MaskProbe>(mask_of_this_thread);
  auto* probe = sender.get();
  ChannelWorker w("im", std::move(sender));
  EXPECT_EQ(mask_of_this_thread(), before);
  EXPECT_EQ(attempt(w).kind, AttemptReport::Kind::delivered);
  EXPECT_EQ(probe->worker, (std::vector<bool>{true, true, true}));
  EXPECT_EQ(probe->started_by_worker, (std::vector<bool>{true, true, true}));
}

// The loop's thread holds the daemon's signals while it joins a thread (a retired worker), and
// takes them when the join is over: none is lost, none runs in the middle of the join.
std::atomic<int> hangups{0};
TEST(ChannelWorker, ASignalThatComesDuringAJoinIsTakenAfterIt) {
  struct sigaction on_hup {
  }, old{};
  on_hup.sa_handler = [](int) { hangups.fetch_add(1); };
  sigemptyset(&on_hup.sa_mask);
  ASSERT_EQ(sigaction(SIGHUP, &on_hup, &old), 0);
  hangups = 0;
  const pthread_t joiner = pthread_self();
  const pid_t joiner_tid = ::gettid();
  // Whether the joiner has SIGHUP blocked ("SigBlk") or pending ("SigPnd"), from its /proc status.
  const auto joiner_has_hangup = [joiner_tid](std::string_view field) {
    std::ifstream in("/proc/self/task/" + std::to_string(joiner_tid) + "/status");
    for (std::string line; std::getline(in, line);) {
      if (line.starts_with(field)) {
        return ((std::stoull(line.substr(field.size() + 1), nullptr, 16) >> (SIGHUP - 1)) & 1) == 1;
      }
    }
    return false;
  };
  const auto within_two_seconds = [](const auto& condition) {
    for (int i = 0; i < 2000; ++i, std::this_thread::sleep_for(1ms)) {
      if (condition()) return true;
    }
    return false;
  };
  bool held = false, waited = false;
  std::thread t([&] {
    held = within_two_seconds([&] { return joiner_has_hangup("SigBlk"); });  // the joiner is in the join
    pthread_kill(joiner, SIGHUP);
    waited = within_two_seconds([&] { return joiner_has_hangup("SigPnd"); });  // and the signal waits
  });
  join_holding_signals(t);
  EXPECT_TRUE(held);
  EXPECT_TRUE(waited);
  EXPECT_EQ(hangups.load(), 1);  // taken once the join was over
  sigset_t now;
  pthread_sigmask(SIG_BLOCK, nullptr, &now);
  EXPECT_EQ(sigismember(&now, SIGHUP), 0);
  sigaction(SIGHUP, &old, nullptr);
}

}  // namespace
}  // namespace cuifu
