#include "io/feed_poller.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace cuifu {
namespace {

const std::string kHeader =
    "订单编号,买家会员名,买家应付货款,订单状态,买家留言,收货人姓名,收货地址,联系手机,订单创建时间,"
    "订单付款时间,宝贝标题,店铺名称\r\n";
const std::string kRows =
    "1001,张三,59.9,等待买家付款,,张三,北京市朝阳区国贸大厦,13812341234,2026-11-24 10:00:00,,毛巾,小店\r\n"
    "1002,李四,19.9,等待买家付款,,李四,上海市浦东新区世纪大道1号,13912341234,2026-11-24 10:05:00,,拖鞋,小店\r\n";

class FeedPollerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = (std::filesystem::path(::testing::TempDir()) / "cuifu_feed_poller_test.csv").string();
    std::filesystem::remove(path_);
  }
  void TearDown() override { std::filesystem::remove(path_); }

  // Writes the file and dates it `seconds` after a fixed moment (a new mtime each time).
  void write(const std::string& text, long seconds) {
    std::ofstream(path_, std::ios::binary | std::ios::trunc) << text;
    const timeval times[2] = {{1795000000 + seconds, 0}, {1795000000 + seconds, 0}};
    ASSERT_EQ(::utimes(path_.c_str(), times), 0);
  }

  std::string path_;
};

TEST_F(FeedPollerTest, TheSameBytesRewrittenAreNotParsedAgainButRenewTheFeed) {
  FeedPoller poller(path_, {}, std::chrono::seconds{5}, std::chrono::milliseconds{0});
  write(kHeader + kRows, 0);
  const FeedPoll first = poller.poll();
  ASSERT_EQ(first.kind, FeedPoll::Kind::fresh) << first.error;
  ASSERT_EQ(first.snapshot->orders.size(), 2u);
  EXPECT_EQ(poller.poll().kind, FeedPoll::Kind::unchanged);

  // Rewritten by the exporter with the same content: fresh (produced later), the same snapshot.
  write(kHeader + kRows, 60);
  const FeedPoll same = poller.poll();
  ASSERT_EQ(same.kind, FeedPoll::Kind::fresh) << same.error;
  EXPECT_EQ(same.snapshot.get(), first.snapshot.get());
  EXPECT_EQ(same.truncated, first.truncated);
  ASSERT_TRUE(same.produced_at && first.produced_at);
  EXPECT_EQ(*same.produced_at - *first.produced_at, std::chrono::seconds{60});

  // One order's amount changed (same size: only the bytes differ): parsed again.
  std::string changed_rows = kRows;
  changed_rows.replace(changed_rows.find("59.9"), 4, "69.9");
  write(kHeader + changed_rows, 120);
  const FeedPoll changed = poller.poll();
  ASSERT_EQ(changed.kind, FeedPoll::Kind::fresh) << changed.error;
  EXPECT_NE(changed.snapshot.get(), first.snapshot.get());
  ASSERT_EQ(changed.snapshot->orders.size(), 2u);
  EXPECT_NE(changed.snapshot->orders[0].amount, first.snapshot->orders[0].amount);
  // Only the changed row was built again; the other order is the one the last export gave.
  EXPECT_EQ(changed.rows_reused, 1u);
  EXPECT_EQ(changed.snapshot->orders[1].id, first.snapshot->orders[1].id);

  // Back to the first bytes: parsed again (only the last bytes read are remembered).
  write(kHeader + kRows, 180);
  const FeedPoll back = poller.poll();
  ASSERT_EQ(back.kind, FeedPoll::Kind::fresh) << back.error;
  EXPECT_NE(back.snapshot.get(), changed.snapshot.get());
  EXPECT_EQ(back.snapshot->orders[0].amount, first.snapshot->orders[0].amount);
}

// The poller reads each export into pages it keeps from poll to poll: a bigger export after a
// smaller one (new pages), a smaller one after a bigger (the old pages, longer than the bytes),
// and one of the same size are each read as they are, and only the same bytes are taken for
// the same export.
TEST_F(FeedPollerTest, ExportsOfOtherSizesReadOneAfterTheOtherAreEachReadAsTheyAre) {
  FeedPoller poller(path_, {}, std::chrono::seconds{5}, std::chrono::milliseconds{0});
  std::string many;
  for (int i = 0; i < 3000; ++i) {
    many += std::to_string(200000 + i) + ",买家" + std::to_string(i) +
            ",19.9,等待买家付款,,收货人,上海市浦东新区世纪大道1号,13912341234,2026-11-24 10:05:00,,拖鞋,小店\r\n";
  }
  std::string one_changed = kRows;
  one_changed.replace(one_changed.find("59.9"), 4, "69.9");
  long t = 0;
  for (const std::string* rows :
       std::initializer_list<const std::string*>{&kRows, &many, &kRows, &one_changed, &many, &kRows}) {
    write(kHeader + *rows, t += 60);
    const FeedPoll p = poller.poll();
    ASSERT_EQ(p.kind, FeedPoll::Kind::fresh) << p.error;
    const FeedSnapshot whole = parse_feed(kHeader + *rows, {}, path_);
    ASSERT_EQ(p.snapshot->orders.size(), whole.orders.size());
    EXPECT_TRUE(p.snapshot->rejected.empty());
    EXPECT_EQ(p.truncated, "");
    for (std::size_t i = 0; i < whole.orders.size(); ++i) {
      EXPECT_EQ(p.snapshot->orders[i].id, whole.orders[i].id);
      EXPECT_EQ(p.snapshot->orders[i].amount, whole.orders[i].amount);
      EXPECT_EQ(p.snapshot->orders[i].source_line, whole.orders[i].source_line);
    }
  }
}

}  // namespace
}  // namespace cuifu
