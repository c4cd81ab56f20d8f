// The planner on many buyers at once: planned on several threads, the plan is exactly the
// single-threaded one, down to the order of equal entries and every word of every reason.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <set>
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

// The reminders and skipped orders of one (shop, buyer) in a plan of many buyers, in its order.
Plan part_of(const Plan& all, const std::pair<std::string, std::string>& key) {
  Plan part;
  for (const auto& r : all.reminders) {
    if (r.shop == key.first && r.buyer == key.second) part.reminders.push_back(r);
  }
  for (const auto& s : all.skipped) {
    if (s.shop == key.first && s.buyer == key.second) part.skipped.push_back(s);
  }
  return part;
}

// How many orders to plan: 20,000 in the unit run; ctest's planner_parallel_100k (label
// `slow`) runs this test again on 100,000 through CUIFU_PARALLEL_TEST_ORDERS.
std::size_t orders_to_plan() {
  const char* n = std::getenv("CUIFU_PARALLEL_TEST_ORDERS");
  return n && *n ? static_cast<std::size_t>(std::stoul(n)) : 20000;
}

// What a plan without texts or why lines leaves out of a reminder, taken out of a full one.
void strip_texts(PlannedReminder& r) {
  r.subject.clear();
  r.message.clear();
  r.contact.clear();
  r.receiver_name.clear();
  r.why.clear();
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

// plan() of pointers to orders held elsewhere (a daemon's parts of its snapshot) is plan() of the
// orders themselves in that order: the buyers grouped apart (as the reconcile makes its parts),
// their orders in feed order, on one thread or several.
TEST(PlannerParallel, OrdersByPointerPlanAsTheOrdersThemselves) {
  const LocalTime now = at("2026-11-23 21:00");
  const auto orders = testing::generated_orders(3000, now);
  ContactHistory history;
  for (std::size_t i = 0; i < orders.size(); i += 13) {
    const Order& o = orders[i];
    history.add({o.buyer, Channel::im, o.created_at + std::chrono::minutes{20}, {o.id}, 1, i % 2 ? o.shop : ""});
  }
  // Grouped by buyer, the groups in reverse order of their first order, feed order within one.
  std::map<std::pair<std::string, std::string>, std::size_t> first;
  for (std::size_t i = 0; i < orders.size(); ++i) first.try_emplace({orders[i].shop, orders[i].buyer}, i);
  std::vector<const Order*> pointers;
  for (const auto& o : orders) pointers.push_back(&o);
  std::stable_sort(pointers.begin(), pointers.end(), [&](const Order* a, const Order* b) {
    return first.at({a->shop, a->buyer}) > first.at({b->shop, b->buyer});
  });
  std::vector<Order> copies;
  for (const Order* o : pointers) copies.push_back(*o);
  for (const unsigned threads : {1u, 4u}) {
    PlanRequest request{now, now, now + std::chrono::days{5}};
    request.threads = threads;
    const Plan by_value = plan(copies, history, testing::default_rules(), testing::default_templates(), request);
    const Plan by_pointer = plan(pointers, history, testing::default_rules(), testing::default_templates(), request);
    ASSERT_GT(by_value.reminders.size(), 100u);
    EXPECT_TRUE(serialized(by_pointer) == serialized(by_value)) << "the plans differ on " << threads << " threads";
  }
}

// plan() takes a single run that is already in order as it is, and sorts any other: one buyer
// at a time (as the backtest plans), its plan is that buyer's part of the plan of everybody,
// whether the planner made its reminders and skipped orders in order or not (both happen).
TEST(PlannerParallel, OneBuyerAloneIsPlannedAsAmongAllTheOthers) {
  const LocalTime now = at("2026-11-23 21:00");
  const auto orders = testing::generated_orders(600, now);
  ContactHistory history;
  for (std::size_t i = 0; i < orders.size(); i += 7) {
    const Order& o = orders[i];
    history.add({o.buyer, Channel::im, o.created_at + std::chrono::minutes{20}, {o.id}, 1, o.shop});
  }
  const Plan all = plan_on(orders, history, now, 1);
  std::map<std::pair<std::string, std::string>, std::vector<Order>> by_buyer;
  for (const auto& o : orders) by_buyer[{o.shop, o.buyer}].push_back(o);
  // What plan_into gives one buyer, before plan() orders it.
  struct Raw : PlanSink {
    Plan plan;
    void start(std::size_t) override {}
    void add(std::size_t, Plan& buyer) override {
      for (auto& r : buyer.reminders) plan.reminders.push_back(std::move(r));
      for (auto& s : buyer.skipped) plan.skipped.push_back(std::move(s));
    }
  };
  int made_in_order = 0, sorted_after = 0;
  for (const auto& [key, mine] : by_buyer) {
    ContactHistory own;
    for (const auto& c : history.contacts) {
      if (c.shop == key.first && c.buyer == key.second) own.add(c);
    }
    Raw raw;
    PlanRequest request{now, now, now + std::chrono::days{5}};
    request.threads = 1;
    plan_into(mine, own, testing::default_rules(), testing::default_templates(), request, raw);
    const bool in_order =
        std::is_sorted(raw.plan.reminders.begin(), raw.plan.reminders.end(),
                       [](const PlannedReminder& a, const PlannedReminder& b) { return a.send_at < b.send_at; }) &&
        std::adjacent_find(raw.plan.skipped.begin(), raw.plan.skipped.end(),
                           [](const SkippedOrder& a, const SkippedOrder& b) { return a.order_id >= b.order_id; }) ==
            raw.plan.skipped.end();
    ++(in_order ? made_in_order : sorted_after);
    const Plan expected = part_of(all, key);
    ASSERT_EQ(serialized(plan_on(mine, own, now, 1)), serialized(expected)) << key.first << " " << key.second;
  }
  EXPECT_GT(made_in_order, 0);
  EXPECT_GT(sorted_after, 0);
}

// plan() of a single buyer's orders takes a short way (no grouping of the orders, the buyer's
// contacts picked out of the history directly): with the whole history of everybody (contacts
// of other buyers, of the same nickname in the other shop, logged without a shop, later than
// now) it gives each buyer exactly its part of the plan of all buyers, made the long way.
TEST(PlannerParallel, OneBuyerWithEverybodysHistoryIsPlannedAsAmongAllTheOthers) {
  const LocalTime now = at("2026-11-23 21:00");
  const auto orders = testing::generated_orders(600, now);
  ContactHistory history;
  for (std::size_t i = 0; i < orders.size(); i += 3) {
    const Order& o = orders[i];
    // A third of them without a shop (they count in every shop of the nickname), some after now.
    const LocalTime when = i % 9 == 6 ? now + std::chrono::hours{2} : o.created_at + std::chrono::minutes{20};
    history.add({o.buyer, i % 2 ? Channel::im : Channel::sms, when, {o.id}, 1, i % 9 == 3 ? "" : o.shop});
  }
  const Plan all = plan_on(orders, history, now, 1);
  std::map<std::pair<std::string, std::string>, std::vector<Order>> by_buyer;
  std::map<std::string, std::set<std::string>> shops_of;
  for (const auto& o : orders) {
    by_buyer[{o.shop, o.buyer}].push_back(o);
    shops_of[o.buyer].insert(o.shop);
  }
  int in_two_shops = 0, with_contacts = 0;
  for (const auto& [key, mine] : by_buyer) {
    const Plan expected = part_of(all, key);
    ASSERT_EQ(serialized(plan_on(mine, history, now, 1)), serialized(expected)) << key.first << " " << key.second;
    in_two_shops += shops_of[key.second].size() > 1;
    const std::string& buyer = key.second;  // a structured binding cannot be captured (clang 14)
    with_contacts += std::any_of(history.contacts.begin(), history.contacts.end(),
                                 [&](const ContactRecord& c) { return c.buyer == buyer; });
  }
  EXPECT_GT(in_two_shops, 10);
  EXPECT_GT(with_contacts, 100);
  // Orders of two buyers (the same nickname in two shops) take the long way: still their plan.
  for (const auto& [nickname, shops] : shops_of) {
    if (shops.size() < 2) continue;
    std::vector<Order> both;
    for (const auto& shop : shops) {
      const auto& mine = by_buyer[{shop, nickname}];
      both.insert(both.end(), mine.begin(), mine.end());
    }
    Plan expected;
    for (const auto& r : all.reminders) {
      if (r.buyer == nickname) expected.reminders.push_back(r);
    }
    for (const auto& s : all.skipped) {
      if (s.buyer == nickname) expected.skipped.push_back(s);
    }
    std::sort(expected.skipped.begin(), expected.skipped.end(),
              [](const SkippedOrder& a, const SkippedOrder& b) { return a.order_id < b.order_id; });
    EXPECT_EQ(serialized(plan_on(both, history, now, 1)), serialized(expected)) << nickname;
    break;
  }
}

// The backtest's plans come without texts and why lines (PlanRequest::texts, ::explain): no
// message is rendered but an SMS's (to see that it fits), no address read with its reasons.
// Every reminder and skipped order is that of the full plan, but for those texts.
TEST(PlannerParallel, PlanWithoutTextsOrWhyLinesMakesTheSameDecisions) {
  const LocalTime now = at("2026-11-23 21:00");
  const auto orders = testing::generated_orders(3000, now);
  ContactHistory history;
  for (std::size_t i = 0; i < orders.size(); i += 53) history.opted_out[orders[i].buyer].insert(Channel::im);
  Plan full = plan_on(orders, history, now, 1);
  PlanRequest request{now, now, now + std::chrono::days{5}};
  request.threads = 1;
  request.explain = false;
  request.texts = false;
  const Plan lean = plan(orders, history, testing::default_rules(), testing::default_templates(), request);
  ASSERT_GT(full.reminders.size(), 500u);
  std::map<Channel, int> channels;
  for (auto& r : full.reminders) {
    EXPECT_FALSE(r.why.empty());
    ++channels[r.channel];
    strip_texts(r);
  }
  EXPECT_GT(channels[Channel::sms], 0);  // rendered all the same, to see that it fits
  EXPECT_GT(channels[Channel::im], 0);
  EXPECT_TRUE(serialized(full) == serialized(lean)) << "the plans differ";
}

// A plan whose reminders from some time on come bare (the daemon's reconcile plans 48 h ahead
// and writes the first 24 h): the reminders before that time are the full plan's, the others the
// full plan's without texts and why lines; on one thread and on several.
TEST(PlannerParallel, PlanWithBareRemindersFromATimeMakesTheSameDecisions) {
  const LocalTime now = at("2026-11-23 21:00");
  const auto orders = testing::generated_orders(3000, now);
  ContactHistory history;
  for (std::size_t i = 0; i < orders.size(); i += 53) history.opted_out[orders[i].buyer].insert(Channel::im);
  const LocalTime bare_from = now + std::chrono::hours{24};
  for (const unsigned threads : {1u, 3u}) {
    PlanRequest request{now, now, now + std::chrono::hours{48}};
    request.threads = threads;
    Plan full = plan(orders, history, testing::default_rules(), testing::default_templates(), request);
    request.bare_from = bare_from;
    const Plan bare = plan(orders, history, testing::default_rules(), testing::default_templates(), request);
    int before = 0, after = 0;
    std::map<Channel, int> channels_after;
    for (auto& r : full.reminders) {
      EXPECT_FALSE(r.why.empty());
      if (r.send_at < bare_from) {
        ++before;
        continue;
      }
      ++after;
      ++channels_after[r.channel];
      strip_texts(r);
    }
    EXPECT_GT(before, 300);
    EXPECT_GT(after, 100);
    EXPECT_GT(channels_after[Channel::sms], 0);
    EXPECT_GT(channels_after[Channel::im], 0);
    for (const auto& r : bare.reminders) {
      if (r.send_at < bare_from) continue;
      EXPECT_TRUE(r.message.empty() && r.why.empty() && r.contact.empty() && r.subject.empty()) << r.buyer;
    }
    EXPECT_TRUE(serialized(full) == serialized(bare)) << "the plans differ on " << threads << " threads";
  }
}

// An address read without its reasons is read the same: every part of the reading but `why`.
TEST(PlannerParallel, AddressReadWithoutReasonsIsReadTheSame) {
  const LocalTime now = at("2026-11-23 21:00");
  const auto orders = testing::generated_orders(3000, now);
  const Rules& rules = testing::default_rules();
  int with_occupation = 0, overseas = 0;
  for (const auto& o : orders) {
    const AddressReading full = read_address(rules, o.address);
    const AddressReading lean = read_address(rules, o.address, false);
    EXPECT_FALSE(full.parsed.why.empty());
    EXPECT_TRUE(lean.parsed.why.empty());
    EXPECT_TRUE(lean.occupation.why.empty());
    EXPECT_EQ(fmt::format("{}|{}|{}|{}|{}|{}", full.parsed.province, full.parsed.city, full.parsed.county,
                          full.parsed.rest, full.parsed.overseas, full.parsed.outside),
              fmt::format("{}|{}|{}|{}|{}|{}", lean.parsed.province, lean.parsed.city, lean.parsed.county,
                          lean.parsed.rest, lean.parsed.overseas, lean.parsed.outside))
        << o.address;
    EXPECT_EQ(full.occupation.occupation, lean.occupation.occupation) << o.address;
    EXPECT_EQ(full.occupation.scores, lean.occupation.scores) << o.address;
    with_occupation += !full.occupation.occupation.empty();
    overseas += full.parsed.overseas;
    const Order* one = &o;
    EXPECT_EQ(classify(rules, {one}, 0).rule, classify(rules, {one}, 0, nullptr, false).rule) << o.address;
    // Nor does the order's state change it (the backtest classifies an order as logged, not as placed).
    Order later = o;
    later.status = o.status == OrderStatus::unpaid ? OrderStatus::paid : OrderStatus::unpaid;
    later.paid_at = o.paid_at ? std::nullopt : std::optional<LocalTime>(o.created_at + std::chrono::hours{1});
    later.closed_at = o.closed_at ? std::nullopt : std::optional<LocalTime>(o.created_at + std::chrono::hours{2});
    const Order* changed = &later;
    EXPECT_EQ(classify(rules, {one}, 0).rule, classify(rules, {changed}, 0).rule) << o.address;
  }
  EXPECT_GT(with_occupation, 100);
  EXPECT_GT(overseas, 0);
}

// A PlanCache kept across plans (the backtest plans one buyer at a time with one) gives every
// buyer the plan made without it: buyers of both shops in turn, their windows and caps; and
// a cache of other rules is not used.
TEST(PlannerParallel, PlanCacheKeptAcrossPlansPlansTheSame) {
  const LocalTime now = at("2026-11-23 21:00");
  const auto orders = testing::generated_orders(900, now);
  const Rules& rules = testing::default_rules();
  Rules other = rules;  // another rule set: its cache must not serve `rules`
  other.quiet_hours = {DailyWindow{0, 23 * 60}};
  other.shops.clear();
  std::map<std::pair<std::string, std::string>, std::vector<Order>> by_buyer;
  for (const auto& o : orders) by_buyer[{o.shop, o.buyer}].push_back(o);
  PlanCache cache(rules), other_cache(other);
  std::set<std::string> shops;
  int reminded = 0;
  for (const auto& [key, mine] : by_buyer) {
    PlanRequest request{now, now, now + std::chrono::days{5}};
    request.threads = 1;
    const std::string fresh = serialized(plan(mine, {}, rules, testing::default_templates(), request));
    request.cache = &cache;
    EXPECT_EQ(serialized(plan(mine, {}, rules, testing::default_templates(), request)), fresh) << key.second;
    request.cache = &other_cache;
    EXPECT_EQ(serialized(plan(mine, {}, rules, testing::default_templates(), request)), fresh) << key.second;
    shops.insert(key.first);
    reminded += fresh.starts_with("R|");
  }
  EXPECT_EQ(shops.size(), 2u);
  EXPECT_GT(reminded, 100);
  EXPECT_EQ(&cache.shop("木森家具专营店"), &cache.shop("木森家具专营店"));
  EXPECT_EQ(cache.shop("木森家具专营店").display_name, rules.for_shop("木森家具专营店").display_name);
}

// The why lines' texts a PlanCache keeps are the texts made without it, for each object of the
// rules asked for (two lists with the same windows are two keys; an empty list and no quiet hours too).
TEST(PlannerParallel, PlanCacheTextsAreTheTextsMadeAgain) {
  Rules rules = testing::default_rules();
  rules.quiet_hours = {DailyWindow{22 * 60, 24 * 60}, DailyWindow{0, 8 * 60}};
  const std::vector<DailyWindow> none, one{DailyWindow{8 * 60, 21 * 60}},
      two{DailyWindow{9 * 60 + 5, 12 * 60}, DailyWindow{13 * 60 + 30, 18 * 60}}, same_as_one = one;
  PlanCache cache(rules);
  for (int round = 0; round < 2; ++round) {  // made, then kept
    EXPECT_EQ(cache.windows_text(none), "any time outside quiet hours");
    EXPECT_EQ(cache.windows_text(one), "window 08:00-21:00");
    EXPECT_EQ(cache.windows_text(same_as_one), "window 08:00-21:00");
    EXPECT_EQ(cache.windows_text(two), "window 09:05-12:00, 13:30-18:00");
    EXPECT_EQ(cache.quiet_hours_text(), rules.quiet_hours.front().str());
    for (const auto& seg : rules.segments) {
      EXPECT_EQ(cache.source_text(seg.source), seg.source.str());
      for (const auto& step : seg.steps) EXPECT_EQ(cache.source_text(step.source), step.source.str());
    }
  }
  Rules quiet = rules;
  quiet.quiet_hours.clear();
  PlanCache none_cache(quiet);
  EXPECT_EQ(none_cache.quiet_hours_text(), "none");
}

TEST(PlannerParallel, MoreThreadsThanBuyersIsFine) {
  const LocalTime now = at("2026-11-23 21:00");
  const auto orders = testing::generated_orders(3, now);
  EXPECT_EQ(serialized(plan_on(orders, {}, now, 1)), serialized(plan_on(orders, {}, now, 16)));
  EXPECT_TRUE(plan_on({}, {}, now, 8).reminders.empty());
}

}  // namespace
}  // namespace cuifu
