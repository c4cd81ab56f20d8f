// 大促 orders through the one planner with the default rules: pre-sale (预售) orders are
// reminded from their balance (尾款) window, flash-sale (聚划算 / 秒杀) orders within minutes
// and never after they close.
#include <gtest/gtest.h>

#include "core/backtest.h"
#include "core/planner.h"
#include "test_rules.h"

namespace cuifu {
namespace {

using std::chrono::days;
using testing::at;
using testing::default_rules;
using testing::default_templates;
using testing::make_order;

Plan plan_from(const std::vector<Order>& orders, LocalTime now, int horizon_days = 5) {
  return plan(orders, {}, default_rules(), default_templates(), PlanRequest{now, now, now + days{horizon_days}});
}

Order presale(std::string id, LocalTime created, LocalTime opens, LocalTime ends) {
  Order o = make_order(std::move(id), "tb_yushou", created);
  o.type = OrderType::presale;
  o.balance_starts = opens;
  o.balance_ends = ends;
  return o;
}

Order flash(std::string id, LocalTime created) {
  Order o = make_order(std::move(id), "tb_miaosha", created);
  o.type = OrderType::flash_sale;
  return o;
}

std::string whys(const PlannedReminder& r) {
  std::string s = format_local_hm(r.send_at) + " " + std::string(to_string(r.channel)) + " " + r.template_name;
  for (const auto& w : r.why) s += "\n  " + w;
  return s;
}

TEST(Presale, IsRemindedWhenTheBalanceWindowOpensAndBeforeItEndsNotFromCreation) {
  // Deposit paid four days ago; the balance window opens tomorrow 20:00 and ends two days
  // later. Before, the order counted as auto-closed 72 h after it was placed.
  const LocalTime now = at("2026-11-23 21:00");
  const Order o = presale("P1", at("2026-11-19 20:00"), at("2026-11-24 20:00"), at("2026-11-26 23:59"));
  const Plan p = plan_from({o}, now);
  ASSERT_EQ(p.reminders.size(), 3u) << (p.skipped.empty() ? "" : p.skipped[0].reason);
  EXPECT_EQ(p.reminders[0].channel, Channel::im);
  EXPECT_EQ(p.reminders[0].send_at, at("2026-11-24 20:00")) << whys(p.reminders[0]);
  EXPECT_EQ(p.reminders[0].segment, "presale");
  EXPECT_EQ(p.reminders[0].template_name, "presale_open");
  for (const auto& r : p.reminders) {
    EXPECT_LT(r.send_at, *o.balance_ends) << whys(r);
    EXPECT_EQ(r.pay_by, *o.balance_ends);
    EXPECT_NE(r.message.find("11月26日23:59"), std::string::npos) << r.message;
  }
  // The last ones fall in the day before the window ends.
  EXPECT_GE(p.reminders.back().send_at, *o.balance_ends - days{1}) << whys(p.reminders.back());
  EXPECT_EQ(p.reminders[1].channel, Channel::sms);
  EXPECT_EQ(p.reminders[1].template_name, "presale_last");
}

TEST(Presale, ClosesWhenTheBalanceWindowEndsAndSaysSo) {
  const Order o = presale("P1", at("2026-11-19 20:00"), at("2026-11-21 20:00"), at("2026-11-23 20:00"));
  const Plan p = plan_from({o}, at("2026-11-23 21:00"));
  EXPECT_TRUE(p.reminders.empty());
  ASSERT_EQ(p.skipped.size(), 1u);
  EXPECT_NE(p.skipped[0].reason.find("balance (尾款) window ended"), std::string::npos) << p.skipped[0].reason;
}

TEST(Presale, IsItsOwnSequenceBesideTheBuyersOrdinaryOrder) {
  const LocalTime now = at("2026-11-23 10:00");
  Order normal = make_order("N1", "tb_yushou", now);
  const Order pre = presale("P1", at("2026-11-20 20:00"), at("2026-11-24 20:00"), at("2026-11-26 23:59"));
  const Plan p = plan_from({normal, pre}, now);
  bool normal_first = false, presale_first = false;
  for (const auto& r : p.reminders) {
    ASSERT_EQ(r.order_ids.size(), 1u) << whys(r);
    if (r.order_ids[0] == "N1" && r.step == 1) normal_first = r.send_at == at("2026-11-23 10:30");
    if (r.order_ids[0] == "P1" && r.step == 1) presale_first = r.send_at == at("2026-11-24 20:00");
  }
  EXPECT_TRUE(normal_first);
  EXPECT_TRUE(presale_first);
}

TEST(FlashSale, GetsItsFirstImWithinMinutesAndNothingAfterItCloses) {
  const LocalTime placed = at("2026-11-23 14:00");
  const Plan p = plan_from({flash("F1", placed)}, placed);
  ASSERT_EQ(p.reminders.size(), 1u);
  EXPECT_EQ(p.reminders[0].channel, Channel::im);
  EXPECT_EQ(p.reminders[0].send_at, at("2026-11-23 14:03"));
  EXPECT_EQ(p.reminders[0].segment, "flash_sale");
  EXPECT_EQ(p.reminders[0].pay_by, at("2026-11-23 14:30"));
  EXPECT_NE(p.reminders[0].message.find("14:30"), std::string::npos) << p.reminders[0].message;

  // Planned again after it closed: nothing, and the reason.
  const Plan later = plan_from({flash("F1", placed)}, at("2026-11-23 14:31"));
  EXPECT_TRUE(later.reminders.empty());
  ASSERT_EQ(later.skipped.size(), 1u);
  EXPECT_NE(later.skipped[0].reason.find("flash sale closed at"), std::string::npos) << later.skipped[0].reason;
}

TEST(FlashSale, PlacedJustBeforeQuietHoursGetsNothingRatherThanAMorningMessage) {
  const LocalTime placed = at("2026-11-23 21:58");
  const Plan p = plan_from({flash("F1", placed)}, placed);
  EXPECT_TRUE(p.reminders.empty());
  ASSERT_EQ(p.skipped.size(), 1u);
  EXPECT_NE(p.skipped[0].reason.find("after the order auto-closes"), std::string::npos) << p.skipped[0].reason;
}

TEST(Promo, BacktestReplaysPresaleAndFlashSaleOrdersWithTheirOwnClose) {
  std::vector<Order> log = {presale("P1", at("2026-11-19 20:00"), at("2026-11-24 20:00"), at("2026-11-26 23:59")),
                            flash("F1", at("2026-11-23 14:00"))};
  BacktestConfig config;
  config.log_end = at("2026-11-28 00:00");  // the log was written after both orders closed
  const ReplayResult r = replay(log, default_rules(), default_templates(), config);
  int presale_sent = 0, flash_sent = 0;
  for (const auto& s : r.sent) {
    if (s.order_ids[0] == "P1") {
      ++presale_sent;
      EXPECT_GE(s.send_at, at("2026-11-24 20:00"));
    } else {
      ++flash_sent;
      EXPECT_LT(s.send_at, at("2026-11-23 14:30"));
    }
  }
  EXPECT_EQ(presale_sent, 3);
  EXPECT_EQ(flash_sent, 1);
  EXPECT_EQ(check_violations(r, default_rules()).total(), 0);
  for (const auto& o : r.orders) {
    if (o.order_id == "P1") {
      EXPECT_EQ(o.closed_at, at("2026-11-26 23:59"));
    } else if (o.order_id == "F1") {
      EXPECT_EQ(o.closed_at, at("2026-11-23 14:30"));
    }
  }
}

}  // namespace
}  // namespace cuifu
