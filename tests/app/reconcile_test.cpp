// Reconcile against a real temporary store: the planner's decisions become rows, and rows
// the planner no longer wants are cancelled with the reason.
#include "app/reconcile.h"

#include <gtest/gtest.h>

#include "../core/test_rules.h"
#include "temp_store.h"

namespace cuifu {
namespace {

using testing::at;

Order unpaid(std::string id, std::string buyer, LocalTime created) {
  Order o;
  o.id = std::move(id);
  o.buyer = std::move(buyer);
  o.created_at = created;
  o.amount = 9900;
  o.receiver_name = "王磊";
  o.address = "湖北省 武汉市 江岸区 香港路 168号 香港路小区 3栋 1单元 502";
  o.phone = "13800000006";
  return o;
}

TEST(Reconcile, PlansNewRemindersOnceAndCancelsThoseOfAPaidOrder) {
  testing::TempStore store("reconcile");
  const RuleSet& rules = testing::default_rule_set();
  const LocalTime now = at("2026-11-24 09:00");
  FeedSnapshot snap;
  snap.orders = {unpaid("F1", "frank", at("2026-11-24 08:30"))};
  const auto first = reconcile(*store, snap, rules, now);
  EXPECT_GT(first.planned, 0);
  EXPECT_EQ(first.inserted, first.planned);
  const auto again = reconcile(*store, snap, rules, now);
  EXPECT_EQ(again.inserted, 0);
  EXPECT_EQ(again.cancelled, 0);

  snap.orders[0].status = OrderStatus::paid;
  snap.orders[0].paid_at = at("2026-11-24 09:05");
  const auto paid = reconcile(*store, snap, rules, at("2026-11-24 09:10"));
  EXPECT_EQ(paid.cancelled, first.planned);
  for (const auto& r : store->rows({})) {
    EXPECT_EQ(r.state, OutboxState::cancelled);
    EXPECT_NE(r.last_error.find("F1 was paid"), std::string::npos) << r.last_error;
  }
}

// The daemon honours the call desk: once a call's outcome `refused` is recorded, the next
// reconcile cancels the planned reminders of that call's orders, naming the call.
TEST(Reconcile, CancelsTheRemindersOfOrdersRefusedOnACall) {
  testing::TempStore store("reconcile-call");
  const RuleSet& rules = testing::default_rule_set();
  FeedSnapshot snap;
  snap.orders = {unpaid("G1", "gina", at("2026-11-24 08:30"))};
  snap.orders[0].amount = 399900;  // big ticket: IM, a call after 3 h, an SMS after 24 h
  snap.orders[0].address = testing::kHomeAddress;
  reconcile(*store, snap, rules, at("2026-11-24 08:40"));
  std::string call_key;
  for (const auto& row : store->rows({})) {  // the IM and the call went out
    ASSERT_TRUE(store->mark_sending(row.id, row.send_at));
    store->mark_sent(row.id, row.send_at, {row.buyer, row.channel, row.send_at, row.order_ids, row.step, row.shop});
    if (row.channel != Channel::phone) continue;
    call_key = row.idempotency_key;
    store->add_call_task({0, row.idempotency_key, row.buyer, "", row.contact, row.order_ids, row.message, row.send_at,
                          row.send_at, row.shop});
  }
  ASSERT_FALSE(call_key.empty());
  const auto before = reconcile(*store, snap, rules, at("2026-11-24 12:30"));
  ASSERT_EQ(before.inserted, 1);  // the SMS of the next day
  store->record_call_outcome({0, call_key, CallOutcome::refused, at("2026-11-24 12:35"), "小李", ""});
  const auto after = reconcile(*store, snap, rules, at("2026-11-24 12:40"));
  EXPECT_EQ(after.planned, 0);
  EXPECT_EQ(after.cancelled, 1);
  const auto cancelled = store->rows({std::nullopt, OutboxState::cancelled});
  ASSERT_EQ(cancelled.size(), 1u);
  EXPECT_EQ(cancelled[0].channel, Channel::sms);
  EXPECT_NE(cancelled[0].last_error.find("buyer refused on the call of 2026-11-24 11:30 (小李)"), std::string::npos)
      << cancelled[0].last_error;
}

}  // namespace
}  // namespace cuifu
