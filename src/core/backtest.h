// Backtest: replays a past order log through the one planner on a simulated clock, and
// measures what a rule set would have done.
//
// Pure: orders, rules and templates in, sent reminders and figures out. No I/O and no real
// clock (progress is reported through a callback the caller may time). Buyers are
// independent (every cap is per buyer or per order), so the replay runs buyer by buyer:
// for each buyer the events are its orders' creation, payment and closing (and its chat
// messages). At every event plan() is asked again with now = the event's time and the
// orders as they stood at that moment; every reminder it plans before the next event
// counts as sent and joins the buyer's contact history (the orders stand still in between,
// and a plan from a moment is what re-planning after each of its sends gives). An order paid
// while a reminder for it was planned but not yet due, before any reminder reached it, is
// avoided: the buyer paid without being contacted.
//
// The replay stops where the log does: at the latest time the log records (an order
// placed, paid or closed). An order still unpaid then is followed no further: the log
// cannot say whether its buyer paid the next day, so no reminder is replayed into days
// the log does not cover and the order counts as open at the end, not as missed.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/planner.h"

namespace cuifu {

struct BacktestConfig {
  // Replay the orders created in [from, to); unset: from the first order / past the last.
  std::optional<LocalTime> from;
  std::optional<LocalTime> to;
  // When the log was written; unset: the latest time it records (an order placed, paid or
  // closed). Nothing is replayed past it.
  std::optional<LocalTime> log_end;
  // Called now and then with (buyers replayed, buyers in all, orders replayed), from the
  // replaying threads, one call at a time. May be empty.
  std::function<void(std::size_t, std::size_t, std::size_t)> progress;
  // The shop's chat over the period, when known: at each replayed moment the planner sees
  // the messages written up to then, and each message of a buyer is a moment to plan that
  // buyer again. Not owned; outlives replay().
  const ChatLog* chat = nullptr;
  // Threads to replay on (buyers are independent); 0: one per core when there are enough
  // buyers to be worth it. The result is the same for any number.
  unsigned threads = 0;
  // Keep each sent reminder's message, subject, why lines, contact and receiver name. The
  // figures and the rule checker never read them: `cuifu backtest` drops them, so a log of a
  // million orders does not hold a million messages.
  bool keep_texts = true;
};

// One order of the log, and what the replay did to it. Times are the log's, made
// explicit: a paid order without a payment time paid when it was placed; an unpaid order
// without a close time closes at created + rules.auto_close if that is before the log's
// end, and is otherwise still open when the log ends (a closed one without a close time
// closed by the log's end at the latest).
struct OrderOutcome {
  std::string order_id;
  std::string buyer;
  std::string shop;     // the feed's 店铺名称; the buyer is (shop, buyer)
  std::string segment;  // of its first sent reminder, else as classified when placed
  Money amount = 0;
  LocalTime created_at{};
  std::optional<LocalTime> paid_at;    // set when the order was paid
  std::optional<LocalTime> closed_at;  // set when it closed unpaid
  bool holdout = false;                // its buyer is in the rules' holdout group
  int reminders = 0;                   // sent reminders that covered it
  std::optional<LocalTime> first_reminder_at;
  // Of the last reminder sent before it was paid or closed: what a payment after it is credited to.
  std::optional<Channel> last_channel;
  std::string last_template;
  int last_step = 0;
  bool avoided = false;  // paid while a reminder for it was planned, before any reached it

