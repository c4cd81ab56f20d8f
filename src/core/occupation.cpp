#include "core/occupation.h"

#include <fmt/compile.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <regex>
#include <utility>

#include "core/format_text.h"
#include "core/text.h"

namespace cuifu {

bool is_occupation(std::string_view name) {
  return std::find(std::begin(kOccupations), std::end(kOccupations), name) != std::end(kOccupations);
}

namespace {

constexpr std::size_t kMaxCueBytes = 512;

// Marks address text a longer word has taken (see guess_occupation).
constexpr char kTaken = '\x1f';

// The longest prefix of `s` of at most `max` bytes that ends on a UTF-8 character boundary.
std::string_view utf8_prefix(std::string_view s, std::size_t max) {
  if (s.size() <= max) return s;
  std::size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return s.substr(0, n);
}

// Full-width ASCII (８层, Ｂ座) as ASCII, so one pattern covers both. The same as decoding
// the text, mapping U+FF01..U+FF5E and U+3000, and encoding it again, done on the bytes: an
// address is nearly always well-formed UTF-8, and anything else takes that slow road.
std::string halfwidth_slow(std::string_view s) {
  std::u32string cps = utf8_decode(s);
  for (char32_t& c : cps) {
    if (c >= 0xFF01 && c <= 0xFF5E) c = c - 0xFF01 + 0x21;
    if (c == 0x3000) c = ' ';
  }
  return utf8_encode(cps);
}

std::string halfwidth(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
      ++i;
      continue;
    }
    const std::size_t len = (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (len == 0 || i + len > s.size()) return halfwidth_slow(s);
    char32_t cp = len == 2 ? (c & 0x1F) : len == 3 ? (c & 0x0F) : (c & 0x07);
    for (std::size_t k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return halfwidth_slow(s);
      cp = (cp << 6) | (cc & 0x3F);
    }
    // An overlong form would come back shorter from utf8_encode.
    const std::size_t canonical = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    if (canonical != len) return halfwidth_slow(s);
    if (cp >= 0xFF01 && cp <= 0xFF5E) {
      out.push_back(static_cast<char>(cp - 0xFF01 + 0x21));
    } else if (cp == 0x3000) {
      out.push_back(' ');
    } else {
      out.append(s.substr(i, len));
    }
    i += len;
  }
  return out;
}

// The reference CuePattern on std::regex (see the header).
class StdRegexPattern final : public CuePattern {
 public:
  explicit StdRegexPattern(const std::string& pattern) : re_(pattern, std::regex::ECMAScript | std::regex::optimize) {}
  std::optional<std::pair<std::size_t, std::size_t>> search(std::string_view text) const override {
    std::match_results<std::string_view::const_iterator> m;
    if (!std::regex_search(text.begin(), text.end(), m, re_)) return std::nullopt;
    const auto begin = static_cast<std::size_t>(m[0].first - text.begin());
    return std::make_pair(begin, begin + static_cast<std::size_t>(m.length(0)));
  }

 private:
  std::regex re_;
};

// Cues are tried words first, longest first, then patterns, in file order otherwise.
std::pair<bool, std::size_t> search_key(const OccupationCue& c) {
  return {c.is_pattern, c.is_pattern ? 0 : SIZE_MAX - c.text.size()};
}

std::size_t occupation_index(std::string_view occupation) {
  const auto it = std::find(std::begin(kOccupations), std::end(kOccupations), occupation);
  return static_cast<std::size_t>(it - std::begin(kOccupations));
}

// Reads a pattern for required_literals: a recursive descent over the subset it understands;
// `ok` false as soon as it meets anything else.
class LiteralReader {
 public:
  explicit LiteralReader(std::string_view p) : p_(p) {}

  RequiredLiterals run() {
    const std::vector<Sequence> alts = alternatives();
    if (!ok_ || i_ != p_.size()) return {};
    return required_of(alts);
  }

 private:
  struct Sequence {
    RequiredLiterals clauses;  // each must be met by a match of the sequence
    std::string literal;       // the whole sequence, when it is a plain string
    bool plain = true;
    std::string run;  // the plain characters read last, one after another: one clause
    void flush() {
      if (!run.empty()) clauses.push_back({std::exchange(run, {})});
    }
  };

