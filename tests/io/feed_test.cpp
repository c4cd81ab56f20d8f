#include "io/feed.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "io/charset.h"
#include "io/fast_hash.h"

namespace cuifu {
namespace {

const std::string kHeader =
    "订单编号,买家会员名,买家应付货款,订单状态,买家留言,收货人姓名,收货地址,联系手机,订单创建时间,"
    "订单付款时间,宝贝标题,店铺名称\r\n";

LocalTime at(const char* text) {
  return *parse_local_time(text);
}

FeedSnapshot taobao(const std::string& bytes, const std::string& encoding = "") {
  FeedOptions options;
  options.encoding = encoding;
  return parse_feed(bytes, options, "orders.csv");
}

// Writes `text` to a fresh file under the test temp dir and returns its path.
std::string write_temp(const std::string& name, const std::string& text) {
  const auto path = std::filesystem::path(::testing::TempDir()) / ("cuifu_feed_test_" + name);
  std::ofstream(path, std::ios::binary) << text;
  return path.string();
}

std::string feed_error(const std::function<void()>& f) {
  try {
    f();
  } catch (const FeedError& e) {
    return e.what();
  }
  return "(no FeedError)";
}

TEST(TaobaoFeed, ReadsUtf8ExportWithBomAndCrlfFromAFile) {
  const auto snap = read_feed_file(CUIFU_SOURCE_DIR "/tests/data/feed_taobao_utf8_bom_crlf.csv", {});
  EXPECT_EQ(snap.encoding, "utf-8");
  ASSERT_TRUE(snap.rejected.empty()) << snap.rejected[0].error;
  ASSERT_EQ(snap.orders.size(), 3u);
  const Order& o = snap.orders[0];
  EXPECT_EQ(o.id, "3021000000000001");
  EXPECT_EQ(o.buyer, "小米粥");
  EXPECT_EQ(o.amount, 129900);
  EXPECT_EQ(o.status, OrderStatus::unpaid);
  EXPECT_EQ(o.note, "周五前发货，谢谢");
  EXPECT_EQ(o.phone, "13812341234");
  EXPECT_EQ(o.item, "笔记本电脑 14\" 轻薄本");
  EXPECT_EQ(o.shop, "数码旗舰店");
  EXPECT_EQ(o.created_at, at("2026-11-24 10:15:00"));
  EXPECT_FALSE(o.paid_at);
  EXPECT_EQ(o.source_line, 2);
  EXPECT_EQ(snap.orders[1].amount, 5990);
  EXPECT_EQ(snap.orders[1].status, OrderStatus::paid);
  EXPECT_EQ(snap.orders[1].paid_at, at("2026-11-24 11:05:00"));
  EXPECT_EQ(snap.orders[2].status, OrderStatus::closed);
  EXPECT_EQ(snap.orders[2].source_line, 4);
}

TEST(TaobaoFeed, ReadsGb18030ExportWithCrlfAndQuotedNewlines) {
  const std::string utf8 = kHeader +
                           "1001,张三,59.9,等待买家付款,\"请发顺丰\r\n谢谢，老板\",张三,北京市朝阳区国贸大厦,"
                           "13812341234,2026-11-24 10:00:00,,毛巾,小店\r\n"
                           "1002,李四,10.00,交易成功,,李四,上海,13900001111,2026-11-24 10:05:00,"
                           "2026-11-24 10:06:00,牙刷,小店\r\n";
  const auto snap = taobao(from_utf8(utf8, "gb18030"));
  EXPECT_EQ(snap.encoding, "gb18030");
  ASSERT_TRUE(snap.rejected.empty()) << snap.rejected[0].error;
  ASSERT_EQ(snap.orders.size(), 2u);
  EXPECT_EQ(snap.orders[0].buyer, "张三");
  EXPECT_EQ(snap.orders[0].note, "请发顺丰\n谢谢，老板");
  EXPECT_EQ(snap.orders[0].address, "北京市朝阳区国贸大厦");
  EXPECT_EQ(snap.orders[0].source_line, 2);
  EXPECT_EQ(snap.orders[1].source_line, 4);  // after a two-line note
  EXPECT_EQ(snap.orders[1].status, OrderStatus::paid);
}

TEST(TaobaoFeed, LaterRowsKeepTheirLineNumbersAfterQuotedNewlines) {
  const std::string text = kHeader +
                           "1,a,1,等待买家付款,\"x\ny\nz\",,,,2026-11-24 10:00:00,,\"q,\"\"w\"\"\",s\r\n"
                           "2,b,oops,等待买家付款,,,,,2026-11-24 10:00:00,,,s\r\n";
  const auto snap = taobao(text);
  ASSERT_EQ(snap.orders.size(), 1u);
  EXPECT_EQ(snap.orders[0].item, "q,\"w\"");
  ASSERT_EQ(snap.rejected.size(), 1u);
  EXPECT_EQ(snap.rejected[0].line, 5);
  EXPECT_EQ(snap.rejected[0].error, "bad amount 'oops' in 买家应付货款");
}

TEST(TaobaoFeed, RejectsBadRowsWithTheirLinesAndKeepsTheGoodOnes) {
  const std::string text = kHeader +
                           "1,a,12x,等待买家付款,,,,,2026-11-24 10:00:00,,,\r\n"                // line 2
                           "2,b,5,等待买家付款,,,,,2026-13-01 10:00:00,,,\r\n"                  // line 3
                           ",c,5,等待买家付款,,,,,2026-11-24 10:00:00,,,\r\n"                   // line 4
                           "3,d,5,xyz,,,,,2026-11-24 10:00:00,,,\r\n"                           // line 5
                           "4,e,5,等待买家付款,,,,,2026-11-24 10:00:00,,,\r\n"                  // line 6: good
                           "5,f,-5,等待买家付款,,,,,2026-11-24 10:00:00,,,\r\n"                 // line 7
                           "6,g,5,等待买家付款,,,,,2026-11-24 10:00:00,2026-11-24 25:00,,\r\n"  // line 8
                           "7,h,5,等待买家付款,,,\r\n";                                         // line 9: short
  const auto snap = taobao(text);
  ASSERT_EQ(snap.orders.size(), 1u);
  EXPECT_EQ(snap.orders[0].id, "4");
  EXPECT_EQ(snap.orders[0].source_line, 6);
  ASSERT_EQ(snap.rejected.size(), 7u);
  EXPECT_EQ(snap.rejected[0].line, 2);
  EXPECT_EQ(snap.rejected[0].error, "bad amount '12x' in 买家应付货款");
  EXPECT_EQ(snap.rejected[1].line, 3);
  EXPECT_EQ(snap.rejected[1].error, "bad time '2026-13-01 10:00:00' in 订单创建时间");
  EXPECT_EQ(snap.rejected[2].line, 4);
  EXPECT_EQ(snap.rejected[2].error, "订单编号 missing");
  EXPECT_EQ(snap.rejected[3].line, 5);
  EXPECT_EQ(snap.rejected[3].error, "unknown status 'xyz' in 订单状态");
  EXPECT_EQ(snap.rejected[4].error, "bad amount '-5' in 买家应付货款");
  EXPECT_EQ(snap.rejected[5].error, "bad time '2026-11-24 25:00' in 订单付款时间");
  EXPECT_EQ(snap.rejected[6].line, 9);
  EXPECT_EQ(snap.rejected[6].error, "expected 12 fields, found 7");
}

TEST(TaobaoFeed, ThrowsNamingTheFileAndTheMissingRequiredColumn) {
  const std::string text = "订单编号,买家会员名,买家应付货款,订单创建时间\n1,a,1,2026-11-24 10:00:00\n";
  const std::string error = feed_error([&] { taobao(text); });
  EXPECT_EQ(error.rfind("orders.csv: missing required column 订单状态", 0), 0u) << error;
  const std::string no_amount = feed_error([] { taobao("订单编号,订单状态,订单创建时间\n"); });
  EXPECT_NE(no_amount.find("买家应付货款 or 总金额"), std::string::npos) << no_amount;
  EXPECT_NE(feed_error([] { taobao(""); }).find("no header"), std::string::npos);
}

TEST(TaobaoFeed, MapsEveryKnownStatusWithFullWidthOrAsciiComma) {
  const std::string text = kHeader +
                           "1,a,1,等待买家付款,,,,,2026-11-24 10:00:00,,,\n"
                           "2,a,1,\"买家已付款，等待卖家发货\",,,,,2026-11-24 10:00:00,,,\n"
                           "3,a,1,\"买家已付款,等待卖家发货\",,,,,2026-11-24 10:00:00,,,\n"
                           "4,a,1,\"卖家已发货，等待买家确认\",,,,,2026-11-24 10:00:00,,,\n"
                           "5,a,1,交易成功,,,,,2026-11-24 10:00:00,,,\n"
                           "6,a,1,交易关闭,,,,,2026-11-24 10:00:00,,,\n";
  const auto snap = taobao(text);
  ASSERT_EQ(snap.orders.size(), 6u);
  const OrderStatus expected[] = {OrderStatus::unpaid, OrderStatus::paid, OrderStatus::paid,
                                  OrderStatus::paid,   OrderStatus::paid, OrderStatus::closed};
  for (int i = 0; i < 6; ++i) EXPECT_EQ(snap.orders[i].status, expected[i]) << "row " << i;
}

TEST(TaobaoFeed, PaymentTimeMakesAnUnpaidRowPaidButARefundStaysClosed) {
  const std::string text = kHeader +
                           "1,a,1,等待买家付款,,,,,2026-11-24 10:00:00,2026-11-24 10:30:00,,\n"
                           "2,a,1,交易关闭,,,,,2026-11-24 10:00:00,2026-11-24 10:30:00,,\n";
  const auto snap = taobao(text);
  ASSERT_EQ(snap.orders.size(), 2u);
  EXPECT_EQ(snap.orders[0].status, OrderStatus::paid);
  EXPECT_EQ(snap.orders[1].status, OrderStatus::closed);
}

TEST(TaobaoFeed, APaidRowOfARepeatedOrderWinsAndTheOtherRowIsCountedNotDropped) {
  // Two exports concatenated: order 77 unpaid in the first, 交易成功 in the second. Before,
  // the first row won and the later paid row was rejected, so the buyer who paid was reminded.
  const std::string text = kHeader +
                           "77,a,1,等待买家付款,,,,,2026-11-24 10:00:00,,,\n"
                           "78,b,1,等待买家付款,,,,,2026-11-24 10:00:00,,,\n"
                           "\"=\"\"77\"\"\",a,1,交易成功,,,,,2026-11-24 10:00:00,2026-11-24 11:00:00,,\n";
  const auto snap = taobao(text);
  ASSERT_EQ(snap.orders.size(), 2u);
  EXPECT_TRUE(snap.rejected.empty());
  EXPECT_EQ(snap.orders[0].id, "77");
  EXPECT_EQ(snap.orders[0].status, OrderStatus::paid);
  EXPECT_EQ(snap.orders[0].source_line, 4);
  ASSERT_EQ(snap.superseded.size(), 1u);
  EXPECT_EQ(snap.superseded[0].line, 2);
  EXPECT_EQ(snap.superseded[0].order_id, "77");
  EXPECT_EQ(snap.superseded[0].kept_line, 4);
}

TEST(TaobaoFeed, AnOlderUnpaidRowNeverOverridesAPaidOrClosedOne) {
  // The paid row comes first (an update feed out of order): the later unpaid row loses.
  const std::string text = kHeader +
                           "77,a,1,交易成功,,,,,2026-11-24 10:00:00,2026-11-24 11:00:00,,\n"
                           "77,a,1,等待买家付款,,,,,2026-11-24 10:00:00,,,\n"
                           "79,c,1,交易关闭,,,,,2026-11-24 10:00:00,,,\n"
                           "79,c,1,等待买家付款,,,,,2026-11-24 10:00:00,,,\n";
  const auto snap = taobao(text);
  ASSERT_EQ(snap.orders.size(), 2u);
  EXPECT_EQ(snap.orders[0].status, OrderStatus::paid);
  EXPECT_EQ(snap.orders[0].source_line, 2);
  EXPECT_EQ(snap.orders[1].status, OrderStatus::closed);
  ASSERT_EQ(snap.superseded.size(), 2u);
  EXPECT_EQ(snap.superseded[0].line, 3);
  EXPECT_EQ(snap.superseded[1].line, 5);
}

TEST(TaobaoFeed, BetweenRowsOfTheSameKindTheNewerTimeWinsThenTheLaterRow) {
  // Paid, then refunded (closed later): the close is newer. Two unpaid rows tie: the later
  // row wins (its note is the newer one).
  const std::string text = kHeader +
                           "77,a,1,交易关闭,,,,,2026-11-24 10:00:00,2026-11-24 11:00:00,,\n"
                           "77,a,1,交易成功,,,,,2026-11-24 10:00:00,2026-11-24 10:30:00,,\n"
                           "78,b,1,等待买家付款,old,,,,2026-11-24 10:00:00,,,\n"
                           "78,b,1,等待买家付款,new,,,,2026-11-24 10:00:00,,,\n";
  const auto snap = taobao(text);
  ASSERT_EQ(snap.orders.size(), 2u);
  EXPECT_EQ(snap.orders[0].status, OrderStatus::closed);
  EXPECT_EQ(snap.orders[0].paid_at, at("2026-11-24 11:00:00"));
  EXPECT_EQ(snap.orders[1].note, "new");
  EXPECT_EQ(snap.superseded.size(), 2u);
}

TEST(JsonlFeed, AFeedOfUpdatesEndsWithTheOrdersNewestState) {
  const std::string text =
      R"({"order_id":"A1","buyer":"b","amount":"10","status":"unpaid","created_at":"2026-11-24 10:00:00"})"
      "\n"
      R"({"order_id":"A1","buyer":"b","amount":"10","status":"paid","created_at":"2026-11-24 10:00:00","paid_at":"2026-11-24 10:20:00"})"
      "\n"
      R"({"order_id":"A1","buyer":"b","amount":"10","status":"unpaid","created_at":"2026-11-24 10:00:00"})"
      "\n";
  const auto snap = parse_feed(text, FeedOptions{}, "updates.jsonl");
  ASSERT_EQ(snap.orders.size(), 1u);
  EXPECT_EQ(snap.orders[0].status, OrderStatus::paid);
  EXPECT_EQ(snap.superseded.size(), 2u);
}

TEST(TaobaoFeed, CleansExcelProofingFromPhonesAndIds) {
  const std::string text = kHeader +
                           "1,a,1,等待买家付款,,,,'13800000001,2026-11-24 10:00:00,,,\n"
                           "2,a,1,等待买家付款,,,,\t13800000002,2026-11-24 10:00:00,,,\n"
                           "3,a,1,等待买家付款,,,,\"=\"\"13800000003\"\"\",2026-11-24 10:00:00,,,\n"
                           "\t4,a,1,等待买家付款,,,,=\"\"13800000004\"\",2026-11-24 10:00:00,,,\n";
  const auto snap = taobao(text);
  ASSERT_EQ(snap.orders.size(), 4u);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(snap.orders[i].phone, "1380000000" + std::to_string(i + 1));
    EXPECT_EQ(snap.orders[i].id, std::to_string(i + 1));
  }
}

TEST(TaobaoFeed, ReadsExcelProtectedAmountsTimesAndAnyOtherField) {
  // Before, only the phone and the order id were cleaned: an amount written ="59.90" or a
  // time written '2026-… rejected the whole row.
  const std::string text = kHeader +
                           "=\"2938390312379655154\",'tb_a,=\"59.90\",等待买家付款,,'王芳,,'13887769866,"
                           "=\"2026-11-24 10:00:00\",,=\"北欧实木床\",'青禾家居旗舰店\n"
                           "\"=\"\"2938390312379655155\"\"\",tb_b,\"=\"\"1,299.00\"\"\",等待买家付款,,,,"
                           "\"=\"\"13887769867\"\"\",'2026-11-24 10:00:00,,,\n";
  const auto snap = taobao(text);
  ASSERT_TRUE(snap.rejected.empty()) << snap.rejected[0].error;
  ASSERT_EQ(snap.orders.size(), 2u);
  const Order& a = snap.orders[0];
  EXPECT_EQ(a.id, "2938390312379655154");
  EXPECT_EQ(a.buyer, "tb_a");
  EXPECT_EQ(a.amount, 5990);
  EXPECT_EQ(a.receiver_name, "王芳");
  EXPECT_EQ(a.phone, "13887769866");
  EXPECT_EQ(a.created_at, at("2026-11-24 10:00:00"));
  EXPECT_EQ(a.item, "北欧实木床");
  EXPECT_EQ(a.shop, "青禾家居旗舰店");
  EXPECT_EQ(snap.orders[1].amount, 129900);
  EXPECT_EQ(snap.orders[1].phone, "13887769867");
}

TEST(JsonlFeed, ReadsExcelProtectedValuesToo) {
  const std::string text =
      R"({"order_id":"=\"2938390312379655154\"","buyer":"b","status":"unpaid","amount":"'59.90","phone":"'13887769866","created_at":"2026-11-24 10:00:00"})"
      "\n";
  const auto snap = parse_feed(text, FeedOptions{}, "orders.jsonl");
  ASSERT_TRUE(snap.rejected.empty()) << snap.rejected[0].error;
  ASSERT_EQ(snap.orders.size(), 1u);
  EXPECT_EQ(snap.orders[0].id, "2938390312379655154");
  EXPECT_EQ(snap.orders[0].amount, 5990);
  EXPECT_EQ(snap.orders[0].phone, "13887769866");
}

