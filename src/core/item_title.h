// Item titles as a person would name the item in a message.
//
// Shop titles are keyword soup for search (【包邮】北欧实木双人床1.8米主卧现代简约储物高箱床
// 2024新款). A message names the item briefly: the shop's own short name when the rules map
// the item code or a title keyword to one, otherwise the title without tags and spec
// fragments, cut at a word boundary, never mid-word. Pure; no state.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/order.h"
#include "core/rules.h"
#include "core/word_set.h"

namespace cuifu {

// The title without bracketed tags (【包邮】, [现货]), spec fragments (1.8米, 200*230cm,
// 500g, 3袋装, x2) and selling words (新款, 爆款, 特价, 包邮, 现货 …). Each removed piece
// leaves a word boundary (a space); spaces are collapsed.
std::string tidy_item_title(std::string_view title);

// At most max_chars characters of a tidied title, cut at the last word boundary that fits
// (a space, punctuation, a change between Chinese and Latin/digits, or the end of a known
// product word such as 双人床, 床头柜, 沙发); only when no boundary leaves at least
// min_chars does it cut mid-word, with "…".
std::string shorten_title(std::string_view title, std::size_t max_chars, std::size_t min_chars = 2);

// What a message calls the order's item: the rules' short name for its code (商家编码) or
// for a keyword of its title (first match), else the tidied title.
std::string item_display_name(const Order& order, const std::vector<ItemShortName>& short_names);

// The first category whose title_any matches the title and whose title_none does not;
// nullptr when none.
const ItemCategory* item_category(std::string_view title, const std::vector<ItemCategory>& categories);

// item_category() over the same categories with the title read once: every keyword of every
// category in one WordSet, where item_category() searches the title for each keyword in turn
// (a few thousand instructions per buyer planned). The same category for every title.
// `categories` must outlive the index; find() is for one thread at a time (it keeps its
// working lists for their memory).
class ItemCategoryIndex {
 public:
  explicit ItemCategoryIndex(const std::vector<ItemCategory>& categories);
  const ItemCategory* find(std::string_view title) const;

 private:
  const std::vector<ItemCategory>* categories_;
  WordSet words_;
  // Per word of words_: its category, and whether it is one of its title_none.
  std::vector<std::pair<std::uint32_t, bool>> owner_;
  mutable std::vector<WordSet::Hit> hits_;
  mutable std::vector<char> any_, none_;  // per category: a title_any / title_none word found
};

}  // namespace cuifu
