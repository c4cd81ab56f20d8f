#include "core/text.h"

#include <algorithm>

namespace cuifu {

std::u32string utf8_decode(std::string_view s) {
  std::u32string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) out.push_back(utf8_next(s, i));
  return out;
}

std::string utf8_encode(std::u32string_view s) {
  std::string out;
  out.reserve(s.size() * 3);
  for (char32_t cp : s) {
    if (cp < 0x80) {
      out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }
  return out;
}

std::size_t char_count(std::string_view s) {
  std::size_t n = 0;
  for (char c : s) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  }
  return n;
}

namespace {

// East Asian Wide (W) and Fullwidth (F) ranges that occur in shop text.
bool is_wide(char32_t cp) {
  return (cp >= 0x1100 && cp <= 0x115F) || (cp >= 0x2E80 && cp <= 0x303E) || (cp >= 0x3041 && cp <= 0x33FF) ||
         (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0xA000 && cp <= 0xA4CF) ||
         (cp >= 0xAC00 && cp <= 0xD7A3) || (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0xFE30 && cp <= 0xFE4F) ||
         (cp >= 0xFF00 && cp <= 0xFF60) || (cp >= 0xFFE0 && cp <= 0xFFE6) || (cp >= 0x1F300 && cp <= 0x1F64F) ||
         (cp >= 0x1F900 && cp <= 0x1F9FF) || (cp >= 0x20000 && cp <= 0x3FFFD);
}

int width_of(char32_t cp) {
  if (cp == 0 || (cp >= 0x300 && cp <= 0x36F) || cp == 0x200B) return 0;
  if (cp < 0x20 || cp == 0x7F) return 0;
  return is_wide(cp) ? 2 : 1;
}

}  // namespace

int display_width(std::string_view s) {
  int w = 0;
  for (char32_t cp : utf8_decode(s)) w += width_of(cp);
  return w;
}

std::string truncate_chars(std::string_view s, std::size_t max_chars) {
  auto cps = utf8_decode(s);
  if (cps.size() <= max_chars) return std::string(s);
  if (max_chars == 0) return {};
  cps.resize(max_chars - 1);
  cps.push_back(U'…');
  return utf8_encode(cps);
}

std::string pad_display(std::string_view s, int width, bool align_right) {
  std::u32string out;
  int w = 0;
  // Line breaks and tabs are shown as spaces, so they count as one column each.
  auto cps = utf8_decode(s);
  for (char32_t& cp : cps) {
    if (cp == U'\n' || cp == U'\r' || cp == U'\t') cp = U' ';
  }
  int total = 0;
  for (char32_t cp : cps) total += width_of(cp);
  for (char32_t cp : cps) {
    const int cw = width_of(cp);
    // Leave one column for the ellipsis when the text does not fit.
    if (total > width && w + cw > width - 1) {
      out.push_back(U'…');
      ++w;
      break;
    }
    out.push_back(cp);
    w += cw;
  }
  std::string text = utf8_encode(out);
  std::string pad(static_cast<std::size_t>(std::max(0, width - w)), ' ');
  return align_right ? pad + text : text + pad;
}

namespace {

// Anything that is not a recognisable phone number or e-mail address: its first and last
// characters only (all stars when that would show everything).
std::string mask_middle(std::string_view s) {
  const auto cps = utf8_decode(trim(s));
  if (cps.empty()) return {};
  if (cps.size() <= 2) return std::string(cps.size(), '*');
  std::u32string out(1, cps.front());
  out.append(cps.size() - 2, U'*');
  out.push_back(cps.back());
  return utf8_encode(out);
}

}  // namespace

std::string mask_phone(std::string_view phone) {
  std::string digits;
  for (char c : phone) {
    if (c >= '0' && c <= '9') digits.push_back(c);
  }
  if (digits.size() >= 7) {
    // First three and last four digits shown; every digit between them is a star.
    return digits.substr(0, 3) + std::string(digits.size() - 7, '*') + digits.substr(digits.size() - 4);
  }
  return mask_middle(phone);
}

std::string mask_email(std::string_view email) {
  const auto at = email.find('@');
  if (at == std::string_view::npos || at == 0) return mask_middle(email);
  return std::string(email.substr(0, 1)) + "***" + std::string(email.substr(at));
}

std::string_view trimmed(std::string_view s) {
  // ASCII whitespace and full-width spaces (U+3000), common in exported Chinese text, in any mix.
  const std::string_view ideo = "\xE3\x80\x80";
  const auto is_space = [](char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
  };
  while (true) {
    if (!s.empty() && is_space(s.front()))
      s.remove_prefix(1);
    else if (s.substr(0, 3) == ideo)
      s.remove_prefix(3);
    else
      break;
  }
  while (true) {
    if (!s.empty() && is_space(s.back()))
      s.remove_suffix(1);
    else if (s.size() >= 3 && s.substr(s.size() - 3) == ideo)
      s.remove_suffix(3);
    else
      break;
  }
  return s;
}

std::string trim(std::string_view s) {
  return std::string(trimmed(s));
}

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (true) {
    const auto p = s.find(sep, start);
    out.emplace_back(s.substr(start, p == std::string_view::npos ? std::string_view::npos : p - start));
    if (p == std::string_view::npos) break;
    start = p + 1;
  }
  return out;
}

std::uint64_t stable_hash(std::string_view s) {
  return StableHash().add(s).value();
}

}  // namespace cuifu
