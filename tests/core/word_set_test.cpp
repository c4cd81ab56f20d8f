// WordSet finds, in one pass, exactly the occurrences a find() per word finds.
#include "core/word_set.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <tuple>
#include <vector>

namespace cuifu {
namespace {

std::vector<std::pair<std::uint32_t, std::uint32_t>> by_find(const std::vector<std::string>& words,
                                                             std::string_view text) {
  std::vector<std::pair<std::uint32_t, std::uint32_t>> out;
  for (std::size_t w = 0; w < words.size(); ++w) {
    if (words[w].empty()) continue;
    for (auto at = text.find(words[w]); at != std::string_view::npos; at = text.find(words[w], at + 1)) {
      out.emplace_back(static_cast<std::uint32_t>(at), static_cast<std::uint32_t>(w));
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::pair<std::uint32_t, std::uint32_t>> by_set(const WordSet& set, std::string_view text) {
  std::vector<WordSet::Hit> hits;
  set.find_all(text, hits);
  std::vector<std::pair<std::uint32_t, std::uint32_t>> out;
  for (const auto& h : hits) out.emplace_back(h.at, h.word);
  return out;
}

TEST(WordSet, FindsOverlappingRepeatedAndOneByteWordsInOrder) {
  const std::vector<std::string> words = {"产业园区", "产业园", "园区", "", "区", "园区", "A座"};
  const WordSet set(words);
  const std::string text = "苏州产业园区A座 园区园区";
  const auto hits = by_set(set, text);
  EXPECT_EQ(hits, by_find(words, text));
  ASSERT_FALSE(hits.empty());
  EXPECT_EQ(hits.front(), std::make_pair(std::uint32_t{6}, std::uint32_t{0}));  // 产业园区 at byte 6
  EXPECT_TRUE(by_set(set, "").empty());
  EXPECT_TRUE(by_set(WordSet(), text).empty());
}

// find_all() skips offsets no word starts at and checks a word's third byte before the rest:
// words that share their first two bytes (学 E5 AD A6, 孵 E5 AD B5), a two-byte word, and
// words that start inside a character are all found where find() finds them.
TEST(WordSet, FindsWordsSharingTheirFirstTwoBytesAndWordsStartingInsideACharacter) {
  const std::vector<std::string> words = {"学院", "孵化", "\xe5\xad", "\xad\xa6院", "学", "院区"};
  const WordSet set(words);
  for (const std::string text : {"大学学院孵化器院区", "孵学", "学", "\xe5\xad", "\xe5", "学院区学"}) {
    EXPECT_EQ(by_set(set, text), by_find(words, text)) << text;
  }
  EXPECT_EQ(by_set(set, "大学院").size(), by_find(words, "大学院").size());
  EXPECT_FALSE(by_set(set, "孵化").empty());
}

// Random words and texts over a few bytes, so that words overlap, share prefixes, end at the
// text's end and cut UTF-8 characters in two.
TEST(WordSet, FindsWhatFindPerWordFindsOnRandomText) {
  const std::vector<std::string> pieces = {"a", "b", "\xe5", "\xad\xa6", "学", "院", "学院", "\x1f", " "};
  std::mt19937 rng(11);
  const auto pick = [&](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
  for (int round = 0; round < 300; ++round) {
    std::vector<std::string> words(1 + pick(12));
    for (auto& w : words) {
      const std::size_t len = pick(4);
      for (std::size_t k = 0; k < len; ++k) w += pieces[pick(pieces.size())];
    }
    const WordSet set(words);
    for (int t = 0; t < 20; ++t) {
      std::string text;
      const std::size_t len = pick(16);
      for (std::size_t k = 0; k < len; ++k) text += pieces[pick(pieces.size())];
      ASSERT_EQ(by_set(set, text), by_find(words, text)) << "round " << round << " text '" << text << "'";
    }
  }
}

}  // namespace
}  // namespace cuifu