TEST(TaobaoFeed, FallsBackToReceiverNameForAMissingBuyer) {
  const std::string text = kHeader +
                           "1,,1,等待买家付款,,张三,,,2026-11-24 10:00:00,,,\n"
                           "2,,1,等待买家付款,,,,,2026-11-24 10:00:00,,,\n";
  const auto snap = taobao(text);
  ASSERT_EQ(snap.orders.size(), 1u);
  EXPECT_EQ(snap.orders[0].buyer, "张三");
  ASSERT_EQ(snap.rejected.size(), 1u);
  EXPECT_EQ(snap.rejected[0].error, "买家会员名 missing");
  EXPECT_EQ(snap.rejected[0].line, 3);
}

TEST(TaobaoFeed, AcceptsTotalAmountPaddedHeadersOptionalColumnsAndATrailingComma) {
  const std::string text =
      " 订单编号 ,订单状态, 总金额,订单创建时间,订单关闭时间,买家邮箱,买家会员名,\n"
      "1,等待买家付款,\"1,299.5\",2026/11/24 10:00:00,2026-11-25 10:00:00,a@example.com,a,\n";
  const auto snap = taobao(text);
  ASSERT_EQ(snap.orders.size(), 1u) << snap.rejected[0].error;
  EXPECT_EQ(snap.orders[0].amount, 129950);
  EXPECT_EQ(snap.orders[0].email, "a@example.com");
  EXPECT_EQ(snap.orders[0].closed_at, at("2026-11-25 10:00:00"));
  EXPECT_EQ(snap.orders[0].created_at, at("2026-11-24 10:00:00"));
}

