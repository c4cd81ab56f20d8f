// BlockList: items appended in big blocks, moved out block by block (the backtest's parts).
//
// Pure std. Not thread-safe: one thread at a time.
#pragma once

#include <cstddef>
#include <iterator>
#include <utility>
#include <vector>

namespace cuifu {

// A list that grows without moving its items, in blocks of BlockBytes (40 MB by default, over
// the 32 MB that glibc's adaptive mmap threshold reaches at most: such a block is mmapped and
// given back to the system as soon as it is freed). move_into() frees each block once its items
// are moved, so a join of big lists never holds them twice. (The backtest's parts were deques:
// their nodes, one reminder each, were freed one by one among the strings the result took over,
// so the process kept them; at 1M orders the join held every reminder and outcome twice, 0.8 GB
// more.) Pages of a block not yet written take no memory. Items keep their addresses until they
// are moved out.
template <class T, std::size_t BlockBytes = (std::size_t{40} << 20)>
class BlockList {
 public:
  static constexpr std::size_t kPerBlock = (BlockBytes + sizeof(T) - 1) / sizeof(T);

  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  T& operator[](std::size_t i) { return blocks_[i / kPerBlock][i % kPerBlock]; }
  void push_back(T&& item) {
    if (size_ % kPerBlock == 0) {
      blocks_.emplace_back();
      blocks_.back().reserve(kPerBlock);  // never grows past it: the items never move
    }
    blocks_.back().push_back(std::move(item));
    ++size_;
  }
  // Moves every item, in order, to the end of `into`, freeing each block once it is moved.
  void move_into(std::vector<T>& into) {
    for (auto& block : blocks_) {
      std::move(block.begin(), block.end(), std::back_inserter(into));
      std::vector<T>().swap(block);
    }
    blocks_.clear();
    size_ = 0;
  }

 private:
  std::vector<std::vector<T>> blocks_;
  std::size_t size_ = 0;
};

}  // namespace cuifu
