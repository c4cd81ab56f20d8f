// When the call desk makes the day's calls. Phone reminders are costly and meant for the big
// orders, and a desk makes only so many calls an hour: the day's call tasks are spread over the
// phone channel's window at `per_hour` calls a clock hour, the biggest orders first, each no
// earlier than it is due and never in quiet hours. A suggestion for people (`cuifu calls`),
// not a planner decision: buyers are planned independently, the desk's hours are shared.
//
// Pure and deterministic: the same tasks give the same times.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/order.h"
#include "core/planner.h"
#include "core/rules.h"

namespace cuifu {

struct CallToSpread {
  std::string key;  // the task's idempotency key (ties in amount and due time go by it)
  Money amount = 0;
  LocalTime due_at{};
};

// One suggested call time per task, in the order given; nullopt when no free slot of the day is
// left at or after the task's due time (the desk is full: more calls than per_hour allows).
// Slots are `60 / per_hour` minutes apart from each full hour, inside `windows` (the whole day
// when empty) and outside `quiet`. REQUIRES: 1 <= per_hour <= 60.
std::vector<std::optional<LocalTime>> spread_calls(const std::vector<CallToSpread>& calls, LocalTime day,
                                                   const std::vector<DailyWindow>& windows,
                                                   const std::vector<DailyWindow>& quiet, int per_hour);

// What a set of phone reminders (a backtest's sends, a plan) asks of the call desk under
// `rules`: the call tasks, the days they fall on, the busiest day, and how many would find no
// slot on their day at calls.per_hour (spread as `cuifu calls` does).
struct CallDeskLoad {
  int tasks = 0;
  int days = 0;
  int busiest_day_tasks = 0;
  LocalTime busiest_day{};
  int without_slot = 0;
};
CallDeskLoad call_desk_load(const std::vector<PlannedReminder>& reminders, const Rules& rules);

}  // namespace cuifu
