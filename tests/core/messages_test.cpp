// What the planner's messages say, on the shop's default rules: no claim without the fact
// behind it, names as a person writes them, one register per segment, short item names.
#include <gtest/gtest.h>

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

std::vector<PlannedReminder> reminders(const std::vector<Order>& orders, const Rules& rules = default_rules()) {
  const LocalTime now = at("2026-11-23 09:00");
  return plan(orders, {}, rules, default_templates(), PlanRequest{now, now, now + days{4}}).reminders;
}

std::string all_text(const std::vector<PlannedReminder>& rs) {
  std::string s;
  for (const auto& r : rs) s += std::string(to_string(r.channel)) + " " + r.template_name + ": " + r.message + "\n";
  return s;
}

Order big_ticket(std::string item) {
  Order o = make_order("B1", "tb_big", at("2026-11-23 09:00"));
  o.address = testing::kHomeAddress;
  o.amount = 259900;
  o.item = std::move(item);
  return o;
}

TEST(Messages, DeliveryAndInstallationOnlyForItemsWhoseCategorySaysSo) {
  // Today every big-ticket item is promised 专线物流…送货上门…安装, a bedding set too.
  for (const char* item : {"100支长绒棉床上四件套 1.8米床", "内蒙古风干牛肉干500g 3袋装"}) {
    const auto rs = reminders({big_ticket(item)});
    ASSERT_FALSE(rs.empty()) << item;
    for (const char* claim : {"送货上门", "安装", "专线物流"}) {
      EXPECT_EQ(all_text(rs).find(claim), std::string::npos) << item << ":\n" << all_text(rs);
    }
  }
  const auto rs = reminders({big_ticket("北欧实木双人床1.8米主卧现代简约储物高箱床")});
  ASSERT_FALSE(rs.empty());
  EXPECT_NE(rs.front().message.find("送货上门并安装"), std::string::npos) << all_text(rs);
}

Order with_note(std::string note) {
  Order o = make_order("P1", "tb_price", at("2026-11-23 09:00"));
  o.address = testing::kHomeAddress;
  o.note = std::move(note);
  return o;
}

TEST(Messages, NoOfferStockOrShippingClaimUnlessTheRulesOrTheFeedKnowIt) {
  // Today: 现在是活动价，优惠保留到…，付款后当天发货 / 库存不多, with nothing behind them.
  const std::string text = all_text(reminders({with_note("太贵了再看看")})) + all_text(reminders({with_note("忘了")}));
  ASSERT_FALSE(text.empty());
  for (const auto& claim : default_rules().claims) {
    for (const auto& phrase : claim.phrases) EXPECT_EQ(text.find(phrase), std::string::npos) << phrase << "\n" << text;
  }
}

TEST(Messages, TheOffersEndAndLowStockAreSaidWhenKnown) {
  Rules rules = default_rules();
  rules.facts.promotion_ends = at("2026-11-30 23:59");
  std::string text = all_text(reminders({with_note("太贵了")}, rules));
  EXPECT_NE(text.find("活动价到11月30日23:59结束"), std::string::npos) << text;
  // An offer that ended before the message goes out is not mentioned.
  rules.facts.promotion_ends = at("2026-11-23 09:10");
  text = all_text(reminders({with_note("太贵了")}, rules));
  EXPECT_EQ(text.find("活动价"), std::string::npos) << text;

  Order o = with_note("忘了");
  o.stock = 3;
  text = all_text(reminders({o}));
  EXPECT_NE(text.find("仅剩3件"), std::string::npos) << text;
  o.stock = 40;  // plenty: nothing said
  text = all_text(reminders({o}));
  EXPECT_EQ(text.find("仅剩"), std::string::npos) << text;
}