TEST(TaobaoFeed, EncodingOptionOverridesDetection) {
  const std::string utf8 = kHeader + "1,张三,1,等待买家付款,,,,,2026-11-24 10:00:00,,,\n";
  const auto gb = taobao(from_utf8(utf8, "gb18030"), "GB18030");
  EXPECT_EQ(gb.encoding, "gb18030");
  ASSERT_EQ(gb.orders.size(), 1u);
  EXPECT_EQ(gb.orders[0].buyer, "张三");
  // UTF-8 bytes forced through GB18030 garble the header; the error says how it was read.
  const std::string error = feed_error([&] { taobao(utf8, "gb18030"); });
  EXPECT_EQ(error.rfind("orders.csv", 0), 0u) << error;
  EXPECT_NE(error.find("gb18030"), std::string::npos) << error;
  EXPECT_NE(error.find("is the encoding right?"), std::string::npos) << error;
  // ASCII-only garbling cannot happen, so a GB18030 file read as UTF-8 is the other way round.
  const std::string reverse = feed_error([&] { taobao(from_utf8(utf8, "gb18030"), "utf-8"); });
  EXPECT_NE(reverse.find("invalid utf-8 byte sequence"), std::string::npos) << reverse;
  EXPECT_NE(feed_error([&] { taobao(utf8, "no-such-charset"); }).find("no-such-charset"), std::string::npos);
}

TEST(TaobaoFeed, RejectsOnlyTheRowWithUndecodableBytes) {
  const std::string text = "\xEF\xBB\xBF" + kHeader +
                           "1,a,1,等待买家付款,,,,,2026-11-24 10:00:00,,,\r\n"
                           "2,b\xFF,1,等待买家付款,,,,,2026-11-24 10:00:00,,,\r\n"
                           "3,c,1,等待买家付款,,,,,2026-11-24 10:00:00,,,\r\n";
  const auto snap = taobao(text);
  EXPECT_EQ(snap.encoding, "utf-8");
  ASSERT_EQ(snap.orders.size(), 2u);
  EXPECT_EQ(snap.orders[1].id, "3");
  ASSERT_EQ(snap.rejected.size(), 1u);
  EXPECT_EQ(snap.rejected[0].line, 3);
  EXPECT_NE(snap.rejected[0].error.find("invalid utf-8 byte sequence at byte offset"), std::string::npos);
}

TEST(TaobaoFeed, UnterminatedQuoteRejectsItsRowAndKeepsEarlierOnes) {
  const std::string text = kHeader +
                           "1,a,1,等待买家付款,,,,,2026-11-24 10:00:00,,,\n"
                           "2,b,1,等待买家付款,\"open,,,,2026-11-24 10:00:00,,,\n";
  const auto snap = taobao(text);
  ASSERT_EQ(snap.orders.size(), 1u);
  ASSERT_EQ(snap.rejected.size(), 1u);
  EXPECT_EQ(snap.rejected[0].line, 3);
  EXPECT_NE(snap.rejected[0].error.find("unterminated"), std::string::npos);
}

// Everything a snapshot holds, one line per order, rejection and superseded row.
std::string describe(const FeedSnapshot& snap) {
  std::string out = snap.encoding + "\n";
  for (const Order& o : snap.orders) {
    out +=
        fmt::format("order {} line {} buyer {} amount {} status {} created {} paid {} note [{}] address {} shop {}\n",
                    o.id, o.source_line, o.buyer, o.amount, static_cast<int>(o.status), format_local_time(o.created_at),
                    o.paid_at ? format_local_time(*o.paid_at) : "-", o.note, o.address, o.shop);
  }
  for (const auto& r : snap.rejected) out += fmt::format("rejected line {}: {}\n", r.line, r.error);
  for (const auto& r : snap.superseded)
    out += fmt::format("superseded line {} order {} kept line {}\n", r.line, r.order_id, r.kept_line);
  return out;
}

// 30,000 rows: quoted notes with newlines and doubled quotes, blank lines, bad amounts, short
// rows, an undecodable byte, orders repeated 20,000 rows later (paid by then), and a quote left
// open at the very end. More rows than one round of 2 or 3 threads reads at once.
std::string big_feed(const std::string& encoding) {
  std::string text = kHeader;
  for (int i = 1; i <= 30000; ++i) {
    const bool repeat = i > 20000 && i % 3 == 0;
    const int id = repeat ? i - 20000 : i;
    const std::string status = repeat ? "买家已付款，等待卖家发货" : "等待买家付款";
    const std::string paid = repeat ? "2026-11-24 12:00:00" : "";
    std::string note = fmt::format("留言{}", i);
    if (i % 97 == 0) note = fmt::format("\"第一行\n第二行 \"\"加急\"\" {}\"", i);
    std::string amount = fmt::format("{}.{:02}", 10 + i % 500, i % 100);
    if (i % 89 == 0) amount = "12x.00";
    std::string row = fmt::format(
        "{},买家{},{},{},{},收货人{},浙江省杭州市西湖区文三路{}号,138{:08},2026-11-24 10:{:02}:00,{},宝贝,店铺{}",
        3000000000 + id, id % 7000, amount, status, note, i, i, i, i % 60, paid, i % 3);
    if (i % 101 == 0) row = fmt::format("{},短行", 3000000000 + id);
    text += row + (i % 2 ? "\r\n" : "\n");
    if (i % 1000 == 0) text += "\n";  // a blank line is not a row but counts as a line
  }
  text += "4000000000,b,1,等待买家付款,\"open,,,,2026-11-24 10:00:00,,,\n";
  std::string bytes = encoding == "utf-8" ? text : from_utf8(text, encoding);
  // One byte that is not text in either encoding, in the middle of a row far down.
  const std::size_t at = bytes.find("3000025000");
  bytes.insert(at + 10 + 1, "\xFF");
  return bytes;
}

