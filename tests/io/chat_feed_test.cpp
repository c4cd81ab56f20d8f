// Reading the shop's chat export: CSV (UTF-8 / GB18030) with its usual headers or a column
// mapping, JSON Lines, and rows rejected with their line while the others are used.
#include "io/chat_feed.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>

#include "io/charset.h"

namespace cuifu {
namespace {

LocalTime at(const char* text) {
  return *parse_local_time(text);
}

std::string write_temp(const std::string& name, const std::string& text) {
  const auto path = std::filesystem::path(::testing::TempDir()) / ("cuifu_chat_test_" + name);
  std::ofstream(path, std::ios::binary) << text;
  return path.string();
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const FeedError& e) {
    return e.what();
  }
  return "<no error>";
}

const std::string kCsv =
    "买家,时间,发送方,内容,店铺,订单号\r\n"
    "tb_a,2026-11-23 10:05:00,买家,\"太贵了，能便宜点吗\",青禾家居旗舰店,\r\n"
    "tb_a,2026-11-23 10:06:00,客服,您好，已经是活动价了,青禾家居旗舰店,\r\n"
    "tb_b,2026-11-23 25:00:00,买家,不要了,青禾家居旗舰店,\r\n"               // line 4: bad time
    "tb_b,2026-11-23 10:07:00,路人,在吗,青禾家居旗舰店,\r\n"                 // line 5: unknown sender
    ",2026-11-23 10:08:00,买家,在吗,青禾家居旗舰店,\r\n"                     // line 6: no buyer
    "tb_c,2026-11-23 10:09:00,买家\r\n"                                      // line 7: short row
    "tb_c,2026-11-23 10:01:00,自动回复,\"欢迎光临\n有事请留言\",,'3984\r\n"  // lines 8-9: quoted newline
    "tb_c,2026-11-23 10:10:00,tb_c,拍错了,,\r\n";                            // the buyer named as sender

TEST(ChatFeed, ReadsACsvExportAndRejectsBadRowsWithTheirLines) {
  const ChatSnapshot s = parse_chat(kCsv, {}, "chat.csv");
  EXPECT_EQ(s.encoding, "utf-8");
  ASSERT_EQ(s.rejected.size(), 4u);
  EXPECT_EQ(s.rejected[0].line, 4);
  EXPECT_NE(s.rejected[0].error.find("bad time '2026-11-23 25:00:00' in 时间"), std::string::npos);
  EXPECT_EQ(s.rejected[1].line, 5);
  EXPECT_NE(s.rejected[1].error.find("unknown sender '路人' in 发送方"), std::string::npos);
  EXPECT_EQ(s.rejected[2].line, 6);
  EXPECT_EQ(s.rejected[2].error, "买家 missing");
  EXPECT_EQ(s.rejected[3].line, 7);
  EXPECT_NE(s.rejected[3].error.find("expected 6 fields"), std::string::npos);
  EXPECT_EQ(s.chat.size(), 4u);
  const auto& a = s.chat.of("tb_a");
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(a[0].sender, ChatSender::buyer);
  EXPECT_EQ(a[0].text, "太贵了，能便宜点吗");
  EXPECT_EQ(a[0].at, at("2026-11-23 10:05"));
  EXPECT_EQ(a[0].shop, "青禾家居旗舰店");
  EXPECT_EQ(a[0].source_line, 2);
  EXPECT_EQ(a[1].sender, ChatSender::shop);
  const auto& c = s.chat.of("tb_c");
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].sender, ChatSender::bot);
  EXPECT_EQ(c[0].text, "欢迎光临\n有事请留言");
  EXPECT_EQ(c[0].order_id, "3984");
  EXPECT_EQ(c[1].sender, ChatSender::buyer);
  EXPECT_EQ(c[1].source_line, 10);
}

TEST(ChatFeed, AGb18030ExportIsDetectedAndRead) {
  const ChatSnapshot s = parse_chat(from_utf8(kCsv, "gb18030"), {}, "chat.csv");
  EXPECT_EQ(s.encoding, "gb18030");
  EXPECT_EQ(s.rejected.size(), 4u);
  ASSERT_EQ(s.chat.of("tb_a").size(), 2u);
  EXPECT_EQ(s.chat.of("tb_a")[0].text, "太贵了，能便宜点吗");
}

TEST(ChatFeed, MessagesOfABuyerComeOutInTimeOrder) {
  const ChatSnapshot s = parse_chat(
      "buyer,time,sender,text\nx,2026-11-23 11:00,buyer,later\nx,2026-11-23 10:00,shop,earlier\n", {}, "chat.csv");
  ASSERT_EQ(s.chat.of("x").size(), 2u);
  EXPECT_EQ(s.chat.of("x")[0].text, "earlier");
}

