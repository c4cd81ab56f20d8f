// Checks made right before a reminder goes out (on the loop thread, and again from a
// channel worker right before each attempt): the reminder's moment must still be an
// allowed one. A reminder that was due before a pause, an outage or a slow queue may only
// go out late if "late" is still outside quiet hours and inside its channel's windows.
#pragma once

#include <string>

#include <vector>

#include "core/clock_time.h"
#include "core/planner.h"
#include "core/rules.h"
#include "io/store.h"

namespace cuifu {

// Empty when `row` may be sent at `now` under `rules`; otherwise why not (quiet hours, the
// channel's windows, the step's windows, a channel that is disabled or not in the rules).
std::string send_time_problem(const Rules& rules, const OutboxRow& row, LocalTime now);

// Empty when sending `row` at `now` keeps the buyer within the caps, given `contacts`: the
// buyer's logged contacts plus the sends still in flight. Otherwise why not: the minimum gap,
// the same channel twice in a row, the daily cap, or an order's reminder cap.
std::string cap_problem(const Rules& rules, const std::vector<ContactRecord>& contacts, const OutboxRow& row,
                        LocalTime now);

}  // namespace cuifu
