// Item titles in messages: tags and spec fragments dropped, cut at word boundaries, the
// shop's short names, and categories from title keywords.
#include "core/item_title.h"

#include <gtest/gtest.h>

#include "core/text.h"

namespace cuifu {
namespace {

TEST(ItemTitle, TidyDropsTagsSpecsAndSellingWords) {
  EXPECT_EQ(tidy_item_title("【包邮】北欧实木双人床1.8米主卧现代简约储物高箱床"),
            "北欧实木双人床 主卧现代简约储物高箱床");
  EXPECT_EQ(tidy_item_title("2024新款 记忆棉枕头 60*40cm"), "记忆棉枕头");
  EXPECT_EQ(tidy_item_title("[现货]内蒙古风干牛肉干500g 3袋装"), "内蒙古风干牛肉干");
  EXPECT_EQ(tidy_item_title("iPhone15 手机壳"), "iPhone15 手机壳");  // a model number is no spec
}

TEST(ItemTitle, ShorteningCutsAtAWordBoundaryNotMidWord) {
  // Today's mid-word cut: 北欧实木双人床1.8…
  const std::string s = shorten_title("北欧实木双人床1.8米主卧现代简约储物高箱床", 10);
  EXPECT_EQ(s, "北欧实木双人床");
  EXPECT_EQ(shorten_title("北欧实木双人床 主卧", 20), "北欧实木双人床 主卧");
  EXPECT_EQ(shorten_title("简约现代 北欧实木床头柜 卧室小型储物柜", 12), "简约现代 北欧实木床头柜");
  // No space or punctuation: the end of a known product word is a boundary, its inside is not.
  EXPECT_EQ(shorten_title("北欧实木床头柜简约现代卧室小型储物柜收纳柜", 9), "北欧实木床头柜");
  // Too short for any boundary: a cut marked with "…", still outside the known word.
  EXPECT_EQ(shorten_title("北欧实木床头柜简约现代卧室小型储物柜收纳柜", 6, 2), "北欧实木…");
}

TEST(ItemTitle, NothingToCutAtFallsBackToAMarkedCut) {
  const std::string s = shorten_title("一二三四五六七八九十", 6, 4);
  EXPECT_EQ(char_count(s), 6u);
  EXPECT_EQ(s, "一二三四五…");
}

TEST(ItemTitle, ShortNamesByCodeOrTitleKeyword) {
  std::vector<ItemShortName> names = {{"QH-BED-18", "", "实木双人床", {}}, {"", "床头柜", "实木床头柜", {}}};
  Order o;
  o.item = "北欧实木双人床1.8米主卧现代简约";
  o.item_code = "QH-BED-18";
  EXPECT_EQ(item_display_name(o, names), "实木双人床");
  o.item_code.clear();
  EXPECT_EQ(item_display_name(o, names), "北欧实木双人床 主卧现代简约");
  o.item = "北欧实木床头柜简约现代";
  EXPECT_EQ(item_display_name(o, names), "实木床头柜");
}

TEST(ItemTitle, CategoryNeedsAKeywordAndNoneOfTheExclusions) {
  std::vector<ItemCategory> cats = {{"furniture", {"双人床", "沙发"}, {"四件套", "沙发垫"}, "送货上门并安装", {}}};
  EXPECT_NE(item_category("北欧实木双人床1.8米", cats), nullptr);
  EXPECT_EQ(item_category("双人床床上四件套纯棉", cats), nullptr);
  EXPECT_EQ(item_category("沙发垫四季通用", cats), nullptr);
  EXPECT_EQ(item_category("内蒙古风干牛肉干 3袋", cats), nullptr);
}

// The planner finds the category through ItemCategoryIndex: the same category as
// item_category() for every title, the rules' own categories and edge cases alike.
TEST(ItemTitle, CategoryIndexFindsWhatItemCategoryFinds) {
  const std::vector<std::vector<ItemCategory>> rule_sets = {
      {{"furniture",
        {"双人床", "单人床", "儿童床", "床头柜", "沙发", "衣柜", "书柜", "鞋柜", "餐桌", "书桌", "茶几", "电视柜"},
        {"四件套", "床单", "被套", "床笠", "沙发垫", "沙发套", "抱枕", "模型"},
        "送货上门并安装",
        {}}},
      // A word excluded by the first category and wanted by the second; a word in both lists
      // of one category; overlapping words; one-byte words; an empty word (never found, as
      // contains() never finds it); a category without title_any words; the same word twice.
      {{"beds", {"床", "双人床", "x"}, {"床垫", "", "X"}, "a", {}},
       {"bedding", {"床垫", "四件套", "床垫"}, {"沙发"}, "b", {}},
       {"both", {"沙发", "牛"}, {"牛"}, "", {}},
       {"empty", {""}, {}, "", {}},
       {"nothing", {}, {"床"}, "", {}},
       {"latin", {"sofa", "o", "fa"}, {"sofa bed"}, "c", {}}},
      {},
  };
  const std::vector<std::string> titles = {
      "",
      "北欧实木双人床1.8米",
      "双人床床上四件套纯棉",
      "沙发垫四季通用",
      "内蒙古风干牛肉干 3袋",
      "乳胶床垫",
      "床",
      "床垫床",
      "x",
      "X",
      "xX",
      "真皮沙发",
      "牛皮沙发",
      "sofa",
      "sofa bed",
      "a sofa bedroom set",
      "fa",
      "双人床床头柜电视柜茶几沙发套",
      "【包邮】北欧实木床头柜简约现代",
      std::string("床\0垫", 5),
      "\xE5\xBA",  // cut inside 床 (E5 BA 8A)
  };
  for (const auto& cats : rule_sets) {
    const ItemCategoryIndex index(cats);
    for (const auto& title : titles) {
      EXPECT_EQ(index.find(title), item_category(title, cats)) << title;
    }
  }
}

}  // namespace
}  // namespace cuifu
