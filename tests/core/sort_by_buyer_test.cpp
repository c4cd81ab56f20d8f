// Grouping orders by buyer on several threads: the order std::stable_sort by (shop, buyer)
// gives, whatever the nicknames' bytes and however many threads sort them.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "core/order.h"
#include "core/parallel.h"

namespace cuifu {
namespace {

TEST(ParallelStableSort, KeepsEqualItemsInTheirOrderOnAnyNumberOfThreads) {
  std::mt19937 random(11);
  std::vector<std::pair<int, int>> items;  // (key, position): few keys, so many equal items
  for (int i = 0; i < 10007; ++i) items.emplace_back(static_cast<int>(random() % 37), i);
  const auto by_key = [](const auto& a, const auto& b) { return a.first < b.first; };
  auto expected = items;
  std::stable_sort(expected.begin(), expected.end(), by_key);
  for (std::size_t threads : {1, 2, 3, 4, 5, 8}) {
    auto sorted = items;
    parallel_stable_sort(sorted, threads, by_key);
    EXPECT_EQ(sorted, expected) << threads << " threads";
  }
  std::vector<std::pair<int, int>> two{{2, 0}, {1, 1}};
  parallel_stable_sort(two, 8, by_key);  // more threads than items
  EXPECT_EQ(two, (std::vector<std::pair<int, int>>{{1, 1}, {2, 0}}));
}

TEST(SortByBuyer, GroupsAsAStableSortByShopThenNicknameBytes) {
  // Nicknames that share their first eight bytes, are prefixes of each other, hold a zero
  // byte or bytes above 0x7f (UTF-8), or are empty: what a sort on their heads could get wrong.
  const std::vector<std::string> nicknames{"t_1617902674179_2230~4",
                                           "t_1617902674179_2230~40",
                                           "t_1617902674179_223",
                                           "t_161790",
                                           "t_16179",
                                           "t_1617900",
                                           std::string("t_16\0\0", 6),
                                           std::string("t_16\0", 5),
                                           "t_16",
                                           "",
                                           "晚风吹人醒",
                                           "晚风吹人",
                                           "晚风",
                                           "xiaoming0727",
                                           "xiaoming0727~7",
                                           "Xiaoming",
                                           "\xff\xfe",
                                           "\x7f"};
  const std::vector<std::string> shops{"青禾家居旗舰店", "青禾家居", "", "shop-b"};
  std::mt19937 random(5);
  std::vector<Order> orders(20000);
  for (std::size_t i = 0; i < orders.size(); ++i) {
    orders[i].id = std::to_string(i);
    orders[i].buyer = nicknames[random() % nicknames.size()];
    // Runs of one shop, as in a shop's own export, and now and then another.
    orders[i].shop = shops[(i / 3000 + (random() % 9 == 0)) % shops.size()];
  }
  std::vector<const Order*> expected;
  for (const auto& o : orders) expected.push_back(&o);
  std::stable_sort(expected.begin(), expected.end(), [](const Order* a, const Order* b) {
    return a->shop != b->shop ? a->shop < b->shop : a->buyer < b->buyer;
  });
  for (std::size_t threads : {1, 2, 3, 8}) {
    std::vector<const Order*> sorted;
    for (const auto& o : orders) sorted.push_back(&o);
    sort_by_buyer(sorted, threads);
    ASSERT_EQ(sorted.size(), expected.size());
    for (std::size_t i = 0; i < sorted.size(); ++i) {
      ASSERT_EQ(sorted[i], expected[i]) << "at " << i << " on " << threads << " threads: order " << sorted[i]->id
                                        << " (" << sorted[i]->shop << ", " << sorted[i]->buyer << "), expected "
                                        << expected[i]->id << " (" << expected[i]->shop << ", " << expected[i]->buyer
                                        << ")";
    }
  }
}

// sort_by_buyer compares ranked shops and the buyers' first bytes; it must give exactly what
// a stable sort by the whole (shop, buyer) strings gives, on names that share long prefixes,
// are prefixes of each other, hold zero and high bytes, and repeat far apart.
TEST(SortByBuyer, GroupsAsAStableSortOnNamesThatShareLongPrefixes) {
  const std::vector<std::string> shops = {"", "青禾家居旗舰店", "青禾家居旗舰", "A", std::string("A\0", 2), "B"};
  const std::vector<std::string> stems = {
      "",     "a",    "amy_1987", "amy_19870", "amy_1988", "张", "张三", "张三丰", std::string("amy\0", 4),
      "\xff", "\x7f", "Zoe"};
  std::mt19937 rng(11);
  for (int round = 0; round < 20; ++round) {
    std::vector<Order> orders;
    const int n = 1 + static_cast<int>(rng() % 3000);
    for (int i = 0; i < n; ++i) {
      Order o;
      o.id = std::to_string(i);
      o.shop = shops[rng() % shops.size()];
      o.buyer = stems[rng() % stems.size()];
      if (rng() % 2) o.buyer += std::to_string(rng() % 40);
      orders.push_back(std::move(o));
    }
    std::vector<const Order*> expected;
    for (const auto& o : orders) expected.push_back(&o);
    std::stable_sort(expected.begin(), expected.end(), [](const Order* a, const Order* b) {
      const int shop = a->shop.compare(b->shop);
      return shop != 0 ? shop < 0 : a->buyer < b->buyer;
    });
    for (std::size_t threads : {1, 2, 3}) {
      std::vector<const Order*> sorted;
      for (const auto& o : orders) sorted.push_back(&o);
      sort_by_buyer(sorted, threads);
      ASSERT_EQ(sorted, expected) << "round " << round << ", " << threads << " threads";
    }
  }
}

// The runs sort_by_buyer reports come from its keys (shop rank, the nickname's first 24 bytes and
// length): they must be exactly the runs of equal (shop, buyer) strings in the sorted list, for
// nicknames equal in their first 24 bytes, of one length, prefixes of each other, with zero bytes.
TEST(SortByBuyer, RunsAreTheRunsOfEqualShopAndBuyer) {
  const std::vector<std::string> shops = {"", "青禾家居旗舰店", "青禾家居旗舰", "A", std::string("A\0", 2)};
  const std::vector<std::string> stems = {"",
                                          "t_1617902674179_2230",
                                          "t_1617902674179_2230~4",
                                          "t_1617902674179_2230~40",
                                          "t_1617902674179_2230~40x",  // 24 bytes
                                          "t_1617902674179_2230~40xy",
                                          "t_1617902674179_2230~40xz",
                                          std::string("t_1617902674179_2230~40\0", 24),
                                          std::string("t_1617902674179_2230~40\0\0", 25),
                                          "晚风吹人醒晚风吹人醒",
                                          "晚风吹人醒晚风吹人醒晚",
                                          "\xff",
                                          std::string("\0", 1)};
  std::mt19937 rng(23);
  for (int round = 0; round < 20; ++round) {
    std::vector<Order> orders;
    const int n = 1 + static_cast<int>(rng() % 2000);
    for (int i = 0; i < n; ++i) {
      Order o;
      o.id = std::to_string(i);
      o.shop = shops[rng() % shops.size()];
      o.buyer = stems[rng() % stems.size()];
      if (rng() % 3 == 0) o.buyer += std::to_string(rng() % 5);
      orders.push_back(std::move(o));
    }
    for (std::size_t threads : {1, 2, 3}) {
      std::vector<const Order*> sorted;
      for (const auto& o : orders) sorted.push_back(&o);
      std::vector<BuyerRun> runs;
      sort_by_buyer(sorted, threads, runs);
      std::vector<BuyerRun> expected;
      for (std::size_t i = 0; i < sorted.size(); ++i) {
        const bool new_shop = i == 0 || sorted[i]->shop != sorted[i - 1]->shop;
        if (new_shop || sorted[i]->buyer != sorted[i - 1]->buyer) expected.push_back({i, 0, new_shop});
        ++expected.back().count;
      }
      ASSERT_EQ(runs.size(), expected.size()) << "round " << round << ", " << threads << " threads";
      for (std::size_t r = 0; r < runs.size(); ++r) {
        EXPECT_EQ(runs[r].first, expected[r].first) << "run " << r;
        EXPECT_EQ(runs[r].count, expected[r].count) << "run " << r;
        EXPECT_EQ(runs[r].new_shop, expected[r].new_shop) << "run " << r;
      }
      std::vector<const Order*> plain;
      for (const auto& o : orders) plain.push_back(&o);
      sort_by_buyer(plain, threads);
      ASSERT_EQ(plain, sorted);
    }
  }
}

}  // namespace
}  // namespace cuifu
