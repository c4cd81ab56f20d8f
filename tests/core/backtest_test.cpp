// The replay on small hand-made logs with known answers, the independent rule checker,
// and the uplift interval against a hand computation.
#include "core/backtest.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>

namespace cuifu {
namespace {

using std::chrono::days;
using std::chrono::hours;

LocalTime at(const char* text) {
  return *parse_local_time(text);
}

MessageTemplate tpl(Channel c, const std::string& name, const std::string& body) {
  MessageTemplate t;
  t.channel = c;
  t.name = name;
  std::string error;
  t.body = *compile_text(body, &error);
  t.body_source = body;
  if (c == Channel::email) t.subject = *compile_text("{shop}", &error);
  return t;
}

// The shop's defaults in miniature: one catch-all segment, IM at 30 min, SMS at 4 h in
// the evening, IM again at 24 h; quiet hours 22:00-08:00; auto-close after 72 h.
Rules test_rules() {
  Rules r;
  r.quiet_hours = {*parse_daily_window("22:00-08:00")};
  ChannelRule im;
  im.channel = Channel::im;
  im.windows = {*parse_daily_window("08:00-22:00")};
  ChannelRule sms;
  sms.channel = Channel::sms;
  sms.cost_milli = 45;
  sms.windows = {*parse_daily_window("12:00-13:30"), *parse_daily_window("17:00-22:00")};
  sms.sms_signature = "青禾";
  sms.sms_opt_out = "回T退订";
  r.channels[Channel::im] = im;
  r.channels[Channel::sms] = sms;
  SegmentRule seg;
  seg.name = "default";
  seg.steps.push_back({Minutes{30}, Channel::im, std::nullopt, {}, "t", {}});
  seg.steps.push_back({Minutes{4 * 60}, Channel::sms, Channel::im, {}, "t", {}});
  seg.steps.push_back({Minutes{24 * 60}, Channel::im, std::nullopt, {}, "t", {}});
  r.segments.push_back(seg);
  r.shop_name = "青禾家居";
  return r;
}

TemplateSet test_templates() {
  TemplateSet t;
  t.add(tpl(Channel::im, "t", "{salutation}您好，您在{shop}的订单还未付款。"));
  t.add(tpl(Channel::sms, "t", "{salutation}您好，订单还未付款"));
  return t;
}

Order order(const std::string& id, const std::string& buyer, const char* created) {
  Order o;
  o.id = id;
  o.buyer = buyer;
  o.receiver_name = "王芳";
  o.phone = "13800000000";
  o.amount = 10000;
  o.created_at = at(created);
  return o;
}

Order paid(Order o, const char* when) {
  o.status = OrderStatus::paid;
  o.paid_at = at(when);
  return o;
}

Order closed(Order o, const char* when) {
  o.status = OrderStatus::closed;
  o.closed_at = at(when);
  return o;
}

struct Fixture {
  Rules rules = test_rules();
  TemplateSet templates = test_templates();
  // A log written long after its orders (unless the test says when it ends), so every
  // order is followed until it is paid or closes.
  ReplayResult run(const std::vector<Order>& log, BacktestConfig config = {}) {
    if (!config.log_end) config.log_end = at("2026-12-31 00:00");
    return replay(log, rules, templates, config);
  }
  ReplayResult run_to_its_end(const std::vector<Order>& log) { return replay(log, rules, templates, BacktestConfig{}); }
};

const OrderOutcome& outcome(const ReplayResult& r, const std::string& id) {
  for (const auto& o : r.orders) {
    if (o.order_id == id) return o;
  }
  throw std::runtime_error("no order " + id);
}

TEST(Backtest, BuyerWhoPaysBeforeTheFirstStepGetsNothing) {
  Fixture f;
  const auto r = f.run({paid(order("A", "ann", "2026-11-23 10:00"), "2026-11-23 10:10")});
  EXPECT_TRUE(r.sent.empty());
  EXPECT_EQ(r.avoided, 1);  // the 10:30 reminder was planned, then the payment made it unnecessary
  const auto s = summarize(r, f.rules);
  EXPECT_EQ(s.paid, 1);
  EXPECT_EQ(s.paid_after_reminder, 0);
  EXPECT_EQ(s.missed, 0);
}

TEST(Backtest, UnpaidOrderGetsEveryStepAtAllowedTimes) {
  Fixture f;
  const auto r = f.run({order("A", "ann", "2026-11-23 10:00")});
  ASSERT_EQ(r.sent.size(), 3u);
  EXPECT_EQ(r.sent[0].send_at, at("2026-11-23 10:30"));
  EXPECT_EQ(r.sent[0].channel, Channel::im);
  EXPECT_EQ(r.sent[1].send_at, at("2026-11-23 17:00"));  // 14:00 is outside the SMS windows
  EXPECT_EQ(r.sent[1].channel, Channel::sms);
  EXPECT_EQ(r.sent[2].send_at, at("2026-11-24 10:00"));
  EXPECT_EQ(r.sent[2].step, 3);
  EXPECT_EQ(check_violations(r, f.rules).total(), 0);
}

TEST(Backtest, OrderGetsNothingAfterItCloses) {
  Fixture f;
  // Closed at 10:40: the 10:30 reminder goes out, the 17:00 one never does.
  const auto r = f.run({closed(order("A", "ann", "2026-11-23 10:00"), "2026-11-23 10:40")});
  ASSERT_EQ(r.sent.size(), 1u);
  EXPECT_EQ(r.sent[0].send_at, at("2026-11-23 10:30"));
  EXPECT_EQ(r.avoided, 0);  // closing is not paying
  const auto& o = outcome(r, "A");
  EXPECT_EQ(o.reminders, 1);
  EXPECT_FALSE(o.missed());
}

TEST(Backtest, UnpaidOrderWithoutCloseTimeClosesAfterAutoClose) {
  Fixture f;
  f.rules.auto_close = hours{5};
  const auto r = f.run({order("A", "ann", "2026-11-23 10:00")});
  // 10:30 IM; the SMS step (17:00) falls after the 15:00 close.
  ASSERT_EQ(r.sent.size(), 1u);
  EXPECT_EQ(*outcome(r, "A").closed_at, at("2026-11-23 15:00"));
}

TEST(Backtest, CapsHoldOverSeveralDays) {
  Fixture f;
  f.rules.caps.max_per_buyer_per_day = 2;
  f.rules.caps.max_per_order = 3;
  // One restless buyer: a new unpaid order every 5 hours for four days.
  std::vector<Order> log;
  LocalTime t = at("2026-11-23 08:00");
  for (int i = 0; i < 20; ++i, t += hours{5}) {
    Order o = order("A" + std::to_string(i), "ann", "2026-11-23 08:00");
    o.created_at = t;
    log.push_back(o);
  }
  const auto r = f.run(log);
  ASSERT_FALSE(r.sent.empty());
  std::map<LocalTime, int> per_day;
  std::map<std::string, int> per_order;
  for (std::size_t i = 0; i < r.sent.size(); ++i) {
    ++per_day[start_of_day(r.sent[i].send_at)];
    for (const auto& id : r.sent[i].order_ids) ++per_order[id];
    if (i > 0) {
      EXPECT_GE(r.sent[i].send_at - r.sent[i - 1].send_at, f.rules.caps.min_gap);
      if (r.sent[i].channel == r.sent[i - 1].channel) {
        // Only a new reminder sequence may repeat the channel: no order in common, and
        // beyond the look-back.
        for (const auto& id : r.sent[i].order_ids) {
          EXPECT_EQ(std::count(r.sent[i - 1].order_ids.begin(), r.sent[i - 1].order_ids.end(), id), 0) << id;
        }
        EXPECT_GE(r.sent[i].send_at - r.sent[i - 1].send_at, f.rules.caps.repeat_channel_lookback);
      }
    }
  }
  EXPECT_GE(per_day.size(), 3u);  // the per-order cap pauses the buyer until old orders close
  for (const auto& [day, n] : per_day) EXPECT_LE(n, 2) << format_local_date(day);
  for (const auto& [id, n] : per_order) EXPECT_LE(n, 3) << id;
  EXPECT_EQ(check_violations(r, f.rules).total(), 0);
}

TEST(Backtest, DailyCapBindsDayAfterDay) {
  Fixture f;
  f.rules.caps.max_per_buyer_per_day = 1;
  // An order every morning at 09:00 that closes unpaid at 23:00: without the cap the IM at
  // 09:30 and the SMS at 13:00 would both go out each day.
  std::vector<Order> log;
  for (int d = 0; d < 5; ++d) {
    Order o = order("D" + std::to_string(d), "ann", "2026-11-23 09:00");
    o.created_at += days{d};
    o.status = OrderStatus::closed;
    o.closed_at = o.created_at + hours{14};
    log.push_back(o);
  }
  const auto r = f.run(log);
  std::map<LocalTime, int> per_day;
  for (const auto& s : r.sent) ++per_day[start_of_day(s.send_at)];
  EXPECT_EQ(per_day.size(), 5u);
  for (const auto& [day, n] : per_day) EXPECT_EQ(n, 1) << format_local_date(day);
  EXPECT_EQ(check_violations(r, f.rules).total(), 0);

  f.rules.caps.max_per_buyer_per_day = 2;
  EXPECT_GT(f.run(log).sent.size(), 5u);
}

TEST(Backtest, HoldoutBuyersGetNothing) {
  Fixture f;
  f.rules.holdout_percent = 50;
  std::vector<Order> log;
  for (int i = 0; i < 40; ++i)
    log.push_back(order("O" + std::to_string(i), "buyer" + std::to_string(i), "2026-11-23 10:00"));
  const auto r = f.run(log);
  int held = 0, reminded = 0;
  for (const auto& o : r.orders) {
    EXPECT_EQ(o.holdout, in_holdout(f.rules, o.buyer));
    if (o.holdout) {
      ++held;
      EXPECT_EQ(o.reminders, 0) << o.buyer;
    } else {
      reminded += o.reminders > 0;
    }
  }
  for (const auto& s : r.sent) EXPECT_FALSE(in_holdout(f.rules, s.buyer)) << s.buyer;
  EXPECT_GT(held, 5);
  EXPECT_EQ(reminded, 40 - held);
  EXPECT_EQ(summarize(r, f.rules).holdout_orders, static_cast<std::size_t>(held));
}

TEST(Backtest, AvoidedAndMissedAreCountedRight) {
  Fixture f;
  const auto r = f.run({
      paid(order("A", "ann", "2026-11-23 10:00"), "2026-11-23 10:20"),    // pays before step 1: avoided
      order("B", "bob", "2026-11-23 10:00"),                              // never pays: 3 reminders
      closed(order("C", "cai", "2026-11-23 10:00"), "2026-11-23 10:05"),  // closes first: missed
      paid(order("D", "dan", "2026-11-23 10:00"), "2026-11-23 15:00"),    // pays between step 1 and 2
  });
  EXPECT_EQ(r.avoided, 1);  // A: paid before its 10:30 reminder; D was reminded, so it is paid after a reminder
  EXPECT_TRUE(outcome(r, "A").avoided);
  EXPECT_FALSE(outcome(r, "D").avoided);
  const auto s = summarize(r, f.rules);
  EXPECT_EQ(s.missed, 1);
  EXPECT_TRUE(outcome(r, "C").missed());
  EXPECT_EQ(s.paid_after_reminder, 1);
  EXPECT_TRUE(outcome(r, "D").paid_after_reminder());
  EXPECT_EQ(outcome(r, "B").reminders, 3);
  EXPECT_EQ(s.reminders, 4);
  EXPECT_EQ(s.reminded_orders, 2u);
  EXPECT_EQ(s.reminders_by_channel.at(Channel::sms), 1);
  EXPECT_EQ(s.cost_milli, 45);
  EXPECT_EQ(s.reminders_per_buyer_max, 3);
  EXPECT_EQ(s.by_hour[10].reminders, 3);
  EXPECT_EQ(s.violations.total(), 0);
}

// "avoided" counts orders, not reminders that were not sent: the buyer who pays two orders
// at once before their combined reminder avoided two; one reminded before paying avoided none.
TEST(Backtest, AvoidedCountsOrdersPaidBeforeAnyReminderReachedThem) {
  Fixture f;
  const auto both = f.run({paid(order("E", "eve", "2026-11-23 10:00"), "2026-11-23 10:25"),
                           paid(order("F", "eve", "2026-11-23 10:05"), "2026-11-23 10:25")});
  EXPECT_TRUE(both.sent.empty());
  EXPECT_EQ(both.avoided, 2);
  EXPECT_EQ(summarize(both, f.rules).avoided, 2);

  const auto reminded = f.run({paid(order("D", "dan", "2026-11-23 10:00"), "2026-11-23 15:00")});
  ASSERT_EQ(reminded.sent.size(), 1u);  // the 10:30 IM; the 17:00 SMS is not needed
  EXPECT_EQ(reminded.avoided, 0);
  EXPECT_EQ(summarize(reminded, f.rules).paid_after_reminder, 1);

  // Paid, avoided and paid after a reminder never overlap.
  const auto mixed = f.run({paid(order("A", "ann", "2026-11-23 10:00"), "2026-11-23 10:20"),
                            paid(order("D", "dan", "2026-11-23 10:00"), "2026-11-23 15:00"),
                            paid(order("G", "gus", "2026-11-23 10:00"), "2026-11-23 10:00")});
  const auto s = summarize(mixed, f.rules);
  EXPECT_EQ(s.avoided + s.paid_after_reminder, 2);
  EXPECT_FALSE(outcome(mixed, "G").avoided);  // paid at once: no reminder was ever planned
}

// An export written at 20:10 says nothing of the days after: an order still unpaid then
// gets no reminders replayed into them and is counted open, not missed or closed.
TEST(Backtest, OrdersStillOpenWhenTheLogEndsAreNotReplayedPastIt) {
  Fixture f;
  const std::vector<Order> log = {order("A", "ann", "2026-11-23 10:00"), order("C", "cai", "2026-11-23 20:05"),
                                  paid(order("B", "bob", "2026-11-23 20:00"), "2026-11-23 20:10")};
  const auto r = f.run_to_its_end(log);
  EXPECT_EQ(r.log_end, at("2026-11-23 20:10"));
  ASSERT_EQ(r.sent.size(), 2u);  // A's 10:30 IM and 17:00 SMS; not its IM the next morning
  for (const auto& s : r.sent) EXPECT_LT(s.send_at, r.log_end) << format_local_hm(s.send_at);
  EXPECT_TRUE(outcome(r, "A").open_at_end());
  EXPECT_FALSE(outcome(r, "A").closed_at.has_value());
  EXPECT_TRUE(outcome(r, "C").open_at_end());
  EXPECT_FALSE(outcome(r, "C").missed());  // its first reminder would have been due after the log ends
  const auto s = summarize(r, f.rules);
  EXPECT_EQ(s.open_at_end, 2);
  EXPECT_EQ(s.missed, 0);
  EXPECT_EQ(check_violations(r, f.rules).total(), 0);

  // Within the log an unpaid order still closes at auto-close: the platform closed it.
  f.rules.auto_close = hours{5};
  const auto closed = f.run_to_its_end(log);
  EXPECT_EQ(*outcome(closed, "A").closed_at, at("2026-11-23 15:00"));
  EXPECT_FALSE(outcome(closed, "A").open_at_end());
}

// Orders paid after a reminder are credited to that reminder's template and step.
TEST(Backtest, PaidAfterAReminderIsCountedPerTemplateAndStep) {
  Fixture f;
  const auto r = f.run({paid(order("D", "dan", "2026-11-23 10:00"), "2026-11-23 18:00"),  // after the 17:00 SMS
                        order("B", "bob", "2026-11-23 10:00")});
  const auto s = summarize(r, f.rules);
  ASSERT_EQ(s.by_step.count(2), 1u);
  EXPECT_EQ(s.by_step.at(1).reminders, 2);
  EXPECT_EQ(s.by_step.at(1).paid_after, 0);
  EXPECT_EQ(s.by_step.at(2).reminders, 2);
  EXPECT_EQ(s.by_step.at(2).paid_after, 1);
  EXPECT_EQ(s.by_step.at(2).paid_after_amount, 10000);
  EXPECT_EQ(s.by_step.at(2).cost_milli, 90);
  const auto sms = s.by_template.at({Channel::sms, "t"});
  EXPECT_EQ(sms.reminders, 2);
  EXPECT_EQ(sms.paid_after, 1);
  EXPECT_EQ(s.by_template.at({Channel::im, "t"}).paid_after, 0);
  EXPECT_DOUBLE_EQ(*cost_per_paid_order(s.cost_milli, s.paid_after_reminder), 0.09);
  EXPECT_FALSE(cost_per_paid_order(0, 0).has_value());
}

// `cuifu backtest` drops the texts of the reminders it replays: the same reminders and the
// same figures, without a message held per reminder.
TEST(Backtest, DroppingTheTextsKeepsEveryReminderAndFigure) {
  Fixture f;
  const std::vector<Order> log = {order("A", "ann", "2026-11-23 10:00"),
                                  paid(order("B", "bob", "2026-11-23 10:00"), "2026-11-23 18:00"),
                                  closed(order("C", "cai", "2026-11-23 11:00"), "2026-11-24 12:00")};
  BacktestConfig lean;
  lean.keep_texts = false;
  const auto with = f.run(log);
  const auto without = f.run(log, lean);
  ASSERT_EQ(with.sent.size(), without.sent.size());
  ASSERT_FALSE(with.sent.empty());
  for (std::size_t i = 0; i < with.sent.size(); ++i) {
    EXPECT_FALSE(with.sent[i].message.empty());
    EXPECT_TRUE(without.sent[i].message.empty());
    EXPECT_TRUE(without.sent[i].why.empty());
    EXPECT_EQ(with.sent[i].idempotency_key(), without.sent[i].idempotency_key());
    EXPECT_EQ(with.sent[i].send_at, without.sent[i].send_at);
  }
  const auto a = summarize(with, f.rules), b = summarize(without, f.rules);
  EXPECT_EQ(a.reminders, b.reminders);
  EXPECT_EQ(a.paid_after_reminder, b.paid_after_reminder);
  EXPECT_EQ(a.cost_milli, b.cost_milli);
  EXPECT_EQ(a.reminders_by_channel, b.reminders_by_channel);
  EXPECT_EQ(a.violations.total(), b.violations.total());
}

TEST(Backtest, BuyerWithTwoUnpaidOrdersGetsOneCombinedReminder) {
  Fixture f;
  const auto r = f.run({order("A", "ann", "2026-11-23 10:00"), order("B", "ann", "2026-11-23 10:10")});
  ASSERT_FALSE(r.sent.empty());
  EXPECT_EQ(r.sent[0].order_ids, (std::vector<std::string>{"A", "B"}));
  EXPECT_EQ(r.sent[0].send_at, at("2026-11-23 10:30"));
}

TEST(Backtest, OrdersOutsideFromToAreLeftOut) {
  Fixture f;
  BacktestConfig c;
  c.from = at("2026-11-23 00:00");
  c.to = at("2026-11-24 00:00");
  const auto r = f.run({order("A", "ann", "2026-11-22 10:00"), order("B", "bob", "2026-11-23 10:00"),
                        order("C", "cai", "2026-11-24 10:00")},
                       c);
  ASSERT_EQ(r.orders.size(), 1u);
  EXPECT_EQ(r.orders[0].order_id, "B");
  EXPECT_EQ(r.from, *c.from);
}

TEST(Backtest, ProgressIsReportedUpToTheEnd) {
  Fixture f;
  std::size_t last_done = 0, last_total = 0;
  BacktestConfig c;
  c.progress = [&](std::size_t d, std::size_t t, std::size_t) { last_done = d, last_total = t; };
  f.run({order("A", "ann", "2026-11-23 10:00"), order("B", "bob", "2026-11-23 10:00")}, c);
  EXPECT_EQ(last_done, 2u);
  EXPECT_EQ(last_total, 2u);
}

TEST(Violations, CheckerFindsEveryKindOfBreachOnItsOwn) {
  const Rules rules = test_rules();
  ReplayResult r;
  OrderOutcome o;
  o.order_id = "A";
  o.buyer = "ann";
  o.created_at = at("2026-11-23 09:00");
  o.paid_at = at("2026-11-24 09:00");
  r.orders.push_back(o);
  const auto sent = [&](const char* when, Channel c, int step) {
    PlannedReminder p;
    p.buyer = "ann";
    p.order_ids = {"A"};
    p.segment = "default";
    p.channel = c;
    p.step = step;
    p.send_at = at(when);
    r.sent.push_back(p);
  };
  sent("2026-11-23 23:00", Channel::im, 1);   // quiet hours (and outside IM's window)
  sent("2026-11-24 08:30", Channel::sms, 2);  // outside SMS windows
  sent("2026-11-24 08:40", Channel::sms,
       2);                                   // 10 minutes later, same channel: caps; and the 3rd/4th breach the day cap
  sent("2026-11-24 12:00", Channel::im, 3);  // after the payment at 09:00; per-day cap; per-order cap
  const Violations v = check_violations(r, rules);
  EXPECT_EQ(v.quiet_hours, 1);
  EXPECT_EQ(v.windows, 3);  // 23:00 IM, 08:30 SMS, 08:40 SMS
  EXPECT_EQ(v.caps, 2);     // 08:40 (gap, repeat), 12:00 (3rd that day, 4th for the order)
  EXPECT_EQ(v.paid_or_closed, 1);
  EXPECT_EQ(v.details.size(), 7u);
}

TEST(Violations, CapsAreCountedPerBuyerAndPerDayAndReportedBuyerByBuyer) {
  Rules rules = test_rules();
  rules.caps.max_per_buyer_per_day = 2;
  rules.caps.max_per_order = 10;
  rules.caps.min_gap = Minutes{60};
  rules.caps.no_repeat_channel = false;
  ReplayResult r;
  const auto sent = [&](const char* shop, const char* buyer, const char* order_id, const char* when) {
    PlannedReminder p;
    p.shop = shop;
    p.buyer = buyer;
    p.order_ids = {order_id};
    p.segment = "default";
    p.channel = Channel::im;
    p.send_at = at(when);
    r.sent.push_back(p);
  };
  // Sorted by time as a replay leaves them, two buyers interleaved. Two a day each is within
  // the cap; zoe's third on the 24th is over it, and so is ann's 10:30 (30 min after her 10:00).
  sent("b-shop", "zoe", "Z", "2026-11-23 10:00");
  sent("a-shop", "ann", "A", "2026-11-23 11:00");
  sent("b-shop", "zoe", "Z", "2026-11-23 15:00");
  sent("a-shop", "ann", "A", "2026-11-23 16:00");
  sent("b-shop", "zoe", "Z", "2026-11-24 09:00");
  sent("a-shop", "ann", "A", "2026-11-24 10:00");
  sent("a-shop", "ann", "A", "2026-11-24 10:30");
  sent("b-shop", "zoe", "Z", "2026-11-24 12:00");
  sent("b-shop", "zoe", "Z", "2026-11-24 18:00");
  const Violations v = check_violations(r, rules);
  EXPECT_EQ(v.caps, 2);
  EXPECT_EQ(v.total(), 2);
  // a-shop's buyer first, then b-shop's: a report lists them buyer by buyer.
  EXPECT_EQ(v.details, (std::vector<std::string>{
                           "2026-11-24 10:30 ann im: closer than the minimum gap to the previous contact",
                           "2026-11-24 18:00 zoe im: over the per-day cap",
                       }));
}

TEST(Uplift, IntervalMatchesAHandComputation) {
  // 100 reminded orders, 30 paid; 50 held out, 10 paid.
  // p1 = 0.3, p2 = 0.2, uplift = 0.1
  // se = sqrt(0.3*0.7/100 + 0.2*0.8/50) = sqrt(0.0021 + 0.0032) = sqrt(0.0053) = 0.0728011
  // ci95 = 0.1 ± 1.96 * 0.0728011 = 0.1 ± 0.1426902 = [-0.0426902, 0.2426902]
  std::vector<UpliftSample> samples;
  for (int i = 0; i < 100; ++i) samples.push_back({"default", "sms", true, false, i < 30, 1000});
  for (int i = 0; i < 50; ++i) samples.push_back({"default", "", false, true, i < 10, 1000});
  samples.push_back({"default", "sms", true, true, true, 1000});  // both: ignored
  samples.push_back({"default", "", false, false, true, 1000});   // neither: ignored
  const UpliftEstimate e = estimate_uplift(samples);
  ASSERT_TRUE(e.measurable) << e.reason;
  EXPECT_EQ(e.reminded, 100u);
  EXPECT_EQ(e.holdout, 50u);
  EXPECT_DOUBLE_EQ(e.reminded_paid_rate, 0.3);
  EXPECT_DOUBLE_EQ(e.holdout_paid_rate, 0.2);
  EXPECT_NEAR(e.uplift, 0.1, 1e-12);
  EXPECT_NEAR(e.ci_low, -0.0426902, 1e-6);
  EXPECT_NEAR(e.ci_high, 0.2426902, 1e-6);
  EXPECT_NEAR(e.recovered_amount, 0.1 * 100 * 1000, 1e-6);  // fen

  const UpliftReport report = measure_uplift(samples);
  ASSERT_TRUE(report.by_channel.count("sms"));
  EXPECT_NEAR(report.by_channel.at("sms").uplift, 0.1, 1e-12);
  EXPECT_NEAR(report.by_segment.at("default").ci_high, 0.2426902, 1e-6);
}

TEST(Uplift, TooFewOrdersIsNotMeasurable) {
  std::vector<UpliftSample> samples;
  for (int i = 0; i < 100; ++i) samples.push_back({"default", "im", true, false, i < 30, 0});
  for (int i = 0; i < 5; ++i) samples.push_back({"default", "", false, true, false, 0});
  const UpliftEstimate e = estimate_uplift(samples);
  EXPECT_FALSE(e.measurable);
  EXPECT_NE(e.reason.find("5 held out"), std::string::npos) << e.reason;
}

TEST(Percentile, NearestRank) {
  EXPECT_EQ(percentile_nearest_rank({}, 95), 0);
  EXPECT_EQ(percentile_nearest_rank({3}, 95), 3);
  std::vector<int> v;
  for (int i = 1; i <= 20; ++i) v.push_back(i);
  EXPECT_EQ(percentile_nearest_rank(v, 95), 19);  // rank ceil(0.95*20) = 19
  EXPECT_EQ(percentile_nearest_rank(v, 100), 20);
}

}  // namespace
namespace {

// The replay as it was first written: the buyer planned again at every log event and after
// every reminder sent, taking only the earliest reminder each time. Slow, and obviously
// what a daemon re-planning after each send would do.
std::vector<PlannedReminder> replay_one_send_at_a_time(const std::vector<Order>& orders, const Rules& rules,
                                                       const TemplateSet& templates) {
  struct Line {
    const Order* order;
    std::optional<LocalTime> paid, closed;
  };
  std::vector<Line> lines;
  std::vector<LocalTime> events;
  for (const auto& o : orders) {
    Line l{&o, o.paid_at,
           o.paid_at ? std::nullopt : std::optional<LocalTime>(o.closed_at.value_or(closes_at(o, rules)))};
    lines.push_back(l);
    events.push_back(o.created_at);
    events.push_back(l.paid ? *l.paid : *l.closed);
  }
  std::sort(events.begin(), events.end());
  events.erase(std::unique(events.begin(), events.end()), events.end());
  const auto visible_at = [&](LocalTime now) {
    std::vector<Order> v;
    for (const auto& l : lines) {
      if (l.order->created_at > now) continue;
      Order o = *l.order;
      o.paid_at.reset();
      o.closed_at.reset();
      o.status = OrderStatus::unpaid;
      if (l.paid && *l.paid <= now) o.status = OrderStatus::paid, o.paid_at = l.paid;
      if (l.closed && *l.closed <= now) o.status = OrderStatus::closed, o.closed_at = l.closed;
      v.push_back(o);
    }
    return v;
  };
  ContactHistory history;
  std::vector<PlannedReminder> sent;
  std::optional<PlannedReminder> pending;
  std::size_t next = 0;
  for (int guard = 0; guard < 200; ++guard) {
    const LocalTime next_event = next < events.size() ? events[next] : LocalTime::max();
    LocalTime now;
    if (pending && pending->send_at < next_event) {
      now = pending->send_at;
      history.add(
          {pending->buyer, pending->channel, pending->send_at, pending->order_ids, pending->step, pending->shop});
      sent.push_back(*pending);
    } else if (next < events.size()) {
      now = events[next++];
    } else {
      break;
    }
    pending.reset();
    const auto visible = visible_at(now);
    Plan p = plan(visible, history, rules, templates, {now, now, now + days{30}});
    if (!p.reminders.empty() && p.reminders.front().send_at >= now) pending = p.reminders.front();
  }
  return sent;
}

}  // namespace

// The replay plans a buyer once per log event and sends every reminder of that plan due
// before the next event; that must be exactly what planning again after every send gives,
// for buyers with one order or several, paying, closing, or paying one order of a group.
TEST(Backtest, ReplayingOncePerEventSendsWhatReplanningAfterEverySendWould) {
  Fixture f;
  std::vector<Order> log;
  const char* created[] = {"2026-11-23 07:50", "2026-11-23 10:00", "2026-11-23 13:10",
                           "2026-11-23 19:40", "2026-11-23 21:55", "2026-11-24 02:30"};
  for (int b = 0; b < 36; ++b) {
    const std::string buyer = "buyer" + std::to_string(b);
    const int n = 1 + b % 3;
    for (int k = 0; k < n; ++k) {
      Order o = order(buyer + "-" + std::to_string(k), buyer, created[(b + 2 * k) % 6]);
      o.created_at += Minutes{7 * k};
      switch ((b / 3 + k) % 4) {
        case 0: break;  // never paid: auto-closes
        case 1: o = paid(o, "2026-11-23 00:00"), o.paid_at = o.created_at + Minutes{50 + 40 * b}; break;
        case 2: o = closed(o, "2026-11-23 00:00"), o.closed_at = o.created_at + hours{5 + b}; break;
        case 3: o = paid(o, "2026-11-23 00:00"), o.paid_at = o.created_at + hours{26 + b % 5}; break;
      }
      log.push_back(o);
    }
  }
  const auto r = f.run(log);
  std::vector<PlannedReminder> expected;
  for (int b = 0; b < 36; ++b) {
    std::vector<Order> mine;
    for (const auto& o : log) {
      if (o.buyer == "buyer" + std::to_string(b)) mine.push_back(o);
    }
    const auto sent = replay_one_send_at_a_time(mine, f.rules, f.templates);
    expected.insert(expected.end(), sent.begin(), sent.end());
  }
  std::stable_sort(expected.begin(), expected.end(), [](const PlannedReminder& a, const PlannedReminder& b) {
    return a.send_at != b.send_at ? a.send_at < b.send_at : a.buyer < b.buyer;
  });
  ASSERT_EQ(r.sent.size(), expected.size());
  EXPECT_GT(r.sent.size(), 36u);
  for (std::size_t i = 0; i < expected.size(); ++i) {
    SCOPED_TRACE(expected[i].buyer + " " + format_local_hm(expected[i].send_at));
    EXPECT_EQ(r.sent[i].buyer, expected[i].buyer);
    EXPECT_EQ(r.sent[i].send_at, expected[i].send_at);
    EXPECT_EQ(r.sent[i].order_ids, expected[i].order_ids);
    EXPECT_EQ(r.sent[i].channel, expected[i].channel);
    EXPECT_EQ(r.sent[i].step, expected[i].step);
    EXPECT_EQ(r.sent[i].message, expected[i].message);
  }
}

}  // namespace cuifu
