#include "core/names.h"

#include <algorithm>
#include <array>

#include "core/text.h"

namespace cuifu {

namespace {

bool is_cjk(char32_t c) {
  return (c >= 0x3400 && c <= 0x9FFF) || (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x20000 && c <= 0x3FFFD);
}

bool is_latin_letter(char32_t c) {
  return (c >= U'a' && c <= U'z') || (c >= U'A' && c <= U'Z') || (c >= 0xC0 && c <= 0x24F && c != 0xD7 && c != 0xF7);
}

// Middle dots people type between the parts of a transliterated name.
bool is_middle_dot(char32_t c) {
  return c == 0xB7 || c == 0x2022 || c == 0x30FB || c == 0xFF65 || c == 0x2027 || c == 0x2219;
}

char32_t closing_bracket(char32_t c) {
  switch (c) {
    case U'(': return U')';
    case U'（': return U'）';
    case U'[': return U']';
    case U'【': return U'】';
    case U'〔': return U'〕';
    case U'<': return U'>';
    case U'《': return U'》';
    case U'{': return U'}';
    default: return 0;
  }
}

// Words that annotate a receiver rather than name one: 张三代收, 李四转交.
constexpr std::array<std::u32string_view, 8> kNoteWords = {U"代收", U"代签", U"转交",   U"前台",
                                                           U"收件", U"快递", U"放门卫", U"门卫"};

constexpr std::array<std::u32string_view, 3> kTitles = {U"先生", U"女士", U"小姐"};

bool ends_with(std::u32string_view s, std::u32string_view tail) {
  return s.size() >= tail.size() && s.substr(s.size() - tail.size()) == tail;
}

}  // namespace

std::string clean_receiver_name(std::string_view raw) {
  const std::u32string in = utf8_decode(trimmed(raw));
  // 1. Drop bracketed notes (an unclosed bracket drops the rest) and digits (phone numbers).
  std::u32string s;
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (const char32_t close = closing_bracket(in[i])) {
      std::size_t j = i + 1;
      while (j < in.size() && in[j] != close) ++j;
      i = j;
      s.push_back(U' ');
      continue;
    }
    const char32_t c = in[i];
    if ((c >= U'0' && c <= U'9') || (c >= U'０' && c <= U'９')) {
      s.push_back(U' ');
      continue;
    }
    s.push_back(is_middle_dot(c) ? U'·' : c == 0x3000 ? U' ' : c);
  }
  const bool cjk = std::any_of(s.begin(), s.end(), is_cjk);
  // 2. A Chinese name ends at the first separator; a Latin name keeps its spaces but ends
  //    at any other separator.
  std::u32string name;
  for (char32_t c : s) {
    const bool space = c == U' ' || c == U'\t';
    const bool separator = c == U'/' || c == U'／' || c == U'-' || c == U'—' || c == U'－' || c == U',' || c == U'，' ||
                           c == U'、' || c == U';' || c == U'；' || c == U':' || c == U'：' || c == U'+' || c == U'|' ||
                           c == U'*';
    if (separator || (cjk && space)) {
      if (std::any_of(name.begin(), name.end(), [](char32_t x) { return x != U' '; })) break;
      name.clear();
      continue;
    }
    if (space && (name.empty() || name.back() == U' ')) continue;
    name.push_back(c);
  }
  while (!name.empty() && (name.back() == U' ' || name.back() == U'·')) name.pop_back();
  while (!name.empty() && name.front() == U'·') name.erase(0, 1);
  // 3. A note word stuck to the name: 张三代收.
  for (bool again = true; again;) {
    again = false;
    for (const auto w : kNoteWords) {
      if (name.size() > w.size() && ends_with(name, w)) {
        name.resize(name.size() - w.size());
        again = true;
      }
    }
  }
  const bool name_like =
      std::any_of(name.begin(), name.end(), [](char32_t c) { return is_cjk(c) || is_latin_letter(c); });
  return name_like ? utf8_encode(name) : std::string{};
}

std::string chinese_surname(std::string_view name) {
  const std::u32string cps = utf8_decode(name);
  if (cps.empty() || !is_cjk(cps.front()) || std::find(cps.begin(), cps.end(), U'·') != cps.end()) return {};
  static const std::array<std::u32string_view, 30> compound = {
      U"欧阳", U"司马", U"上官", U"诸葛", U"东方", U"皇甫", U"令狐", U"慕容", U"司徒", U"夏侯",
      U"公孙", U"尉迟", U"长孙", U"宇文", U"端木", U"独孤", U"申屠", U"南宫", U"西门", U"轩辕",
      U"闻人", U"赫连", U"澹台", U"公羊", U"太史", U"万俟", U"呼延", U"钟离", U"百里", U"司空"};
  const std::u32string_view name_cps(cps);  // compared in place, no copy of its first characters
  for (const auto c : compound) {
    if (name_cps.size() > c.size() && name_cps.substr(0, c.size()) == c) return utf8_encode(c);
  }
  return utf8_encode(cps.substr(0, 1));
}

std::string salutation_for(const Order& order, const SegmentRule& segment, const NameRules& names) {
  return salutation_for(order, clean_receiver_name(order.receiver_name), segment, names);
}

std::string salutation_for(const Order& order, const std::string& name, const SegmentRule& segment,
                           const NameRules& names) {
  if (name.empty()) return {};
  const std::u32string cps = utf8_decode(name);
  for (const auto t : kTitles) {
    if (cps.size() > t.size() && ends_with(cps, t)) return name;  // 王先生: the buyer's own words
  }
  const std::string surname = chinese_surname(name);
  if (surname.empty()) return name;  // Latin, or with ·: the full name as written
  if (!segment.name_suffix.empty()) return surname + segment.name_suffix;
  auto it = names.gender.find(name);
  if (it == names.gender.end()) it = names.gender.find(trim(order.buyer));
  if (it != names.gender.end()) return surname + (it->second == Gender::male ? "先生" : "女士");
  return name;
}

}  // namespace cuifu
