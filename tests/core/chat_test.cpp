// Reasons and stop signals from the buyer's chat and note (core/chat.h), with the shop's
// default rules, and how the planner uses them: the template variant, skipped buyers who
// said they will not buy, and no IM on top of a live conversation.
#include "core/chat.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <type_traits>

#include "core/backtest.h"
#include "core/planner.h"
#include "core/text.h"
#include "test_rules.h"

namespace cuifu {
namespace {

using std::chrono::days;
using testing::at;
using testing::default_rules;
using testing::default_templates;
using testing::make_order;

ChatMessage said(std::string buyer, std::string_view when, std::string text, ChatSender sender = ChatSender::buyer) {
  ChatMessage m;
  m.buyer = std::move(buyer);
  m.at = at(when);
  m.sender = sender;
  m.text = std::move(text);
  return m;
}

// The reason for one order of "tb_a" placed at 2026-11-23 10:00, given its note and chat.
ReasonFinding reason_for(const std::string& note, const std::vector<ChatMessage>& chat = {},
                         std::string_view now = "2026-11-23 20:00") {
  static Order o;
  o = make_order("A1", "tb_a", at("2026-11-23 10:00"));
  o.note = note;
  return detect_reason(default_rules(), {&o}, chat, at(now));
}

std::string reason_name(const ReasonFinding& f) {
  return f.rule ? f.rule->name : "";
}

std::string chat_reason(const std::string& text) {
  return reason_name(reason_for("", {said("tb_a", "2026-11-23 10:05", text)}));
}

TEST(ChatReason, EachReasonOfTheTrainingMaterialIsReadFromTheBuyersWords) {
  EXPECT_EQ(chat_reason("有点贵啊，能便宜点吗"), "price");
  EXPECT_EQ(chat_reason("支付宝余额不足，明天再付"), "balance");
  EXPECT_EQ(chat_reason("现在拍下什么时候发货？几天能到北京"), "delivery");
  EXPECT_EQ(chat_reason("我平时穿M，这个尺码偏小吗"), "spec");
  EXPECT_EQ(chat_reason("我再去别家看看，货比三家"), "comparing");
  EXPECT_EQ(chat_reason("有优惠券吗？等券再付"), "coupon");
  EXPECT_EQ(chat_reason("等双十一活动再买吧"), "coupon");
  EXPECT_EQ(chat_reason("我让我老公付，他晚上回来"), "other_payer");
  EXPECT_EQ(chat_reason("找人代付可以吗"), "other_payer");
  EXPECT_EQ(chat_reason("哎呀忘了付款"), "forgot");
  EXPECT_EQ(chat_reason("刚才付款失败了，提示银行卡异常"), "payment_failed");
  EXPECT_EQ(chat_reason("再考虑一下，怕质量不好"), "hesitating");
  EXPECT_EQ(chat_reason("好的，谢谢"), "");
}

TEST(ChatReason, TheBuyerNoteStillRevealsTheReasonWithoutAChat) {
  EXPECT_EQ(reason_name(reason_for("这个月钱不够了，月底再付")), "balance");
  EXPECT_EQ(reason_name(reason_for("等发工资再付")), "balance");
  EXPECT_EQ(reason_name(reason_for("再考虑一下颜色，怕质量不好")), "hesitating");
  EXPECT_EQ(reason_name(reason_for("有点贵，能便宜点吗")), "price");
  EXPECT_EQ(reason_name(reason_for("不好意思忘了付款")), "forgot");
  EXPECT_EQ(reason_name(reason_for("请尽快发货，\"周末\"在家\n谢谢")), "");
  EXPECT_EQ(reason_name(reason_for("")), "");
  const ReasonFinding f = reason_for("这个月钱不够了，月底再付");
  EXPECT_FALSE(f.words.in_chat);
  EXPECT_EQ(f.words.keyword, "钱不够");
  EXPECT_EQ(f.words.describe(), "buyer note of order A1: \"这个月钱不够了，月底再付\"");
}

TEST(ChatReason, FirstReasonInRuleOrderWinsWithinOneMessage) {
  EXPECT_EQ(chat_reason("钱不够，而且有点贵"), "balance");
  EXPECT_EQ(chat_reason("付款失败了，余额也不够"), "payment_failed");
}

TEST(ChatReason, TheBuyersLatestWordDecidesOverEarlierMessagesAndTheNote) {
  const ReasonFinding f =
      reason_for("有点贵，能便宜点吗",
                 {said("tb_a", "2026-11-23 09:40", "尺码偏大吗"), said("tb_a", "2026-11-23 11:00", "太贵了"),
                  said("tb_a", "2026-11-23 12:30", "刚才付款失败了"), said("tb_a", "2026-11-23 12:31", "好的")});
  EXPECT_EQ(reason_name(f), "payment_failed");
  EXPECT_TRUE(f.words.in_chat);
  EXPECT_EQ(f.words.at, at("2026-11-23 12:30"));
  EXPECT_EQ(f.words.describe(), "buyer wrote in the chat at 11-23 12:30: \"刚才付款失败了\"");
  // A message before the order (asking first, then ordering) counts too.
  EXPECT_EQ(reason_name(reason_for("", {said("tb_a", "2026-11-23 09:40", "这款什么时候发货")})), "delivery");
}

// Without a quote (the backtest's plans write no why line) the finding is the same otherwise:
// the rule, where and when the words were, the order and the keyword, with and without the index.
TEST(ChatReason, AFindingWithoutItsQuoteIsTheSameFinding) {
  Order a = make_order("A1", "tb_a", at("2026-11-23 10:00"));
  a.note = "有点贵，能便宜点吗";
  Order b = make_order("A2", "tb_a", at("2026-11-23 10:30"));
  b.note = "钱不够 月底再付";
  const KeywordIndex index(default_rules());
  const std::vector<std::vector<ChatMessage>> chats = {
      {},
      {said("tb_a", "2026-11-23 11:00", "太贵了"), said("tb_a", "2026-11-23 12:30", "刚才付款失败了 13812345678")},
      {said("tb_a", "2026-11-23 09:40", "这款什么时候发货")}};
  for (const auto& chat : chats) {
    for (const KeywordIndex* ix : {static_cast<const KeywordIndex*>(nullptr), &index}) {
      const ReasonFinding full = detect_reason(default_rules(), {&a, &b}, chat, at("2026-11-23 20:00"), ix);
      const ReasonFinding bare = detect_reason(default_rules(), {&a, &b}, chat, at("2026-11-23 20:00"), ix, false);
      ASSERT_NE(full.rule, nullptr);
      EXPECT_FALSE(full.words.quote.empty());
      EXPECT_EQ(bare.rule, full.rule);
      EXPECT_EQ(bare.words.in_chat, full.words.in_chat);
      EXPECT_EQ(bare.words.at, full.words.at);
      EXPECT_EQ(bare.words.order_id, full.words.order_id);
      EXPECT_EQ(bare.words.keyword, full.words.keyword);
      EXPECT_TRUE(bare.words.quote.empty());
    }
  }
}

TEST(ChatReason, OnlyTheBuyersOwnMessagesUpToNowAndWithinTheLookBackCount) {
  // The shop and the bot mention prices and coupons all day: not the buyer's reason.
  EXPECT_EQ(
      reason_name(reason_for("", {said("tb_a", "2026-11-23 10:05", "亲，店铺满减优惠券在首页领取", ChatSender::bot),
                                  said("tb_a", "2026-11-23 10:06", "这款比别家便宜", ChatSender::shop)})),
      "");
  // Said after `now`: a backtest replaying 10:30 must not know it yet.
  EXPECT_EQ(reason_name(reason_for("", {said("tb_a", "2026-11-23 11:00", "钱不够")}, "2026-11-23 10:30")), "");
  EXPECT_EQ(reason_name(reason_for("", {said("tb_a", "2026-11-23 11:00", "钱不够")}, "2026-11-23 11:00")), "balance");
  // Three days before the order (the default look-back) and earlier: another matter.
  EXPECT_EQ(reason_name(reason_for("", {said("tb_a", "2026-11-20 09:59", "钱不够")})), "");
  EXPECT_EQ(reason_name(reason_for("", {said("tb_a", "2026-11-20 10:00", "钱不够")})), "balance");
  // Another buyer's words are not this buyer's.
  EXPECT_EQ(reason_name(reason_for("", {said("tb_b", "2026-11-23 10:05", "钱不够")})), "");
}

TEST(ChatReason, AMessageAboutAnotherOrderOrShopIsIgnored) {
  ChatMessage other_order = said("tb_a", "2026-11-23 10:05", "钱不够");
  other_order.order_id = "Z9";
  EXPECT_EQ(reason_name(reason_for("", {other_order})), "");
  other_order.order_id = "A1";
  EXPECT_EQ(reason_name(reason_for("", {other_order})), "balance");
  ChatMessage other_shop = said("tb_a", "2026-11-23 10:05", "钱不够");
  other_shop.shop = "别的旗舰店";
  EXPECT_EQ(reason_name(reason_for("", {other_shop})), "");
  other_shop.shop = "青禾家居旗舰店";
  EXPECT_EQ(reason_name(reason_for("", {other_shop})), "balance");
}

TEST(ChatReason, AnExceptWordCancelsTheKeywordInThatMessage) {
  Rules rules = default_rules();
  ReasonRule price;
  price.name = "price";
  price.keywords = {"便宜"};
  price.except = {"不便宜也"};
  rules.reasons = {price};
  Order o = make_order("A1", "tb_a", at("2026-11-23 10:00"));
  const LocalTime now = at("2026-11-23 20:00");
  EXPECT_EQ(reason_name(detect_reason(rules, {&o}, {said("tb_a", "2026-11-23 10:05", "能便宜点吗")}, now)), "price");
  EXPECT_EQ(reason_name(detect_reason(rules, {&o}, {said("tb_a", "2026-11-23 10:05", "不便宜也没关系")}, now)), "");
}

TEST(ChatQuote, ContactsInAQuotedMessageAreMaskedAndLongMessagesCut) {
  EXPECT_EQ(mask_contacts_in_text("电话13812345678，邮箱 zhang.san@example.com 谢谢"),
            "电话138****5678，邮箱 z***@example.com 谢谢");
  EXPECT_EQ(mask_contacts_in_text("打 138 1234 5678 或 0571-88886666"), "打 138****5678 或 057*****6666");
  EXPECT_EQ(mask_contacts_in_text("QQ 12345678"), "QQ 12****78");
  // An e-mail's domain is kept, but a phone number in it is not (found by the chat fuzzer).
  EXPECT_EQ(mask_contacts_in_text("邮箱 a.b@qq13812345678.com"), "邮箱 a***@qq138****5678.com");
  // Dates, times, prices and short numbers are no contacts.
  EXPECT_EQ(mask_contacts_in_text("2026-11-24 10:00 前付 199.00 元，3件"), "2026-11-24 10:00 前付 199.00 元，3件");
  EXPECT_EQ(quote_text("第一行\n第二行", 40), "第一行 第二行");
  const std::string cut = quote_text("我的手机13812345678，钱不够了等发工资再付，麻烦先帮我留着这个订单谢谢老板", 20);
  EXPECT_EQ(char_count(cut), 20u);
  EXPECT_EQ(cut.find("13812345678"), std::string::npos) << cut;
  EXPECT_NE(cut.find("138****5678"), std::string::npos) << cut;
  EXPECT_NE(cut.find("…"), std::string::npos) << cut;
}

TEST(ChatSenderNames, ExportsWordsForWhoWroteAreUnderstood) {
  EXPECT_EQ(parse_chat_sender("买家"), ChatSender::buyer);
  EXPECT_EQ(parse_chat_sender(" Buyer "), ChatSender::buyer);
  EXPECT_EQ(parse_chat_sender("客服"), ChatSender::shop);
  EXPECT_EQ(parse_chat_sender("自动回复"), ChatSender::bot);
  EXPECT_EQ(parse_chat_sender("bot"), ChatSender::bot);
  EXPECT_EQ(parse_chat_sender("someone"), std::nullopt);
}

// ---- stop signals ------------------------------------------------------------------

StopFinding stop_for(const Order& order, const std::vector<const Order*>& orders, const std::vector<ChatMessage>& chat,
                     std::string_view now = "2026-11-23 20:00") {
  return find_stop(default_rules(), order, orders, chat, at(now));
}

TEST(ChatStop, ABuyerWhoSaidTheyWillNotBuyIsStoppedWithTheMessageQuoted) {
  const Order a = make_order("A1", "tb_a", at("2026-11-23 10:00"));
  for (const char* text : {"不要了，谢谢", "算了不买了", "不好意思拍错了", "麻烦帮我取消订单", "再不发货我就投诉"}) {
    const StopFinding s = stop_for(a, {&a}, {said("tb_a", "2026-11-23 10:30", text)});
    ASSERT_NE(s.rule, nullptr) << text;
    EXPECT_EQ(s.words.quote, text);
  }
  EXPECT_EQ(stop_for(a, {&a}, {said("tb_a", "2026-11-23 10:30", "拍错了")}).rule->name, "will_not_buy");
  EXPECT_EQ(stop_for(a, {&a}, {said("tb_a", "2026-11-23 10:30", "帮我取消订单吧")}).rule->name, "cancel");
  EXPECT_EQ(stop_for(a, {&a}, {said("tb_a", "2026-11-23 10:30", "我要给差评")}).rule->name, "complaint");
  // Not a stop: the words are there but say the opposite, or someone else wrote them.
  EXPECT_EQ(stop_for(a, {&a}, {said("tb_a", "2026-11-23 10:30", "没拍错，就要这个")}).rule, nullptr);
  EXPECT_EQ(stop_for(a, {&a}, {said("tb_a", "2026-11-23 10:30", "如需取消订单请联系人工", ChatSender::bot)}).rule,
            nullptr);
  EXPECT_EQ(stop_for(a, {&a}, {said("tb_a", "2026-11-23 10:30", "好的，晚上付")}).rule, nullptr);
  // Written after now: unknown yet.
  EXPECT_EQ(stop_for(a, {&a}, {said("tb_a", "2026-11-23 21:00", "不要了")}).rule, nullptr);
}

TEST(ChatStop, NotBuyingStopsTheOrdersBeforeTheMessageButNotALaterOne) {
  const Order old_order = make_order("A1", "tb_a", at("2026-11-23 10:00"));
  const Order new_order = make_order("A2", "tb_a", at("2026-11-23 15:00"));
  const std::vector<ChatMessage> chat = {said("tb_a", "2026-11-23 12:00", "那个不要了")};
  const std::vector<const Order*> both = {&old_order, &new_order};
  EXPECT_NE(stop_for(old_order, both, chat).rule, nullptr);
  EXPECT_EQ(stop_for(new_order, both, chat).rule, nullptr);
  // A message that names its order stops that order only.
  ChatMessage named = said("tb_a", "2026-11-23 16:00", "A1这单拍错了");
  named.order_id = "A1";
  EXPECT_NE(stop_for(old_order, both, {named}).rule, nullptr);
  EXPECT_EQ(stop_for(new_order, both, {named}).rule, nullptr);
}

TEST(ChatStop, AComplaintStopsEveryOpenOrderOfTheBuyer) {
  const Order old_order = make_order("A1", "tb_a", at("2026-11-23 10:00"));
  const Order new_order = make_order("A2", "tb_a", at("2026-11-23 15:00"));
  const std::vector<const Order*> both = {&old_order, &new_order};
  const std::vector<ChatMessage> chat = {said("tb_a", "2026-11-23 12:00", "上次的货有问题，我要投诉")};
  ASSERT_NE(stop_for(new_order, both, chat).rule, nullptr);
  EXPECT_EQ(stop_for(new_order, both, chat).rule->name, "complaint");
}

TEST(ChatStop, TheBuyerNoteOfTheOrderCanStopItToo) {
  Order a = make_order("A1", "tb_a", at("2026-11-23 10:00"));
  a.note = "拍错了，麻烦取消";
  const Order b = make_order("A2", "tb_a", at("2026-11-23 10:00"));
  const StopFinding s = stop_for(a, {&a, &b}, {});
  ASSERT_NE(s.rule, nullptr);
  EXPECT_EQ(s.words.describe(), "buyer note of order A1: \"拍错了，麻烦取消\"");
  EXPECT_EQ(stop_for(b, {&a, &b}, {}).rule, nullptr);  // the note is about its own order
}

TEST(ChatAnswered, OnlyAPersonOfTheShopCountsAsHavingAnswered) {
  const Order a = make_order("A1", "tb_a", at("2026-11-23 10:00"));
  const std::vector<ChatMessage> chat = {said("tb_a", "2026-11-23 10:10", "在吗"),
                                         said("tb_a", "2026-11-23 10:11", "您好，有什么可以帮您", ChatSender::shop),
                                         said("tb_a", "2026-11-23 10:20", "亲，欢迎光临", ChatSender::bot)};
  EXPECT_EQ(last_shop_answer({&a}, chat, at("2026-11-23 12:00")), at("2026-11-23 10:11"));
  EXPECT_EQ(last_shop_answer({&a}, chat, at("2026-11-23 10:10")), std::nullopt);
}

// ---- the planner with a chat --------------------------------------------------------

Plan plan_with(const std::vector<Order>& orders, const ChatLog& chat, LocalTime now) {
  return plan(orders, {}, default_rules(), default_templates(), PlanRequest{now, now, now + days{5}, &chat});
}

ChatLog log_of(std::vector<ChatMessage> messages) {
  ChatLog log;
  for (auto& m : messages) log.add(std::move(m));
  return log;
}

bool any_why(const PlannedReminder& r, std::string_view part) {
  return std::any_of(r.why.begin(), r.why.end(),
                     [&](const std::string& w) { return w.find(part) != std::string::npos; });
}

std::string whys(const PlannedReminder& r) {
  std::string s = r.template_name + ": " + r.message;
  for (const auto& w : r.why) s += "\n  " + w;
  return s;
}

TEST(PlannerWithChat, TheReasonFromTheChatPicksTheTemplateVariantAndTheWhyQuotesIt) {
  const LocalTime created = at("2026-11-23 10:00");
  const ChatLog chat =
      log_of({said("tb_a", "2026-11-23 10:05", "什么时候发货？我手机13812345678，急用"),
              said("tb_b", "2026-11-23 10:06", "刚才付款失败了"), said("tb_c", "2026-11-23 10:07", "你好")});
  const Plan p = plan_with(
      {make_order("A1", "tb_a", created), make_order("B1", "tb_b", created), make_order("C1", "tb_c", created)}, chat,
      at("2026-11-23 10:10"));
  std::map<std::string, const PlannedReminder*> first;
  for (const auto& r : p.reminders) first.emplace(r.buyer, &r);
  ASSERT_TRUE(first.count("tb_a") && first.count("tb_b") && first.count("tb_c"));
  const PlannedReminder& a = *first["tb_a"];
  EXPECT_EQ(a.template_name, "default.delivery") << whys(a);
  EXPECT_TRUE(any_why(a, "reason delivery (")) << whys(a);
  EXPECT_TRUE(any_why(a, "policy.yaml:")) << whys(a);
  EXPECT_TRUE(any_why(a, "buyer wrote in the chat at 11-23 10:05: \"什么时候发货？我手机138****5678，急用\""))
      << whys(a);
  EXPECT_TRUE(any_why(a, "template default.delivery: the variant for reason delivery")) << whys(a);
  for (const auto& w : a.why) EXPECT_EQ(w.find("13812345678"), std::string::npos) << w;
  EXPECT_EQ(first["tb_b"]->template_name, "default.payment_failed") << whys(*first["tb_b"]);
  EXPECT_NE(first["tb_b"]->message.find("付款没有成功"), std::string::npos) << first["tb_b"]->message;
  EXPECT_EQ(first["tb_c"]->template_name, "default");
  // The same orders without the chat: no reason, base templates.
  const Plan without = plan(std::vector<Order>{make_order("A1", "tb_a", created)}, {}, default_rules(),
                            default_templates(), PlanRequest{at("2026-11-23 10:10"), created, created + days{5}});
  ASSERT_FALSE(without.reminders.empty());
  EXPECT_EQ(without.reminders.front().template_name, "default");
}

TEST(PlannerWithChat, ABuyerWhoSaidTheyWillNotBuyIsSkippedAndTheOthersAreStillReminded) {
  const LocalTime created = at("2026-11-23 10:00");
  const ChatLog chat = log_of({said("tb_no", "2026-11-23 10:20", "不好意思，不要了"),
                               said("tb_mad", "2026-11-23 10:20", "东西还没到就催，我要投诉")});
  const Order later = make_order("N2", "tb_no", at("2026-11-23 11:00"));  // placed after saying so
  const Plan p = plan_with({make_order("N1", "tb_no", created), later, make_order("M1", "tb_mad", created),
                            make_order("M2", "tb_mad", at("2026-11-23 11:00")), make_order("Y1", "tb_yes", created)},
                           chat, at("2026-11-23 11:05"));
  const auto skip = [&](std::string_view id) -> std::string {
    for (const auto& s : p.skipped) {
      if (s.order_id == id) return s.reason;
    }
    return "";
  };
  EXPECT_NE(skip("N1").find("stop will_not_buy ("), std::string::npos) << skip("N1");
  EXPECT_NE(skip("N1").find("rules/policy.yaml:"), std::string::npos) << skip("N1");
  EXPECT_NE(skip("N1").find("\"不好意思，不要了\""), std::string::npos) << skip("N1");
  EXPECT_NE(skip("M1").find("stop complaint"), std::string::npos) << skip("M1");
  EXPECT_NE(skip("M2").find("stop complaint"), std::string::npos) << skip("M2");
  std::set<std::string> reminded;
  for (const auto& r : p.reminders) {
    reminded.insert(r.buyer);
    if (r.buyer == "tb_no") {
      EXPECT_EQ(r.order_ids, std::vector<std::string>{"N2"});
    }
  }
  EXPECT_EQ(reminded, (std::set<std::string>{"tb_no", "tb_yes"}));
}

TEST(PlannerWithChat, NoImOnTopOfAConversationTheShopIsHavingWithTheBuyer) {
  const LocalTime created = at("2026-11-23 10:00");
  // The first step is an IM 30 min after the order (10:30); staff answered at 10:25.
  const ChatLog chat = log_of({said("tb_a", "2026-11-23 10:20", "这个有货吗"),
                               said("tb_a", "2026-11-23 10:25", "有货的，您放心", ChatSender::shop),
                               said("tb_b", "2026-11-23 10:25", "您好，欢迎光临", ChatSender::bot)});
  const Plan p =
      plan_with({make_order("A1", "tb_a", created), make_order("B1", "tb_b", created)}, chat, at("2026-11-23 10:26"));
  std::map<std::string, const PlannedReminder*> first;
  for (const auto& r : p.reminders) first.emplace(r.buyer, &r);
  ASSERT_TRUE(first.count("tb_a") && first.count("tb_b"));
  EXPECT_EQ(first["tb_a"]->channel, Channel::im);
  EXPECT_EQ(first["tb_a"]->send_at, at("2026-11-23 10:55")) << whys(*first["tb_a"]);
  EXPECT_TRUE(any_why(*first["tb_a"], "the shop answered the buyer in the chat at 11-23 10:25"))
      << whys(*first["tb_a"]);
  EXPECT_TRUE(any_why(*first["tb_a"], "chat.recently_answered 30 min")) << whys(*first["tb_a"]);
  // A bot's greeting is no conversation: the IM goes at its usual time.
  EXPECT_EQ(first["tb_b"]->send_at, at("2026-11-23 10:30")) << whys(*first["tb_b"]);
}

TEST(PlannerWithChat, ABacktestSeesOnlyWhatTheBuyerHadSaidByThen) {
  // The buyer says 不要了 at 15:00: the 10:30 IM is still sent in the replay, the later steps
  // are not.
  const Order o = make_order("A1", "tb_a", at("2026-11-23 10:00"));
  const ChatLog chat = log_of({said("tb_a", "2026-11-23 15:00", "不要了")});
  BacktestConfig config;
  config.log_end = at("2026-11-27 00:00");  // the log goes on past the order's life
  const ReplayResult without = replay({o}, default_rules(), default_templates(), config);
  config.chat = &chat;
  const ReplayResult with_chat = replay({o}, default_rules(), default_templates(), config);
  ASSERT_EQ(with_chat.sent.size(), 1u);
  EXPECT_EQ(with_chat.sent.front().send_at, at("2026-11-23 10:30"));
  EXPECT_GT(without.sent.size(), 1u);
}

// KeywordIndex reads a text once for every reason and stop: it finds what trying each rule's
// words one by one with contains() finds, on the default rules' words alone, with their
// exceptions, two rules' words together in either order, inside other text; and on rules with
// an empty word, one-byte words, a word inside another and an exception that is a keyword.
TEST(Chat, KeywordIndexFindsWhatEachWordFoundOneByOne) {
  const auto slow_first = [](const auto& rules, std::string_view text, const std::string** keyword) {
    using Rule = std::remove_cvref_t<decltype(rules.front())>;
    for (const auto& r : rules) {
      for (const auto& w : r.keywords) {
        if (!contains(text, w)) continue;
        if (std::any_of(r.except.begin(), r.except.end(), [&](const std::string& e) { return contains(text, e); }))
          break;
        *keyword = &w;
        return static_cast<const Rule*>(&r);
      }
    }
    return static_cast<const Rule*>(nullptr);
  };
  Rules odd = default_rules();
  odd.reasons.insert(odd.reasons.begin(), ReasonRule{"odd", {"", "a", "ab", "bab"}, {"x", "abx"}, {}});
  odd.stops.push_back(StopRule{"odd_stop", {"不要", "不要了", "了"}, {"不要了吗", ""}, false, {}});
  int found = 0, checked = 0;
  for (const Rules* rules : {&default_rules(), static_cast<const Rules*>(&odd)}) {
    const KeywordIndex index(*rules);
    std::vector<std::string> words = {"", "x", "a", "babab", "abx", "不要了吗", "好的谢谢"};
    const auto add_words = [&](const auto& list) {
      for (const auto& r : list) {
        words.insert(words.end(), r.keywords.begin(), r.keywords.end());
        words.insert(words.end(), r.except.begin(), r.except.end());
      }
    };
    add_words(rules->reasons);
    add_words(rules->stops);
    std::vector<std::string> texts;
    for (std::size_t i = 0; i < words.size(); ++i) {
      texts.push_back(words[i]);
      texts.push_back("亲，" + words[i] + "，谢谢");
      texts.push_back(words[i] + words[(i * 7 + 3) % words.size()]);
      texts.push_back(words[(i * 5 + 1) % words.size()] + " " + words[i] + words[i]);
    }
    for (const auto& text : texts) {
      const std::string *slow_kw = nullptr, *fast_kw = nullptr;
      const ReasonRule* slow_reason = slow_first(rules->reasons, text, &slow_kw);
      EXPECT_EQ(index.first_reason(text, &fast_kw), slow_reason) << text;
      if (slow_reason) {
        EXPECT_EQ(fast_kw, slow_kw) << text;
      }
      slow_kw = fast_kw = nullptr;
      const StopRule* slow_stop = slow_first(rules->stops, text, &slow_kw);
      EXPECT_EQ(index.first_stop(text, &fast_kw), slow_stop) << text;
      if (slow_stop) {
        EXPECT_EQ(fast_kw, slow_kw) << text;
      }
      found += (slow_reason != nullptr) + (slow_stop != nullptr);
      ++checked;
    }
  }
  EXPECT_GT(found, checked / 2);
  // Through detect_reason and find_stop: the same finding with the index as without; an index
  // of other rules is not used.
  const KeywordIndex index(default_rules()), other(odd);
  Order a = make_order("A1", "tb_a", at("2026-11-23 10:00")), b = make_order("A2", "tb_a", at("2026-11-23 11:00"));
  a.note = "太贵了能便宜点吗";
  b.note = "不要了";
  const std::vector<ChatMessage> chat = {said("tb_a", "2026-11-23 12:00", "余额不足，等发工资"),
                                         said("tb_a", "2026-11-23 13:00", "不想要了，取消吧")};
  for (const KeywordIndex* i : {&index, &other}) {
    const ReasonFinding slow = detect_reason(default_rules(), {&a, &b}, chat, at("2026-11-23 20:00"));
    const ReasonFinding fast = detect_reason(default_rules(), {&a, &b}, chat, at("2026-11-23 20:00"), i);
    ASSERT_NE(slow.rule, nullptr);
    EXPECT_EQ(fast.rule, slow.rule);
    EXPECT_EQ(fast.words.describe(), slow.words.describe());
    const StopFinding stop = find_stop(default_rules(), a, {&a, &b}, chat, at("2026-11-23 20:00"));
    const StopFinding stop_fast = find_stop(default_rules(), a, {&a, &b}, chat, at("2026-11-23 20:00"), i);
    EXPECT_EQ(stop_fast.rule, stop.rule);
    EXPECT_EQ(stop_fast.words.describe(), stop.words.describe());
  }
}

}  // namespace
}  // namespace cuifu
