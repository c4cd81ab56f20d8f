// The planner on many buyers at once: planned on several threads, the plan is exactly the
// single-threaded one, down to the order of equal entries and every word of every reason.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "core/planner.h"
#include "generated_orders.h"
#include "test_rules.h"

namespace cuifu {
namespace {

using testing::at;

// Every field of the plan, in its order.
std::string serialized(const Plan& p) {
  std::string out;
  for (const auto& r : p.reminders) {
    out += fmt::format("R|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}\n", format_local_hm(r.send_at), r.shop,
                       r.buyer, fmt::join(r.order_ids, ","), r.segment, to_string(r.channel), r.step, r.template_name,
                       r.subject, r.message, r.contact, r.receiver_name, r.amount, r.cost_milli,
                       format_local_hm(r.pay_by), fmt::join(r.why, ";"), r.idempotency_key());
  }
  for (const auto& s : p.skipped) out += fmt::format("S|{}|{}|{}|{}\n", s.order_id, s.shop, s.buyer, s.reason);
  return out;
}

Plan plan_on(const std::vector<Order>& orders, const ContactHistory& history, LocalTime now, unsigned threads) {
  PlanRequest request{now, now, now + std::chrono::days{5}};
  request.threads = threads;
  return plan(orders, history, testing::default_rules(), testing::default_templates(), request);
}

// How many orders to plan: 20,000 in the unit run; ctest's planner_parallel_100k (label
// `slow`) runs this test again on 100,000 through CUIFU_PARALLEL_TEST_ORDERS.
std::size_t orders_to_plan() {
  const char* n = std::getenv("CUIFU_PARALLEL_TEST_ORDERS");
  return n && *n ? static_cast<std::size_t>(std::stoul(n)) : 20000;
}

TEST(PlannerParallel, ManyOrdersPlanTheSameOnOneOrFourThreads) {
  const LocalTime now = at("2026-11-23 21:00");
  const std::size_t wanted = orders_to_plan();
  const auto orders = testing::generated_orders(wanted * 7 / 10, now);  // 1.43 orders a buyer
  ASSERT_GE(orders.size(), wanted);
  ContactHistory history;  // some buyers were reminded already (some logged without a shop), some opted out
  for (std::size_t i = 0; i < orders.size(); i += 97) {
    const Order& o = orders[i];
    history.add({o.buyer, Channel::im, o.created_at + std::chrono::minutes{20}, {o.id}, 1, i % 2 ? o.shop : ""});
  }
  for (std::size_t i = 0; i < orders.size(); i += 101) history.opted_out[orders[i].buyer].insert(Channel::sms);

  const Plan one = plan_on(orders, history, now, 1);
  const Plan four = plan_on(orders, history, now, 4);
  ASSERT_GT(one.reminders.size(), wanted / 10);
  ASSERT_GT(one.skipped.size(), wanted / 10);
  EXPECT_EQ(one.reminders.size(), four.reminders.size());
  EXPECT_EQ(one.skipped.size(), four.skipped.size());
  EXPECT_TRUE(serialized(one) == serialized(four)) << "the plans differ";
  EXPECT_TRUE(serialized(plan_on(orders, history, now, 0)) == serialized(one)) << "the default (all cores) differs";
}

TEST(PlannerParallel, MoreThreadsThanBuyersIsFine) {
  const LocalTime now = at("2026-11-23 21:00");
  const auto orders = testing::generated_orders(3, now);
  EXPECT_EQ(serialized(plan_on(orders, {}, now, 1)), serialized(plan_on(orders, {}, now, 16)));
  EXPECT_TRUE(plan_on({}, {}, now, 8).reminders.empty());
}

}  // namespace
}  // namespace cuifu
