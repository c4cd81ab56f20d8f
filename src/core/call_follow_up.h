// The planner's hook for call outcomes: what a phone call the desk recorded means for the
// buyer's next reminders. Kept apart from the planner so the rule reads in one place.
//
//   refused   -> the orders of that call get no more reminders (the buyer's other orders do);
//   will_pay  -> the next reminder waits calls.will_pay_grace after the call;
//   reached / no_answer -> the sequence goes on (the planner's "never the same channel twice
//                in a row" keeps the next step off the phone), and the "why" says so.
//
// Pure. An outcome counts from the moment it was recorded: a plan or a backtest at an
// earlier `now` does not see it.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/planner.h"
#include "core/rules.h"

namespace cuifu {

// Why `order_id` gets no more reminders: the latest outcome (recorded by `now`) of a call that
// covered it is `refused`. Empty when no such call.
std::string refused_on_call(const std::vector<ContactRecord>& contacts, const std::string& order_id, LocalTime now);

// What the latest call (with an outcome recorded by `now`) about any of `order_ids` means for
// the next step: not before `not_before`, and `why` for the reminder's explanation.
struct CallFollowUp {
  LocalTime not_before{};
  std::string why;
};
std::optional<CallFollowUp> follow_up_after_call(const CallRules& rules, const std::vector<ContactRecord>& contacts,
                                                 const std::vector<std::string>& order_ids, LocalTime now);

}  // namespace cuifu
