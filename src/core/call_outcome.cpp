#include "core/call_outcome.h"

#include <string>

namespace cuifu {

std::string_view to_string(CallOutcome o) {
  switch (o) {
    case CallOutcome::none: return "none";
    case CallOutcome::reached: return "reached";
    case CallOutcome::no_answer: return "no_answer";
    case CallOutcome::will_pay: return "will_pay";
    case CallOutcome::refused: return "refused";
  }
  return "none";
}

std::optional<CallOutcome> parse_call_outcome(std::string_view text) {
  std::string t(text);
  for (char& c : t) {
    if (c == '-') c = '_';
  }
  for (const CallOutcome o : kCallOutcomes) {
    if (to_string(o) == t) return o;
  }
  return std::nullopt;
}

}  // namespace cuifu
