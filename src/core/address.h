// Reading a shipping address: which province, city and county it names, the rest of it, and
// whether it lies outside mainland China (only on positive evidence).
//
// Pure: the gazetteer is data passed in (io/gazetteer_loader reads data/gazetteer.tsv). A
// Gazetteer is immutable once built and may be shared by any number of threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/word_set.h"

namespace cuifu {

enum class PlaceKind { province, city, county, outside, country };

std::string_view to_string(PlaceKind k);

// One named place: a mainland division (GB/T 2260 code), a part of Hong Kong, Macau or
// Taiwan (`outside`), or a country (ISO code; "CN" is China itself).
struct Place {
  PlaceKind kind = PlaceKind::province;
  std::string code;
  std::string name;                  // full name: 北京市, 浦东新区, 香港特别行政区, 日本
  std::vector<std::string> aliases;  // short forms (浦东), traditional script, Latin names
  std::string parent;                // code of the enclosing place; empty at the top
};

// The places an address can name, indexed by every spelling.
class Gazetteer {
 public:
  Gazetteer() = default;
  // REQUIRES: codes unique; a parent code names a place in the list (others are ignored).
  explicit Gazetteer(std::vector<Place> places);

  bool empty() const { return places_.empty(); }
  std::size_t size() const { return places_.size(); }
  const std::vector<Place>& places() const { return places_; }
  const Place* by_code(std::string_view code) const;
  const Place* parent_of(const Place& p) const;
  // True if `p` lies (strictly) inside `ancestor`.
  bool inside(const Place& p, const Place& ancestor) const;

  // A spelling that matched, and whether it was the full name.
  struct Hit {
    std::size_t index;
    bool full_name;
  };
  // Places spelled exactly `key` (non-Latin spellings), or nullptr.
  const std::vector<Hit>* lookup(std::string_view key) const;
  // Byte lengths of the non-Latin spellings, longest first.
  const std::vector<std::size_t>& key_lengths() const { return key_lengths_; }
  // The same, only of the spellings that `text` could start with (those that share its first
  // three bytes, then the shorter ones): an address is probed at every character, and most
  // characters start no place name at all.
  const std::vector<std::size_t>& key_lengths_at(std::string_view text) const;
  // Latin spellings, lower-case, with their places: longer ones first.
  const std::vector<std::pair<std::string, Hit>>& latin() const { return latin_; }
  // The Latin spellings, by their index in latin(), to find them all in one pass over a text.
  const WordSet& latin_words() const { return latin_words_; }

 private:
  static constexpr std::size_t kNoParent = static_cast<std::size_t>(-1);
  // The first kLeadBytes bytes of a text as one number (kLeadBytes <= 4).
  static std::uint32_t lead_of(std::string_view text);

  std::vector<Place> places_;
  std::unordered_map<std::string, std::size_t> by_code_;
  std::vector<std::size_t> parents_;  // per place: its parent's index, or kNoParent
  // The non-Latin spellings in an open-addressing table probed by string_view, each slot the
  // spelling's index + 1 (0: empty), the table's size a power of two. (A std::unordered_map
  // with a string_view hash hashed the keys of a bucket's other nodes again at every probe.)
  struct Spelling {
    std::string key;
    std::size_t hash = 0;
    std::vector<Hit> hits;
  };
  std::vector<Spelling> spellings_;
  std::vector<std::uint32_t> slots_;
  std::vector<std::size_t> key_lengths_;
  std::unordered_map<std::uint32_t, std::vector<std::size_t>> lengths_by_lead_;  // by lead_of
  std::vector<std::size_t> short_key_lengths_;  // spellings of fewer than kLeadBytes bytes
  static constexpr std::size_t kLeadBytes = 3;
  std::vector<std::pair<std::string, Hit>> latin_;
  WordSet latin_words_;
};

// What parse_address found.
struct ParsedAddress {
  std::string province;  // full names; empty when not recognised
  std::string city;
  std::string county;
  std::string rest;  // the address after the recognised divisions (all of it when none)
  bool overseas = false;
  std::string outside;           // overseas: the region or country (香港特别行政区, 日本, Singapore)
  std::vector<std::string> why;  // what was recognised, in order
  std::string why_text() const;  // why, joined with "; "
};

// Parses an address that may start at any level (province, city, county or street):
// a county or city met first implies its city and province (鄞州区 -> 宁波市, 浙江省); a
// name shared by several places is resolved by what follows it, else left unresolved and
// said so. Overseas only on positive evidence: a leading Hong Kong / Macau / Taiwan place or
// country name, the full name of one of the three regions anywhere, a Latin-script address
// without a mainland place (Beijing, China ...), or one without a mainland place written in
// traditional script (號, 樓, 區). Any other Chinese address whose region is not recognised is
// mainland, and `why` says "region not recognised". A mainland region named
// first wins over anything later (武汉市香港路 is in Wuhan).
// `explain` false: `why` stays empty (every other field is the same), for a caller that shows
// none (the backtest reads a million addresses and prints no why line).
ParsedAddress parse_address(const Gazetteer& gazetteer, std::string_view address, bool explain = true);

}  // namespace cuifu