TEST(TaobaoFeed, ABigFeedReadOnSeveralThreadsIsTheOneReadOnOne) {
  for (const std::string encoding : {"utf-8", "gb18030"}) {
    const std::string bytes = big_feed(encoding);
    FeedOptions one;
    one.threads = 1;
    const FeedSnapshot reference = parse_feed(bytes, one, "orders.csv");
    // The reference itself read what the rows say.
    EXPECT_EQ(reference.encoding, encoding);
    EXPECT_GT(reference.orders.size(), 20000u);
    EXPECT_GT(reference.superseded.size(), 3000u);
    ASSERT_GT(reference.rejected.size(), 600u);
    EXPECT_NE(reference.rejected.back().error.find("unterminated"), std::string::npos);
    const auto undecodable = std::find_if(reference.rejected.begin(), reference.rejected.end(),
                                          [](const auto& r) { return r.error.find("invalid") != std::string::npos; });
    ASSERT_NE(undecodable, reference.rejected.end()) << encoding;
    const auto noted = std::find_if(reference.orders.begin(), reference.orders.end(),
                                    [](const Order& o) { return o.id == "3000000194"; });
    ASSERT_NE(noted, reference.orders.end());
    EXPECT_EQ(noted->note, "第一行\n第二行 \"加急\" 194");  // not repeated: 194 % 3 != 1
    for (const unsigned threads : {2u, 3u}) {
      FeedOptions several;
      several.threads = threads;
      EXPECT_EQ(describe(parse_feed(bytes, several, "orders.csv")), describe(reference))
          << encoding << ", " << threads << " threads";
    }
  }
}

// The bytes of the record that starts with `id` and a comma, up to the next record's start.
std::string cut_row(std::string& bytes, const std::string& id, const std::string& next_id) {
  const std::size_t from = bytes.find("\n" + id + ",") + 1;
  const std::size_t to = bytes.find("\n" + next_id + ",", from) + 1;
  std::string row = bytes.substr(from, to - from);
  bytes.erase(from, to - from);
  return row;
}

// The edits both memo tests make to big_feed's rows: an amount changed (order 5), a bad amount put
// right (order 89: rejected before), a row gone (order 7); fifty rows (orders 1000-1049) cut out and
// returned, for the test to put back elsewhere.
std::string change_big_feed(std::string& after) {
  after.replace(after.find("15.05", after.find("\n3000000005,")), 5, "99.05");
  after.replace(after.find("12x.00", after.find("\n3000000089,")), 6, "12.00");
  cut_row(after, "3000000006", "3000000007");
  std::string moved;
  for (int i = 1000; i < 1050; ++i) {
    moved += cut_row(after, fmt::format("{}", 3000000000 + i), fmt::format("{}", 3000000001 + i));
  }
  return moved;
}

// The buyers (shop, buyer) whose orders differ between two snapshots in any field but the line,
// found the slow way.
std::vector<std::pair<std::string, std::string>> buyers_changed(const FeedSnapshot& a, const FeedSnapshot& b) {
  using Key = std::pair<std::string, std::string>;
  const auto orders_by_buyer = [](const FeedSnapshot& s) {
    std::map<Key, std::multiset<std::string>> out;
    for (Order o : s.orders) {
      o.source_line = 0;
      FeedSnapshot one;
      one.orders = {o};
      out[{o.shop, o.buyer}].insert(describe(one) + o.receiver_name + "|" + o.phone + "|" + o.item);
    }
    return out;
  };
  const auto x = orders_by_buyer(a), y = orders_by_buyer(b);
  std::set<Key> changed;
  for (const auto& [k, v] : x) {
    if (const auto it = y.find(k); it == y.end() || it->second != v) changed.insert(k);
  }
  for (const auto& [k, v] : y) {
    if (!x.count(k)) changed.insert(k);
  }
  return {changed.begin(), changed.end()};
}

// An export rewritten with a few rows changed, moved, gone or added is read from the memo of
// the last one: only the new rows are built, and the snapshot is the one a whole read gives. It
// says which buyers' orders changed (a row moved is not a change).
TEST(TaobaoFeed, ANewExportBuildsOnlyTheRowsItHadNotSeenAndIsTheOneReadWhole) {
  for (const std::string encoding : {"utf-8", "gb18030"}) {
    for (const unsigned threads : {1u, 2u}) {
      const std::string before = big_feed(encoding);
      FeedOptions options;
      options.threads = threads;
      FeedMemo memo;
      const auto first = std::make_shared<const FeedSnapshot>(parse_feed(before, options, "orders.csv", memo));
      EXPECT_EQ(memo.reused(), 0u);
      EXPECT_EQ(describe(*first), describe(parse_feed(before, options, "orders.csv")));
      memo.remember(first);

      std::string after = before;
      // Orders 5 and 89 changed, order 7 gone (change_big_feed), fifty rows moved to the end, a new order.
      std::string moved = change_big_feed(after);
      std::string added = cut_row(after, "3000000011", "3000000012");
      after.insert(after.find("\n3000000012,") + 1, added);
      added.replace(0, 10, "5000000011");
      moved += added;
      after.insert(after.find("\n4000000000,") + 1, moved);

      const FeedSnapshot whole = parse_feed(after, options, "orders.csv");
      ASSERT_EQ(describe(whole).find("order 3000000006 "), std::string::npos);
      ASSERT_NE(describe(whole).find("order 5000000011 "), std::string::npos);
      const FeedSnapshot second = parse_feed(after, options, "orders.csv", memo);
      EXPECT_EQ(describe(second), describe(whole)) << encoding << ", " << threads << " threads";
      // Most rows were copied; the changed and new ones (and those the memo does not keep:
      // orders stated by two rows) were built.
      EXPECT_GT(memo.reused(), 15000u) << encoding;
      EXPECT_LT(memo.reused(), whole.orders.size() - 3000) << encoding;
      EXPECT_EQ(whole.generation, 0u);
      EXPECT_FALSE(first->changed);  // nothing to compare it with
      ASSERT_TRUE(second.changed);
      EXPECT_NE(second.generation, 0u);
      EXPECT_NE(second.generation, first->generation);
      EXPECT_EQ(second.changed->base, first->generation);
      const auto changed = buyers_changed(*first, second);
      EXPECT_EQ(second.changed->buyers, changed) << encoding;
      EXPECT_GE(changed.size(), 4u);   // order 5's, 6's (gone), 89's, 5000000011's (new)
      EXPECT_LT(changed.size(), 10u);  // the fifty moved rows are no change
      memo.remember(std::make_shared<const FeedSnapshot>(second));

      // Another header: nothing is reused (the shop column is not found any more).
      std::string renamed = after;
      renamed.insert(renamed.find('\r'), "x");
      const FeedSnapshot other = parse_feed(renamed, options, "orders.csv", memo);
      EXPECT_EQ(memo.reused(), 0u);
      EXPECT_EQ(describe(other), describe(parse_feed(renamed, options, "orders.csv")));
    }
  }
}

// An export's bytes coming a few at a time: each wait gives `steps` more (in turn), or all.
class Trickle : public ArrivingBytes {
 public:
  Trickle(std::string_view bytes, std::vector<std::size_t> steps) : bytes_(bytes), steps_(std::move(steps)) {}
  std::string_view wait_past(std::size_t have, bool& all) override {
    there_ = std::min(bytes_.size(), std::max(have, there_) + steps_[waits_++ % steps_.size()]);
    all = there_ == bytes_.size();
    return bytes_.substr(0, there_);
  }
  std::size_t waits() const { return waits_; }

 private:
  std::string_view bytes_;
  std::vector<std::size_t> steps_;
  std::size_t there_ = 0;
  std::size_t waits_ = 0;
};

