// What came of a phone reminder: the call desk (催付专员) records each call's outcome, and the
// outcome decides what the buyer hears next (core/call_follow_up.h) and what the desk is
// measured on (`cuifu calls --summary`).
#pragma once

#include <optional>
#include <string_view>

namespace cuifu {

enum class CallOutcome {
  none,       // no outcome recorded (yet)
  reached,    // the buyer answered; no promise either way
  no_answer,  // nobody answered, or the line was busy
  will_pay,   // the buyer said they will pay
  refused,    // the buyer said they will not buy, or asked not to be reminded
};
inline constexpr CallOutcome kCallOutcomes[] = {CallOutcome::reached, CallOutcome::no_answer, CallOutcome::will_pay,
                                                CallOutcome::refused};

std::string_view to_string(CallOutcome o);  // "reached", "no_answer", ...; "none"
// One of reached, no_answer, will_pay, refused (also with '-' for '_'); nullopt otherwise.
std::optional<CallOutcome> parse_call_outcome(std::string_view text);

// True for the outcomes where somebody picked up (reached, will_pay, refused).
inline bool buyer_reached(CallOutcome o) {
  return o == CallOutcome::reached || o == CallOutcome::will_pay || o == CallOutcome::refused;
}

}  // namespace cuifu
