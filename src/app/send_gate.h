// Checks made right before a reminder goes out (on the loop thread, and again from a
// channel worker right before each attempt): the reminder's moment must still be an
// allowed one. A reminder that was due before a pause, an outage or a slow queue may only
// go out late if "late" is still outside quiet hours and inside its channel's windows.
#pragma once

#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "core/clock_time.h"
#include "core/planner.h"
#include "core/rules.h"
#include "io/store.h"

namespace cuifu {

// Opt-outs as the daemon checks them before sending: (shop, buyer, channel); shop "" is
// an opt-out from every shop.
using OptOutSet = std::set<std::tuple<std::string, std::string, Channel>>;
bool is_opted_out(const OptOutSet& opted_out, const OutboxRow& row);

// Empty when `row` may be sent at `now` under `rules`; otherwise why not (quiet hours, the
// channel's windows, the step's windows, a channel that is disabled or not in the rules).
std::string send_time_problem(const Rules& rules, const OutboxRow& row, LocalTime now);

// Empty when sending `row` at `now` keeps the buyer (its shop's buyer) within its shop's
// caps, given `contacts`: the buyer's logged contacts plus the sends still in flight.
// Otherwise why not: the minimum gap, the same channel twice in a row within one reminder
// sequence (the planner's rule), the daily cap, or an order's reminder cap.
std::string cap_problem(const Rules& rules, const std::vector<ContactRecord>& contacts, const OutboxRow& row,
                        LocalTime now);

}  // namespace cuifu
