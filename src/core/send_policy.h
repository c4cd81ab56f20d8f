// The send policy: whether a reminder may go out at a given moment. One rule, one place
// (STYLE 13): quiet hours, channel and step windows, the per-buyer caps and "is this order
// still payable" are decided here, for the daemon's gate right before every attempt (first
// sends, retries and resends after a crash alike).
//
// The backtest's violation count (core/backtest.cpp) checks the same rules independently on
// purpose, so that a bug here cannot hide itself there.
//
// Pure: data and `now` in, an empty string (allowed) or the reason why not out.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/channel.h"
#include "core/clock_time.h"
#include "core/order.h"
#include "core/planner.h"
#include "core/rules.h"

namespace cuifu {

// A reminder as it goes out: what a sender sends and what the gate judges. No database
// state (attempts, outbox states) belongs here; the store's OutboxRow extends it.
struct Outgoing {
  std::string idempotency_key;
  std::string buyer;
  std::string shop;  // the feed's 店铺名称, "" when the feed has none; a buyer is (shop, buyer)
  std::vector<std::string> order_ids;
  Channel channel = Channel::im;
  int step = 1;
  std::string segment;
  std::string template_name;
  std::string message;
  std::string subject;
  std::string contact;  // unmasked; mask before logging
  std::string receiver_name;
  LocalTime send_at{};
};

// The minutes of a day [start, end) when a reminder may go out under the channel's windows and
// the step's windows (each: the whole day when empty), outside the quiet hours. The planner's
// slot search walks these intervals; send_time_problem() judges a minute by the same rules.
std::vector<std::pair<int, int>> allowed_minutes(const std::vector<DailyWindow>& quiet_hours,
                                                 const std::vector<DailyWindow>& channel_windows,
                                                 const std::vector<DailyWindow>& step_windows);

// The windows of step `step` (1-based) of `segment` that bind a reminder sent on `channel`: the
// step's own windows for its channel; none for a fallback channel (it keeps to its own windows)
// or a step the segment does not have.
const std::vector<DailyWindow>& step_windows(const SegmentRule* segment, int step, Channel channel);

// Empty when `r` may be sent at `now` under `rules`; otherwise why not (quiet hours, the
// channel's windows, the step's windows, a channel that is disabled or not in the rules).
std::string send_time_problem(const Rules& rules, const Outgoing& r, LocalTime now);

// Empty when sending `r` at `now` keeps the buyer (its shop's buyer) within its shop's caps,
// given `contacts`: the buyer's logged contacts plus the sends still in flight. Otherwise why
// not: the minimum gap, the same channel twice in a row within one reminder sequence (the
// planner's rule), the daily cap, or an order's reminder cap.
std::string cap_problem(const Rules& rules, const std::vector<ContactRecord>& contacts, const Outgoing& r,
                        LocalTime now);

// An order's state in the newest snapshot, as far as sending is concerned.
struct OrderView {
  OrderStatus status = OrderStatus::unpaid;
  std::optional<LocalTime> paid_at;
  LocalTime closes_at{};  // closes_at(order, rules): the feed's close time, a pre-sale window's end, or auto-close
};

// The view of `o` under `rules` (its auto-close time when the feed gives none).
OrderView order_view(const Order& o, const Rules& rules);

// Empty when order `id` in state `o` is still payable at `now`; otherwise why not: paid (and
// when), closed, or auto-closed by now.
std::string payable_problem(const std::string& id, const OrderView& o, LocalTime now);

// Empty when every order of `r` is in `orders` (the newest snapshot) and still payable at
// `now`; otherwise why not: paid (and when), closed, auto-closed by now, or gone.
std::string payable_problem(const std::map<std::string, OrderView>& orders, const Outgoing& r, LocalTime now);
// The same, with each order's view given by `view_of` (nullopt: not in the newest snapshot).
std::string payable_problem(const std::function<std::optional<OrderView>(const std::string& id)>& view_of,
                            const Outgoing& r, LocalTime now);

}  // namespace cuifu
