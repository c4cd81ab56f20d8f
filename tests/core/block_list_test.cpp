#include "core/block_list.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace cuifu {
namespace {

TEST(BlockList, KeepsItemsInOrderAcrossBlocksAndMovesThemAllOut) {
  BlockList<std::string, 3 * sizeof(std::string)> list;  // three items a block
  static_assert(BlockList<std::string, 3 * sizeof(std::string)>::kPerBlock == 3);
  std::vector<const std::string*> addresses;
  for (int i = 0; i < 10; ++i) {
    list.push_back("item number " + std::to_string(i) + " with a heap buffer");
    addresses.push_back(&list[static_cast<std::size_t>(i)]);
  }
  ASSERT_EQ(list.size(), 10u);
  for (std::size_t i = 0; i < 10; ++i) {
    EXPECT_EQ(&list[i], addresses[i]) << "items never move while the list grows";
    EXPECT_EQ(list[i], "item number " + std::to_string(i) + " with a heap buffer");
  }
  std::vector<std::string> into = {"before"};
  list.move_into(into);
  EXPECT_TRUE(list.empty());
  ASSERT_EQ(into.size(), 11u);
  EXPECT_EQ(into.front(), "before");
  for (std::size_t i = 0; i < 10; ++i)
    EXPECT_EQ(into[i + 1], "item number " + std::to_string(i) + " with a heap buffer");
  list.push_back("again");  // usable after a move
  EXPECT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0], "again");
}

TEST(BlockList, DefaultBlocksHoldFortyMegabytes) {
  struct Big {
    char bytes[384];
  };
  EXPECT_EQ(BlockList<Big>::kPerBlock, (std::size_t{40} << 20) / 384 + 1);
  BlockList<Big> list;
  EXPECT_TRUE(list.empty());
}

}  // namespace
}  // namespace cuifu
