// The replay on many buyers: on several threads it gives exactly the single-threaded result,
// on generated orders and on the bundled sample logs.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <tuple>

#include "core/backtest.h"
#include "generated_orders.h"
#include "io/feed.h"
#include "test_rules.h"

namespace cuifu {
namespace {

using testing::at;

std::string serialized(const ReplayResult& r) {
  std::string out = fmt::format("avoided {} plan_calls {} from {} to {}\n", r.avoided, r.plan_calls,
                                format_local_hm(r.from), format_local_hm(r.to));
  for (const auto& s : r.sent) {
    out += fmt::format("R|{}|{}|{}|{}|{}|{}|{}|{}|{}\n", format_local_hm(s.send_at), s.shop, s.buyer,
                       fmt::join(s.order_ids, ","), s.segment, to_string(s.channel), s.step, s.message,
                       fmt::join(s.why, ";"));
  }
  for (const auto& o : r.orders) {
    out += fmt::format("O|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}\n", o.order_id, o.shop, o.buyer, o.segment, o.amount,
                       o.paid_at ? format_local_hm(*o.paid_at) : "-", o.closed_at ? format_local_hm(*o.closed_at) : "-",
                       o.holdout, o.reminders, o.last_channel ? to_string(*o.last_channel) : "-", o.avoided);
  }
  return out;
}

ReplayResult replay_on(const std::vector<Order>& log, unsigned threads) {
  BacktestConfig config;
  config.threads = threads;
  return replay(log, testing::default_rules(), testing::default_templates(), config);
}

TEST(BacktestParallel, ReplayOnFourThreadsIsTheReplayOnOne) {
  const auto log = testing::generated_orders(2000, at("2026-11-23 21:00"));
  const ReplayResult one = replay_on(log, 1);
  ASSERT_GT(one.sent.size(), 1000u);
  ASSERT_GT(one.avoided, 0);
  EXPECT_TRUE(serialized(one) == serialized(replay_on(log, 4))) << "the replays differ";
  EXPECT_TRUE(serialized(one) == serialized(replay_on(log, 0))) << "the default (all cores) differs";
}

// The replay's sent reminders are in order of send time, then buyer by the nickname's bytes (the
// sort reads each nickname's first 8 bytes as a number and the rest only on a tie), ties in
// buyer order ((shop, buyer)); its orders in order of creation, then id. Nicknames here share
// long prefixes, are prefixes of one another and hold bytes past 0x7F.
TEST(BacktestParallel, SentRemindersAndOrdersComeInTheirOrder) {
  auto log = testing::generated_orders(1500, at("2026-11-23 21:00"));
  for (auto& o : log) {
    const std::size_t h = std::hash<std::string>{}(o.buyer);
    if (h % 4 == 0) o.buyer = "买家" + o.buyer;
    if (h % 3 == 0) o.buyer += "长";
    if (h % 5 == 0) o.buyer = "tb_" + o.buyer.substr(3, 3);  // "tb_123" is a prefix of "tb_1234567"
  }
  const ReplayResult r = replay_on(log, 2);
  ASSERT_GT(r.sent.size(), 500u);
  int ties = 0;
  for (std::size_t i = 1; i < r.sent.size(); ++i) {
    const PlannedReminder& a = r.sent[i - 1];
    const PlannedReminder& b = r.sent[i];
    ASSERT_TRUE(std::tie(a.send_at, a.buyer, a.shop) <= std::tie(b.send_at, b.buyer, b.shop))
        << format_local_hm(a.send_at) << " " << a.buyer << " " << a.shop << " / " << format_local_hm(b.send_at) << " "
        << b.buyer << " " << b.shop;
    ties += a.send_at == b.send_at;
  }
  EXPECT_GT(ties, 10);
  for (std::size_t i = 1; i < r.orders.size(); ++i) {
    const OrderOutcome& a = r.orders[i - 1];
    const OrderOutcome& b = r.orders[i];
    ASSERT_TRUE(std::tie(a.created_at, a.order_id) < std::tie(b.created_at, b.order_id)) << a.order_id;
  }
  EXPECT_TRUE(serialized(r) == serialized(replay_on(log, 1))) << "the replays differ";
}

TEST(BacktestParallel, ProgressCountsEveryBuyerOnce) {
  const auto log = testing::generated_orders(1000, at("2026-11-23 21:00"));
  BacktestConfig config;
  config.threads = 3;
  std::size_t last_done = 0, total = 0, orders = 0;
  config.progress = [&](std::size_t d, std::size_t t, std::size_t o) {
    EXPECT_GT(d, last_done);
    last_done = d;
    total = t;
    orders = o;
  };
  replay(log, testing::default_rules(), testing::default_templates(), config);
  EXPECT_EQ(last_done, 1000u);
  EXPECT_EQ(total, 1000u);
  EXPECT_EQ(orders, log.size());
}

// The rule check after a replay runs buyer by buyer on several threads: the same counts and
// the same details, listed by (shop, buyer), as on one. Checked against stricter rules than
// the replay's, so that there are violations of every kind to list.
TEST(BacktestParallel, RuleCheckOnFourThreadsIsTheCheckOnOne) {
  const auto log = testing::generated_orders(2000, at("2026-11-23 21:00"));
  const ReplayResult r = replay_on(log, 1);
  Rules strict = testing::default_rules();
  strict.caps.max_per_buyer_per_day = 1;
  strict.caps.max_per_order = 1;
  strict.caps.min_gap = Minutes{24 * 60};
  strict.caps.no_repeat_channel = true;
  const Violations one = check_violations(r, strict, 1);
  ASSERT_GT(one.caps, 100);
  ASSERT_EQ(one.details.size(), static_cast<std::size_t>(one.total()));
  for (unsigned threads : {2u, 4u, 0u}) {
    const Violations many = check_violations(r, strict, threads);
    EXPECT_EQ(many.quiet_hours, one.quiet_hours) << threads;
    EXPECT_EQ(many.windows, one.windows) << threads;
    EXPECT_EQ(many.caps, one.caps) << threads;
    EXPECT_EQ(many.paid_or_closed, one.paid_or_closed) << threads;
    EXPECT_TRUE(many.details == one.details) << threads << " threads list the details differently";
  }
}

// The figures of a replay: the buyers it counted, the reminders per buyer and the rule check it
// made buyer by buyer on its threads are those of the result itself, as for a result put
// together by hand (which says nothing of its buyers and was not checked).
TEST(BacktestParallel, FiguresAreTheSameOnAnyThreadsAndForAResultMadeByHand) {
  const auto log = testing::generated_orders(2000, at("2026-11-23 21:00"));
  const ReplayResult r = replay_on(log, 4);
  ASSERT_TRUE(r.checks.has_value());
  EXPECT_EQ(r.checks->rules, &testing::default_rules());
  ReplayResult by_hand = r;
  by_hand.buyers = 0;
  by_hand.checks.reset();
  const BacktestFigures a = summarize(r, testing::default_rules(), 1);
  const BacktestFigures b = summarize(by_hand, testing::default_rules(), 4);
  EXPECT_EQ(a.buyers, 2000u);
  EXPECT_EQ(b.buyers, a.buyers);
  EXPECT_GT(a.reminded_buyers, 500u);
  EXPECT_EQ(b.reminded_buyers, a.reminded_buyers);
  EXPECT_EQ(b.reminders_per_buyer_max, a.reminders_per_buyer_max);
  EXPECT_EQ(b.reminders_per_buyer_p95, a.reminders_per_buyer_p95);
  EXPECT_EQ(b.reminders, a.reminders);
  ASSERT_EQ(b.by_segment.size(), a.by_segment.size());
  for (const auto& [name, seg] : a.by_segment) {
    EXPECT_EQ(b.by_segment.at(name).reminders, seg.reminders) << name;
    EXPECT_EQ(b.by_segment.at(name).orders, seg.orders) << name;
  }
  ASSERT_EQ(b.by_template.size(), a.by_template.size());
  for (const auto& [key, t] : a.by_template) {
    EXPECT_EQ(b.by_template.at(key).reminders, t.reminders) << key.second;
    EXPECT_EQ(b.by_template.at(key).paid_after, t.paid_after) << key.second;
  }
  EXPECT_EQ(a.violations.total(), 0);
  EXPECT_EQ(b.violations.total(), 0);
  // Checked against other rules, the replay's own check is not used.
  Rules strict = testing::default_rules();
  strict.caps.max_per_buyer_per_day = 1;
  strict.caps.min_gap = Minutes{24 * 60};
  const BacktestFigures c = summarize(r, strict, 2);
  EXPECT_GT(c.violations.caps, 100);
  EXPECT_TRUE(c.violations.details == check_violations(r, strict, 1).details);
}

// The bundled sample logs (CSV and JSONL, several shops, pre-sale and flash-sale orders):
// replayed on four threads, every reminder and every order's outcome as on one.
class BacktestBundled : public ::testing::TestWithParam<const char*> {};

TEST_P(BacktestBundled, BundledLogReplaysTheSameOnFourThreadsAsOnOne) {
  const std::vector<Order> orders = read_feed_file(testing::source_path(GetParam()), {}).orders.to_vector();
  const ReplayResult one = replay_on(orders, 1);
  ASSERT_GT(one.sent.size(), 100u);
  EXPECT_TRUE(serialized(one) == serialized(replay_on(orders, 4))) << "the replays differ";
}

// `cuifu backtest` keeps no texts: its plans make no why lines and read each buyer's address
// once. Every reminder (but its text) and every outcome is that of the full replay.
TEST_P(BacktestBundled, BundledLogReplaysTheSameWithoutTexts) {
  const std::vector<Order> orders = read_feed_file(testing::source_path(GetParam()), {}).orders.to_vector();
  ReplayResult full = replay_on(orders, 1);
  BacktestConfig lean;
  lean.threads = 1;
  lean.keep_texts = false;
  const ReplayResult without = replay(orders, testing::default_rules(), testing::default_templates(), lean);
  ASSERT_GT(full.sent.size(), 100u);
  for (auto& s : full.sent) {
    EXPECT_FALSE(s.why.empty());
    s.message.clear();
    s.why.clear();
  }
  EXPECT_TRUE(serialized(full) == serialized(without)) << "the replays differ";
}

INSTANTIATE_TEST_SUITE_P(SampleLogs, BacktestBundled,
                         ::testing::Values("data/sample_orders.csv", "data/sample_orders.jsonl"));

}  // namespace
}  // namespace cuifu