// The snapshot of an export parsed as its bytes arrive (the poller's read, cut anywhere: inside a
// quoted field's newline, between a CR and its LF, in a GB18030 or UTF-8 character, among empty
// lines) is the one of all its bytes at once, with the memo of the export before or without it;
// rows changed, moved, gone and added are found as from all the bytes.
TEST(TaobaoFeed, AnExportParsedAsItsBytesArriveIsTheOneReadWhole) {
  // A small export read a byte (two, three bytes) at a time: every cut. Rows ended by CR LF, LF
  // and CR alone, empty lines, quoted fields holding CR LF, LF, quotes and commas.
  const std::string small_rows =
      "1001,张三,59.9,等待买家付款,\"第一行\r\n第二行\",张三,北京市朝阳区国贸大厦,13812341234,2026-11-24 10:00:00,,"
      "毛巾,小店\r\n"
      "1002,李四,19.9,等待买家付款,,李四,上海市浦东新区世纪大道1号,13912341234,2026-11-24 10:05:00,,拖鞋,小店\r"
      "1003,王五,29.9,等待买家付款,\"说\"\"快\"\",\n,\",王五,上海市,13912341235,2026-11-24 10:06:00,,拖鞋,小店\n\r\n\n"
      "1004,赵六,9.9,等待买家付款,,赵六,上海市,13912341236,2026-11-24 10:07:00,,拖鞋,小店\r\n\r\n"
      "1005,钱七,bad,等待买家付款,,钱七,上海市,13912341237,2026-11-24 10:08:00,,拖鞋,小店\n"
      "1002,李四,19.9,交易关闭,,李四,上海市浦东新区世纪大道1号,13912341234,2026-11-24 10:05:00,,拖鞋,小店\r\n"
      "1006,孙八,39.9,等待买家付款,,孙八,上海市,13912341238,2026-11-24 10:09:00,,拖鞋,小店\r";
  std::string small_after = small_rows;
  small_after.replace(small_after.find("29.9"), 4, "28.9");  // changed
  small_after.insert(small_after.find("1004,"),              // added, on the lines of 1004 before
                     "1007,周九,9.9,等待买家付款,,周九,上海市,13912341239,2026-11-24 10:10:00,,拖鞋,小店\r\n");
  // A row ended by a CR alone that gets its LF; a last row with no line end that grows.
  small_after.replace(small_after.find("小店\r1003"), 7, "小店\r\n");
  const std::string small_open = small_rows.substr(0, small_rows.size() - 1);
  const std::string small_grown = small_open + "X\r\n";
  const std::vector<std::pair<const std::string*, const std::string*>> pairs = {
      {&small_rows, &small_rows}, {&small_rows, &small_after}, {&small_open, &small_grown}};
  for (const std::string encoding : {"utf-8", "gb18030"}) {
    for (const std::string bom : {"", "bom"}) {
      const auto bytes_of = [&](const std::string& rows) {
        const std::string text = kHeader + rows;
        if (encoding == "utf-8") return (bom.empty() ? "" : "\xEF\xBB\xBF") + text;
        return (bom.empty() ? "" : "\x84\x31\x95\x33") + from_utf8(text, encoding);
      };
      for (const auto& [before, rows] : pairs) {
        FeedMemo memo;
        memo.remember(std::make_shared<const FeedSnapshot>(parse_feed(bytes_of(*before), {}, "orders.csv", memo)));
        const std::string bytes = bytes_of(*rows);
        const FeedSnapshot whole = parse_feed(bytes, {}, "orders.csv");
        ASSERT_EQ(whole.orders.size(), rows == &small_after ? 6u : 5u) << describe(whole);
        ASSERT_EQ(whole.rejected.size(), 1u);
        ASSERT_EQ(whole.superseded.size(), 1u);
        for (const std::size_t step : {1u, 2u, 3u}) {
          Trickle trickle(bytes, {step});
          const FeedSnapshot arrived = parse_feed(trickle, {}, "orders.csv", memo);
          EXPECT_EQ(describe(arrived), describe(whole)) << encoding << " " << bom << ", step " << step;
          EXPECT_GE(trickle.waits(), bytes.size() / step);
        }
      }
    }
  }
  // A big export (the rows of big_feed) changed as the daemon sees them, cut in all sorts of places.
  for (const std::string encoding : {"utf-8", "gb18030"}) {
    for (const unsigned threads : {1u, 2u}) {
      const std::string before = big_feed(encoding);
      FeedOptions options;
      options.threads = threads;
      std::string after = before;
      std::string moved = change_big_feed(after);
      moved += cut_row(after, "3000000193", "3000000194");  // the row before a quoted newline
      after.insert(after.find("\n4000000000,") + 1, moved);
      const FeedSnapshot whole = parse_feed(after, options, "orders.csv");
      FeedMemo memo;
      const auto first = std::make_shared<const FeedSnapshot>(parse_feed(before, options, "orders.csv", memo));
      memo.remember(first);
      const FeedSnapshot at_once = parse_feed(after, options, "orders.csv", memo);
      ASSERT_EQ(describe(at_once), describe(whole));
      ASSERT_TRUE(at_once.changed);
      const std::size_t reused = memo.reused();
      EXPECT_GT(reused, 15000u);
      for (const std::vector<std::size_t>& steps :
           std::vector<std::vector<std::size_t>>{{7, 13, 1, 4096}, {65536}, {1u << 20}, {after.size()}}) {
        Trickle trickle(after, steps);
        const FeedSnapshot arrived = parse_feed(trickle, options, "orders.csv", memo);
        EXPECT_EQ(describe(arrived), describe(whole)) << encoding << ", " << threads << " threads, " << steps[0];
        EXPECT_EQ(memo.reused(), reused) << encoding << ", " << threads << " threads, " << steps[0];
        ASSERT_TRUE(arrived.changed);
        EXPECT_EQ(arrived.changed->buyers, at_once.changed->buyers);
        EXPECT_EQ(arrived.changed->rebuilt, at_once.changed->rebuilt);
        EXPECT_EQ(arrived.changed->unkept, at_once.changed->unkept);
      }
      // Without an export before (nothing to size the orders by) it waits for all the bytes.
      FeedMemo fresh;
      Trickle trickle(after, {4096});
      EXPECT_EQ(describe(parse_feed(trickle, options, "orders.csv", fresh)), describe(whole));
    }
  }
}

// With a memo, the orders and the id table are sized from the export before (its lines are not
// counted): an export many times bigger grows them as it goes, a smaller one leaves them part
// empty, and either is the one read whole, rows reused or not.
TEST(TaobaoFeed, AnExportMuchBiggerOrSmallerThanTheOneBeforeIsTheOneReadWhole) {
  for (const unsigned threads : {1u, 2u}) {
    const std::string big = big_feed("gb18030");
    const std::string small = big.substr(0, big.find("\n3000000100,") + 1);  // the header and 100 rows
    FeedOptions options;
    options.threads = threads;
    FeedMemo memo;
    int parses = 0;
    for (const std::string* bytes : {&small, &big, &small, &big}) {
      const auto snapshot = std::make_shared<const FeedSnapshot>(parse_feed(*bytes, options, "orders.csv", memo));
      EXPECT_EQ(describe(*snapshot), describe(parse_feed(*bytes, options, "orders.csv"))) << threads << " threads";
      EXPECT_EQ(memo.reused() > 0, parses++ > 0) << threads << " threads";
      memo.remember(snapshot);
    }
  }
}

// Exports parsed one after the other with one memo, as the daemon does, each dropping the one
// before: a row that did not change (nor move) gives the very order object of the snapshot
// before (shared, not copied), a changed or moved one an order of its own, and every snapshot
// still reads as a whole parse after the ones it shares with are gone.
TEST(TaobaoFeed, ANewExportSharesItsUnchangedOrdersWithTheLastAndOutlivesIt) {
  const std::string first_bytes = big_feed("gb18030");
  FeedOptions options;
  options.threads = 2;
  FeedMemo memo;
  auto last = std::make_shared<const FeedSnapshot>(parse_feed(first_bytes, options, "orders.csv", memo));
  memo.remember(last);
  std::string bytes = first_bytes;
  for (int generation = 1; generation <= 4; ++generation) {
    // One amount changed in place (a different order each time), and on the second export a row
    // moved to the end (lines of the rows after it move up: those orders are copied).
    const std::string id = fmt::format("{}", 3000000100 + generation * 10);
    bytes.replace(bytes.find(",", bytes.find("\n" + id + ",") + 12) + 1, 1, "9");
    if (generation == 2) {
      const std::string row = cut_row(bytes, "3000019000", "3000019001");  // before finding where it goes
      bytes.insert(bytes.find("\n4000000000,") + 1, row);
    }
    auto next = std::make_shared<const FeedSnapshot>(parse_feed(bytes, options, "orders.csv", memo));
    const FeedSnapshot whole = parse_feed(bytes, options, "orders.csv");
    ASSERT_EQ(describe(*next), describe(whole)) << "generation " << generation;
    std::size_t shared = 0, changed_shared = 0;
    for (std::size_t i = 0; i < next->orders.size(); ++i) {
      for (std::size_t j : {i, i - 1, i + 1}) {  // the same order is at about the same index
        if (j >= last->orders.size() || !next->orders.shares(i, last->orders, j)) continue;
        ++shared;
        changed_shared += next->orders[i].id == id || (generation == 2 && next->orders[i].id == "3000019000");
      }
    }
    EXPECT_GT(shared, generation == 2 ? 15000u : 18000u) << "generation " << generation;
    EXPECT_LT(shared, next->orders.size()) << "generation " << generation;
    EXPECT_EQ(changed_shared, 0u) << "generation " << generation;
    EXPECT_LE(next->orders.held(), 2 * next->orders.size() + 1024);
    // Found by id through the table the parse made (the send gate's look-up).
    for (const Order& o : next->orders) ASSERT_EQ(next->orders.find(o.id), &o) << o.id;
    EXPECT_EQ(next->orders.find("3000000006x"), nullptr);
    memo.remember(next);
    last = next;  // the snapshot before is gone: only what `next` shares of it lives on
    next.reset();
    EXPECT_EQ(describe(*last), describe(whole)) << "generation " << generation;
  }
}

