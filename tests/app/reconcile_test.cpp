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

}  // namespace
}  // namespace cuifu