  // What every match of one of `alts` must contain.
  static RequiredLiterals required_of(const std::vector<Sequence>& alts) {
    if (alts.size() == 1) return alts.front().clauses;
    std::vector<std::string> any;
    for (const auto& a : alts) {
      if (!a.plain || a.literal.empty()) return {};
      any.push_back(a.literal);
    }
    return {any};
  }

  static std::vector<std::string> digits() {
    std::vector<std::string> d;
    for (char c = '0'; c <= '9'; ++c) d.emplace_back(1, c);
    return d;
  }

  std::vector<Sequence> alternatives() {
    std::vector<Sequence> alts(1);
    while (ok_ && i_ < p_.size() && p_[i_] != ')') {
      if (p_[i_] == '|') {
        ++i_;
        alts.back().flush();
        alts.emplace_back();
      } else {
        atom(alts.back());
      }
    }
    alts.back().flush();
    return alts;
  }

  // The least number of times the atom before it must match: 1 without a quantifier.
  // `quantified` says whether there was one.
  std::size_t quantifier(bool& quantified) {
    quantified = false;
    if (i_ >= p_.size()) return 1;
    std::size_t min = 1;
    const char c = p_[i_];
    if (c == '?' || c == '*') {
      min = 0;
      ++i_;
    } else if (c == '+') {
      ++i_;
    } else if (c == '{') {
      std::size_t j = i_ + 1, n = 0;
      const std::size_t digits_from = j;
      while (j < p_.size() && p_[j] >= '0' && p_[j] <= '9') n = n * 10 + static_cast<std::size_t>(p_[j++] - '0');
      if (j == digits_from || j >= p_.size()) {
        ok_ = false;
        return 0;
      }
      if (p_[j] == ',') {
        ++j;
        while (j < p_.size() && p_[j] >= '0' && p_[j] <= '9') ++j;
      }
      if (j >= p_.size() || p_[j] != '}') {
        ok_ = false;
        return 0;
      }
      min = n;
      i_ = j + 1;
    } else {
      return 1;
    }
    quantified = true;
    if (i_ < p_.size() && p_[i_] == '?') ++i_;  // lazy: the same text can match
    return min;
  }

  void atom(Sequence& seq) {
    const auto c = static_cast<unsigned char>(p_[i_]);
    std::vector<std::string> set;  // one of these is in any match of the atom; empty: unknown
    std::string literal;           // the atom is this plain string
    bool plain = false;
    bool zero_width = false;
    RequiredLiterals inner;  // a group of one alternative: what it requires
    if (c == '(') {
      ++i_;
      bool look = false;
      if (i_ < p_.size() && p_[i_] == '?') {
        const std::string_view kind = p_.substr(i_, 2);
        if (kind == "?:") {
          i_ += 2;
        } else if (kind == "?=" || kind == "?!") {
          i_ += 2;
          look = true;
        } else {
          ok_ = false;
          return;
        }
      }
      const std::vector<Sequence> alts = alternatives();
      if (!ok_ || i_ >= p_.size() || p_[i_] != ')') {
        ok_ = false;
        return;
      }
      ++i_;
      if (look) {
        zero_width = true;
      } else if (alts.size() == 1) {
        inner = alts.front().clauses;
        plain = alts.front().plain;
        literal = alts.front().literal;
      } else {
        const RequiredLiterals any = required_of(alts);
        if (!any.empty()) set = any.front();
      }
    } else if (c == '[') {
      const std::size_t from = ++i_;
      if (i_ < p_.size() && p_[i_] == ']') {  // [] or []...]: read differently by the engines
        ok_ = false;
        return;
      }
      while (i_ < p_.size() && p_[i_] != ']') i_ += p_[i_] == '\\' ? 2 : 1;
      if (i_ >= p_.size()) {
        ok_ = false;
        return;
      }
      if (p_.substr(from, i_ - from) == "0-9") set = digits();
      ++i_;
    } else if (c == '\\') {
      if (i_ + 1 >= p_.size()) {
        ok_ = false;
        return;
      }
      const char e = p_[i_ + 1];
      i_ += 2;
      if (e == 'd') {
        set = digits();
      } else if (e == 'b' || e == 'B') {
        zero_width = true;
      } else if (e == 'D' || e == 'w' || e == 'W' || e == 's' || e == 'S') {
        // a class: nothing known
      } else if (static_cast<unsigned char>(e) < 0x80 && std::ispunct(static_cast<unsigned char>(e))) {
        literal.assign(1, e);
        plain = true;
      } else {
        ok_ = false;
        return;
      }
    } else if (c == '^' || c == '$') {
      ++i_;
      zero_width = true;
    } else if (c == '.') {
      ++i_;
    } else if (c == '*' || c == '+' || c == '?' || c == '{' || c == '}' || c == ']') {
      ok_ = false;
      return;
    } else {
      // One character: its UTF-8 bytes (the patterns read bytes: a quantifier after it applies
      // to its last byte only, so a quantified character is taken as unknown).
      const std::size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
      if (len == 0 || i_ + len > p_.size()) {
        ok_ = false;
        return;
      }
      for (std::size_t k = 1; k < len; ++k) {
        if ((static_cast<unsigned char>(p_[i_ + k]) & 0xC0) != 0x80) {
          ok_ = false;
          return;
        }
      }
      literal.assign(p_.substr(i_, len));
      plain = true;
      i_ += len;
      if (len > 1 && i_ < p_.size() && std::string_view("?*+{").find(p_[i_]) != std::string_view::npos) {
        literal.clear();
        plain = false;
      }
    }
    if (zero_width) {
      seq.flush();
      seq.plain = false;
      // A quantified assertion (allowed by some engines): nothing more to read from it.
      bool quantified = false;
      quantifier(quantified);
      return;
    }
    bool quantified = false;
    const std::size_t min = quantifier(quantified);
    if (!ok_) return;
    if (plain && !quantified) {  // joins the characters before it
      seq.run += literal;
      seq.literal += literal;
      return;
    }
    seq.flush();
    seq.plain = false;
    if (min >= 1) {
      if (!literal.empty() && plain) {
        seq.clauses.push_back({literal});
      } else if (!set.empty()) {
        seq.clauses.push_back(set);
      }
      for (auto& clause : inner) seq.clauses.push_back(clause);
    }
  }

