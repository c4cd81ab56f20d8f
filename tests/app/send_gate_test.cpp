// The daemon's gate: one decision for every due row, first sends and resends alike.
#include "app/send_gate.h"

#include <gtest/gtest.h>

#include "../core/test_rules.h"

namespace cuifu {
namespace {

using testing::at;

struct Fixture {
  Fixture() {
    set = testing::code_rule_set({testing::make_step(30, Channel::im, "t")});
    in.paused = false;
    in.rules = std::shared_ptr<const Rules>(std::shared_ptr<const Rules>{}, &set.rules);
    order.id = "1001";
    order.buyer = "tb_wang";
    order.created_at = at("2026-11-24 08:00");
    order.closed_at = at("2026-11-26 10:00");  // its view: unpaid, closes then
    in.orders = std::make_shared<const OrderList>(std::vector<Order>{order});
    in.configured = {Channel::im, Channel::sms};
    in.catch_up_limit = std::chrono::hours{1};
    row.buyer = "tb_wang";
    row.order_ids = {"1001"};
    row.channel = Channel::im;
    row.segment = "everyone";
    row.send_at = at("2026-11-24 18:00");
  }
  testing::CodeRuleSet set;
  Order order;
  GateInputs in;
  Outgoing row;
};

TEST(SendGate, SendsARowOnTime) {
  Fixture f;
  EXPECT_TRUE(decide(f.in, f.row, {}, at("2026-11-24 18:00")).sends());
}

TEST(SendGate, AResendLaterThanTheCatchUpLimitIsNotSent) {
  Fixture f;
  const auto d = decide(f.in, f.row, {}, at("2026-11-24 19:01"));
  EXPECT_EQ(d.kind, GateDecision::Kind::missed_slot);
  EXPECT_NE(d.detail.find("catch-up limit"), std::string::npos) << d.detail;
}

TEST(SendGate, ARowOfAnOrderPaidInTheNewestSnapshotIsNotSent) {
  Fixture f;
  Order paid = f.order;
  paid.status = OrderStatus::paid;
  f.in.orders = std::make_shared<const OrderList>(std::vector<Order>{paid});
  EXPECT_EQ(decide(f.in, f.row, {}, at("2026-11-24 18:00")).kind, GateDecision::Kind::not_payable);
  EXPECT_NE(SendGate().last_look(f.row, at("2026-11-24 18:00")), "");  // nothing published: paused
  SendGate g;
  g.publish(std::make_shared<const GateInputs>(f.in));
  EXPECT_NE(g.last_look(f.row, at("2026-11-24 18:00")).find("paid"), std::string::npos);
}

// An order the newest snapshot does not have, or that closed by now (its view made under the
// gate's rules when asked), is not reminded.
TEST(SendGate, ARowOfAnOrderGoneOrClosedIsNotSent) {
  Fixture f;
  f.row.order_ids = {"1001", "1002"};
  const auto gone = decide(f.in, f.row, {}, at("2026-11-24 18:00"));
  EXPECT_EQ(gone.kind, GateDecision::Kind::not_payable);
  EXPECT_EQ(gone.detail, "order 1002 is not in the newest feed snapshot");
  f.row.order_ids = {"1001"};
  f.row.send_at = at("2026-11-26 10:00");
  const auto closed = decide(f.in, f.row, {}, at("2026-11-26 10:00"));
  EXPECT_EQ(closed.kind, GateDecision::Kind::not_payable);
  EXPECT_NE(closed.detail.find("order 1001 auto-closed at"), std::string::npos) << closed.detail;
}

TEST(SendGate, CapsCountASendInFlight) {
  Fixture f;
  const std::vector<ContactRecord> in_flight = {{"tb_wang", Channel::sms, at("2026-11-24 17:59"), {"1001"}, 1}};
  EXPECT_EQ(decide(f.in, f.row, in_flight, at("2026-11-24 18:00")).kind, GateDecision::Kind::caps);
}

TEST(SendGate, OptOutsQuietHoursAndPauseAllStopASend) {
  Fixture f;
  f.in.opted_out.insert({"", "tb_wang", Channel::im});
  EXPECT_EQ(decide(f.in, f.row, {}, at("2026-11-24 18:00")).kind, GateDecision::Kind::opted_out);
  f.in.opted_out.clear();
  f.row.send_at = at("2026-11-24 21:59");
  EXPECT_EQ(decide(f.in, f.row, {}, at("2026-11-24 22:05")).kind, GateDecision::Kind::send_time);
  f.in.paused = true;
  EXPECT_EQ(decide(f.in, f.row, {}, at("2026-11-24 21:59")).kind, GateDecision::Kind::paused);
}

TEST(SendGate, AnOptOutCountsInItsShopOrInEveryShopWhenLoggedWithoutOne) {
  Outgoing row;
  row.buyer = "tb_wang";
  row.shop = "木森家具专营店";
  row.channel = Channel::sms;
  OptOutSet opted = {{"青禾家居旗舰店", "tb_wang", Channel::sms}};
  EXPECT_FALSE(is_opted_out(opted, row));
  opted.insert({"", "tb_wang", Channel::sms});
  EXPECT_TRUE(is_opted_out(opted, row));
  opted = {{"木森家具专营店", "tb_wang", Channel::sms}};
  EXPECT_TRUE(is_opted_out(opted, row));
}

OutboxRow backlog_row(std::int64_t id, Channel c, const char* slot) {
  OutboxRow r;
  r.id = id;
  r.channel = c;
  r.send_at = at(slot);
  return r;
}

TEST(CatchUp, TheBacklogOfEachChannelIsSpreadEvenlyOldestFirst) {
  std::vector<OutboxRow> backlog;
  for (int i = 0; i < 6; ++i) backlog.push_back(backlog_row(10 + i, Channel::im, "2026-11-24 09:00"));
  backlog.push_back(backlog_row(99, Channel::sms, "2026-11-24 09:10"));
  backlog[5].send_at = at("2026-11-24 08:59");  // the oldest goes first
  const LocalTime now = at("2026-11-24 09:30");
  const auto slots = spread_catch_up(backlog, now, std::chrono::minutes{30}, std::chrono::hours{1});
  std::map<std::int64_t, LocalTime> at_of;
  for (const auto& s : slots) at_of[s.id] = s.not_before;
  EXPECT_FALSE(at_of.count(15));  // the oldest im: now
  EXPECT_FALSE(at_of.count(99));  // alone on sms: now
  ASSERT_EQ(at_of.size(), 5u);
  EXPECT_EQ(at_of.at(10), at("2026-11-24 09:35"));
  EXPECT_EQ(at_of.at(11), at("2026-11-24 09:40"));
  EXPECT_EQ(at_of.at(14), at("2026-11-24 09:55"));
}

TEST(CatchUp, NoRowIsSpreadPastItsCatchUpLimit) {
  std::vector<OutboxRow> backlog;
  for (int i = 0; i < 4; ++i) backlog.push_back(backlog_row(i + 1, Channel::im, "2026-11-24 08:45"));
  const LocalTime now = at("2026-11-24 09:30");
  const auto slots = spread_catch_up(backlog, now, std::chrono::minutes{60}, std::chrono::hours{1});
  ASSERT_EQ(slots.size(), 3u);
  for (const auto& s : slots) {
    EXPECT_LE(s.not_before, at("2026-11-24 09:44")) << format_local_time(s.not_before);
    // What the gate decides when it goes: still within the catch-up limit.
    Fixture f;
    f.row.send_at = at("2026-11-24 08:45");
    EXPECT_NE(decide(f.in, f.row, {}, s.not_before).kind, GateDecision::Kind::missed_slot);
  }
}

}  // namespace
}  // namespace cuifu
