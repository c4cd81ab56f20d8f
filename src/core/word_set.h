// A fixed set of words found in a text in one pass: every occurrence of every word, as
// std::string_view::find would find them one word at a time, but reading the text once.
//
// Immutable once built; find_all() may be called from any number of threads at once.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace cuifu {

class WordSet {
 public:
  struct Hit {
    std::uint32_t word;  // index into the words given to the constructor
    std::uint32_t at;    // byte offset in the text
  };

  WordSet() = default;
  // Empty words are kept (so indices stay those of `words`) but never found.
  explicit WordSet(const std::vector<std::string>& words);

  std::size_t size() const { return words_.size(); }
  const std::string& word(std::size_t i) const { return words_[i]; }

  // Appends to `hits` every (word, offset) where words[word] occurs in `text` byte for byte,
  // overlapping occurrences included, ordered by offset (then by word index).
  void find_all(std::string_view text, std::vector<Hit>& hits) const;

 private:
  static std::uint32_t key2(unsigned char a, unsigned char b) { return (std::uint32_t{a} << 8) | b; }

  std::vector<std::string> words_;
  // Words of two bytes or more, grouped by their first two bytes: first_two_[key2] is the range
  // [by_pair_start_[key2], by_pair_start_[key2 + 1]) of by_pair_.
  std::vector<std::uint32_t> by_pair_start_;
  std::vector<std::uint32_t> by_pair_;
  // One-byte words by their byte.
  std::vector<std::uint32_t> single_start_;
  std::vector<std::uint32_t> single_;
  // Whether some word starts with this byte: at any other offset no word can be found (in
  // Chinese text, two bytes of three are UTF-8 continuation bytes no word starts with).
  std::array<bool, 256> starts_word_{};
};

}  // namespace cuifu
