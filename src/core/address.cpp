#include "core/address.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <bitset>
#include <map>
#include <optional>
#include <set>

#include "core/text.h"

namespace cuifu {

std::string_view to_string(PlaceKind k) {
  switch (k) {
    case PlaceKind::province: return "province";
    case PlaceKind::city: return "city";
    case PlaceKind::county: return "county";
    case PlaceKind::outside: return "outside";
    case PlaceKind::country: return "country";
  }
  return "?";
}

namespace {

bool is_latin_key(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool is_mainland(PlaceKind k) {
  return k == PlaceKind::province || k == PlaceKind::city || k == PlaceKind::county;
}

// Byte length of the UTF-8 sequence starting with `lead`.
std::size_t utf8_len(unsigned char lead) {
  if (lead < 0x80) return 1;
  if ((lead >> 5) == 0x6) return 2;
  if ((lead >> 4) == 0xE) return 3;
  if ((lead >> 3) == 0x1E) return 4;
  return 1;
}

bool is_cjk(char32_t c) {
  return (c >= 0x3400 && c <= 0x9FFF) || (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x20000 && c <= 0x2FFFF);
}

// Spaces and punctuation between the parts of an address.
const std::vector<std::string_view>& separators() {
  static const std::vector<std::string_view> s = {" ",  "\t", ",",  ";",  ":",  "/",  "-", "(", ")",  "，",
                                                  "、", "：", "；", "（", "）", "　", "·", "|", "\r", "\n"};
  return s;
}

// The bytes a separator can start with: at any other byte there is none to skip.
const std::array<bool, 256>& separator_leads() {
  static const std::array<bool, 256> leads = [] {
    std::array<bool, 256> l{};
    for (auto sep : separators()) l[static_cast<unsigned char>(sep.front())] = true;
    return l;
  }();
  return leads;
}

std::size_t skip_separators(std::string_view a, std::size_t pos) {
  const auto& leads = separator_leads();
  bool moved = true;
  while (moved && pos < a.size()) {
    moved = false;
    if (!leads[static_cast<unsigned char>(a[pos])]) break;
    for (auto sep : separators()) {
      if (a.substr(pos, sep.size()) == sep) {
        pos += sep.size();
        moved = true;
        break;
      }
    }
  }
  return pos;
}

bool at_separator(std::string_view a, std::size_t pos) {
  if (pos == 0) return true;
  for (auto sep : separators()) {
    if (pos >= sep.size() && a.substr(pos - sep.size(), sep.size()) == sep) return true;
  }
  return false;
}

// The first two bytes of `s` (at least two) as a number.
std::size_t first_two(std::string_view s) {
  return (std::size_t{static_cast<unsigned char>(s[0])} << 8) | static_cast<unsigned char>(s[1]);
}

// A place name followed by one of these is a street or a building named after the place
// (武汉市香港路, 台湾街, 南京东路), not the place.
bool followed_by_street(std::string_view a, std::size_t pos) {
  static const std::vector<std::string_view> after = {"路",   "街",   "道",   "巷",   "弄",   "大道", "大街", "东路",
                                                      "西路", "南路", "北路", "中路", "花园", "广场", "商城", "新村"};
  // The first two bytes of the words (each is at least two): after a place name there is
  // mostly a space or a character no word starts with (asked at every place spelling tried,
  // ~46 times an address).
  static const std::bitset<65536> starts = [] {
    std::bitset<65536> b;
    for (const auto s : after) b.set(first_two(s));
    return b;
  }();
  const std::string_view rest = a.substr(pos);
  if (rest.size() < 2 || !starts.test(first_two(rest))) return false;
  return std::any_of(after.begin(), after.end(), [&](std::string_view s) { return rest.substr(0, s.size()) == s; });
}

// Characters that mainland addresses do not use but Hong Kong and Taiwan ones do.
bool written_in_traditional(std::string_view a) {
  static const std::vector<std::string_view> chars = {"區", "號", "樓", "龍", "灣", "臺",
                                                      "縣", "鄉", "鎮", "廣", "層", "廈"};
  return std::any_of(chars.begin(), chars.end(), [&](std::string_view c) { return contains(a, c); });
}

struct Match {
  std::size_t length = 0;
  std::vector<Gazetteer::Hit> hits;
};

// The longest spelling at `pos` (not followed by a street word), its hits filtered by `keep`.
template <class Keep>
std::optional<Match> match_at(const Gazetteer& g, std::string_view a, std::size_t pos, Keep keep) {
  for (const std::size_t len : g.key_lengths_at(a.substr(pos))) {
    if (pos + len > a.size()) continue;
    const auto* hits = g.lookup(a.substr(pos, len));
    if (!hits || followed_by_street(a, pos + len)) continue;
    Match m{len, {}};
    for (const auto& h : *hits) {
      if (keep(g.places()[h.index])) m.hits.push_back(h);
    }
    if (m.hits.empty()) continue;
    // A short form written with its level (长阳县, 浦东区): the level word belongs to the name.
    const bool any_full = std::any_of(m.hits.begin(), m.hits.end(), [](const auto& h) { return h.full_name; });
    if (!any_full) {
      for (std::string_view level : {"省", "市", "区", "县", "旗", "州", "盟"}) {
        if (a.substr(pos + len, level.size()) == level) {
          m.length += level.size();
          break;
        }
      }
    }
    return m;
  }
  return std::nullopt;
}

int level(PlaceKind k) {
  return k == PlaceKind::province ? 0 : k == PlaceKind::city ? 1 : 2;
}

// Narrows mainland hits: full names before short forms, then the highest level.
std::vector<std::size_t> best_mainland(const Gazetteer& g, const std::vector<Gazetteer::Hit>& hits) {
  std::vector<std::size_t> out;
  const bool any_full = std::any_of(hits.begin(), hits.end(), [](const auto& h) { return h.full_name; });
  int best = 3;
  for (const auto& h : hits) {
    if (any_full && !h.full_name) continue;
    best = std::min(best, level(g.places()[h.index].kind));
  }
  for (const auto& h : hits) {
    if (any_full && !h.full_name) continue;
    if (level(g.places()[h.index].kind) == best) out.push_back(h.index);
  }
  return out;
}

class Parser {
 public:
  Parser(const Gazetteer& g, std::string_view a, bool explain) : g_(g), a_(a), explain_(explain) {}

  ParsedAddress run() {
    if (a_.empty()) {
      if (explain_) r_.why.push_back("empty address: treated as mainland China");
      return std::move(r_);
    }
    const bool has_cjk = utf8_any_of(a_, is_cjk);
    if (!has_cjk) return latin();
    std::size_t pos = skip_separators(a_, 0);
    for (std::string_view china : {"中华人民共和国", "中國", "中国"}) {
      if (a_.substr(pos, china.size()) == china && !followed_by_street(a_, pos + china.size())) {
        pos = skip_separators(a_, pos + china.size());
        if (explain_) r_.why.push_back(fmt::format("{} skipped", china));
        break;
      }
    }
    const auto first = match_at(g_, a_, pos, [](const Place&) { return true; });
    if (first && leading(*first, pos)) return std::move(r_);
    return unrecognised();
  }

 private:
  const Place& place(std::size_t i) const { return g_.places()[i]; }
  std::string spelled(std::size_t pos, std::size_t len) const { return std::string(a_.substr(pos, len)); }

  // The address starts with a known place. Returns false when it should be read as unrecognised.
  bool leading(const Match& m, std::size_t pos) {
    std::vector<Gazetteer::Hit> mainland, outside;
    for (const auto& h : m.hits) (is_mainland(place(h.index).kind) ? mainland : outside).push_back(h);
    const std::string written = spelled(pos, m.length);
    if (!outside.empty()) {
      // A name both places use (九龙, 大埔) is outside only with more evidence of it.
      const bool outside_wins = mainland.empty() || written_in_traditional(a_) || other_outside(pos + m.length);
      if (outside_wins) {
        const Place& p = place(outside.front().index);
        if (p.kind == PlaceKind::country && p.code == "CN") return false;
        mark_overseas(p, written, "starts with");
        return true;
      }
    }
    std::vector<std::size_t> cands = best_mainland(g_, mainland);
    std::size_t next = skip_separators(a_, pos + m.length);
    if (cands.size() > 1) cands = disambiguate(cands, next);
    if (cands.size() > 1) {
      ambiguous(cands, written);
      r_.rest = trim(a_.substr(next));
      return true;
    }
    const Place* cur = &place(cands.front());
    note(*cur, written);
    // Deeper levels, each inside the one before (北京 北京市 朝阳区; 浙江 鄞州区).
    while (next < a_.size()) {
      const Place* outer = cur;
      const auto m2 = match_at(g_, a_, next, [&](const Place& p) { return g_.inside(p, *outer); });
      if (!m2) break;
      std::vector<std::size_t> c2 = best_mainland(g_, m2->hits);
      const std::string w2 = spelled(next, m2->length);
      const std::size_t after = skip_separators(a_, next + m2->length);
      if (c2.size() > 1) c2 = disambiguate(c2, after);
      if (c2.size() > 1) {
        ambiguous(c2, w2);
        next = after;
        break;
      }
      cur = &place(c2.front());
      note(*cur, w2);
      next = after;
    }
    fill_from(*cur);
    r_.rest = trim(a_.substr(next));
    return true;
  }

  // Keeps the candidates that the next name in the address lies inside (朝阳区 + 望京 ...).
  std::vector<std::size_t> disambiguate(const std::vector<std::size_t>& cands, std::size_t next) const {
    std::vector<std::size_t> kept;
    for (std::size_t c : cands) {
      const Place& outer = place(c);
      if (match_at(g_, a_, next, [&](const Place& p) { return g_.inside(p, outer); })) kept.push_back(c);
    }
    return kept.empty() ? cands : kept;
  }

  void ambiguous(const std::vector<std::size_t>& cands, const std::string& written) {
    std::vector<std::string> where;
    std::set<std::string> provinces, cities;
    for (std::size_t c : cands) {
      const Place& p = place(c);
      std::string path;
      for (const Place* q = g_.parent_of(p); q; q = g_.parent_of(*q)) {
        path = path.empty() ? q->name : q->name + path;
        (q->kind == PlaceKind::province ? provinces : cities).insert(q->name);
      }
      where.push_back(path.empty() ? p.name : path + p.name);
    }
    const Place& p = place(cands.front());
    if (p.kind == PlaceKind::county) r_.county = p.name;
    if (p.kind == PlaceKind::city) r_.city = p.name;
    if (p.kind == PlaceKind::province) r_.province = p.name;
    if (provinces.size() == 1 && p.kind != PlaceKind::province) r_.province = *provinces.begin();
    if (cities.size() == 1 && p.kind == PlaceKind::county) r_.city = *cities.begin();
    if (explain_)
      r_.why.push_back(
          fmt::format("{} names {} places ({}); not resolved", written, cands.size(), fmt::join(where, ", ")));
  }

  void note(const Place& p, const std::string& written) {
    if (explain_)
      r_.why.push_back(written == p.name ? fmt::format("{} {}", to_string(p.kind), p.name)
                                         : fmt::format("{} {} (written {})", to_string(p.kind), p.name, written));
    if (p.kind == PlaceKind::province) r_.province = p.name;
    if (p.kind == PlaceKind::city) r_.city = p.name;
    if (p.kind == PlaceKind::county) r_.county = p.name;
  }

  // Fills the levels above the deepest place found, saying which were inferred.
  void fill_from(const Place& deepest) {
    std::vector<std::string> inferred;
    for (const Place* q = g_.parent_of(deepest); q; q = g_.parent_of(*q)) {
      std::string& slot = q->kind == PlaceKind::province ? r_.province : r_.city;
      if (slot.empty()) {
        slot = q->name;
        if (explain_) inferred.push_back(fmt::format("{} {}", to_string(q->kind), q->name));
      }
    }
    if (!inferred.empty())
      if (explain_) r_.why.push_back(fmt::format("{} inferred from {}", fmt::join(inferred, ", "), deepest.name));
  }

  bool other_outside(std::size_t from) const {
    for (std::size_t pos = from; pos < a_.size(); pos += utf8_len(static_cast<unsigned char>(a_[pos]))) {
      const auto m = match_at(g_, a_, pos, [](const Place& p) { return p.kind == PlaceKind::outside; });
      if (m) {
        bool shared = false;
        for (const auto& h : *g_.lookup(a_.substr(pos, m->length))) shared |= is_mainland(place(h.index).kind);
        if (!shared) return true;
      }
    }
    return false;
  }

  void mark_overseas(const Place& p, const std::string& written, std::string_view how) {
    r_.overseas = true;
    r_.rest = trim(a_);
    const Place* top = &p;
    while (const Place* up = g_.parent_of(*top)) top = up;
    r_.outside = top->name;
    if (explain_)
      r_.why.push_back(written == top->name
                           ? fmt::format("{} {}: outside mainland China", how, top->name)
                           : fmt::format("{} {} ({}): outside mainland China", how, written, top->name));
  }
  ParsedAddress overseas(const Place& p, const std::string& written, std::string_view how) {
    mark_overseas(p, written, how);
    return std::move(r_);
  }

  // No known place at the start: overseas only on the full name of a region anywhere, a Hong
  // Kong / Macau / Taiwan place or country after a separator, or a Latin place name.
  ParsedAddress unrecognised() {
    for (std::size_t pos = 0; pos < a_.size(); pos += utf8_len(static_cast<unsigned char>(a_[pos]))) {
      const auto m = match_at(g_, a_, pos, [](const Place& p) { return !is_mainland(p.kind) && p.code != "CN"; });
      if (!m) continue;
      const Place& p = place(m->hits.front().index);
      bool shared = false;
      for (const auto& h : *g_.lookup(a_.substr(pos, m->length))) shared |= is_mainland(place(h.index).kind);
      if (shared) continue;
      const bool region_full_name = p.kind == PlaceKind::outside && p.parent.empty() && m->hits.front().full_name;
      if (region_full_name || at_separator(a_, pos)) return overseas(p, spelled(pos, m->length), "names");
    }
    if (const auto hit = latin_hit(/*outside_only=*/true)) {
      return overseas(place(hit->first.index), hit->second, "names");
    }
    if (written_in_traditional(a_)) {
      r_.overseas = true;
      r_.rest = trim(a_);
      r_.outside = "香港、澳门或台湾";
      if (explain_)
        r_.why.push_back(
            "no mainland region, written in traditional script (號, 樓, 區 …): Hong Kong, Macau or Taiwan");
      return std::move(r_);
    }
    r_.rest = trim(a_);
    if (explain_) r_.why.push_back("region not recognised: treated as mainland China");
    return std::move(r_);
  }

  // The first Latin spelling in the address (whole words, any case): Hong Kong, Macau and
  // Taiwan before other countries, both before mainland names; then the first in the address,
  // then the first in latin() (longer spellings first, so "new taipei" before "taipei").
  std::optional<std::pair<Gazetteer::Hit, std::string>> latin_hit(bool outside_only) const {
    const std::string low = ascii_lower(a_);
    // Every spelling's every occurrence, in one pass: by offset, then by index in latin().
    thread_local std::vector<WordSet::Hit> found;
    found.clear();
    g_.latin_words().find_all(low, found);
    std::optional<std::pair<Gazetteer::Hit, std::string>> best;
    int best_rank = 9;
    for (const WordSet::Hit& f : found) {
      const std::string& key = g_.latin()[f.word].first;
      const Gazetteer::Hit& hit = g_.latin()[f.word].second;
      const Place& p = place(hit.index);
      if (outside_only && (is_mainland(p.kind) || p.code == "CN")) continue;
      const int rank = p.kind == PlaceKind::outside ? 0 : p.kind == PlaceKind::country && p.code != "CN" ? 1 : 2;
      // The hits come in the order of the tie-breaks: only a better rank can win now.
      if (rank >= best_rank) continue;
      const auto word = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
      const std::size_t at = f.at;
      const bool start_ok = at == 0 || !word(low[at - 1]);
      const std::size_t end = at + key.size();
      const bool end_ok = end >= low.size() || !word(low[end]) || !word(key.back());
      if (!start_ok || !end_ok) continue;
      best = std::make_pair(hit, std::string(a_.substr(at, key.size())));
      best_rank = rank;
    }
    return best;
  }

  ParsedAddress latin() {
    const auto hit = latin_hit(false);
    if (!hit) {
      r_.overseas = true;
      r_.rest = trim(a_);
      if (explain_) r_.why.push_back("Latin-script address without a mainland region: outside mainland China");
      return std::move(r_);
    }
    const Place& p = place(hit->first.index);
    if (!is_mainland(p.kind) && p.code != "CN") return overseas(p, hit->second, "names");
    r_.rest = trim(a_);
    if (is_mainland(p.kind)) {
      note(p, hit->second);
      fill_from(p);
    }
    if (explain_) r_.why.push_back(fmt::format("Latin-script address naming {}: mainland China", hit->second));
    return std::move(r_);
  }

  const Gazetteer& g_;
  std::string_view a_;
  bool explain_;  // fill r_.why
  ParsedAddress r_;
};

}  // namespace

Gazetteer::Gazetteer(std::vector<Place> places) : places_(std::move(places)) {
  std::set<std::size_t> lengths;
  // Spelling -> its index in spellings_; the views point into places_, which stays put.
  std::unordered_map<std::string_view, std::size_t> spelling_of;
  for (std::size_t i = 0; i < places_.size(); ++i) {
    by_code_.emplace(places_[i].code, i);
    const auto add = [&](const std::string& key, bool full) {
      if (key.empty()) return;
      if (is_latin_key(key)) {
        latin_.emplace_back(ascii_lower(key), Hit{i, full});
        return;
      }
      auto it = spelling_of.find(key);
      if (it == spelling_of.end()) {
        it = spelling_of.emplace(std::string_view(key), spellings_.size()).first;
        spellings_.push_back({key, std::hash<std::string_view>{}(key), {}});
      }
      auto& v = spellings_[it->second].hits;
      if (std::none_of(v.begin(), v.end(), [&](const Hit& h) { return h.index == i; })) v.push_back({i, full});
      lengths.insert(key.size());
    };
    add(places_[i].name, true);
    for (const auto& a : places_[i].aliases) add(a, false);
  }
  parents_.assign(places_.size(), kNoParent);
  for (std::size_t i = 0; i < places_.size(); ++i) {
    if (places_[i].parent.empty()) continue;
    if (const auto it = by_code_.find(places_[i].parent); it != by_code_.end()) parents_[i] = it->second;
  }
  std::size_t capacity = 16;
  while (capacity < spellings_.size() * 2) capacity *= 2;
  slots_.assign(capacity, 0);
  for (std::size_t k = 0; k < spellings_.size(); ++k) {
    std::size_t slot = spellings_[k].hash & (capacity - 1);
    while (slots_[slot] != 0) slot = (slot + 1) & (capacity - 1);
    slots_[slot] = static_cast<std::uint32_t>(k + 1);
  }
  key_lengths_.assign(lengths.rbegin(), lengths.rend());
  std::map<std::uint32_t, std::set<std::size_t>> by_lead;
  std::set<std::size_t> short_lengths;
  for (const auto& sp : spellings_) {
    if (sp.key.size() < kLeadBytes) {
      short_lengths.insert(sp.key.size());
    } else {
      by_lead[lead_of(sp.key)].insert(sp.key.size());
    }
  }
  for (const auto& [lead, ls] : by_lead)
    lengths_by_lead_.emplace(lead, std::vector<std::size_t>(ls.rbegin(), ls.rend()));
  short_key_lengths_.assign(short_lengths.rbegin(), short_lengths.rend());
  // Longest first: the spellings of kLeadBytes or more, then the shorter ones.
  for (auto& [lead, ls] : lengths_by_lead_) ls.insert(ls.end(), short_key_lengths_.begin(), short_key_lengths_.end());
  // Longer Latin spellings first, so "new taipei" is found before "taipei".
  std::stable_sort(latin_.begin(), latin_.end(),
                   [](const auto& x, const auto& y) { return x.first.size() > y.first.size(); });
  std::vector<std::string> latin_keys;
  latin_keys.reserve(latin_.size());
  for (const auto& entry : latin_) latin_keys.push_back(entry.first);
  latin_words_ = WordSet(latin_keys);
}

std::uint32_t Gazetteer::lead_of(std::string_view text) {
  std::uint32_t lead = 0;
  for (std::size_t k = 0; k < kLeadBytes; ++k) lead = (lead << 8) | static_cast<unsigned char>(text[k]);
  return lead;
}

const Place* Gazetteer::by_code(std::string_view code) const {
  const auto it = by_code_.find(std::string(code));
  return it == by_code_.end() ? nullptr : &places_[it->second];
}

const Place* Gazetteer::parent_of(const Place& p) const {
  if (places_.empty() || &p < places_.data() || &p >= places_.data() + places_.size()) {
    return p.parent.empty() ? nullptr : by_code(p.parent);  // not one of places()
  }
  const std::size_t parent = parents_[static_cast<std::size_t>(&p - places_.data())];
  return parent == kNoParent ? nullptr : &places_[parent];
}

bool Gazetteer::inside(const Place& p, const Place& ancestor) const {
  for (const Place* q = parent_of(p); q; q = parent_of(*q)) {
    if (q == &ancestor) return true;
  }
  return false;
}

const std::vector<std::size_t>& Gazetteer::key_lengths_at(std::string_view text) const {
  if (text.size() >= kLeadBytes) {
    const auto it = lengths_by_lead_.find(lead_of(text));
    if (it != lengths_by_lead_.end()) return it->second;
  }
  return short_key_lengths_;
}

const std::vector<Gazetteer::Hit>* Gazetteer::lookup(std::string_view key) const {
  if (slots_.empty()) return nullptr;
  const std::size_t hash = std::hash<std::string_view>{}(key), mask = slots_.size() - 1;
  for (std::size_t slot = hash & mask;; slot = (slot + 1) & mask) {
    const std::uint32_t s = slots_[slot];
    if (s == 0) return nullptr;
    const Spelling& sp = spellings_[s - 1];
    if (sp.hash == hash && sp.key == key) return &sp.hits;
  }
}

std::string ParsedAddress::why_text() const {
  return fmt::format("{}", fmt::join(why, "; "));
}

ParsedAddress parse_address(const Gazetteer& gazetteer, std::string_view address, bool explain) {
  return Parser(gazetteer, trimmed(address), explain).run();
}

}  // namespace cuifu
