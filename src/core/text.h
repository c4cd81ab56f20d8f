// UTF-8 text helpers: character counts (SMS limits count characters, not bytes),
// terminal display width (CJK is two columns), truncation, and contact masking.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace cuifu {

// The code point at byte `i` of `s`, advancing `i` past it: an invalid or cut byte is
// U+FFFD and `i` moves by one. REQUIRES: i < s.size(). utf8_decode is this, point by point.
inline char32_t utf8_next(std::string_view s, std::size_t& i) {
  const auto c = static_cast<unsigned char>(s[i]);
  const std::size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
  if (len == 0 || i + len > s.size()) {
    ++i;
    return U'\uFFFD';
  }
  char32_t cp = len == 1 ? c : len == 2 ? (c & 0x1F) : len == 3 ? (c & 0x0F) : (c & 0x07);
  for (std::size_t k = 1; k < len; ++k) {
    const auto cc = static_cast<unsigned char>(s[i + k]);
    if ((cc & 0xC0) != 0x80) {
      ++i;
      return U'\uFFFD';
    }
    cp = (cp << 6) | (cc & 0x3F);
  }
  i += len;
  return cp;
}

// Decodes UTF-8 into code points; invalid bytes become U+FFFD, one per byte.
std::u32string utf8_decode(std::string_view s);

// True when a code point of utf8_decode(s) satisfies `pred`, without decoding into a string.
template <class Pred>
bool utf8_any_of(std::string_view s, Pred pred) {
  for (std::size_t i = 0; i < s.size();) {
    if (pred(utf8_next(s, i))) return true;
  }
  return false;
}
std::string utf8_encode(std::u32string_view s);

// Number of code points (an SMS segment holds 70 of them).
std::size_t char_count(std::string_view s);

// Columns the text takes in a terminal: East Asian wide/fullwidth take 2.
int display_width(std::string_view s);

// At most `max_chars` code points; when cut, the last kept one is "…".
std::string truncate_chars(std::string_view s, std::size_t max_chars);

// Fits s in `width` columns (cutting with "…"), then pads with spaces to exactly width.
std::string pad_display(std::string_view s, int width, bool align_right = false);

// True if `needle` occurs in `haystack` (byte-wise; both UTF-8).
inline bool contains(std::string_view haystack, std::string_view needle) {
  return !needle.empty() && haystack.find(needle) != std::string_view::npos;
}

// 13812341234 -> 138****1234; zhang.san@example.com -> z***@example.com.
// Anything else keeps its first and last character only.
std::string mask_phone(std::string_view phone);
std::string mask_email(std::string_view email);

// `s` without leading and trailing ASCII whitespace and full-width spaces (U+3000).
std::string trim(std::string_view s);
// The same, as a view into `s` (no copy, for a test or a read).
std::string_view trimmed(std::string_view s);
std::vector<std::string> split(std::string_view s, char sep);

// 64-bit FNV-1a: stable across runs, platforms and versions (used for holdout).
std::uint64_t stable_hash(std::string_view s);

// stable_hash of a text given in pieces, without joining them:
// StableHash().add(a).add(b).value() == stable_hash(a + b).
class StableHash {
 public:
  StableHash& add(std::string_view s) {
    for (const char c : s) {
      h_ ^= static_cast<unsigned char>(c);
      h_ *= 1099511628211ULL;  // the FNV-1a 64 prime
    }
    return *this;
  }
  std::uint64_t value() const { return h_; }

 private:
  std::uint64_t h_ = 14695981039346656037ULL;  // the FNV-1a 64 offset basis
};

}  // namespace cuifu
