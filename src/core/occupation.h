// The buyer's occupation read off the address: office, student or home, from weighted words
// and patterns that live in the rules (rules/address.yaml), each with its file:line.
//
// Pure; an OccupationRules value is immutable once loaded and may be shared across threads.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/source_ref.h"
#include "core/word_set.h"

namespace cuifu {

// The occupations an address can show, in the rules' spelling.
inline constexpr std::string_view kOccupations[] = {"office", "student", "home"};
bool is_occupation(std::string_view name);

// A compiled cue or mask pattern: an ECMAScript regex over the UTF-8 bytes (leftmost match,
// first alternative first, `\d` ASCII, `[^ ]` one byte). compile_cue_pattern below builds one
// on std::regex (the reference); io/cue_pattern_pcre2 builds the same on PCRE2's JIT, which the
// rules loader uses (std::regex was a fifth of the planning time and can backtrack forever).
// Immutable once built; search() may be called from any number of threads at once.
class CuePattern {
 public:
  virtual ~CuePattern() = default;
  // The first match in `text` as [begin, end) byte offsets, nullopt when there is none. `text`
  // is the whole subject: `^` and `\b` see its start as the start of the input. A search that
  // gives up (an implementation's backtracking limit) counts as no match.
  virtual std::optional<std::pair<std::size_t, std::size_t>> search(std::string_view text) const = 0;
};

// One cue: a word (found as is) or a pattern (see CuePattern) that adds `weight` to its
// occupation's score when the address holds it.
struct OccupationCue {
  std::string occupation;
  std::string text;  // the word, or the pattern as written
  bool is_pattern = false;
  int weight = 1;
  SourceRef source;
  std::shared_ptr<const CuePattern> re;  // set for patterns
};

// Text cut out of the address before the cues are looked for: street and area names that
// only look like a cue (学院路 is a street, not a college).
struct OccupationMask {
  std::string pattern;
  std::string why;
  SourceRef source;
  std::shared_ptr<const CuePattern> re;
};

// What every match of a cue or mask pattern must contain: each clause a list of byte strings
// one of which occurs in any text the pattern matches (a literal or a group of literal
// alternatives the pattern cannot do without; `\d` as the ten digits). Empty when nothing is
// known: the pattern must be searched. Read conservatively: anything but literals, groups,
// bracket classes, `.`, `^`, `$`, `\b`, `\d`-like escapes, escaped punctuation, lookaheads and
// quantifiers gives no clause at all.
using RequiredLiterals = std::vector<std::vector<std::string>>;
RequiredLiterals required_literals(std::string_view pattern);

// The masks' and pattern cues' required literals (see required_literals), looked for in one
// pass over an address, so that a pattern whose text cannot be there is not searched. Made by
// sort_cues_for_search; an entry is used only while its pattern is the one it was made from.
struct PatternFilter {
  WordSet words;  // every literal of every clause of two bytes or more (a one-byte one is "" here)
  std::array<std::int32_t, 256> byte_word{};  // the index of a one-byte literal, by its byte; -1: none
  struct Entry {
    const CuePattern* re = nullptr;                   // the pattern it was made from
    std::vector<std::vector<std::uint32_t>> clauses;  // indices into `words`
  };
  std::vector<Entry> masks, cues;  // by index in OccupationRules::masks and ::cues
};

struct OccupationRules {
  std::vector<OccupationMask> masks;
  std::vector<OccupationCue> cues;
  int min_score = 3;                // a score below this decides nothing
  std::vector<std::string> prefer;  // on equal scores, the first of these wins
  // Set by sort_cues_for_search: the cues' words (a pattern's slot is empty), looked for in one
  // pass over the address. guess_occupation uses it only while it still has one slot per cue;
  // call sort_cues_for_search again after changing the cues.
  std::shared_ptr<const WordSet> words;
  // Set by sort_cues_for_search: which patterns an address may match (see PatternFilter).
  std::shared_ptr<const PatternFilter> filter;
  bool empty() const { return cues.empty(); }
};

struct OccupationGuess {
  std::string occupation;  // office, student, home; empty when no score reached min_score
  // Per occupation, by its index in kOccupations: the weights of the cues found. (A cue of
  // another occupation counts for none: the rules loader refuses it.)
  std::array<int, std::size(kOccupations)> scores{};
  std::vector<std::string> why;  // "office +3 大厦 (rules/address.yaml:30)", masks applied, the decision
  std::string why_text() const;
};

// Puts the cues in the order guess_occupation tries them (words longest first, then the
// patterns; file order otherwise), which spares it sorting them for every address, and builds
// `words` from them.
void sort_cues_for_search(OccupationRules& rules);

// Scores every occupation on `address` (after the masks) and picks the highest score of at
// least min_score; equal scores go to the first in `prefer`. Each cue counts once.
// `explain` false: `why` stays empty (occupation and scores are the same).
OccupationGuess guess_occupation(const OccupationRules& rules, std::string_view address, bool explain = true);

// Compiles a rules pattern on std::regex; nullptr + `error` when it is not a valid regex or
// uses a bracket class with non-ASCII characters (which would match single bytes).
std::shared_ptr<const CuePattern> compile_cue_pattern(const std::string& pattern, std::string* error);

}  // namespace cuifu