TEST(ChatFeed, ReadsJsonLinesAndRejectsBadLines) {
  const std::string jsonl =
      "{\"buyer\":\"tb_a\",\"time\":\"2026-11-23 10:05\",\"sender\":\"buyer\",\"text\":\"钱不够\",\"order_id\":3984}\n"
      "not json\n"
      "\n"
      "{\"buyer\":\"tb_a\",\"time\":\"2026-11-23 10:06\",\"sender\":\"shop\",\"text\":[1]}\n"
      "{\"buyer\":\"tb_a\",\"time\":\"2026-11-23 10:07\",\"sender\":\"bot\",\"text\":\"好的\"}\n";
  const ChatSnapshot s = parse_chat(jsonl, {}, "chat.jsonl");
  ASSERT_EQ(s.rejected.size(), 2u);
  EXPECT_EQ(s.rejected[0].line, 2);
  EXPECT_NE(s.rejected[0].error.find("invalid JSON"), std::string::npos);
  EXPECT_EQ(s.rejected[1].line, 4);
  EXPECT_NE(s.rejected[1].error.find("text must be a string"), std::string::npos);
  ASSERT_EQ(s.chat.of("tb_a").size(), 2u);
  EXPECT_EQ(s.chat.of("tb_a")[0].order_id, "3984");
}

TEST(ChatFeed, AMissingColumnIsOneClearError) {
  EXPECT_NE(error_of([] {
              parse_chat("买家,时间,内容\nx,2026-11-23 10:00,hi\n", {}, "chat.csv");
            }).find("chat.csv: missing required column sender"),
            std::string::npos);
}

TEST(ChatMapping, AMappingNamesTheColumnsAndTheWordsForWhoWrote) {
  const std::string mapping = write_temp("mapping.yaml",
                                         "columns:\n"
                                         "  buyer: 客户昵称\n"
                                         "  time: 消息时间\n"
                                         "  sender: 说话人\n"
                                         "  text: 聊天记录\n"
                                         "sender_values:\n"
                                         "  shop: [小禾, 售前-阿青]\n"
                                         "  bot: 店小蜜\n"
                                         "delimiter: tab\n");
  ChatOptions options;
  options.mapping = load_chat_mapping(mapping);
  const ChatSnapshot s = parse_chat(
      "客户昵称\t消息时间\t说话人\t聊天记录\n"
      "tb_a\t2026-11-23 10:00\t店小蜜\t欢迎\n"
      "tb_a\t2026-11-23 10:01\ttb_a\t几天能到\n"
      "tb_a\t2026-11-23 10:02\t售前-阿青\t两天\n"
      "tb_a\t2026-11-23 10:03\t阿花\t?\n",
      options, "chat.tsv");
  ASSERT_EQ(s.rejected.size(), 1u);
  EXPECT_EQ(s.rejected[0].line, 5);
  EXPECT_NE(s.rejected[0].error.find("sender_values"), std::string::npos) << s.rejected[0].error;
  const auto& m = s.chat.of("tb_a");
  ASSERT_EQ(m.size(), 3u);
  EXPECT_EQ(m[0].sender, ChatSender::bot);
  EXPECT_EQ(m[1].sender, ChatSender::buyer);
  EXPECT_EQ(m[2].sender, ChatSender::shop);
}

TEST(ChatMapping, MappingErrorsNameFileLineAndColumn) {
  const std::string unknown = write_temp("bad1.yaml", "columns:\n  buyer: a\n  when: b\n");
  EXPECT_EQ(error_of([&] { load_chat_mapping(unknown); }),
            unknown +
                ":3:3: columns: unknown chat field 'when' (expected one of buyer, time, sender, text, shop, "
                "order_id)");
  const std::string who = write_temp("bad2.yaml",
                                     "columns: {buyer: a, time: b, sender: c, text: d}\n"
                                     "sender_values:\n  staff: [x]\n");
  EXPECT_EQ(error_of([&] { load_chat_mapping(who); }), who + ":3:3: sender_values: 'staff' must be buyer, shop or bot");
  const std::string missing = write_temp("bad3.yaml", "columns:\n  buyer: a\n  time: b\n  sender: c\n");
  EXPECT_EQ(error_of([&] { load_chat_mapping(missing); }), missing + ":1:1: columns: text is required");
}

}  // namespace
}  // namespace cuifu
