// Fuzzes the address reading: parse_address over the repository's gazetteer and
// guess_occupation with the cues of rules/address.yaml (an address is whatever the buyer
// typed), and the gazetteer loader on a fuzzed file. Input: one byte (even: the address, read
// with the repository's rules; odd: gazetteer.tsv \0 address), then the rest.
#include <algorithm>
#include <cstdint>
#include <iterator>

#include "core/address.h"
#include "core/occupation.h"
#include "fuzz_util.h"
#include "io/gazetteer_loader.h"
#include "repo_rules.h"

namespace {

void check_guess(const cuifu::OccupationRules& rules, const cuifu::OccupationGuess& g) {
  if (g.occupation.empty()) return;
  const auto* occupation = std::find(std::begin(cuifu::kOccupations), std::end(cuifu::kOccupations), g.occupation);
  cuifu::fuzz::check(occupation != std::end(cuifu::kOccupations), "the decided occupation is a known one",
                     g.why_text());
  const int score = g.scores[static_cast<std::size_t>(occupation - std::begin(cuifu::kOccupations))];
  cuifu::fuzz::check(score >= rules.min_score, "an occupation is decided only on a score of at least min_score",
                     g.why_text());
  for (const int points : g.scores) {
    cuifu::fuzz::check(points <= score, "the decided occupation has the highest score", g.why_text());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace cuifu;
  if (size == 0) return 0;
  const std::string_view input = fuzz::as_text(data + 1, size - 1);
  if (data[0] % 2 == 0) {
    const AddressRules& rules = fuzz::repo_rule_set().rules.address;
    fuzz::check(rules.gazetteer && !rules.gazetteer->empty(), "the repository's rules bring the gazetteer");
    parse_address(*rules.gazetteer, input).why_text();
    check_guess(rules.occupation, guess_occupation(rules.occupation, input));
    return 0;
  }
  const auto parts = fuzz::split_parts(input, 2);
  std::shared_ptr<const Gazetteer> gazetteer;
  try {
    gazetteer = load_gazetteer(fuzz::scratch().write("gazetteer.tsv", parts[0]));
  } catch (const LoadError& e) {
    fuzz::check(std::string_view(e.what()).find("gazetteer.tsv:") != std::string_view::npos,
                "a gazetteer error names file:line", e.what());
    return 0;
  }
  fuzz::check(gazetteer != nullptr, "a loaded gazetteer");
  parse_address(*gazetteer, parts[1]).why_text();
  return 0;
}