// Lists built one on the other, each replacing a quarter of its orders, keep at most about twice
// their orders alive: the orders of older lists are copied into one chunk again when more.
TEST(OrderListSharing, ChunksKeptAliveStayWithinTwiceTheOrdersShown) {
  const auto order = [](int i, int generation) {
    Order o;
    o.id = fmt::format("order-{:05}-with-a-long-id", i);
    o.buyer = fmt::format("buyer-{}-of-generation-{}", i % 97, generation);
    return o;
  };
  std::vector<Order> first;
  for (int i = 0; i < 4000; ++i) first.push_back(order(i, 0));
  auto last = std::make_shared<OrderList>(first);
  bool compacted = false;
  for (int generation = 1; generation <= 12; ++generation) {
    OrderList::Builder builder(last.get());
    for (int i = 0; i < 4000; ++i) {
      if ((i + generation) % 4 == 0) {
        builder.add(order(i, generation));
      } else {
        builder.add_shared(static_cast<std::uint32_t>(i));
      }
    }
    auto next = std::make_shared<OrderList>(std::move(builder).finish());
    ASSERT_EQ(next->size(), 4000u);
    EXPECT_LE(next->held(), 2 * next->size() + 1024) << generation;
    compacted = compacted || next->held() == next->size();
    last = std::move(next);
    for (int i = 0; i < 4000; ++i) {
      ASSERT_EQ((*last)[static_cast<std::size_t>(i)].id, order(i, 0).id) << generation;
    }
  }
  EXPECT_TRUE(compacted);
  for (const Order& o : *last) ASSERT_EQ(last->find(o.id), &o);
  // A list that alone holds its orders gives them up without a copy; a shared one copies.
  const OrderList copy = *last;
  const Order* at = &copy[0];
  std::vector<Order> moved = OrderList(first).to_vector();
  EXPECT_EQ(moved.size(), 4000u);
  EXPECT_EQ(copy.to_vector().size(), 4000u);
  EXPECT_EQ(&copy[0], at);
}

// The memo's row hash and the poller's export hash tell apart rows that differ in one byte.
TEST(FastHash, OneByteChangedChangesIt) {
  EXPECT_NE(fast_hash(""), fast_hash(std::string(1, '\0')));
  // Every length through the hash's tiers (up to 16, 128, 240 bytes, then stripes): one byte
  // changed anywhere changes it.
  std::string text;
  for (int i = 0; i < 300; ++i) text += static_cast<char>('a' + i % 26);
  for (std::size_t n = 0; n <= text.size(); ++n) {
    const std::string a = text.substr(0, n);
    for (std::size_t k = 0; k < n; ++k) {
      std::string b = a;
      b[k] ^= 1;
      ASSERT_NE(fast_hash(a), fast_hash(b)) << n << " " << k;
    }
  }
}

TEST(FeedAmount, ReadsShopAmountsAsFen) {
  EXPECT_EQ(parse_yuan("59.9"), 5990);
  EXPECT_EQ(parse_yuan("1,299.00"), 129900);
  EXPECT_EQ(parse_yuan("￥59.90"), 5990);
  EXPECT_EQ(parse_yuan("¥8"), 800);
  EXPECT_EQ(parse_yuan(" 0.05 "), 5);
  EXPECT_EQ(parse_yuan("1,234,567"), 123456700);
}

TEST(FeedAmount, RejectsNegativesAndGarbage) {
  for (const char* bad : {"", "-1", "12x", "1.234", "1.", ".5", "1,23", "12,345,67", ",123", "1e3", "￥", "5 0"}) {
    EXPECT_FALSE(parse_yuan(bad)) << bad;
  }
}

TEST(FeedFile, UnreadableFileThrowsWithTheSystemReason) {
  EXPECT_EQ(feed_error([] { read_feed_file("orders.csv", {}); }), "cannot read orders.csv: No such file or directory");
}

// ---- generic CSV with a column mapping ----

ColumnMapping shop_mapping() {
  ColumnMapping m;
  m.columns = {{"order_id", "id"},        {"buyer", "customer"}, {"status", "state"},
               {"created_at", "created"}, {"paid_at", "paid"},   {"amount", "total"}};
  m.status_values = {{"new", OrderStatus::unpaid}, {"done", OrderStatus::paid}, {"cancelled", OrderStatus::closed}};
  m.default_status = OrderStatus::unpaid;
  m.source = "shop.yaml";
  return m;
}

FeedSnapshot mapped(const std::string& text, const ColumnMapping& m) {
  FeedOptions options;
  options.mapping = m;
  return parse_feed(text, options, "shop.csv");
}

TEST(GenericCsvFeed, ReadsMappedColumnsAndStatusValues) {
  const std::string text =
      "id;customer;state;created;paid;total;extra\n"
      "A1;c1;new;2026-11-24 10:00:00;;12.5;x\n"
      "A2;c2;DONE;2026-11-24 10:00:00;;1;x\n"
      "A3;c3;cancelled;2026-11-24 10:00:00;2026-11-24 10:01:00;1;x\n"  // paid_at wins
      "A4;c4;;2026-11-24 10:00:00;;1;x\n"                              // empty -> default
      "A5;c5;lost;2026-11-24 10:00:00;;1;x\n";
  ColumnMapping m = shop_mapping();
  m.delimiter = ';';
  const auto snap = mapped(text, m);
  ASSERT_EQ(snap.orders.size(), 4u);
  EXPECT_EQ(snap.orders[0].amount, 1250);
  EXPECT_EQ(snap.orders[0].status, OrderStatus::unpaid);
  EXPECT_EQ(snap.orders[1].status, OrderStatus::paid);
  EXPECT_EQ(snap.orders[2].status, OrderStatus::paid);
  EXPECT_EQ(snap.orders[3].status, OrderStatus::unpaid);
  ASSERT_EQ(snap.rejected.size(), 1u);
  EXPECT_EQ(snap.rejected[0].line, 6);
  EXPECT_EQ(snap.rejected[0].error, "unknown status 'lost' in state");
}

TEST(GenericCsvFeed, UnmappedAmountIsZeroAndUnmappedStatusUsesTheDefault) {
  ColumnMapping m;
  m.columns = {{"order_id", "id"}, {"buyer", "who"}, {"created_at", "at"}};
  m.default_status = OrderStatus::closed;
  const auto snap = mapped("id,who,at\n1,x,2026-11-24 10:00:00\n", m);
  ASSERT_EQ(snap.orders.size(), 1u);
  EXPECT_EQ(snap.orders[0].amount, 0);
  EXPECT_EQ(snap.orders[0].status, OrderStatus::closed);
}

TEST(GenericCsvFeed, ThrowsWhenAMappedColumnIsAbsent) {
  const std::string error = feed_error([] { mapped("id,customer,state,created,paid\n", shop_mapping()); });
  EXPECT_EQ(error, "shop.csv: missing column total (mapped to amount by shop.yaml)");
}

TEST(GenericCsvFeed, ReadsEveryOlistOrderWithTheShippedMapping) {
  for (const char* name : {"olist_orders_dataset.csv", "olist-8k/olist_orders_dataset.csv"}) {
    const std::string path = std::string(CUIFU_SOURCE_DIR "/../shared/data/real/") + name;
    if (!std::filesystem::exists(path)) GTEST_SKIP() << "no shared Olist data at " << path;
    FeedOptions options;
    options.mapping = load_column_mapping(CUIFU_SOURCE_DIR "/data/olist-mapping.yaml");
    const auto snap = read_feed_file(path, options);
    EXPECT_TRUE(snap.rejected.empty()) << name << ": line " << snap.rejected[0].line << ": " << snap.rejected[0].error;
    // The files hold 4,071 and 8,135 data rows.
    EXPECT_EQ(snap.orders.size(), std::string(name).starts_with("olist-8k") ? 8135u : 4071u) << name;
    int unpaid = 0;
    for (const auto& o : snap.orders) unpaid += o.status == OrderStatus::unpaid;
    EXPECT_EQ(unpaid, std::string(name).starts_with("olist-8k") ? 5 : 0) << name;
  }
}