  bool paid_after_reminder() const { return paid_at && first_reminder_at && *paid_at > *first_reminder_at; }
  bool missed() const { return closed_at && reminders == 0; }
  bool open_at_end() const { return !paid_at && !closed_at; }
};

// Sent reminders that break a rule, found by checking each one against `rules` directly
// (not through the planner, so a planner bug shows up here).
struct Violations {
  int quiet_hours = 0;               // sent inside quiet hours
  int windows = 0;                   // outside its channel's windows or its step's windows, or on a disabled channel
  int caps = 0;                      // over the per-day or per-order cap, under the minimum gap, or a repeated channel
  int paid_or_closed = 0;            // sent to an order already paid or closed
  std::vector<std::string> details;  // one line per violation, for people
  int total() const { return quiet_hours + windows + caps + paid_or_closed; }
};

// The rule check of a replay's sent reminders (as check_violations makes it) and how many
// reminders each buyer reminded got (in no particular order), against `rules`; summarize()
// makes them itself when a result has none, or none for the rules it is given.
struct ReplayChecks {
  const Rules* rules = nullptr;
  Violations violations;
  std::vector<int> reminders_per_buyer;
};

struct ReplayResult {
  std::vector<PlannedReminder> sent;  // sorted by send time, then buyer
  std::vector<OrderOutcome> orders;   // sorted by creation time, then id
  int avoided = 0;                    // orders with OrderOutcome::avoided
  int plan_calls = 0;                 // plans made (none at a moment when all the buyer's orders are paid or closed)
  std::size_t buyers = 0;             // buyers replayed (summarize counts them in `orders` when 0)
  LocalTime from{};
  LocalTime to{};
  LocalTime log_end{};  // the latest time the whole log records; nothing is replayed past it
  // Made by replay() on its threads, buyer by buyer, against the rules it replayed.
  std::optional<ReplayChecks> checks;
};

// Replays `log`. Orders created outside [from, to) are left out altogether (they are
// neither replayed nor seen as the buyer's history); the log's end is taken over all of it.
ReplayResult replay(const std::vector<Order>& log, const Rules& rules, const TemplateSet& templates,
                    const BacktestConfig& config);

// Buyers are checked on `threads` threads (0: one per core when there are enough of them); the
// result is the same for any number.
Violations check_violations(const ReplayResult& result, const Rules& rules, unsigned threads = 0);

// ---- Honest lift -------------------------------------------------------------------

// One eligible order with what really happened to it: reminded (by cuifu, on `channel`)
// or held out, and whether it was paid.
struct UpliftSample {
  std::string segment;
  std::string channel;  // "" for held-out orders; "unknown" when the log does not say
  bool reminded = false;
  bool holdout = false;
  bool paid = false;
  Money amount = 0;
};

// Paid rate of the reminded minus paid rate of the held out, with a 95 % interval by the
// normal approximation for a difference of two proportions:
//   se = sqrt(p1(1-p1)/n1 + p2(1-p2)/n2),  ci95 = uplift ± 1.96 se.
struct UpliftEstimate {
  bool measurable = false;
  std::string reason;  // why not, when not measurable
  std::size_t reminded = 0, reminded_paid = 0;
  std::size_t holdout = 0, holdout_paid = 0;
  double reminded_paid_rate = 0, holdout_paid_rate = 0;
  double uplift = 0, ci_low = 0, ci_high = 0;
  double recovered_amount = 0;  // fen: uplift × amount of the reminded orders
};

struct UpliftReport {
  UpliftEstimate overall;
  std::map<std::string, UpliftEstimate> by_segment;  // reminded in the segment vs held out in it
  std::map<std::string, UpliftEstimate> by_channel;  // reminded on the channel vs all held out
};

// Fewer than this many orders in either group: not measurable (the normal approximation
// needs it, and a smaller test says nothing).
inline constexpr std::size_t kMinUpliftGroup = 20;

// Samples that are neither reminded nor held out, or both, are ignored.
UpliftEstimate estimate_uplift(const std::vector<UpliftSample>& samples);
UpliftReport measure_uplift(const std::vector<UpliftSample>& samples);

// ---- Figures ------------------------------------------------------------------------

struct SegmentFigures {
  int orders = 0;
  int reminded_orders = 0;
  int reminders = 0;
  int paid_after_reminder = 0;
  Money paid_after_reminder_amount = 0;
  int missed = 0;
  std::int64_t cost_milli = 0;
  std::map<Channel, int> reminders_by_channel;
};

struct ChannelFigures {
  int reminders = 0;
  std::int64_t cost_milli = 0;
  int paid_after = 0;  // orders paid after a reminder whose last reminder used this channel
  Money paid_after_amount = 0;
};

// Reminders of one template (or one step number, over all segments) and the orders paid
// after a reminder whose last reminder before the payment was one of them.
struct ReminderKindFigures {
  int reminders = 0;
  std::int64_t cost_milli = 0;
  int paid_after = 0;
  Money paid_after_amount = 0;
};

struct HourFigures {
  int reminders = 0;
  int payments = 0;  // orders paid in this hour of the day (from the log)
};

// Everything `cuifu backtest` reports about one rule set on one log.
struct BacktestFigures {
  std::size_t orders = 0, buyers = 0;
  std::size_t reminded_orders = 0, reminded_buyers = 0, holdout_orders = 0;
  int reminders = 0;
  std::map<Channel, int> reminders_by_channel;  // every channel, 0 when unused
  std::int64_t cost_milli = 0;
  int reminders_per_buyer_max = 0;
  int reminders_per_buyer_p95 = 0;  // nearest rank, over the buyers reminded at least once
  int paid_after_reminder = 0;
  Money paid_after_reminder_amount = 0;
  int paid = 0;
  int missed = 0;
  int avoided = 0;
  int open_at_end = 0;  // neither paid nor closed when the log ends
  Violations violations;
  std::map<std::string, SegmentFigures> by_segment;
  std::map<Channel, ChannelFigures> by_channel;
  std::map<std::pair<Channel, std::string>, ReminderKindFigures> by_template;  // (channel, template name)
  std::map<int, ReminderKindFigures> by_step;                                  // step number, 1-based
  std::array<HourFigures, 24> by_hour{};
  // Cumulative share of the orders paid (resp. reminded at least once) within h hours of
  // being placed, h = 0 .. auto_close hours.
  std::vector<double> paid_within_hours;
  std::vector<double> reminded_within_hours;
};

// `threads` as for check_violations, which it calls.
BacktestFigures summarize(const ReplayResult& result, const Rules& rules, unsigned threads = 0);

// Cost per order paid after a reminder (yuan), or nullopt when no order was.
std::optional<double> cost_per_paid_order(std::int64_t cost_milli, int paid_after);

// p in [0, 100]: the nearest-rank percentile of `values` (sorted or not); 0 when empty.
int percentile_nearest_rank(std::vector<int> values, int p);

}  // namespace cuifu
