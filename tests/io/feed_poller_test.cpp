#include "io/feed_poller.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
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
    // ctest runs each test in its own process, side by side: one file per test and process.
    const std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    path_ = (std::filesystem::path(::testing::TempDir()) /
             ("cuifu_feed_poller_" + name + "_" + std::to_string(::getpid()) + ".csv"))
                .string();
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

// Exports of several megabytes (read a block at a time on the poller's thread while they are
// parsed) changed between polls, one of them cut in the middle of a quoted field: each poll's
// snapshot is the one of the whole file (orders, rejected rows with their lines and messages,
// superseded rows), and the same bytes again give the same snapshot.
TEST_F(FeedPollerTest, BigExportsParsedWhileTheyAreReadAreTheWholeFilesOnes) {
  FeedPoller poller(path_, {}, std::chrono::seconds{5}, std::chrono::milliseconds{0});
  const auto rows = [](int paid_every, int count) {
    std::string out;
    for (int i = 0; i < count; ++i) {
      const bool paid = i % paid_every == 0;
      std::string note = i % 53 == 0 ? "\"第一行\r\n第二行,\"\"加急\"\"\"" : "";
      out += std::to_string(300000 + i) + ",买家" + std::to_string(i % 5000) + (i % 211 == 0 ? ",x19.9," : ",19.9,") +
             (paid ? "买家已付款，等待卖家发货," : "等待买家付款,") + note +
             ",收货人,上海市浦东新区世纪大道1号,13912341234,2026-11-24 10:05:00," +
             (paid ? "2026-11-24 11:00:00" : "") + ",拖鞋,小店" + (i % 2 ? "\r\n" : "\n");
      if (i % 997 == 0) out += "\r\n\n";
      if (i % 1009 == 0)
        out +=
            std::to_string(300000 + i / 2) + ",买家,19.9,交易关闭,,收货人,上海市,139,2026-11-24 10:05:00,,拖鞋,小店\n";
    }
    return out;
  };
  const std::string a = kHeader + rows(1000000, 30000);
  const std::string b = kHeader + rows(100, 30000);
  const std::string c = kHeader + rows(100, 31000);
  const std::string cut = c.substr(0, c.find("第二行", c.size() / 2));
  ASSERT_GT(a.size(), std::size_t{3} << 20);
  long t = 0;
  std::shared_ptr<const FeedSnapshot> last;
  for (const std::string* bytes : std::initializer_list<const std::string*>{&a, &b, &a, &b, &c, &cut, &b, &b}) {
    write(*bytes, t += 60);
    const FeedPoll p = poller.poll();
    ASSERT_EQ(p.kind, FeedPoll::Kind::fresh) << p.error;
    const FeedSnapshot whole = parse_feed(*bytes, {}, path_);
    const FeedSnapshot& got = *p.snapshot;
    ASSERT_EQ(got.orders.size(), whole.orders.size());
    for (std::size_t i = 0; i < whole.orders.size(); ++i) {
      ASSERT_EQ(got.orders[i].id, whole.orders[i].id);
      ASSERT_EQ(got.orders[i].status, whole.orders[i].status) << got.orders[i].id;
      ASSERT_EQ(got.orders[i].note, whole.orders[i].note) << got.orders[i].id;
      ASSERT_EQ(got.orders[i].source_line, whole.orders[i].source_line) << got.orders[i].id;
    }
    ASSERT_EQ(got.rejected.size(), whole.rejected.size());
    for (std::size_t i = 0; i < whole.rejected.size(); ++i) {
      EXPECT_EQ(got.rejected[i].line, whole.rejected[i].line);
      EXPECT_EQ(got.rejected[i].error, whole.rejected[i].error);
    }
    ASSERT_EQ(got.superseded.size(), whole.superseded.size());
    for (std::size_t i = 0; i < whole.superseded.size(); ++i) {
      EXPECT_EQ(got.superseded[i].line, whole.superseded[i].line);
      EXPECT_EQ(got.superseded[i].kept_line, whole.superseded[i].kept_line);
    }
    EXPECT_EQ(p.truncated.empty(), bytes != &cut);
    if (t >= 2 * 60 && t <= 5 * 60) {  // the rows of the one before, but for 1 % of them
      EXPECT_GT(p.rows_reused, 25000u);
    }
    if (t == 8 * 60) {
      EXPECT_EQ(p.snapshot.get(), last.get());  // b twice: the same bytes
    }
    last = p.snapshot;
  }
}

}  // namespace
}  // namespace cuifu
