#include "core/item_title.h"

#include <algorithm>
#include <array>
#include <unordered_map>
#include <vector>

#include "core/text.h"

namespace cuifu {

namespace {

bool is_cjk(char32_t c) {
  return (c >= 0x3400 && c <= 0x9FFF) || (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x20000 && c <= 0x3FFFD);
}

bool is_digit(char32_t c) {
  return c >= U'0' && c <= U'9';
}

bool is_ascii_alnum(char32_t c) {
  return is_digit(c) || (c >= U'a' && c <= U'z') || (c >= U'A' && c <= U'Z');
}

bool is_punct(char32_t c) {
  static constexpr std::u32string_view p =
      U" ,.;:!?/|+-_~*&()[]{}<>，。；：！？、／｜＋－—～（）【】〔〕《》「」“”‘’·•";
  return p.find(c) != std::u32string_view::npos;
}

char32_t closing_bracket(char32_t c) {
  switch (c) {
    case U'【': return U'】';
    case U'[': return U']';
    case U'〔': return U'〕';
    case U'(': return U')';
    case U'（': return U'）';
    case U'《': return U'》';
    default: return 0;
  }
}

// Unit words that end a spec fragment after a number: 1.8米, 3袋, 500克, 2件套.
constexpr std::array<std::u32string_view, 28> kUnits = {U"件套", U"袋装", U"盒装", U"瓶装", U"厘米", U"毫米", U"毫升",
                                                        U"公斤", U"人座", U"人份", U"人食", U"人用", U"米",   U"寸",
                                                        U"克",   U"斤",   U"袋",   U"盒",   U"瓶",   U"件",   U"只",
                                                        U"个",   U"包",   U"支",   U"条",   U"层",   U"门",   U"抽"};

// Selling words that say nothing about the item in a reminder (and some are claims).
constexpr std::array<std::u32string_view, 14> kSellingWords = {U"2024新款", U"2025新款", U"2026新款", U"新款", U"爆款",
                                                               U"特价",     U"包邮",     U"现货",     U"正品", U"热卖",
                                                               U"清仓",     U"秒杀",     U"限时",     U"促销"};

// Product words a title may be cut after (the end of a word, not of a character).
constexpr std::array<std::u32string_view, 68> kProductWords = {
    U"床头柜", U"电视柜", U"储物柜", U"收纳柜", U"双人床", U"单人床", U"儿童床",   U"上下床", U"榻榻米", U"四件套",
    U"三件套", U"保温杯", U"行李箱", U"双肩包", U"运动鞋", U"羽绒服", U"连衣裙",   U"牛肉干", U"置物架", U"收纳架",
    U"收纳盒", U"收纳袋", U"压缩袋", U"羽绒被", U"换鞋凳", U"小桌板", U"香薰蜡烛", U"沙发椅", U"沙发",   U"衣柜",
    U"书柜",   U"鞋柜",   U"餐桌",   U"书桌",   U"茶几",   U"椅子",   U"餐椅",     U"凳子",   U"床垫",   U"床品",
    U"被子",   U"被芯",   U"枕头",   U"靠垫",   U"腰枕",   U"台灯",   U"吊灯",     U"窗帘",   U"地毯",   U"地垫",
    U"脚垫",   U"毛毯",   U"挂钟",   U"挂钩",   U"衣架",   U"书架",   U"鞋架",     U"餐具",   U"手机",   U"耳机",
    U"电脑",   U"键盘",   U"鼠标",   U"背包",   U"手表",   U"眼镜",   U"茶叶",     U"零食"};

bool starts_with_at(const std::u32string& s, std::size_t i, std::u32string_view w) {
  if (w.empty()) return s.size() >= i;
  return s.size() >= i + w.size() && s[i] == w[0] && std::u32string_view(s).substr(i + 1, w.size() - 1) == w.substr(1);
}

// A word list grouped by first character, each group in list order (the first word that
// matches wins where that matters): a title position is compared only with the words that
// can start there, not with the whole list.
class WordIndex {
 public:
  template <std::size_t N>
  explicit WordIndex(const std::array<std::u32string_view, N>& words) {
    for (const auto w : words) by_first_[w.at(0)].push_back(w);
  }
  // The words that may start at s[i] (none at the end of s).
  const std::vector<std::u32string_view>& at(const std::u32string& s, std::size_t i) const {
    static const std::vector<std::u32string_view> kNone;
    if (i >= s.size()) return kNone;
    const auto it = by_first_.find(s[i]);
    return it == by_first_.end() ? kNone : it->second;
  }

