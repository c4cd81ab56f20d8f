// The buyer's occupation read off the address: office, student or home, from weighted words
// and patterns that live in the rules (rules/address.yaml), each with its file:line.
//
// Pure; an OccupationRules value is immutable once loaded and may be shared across threads.
#pragma once

#include <map>
#include <memory>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "core/source_ref.h"

namespace cuifu {

// The occupations an address can show, in the rules' spelling.
inline constexpr std::string_view kOccupations[] = {"office", "student", "home"};
bool is_occupation(std::string_view name);

// One cue: a word (found as is) or a pattern (ECMAScript regex over the UTF-8 bytes) that
// adds `weight` to its occupation's score when the address holds it.
struct OccupationCue {
  std::string occupation;
  std::string text;  // the word, or the pattern as written
  bool is_pattern = false;
  int weight = 1;
  SourceRef source;
  std::shared_ptr<const std::regex> re;  // set for patterns
};

// Text cut out of the address before the cues are looked for: street and area names that
// only look like a cue (学院路 is a street, not a college).
struct OccupationMask {
  std::string pattern;
  std::string why;
  SourceRef source;
  std::shared_ptr<const std::regex> re;
};

struct OccupationRules {
  std::vector<OccupationMask> masks;
  std::vector<OccupationCue> cues;
  int min_score = 3;                // a score below this decides nothing
  std::vector<std::string> prefer;  // on equal scores, the first of these wins
  bool empty() const { return cues.empty(); }
};

struct OccupationGuess {
  std::string occupation;             // office, student, home; empty when no score reached min_score
  std::map<std::string, int> scores;  // per occupation, cues found
  std::vector<std::string> why;       // "office +3 大厦 (rules/address.yaml:30)", masks applied, the decision
  std::string why_text() const;
};

// Scores every occupation on `address` (after the masks) and picks the highest score of at
// least min_score; equal scores go to the first in `prefer`. Each cue counts once.
OccupationGuess guess_occupation(const OccupationRules& rules, std::string_view address);

// Compiles a rules pattern; empty optional + `error` when it is not a valid regex or uses a
// bracket class with non-ASCII characters (which std::regex would split into bytes).
std::shared_ptr<const std::regex> compile_cue_pattern(const std::string& pattern, std::string* error);

}  // namespace cuifu