// The step's own facts are the step's alone: an offer that ends between two reminders of one
// sequence is said in the first and not in the second (the planner sets them per step on the
// buyer's fields and puts the fields back after it).
TEST(Messages, AnOfferThatEndsBetweenTwoStepsIsSaidOnlyBeforeItEnds) {
  Rules rules = default_rules();
  rules.facts.promotion_ends = at("2026-11-30 23:59");
  const auto all = reminders({with_note("太贵了")}, rules);
  std::vector<const PlannedReminder*> saying;
  for (const auto& r : all) {
    if (r.message.find("活动价到") != std::string::npos) saying.push_back(&r);
  }
  ASSERT_GE(saying.size(), 2u) << all_text(all);
  rules.facts.promotion_ends = saying[0]->send_at + std::chrono::minutes{1};
  const auto rs = reminders({with_note("太贵了")}, rules);
  ASSERT_EQ(rs.size(), all.size());
  for (std::size_t i = 0; i < rs.size(); ++i) {
    const bool says = rs[i].message.find("活动价到") != std::string::npos;
    EXPECT_EQ(says, rs[i].send_at == saying[0]->send_at) << i << "\n" << all_text(rs);
  }
}

TEST(Messages, LatinNamesAreNotCutToTheirFirstWord) {
  Order o = make_order("E1", "tb_hk", at("2026-11-23 09:00"));
  o.address = testing::kHongKongAddress;
  o.email = "chan@example.com";
  o.receiver_name = "Chan Tai Man";
  const std::string text = all_text(reminders({o}));
  EXPECT_EQ(text.find("Chan您好"), std::string::npos) << text;
  EXPECT_EQ(text.find("Hello Chan,"), std::string::npos) << text;
  EXPECT_NE(text.find("Hello Chan Tai Man,"), std::string::npos) << text;
}

TEST(Messages, AnnotatedReceiverIsGreetedByNameOnlyAndNoNameMeansNoNickname) {
  Order o = make_order("N1", "tb_front", at("2026-11-23 09:00"));
  o.address = testing::kHomeAddress;
  o.receiver_name = "张三（公司前台代收）";
  auto rs = reminders({o});
  ASSERT_FALSE(rs.empty());
  for (const auto& r : rs) {
    EXPECT_EQ(r.message.find("代收"), std::string::npos) << r.message;
    if (r.channel == Channel::im) {
      EXPECT_EQ(r.message.rfind("张三您好", 0), 0u) << r.message;
    }
  }
  o.receiver_name = "";
  rs = reminders({o});
  ASSERT_FALSE(rs.empty());
  EXPECT_EQ(rs.front().message.rfind("您好，", 0), 0u) << rs.front().message;
  EXPECT_EQ(all_text(rs).find("tb_front"), std::string::npos) << all_text(rs);
}

TEST(Messages, EveryMessageToAStudentUsesTheSameRegister) {
  Order o = make_order("S1", "tb_student", at("2026-11-23 09:00"));
  o.address = testing::kStudentAddress;
  const auto rs = reminders({o});
  ASSERT_GE(rs.size(), 3u) << all_text(rs);
  for (const auto& r : rs) {
    EXPECT_EQ(r.message.find("您"), std::string::npos) << all_text(rs);
    EXPECT_NE(r.message.find("你"), std::string::npos) << all_text(rs);
  }
}

TEST(Messages, ItemTitlesAreShortenedAtWordBoundaries) {
  Order o = make_order("T1", "tb_title", at("2026-11-23 09:00"));
  o.address = testing::kHomeAddress;
  o.item = "【包邮】北欧实木双人床1.8米主卧现代简约储物高箱床";
  const auto rs = reminders({o});
  ASSERT_FALSE(rs.empty());
  for (const auto& r : rs) {
    EXPECT_EQ(r.message.find("1.8"), std::string::npos) << r.message;
    EXPECT_EQ(r.message.find("包邮"), std::string::npos) << r.message;
    EXPECT_EQ(r.message.find("…"), std::string::npos) << r.message;
    EXPECT_NE(r.message.find("北欧实木双人床"), std::string::npos) << r.message;
  }
  o.item_code = "QH-BED-18";  // rules/items.yaml names it
  for (const auto& r : reminders({o})) {
    EXPECT_NE(r.message.find("实木双人床"), std::string::npos) << r.message;
    EXPECT_EQ(r.message.find("北欧"), std::string::npos) << r.message;
  }
}

}  // namespace
}  // namespace cuifu
