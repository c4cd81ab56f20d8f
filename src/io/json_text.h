// JSON text written and read by hand where nlohmann::json's document objects cost more than the
// work around them (a webhook body per send, the outbox's id lists per row read), with the same
// bytes as nlohmann::json's dump() and the same checks.
#pragma once

#include <cstdint>
#include <cstring>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#include <string>
#include <string_view>

namespace cuifu::json_text {

// True when one of the 8 bytes in x is below 0x20, '"' or '\\' (the bytes JSON escapes): the
// exact "has a byte less than n / equal to 0" tests on a 64-bit word, so a message's runs of
// Chinese text are skipped 8 bytes at a time.
inline bool any_escaped_byte(std::uint64_t x) {
  constexpr std::uint64_t kOnes = 0x0101010101010101ULL, kHighs = 0x8080808080808080ULL;
  const std::uint64_t quote = x ^ (kOnes * '"'), backslash = x ^ (kOnes * '\\');
  return (((x - kOnes * 0x20) & ~x) | ((quote - kOnes) & ~quote) | ((backslash - kOnes) & ~backslash)) & kHighs;
}

// True when `s` is well-formed UTF-8 (no overlong forms, surrogates or code points past
// U+10FFFF): what nlohmann::json accepts in a string.
inline bool valid_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    // ASCII 8 bytes at a time: ids, keys and most of a why line (every outbox row written and
    // read checks its id lists).
    if (i + 8 <= s.size()) {
      std::uint64_t word;
      std::memcpy(&word, s.data() + i, 8);
      if ((word & 0x8080808080808080ULL) == 0) {
        i += 8;
        continue;
      }
    }
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t n = 0;
    char32_t cp = 0;
    if (c >= 0xc2 && c <= 0xdf) {
      n = 1;
      cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
      n = 2;
      cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (s.size() - i <= n) return false;  // cut short
    for (std::size_t k = 1; k <= n; ++k) {
      const auto d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3f);
    }
    if ((n == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff))) {
      return false;
    }
    i += n + 1;
  }
  return true;
}

// The offset of the first byte JSON escapes among the 16 at `p`, or 16 when there is none:
// a message's runs of Chinese text are looked through 16 bytes at a time.
inline std::size_t first_escaped_of_16(const char* p) {
#if defined(__SSE2__)
  const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  // Below 0x20: the unsigned minimum with 0x1f is the byte itself.
  const __m128i control = _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1f)), v);
  const __m128i quote = _mm_cmpeq_epi8(v, _mm_set1_epi8('"'));
  const __m128i backslash = _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'));
  const auto mask = static_cast<unsigned>(_mm_movemask_epi8(_mm_or_si128(control, _mm_or_si128(quote, backslash))));
  return mask == 0 ? 16 : static_cast<std::size_t>(__builtin_ctz(mask));
#else
  for (std::size_t k = 0; k < 16; k += 8) {
    std::uint64_t word;
    std::memcpy(&word, p + k, 8);
    if (any_escaped_byte(word)) {
      while (true) {
        const auto c = static_cast<unsigned char>(p[k]);
        if (c < 0x20 || c == '"' || c == '\\') return k;
        ++k;
      }
    }
  }
  return 16;
#endif
}

// Appends `s` as a JSON string, as nlohmann::json's dump() writes it: UTF-8 kept as it is, '"'
// and '\\' escaped, control characters as \b \f \n \r \t or \u00xx. REQUIRES: valid_utf8(s).
inline void append_string(std::string& out, std::string_view s) {
  out += '"';
  std::size_t plain = 0;  // start of the run not yet copied: plain runs are copied whole
  for (std::size_t i = 0; i < s.size(); ++i) {
    // 16 bytes at a time up to the next byte to escape (or the last 15 bytes).
    while (i + 16 <= s.size()) {
      const std::size_t k = first_escaped_of_16(s.data() + i);
      i += k;
      if (k < 16) break;
    }
    for (std::uint64_t word; i + 8 <= s.size(); i += 8) {
      std::memcpy(&word, s.data() + i, 8);
      if (any_escaped_byte(word)) break;
    }
    if (i >= s.size()) break;
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.substr(plain, i - plain));
    plain = i + 1;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default: {
        static constexpr char kHex[] = "0123456789abcdef";
        out += "\\u00";
        out += kHex[c >> 4];
        out += kHex[c & 0xf];
      }
    }
  }
  out.append(s.substr(plain));
  out += '"';
}

}  // namespace cuifu::json_text
