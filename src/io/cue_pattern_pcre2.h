// Cue and mask patterns of rules/address.yaml compiled with PCRE2 (JIT where the machine has
// it): the same matches as the std::regex reference (core/occupation.h, CuePattern) for the
// ECMAScript subset the rules use, in a fraction of the time, and with a limit on backtracking
// so that a pattern that would backtrack exponentially gives up (no match) instead of stalling.
#pragma once

#include <memory>
#include <string>

#include "core/occupation.h"

namespace cuifu {

// The most backtracking steps one search may take before it counts as no match (a real
// address needs a few hundred).
inline constexpr unsigned kCuePatternMatchLimit = 200000;

// Compiles `pattern` in byte mode with ECMAScript's meaning of `$` (end of text only) and `.`
// (any byte but CR and LF). nullptr + `error` when PCRE2 refuses it. Does not apply the rules'
// own checks (compile_cue_pattern does those).
std::shared_ptr<const CuePattern> compile_pcre2_pattern(const std::string& pattern, std::string* error);

}  // namespace cuifu
