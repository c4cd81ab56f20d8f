#include "core/occupation.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <utility>

#include "core/text.h"

namespace cuifu {

bool is_occupation(std::string_view name) {
  return std::find(std::begin(kOccupations), std::end(kOccupations), name) != std::end(kOccupations);
}

namespace {

constexpr std::size_t kMaxCueBytes = 512;

// The longest prefix of `s` of at most `max` bytes that ends on a UTF-8 character boundary.
std::string_view utf8_prefix(std::string_view s, std::size_t max) {
  if (s.size() <= max) return s;
  std::size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return s.substr(0, n);
}

// Full-width ASCII (８层, Ｂ座) as ASCII, so one pattern covers both.
std::string halfwidth(std::string_view s) {
  std::u32string cps = utf8_decode(s);
  for (char32_t& c : cps) {
    if (c >= 0xFF01 && c <= 0xFF5E) c = c - 0xFF01 + 0x21;
    if (c == 0x3000) c = ' ';
  }
  return utf8_encode(cps);
}

}  // namespace

std::shared_ptr<const std::regex> compile_cue_pattern(const std::string& pattern, std::string* error) {
  bool in_class = false;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '\\') {
      ++i;
      continue;
    }
    if (c == '[') in_class = true;
    if (c == ']') in_class = false;
    if (in_class && static_cast<unsigned char>(c) >= 0x80) {
      if (error) *error = "a [...] class cannot hold Chinese characters (it matches bytes); write (东|西) instead";
      return nullptr;
    }
  }
  try {
    return std::make_shared<const std::regex>(pattern, std::regex::ECMAScript | std::regex::optimize);
  } catch (const std::regex_error& e) {
    if (error) *error = fmt::format("not a valid pattern: {}", e.what());
    return nullptr;
  }
}

std::string OccupationGuess::why_text() const {
  return fmt::format("{}", fmt::join(why, "; "));
}

OccupationGuess guess_occupation(const OccupationRules& rules, std::string_view address) {
  OccupationGuess g;
  // std::regex backtracks and recurses per character: the patterns read at most the first
  // kMaxCueBytes of an address (a real one is far shorter), so a freak feed field cannot stall
  // the planner or overflow its stack.
  std::string text = halfwidth(utf8_prefix(address, kMaxCueBytes));
  for (const auto& m : rules.masks) {
    if (!m.re) continue;
    std::smatch sm;
    std::string out;
    std::string::const_iterator from = text.cbegin();
    bool any = false;
    while (std::regex_search(from, text.cend(), sm, *m.re) && sm.length(0) > 0) {
      g.why.push_back(fmt::format("{} not counted: {} ({})", sm.str(0), m.why, m.source.str()));
      out.append(from, sm[0].first);
      out += ' ';
      from = sm[0].second;
      any = true;
    }
    if (any) {
      out.append(from, text.cend());
      text = out;
    }
  }
  for (const auto& occ : kOccupations) g.scores[std::string(occ)] = 0;
  // Words longest first, each taking the text it covers, so 产业园区 counts as 产业园 and not
  // also as 产业 and 园区, and 学生公寓 not also as 公寓. Patterns read the whole text.
  std::vector<const OccupationCue*> order;
  for (const auto& cue : rules.cues) order.push_back(&cue);
  std::stable_sort(order.begin(), order.end(), [](const OccupationCue* a, const OccupationCue* b) {
    const auto key = [](const OccupationCue* c) {
      return std::pair<bool, std::size_t>(c->is_pattern, c->is_pattern ? 0 : SIZE_MAX - c->text.size());
    };
    return key(a) < key(b);
  });
  std::string words_left = text;
  for (const OccupationCue* c : order) {
    const OccupationCue& cue = *c;
    std::string found;
    if (cue.is_pattern) {
      std::smatch sm;
      if (cue.re && std::regex_search(text, sm, *cue.re)) found = sm.str(0);
    } else if (contains(words_left, cue.text)) {
      found = cue.text;
      for (auto at = words_left.find(found); at != std::string::npos; at = words_left.find(found, at + 1)) {
        words_left.replace(at, found.size(), found.size(), '\x1f');
      }
    }
    if (found.empty()) continue;
    g.scores[cue.occupation] += cue.weight;
    g.why.push_back(fmt::format("{} {:+d} {} ({})", cue.occupation, cue.weight, found, cue.source.str()));
  }
  std::string best;
  int best_score = 0;
  const auto rank = [&](const std::string& o) {
    const auto it = std::find(rules.prefer.begin(), rules.prefer.end(), o);
    return it - rules.prefer.begin();
  };
  for (const auto& [occ, score] : g.scores) {
    if (score < rules.min_score) continue;
    if (best.empty() || score > best_score || (score == best_score && rank(occ) < rank(best))) {
      best = occ;
      best_score = score;
    }
  }
  g.occupation = best;
  if (best.empty()) {
    g.why.push_back(fmt::format("no occupation reaches {}", rules.min_score));
  } else {
    g.why.push_back(fmt::format("{} wins with {}", best, best_score));
  }
  return g;
}

}  // namespace cuifu
