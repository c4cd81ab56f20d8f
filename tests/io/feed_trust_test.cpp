// Whether a feed snapshot may be trusted to cancel reminders: a cut-off export and one that
// lost most of the open orders without a reason are not.
#include "io/feed_trust.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "../core/test_rules.h"

namespace cuifu {
namespace {

using testing::at;

const std::string kHeader =
    "订单编号,买家会员名,买家应付货款,订单状态,买家留言,收货人姓名,收货地址,联系手机,订单创建时间,"
    "订单付款时间,宝贝标题,店铺名称\r\n";

std::string row(int i, const char* status = "等待买家付款") {
  const bool paid = std::string_view(status) != "等待买家付款";
  return fmt::format(
      "{},buyer{},99.00,{},,王磊,湖北省武汉市江岸区香港路168号,1380000{:04},2026-11-24 09:00:00,{},靠垫,\r\n", i, i,
      status, i, paid ? "2026-11-24 09:30:00" : "");
}

FeedSnapshot parse(const std::string& bytes) {
  return parse_feed(bytes, FeedOptions{}, "orders.csv");
}

std::string whole(int n) {
  std::string text = kHeader;
  for (int i = 1; i <= n; ++i) text += row(i);
  return text;
}

TEST(FeedTrust, AWholeExportIsTrusted) {
  const std::string text = whole(5);
  EXPECT_EQ(truncation_sign(text, parse(text)), "");
}

TEST(FeedTrust, AnExportCutMidRowIsNotTrusted) {
  const std::string full = whole(5);
  const std::string cut = full.substr(0, full.size() - 40);  // the last row loses its last fields
  const auto snap = parse(cut);
  ASSERT_EQ(snap.orders.size(), 4u);
  const std::string why = truncation_sign(cut, snap);
  EXPECT_NE(why.find("line 6: the last row is cut off"), std::string::npos) << why;
}

TEST(FeedTrust, AnExportCutInsideAQuotedFieldIsNotTrusted) {
  const std::string cut = whole(3) + "4,buyer4,99.00,等待买家付款,\"请尽快发货，";
  const std::string why = truncation_sign(cut, parse(cut));
  EXPECT_NE(why.find("ends inside a quoted field"), std::string::npos) << why;
}

TEST(FeedTrust, ABadRowInTheMiddleOrAWholeLastRowWithoutALineBreakIsNoTruncation) {
  const std::string bad_middle = kHeader + row(1) + "2,buyer2,not-money,等待买家付款,,,,,,,,\r\n" + row(3);
  EXPECT_EQ(truncation_sign(bad_middle, parse(bad_middle)), "");
  std::string no_break = whole(3);
  no_break.resize(no_break.size() - 2);
  EXPECT_EQ(truncation_sign(no_break, parse(no_break)), "");
}

TEST(FeedTrust, FarFewerOpenOrdersWithoutAReasonIsNotTrusted) {
  const auto& rules = testing::default_rules();
  const LocalTime now = at("2026-11-24 10:00");
  const auto before = parse(whole(10));
  const auto after = parse(whole(3));
  const std::string why = shrink_sign(before, after, rules, now);
  EXPECT_NE(why.find("7 of its 10 open unpaid orders are missing"), std::string::npos) << why;
  // A few orders gone is normal churn; orders shown paid are not missing.
  EXPECT_EQ(shrink_sign(before, parse(whole(8)), rules, now), "");
  std::string paid = kHeader;
  for (int i = 1; i <= 10; ++i) paid += row(i, i > 3 ? "交易成功" : "等待买家付款");
  EXPECT_EQ(shrink_sign(before, parse(paid), rules, now), "");
  // Orders that closed by time have a reason to leave the export.
  EXPECT_EQ(shrink_sign(before, after, rules, at("2026-11-30 10:00")), "");
}

// Read with the memo of the export before it, the next export is compared through what changed
// (only the orders not kept can be missing): the same answer as the whole comparison, when a few
// orders are gone, moved, paid or stated by a second row, and when most are gone.
TEST(FeedTrust, AnExportReadWithTheMemoOfTheOneBeforeIsComparedTheSame) {
  const auto& rules = testing::default_rules();
  const LocalTime now = at("2026-11-24 10:00");
  std::vector<std::string> exports;
  exports.push_back(whole(40));
  std::string churn = kHeader;  // 1-2 gone, 3 paid, 4 stated again paid, the rest in reverse
  for (int i = 40; i >= 5; --i) churn += row(i);
  churn += row(3, "交易成功") + row(4) + row(4, "交易成功");
  exports.push_back(churn);
  exports.push_back(whole(40));  // 1-3 back
  exports.push_back(whole(30));  // ten gone: 3 or more
  exports.push_back(whole(8));   // most gone
  exports.push_back(whole(9));
  FeedMemo memo;
  std::shared_ptr<const FeedSnapshot> previous;
  for (std::size_t i = 0; i < exports.size(); ++i) {
    auto next = std::make_shared<const FeedSnapshot>(parse_feed(exports[i], FeedOptions{}, "orders.csv", memo));
    memo.remember(next);
    if (previous) {
      ASSERT_TRUE(next->changed) << i;
      for (const std::size_t min_vanished : {1u, 2u, 3u, 20u}) {
        const FeedSnapshot plain_next = parse(exports[i]), plain_previous = parse(exports[i - 1]);
        ASSERT_FALSE(plain_next.changed);
        EXPECT_EQ(shrink_sign(*previous, *next, rules, now, min_vanished),
                  shrink_sign(plain_previous, plain_next, rules, now, min_vanished))
            << i << ", " << min_vanished;
      }
    }
    previous = next;
  }
  EXPECT_NE(shrink_sign(parse(exports[3]), parse(exports[4]), rules, now), "");  // the last but one: not trusted
}

TEST(FeedTrust, TheOverlayKeepsMissingOrdersAndTakesWhatTheSuspectShows) {
  const auto trusted = parse(whole(4));
  std::string text = kHeader + row(1, "交易成功") + row(5);
  const auto suspect = parse(text);
  const auto merged = overlay(trusted, suspect);
  ASSERT_EQ(merged.orders.size(), 5u);
  std::map<std::string, OrderStatus> status;
  for (const auto& o : merged.orders) status[o.id] = o.status;
  EXPECT_EQ(status.at("1"), OrderStatus::paid);
  EXPECT_EQ(status.at("2"), OrderStatus::unpaid);
  EXPECT_EQ(status.at("4"), OrderStatus::unpaid);
  EXPECT_EQ(status.at("5"), OrderStatus::unpaid);
}

}  // namespace
}  // namespace cuifu