  std::string_view p_;
  std::size_t i_ = 0;
  bool ok_ = true;
};

// A pattern's entry in a PatternFilter: its clauses as indices into `words`, adding new words.
PatternFilter::Entry filter_entry(const std::string& pattern, const CuePattern* re, std::vector<std::string>& words) {
  PatternFilter::Entry entry;
  entry.re = re;
  if (!re) return entry;
  for (const auto& clause : required_literals(pattern)) {
    std::vector<std::uint32_t> ids;
    for (const auto& w : clause) {
      const auto at = std::find(words.begin(), words.end(), w);
      ids.push_back(static_cast<std::uint32_t>(at - words.begin()));
      if (at == words.end()) words.push_back(w);
    }
    entry.clauses.push_back(std::move(ids));
  }
  return entry;
}

// Which of a PatternFilter's words a text holds, found when first asked for.
class FilterWords {
 public:
  explicit FilterWords(const PatternFilter* f) : f_(f) {}
  // False when the pattern of `entry`, which is `re`, cannot match `text`.
  bool may_match(const PatternFilter::Entry* entry, const CuePattern* re, std::string_view text) {
    if (!entry || entry->re != re || entry->clauses.empty()) return true;
    if (!found_) {
      thread_local std::vector<WordSet::Hit> hits;
      hits.clear();
      f_->words.find_all(text, hits);
      present_.assign(f_->words.size(), 0);
      for (const auto& h : hits) present_[h.word] = 1;
      for (const char c : text) {
        if (const std::int32_t w = f_->byte_word[static_cast<unsigned char>(c)]; w >= 0) present_[w] = 1;
      }
      found_ = true;
    }
    for (const auto& clause : entry->clauses) {
      if (std::none_of(clause.begin(), clause.end(), [&](std::uint32_t w) { return present_[w] != 0; })) return false;
    }
    return true;
  }
  void text_changed() { found_ = false; }

 private:
  const PatternFilter* f_;
  bool found_ = false;
  std::vector<char>& present_ = present();  // the thread's, kept from address to address

  static std::vector<char>& present() {
    thread_local std::vector<char> p;
    return p;
  }
};

}  // namespace

RequiredLiterals required_literals(std::string_view pattern) {
  return LiteralReader(pattern).run();
}

std::shared_ptr<const CuePattern> compile_cue_pattern(const std::string& pattern, std::string* error) {
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
    return std::make_shared<const StdRegexPattern>(pattern);
  } catch (const std::regex_error& e) {
    if (error) *error = format_text(FMT_COMPILE("not a valid pattern: {}"), e.what());
    return nullptr;
  }
}