TEST(GenericCsvFeed, ReadsOlistStyleMixedQuoting) {
  FeedOptions options;
  options.mapping = load_column_mapping(CUIFU_SOURCE_DIR "/data/olist-mapping.yaml");
  const std::string text =
      "\"order_id\",\"customer_id\",\"order_status\",\"order_purchase_timestamp\",\"order_approved_at\"\n"
      "e481f51c,\"9ef432eb\",delivered,2017-10-02 10:56:33,2017-10-02 11:07:15\n"
      "\"53cdb2fc\",b0830fb4,created,2018-07-24 20:41:37,\n"
      "\"47770eb9\",\"41ce2a54\",canceled,2018-08-08 08:38:49,\n";
  const auto snap = parse_feed(text, options, "olist.csv");
  ASSERT_EQ(snap.orders.size(), 3u);
  EXPECT_EQ(snap.orders[0].id, "e481f51c");
  EXPECT_EQ(snap.orders[0].buyer, "9ef432eb");
  EXPECT_EQ(snap.orders[0].status, OrderStatus::paid);
  EXPECT_EQ(snap.orders[0].paid_at, at("2017-10-02 11:07:15"));
  EXPECT_EQ(snap.orders[1].id, "53cdb2fc");
  EXPECT_EQ(snap.orders[1].status, OrderStatus::unpaid);
  EXPECT_EQ(snap.orders[2].status, OrderStatus::closed);
}

// ---- 大促 orders: the order type and a pre-sale order's balance window, in every format ----

TEST(PromoFeed, TaobaoExportReadsOrderTypeAndBalanceWindowAndTakesAPresalePaymentTimeAsTheDeposit) {
  const std::string text =
      "订单编号,买家会员名,买家应付货款,订单状态,订单创建时间,订单付款时间,订单类型,尾款支付开始时间,尾款支付结束时间\n"
      "1,a,199.00,等待买家付款,2026-11-19 20:00:00,2026-11-19 20:05:00,预售订单,2026-11-24 20:00:00,2026-11-26 "
      "23:59:59\n"
      "2,b,39.90,等待买家付款,2026-11-23 20:55:00,,聚划算,,\n"
      "3,c,29.90,等待买家付款,2026-11-23 20:20:00,,秒杀,,\n"
      "4,d,9.90,等待买家付款,2026-11-23 20:20:00,,普通订单,,\n"
      "5,e,9.90,等待买家付款,2026-11-23 20:20:00,,预售订单,2026-11-26 20:00:00,2026-11-24 20:00:00\n";
  const auto snap = taobao(text);
  ASSERT_EQ(snap.orders.size(), 4u);
  const Order& pre = snap.orders[0];
  EXPECT_EQ(pre.type, OrderType::presale);
  EXPECT_EQ(pre.status, OrderStatus::unpaid);  // the payment time is the deposit's, not the order's
  EXPECT_FALSE(pre.paid_at);
  EXPECT_EQ(pre.balance_starts, at("2026-11-24 20:00:00"));
  EXPECT_EQ(pre.balance_ends, at("2026-11-26 23:59:59"));
  EXPECT_EQ(snap.orders[1].type, OrderType::flash_sale);
  EXPECT_EQ(snap.orders[2].type, OrderType::flash_sale);
  EXPECT_EQ(snap.orders[3].type, OrderType::normal);
  ASSERT_EQ(snap.rejected.size(), 1u);
  EXPECT_EQ(snap.rejected[0].line, 6);
  EXPECT_EQ(snap.rejected[0].error, "尾款支付结束时间 must be after 尾款支付开始时间");
}

TEST(PromoFeed, JsonlAndMappedCsvReadTheSameFields) {
  const auto jsonl = parse_feed(
      R"({"order_id":"1","buyer":"a","status":"unpaid","created_at":"2026-11-19 20:00:00","order_type":"presale","balance_starts":"2026-11-24 20:00:00","balance_ends":"2026-11-26 23:59:59"})"
      "\n"
      R"({"order_id":"2","buyer":"b","status":"unpaid","created_at":"2026-11-23 20:55:00","order_type":"flash_sale"})"
      "\n",
      FeedOptions{}, "orders.jsonl");
  ASSERT_EQ(jsonl.orders.size(), 2u) << jsonl.rejected[0].error;
  EXPECT_EQ(jsonl.orders[0].type, OrderType::presale);
  EXPECT_EQ(jsonl.orders[0].balance_ends, at("2026-11-26 23:59:59"));
  EXPECT_EQ(jsonl.orders[1].type, OrderType::flash_sale);

  ColumnMapping m;
  m.columns = {{"order_id", "id"},     {"buyer", "who"},           {"created_at", "at"},
               {"order_type", "kind"}, {"balance_starts", "from"}, {"balance_ends", "to"}};
  const auto csv = mapped(
      "id,who,at,kind,from,to\n"
      "1,x,2026-11-19 20:00:00,presale,2026-11-24 20:00:00,2026-11-26 23:59:59\n"
      "2,y,2026-11-19 20:00:00,一口价,,\n"
      "3,z,2026-11-19 20:00:00,presale,2026-11-24 25:00:00,\n",
      m);
  ASSERT_EQ(csv.orders.size(), 2u);
  EXPECT_EQ(csv.orders[0].type, OrderType::presale);
  EXPECT_EQ(csv.orders[0].balance_starts, at("2026-11-24 20:00:00"));
  EXPECT_EQ(csv.orders[1].type, OrderType::normal);  // an unknown kind is a normal order
  ASSERT_EQ(csv.rejected.size(), 1u);
  EXPECT_EQ(csv.rejected[0].line, 4);
  EXPECT_NE(csv.rejected[0].error.find("from"), std::string::npos) << csv.rejected[0].error;
}

// ---- column mapping files ----

TEST(FeedMappingFile, LoadsTheOlistMapping) {
  const auto m = load_column_mapping(CUIFU_SOURCE_DIR "/data/olist-mapping.yaml");
  EXPECT_EQ(m.columns.at("order_id"), "order_id");
  EXPECT_EQ(m.columns.at("buyer"), "customer_id");
  EXPECT_EQ(m.columns.at("created_at"), "order_purchase_timestamp");
  EXPECT_EQ(m.columns.at("paid_at"), "order_approved_at");
  EXPECT_EQ(m.status_values.at("delivered"), OrderStatus::paid);
  EXPECT_EQ(m.status_values.at("created"), OrderStatus::unpaid);
  EXPECT_EQ(m.status_values.at("unavailable"), OrderStatus::closed);
  EXPECT_EQ(m.timezone, "America/Sao_Paulo");
  EXPECT_EQ(m.delimiter, ',');
}

TEST(FeedMappingFile, AcceptsAScalarStatusValueAndATabDelimiter) {
  const auto path = write_temp("scalar.yaml",
                               "columns: {order_id: a, buyer: b, created_at: c}\n"
                               "status_values:\n  paid: ok\ndelimiter: tab\ndefault_status: closed\n");
  const auto m = load_column_mapping(path);
  EXPECT_EQ(m.status_values.at("ok"), OrderStatus::paid);
  EXPECT_EQ(m.delimiter, '\t');
  EXPECT_EQ(m.default_status, OrderStatus::closed);
}

struct MappingErrorCase {
  const char* name;
  const char* yaml;
  const char* expected;  // the whole message after the file name
};

void PrintTo(const MappingErrorCase& c, std::ostream* os) {
  *os << c.name;
}

class FeedMappingErrors : public ::testing::TestWithParam<MappingErrorCase> {};

