// The planner against the shop's default rules (rules/, templates/): timing, channels,
// caps, combining, skips, explanations and determinism. Orders are built in code and the
// clock is fixed, so a simulated week runs in milliseconds.
#include "core/planner.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>

#include "core/send_policy.h"
#include "core/text.h"
#include "test_rules.h"

namespace cuifu {
namespace {

using std::chrono::days;
using std::chrono::hours;
using testing::at;
using testing::default_rules;
using testing::default_templates;
using testing::make_order;

constexpr int kQuietStart = 22 * 60;
constexpr int kQuietEnd = 8 * 60;

Plan plan_between(const std::vector<Order>& orders, LocalTime now, LocalTime from, LocalTime to,
                  const ContactHistory& history = {}, const Rules& rules = default_rules(),
                  const TemplateSet& templates = default_templates()) {
  return plan(orders, history, rules, templates, PlanRequest{now, from, to});
}

// Everything from `now` on, for the order's whole life (auto-close is 72 h).
Plan plan_all(const std::vector<Order>& orders, LocalTime now, const ContactHistory& history = {},
              const Rules& rules = default_rules(), const TemplateSet& templates = default_templates()) {
  return plan_between(orders, now, now, now + days{5}, history, rules, templates);
}

std::vector<PlannedReminder> of_buyer(const Plan& p, std::string_view buyer) {
  std::vector<PlannedReminder> out;
  for (const auto& r : p.reminders) {
    if (r.buyer == buyer) out.push_back(r);
  }
  return out;
}

const SkippedOrder* skipped(const Plan& p, std::string_view order_id) {
  for (const auto& s : p.skipped) {
    if (s.order_id == order_id) return &s;
  }
  return nullptr;
}

bool any_why(const PlannedReminder& r, std::string_view part) {
  return std::any_of(r.why.begin(), r.why.end(),
                     [&](const std::string& w) { return w.find(part) != std::string::npos; });
}

std::string describe(const PlannedReminder& r) {
  std::string s = format_local_hm(r.send_at) + " " + r.buyer + " " + r.segment + " step " + std::to_string(r.step) +
                  " " + std::string(to_string(r.channel)) + " " + r.template_name;
  for (const auto& w : r.why) s += "\n    " + w;
  return s;
}

std::string describe(const std::vector<PlannedReminder>& rs) {
  std::string s;
  for (const auto& r : rs) s += describe(r) + "\n";
  return s;
}

bool in_minutes(int m, int start, int end) {
  return m >= start && m < end;
}

// The timing rules of DESIGN.md and the default rules files, checked on one reminder.
void expect_allowed_time(const PlannedReminder& r) {
  const int m = minute_of_day(r.send_at);
  SCOPED_TRACE(describe(r));
  EXPECT_FALSE(m >= kQuietStart || m < kQuietEnd) << "sent in quiet hours";
  const ChannelRule* ch = default_rules().channel(r.channel);
  ASSERT_NE(ch, nullptr);
  EXPECT_TRUE(ch->windows.empty() ||
              std::any_of(ch->windows.begin(), ch->windows.end(), [m](const DailyWindow& w) { return w.contains(m); }))
      << "outside the channel's windows";
  switch (r.channel) {
    case Channel::sms:
      if (r.segment == "office_worker") {
        EXPECT_TRUE(in_minutes(m, 12 * 60, 13 * 60 + 30) || in_minutes(m, 17 * 60, 18 * 60)) << "office SMS";
      } else if (r.segment == "student" || r.segment == "default") {
        EXPECT_TRUE(in_minutes(m, 18 * 60, 22 * 60)) << "evening SMS";
      }
      break;
    case Channel::phone:
      EXPECT_EQ(r.segment, "big_ticket") << "phone calls are for big-ticket orders only";
      EXPECT_TRUE(in_minutes(m, 9 * 60 + 30, 18 * 60)) << "calls within staff working hours";
      break;
    case Channel::email: EXPECT_EQ(r.segment, "foreign"); break;
    case Channel::im: break;
  }
}

// The caps of invariant 3 over a buyer's whole sequence of contacts.
void expect_caps_hold(const std::vector<PlannedReminder>& all) {
  std::map<std::string, std::vector<const PlannedReminder*>> by_buyer;
  std::map<std::string, int> per_order;
  for (const auto& r : all) {
    by_buyer[r.buyer].push_back(&r);
    for (const auto& id : r.order_ids) ++per_order[id];
  }
  for (const auto& [id, n] : per_order) EXPECT_LE(n, 3) << "order " << id << " reminded too often";
  for (auto& [buyer, rs] : by_buyer) {
    std::sort(rs.begin(), rs.end(), [](auto* a, auto* b) { return a->send_at < b->send_at; });
    std::map<LocalTime, int> per_day;
    for (const auto* r : rs) ++per_day[start_of_day(r->send_at)];
    for (const auto& [day, n] : per_day) {
      EXPECT_LE(n, 2) << buyer << " contacted " << n << " times on " << format_local_date(day);
    }
    for (std::size_t i = 1; i < rs.size(); ++i) {
      EXPECT_GE(rs[i]->send_at - rs[i - 1]->send_at, Minutes{120}) << buyer << ":\n"
                                                                   << describe(*rs[i - 1]) << "\n"
                                                                   << describe(*rs[i]);
      EXPECT_NE(rs[i]->channel, rs[i - 1]->channel) << buyer << " got the same channel twice in a row:\n"
                                                    << describe(*rs[i - 1]) << "\n"
                                                    << describe(*rs[i]);
    }
  }
}

// What the daemon does: every `tick`, plan [t, t + tick) with what was sent so far as the
// contact history, and "send" what the plan returns.
struct Simulation {
  std::vector<PlannedReminder> sent;
  ContactHistory history;
  std::vector<Plan> plans;
};

Simulation simulate(const std::vector<Order>& orders, LocalTime start, LocalTime end, Minutes tick,
                    ContactHistory history = {}, const Rules& rules = default_rules(),
                    const TemplateSet& templates = default_templates()) {
  Simulation sim;
  sim.history = std::move(history);
  for (LocalTime t = start; t < end; t += tick) {
    // The feed at time t holds only the orders placed by then.
    std::vector<Order> feed;
    for (const auto& o : orders) {
      if (o.created_at <= t) feed.push_back(o);
    }
    Plan p = plan(feed, sim.history, rules, templates, PlanRequest{t, t, t + tick});
    for (const auto& r : p.reminders) {
      EXPECT_GE(r.send_at, t);
      EXPECT_LT(r.send_at, t + tick);
      sim.history.add(ContactRecord{r.buyer, r.channel, r.send_at, r.order_ids, r.step});
      sim.sent.push_back(r);
    }
    sim.plans.push_back(std::move(p));
  }
  return sim;
}

// Buyers of every default segment.
struct BuyerKind {
  const char* segment;
  const char* address;
  Money amount;
  bool phone;
  bool email;
};

const std::vector<BuyerKind>& buyer_kinds() {
  static const std::vector<BuyerKind> kinds = {
      {"office_worker", testing::kOfficeAddress, 25900, true, false},
      {"student", testing::kStudentAddress, 4990, true, false},
      {"big_ticket", testing::kHomeAddress, 399900, true, false},
      {"foreign", testing::kHongKongAddress, 39900, false, true},
      {"default", testing::kHomeAddress, 19900, true, false},
  };
  return kinds;
}

Order order_of_kind(const BuyerKind& k, std::string id, std::string buyer, LocalTime created) {
  Order o = make_order(std::move(id), std::move(buyer), created);
  o.address = k.address;
  o.amount = k.amount;
  if (!k.phone) o.phone.clear();
  if (k.email) o.email = "buyer@example.com";
  return o;
}

Order office_order(std::string id, std::string buyer, LocalTime created) {
  return order_of_kind(buyer_kinds()[0], std::move(id), std::move(buyer), created);
}
Order student_order(std::string id, std::string buyer, LocalTime created) {
  return order_of_kind(buyer_kinds()[1], std::move(id), std::move(buyer), created);
}
Order big_order(std::string id, std::string buyer, LocalTime created) {
  return order_of_kind(buyer_kinds()[2], std::move(id), std::move(buyer), created);
}
Order foreign_order(std::string id, std::string buyer, LocalTime created) {
  return order_of_kind(buyer_kinds()[3], std::move(id), std::move(buyer), created);
}

// ---------------------------------------------------------------------------------------
// Channels and timing

TEST(Planner, FirstReminderOfEverySegmentIsAnImMessage) {
  const LocalTime created = at("2026-11-23 10:00");
  for (const auto& k : buyer_kinds()) {
    const Plan p = plan_all({order_of_kind(k, "A1", "buyer", created)}, created);
    ASSERT_FALSE(p.reminders.empty()) << k.segment;
    const PlannedReminder& first = p.reminders.front();
    EXPECT_EQ(first.segment, k.segment);
    EXPECT_EQ(first.step, 1) << k.segment;
    EXPECT_EQ(first.channel, Channel::im) << k.segment;
    EXPECT_LE(first.send_at, created + Minutes{30}) << k.segment << ": IM goes out soon after the order";
  }
}

TEST(Planner, TextsOfficeWorkersAtLunchOrJustBeforeLeavingWork) {
  // Placed at 10:00: the SMS step is due at 14:00, after lunch, so it waits for 17:00.
  Plan p = plan_all({office_order("A1", "tb_office", at("2026-11-23 10:00"))}, at("2026-11-23 10:00"));
  auto rs = of_buyer(p, "tb_office");
  ASSERT_GE(rs.size(), 2u) << describe(p.reminders);
  EXPECT_EQ(rs[1].channel, Channel::sms);
  EXPECT_EQ(rs[1].send_at, at("2026-11-23 17:00")) << describe(rs[1]);
  EXPECT_TRUE(any_why(rs[1], "moved to")) << describe(rs[1]);

  // Placed at 08:00: due at 12:00, right at the lunch break.
  p = plan_all({office_order("A1", "tb_office", at("2026-11-23 08:00"))}, at("2026-11-23 08:00"));
  rs = of_buyer(p, "tb_office");
  ASSERT_GE(rs.size(), 2u);
  EXPECT_EQ(rs[1].channel, Channel::sms);
  EXPECT_EQ(rs[1].send_at, at("2026-11-23 12:00"));

  // Placed at 15:00: due at 19:00, after work: the next lunch break.
  p = plan_all({office_order("A1", "tb_office", at("2026-11-23 15:00"))}, at("2026-11-23 15:00"));
  rs = of_buyer(p, "tb_office");
  ASSERT_GE(rs.size(), 2u);
  EXPECT_EQ(rs[1].channel, Channel::sms);
  EXPECT_EQ(rs[1].send_at, at("2026-11-24 12:00"));
}

TEST(Planner, TextsStudentsAndOtherBuyersInTheEveningBeforeTen) {
  Plan p = plan_all({student_order("A1", "tb_student", at("2026-11-23 10:00"))}, at("2026-11-23 10:00"));
  auto rs = of_buyer(p, "tb_student");
  ASSERT_GE(rs.size(), 2u);
  EXPECT_EQ(rs[1].channel, Channel::sms);
  EXPECT_EQ(rs[1].send_at, at("2026-11-23 18:00"));

  // Due at 22:40, past the evening: tomorrow evening, never at night.
  p = plan_all({make_order("A1", "tb_home", at("2026-11-23 16:40"))}, at("2026-11-23 16:40"));
  rs = of_buyer(p, "tb_home");
  ASSERT_GE(rs.size(), 2u);
  EXPECT_EQ(rs[1].channel, Channel::sms);
  EXPECT_EQ(rs[1].send_at, at("2026-11-24 18:00"));
}

TEST(Planner, CallsBigTicketBuyersOnlyDuringStaffHours) {
  // Placed at 20:00: the call is due at 23:00 and moves to 09:30 the next morning.
  const Plan p = plan_all({big_order("A1", "tb_big", at("2026-11-23 20:00"))}, at("2026-11-23 20:00"));
  const auto rs = of_buyer(p, "tb_big");
  ASSERT_GE(rs.size(), 2u) << describe(p.reminders);
  EXPECT_EQ(rs[0].channel, Channel::im);
  EXPECT_EQ(rs[1].channel, Channel::phone);
  EXPECT_EQ(rs[1].send_at, at("2026-11-24 09:30"));
  EXPECT_EQ(rs[1].contact, "13812345678");
}

TEST(Planner, NeverCallsBuyersWhoAreNotBigTicket) {
  const LocalTime created = at("2026-11-23 09:00");
  std::vector<Order> orders;
  int n = 0;
  for (const auto& k : buyer_kinds()) {
    if (std::string_view(k.segment) == "big_ticket") continue;
    orders.push_back(order_of_kind(k, "A" + std::to_string(++n), std::string("tb_") + k.segment, created));
  }
  const Plan p = plan_all(orders, created);
  EXPECT_FALSE(p.reminders.empty());
  for (const auto& r : p.reminders) EXPECT_NE(r.channel, Channel::phone) << describe(r);
}

TEST(Planner, EmailsForeignBuyersAndNeverTextsThem) {
  const Plan p = plan_all({foreign_order("A1", "mike_hk", at("2026-11-23 09:45"))}, at("2026-11-23 09:45"));
  const auto rs = of_buyer(p, "mike_hk");
  ASSERT_GE(rs.size(), 2u) << describe(p.reminders);
  EXPECT_EQ(rs[0].segment, "foreign");
  EXPECT_EQ(rs[1].channel, Channel::email);
  EXPECT_EQ(rs[1].contact, "buyer@example.com");
  EXPECT_FALSE(rs[1].subject.empty());
  for (const auto& r : rs) {
    EXPECT_NE(r.channel, Channel::sms);
    EXPECT_NE(r.channel, Channel::phone);
  }
}

TEST(Planner, NeverSendsInQuietHoursOrOutsideAChannelsWindowWhenEverTheOrderWasPlaced) {
  const LocalTime day = at("2026-11-23 00:00");
  int checked = 0;
  for (const auto& k : buyer_kinds()) {
    for (int minute = 0; minute < 1440; minute += 10) {
      const LocalTime created = day + Minutes{minute};
      const Plan p = plan_all({order_of_kind(k, "A1", "buyer", created)}, created);
      for (const auto& r : p.reminders) {
        expect_allowed_time(r);
        EXPECT_LT(r.send_at, r.pay_by) << "reminder after the order auto-closes";
        ++checked;
      }
      expect_caps_hold(p.reminders);
      if (::testing::Test::HasFailure()) {
        FAIL() << k.segment << " order placed at " << format_local_hm(created) << ":\n" << describe(p.reminders);
      }
    }
  }
  EXPECT_GT(checked, 5 * 144 * 2);
}

TEST(Planner, SendsRightUpToTheStartOfQuietHoursAndResumesAtItsEnd) {
  // IM due at 21:50 goes out at 21:50; due at 22:01 it waits for 08:00.
  Plan p = plan_all({make_order("A1", "tb_a", at("2026-11-23 21:20"))}, at("2026-11-23 21:20"));
  ASSERT_FALSE(p.reminders.empty());
  EXPECT_EQ(p.reminders.front().send_at, at("2026-11-23 21:50"));
  p = plan_all({make_order("A1", "tb_a", at("2026-11-23 21:31"))}, at("2026-11-23 21:31"));
  ASSERT_FALSE(p.reminders.empty());
  EXPECT_EQ(p.reminders.front().send_at, at("2026-11-24 08:00")) << describe(p.reminders.front());
  EXPECT_TRUE(any_why(p.reminders.front(), "quiet hours 22:00-08:00")) << describe(p.reminders.front());
}

TEST(Planner, NeverSendsInQuietHoursWhenThePlanIsMadeAtNight) {
  // The order was placed in the afternoon; the plan is made at 23:30 with everything overdue.
  const LocalTime created = at("2026-11-23 14:00");
  for (const auto& k : buyer_kinds()) {
    const Plan p = plan_all({order_of_kind(k, "A1", "buyer", created)}, at("2026-11-23 23:30"));
    ASSERT_FALSE(p.reminders.empty()) << k.segment;
    EXPECT_GE(p.reminders.front().send_at, at("2026-11-24 08:00")) << describe(p.reminders.front());
    for (const auto& r : p.reminders) expect_allowed_time(r);
  }
}

// ---------------------------------------------------------------------------------------
// Frequency caps (simulated over several days)

std::vector<Order> mixed_population(LocalTime day) {
  std::vector<Order> orders;
  int n = 0;
  for (const auto& k : buyer_kinds()) {
    for (int hour = 0; hour < 24; hour += 1) {
      const std::string buyer = std::string(k.segment) + "_" + std::to_string(hour);
      orders.push_back(order_of_kind(k, "O" + std::to_string(++n), buyer, day + hours{hour} + Minutes{7 * hour % 60}));
    }
  }
  // A buyer with two unpaid orders and one with a paid and an unpaid one.
  orders.push_back(make_order("O901", "tb_combo", day + hours{14} + Minutes{20}));
  orders.push_back(make_order("O902", "tb_combo", day + hours{14} + Minutes{26}));
  return orders;
}

TEST(Planner, KeepsEveryCapOverSeveralDaysOfReplanning) {
  const LocalTime day = at("2026-11-23 00:00");
  const auto orders = mixed_population(day);
  const Simulation sim = simulate(orders, day + hours{1}, day + days{5}, Minutes{15});
  ASSERT_GT(sim.sent.size(), 200u);
  expect_caps_hold(sim.sent);
  for (const auto& r : sim.sent) expect_allowed_time(r);

  // Every order got between one and three reminders, never after it auto-closed.
  std::map<std::string, int> per_order;
  for (const auto& r : sim.sent) {
    for (const auto& id : r.order_ids) ++per_order[id];
    EXPECT_LT(r.send_at, r.pay_by);
  }
  for (const auto& o : orders) {
    if (o.created_at + hours{72} <= day + hours{1}) continue;
    EXPECT_GE(per_order[o.id], 1) << o.id << " of " << o.buyer << " never reminded";
    EXPECT_LE(per_order[o.id], 3) << o.id;
  }
}

TEST(Planner, PlanPreviewMatchesWhatReplanningEveryFifteenMinutesSends) {
  const LocalTime day = at("2026-11-23 00:00");
  const auto orders = mixed_population(day);
  const LocalTime start = day + hours{1};
  const Plan preview = plan_between(orders, start, start, day + days{5});
  const Simulation sim = simulate(orders, start, day + days{5}, Minutes{15});
  auto key = [](const PlannedReminder& r) {
    return std::make_tuple(r.send_at, r.buyer, r.step, r.channel, r.template_name, r.message);
  };
  std::vector<decltype(key(preview.reminders[0]))> a, b;
  for (const auto& r : preview.reminders) a.push_back(key(r));
  for (const auto& r : sim.sent) b.push_back(key(r));
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  EXPECT_EQ(a.size(), b.size());
  std::string only;  // what one side has and the other does not, to see why they disagree
  const auto describe = [](const char* side, const auto& k) {
    return fmt::format("{} {} {} step {} {} {}\n", side, format_local_hm(std::get<0>(k)), std::get<1>(k),
                       std::get<2>(k), to_string(std::get<3>(k)), std::get<4>(k));
  };
  for (const auto& k : a) {
    if (!std::binary_search(b.begin(), b.end(), k)) only += describe("preview only:", k);
  }
  for (const auto& k : b) {
    if (!std::binary_search(a.begin(), a.end(), k)) only += describe("replanning only:", k);
  }
  EXPECT_TRUE(a == b) << "a one-shot preview and step-by-step replanning disagree:\n" << only;
}

// The daemon re-plans every minute; two things change a buyer's plan with no new snapshot and
// no contact: an order of a combined group closes (the rest go on as a smaller group, timed
// from their own orders) and a payment leaves the "paid within the last hour" window. A
// preview made before either must list what the daemon then sends, minute and text alike.
TEST(Planner, APreviewListsWhatTheDaemonSendsAfterAGroupOrderClosesAndAPaySkipExpires) {
  using testing::make_step;
  const auto set = testing::code_rule_set({make_step(30, Channel::im, "t"), make_step(6 * 60, Channel::sms, "t")});
  const LocalTime day = at("2026-11-23 00:00");
  std::vector<Order> orders = {
      // tb_combo: A's two steps are done when B is placed; {A, B} has nothing left, but once A
      // auto-closes (72 h) B is a group of its own that was never reminded.
      make_order("A1", "tb_combo", day + hours{9}),
      make_order("B1", "tb_combo", day + hours{20}),
      // tb_payer paid one order at 19:40: no reminder until 20:40, then U1's steps.
      make_order("P1", "tb_payer", day + hours{19} + Minutes{30}),
      make_order("U1", "tb_payer", day + hours{19} + Minutes{45}),
  };
  orders[2].status = OrderStatus::paid;
  orders[2].paid_at = day + hours{19} + Minutes{40};
  ContactHistory history;
  history.add({"tb_combo", Channel::im, day + hours{9} + Minutes{30}, {"A1"}, 1, "青禾家居旗舰店"});
  history.add({"tb_combo", Channel::sms, day + hours{15}, {"A1"}, 2, "青禾家居旗舰店"});

  const LocalTime start = day + hours{20} + Minutes{5};
  const LocalTime end = start + days{5};
  const Plan preview = plan_between(orders, start, start, end, history, set.rules, set.templates);
  const Simulation sim = simulate(orders, start, end, Minutes{1}, history, set.rules, set.templates);
  const auto key = [](const PlannedReminder& r) {
    return fmt::format("{} {} step {} {} [{}] {}", format_local_hm(r.send_at), r.buyer, r.step, to_string(r.channel),
                       fmt::join(r.order_ids, ","), r.message);
  };
  std::vector<std::string> promised, sent;
  for (const auto& r : preview.reminders) promised.push_back(key(r));
  for (const auto& r : sim.sent) sent.push_back(key(r));
  std::sort(promised.begin(), promised.end());
  std::sort(sent.begin(), sent.end());
  EXPECT_EQ(promised, sent) << "preview:\n" << describe(preview.reminders) << "sent:\n" << describe(sim.sent);

  // The preview shows B1's own sequence starting when A1 closes (26 Nov 09:00) ...
  const auto combo = of_buyer(preview, "tb_combo");
  ASSERT_EQ(combo.size(), 2u) << describe(preview.reminders);
  EXPECT_EQ(combo[0].send_at, at("2026-11-26 09:00"));
  EXPECT_EQ(combo[0].order_ids, std::vector<std::string>{"B1"});
  EXPECT_EQ(combo[0].channel, Channel::im);
  EXPECT_EQ(combo[1].send_at, at("2026-11-26 11:00"));
  EXPECT_EQ(combo[1].channel, Channel::sms);
  // ... and tb_payer's first reminder once the hour after the payment is over.
  const auto payer = of_buyer(preview, "tb_payer");
  ASSERT_FALSE(payer.empty()) << describe(preview.reminders);
  EXPECT_EQ(payer[0].send_at, at("2026-11-23 20:40")) << describe(payer[0]);
  EXPECT_EQ(payer[0].order_ids, std::vector<std::string>{"U1"});
  // An order the preview reminds is not also listed as skipped.
  for (const char* id : {"B1", "U1"})
    EXPECT_EQ(skipped(preview, id), nullptr) << id << ": " << skipped(preview, id)->reason;
}

// One send policy: whatever the planner plans, the daemon's gate (core/send_policy) lets
// through at its minute, given every contact before it.
TEST(Planner, EveryPlannedReminderPassesTheDaemonsSendPolicy) {
  const LocalTime day = at("2026-11-23 00:00");
  const auto orders = mixed_population(day);
  const Plan p = plan_between(orders, day + hours{1}, day + hours{1}, day + days{5});
  ASSERT_GT(p.reminders.size(), 200u);
  std::map<std::string, OrderView> views;
  for (const auto& o : orders) views[o.id] = order_view(o, default_rules());
  std::vector<ContactRecord> before;
  for (const auto& r : p.reminders) {  // sorted by send_at
    Outgoing out;
    out.buyer = r.buyer;
    out.shop = r.shop;
    out.order_ids = r.order_ids;
    out.channel = r.channel;
    out.step = r.step;
    out.segment = r.segment;
    EXPECT_EQ(send_time_problem(default_rules(), out, r.send_at), "") << describe(r);
    EXPECT_EQ(cap_problem(default_rules(), before, out, r.send_at), "") << describe(r);
    EXPECT_EQ(payable_problem(views, out, r.send_at), "") << describe(r);
    before.push_back({r.buyer, r.channel, r.send_at, r.order_ids, r.step, r.shop});
  }
}

TEST(Planner, RemindsAnOrderAtMostThreeTimesEvenWhenTheRulesHaveMoreSteps) {
  using testing::make_step;
  auto set = testing::code_rule_set({make_step(30, Channel::im, "t"), make_step(180, Channel::sms, "t"),
                                     make_step(24 * 60, Channel::im, "t"), make_step(27 * 60, Channel::sms, "t"),
                                     make_step(48 * 60, Channel::im, "t")});
  const LocalTime created = at("2026-11-23 09:00");
  const std::vector<Order> orders = {make_order("A1", "tb_a", created)};
  const Simulation sim = simulate(orders, created, created + days{3}, Minutes{30}, {}, set.rules, set.templates);
  EXPECT_EQ(sim.sent.size(), 3u) << describe(sim.sent);
  // Once the cap is reached, the plan says so.
  const Plan later = plan_all(orders, created + hours{50}, sim.history, set.rules, set.templates);
  EXPECT_TRUE(later.reminders.empty()) << describe(later.reminders);
  const SkippedOrder* s = skipped(later, "A1");
  ASSERT_NE(s, nullptr);
  EXPECT_NE(s->reason.find("cap 3"), std::string::npos) << s->reason;

  // The one-shot plan agrees.
  EXPECT_EQ(plan_all(orders, created, {}, set.rules, set.templates).reminders.size(), 3u);
}

TEST(Planner, ContactsABuyerAtMostTwiceOnOneCalendarDay) {
  using testing::make_step;
  auto set = testing::code_rule_set(
      {make_step(10, Channel::im, "t"), make_step(130, Channel::sms, "t"), make_step(250, Channel::im, "t")});
  const LocalTime created = at("2026-11-23 09:00");
  const Plan p = plan_all({make_order("A1", "tb_a", created)}, created, {}, set.rules, set.templates);
  ASSERT_EQ(p.reminders.size(), 3u) << describe(p.reminders);
  EXPECT_EQ(p.reminders[0].send_at, at("2026-11-23 09:10"));
  EXPECT_EQ(p.reminders[1].send_at, at("2026-11-23 11:10"));
  // The third is due at 13:10, but the buyer already had two contacts today.
  EXPECT_EQ(p.reminders[2].send_at, at("2026-11-24 08:00")) << describe(p.reminders[2]);
  EXPECT_TRUE(any_why(p.reminders[2], "cap 2 a day")) << describe(p.reminders[2]);
}

TEST(Planner, CountsContactsAboutOtherOrdersTowardsTheDailyCap) {
  // The buyer was already contacted twice today about other orders (since paid).
  const LocalTime created = at("2026-11-23 10:00");
  ContactHistory h;
  h.add({"tb_a", Channel::sms, at("2026-11-22 21:00"), {"X0"}, 2});  // yesterday: does not count
  h.add({"tb_a", Channel::im, at("2026-11-23 08:10"), {"X1"}, 1});
  h.add({"tb_a", Channel::sms, at("2026-11-23 09:00"), {"X2"}, 1});
  const Plan p = plan_all({make_order("A1", "tb_a", created)}, created, h);
  ASSERT_FALSE(p.reminders.empty()) << describe(p.reminders);
  EXPECT_EQ(p.reminders.front().send_at, at("2026-11-24 08:00")) << describe(p.reminders.front());
  EXPECT_TRUE(any_why(p.reminders.front(), "cap 2 a day")) << describe(p.reminders.front());
}

TEST(Planner, WhyLinesWriteTimesAsMonthDayHourMinuteWithLeadingZeros) {
  // Times in why lines are written by hand (mm-dd hh:mm): single-digit months, days, hours and
  // minutes keep their zero, late ones do not gain one.
  const LocalTime march = at("2026-03-05 09:07");
  const Plan p = plan_all({make_order("A1", "tb_a", march)}, march);
  ASSERT_FALSE(p.reminders.empty());
  EXPECT_TRUE(any_why(p.reminders.front(), "pay-by 03-08 09:07 (auto-close)")) << describe(p.reminders.front());
  EXPECT_TRUE(any_why(p.reminders.front(), ", due 03-05 ")) << describe(p.reminders.front());
  const LocalTime december = at("2026-12-25 23:50");
  const Plan q = plan_all({make_order("A2", "tb_b", december)}, december);
  ASSERT_FALSE(q.reminders.empty());
  EXPECT_TRUE(any_why(q.reminders.front(), "pay-by 12-28 23:50 (auto-close)")) << describe(q.reminders.front());
  EXPECT_TRUE(any_why(q.reminders.front(), "moved to 12-26 08:00")) << describe(q.reminders.front());
}

TEST(Planner, LeavesAtLeastTwoHoursBetweenContactsWithTheSameBuyer) {
  // An SMS about another order went out at 10:00; the new order's IM (due 10:30) waits until 12:00.
  const LocalTime created = at("2026-11-23 10:00");
  ContactHistory h;
  h.add({"tb_a", Channel::sms, at("2026-11-23 10:00"), {"OLD"}, 2});
  const Plan p = plan_all({make_order("A1", "tb_a", created)}, created, h);
  ASSERT_FALSE(p.reminders.empty());
  EXPECT_EQ(p.reminders.front().channel, Channel::im);
  EXPECT_EQ(p.reminders.front().send_at, at("2026-11-23 12:00")) << describe(p.reminders.front());
  EXPECT_TRUE(any_why(p.reminders.front(), "min gap")) << describe(p.reminders.front());
}

TEST(Planner, NeverUsesTheSameChannelTwiceInARow) {
  // The last contact was an IM about another order: the next reminder is not an IM.
  const LocalTime created = at("2026-11-23 10:00");
  ContactHistory h;
  h.add({"tb_a", Channel::im, at("2026-11-23 07:50"), {"OLD"}, 1});
  const Plan p = plan_all({make_order("A1", "tb_a", created)}, created, h);
  ASSERT_FALSE(p.reminders.empty());
  EXPECT_NE(p.reminders.front().channel, Channel::im) << describe(p.reminders.front());
  EXPECT_TRUE(any_why(p.reminders.front(), "left out")) << describe(p.reminders.front());
  std::vector<PlannedReminder> all = p.reminders;
  PlannedReminder before;
  before.buyer = "tb_a";
  before.channel = Channel::im;
  before.send_at = at("2026-11-23 07:50");
  before.order_ids = {"OLD"};
  all.insert(all.begin(), before);
  expect_caps_hold(all);
}

TEST(Planner, UsesTheFallbackChannelWhenTheStepsChannelWouldRepeat) {
  // Big-ticket step 2 is a call with SMS as fallback; step 3 is an SMS with IM as fallback.
  // A buyer who opted out of calls gets the SMS at step 2, so step 3 falls back to IM.
  const LocalTime created = at("2026-11-23 09:00");
  ContactHistory h;
  h.opted_out["tb_big"] = {Channel::phone};
  const Plan p = plan_all({big_order("A1", "tb_big", created)}, created, h);
  ASSERT_EQ(p.reminders.size(), 3u) << describe(p.reminders);
  EXPECT_EQ(p.reminders[1].channel, Channel::sms);
  EXPECT_TRUE(any_why(p.reminders[1], "sms instead of phone")) << describe(p.reminders[1]);
  EXPECT_EQ(p.reminders[2].channel, Channel::im);
  EXPECT_TRUE(any_why(p.reminders[2], "im instead of sms")) << describe(p.reminders[2]);
  expect_caps_hold(p.reminders);
}

// ---------------------------------------------------------------------------------------
// Combining, skipping, opt-out

TEST(Planner, CombinesAllUnpaidOrdersOfOneBuyerIntoOneReminder) {
  const std::vector<Order> orders = {
      make_order("B2", "tb_combo", at("2026-11-23 14:26")), make_order("B1", "tb_combo", at("2026-11-23 14:20")),
      make_order("B3", "tb_combo", at("2026-11-23 15:10")), make_order("C1", "tb_other", at("2026-11-23 14:20"))};
  const Plan p = plan_all(orders, at("2026-11-23 14:30"));
  const auto rs = of_buyer(p, "tb_combo");
  ASSERT_FALSE(rs.empty());
  std::set<int> steps;
  for (const auto& r : rs) {
    EXPECT_EQ(r.order_ids, (std::vector<std::string>{"B1", "B2", "B3"})) << describe(r);
    EXPECT_EQ(r.amount, 3 * 19900);
    EXPECT_TRUE(steps.insert(r.step).second) << "one reminder per step, not one per order";
    EXPECT_TRUE(any_why(r, "combines 3 unpaid orders")) << describe(r);
  }
  for (const auto& r : of_buyer(p, "tb_other")) EXPECT_EQ(r.order_ids, std::vector<std::string>{"C1"});
  // The timing follows the oldest order.
  EXPECT_EQ(rs.front().send_at, at("2026-11-23 14:50"));
  EXPECT_TRUE(p.skipped.empty());
}

TEST(Planner, FoldsAnOrderPlacedAfterTheFirstReminderIntoTheNextOnes) {
  const LocalTime created = at("2026-11-23 10:00");
  const std::vector<Order> orders = {make_order("A1", "tb_a", created), make_order("A2", "tb_a", created + hours{1})};
  const Simulation sim = simulate(orders, created, created + days{3}, Minutes{15});
  ASSERT_EQ(sim.sent.size(), 3u) << describe(sim.sent);
  EXPECT_EQ(sim.sent[0].order_ids, std::vector<std::string>{"A1"});
  EXPECT_EQ(sim.sent[0].send_at, at("2026-11-23 10:30"));
  for (std::size_t i = 1; i < sim.sent.size(); ++i) {
    EXPECT_EQ(sim.sent[i].order_ids, (std::vector<std::string>{"A1", "A2"})) << describe(sim.sent[i]);
    EXPECT_EQ(sim.sent[i].step, static_cast<int>(i) + 1) << "the sequence goes on, it does not restart";
  }
  expect_caps_hold(sim.sent);
}

TEST(Planner, SkipsABuyerWhoPaidAnyOrderInTheLastHour) {
  const LocalTime now = at("2026-11-23 21:00");
  Order unpaid = make_order("A3", "悠悠的猫", at("2026-11-23 19:05"));
  Order paid = make_order("A4", "悠悠的猫", at("2026-11-23 20:31"));
  paid.status = OrderStatus::paid;
  paid.paid_at = at("2026-11-23 20:40");
  // Nothing within the hour: a plan up to 21:40 is empty and says why.
  Plan p = plan_between({unpaid, paid}, now, now, at("2026-11-23 21:40"));
  EXPECT_TRUE(p.reminders.empty()) << describe(p.reminders);
  const SkippedOrder* s = skipped(p, "A3");
  ASSERT_NE(s, nullptr);
  EXPECT_NE(s->reason.find("paid"), std::string::npos) << s->reason;
  EXPECT_NE(s->reason.find("A4"), std::string::npos) << s->reason;
  // The hour is over at 21:40: the daemon reminds A3 then, and a longer plan shows it, saying why so late.
  p = plan_all({unpaid, paid}, now);
  ASSERT_FALSE(p.reminders.empty());
  EXPECT_EQ(p.reminders.front().send_at, at("2026-11-23 21:40")) << describe(p.reminders);
  EXPECT_TRUE(any_why(p.reminders.front(), "the buyer paid order A4 at 11-23 20:40")) << describe(p.reminders);
  EXPECT_EQ(skipped(p, "A3"), nullptr);

  // Paid 70 minutes ago: the unpaid order is reminded again.
  paid.paid_at = at("2026-11-23 19:50");
  p = plan_all({unpaid, paid}, now);
  EXPECT_FALSE(p.reminders.empty());
  for (const auto& r : p.reminders) EXPECT_EQ(r.order_ids, std::vector<std::string>{"A3"});
}

TEST(Planner, NeverRemindsPaidOrClosedOrdersAndSaysWhy) {
  const LocalTime now = at("2026-11-23 21:00");
  Order paid = make_order("P1", "tb_a", at("2026-11-23 08:00"));
  paid.status = OrderStatus::paid;
  paid.paid_at = at("2026-11-23 09:00");
  Order closed = make_order("C1", "tb_b", at("2026-11-22 09:15"));
  closed.status = OrderStatus::closed;
  closed.closed_at = at("2026-11-22 11:02");
  Order open = make_order("U1", "tb_a", at("2026-11-23 18:00"));
  const Plan p = plan_all({paid, closed, open}, now);
  for (const auto& r : p.reminders) {
    EXPECT_EQ(r.order_ids, std::vector<std::string>{"U1"}) << describe(r);
  }
  ASSERT_NE(skipped(p, "P1"), nullptr);
  EXPECT_NE(skipped(p, "P1")->reason.find("paid"), std::string::npos);
  ASSERT_NE(skipped(p, "C1"), nullptr);
  EXPECT_NE(skipped(p, "C1")->reason.find("closed"), std::string::npos);
  EXPECT_EQ(skipped(p, "U1"), nullptr);
}

TEST(Planner, SendsNothingForAnOrderPastItsAutoClose) {
  const LocalTime now = at("2026-11-23 21:00");
  const Plan p = plan_all({make_order("L1", "tb_lazyfox", at("2026-11-20 20:30"))}, now);
  EXPECT_TRUE(p.reminders.empty());
  const SkippedOrder* s = skipped(p, "L1");
  ASSERT_NE(s, nullptr);
  EXPECT_NE(s->reason.find("auto-closed"), std::string::npos) << s->reason;
}

TEST(Planner, SendsNothingThatWouldArriveAfterTheOrderCloses) {
  // Placed 70 h ago at 01:00 -> closes at 23:00 tonight; the evening SMS and the last IM are
  // already done or not due before the close.
  const LocalTime created = at("2026-11-21 01:00");
  const Plan p = plan_all({make_order("A1", "tb_a", created)}, at("2026-11-23 23:00") - Minutes{1});
  for (const auto& r : p.reminders) EXPECT_LT(r.send_at, at("2026-11-23 23:00")) << describe(r);
  const Plan late = plan_all({make_order("A1", "tb_a", created)}, at("2026-11-23 21:59"));
  for (const auto& r : late.reminders) EXPECT_LT(r.send_at, r.pay_by);
}

TEST(Planner, HonoursTheCloseTimeTheFeedGives) {
  const LocalTime created = at("2026-11-23 10:00");
  Order o = make_order("A1", "tb_a", created);
  o.closed_at = created + hours{5};  // this shop closes unpaid orders after 5 h
  Plan p = plan_all({o}, created);
  ASSERT_FALSE(p.reminders.empty());
  for (const auto& r : p.reminders) {
    EXPECT_LT(r.send_at, created + hours{5}) << describe(r);
    EXPECT_EQ(r.pay_by, created + hours{5});
  }
  p = plan_all({o}, created + hours{6});
  EXPECT_TRUE(p.reminders.empty());
  ASSERT_NE(skipped(p, "A1"), nullptr);
  EXPECT_NE(skipped(p, "A1")->reason.find("feed close time"), std::string::npos) << skipped(p, "A1")->reason;
}

TEST(Planner, WaitsForAFreshOrderInsteadOfSkippingIt) {
  const LocalTime now = at("2026-11-23 21:00");
  const Plan p = plan_all({make_order("F1", "小鱼儿~", at("2026-11-23 20:50"))}, now);
  EXPECT_EQ(skipped(p, "F1"), nullptr);
  ASSERT_FALSE(p.reminders.empty());
  EXPECT_EQ(p.reminders.front().send_at, at("2026-11-23 21:20"));
}

TEST(Planner, PicksTheTemplateVariantForTheReasonInTheBuyerNote) {
  const LocalTime created = at("2026-11-23 10:00");
  Order price = make_order("A1", "tb_price", created);
  price.note = "有点贵，能便宜点吗";
  Order hesitating = office_order("A2", "tb_hesitating", created);
  hesitating.note = "再考虑一下，怕质量不好";
  Order plain = make_order("A3", "tb_plain", created);
  const Plan p = plan_all({price, hesitating, plain}, created);

  const auto rp = of_buyer(p, "tb_price");
  ASSERT_GE(rp.size(), 2u);
  EXPECT_EQ(rp[0].template_name, "default.price");
  EXPECT_EQ(rp[1].channel, Channel::sms);
  EXPECT_EQ(rp[1].template_name, "default.price");
  // No offer is claimed when the rules know of none: the neutral wording of the variant.
  EXPECT_EQ(rp[1].message.find("优惠"), std::string::npos) << rp[1].message;
  EXPECT_NE(rp[1].message.find("已为您保留到"), std::string::npos) << rp[1].message;
  EXPECT_TRUE(any_why(rp[1], "reason price")) << describe(rp[1]);
  EXPECT_EQ(rp.back().template_name, "last_call");  // no price variant: the base template

  const auto rh = of_buyer(p, "tb_hesitating");
  ASSERT_FALSE(rh.empty());
  EXPECT_EQ(rh[0].template_name, "office_worker.hesitating");
  EXPECT_NE(rh[0].message.find("7天无理由退货"), std::string::npos) << rh[0].message;

  const auto rn = of_buyer(p, "tb_plain");
  ASSERT_FALSE(rn.empty());
  EXPECT_EQ(rn[0].template_name, "default");
}

TEST(Planner, NeverUsesAChannelTheBuyerOptedOutOf) {
  const LocalTime created = at("2026-11-23 10:00");
  ContactHistory h;
  h.opted_out["tb_a"] = {Channel::sms};
  Plan p = plan_all({make_order("A1", "tb_a", created)}, created, h);
  ASSERT_FALSE(p.reminders.empty());
  for (const auto& r : p.reminders) EXPECT_NE(r.channel, Channel::sms) << describe(r);

  // Opted out of everything: nothing at all, and the skip says why.
  h.opted_out["tb_a"] = {Channel::im, Channel::sms, Channel::phone, Channel::email};
  p = plan_all({make_order("A1", "tb_a", created)}, created, h);
  EXPECT_TRUE(p.reminders.empty()) << describe(p.reminders);
  ASSERT_NE(skipped(p, "A1"), nullptr);
  EXPECT_NE(skipped(p, "A1")->reason.find("opted out"), std::string::npos) << skipped(p, "A1")->reason;
}

TEST(Planner, NeverTextsOrCallsABuyerWithoutAPhoneNumber) {
  const LocalTime created = at("2026-11-23 10:00");
  Order home = make_order("A1", "lily_2019", created);
  home.phone.clear();
  Order big = big_order("A2", "tb_big", created);
  big.phone = "  ";
  const Plan p = plan_all({home, big}, created);
  EXPECT_FALSE(p.reminders.empty());
  for (const auto& r : p.reminders) {
    EXPECT_NE(r.channel, Channel::sms) << describe(r);
    EXPECT_NE(r.channel, Channel::phone) << describe(r);
  }
}

TEST(Planner, TextsTheBuyerAtAPhoneNumberFromAnyOfTheirOrders) {
  const LocalTime created = at("2026-11-23 10:00");
  // Only the older order has a phone number.
  Order older = make_order("A1", "tb_a", created);
  Order newer = make_order("A2", "tb_a", created + Minutes{5});
  newer.phone.clear();
  Plan p = plan_all({older, newer}, created);
  bool texted = false;
  for (const auto& r : p.reminders) {
    if (r.channel == Channel::sms || r.channel == Channel::phone) {
      texted = true;
      EXPECT_EQ(r.contact, "13812345678") << describe(r);
    }
  }
  EXPECT_TRUE(texted) << describe(p.reminders);

  // Only the newer order has one.
  older.phone.clear();
  newer.phone = "13905171234";
  p = plan_all({older, newer}, created);
  texted = false;
  for (const auto& r : p.reminders) {
    if (r.channel == Channel::sms) {
      texted = true;
      EXPECT_EQ(r.contact, "13905171234") << describe(r);
    }
  }
  EXPECT_TRUE(texted) << describe(p.reminders);
}

TEST(Planner, EveryTextOrCallCarriesAContactAndIMCarriesNone) {
  const LocalTime day = at("2026-11-23 00:00");
  const Plan p = plan_between(mixed_population(day), day + hours{1}, day + hours{1}, day + days{5});
  for (const auto& r : p.reminders) {
    if (r.channel == Channel::im) {
      EXPECT_TRUE(r.contact.empty()) << describe(r);
    } else {
      EXPECT_FALSE(trim(r.contact).empty()) << describe(r);
    }
  }
}

TEST(Planner, SkipsHoldoutBuyersWithAReason) {
  Rules rules = default_rules();
  rules.holdout_percent = 50;
  const LocalTime created = at("2026-11-23 10:00");
  std::vector<Order> orders;
  for (int i = 0; i < 40; ++i)
    orders.push_back(make_order("H" + std::to_string(i), "buyer" + std::to_string(i), created));
  const Plan p = plan_all(orders, created, {}, rules);
  int held = 0;
  for (const auto& o : orders) {
    if (in_holdout(rules, o.buyer)) {
      ++held;
      EXPECT_TRUE(of_buyer(p, o.buyer).empty()) << o.buyer;
      const SkippedOrder* s = skipped(p, o.id);
      ASSERT_NE(s, nullptr) << o.id;
      EXPECT_NE(s->reason.find("holdout"), std::string::npos) << s->reason;
    } else {
      EXPECT_FALSE(of_buyer(p, o.buyer).empty()) << o.buyer;
    }
  }
  EXPECT_GT(held, 5);
  EXPECT_LT(held, 35);
}

TEST(Planner, GivesAHabitualNonPayerOneLightTouchOnly) {
  const LocalTime created = at("2026-11-23 10:00");
  Order c1 = make_order("C1", "tb_lazy", at("2026-11-10 10:00"));
  c1.status = OrderStatus::closed;
  Order c2 = make_order("C2", "tb_lazy", at("2026-11-15 10:00"));
  c2.status = OrderStatus::closed;
  const Plan p = plan_all({c1, c2, office_order("A1", "tb_lazy", created)}, created);
  ASSERT_EQ(p.reminders.size(), 1u) << describe(p.reminders);
  EXPECT_EQ(p.reminders[0].segment, "habitual_nonpayer");
  EXPECT_EQ(p.reminders[0].channel, Channel::im);
  EXPECT_EQ(p.reminders[0].template_name, "light");
}

TEST(Planner, DoesNotCountRefundedOrdersAsClosedUnpaid) {
  // 交易关闭 with a payment time: the buyer paid and was refunded, which is not 拍下不买.
  const LocalTime created = at("2026-11-23 10:00");
  Order r1 = make_order("R1", "tb_refunds", at("2026-11-10 10:00"));
  r1.status = OrderStatus::closed;
  r1.paid_at = at("2026-11-10 10:05");
  Order r2 = make_order("R2", "tb_refunds", at("2026-11-15 10:00"));
  r2.status = OrderStatus::closed;
  r2.paid_at = at("2026-11-15 10:05");
  const Plan p = plan_all({r1, r2, office_order("A1", "tb_refunds", created)}, created);
  ASSERT_FALSE(p.reminders.empty());
  EXPECT_EQ(p.reminders[0].segment, "office_worker") << describe(p.reminders[0]);
  EXPECT_GT(p.reminders.size(), 1u);
}

TEST(Planner, GreetsBuyersByNameAsTheirSegmentPrefers) {
  const LocalTime created = at("2026-11-23 10:00");
  Order student = student_order("A1", "tb_chenxi", created);
  student.receiver_name = "陈曦";
  Order compound = student_order("A2", "tb_ouyang", created);
  compound.receiver_name = "欧阳娜娜";
  Order home = make_order("A3", "lily_2019", created);
  home.receiver_name = "欧阳娜娜";
  Order latin = foreign_order("A4", "mike_hk", created);
  latin.receiver_name = "Mike Chen";
  const Plan p = plan_all({student, compound, home, latin}, created);
  auto first_message = [&](std::string_view buyer) {
    const auto rs = of_buyer(p, buyer);
    return rs.empty() ? std::string{} : rs.front().message;
  };
  EXPECT_EQ(first_message("tb_chenxi").rfind("陈同学", 0), 0u) << first_message("tb_chenxi");
  EXPECT_EQ(first_message("tb_ouyang").rfind("欧阳同学", 0), 0u) << first_message("tb_ouyang");
  EXPECT_EQ(first_message("lily_2019").rfind("欧阳娜娜", 0), 0u) << first_message("lily_2019");
  // A Latin name in full, never cut to its first word.
  EXPECT_EQ(first_message("mike_hk").rfind("Mike Chen您好", 0), 0u) << first_message("mike_hk");
}

TEST(Planner, EveryPlannedSmsFitsOneSegmentWithSignatureAndOptOut) {
  const LocalTime day = at("2026-11-23 00:00");
  auto orders = mixed_population(day);
  for (auto& o : orders) o.item = "北欧实木床头柜简约现代卧室小型储物柜收纳柜床边柜迷你款置物架加高加宽款";
  const Plan p = plan_between(orders, day + hours{1}, day + hours{1}, day + days{5});
  int sms = 0;
  for (const auto& r : p.reminders) {
    if (r.channel != Channel::sms) continue;
    ++sms;
    EXPECT_LE(char_count(r.message), kSmsSegmentChars) << r.message;
    EXPECT_EQ(r.message.rfind("【青禾家居】", 0), 0u) << r.message;
    EXPECT_NE(r.message.find("回T退订"), std::string::npos) << r.message;
  }
  EXPECT_GT(sms, 10);
}

TEST(Planner, TextsABuyerWithALongNameWithoutTheNameRatherThanDroppingTheSms) {
  const LocalTime created = at("2026-11-23 10:00");
  Order o = make_order("L1", "tb_xiaoming2019_long", created);
  o.receiver_name = "Christopher Wang";  // first name of 11 characters
  const Plan p = plan_all({o}, created);
  const PlannedReminder* sms = nullptr;
  for (const auto& r : p.reminders) {
    if (r.channel == Channel::sms) sms = &r;
  }
  ASSERT_NE(sms, nullptr) << "the SMS step must not be dropped";
  EXPECT_EQ(sms->message.find("Christopher"), std::string::npos) << sms->message;
  EXPECT_LE(char_count(sms->message), kSmsSegmentChars);
  EXPECT_TRUE(std::any_of(sms->why.begin(), sms->why.end(),
                          [](const std::string& w) { return w.find("without the name") != std::string::npos; }));
  // Only the SMS: the steps after it greet the buyer by name again.
  bool after_sms = false;
  int named = 0;
  for (const auto& r : p.reminders) {
    if (after_sms && r.channel != Channel::sms) {
      EXPECT_NE(r.message.find("Christopher"), std::string::npos) << r.message;
      ++named;
    }
    if (r.channel == Channel::sms) after_sms = true;
  }
  EXPECT_GT(named, 0) << "a step after the SMS";
}

TEST(Planner, StillRemindsANewOrderOfABuyerWhoseOldOrderReachedItsCap) {
  const LocalTime old_created = at("2026-11-21 10:00");
  const Order old_order = make_order("OLD", "tb_repeat", old_created);
  ContactHistory history;
  for (int i = 0; i < 3; ++i) {
    history.add({"tb_repeat", i % 2 ? Channel::sms : Channel::im, old_created + hours{1 + 8 * i}, {"OLD"}, i + 1});
  }
  const LocalTime now = at("2026-11-23 10:00");
  const Order new_order = make_order("NEW", "tb_repeat", now);
  const Plan p =
      plan_between({old_order, new_order}, now, now, now + days{3}, history, default_rules(), default_templates());
  ASSERT_FALSE(p.reminders.empty());
  for (const auto& r : p.reminders) {
    EXPECT_EQ(r.order_ids, std::vector<std::string>{"NEW"}) << "the capped order must not be reminded again";
  }
  const auto capped =
      std::find_if(p.skipped.begin(), p.skipped.end(), [](const SkippedOrder& s) { return s.order_id == "OLD"; });
  ASSERT_NE(capped, p.skipped.end());
  EXPECT_NE(capped->reason.find("cap 3 per order"), std::string::npos) << capped->reason;
}

// ---------------------------------------------------------------------------------------
// Plan window, explanations, determinism

TEST(Planner, ReturnsOnlyRemindersInTheWindowButCountsEarlierOnesForCaps) {
  const LocalTime day = at("2026-11-23 00:00");
  const auto orders = mixed_population(day);
  const LocalTime now = day + hours{1};
  const Plan full = plan_between(orders, now, now, day + days{5});
  const LocalTime from = day + days{1};
  const LocalTime to = day + days{2};
  const Plan window = plan_between(orders, now, from, to);
  std::vector<std::string> expected, got;
  for (const auto& r : full.reminders) {
    if (r.send_at >= from && r.send_at < to) expected.push_back(describe(r));
  }
  for (const auto& r : window.reminders) {
    EXPECT_GE(r.send_at, from);
    EXPECT_LT(r.send_at, to);
    got.push_back(describe(r));
  }
  ASSERT_FALSE(got.empty());
  EXPECT_EQ(got, expected);
}

TEST(Planner, ExplainsEveryReminderNamingTheSegmentAndTheStep) {
  const LocalTime day = at("2026-11-23 00:00");
  const Plan p = plan_between(mixed_population(day), day + hours{1}, day + hours{1}, day + days{5});
  ASSERT_FALSE(p.reminders.empty());
  for (const auto& r : p.reminders) {
    ASSERT_FALSE(r.why.empty());
    EXPECT_TRUE(any_why(r, "segment " + r.segment)) << describe(r);
    const auto* seg = default_rules().segment(r.segment);
    ASSERT_NE(seg, nullptr);
    EXPECT_TRUE(any_why(r, "step " + std::to_string(r.step) + " of " + std::to_string(seg->steps.size())))
        << describe(r);
    EXPECT_TRUE(any_why(r, "rules/segments.yaml:")) << "the why names the rule's file and line\n" << describe(r);
    for (const auto& w : r.why) EXPECT_FALSE(trim(w).empty());
  }
  // Every order not reminded has a reason.
  for (const auto& s : p.skipped) EXPECT_FALSE(s.reason.empty()) << s.order_id;
}

void expect_same_plan(const Plan& a, const Plan& b) {
  ASSERT_EQ(a.reminders.size(), b.reminders.size());
  for (std::size_t i = 0; i < a.reminders.size(); ++i) {
    const auto& x = a.reminders[i];
    const auto& y = b.reminders[i];
    EXPECT_EQ(x.send_at, y.send_at);
    EXPECT_EQ(x.buyer, y.buyer);
    EXPECT_EQ(x.order_ids, y.order_ids);
    EXPECT_EQ(x.segment, y.segment);
    EXPECT_EQ(x.channel, y.channel);
    EXPECT_EQ(x.step, y.step);
    EXPECT_EQ(x.template_name, y.template_name);
    EXPECT_EQ(x.message, y.message);
    EXPECT_EQ(x.contact, y.contact);
    EXPECT_EQ(x.why, y.why);
    EXPECT_EQ(x.idempotency_key(), y.idempotency_key());
  }
  ASSERT_EQ(a.skipped.size(), b.skipped.size());
  for (std::size_t i = 0; i < a.skipped.size(); ++i) {
    EXPECT_EQ(a.skipped[i].order_id, b.skipped[i].order_id);
    EXPECT_EQ(a.skipped[i].reason, b.skipped[i].reason);
  }
}

TEST(Planner, IsDeterministicWhateverTheOrderOfTheFeedRows) {
  const LocalTime day = at("2026-11-23 00:00");
  auto orders = mixed_population(day);
  Order paid = make_order("P1", "tb_paid", day + hours{20});
  paid.status = OrderStatus::paid;
  paid.paid_at = day + hours{21};
  orders.push_back(paid);
  const LocalTime now = day + hours{21} + Minutes{30};
  const Plan a = plan_between(orders, now, now, day + days{5});
  const Plan b = plan_between(orders, now, now, day + days{5});
  expect_same_plan(a, b);
  std::mt19937 rng(42);
  std::shuffle(orders.begin(), orders.end(), rng);
  expect_same_plan(a, plan_between(orders, now, now, day + days{5}));
}

TEST(Planner, KeepsIdempotencyKeysStableAcrossReplans) {
  const LocalTime created = at("2026-11-23 10:00");
  const std::vector<Order> orders = {make_order("A1", "tb_a", created), make_order("B1", "tb_b", created)};
  const Plan first = plan_all(orders, created);
  std::map<std::pair<std::string, int>, std::string> keys;
  std::set<std::string> distinct;
  for (const auto& r : first.reminders) {
    keys[{r.buyer, r.step}] = r.idempotency_key();
    distinct.insert(r.idempotency_key());
  }
  EXPECT_EQ(distinct.size(), first.reminders.size()) << "every decision has its own key";

  // Step 1 was sent; re-planned an hour later, the remaining steps keep their keys.
  ContactHistory h;
  for (const auto& r : first.reminders) {
    if (r.step == 1) h.add({r.buyer, r.channel, r.send_at, r.order_ids, r.step});
  }
  const Plan second = plan_all(orders, created + hours{1}, h);
  ASSERT_FALSE(second.reminders.empty());
  for (const auto& r : second.reminders) {
    EXPECT_NE(r.step, 1);
    EXPECT_EQ(r.idempotency_key(), (keys[{r.buyer, r.step}])) << describe(r);
  }

  // A newer order joining the reminder does not change what it is.
  std::vector<Order> more = orders;
  more.push_back(make_order("A2", "tb_a", created + hours{2}));
  const Plan third = plan_all(more, created + hours{2}, h);
  for (const auto& r : of_buyer(third, "tb_a")) {
    EXPECT_EQ(r.idempotency_key(), (keys[{r.buyer, r.step}])) << describe(r);
  }
}

}  // namespace
}  // namespace cuifu

namespace cuifu {
namespace {

// The key is hashed piece by piece; it must stay the hash of the joined text it always was
// (an outbox written by an older version matches its reminders by these keys).
TEST(Planner, IdempotencyKeyIsTheHashOfShopBuyerFirstOrderAndStep) {
  std::mt19937 rng(2);
  const std::vector<std::string> words = {"", "青禾家居旗舰店", "amy_1987", "4564592927847796543", "|", "张三"};
  for (int i = 0; i < 2000; ++i) {
    PlannedReminder r;
    r.shop = words[rng() % words.size()];
    r.buyer = words[rng() % words.size()];
    for (unsigned k = rng() % 3; k > 0; --k) r.order_ids.push_back(words[rng() % words.size()]);
    r.step = static_cast<int>(rng() % 2000) - 1000;
    const std::string who = r.shop.empty() ? r.buyer : fmt::format("{}|{}", r.shop, r.buyer);
    const std::string anchor = r.order_ids.empty() ? std::string{} : r.order_ids.front();
    ASSERT_EQ(r.idempotency_key(),
              fmt::format("cf-{:016x}", stable_hash(fmt::format("{}|{}|{}", who, anchor, r.step))));
  }
}

}  // namespace
}  // namespace cuifu
