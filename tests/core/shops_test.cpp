// Several shops in one export: a buyer is (shop, buyer). Reminders, signatures, shop names,
// caps, opt-outs and holdout never cross shops; per-shop settings come from `shops:`.
#include <gtest/gtest.h>

#include <algorithm>

#include "core/backtest.h"
#include "core/planner.h"
#include "test_rules.h"

namespace cuifu {
namespace {

using std::chrono::days;
using testing::at;
using testing::code_rule_set;
using testing::make_order;
using testing::make_step;

constexpr const char* kMainShop = "青禾家居旗舰店";
constexpr const char* kOtherShop = "木森家具专营店";

// IM 30 min after the order, SMS after 3 h; the main shop is 青禾家居旗舰店 (signature 青禾家居).
testing::CodeRuleSet two_shop_rules(bool configure_other = true) {
  auto set = code_rule_set({make_step(30, Channel::im, "t"), make_step(180, Channel::sms, "t")});
  set.rules.shop_name = kMainShop;
  set.rules.channels[Channel::sms].sms_signature = "青禾家居";
  if (configure_other) {
    ShopRule other;
    other.name = kOtherShop;
    other.display_name = "木森家具";
    other.sms_signature = "木森家具";
    other.source = SourceRef{"rules/shops.yaml", 3};
    set.rules.shops[kOtherShop] = other;
  }
  return set;
}

Order order_in(std::string id, std::string shop, LocalTime created, std::string buyer = "罗诺晶") {
  Order o = make_order(std::move(id), std::move(buyer), created);
  o.shop = std::move(shop);
  return o;
}

Plan plan_days(const std::vector<Order>& orders, LocalTime now, const testing::CodeRuleSet& set,
               const ContactHistory& history = {}) {
  return plan(orders, history, set.rules, set.templates, PlanRequest{now, now, now + days{4}});
}

std::vector<PlannedReminder> covering(const Plan& p, std::string_view order_id) {
  std::vector<PlannedReminder> out;
  for (const auto& r : p.reminders) {
    if (std::find(r.order_ids.begin(), r.order_ids.end(), order_id) != r.order_ids.end()) out.push_back(r);
  }
  return out;
}

TEST(Shops, OneBuyerInTwoShopsGetsSeparateRemindersEachSignedByItsOwnShop) {
  const LocalTime now = at("2026-11-23 09:00");
  const auto set = two_shop_rules();
  const Plan p = plan_days({order_in("A1", kMainShop, now), order_in("B1", kOtherShop, now)}, now, set);
  const auto a = covering(p, "A1");
  const auto b = covering(p, "B1");
  ASSERT_EQ(a.size(), 2u);
  ASSERT_EQ(b.size(), 2u);
  for (const auto& r : p.reminders) {
    EXPECT_EQ(r.order_ids.size(), 1u) << "orders of two shops combined: " << r.message;
  }
  for (const auto& r : a) {
    EXPECT_EQ(r.shop, kMainShop);
    EXPECT_EQ(r.message.find("木森"), std::string::npos) << r.message;
  }
  for (const auto& r : b) {
    EXPECT_EQ(r.shop, kOtherShop);
    EXPECT_EQ(r.message.find("青禾"), std::string::npos) << r.message;
  }
  EXPECT_EQ(a[1].channel, Channel::sms);
  EXPECT_TRUE(a[1].message.starts_with("【青禾家居】")) << a[1].message;
  EXPECT_NE(a[1].message.find(kMainShop), std::string::npos) << a[1].message;
  EXPECT_EQ(b[1].channel, Channel::sms);
  EXPECT_TRUE(b[1].message.starts_with("【木森家具】")) << b[1].message;
  EXPECT_NE(b[1].message.find("您在木森家具拍下"), std::string::npos) << b[1].message;
  EXPECT_NE(a[0].idempotency_key(), b[0].idempotency_key());
}

TEST(Shops, NeverSignsAnotherShopsSmsWithTheMainShopsSignature) {
  // 木森家具专营店 has no `shops:` entry: its buyers get no SMS rather than one signed 【青禾家居】.
  const LocalTime placed = at("2026-11-23 09:00");
  const auto set = two_shop_rules(false);
  const Plan first = plan_days({order_in("B1", kOtherShop, placed)}, placed, set);
  ASSERT_EQ(first.reminders.size(), 1u);  // the IM, naming the feed's shop
  EXPECT_EQ(first.reminders[0].channel, Channel::im);
  EXPECT_EQ(first.reminders[0].message.find("青禾"), std::string::npos) << first.reminders[0].message;

  ContactHistory h;
  h.add({"罗诺晶", Channel::im, at("2026-11-23 09:30"), {"B1"}, 1, kOtherShop});
  const Plan later = plan_days({order_in("B1", kOtherShop, placed)}, at("2026-11-23 10:00"), set, h);
  EXPECT_TRUE(later.reminders.empty());
  ASSERT_EQ(later.skipped.size(), 1u);
  EXPECT_NE(later.skipped[0].reason.find("no SMS signature for shop 木森家具专营店"), std::string::npos)
      << later.skipped[0].reason;
}

TEST(Shops, ContactsInOneShopDoNotCountTowardsAnotherShopsCaps) {
  // The buyer had two contacts today from the main shop (its daily cap) and an IM 20 min
  // ago; the other shop's first IM still goes out on time.
  const LocalTime now = at("2026-11-23 15:00");
  const auto set = two_shop_rules();
  ContactHistory h;
  h.add({"罗诺晶", Channel::sms, at("2026-11-23 10:00"), {"A0"}, 2, kMainShop});
  h.add({"罗诺晶", Channel::im, at("2026-11-23 14:40"), {"A1"}, 1, kMainShop});
  const Plan p = plan_days({order_in("B1", kOtherShop, at("2026-11-23 14:50"))}, now, set, h);
  const auto b = covering(p, "B1");
  ASSERT_FALSE(b.empty());
  EXPECT_EQ(b[0].channel, Channel::im);
  EXPECT_EQ(b[0].send_at, at("2026-11-23 15:20"));
}

TEST(Shops, AContactLoggedWithoutAShopCountsInEveryShopSoAnUpgradeResetsNoCaps) {
  // Contacts in a state database from before shops were kept apart have shop "".
  const LocalTime now = at("2026-11-23 15:00");
  const auto set = two_shop_rules();
  ContactHistory h;
  h.add({"罗诺晶", Channel::sms, at("2026-11-23 10:00"), {"A0"}, 2});
  h.add({"罗诺晶", Channel::im, at("2026-11-23 14:40"), {"A0"}, 1});
  const Plan p = plan_days({order_in("B1", kOtherShop, at("2026-11-23 14:50"))}, now, set, h);
  const auto b = covering(p, "B1");
  ASSERT_FALSE(b.empty());
  EXPECT_GE(b[0].send_at, at("2026-11-24 08:00"));  // the daily cap of 2 was reached today
}

TEST(Shops, AnOptOutInOneShopLeavesTheOtherShopAloneButAnEveryShopOptOutDoesNot) {
  const LocalTime now = at("2026-11-23 09:00");
  const auto set = two_shop_rules();
  const std::vector<Order> orders = {order_in("A1", kMainShop, now), order_in("B1", kOtherShop, now)};
  ContactHistory h;
  h.shop_opted_out[{kMainShop, "罗诺晶"}] = {Channel::im, Channel::sms};
  Plan p = plan_days(orders, now, set, h);
  EXPECT_TRUE(covering(p, "A1").empty());
  EXPECT_EQ(covering(p, "B1").size(), 2u);

  ContactHistory every;
  every.opted_out["罗诺晶"] = {Channel::sms};
  p = plan_days(orders, now, set, every);
  for (const auto& r : p.reminders) EXPECT_NE(r.channel, Channel::sms) << r.shop;
}

// is_opted_out() looks a (shop, buyer) up only when some shop has an opt-out.
TEST(Shops, IsOptedOutAnswersWithAndWithoutShopOptOuts) {
  ContactHistory h;
  EXPECT_FALSE(h.is_opted_out(kMainShop, "罗诺晶", Channel::sms));
  h.opted_out["罗诺晶"] = {Channel::im};
  EXPECT_TRUE(h.is_opted_out(kMainShop, "罗诺晶", Channel::im));
  EXPECT_FALSE(h.is_opted_out(kMainShop, "罗诺晶", Channel::sms));
  h.shop_opted_out[{kOtherShop, "罗诺晶"}] = {Channel::sms};
  EXPECT_TRUE(h.is_opted_out(kOtherShop, "罗诺晶", Channel::sms));
  EXPECT_FALSE(h.is_opted_out(kMainShop, "罗诺晶", Channel::sms));
  EXPECT_FALSE(h.is_opted_out("", "罗诺晶", Channel::sms));
  EXPECT_FALSE(h.is_opted_out(kOtherShop, "别人", Channel::sms));
}

TEST(Shops, AShopsOwnCapsAndHoldoutOverrideTheRules) {
  const LocalTime now = at("2026-11-23 09:00");
  auto set = two_shop_rules();
  Caps one = set.rules.caps;
  one.max_per_order = 1;
  set.rules.shops[kOtherShop].caps = one;
  const Plan p = plan_days({order_in("A1", kMainShop, now), order_in("B1", kOtherShop, now)}, now, set);
  EXPECT_EQ(covering(p, "A1").size(), 2u);
  EXPECT_EQ(covering(p, "B1").size(), 1u);

  set.rules.shops[kOtherShop].holdout_percent = 100;
  const Plan held = plan_days({order_in("A1", kMainShop, now), order_in("B1", kOtherShop, now)}, now, set);
  EXPECT_EQ(covering(held, "A1").size(), 2u);
  EXPECT_TRUE(covering(held, "B1").empty());
  EXPECT_TRUE(in_holdout(set.rules, kOtherShop, "罗诺晶"));
  EXPECT_FALSE(in_holdout(set.rules, kMainShop, "罗诺晶"));
}

TEST(Shops, BacktestKeepsShopsApartToo) {
  const auto set = two_shop_rules();
  const LocalTime t = at("2026-11-23 09:00");
  const std::vector<Order> log = {order_in("A1", kMainShop, t), order_in("B1", kOtherShop, t)};
  BacktestConfig config;
  config.log_end = at("2026-12-31 00:00");  // written long after: both orders are followed until they close
  const ReplayResult r = replay(log, set.rules, set.templates, config);
  ASSERT_EQ(r.sent.size(), 4u);
  for (const auto& s : r.sent) {
    EXPECT_EQ(s.order_ids.size(), 1u);
    if (s.channel == Channel::sms) {
      EXPECT_TRUE(s.message.starts_with(s.shop == kMainShop ? "【青禾家居】" : "【木森家具】")) << s.message;
    }
  }
  EXPECT_EQ(summarize(r, set.rules).buyers, 2u);
  EXPECT_EQ(check_violations(r, set.rules).total(), 0);
}

// ---- "Never the same channel twice in a row", within one reminder sequence ----------

TEST(NoRepeatChannel, AnImAboutAnOldOrderDoesNotBlockTheFirstImAboutANewOne) {
  // The case: an IM at 11:18 about order A (since paid); order B is placed at 19:41
  // and its first IM is due at 20:11. Before, it was refused and B closed unreminded.
  const auto set = code_rule_set({make_step(30, Channel::im, "t"), make_step(180, Channel::sms, "t")});
  ContactHistory h;
  h.add({"tb_a", Channel::im, at("2026-11-23 11:18"), {"A"}, 1});
  Order paid = make_order("A", "tb_a", at("2026-11-23 10:48"));
  paid.status = OrderStatus::paid;
  paid.paid_at = at("2026-11-23 12:00");
  const LocalTime now = at("2026-11-23 19:41");
  const Plan p = plan_days({paid, make_order("B", "tb_a", now)}, now, set, h);
  const auto b = covering(p, "B");
  ASSERT_FALSE(b.empty());
  EXPECT_EQ(b[0].channel, Channel::im);
  EXPECT_EQ(b[0].send_at, at("2026-11-23 20:11"));
}

TEST(NoRepeatChannel, StillHoldsWithinTheSequenceAndWithinTheLookBack) {
  const auto set = code_rule_set({make_step(30, Channel::im, "t"), make_step(180, Channel::im, "t", Channel::sms)});
  // Within the sequence: step 2 would repeat step 1's IM for the same order, so it falls back.
  const LocalTime now = at("2026-11-23 09:00");
  const Plan p = plan_days({make_order("B", "tb_a", now)}, now, set);
  ASSERT_EQ(p.reminders.size(), 2u);
  EXPECT_EQ(p.reminders[1].channel, Channel::sms);
  // Within the look-back (4 h by default): an IM about another order 3 h ago still counts.
  ContactHistory h;
  h.add({"tb_a", Channel::im, at("2026-11-23 06:45"), {"A"}, 1});
  Rules rules = set.rules;
  const Plan q = plan(std::vector<Order>{make_order("C", "tb_a", now)}, h, rules, set.templates,
                      PlanRequest{now, now, now + days{4}});
  ASSERT_FALSE(q.reminders.empty());
  EXPECT_NE(q.reminders[0].send_at, at("2026-11-23 09:30"));
  // A shorter look-back lets it through.
  rules.caps.repeat_channel_lookback = Minutes{60};
  const Plan r = plan(std::vector<Order>{make_order("C", "tb_a", now)}, h, rules, set.templates,
                      PlanRequest{now, now, now + days{4}});
  ASSERT_FALSE(r.reminders.empty());
  EXPECT_EQ(r.reminders[0].channel, Channel::im);
  EXPECT_EQ(r.reminders[0].send_at, at("2026-11-23 09:30"));
}

}  // namespace
}  // namespace cuifu