std::string OccupationGuess::why_text() const {
  return format_text(FMT_COMPILE("{}"), fmt::join(why, "; "));
}

void sort_cues_for_search(OccupationRules& rules) {
  std::stable_sort(rules.cues.begin(), rules.cues.end(),
                   [](const OccupationCue& a, const OccupationCue& b) { return search_key(a) < search_key(b); });
  std::vector<std::string> words;
  words.reserve(rules.cues.size());
  bool one_pass = true;
  for (const auto& cue : rules.cues) {
    words.push_back(cue.is_pattern ? std::string() : cue.text);
    // A word holding the byte that marks taken text could match across it: only the word by
    // word search handles that.
    if (words.back().find(kTaken) != std::string::npos) one_pass = false;
  }
  rules.words = one_pass ? std::make_shared<const WordSet>(words) : nullptr;

  auto filter = std::make_shared<PatternFilter>();
  std::vector<std::string> literals;
  for (const auto& m : rules.masks) filter->masks.push_back(filter_entry(m.pattern, m.re.get(), literals));
  for (const auto& cue : rules.cues) {
    filter->cues.push_back(cue.is_pattern ? filter_entry(cue.text, cue.re.get(), literals) : PatternFilter::Entry{});
  }
  filter->byte_word.fill(-1);
  for (std::size_t w = 0; w < literals.size(); ++w) {
    if (literals[w].size() != 1) continue;
    filter->byte_word[static_cast<unsigned char>(literals[w][0])] = static_cast<std::int32_t>(w);
    literals[w].clear();  // found through byte_word, not the WordSet
  }
  filter->words = WordSet(literals);
  rules.filter = std::move(filter);
}

