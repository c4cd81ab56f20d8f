// The replay on many buyers: on several threads it gives exactly the single-threaded result,
// on generated orders and on the bundled sample logs.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>

#include <string>

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

// The bundled sample logs (CSV and JSONL, several shops, pre-sale and flash-sale orders):
// replayed on four threads, every reminder and every order's outcome as on one.
class BacktestBundled : public ::testing::TestWithParam<const char*> {};

TEST_P(BacktestBundled, BundledLogReplaysTheSameOnFourThreadsAsOnOne) {
  const FeedSnapshot feed = read_feed_file(testing::source_path(GetParam()), {});
  const ReplayResult one = replay_on(feed.orders, 1);
  ASSERT_GT(one.sent.size(), 100u);
  EXPECT_TRUE(serialized(one) == serialized(replay_on(feed.orders, 4))) << "the replays differ";
}

// `cuifu backtest` keeps no texts: its plans make no why lines and read each buyer's address
// once. Every reminder (but its text) and every outcome is that of the full replay.
TEST_P(BacktestBundled, BundledLogReplaysTheSameWithoutTexts) {
  const FeedSnapshot feed = read_feed_file(testing::source_path(GetParam()), {});
  ReplayResult full = replay_on(feed.orders, 1);
  BacktestConfig lean;
  lean.threads = 1;
  lean.keep_texts = false;
  const ReplayResult without = replay(feed.orders, testing::default_rules(), testing::default_templates(), lean);
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
