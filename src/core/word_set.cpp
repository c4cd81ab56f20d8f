#include "core/word_set.h"

#include <algorithm>
#include <cstring>

namespace cuifu {

namespace {

// Counting sort of word indices into buckets: start[b]..start[b + 1] holds the words of bucket b.
void bucket(std::size_t buckets, const std::vector<std::pair<std::uint32_t, std::uint32_t>>& keyed,
            std::vector<std::uint32_t>& start, std::vector<std::uint32_t>& items) {
  start.assign(buckets + 1, 0);
  for (const auto& [key, word] : keyed) ++start[key + 1];
  for (std::size_t b = 0; b < buckets; ++b) start[b + 1] += start[b];
  items.assign(keyed.size(), 0);
  std::vector<std::uint32_t> next(start.begin(), start.end() - 1);
  for (const auto& [key, word] : keyed) items[next[key]++] = word;  // keyed is in word order
}

}  // namespace

WordSet::WordSet(const std::vector<std::string>& words) : words_(words) {
  std::vector<std::pair<std::uint32_t, std::uint32_t>> pairs, singles;
  for (std::size_t i = 0; i < words_.size(); ++i) {
    const std::string& w = words_[i];
    const auto id = static_cast<std::uint32_t>(i);
    if (!w.empty()) starts_word_[static_cast<unsigned char>(w[0])] = true;
    if (w.size() == 1) singles.emplace_back(static_cast<unsigned char>(w[0]), id);
    if (w.size() >= 2) pairs.emplace_back(key2(static_cast<unsigned char>(w[0]), static_cast<unsigned char>(w[1])), id);
  }
  bucket(256, singles, single_start_, single_);
  bucket(65536, pairs, by_pair_start_, by_pair_);
}

void WordSet::find_all(std::string_view text, std::vector<Hit>& hits) const {
  if (words_.empty()) return;
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  const bool any_single = !single_.empty();
  std::size_t from = hits.size();
  for (std::size_t i = 0; i < n; ++i) {
    if (!starts_word_[p[i]]) continue;  // no hit at i: nothing to find, nothing to sort
    if (any_single) {
      for (std::uint32_t k = single_start_[p[i]]; k < single_start_[p[i] + 1u]; ++k) {
        hits.push_back({single_[k], static_cast<std::uint32_t>(i)});
      }
    }
    if (i + 1 >= n) break;
    const std::uint32_t key = key2(p[i], p[i + 1]);
    const std::uint32_t end = by_pair_start_[key + 1];
    for (std::uint32_t k = by_pair_start_[key]; k < end; ++k) {
      const std::string& w = words_[by_pair_[k]];
      // The third byte first (most words that share two bytes with the text differ in it).
      if (w.size() <= n - i && (w.size() == 2 || static_cast<unsigned char>(w[2]) == p[i + 2]) &&
          std::memcmp(w.data() + 2, p + i + 2, w.size() - 2) == 0) {
        hits.push_back({by_pair_[k], static_cast<std::uint32_t>(i)});
      }
    }
    // Hits at one offset in word order (singles and pairs were appended separately).
    if (any_single && hits.size() - from > 1) {
      std::sort(hits.begin() + static_cast<std::ptrdiff_t>(from), hits.end(),
                [](const Hit& a, const Hit& b) { return a.word < b.word; });
    }
    from = hits.size();
  }
}

}  // namespace cuifu