 private:
  std::unordered_map<char32_t, std::vector<std::u32string_view>> by_first_;
};

const WordIndex& units() {
  static const WordIndex index(kUnits);
  return index;
}
const WordIndex& selling_words() {
  static const WordIndex index(kSellingWords);
  return index;
}
const WordIndex& product_words() {
  static const WordIndex index(kProductWords);
  return index;
}

// Item titles repeat across orders (a shop sells a catalogue, and its buyers' orders name the
// same items again and again), and the same title always tidies and shortens to the same text:
// each thread keeps the results it has worked out. Keyed by the title (and limits), never by a
// buyer or an address; cleared when full, so memory stays bounded.
class TitleMemo {
 public:
  template <class Make>
  const std::string& get(const std::string& key, Make make) {
    if (const auto it = memo_.find(key); it != memo_.end()) return it->second;
    if (memo_.size() >= kMaxEntries) memo_.clear();
    return memo_.emplace(key, make()).first->second;
  }

 private:
  static constexpr std::size_t kMaxEntries = 8192;
  std::unordered_map<std::string, std::string> memo_;
};

std::u32string collapse_spaces(const std::u32string& s) {
  std::u32string out;
  for (char32_t c : s) {
    if (c == U' ' && (out.empty() || out.back() == U' ')) continue;
    out.push_back(c);
  }
  while (!out.empty() && out.back() == U' ') out.pop_back();
  return out;
}

std::string tidy_item_title_uncached(std::string_view title) {
  const std::u32string in = utf8_decode(trimmed(title));
  std::u32string out;
  for (std::size_t i = 0; i < in.size();) {
    const char32_t c = in[i];
    if (const char32_t close = closing_bracket(c)) {
      std::size_t j = i + 1;
      while (j < in.size() && in[j] != close) ++j;
      if (j < in.size()) {  // a closed tag: drop it; an unclosed bracket stays text
        out.push_back(U' ');
        i = j + 1;
        continue;
      }
    }
    bool dropped = false;
    for (const auto w : selling_words().at(in, i)) {
      if (starts_with_at(in, i, w)) {
        out.push_back(U' ');
        i += w.size();
        dropped = true;
        break;
      }
    }
    if (dropped) continue;
    // A spec fragment: a number (1.8, 200*230, 1.5x2) with Latin units or one unit word.
    const bool starts_number = is_digit(c) || ((c == U'x' || c == U'X' || c == U'×') && i + 1 < in.size() &&
                                               is_digit(in[i + 1]) && (out.empty() || !is_ascii_alnum(out.back())));
    if (starts_number && (out.empty() || !is_ascii_alnum(out.back()))) {
      std::size_t j = i + 1;
      while (j < in.size() && (is_ascii_alnum(in[j]) || in[j] == U'.' || in[j] == U'*' || in[j] == U'×')) ++j;
      for (const auto u : units().at(in, j)) {
        if (starts_with_at(in, j, u)) {
          j += u.size();
          break;
        }
      }
      if (j < in.size() && in[j] == U'装') ++j;  // 20只装, 3袋装
      out.push_back(U' ');
      i = j;
      continue;
    }
    out.push_back(c == 0x3000 || c == U'\t' ? U' ' : c);
    ++i;
  }
  return utf8_encode(collapse_spaces(out));
}

std::string shorten_title_uncached(std::string_view title, std::size_t max_chars, std::size_t min_chars) {
  const std::u32string t = utf8_decode(tidy_item_title(title));
  if (t.size() <= max_chars) return utf8_encode(t);
  if (max_chars == 0) return {};
  // cut[k]: the text may end after its first k characters.
  std::vector<bool> cut(t.size() + 1, false);
  for (std::size_t k = 1; k < t.size(); ++k) {
    const char32_t a = t[k - 1], b = t[k];
    if (is_punct(b) || is_punct(a)) cut[k] = true;
    if ((is_cjk(a) && is_ascii_alnum(b)) || (is_ascii_alnum(a) && is_cjk(b))) cut[k] = true;
  }
  for (std::size_t i = 0; i < t.size(); ++i) {
    for (const auto w : product_words().at(t, i)) {
      if (starts_with_at(t, i, w)) cut[i + w.size()] = true;
    }
  }
  // A known word must not be split: no cut strictly inside one.
  std::vector<bool> inside(t.size() + 1, false);
  for (std::size_t i = 0; i < t.size(); ++i) {
    for (const auto w : product_words().at(t, i)) {
      if (starts_with_at(t, i, w)) {
        for (std::size_t k = i + 1; k < i + w.size(); ++k) {
          cut[k] = false;
          inside[k] = true;
        }
      }
    }
  }
  for (std::size_t k = std::min(max_chars, t.size()); k >= std::max<std::size_t>(min_chars, 1); --k) {
    if (!cut[k]) continue;
    std::u32string s = t.substr(0, k);
    while (!s.empty() && (is_punct(s.back()))) s.pop_back();
    if (s.size() >= min_chars) return utf8_encode(s);
  }
  // No boundary leaves enough: a cut marked with "…", before a known word rather than inside it.
  std::size_t k = max_chars - 1;
  while (k > 1 && inside[k]) --k;
  return utf8_encode(t.substr(0, k)) + "…";
}

}  // namespace

std::string tidy_item_title(std::string_view title) {
  thread_local TitleMemo memo;
  return memo.get(std::string(title), [&] { return tidy_item_title_uncached(title); });
}

std::string shorten_title(std::string_view title, std::size_t max_chars, std::size_t min_chars) {
  thread_local TitleMemo memo;
  std::string key(title);
  key += '\0';
  key += std::to_string(max_chars);
  key += '/';
  key += std::to_string(min_chars);
  return memo.get(key, [&] { return shorten_title_uncached(title, max_chars, min_chars); });
}

std::string item_display_name(const Order& order, const std::vector<ItemShortName>& short_names) {
  for (const auto& s : short_names) {
    if (!s.code.empty() && trimmed(order.item_code) == s.code) return s.short_name;
    if (!s.title_keyword.empty() && contains(order.item, s.title_keyword)) return s.short_name;
  }
  return tidy_item_title(order.item);
}

const ItemCategory* item_category(std::string_view title, const std::vector<ItemCategory>& categories) {
  for (const auto& c : categories) {
    const auto has = [&](const std::string& k) { return contains(title, k); };
    if (std::any_of(c.title_any.begin(), c.title_any.end(), has) &&
        std::none_of(c.title_none.begin(), c.title_none.end(), has)) {
      return &c;
    }
  }
  return nullptr;
}

ItemCategoryIndex::ItemCategoryIndex(const std::vector<ItemCategory>& categories) : categories_(&categories) {
  std::vector<std::string> words;
  for (std::size_t c = 0; c < categories.size(); ++c) {
    for (const auto& w : categories[c].title_any) {
      words.push_back(w);
      owner_.emplace_back(static_cast<std::uint32_t>(c), false);
    }
    for (const auto& w : categories[c].title_none) {
      words.push_back(w);
      owner_.emplace_back(static_cast<std::uint32_t>(c), true);
    }
  }
  // An empty keyword is never found, as contains() never finds it.
  words_ = WordSet(words);
}

const ItemCategory* ItemCategoryIndex::find(std::string_view title) const {
  hits_.clear();
  words_.find_all(title, hits_);
  any_.assign(categories_->size(), 0);
  none_.assign(categories_->size(), 0);
  for (const auto& h : hits_) {
    const auto& [category, exclusion] = owner_[h.word];
    (exclusion ? none_ : any_)[category] = 1;
  }
  for (std::size_t c = 0; c < categories_->size(); ++c) {
    if (any_[c] && !none_[c]) return &(*categories_)[c];
  }
  return nullptr;
}

}  // namespace cuifu