TEST_P(FeedMappingErrors, NameFileLineColumnAndKey) {
  const auto& c = GetParam();
  const auto path = write_temp(std::string(c.name) + ".yaml", c.yaml);
  EXPECT_EQ(feed_error([&] { load_column_mapping(path); }), path + ":" + c.expected);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, FeedMappingErrors,
    ::testing::Values(
        MappingErrorCase{"syntax", "columns:\n  order_id: [id\n  buyer: x\n", "3:8: end of sequence flow not found"},
        MappingErrorCase{
            "unknown_field", "columns:\n  order_id: id\n  ordr_id: x\n",
            "3:3: columns: unknown field 'ordr_id' (expected one of order_id, buyer, amount, status, "
            "created_at, paid_at, closed_at, note, receiver_name, address, phone, email, item, shop, item_code, "
            "stock, order_type, balance_starts, balance_ends)"},
        MappingErrorCase{"unknown_key", "columns:\n  order_id: id\ncolumn_map: 1\n",
                         "3:1: unknown key 'column_map' (expected columns, status_values, default_status, "
                         "delimiter or timezone)"},
        MappingErrorCase{"missing_created", "columns:\n  order_id: id\n  buyer: b\n",
                         "1:1: columns: created_at is required"},
        MappingErrorCase{"bad_status_key",
                         "columns:\n  order_id: id\n  buyer: b\n  created_at: c\n"
                         "status_values:\n  payed: [x]\n",
                         "6:3: a key of status_values must be unpaid, paid or closed, not 'payed'"},
        MappingErrorCase{"twice",
                         "columns:\n  order_id: id\n  buyer: b\n  created_at: c\n"
                         "status_values:\n  paid: [x, y]\n  closed: [z, y]\n",
                         "7:15: status_values: 'y' is already listed under paid"},
        MappingErrorCase{"duplicate_key", "columns:\n  order_id: id\n  buyer: b\n  created_at: c\n  buyer: d\n",
                         "5:3: columns: duplicate key 'buyer' (first on line 3)"},
        MappingErrorCase{"timezone", "columns:\n  order_id: id\n  buyer: b\n  created_at: c\ntimezone: Mars/Olympus\n",
                         "5:11: timezone: unknown time zone 'Mars/Olympus'"},
        MappingErrorCase{"delimiter", "columns:\n  order_id: id\n  buyer: b\n  created_at: c\ndelimiter: ';;'\n",
                         "5:12: delimiter must be one character or tab, not ';;'"},
        MappingErrorCase{"status_unlisted", "columns:\n  order_id: id\n  buyer: b\n  created_at: c\n  status: s\n",
                         "5:3: columns: status is mapped but status_values is missing"},
        MappingErrorCase{"empty_header", "columns:\n  order_id: id\n  buyer:\n  created_at: c\n",
                         "3:3: columns: buyer must be a non-empty string"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(FeedMappingFile, UnreadableFileThrows) {
  EXPECT_EQ(feed_error([] { load_column_mapping("/nonexistent/map.yaml"); }),
            "cannot read /nonexistent/map.yaml: No such file or directory");
}

// ---- JSON Lines ----

TEST(JsonlFeed, ReadsGoodLinesAndRejectsBadOnesWithTheirLines) {
  const std::string text =
      "{\"order_id\": \"J1\", \"buyer\": \"b1\", \"amount\": 59.9, \"status\": \"unpaid\", "
      "\"created_at\": \"2026-11-24 10:00:00\", \"phone\": \"13800000000\", \"note\": null}\n"
      "\n"
      "{\"order_id\": \"J2\", \"buyer\": \"b2\", \"amount\": \"1,299.00\", \"status\": \"交易成功\", "
      "\"created_at\": \"2026-11-24 10:00:00\"}\r\n"
      "{\"order_id\": \"J3\", \"buyer\": \"b3\", \"status\": \"unpaid\", \"created_at\": \n"
      "[1, 2]\n"
      "{\"order_id\": 42, \"buyer\": \"b4\", \"amount\": 8, \"created_at\": \"2026-11-24 10:00:00\", "
      "\"paid_at\": \"2026-11-24 10:01:00\"}\n"
      "{\"order_id\": \"J5\", \"buyer\": true, \"status\": \"paid\", \"created_at\": \"2026-11-24 10:00:00\"}\n"
      "{\"order_id\": \"J6\", \"buyer\": \"b6\", \"amount\": -1, \"status\": \"paid\", \"created_at\": \"2026-11-24 "
      "10:00:00\"}\n"
      "{\"order_id\": \"J7\", \"buyer\": \"b7\", \"status\": \"open\", \"created_at\": \"2026-11-24 10:00:00\"}\n";
  const auto snap = parse_feed(text, {}, "orders.txt");  // detected by the leading '{'
  ASSERT_EQ(snap.orders.size(), 3u);
  EXPECT_EQ(snap.orders[0].amount, 5990);
  EXPECT_EQ(snap.orders[0].phone, "13800000000");
  EXPECT_EQ(snap.orders[0].source_line, 1);
  EXPECT_EQ(snap.orders[1].amount, 129900);
  EXPECT_EQ(snap.orders[1].status, OrderStatus::paid);
  EXPECT_EQ(snap.orders[1].source_line, 3);
  EXPECT_EQ(snap.orders[2].id, "42");
  EXPECT_EQ(snap.orders[2].amount, 800);
  EXPECT_EQ(snap.orders[2].status, OrderStatus::paid);  // no status, but paid_at
  ASSERT_EQ(snap.rejected.size(), 5u);
  EXPECT_EQ(snap.rejected[0].line, 4);
  EXPECT_EQ(snap.rejected[0].error.rfind("invalid JSON: parse error at line 1", 0), 0u) << snap.rejected[0].error;
  EXPECT_EQ(snap.rejected[1].line, 5);
  EXPECT_EQ(snap.rejected[1].error, "expected a JSON object");
  EXPECT_EQ(snap.rejected[2].line, 7);
  EXPECT_EQ(snap.rejected[2].error, "buyer must be a string or a number, not boolean");
  EXPECT_EQ(snap.rejected[3].error, "bad amount '-1' in amount");
  EXPECT_EQ(snap.rejected[4].line, 9);
  EXPECT_EQ(snap.rejected[4].error, "unknown status 'open' in status");
}

TEST(JsonlFeed, IsChosenByExtensionRejectsMissingFieldsAndKeepsTheNewestStateOfARepeatedOrder) {
  const std::string text =
      "  \n"
      "{\"order_id\": \"J1\", \"buyer\": \"b\", \"status\": \"closed\", \"created_at\": \"2026-11-24 10:00:00\"}\n"
      "{\"buyer\": \"b\", \"status\": \"unpaid\", \"created_at\": \"2026-11-24 10:00:00\"}\n"
      "{\"order_id\": \"J3\", \"buyer\": \"b\", \"created_at\": \"2026-11-24 10:00:00\"}\n"
      "{\"order_id\": \"J1\", \"buyer\": \"b\", \"status\": \"unpaid\", \"created_at\": \"2026-11-24 10:00:00\"}\n";
  const auto path = write_temp("orders.ndjson", text);
  const auto snap = read_feed_file(path, {});
  ASSERT_EQ(snap.orders.size(), 1u);
  EXPECT_EQ(snap.orders[0].status, OrderStatus::closed);
  ASSERT_EQ(snap.rejected.size(), 2u);
  EXPECT_EQ(snap.rejected[0].line, 3);
  EXPECT_EQ(snap.rejected[0].error, "order_id missing");
  EXPECT_EQ(snap.rejected[1].error, "status missing");
  // The later unpaid row of J1 never overrides its closed row; it is counted, not dropped.
  ASSERT_EQ(snap.superseded.size(), 1u);
  EXPECT_EQ(snap.superseded[0].line, 5);
  EXPECT_EQ(snap.superseded[0].kept_line, 2);
}

TEST(FeedFormatDetection, ExplicitFormatBeatsDetection) {
  // A Taobao header in a file named .jsonl still parses as Taobao when told so.
  FeedOptions options;
  options.format = FeedFormat::taobao;
  const auto path = write_temp("taobao.jsonl", kHeader + "1,a,1,等待买家付款,,,,,2026-11-24 10:00:00,,,\n");
  EXPECT_EQ(read_feed_file(path, options).orders.size(), 1u);
  options.format = FeedFormat::csv;  // csv without a mapping is a usage error
  EXPECT_NE(feed_error([&] { read_feed_file(path, options); }).find("column mapping"), std::string::npos);
}

}  // namespace
}  // namespace cuifu

namespace cuifu {
namespace {

TEST(GenericCsvFeedExcel, ReadsExcelProtectedCellsThroughTheMapping) {
  ColumnMapping m;
  m.columns = {
      {"order_id", "id"}, {"buyer", "customer"}, {"created_at", "created"}, {"amount", "total"}, {"phone", "mobile"}};
  m.delimiter = ';';
  m.source = "shop.yaml";
  FeedOptions options;
  options.mapping = m;
  const auto snap = parse_feed(
      "id;customer;created;total;mobile\n=\"2938390312379655154\";c1;'2026-11-24 10:00:00;=\"12.50\";'13887769866\n",
      options, "shop.csv");
  ASSERT_TRUE(snap.rejected.empty()) << snap.rejected[0].error;
  ASSERT_EQ(snap.orders.size(), 1u);
  EXPECT_EQ(snap.orders[0].id, "2938390312379655154");
  EXPECT_EQ(snap.orders[0].amount, 1250);
  EXPECT_EQ(snap.orders[0].phone, "13887769866");
}

}  // namespace
}  // namespace cuifu