OccupationGuess guess_occupation(const OccupationRules& rules, std::string_view address, bool explain) {
  OccupationGuess g;
  // std::regex backtracks and recurses per character: the patterns read at most the first
  // kMaxCueBytes of an address (a real one is far shorter), so a freak feed field cannot stall
  // the planner or overflow its stack. (PCRE2 has its own limits; the cut keeps the results.)
  std::string text = halfwidth(utf8_prefix(address, kMaxCueBytes));
  // A pattern whose required words the text lacks is not searched (PatternFilter); the filter
  // is used only while it has an entry per mask and cue.
  const PatternFilter* filter =
      rules.filter && rules.filter->masks.size() == rules.masks.size() && rules.filter->cues.size() == rules.cues.size()
          ? rules.filter.get()
          : nullptr;
  FilterWords filter_words(filter);
  for (std::size_t mi = 0; mi < rules.masks.size(); ++mi) {
    const auto& m = rules.masks[mi];
    if (!m.re) continue;
    if (filter && !filter_words.may_match(&filter->masks[mi], m.re.get(), text)) continue;
    std::string out;
    std::size_t from = 0;
    bool any = false;
    for (auto found = m.re->search(text); found && found->second > found->first;
         found = m.re->search(std::string_view(text).substr(from))) {
      const std::size_t begin = from + found->first, end = from + found->second;
      if (explain) {
        g.why.push_back(format_text(FMT_COMPILE("{} not counted: {} ({})"),
                                    std::string_view(text).substr(begin, end - begin), m.why, m.source.str()));
      }
      out.append(text, from, begin - from);
      out += ' ';
      from = end;
      any = true;
    }
    if (any) {
      out.append(text, from);
      text = std::move(out);
      filter_words.text_changed();
    }
  }
  auto& scores = g.scores;
  // Words longest first, each taking the text it covers, so 产业园区 counts as 产业园 and not
  // also as 产业 and 园区, and 学生公寓 not also as 公寓. Patterns read the whole text. The
  // rules loader keeps the cues in that order (sort_cues_for_search); others are sorted here.
  // `words` with a slot per cue says sort_cues_for_search put them in order: no need to check
  // that again for every address.
  std::vector<const OccupationCue*> order;
  const std::size_t n = rules.cues.size();
  const bool in_order = (rules.words && rules.words->size() == n) ||
                        std::is_sorted(rules.cues.begin(), rules.cues.end(),
                                       [](const auto& a, const auto& b) { return search_key(a) < search_key(b); });
  if (!in_order) {
    for (const auto& cue : rules.cues) order.push_back(&cue);
    std::stable_sort(order.begin(), order.end(),
                     [](const OccupationCue* a, const OccupationCue* b) { return search_key(*a) < search_key(*b); });
  }
  // Either all the words' occurrences found in one pass (sorted by cue, then offset) and a map
  // of the bytes taken, or the text with the taken bytes overwritten, searched word by word.
  // Both give the same: a word counts when one of its occurrences covers no taken byte, and
  // then takes, left to right, each of its occurrences that still covers none.
  const bool one_pass = in_order && rules.words && rules.words->size() == n;
  thread_local std::vector<WordSet::Hit> hits;
  thread_local std::vector<char> taken;
  std::size_t next_hit = 0;
  std::string words_left;
  if (one_pass) {
    hits.clear();
    rules.words->find_all(text, hits);
    std::sort(hits.begin(), hits.end(), [](const WordSet::Hit& a, const WordSet::Hit& b) {
      return a.word != b.word ? a.word < b.word : a.at < b.at;
    });
    taken.assign(text.size(), 0);
  } else {
    words_left = text;
  }
  const auto visit = [&](std::size_t k) {
    const OccupationCue& cue = in_order ? rules.cues[k] : *order[k];
    std::string_view found;
    if (cue.is_pattern) {
      if (!cue.re) return;
      if (filter && in_order && !filter_words.may_match(&filter->cues[k], cue.re.get(), text)) return;
      const auto m = cue.re->search(text);
      if (m) found = std::string_view(text).substr(m->first, m->second - m->first);
    } else if (one_pass) {
      for (; next_hit < hits.size() && hits[next_hit].word == k; ++next_hit) {
        const auto at = static_cast<std::ptrdiff_t>(hits[next_hit].at);
        const auto end = at + static_cast<std::ptrdiff_t>(cue.text.size());
        if (std::find(taken.begin() + at, taken.begin() + end, 1) != taken.begin() + end) continue;
        std::fill(taken.begin() + at, taken.begin() + end, 1);
        found = cue.text;
      }
    } else if (contains(words_left, cue.text)) {
      found = cue.text;
      for (auto at = words_left.find(found); at != std::string::npos; at = words_left.find(found, at + 1)) {
        words_left.replace(at, found.size(), found.size(), kTaken);
      }
    }
    if (found.empty()) return;
    const std::size_t occ = occupation_index(cue.occupation);
    if (occ < scores.size()) scores[occ] += cue.weight;
    if (explain) {
      g.why.push_back(
          format_text(FMT_COMPILE("{} {:+d} {} ({})"), cue.occupation, cue.weight, found, cue.source.str()));
    }
  };
  if (one_pass) {
    // The cues in order are the words, then the patterns: only the words found need a look
    // (in the order of the cues, as the hits are sorted), then every pattern.
    const auto first_pattern =
        static_cast<std::size_t>(std::partition_point(rules.cues.begin(), rules.cues.end(),
                                                      [](const OccupationCue& c) { return !c.is_pattern; }) -
                                 rules.cues.begin());
    while (next_hit < hits.size() && hits[next_hit].word < first_pattern) visit(hits[next_hit].word);
    for (std::size_t k = first_pattern; k < n; ++k) visit(k);
  } else {
    for (std::size_t k = 0; k < n; ++k) visit(k);
  }
  std::string_view best;
  int best_score = 0;
  const auto rank = [&](std::string_view o) {
    const auto it = std::find(rules.prefer.begin(), rules.prefer.end(), o);
    return it - rules.prefer.begin();
  };
  // Equal scores that `prefer` leaves open go to the first occupation by name.
  static const auto by_name = [] {
    std::array<std::size_t, std::size(kOccupations)> order{};
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(),
              [](std::size_t a, std::size_t b) { return kOccupations[a] < kOccupations[b]; });
    return order;
  }();
  for (const std::size_t i : by_name) {
    const std::string_view occ = kOccupations[i];
    const int score = scores[i];
    if (score < rules.min_score) continue;
    if (best.empty() || score > best_score || (score == best_score && rank(occ) < rank(best))) {
      best = occ;
      best_score = score;
    }
  }
  g.occupation = best;
  if (explain) {
    g.why.push_back(best.empty() ? format_text(FMT_COMPILE("no occupation reaches {}"), rules.min_score)
                                 : format_text(FMT_COMPILE("{} wins with {}"), best, best_score));
  }
  return g;
}

}  // namespace cuifu
