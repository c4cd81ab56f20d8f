#include "core/order.h"

#include <fmt/compile.h>
#include <fmt/format.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <map>
#include <string_view>

#include "core/format_text.h"
#include "core/parallel.h"

namespace cuifu {

std::string format_money(Money fen) {
  const char* sign = fen < 0 ? "-" : "";
  const Money a = fen < 0 ? -fen : fen;
  return format_text(FMT_COMPILE("{}{}.{:02d}"), sign, a / 100, a % 100);
}

std::string_view to_string(OrderStatus s) {
  switch (s) {
    case OrderStatus::unpaid: return "unpaid";
    case OrderStatus::paid: return "paid";
    case OrderStatus::closed: return "closed";
  }
  return "?";
}

std::string_view to_string(OrderType t) {
  switch (t) {
    case OrderType::normal: return "normal";
    case OrderType::presale: return "presale";
    case OrderType::flash_sale: return "flash_sale";
  }
  return "?";
}

OrderType order_type_from_text(std::string_view text) {
  std::string lower(text);
  for (char& c : lower) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  const auto has = [&](std::string_view word) { return lower.find(word) != std::string::npos; };
  if (has("presale") || has("pre-sale") || has("pre_sale") || has("预售") || has("定金") || has("尾款")) {
    return OrderType::presale;
  }
  if (has("flash") || has("聚划算") || has("秒杀") || has("限时抢购")) return OrderType::flash_sale;
  return OrderType::normal;
}

void sort_by_buyer(std::vector<const Order*>& orders, std::size_t threads) {
  std::vector<BuyerRun> runs;
  sort_by_buyer(orders, threads, runs);
}

void sort_by_buyer(std::vector<const Order*>& orders, std::size_t threads, std::vector<BuyerRun>& runs) {
  runs.clear();
  const auto add_run = [&](std::size_t i, bool new_buyer, bool new_shop) {
    if (i == 0 || new_buyer) runs.push_back({i, 0, i == 0 || new_shop});
    ++runs.back().count;
  };
  // Sorted as small keys: the shop's rank among the shops and the buyer's first 24 bytes and
  // length decide most comparisons without touching the strings (generated nicknames such as
  // "t_1617902674179_2230" share their first 16 bytes); the whole nickname, then the position,
  // decide the rest.
  constexpr std::size_t kHead = 24;
  struct Key {
    std::uint64_t head[3] = {};  // the buyer's first 24 bytes, big-endian, zero-padded
    std::uint32_t size = 0;      // the buyer's length, capped at UINT32_MAX
    std::uint32_t shop = 0;      // rank of the shop's name
    std::uint32_t at = 0;        // position in `orders`
  };
  if (orders.size() > UINT32_MAX) {
    std::stable_sort(orders.begin(), orders.end(), [](const Order* a, const Order* b) {
      const int shop = a->shop.compare(b->shop);
      return shop != 0 ? shop < 0 : a->buyer < b->buyer;
    });
    for (std::size_t i = 0; i < orders.size(); ++i) {
      const bool new_shop = i > 0 && orders[i]->shop != orders[i - 1]->shop;
      add_run(i, new_shop || (i > 0 && orders[i]->buyer != orders[i - 1]->buyer), new_shop);
    }
    return;
  }
  std::map<std::string_view, std::uint32_t> shops;
  for (std::size_t i = 0; i < orders.size(); ++i) {
    if (i == 0 || orders[i]->shop != orders[i - 1]->shop) shops.try_emplace(orders[i]->shop, 0);
  }
  std::uint32_t rank = 0;
  for (auto& [name, r] : shops) r = rank++;
  std::vector<Key> keys(orders.size());
  const std::string* last_shop = nullptr;
  std::uint32_t last_rank = 0;
  for (std::size_t i = 0; i < orders.size(); ++i) {
    const Order& o = *orders[i];
    if (!last_shop || *last_shop != o.shop) {
      last_shop = &o.shop;
      last_rank = shops.find(o.shop)->second;
    }
    Key& k = keys[i];
    unsigned char bytes[kHead] = {};
    std::memcpy(bytes, o.buyer.data(), std::min(o.buyer.size(), kHead));
    for (std::size_t w = 0; w < 3; ++w) {
      std::uint64_t v = 0;
      for (std::size_t b = 0; b < 8; ++b) v = v << 8 | bytes[w * 8 + b];
      k.head[w] = v;
    }
    k.size = static_cast<std::uint32_t>(std::min<std::size_t>(o.buyer.size(), UINT32_MAX));
    k.shop = last_rank;
    k.at = static_cast<std::uint32_t>(i);
  }
  // Where the heads differ they order the nicknames as their bytes do: a zero-padded head
  // that differs belongs to a nickname that is a proper prefix of the other, or differs in a
  // real byte there. Equal heads and both nicknames within them: the shorter is a prefix.
  const auto short_name = [](const Key& k) { return k.size <= kHead; };
  parallel_stable_sort(keys, threads, [&](const Key& a, const Key& b) {
    if (a.shop != b.shop) return a.shop < b.shop;
    for (std::size_t w = 0; w < 3; ++w) {
      if (a.head[w] != b.head[w]) return a.head[w] < b.head[w];
    }
    if (short_name(a) && short_name(b)) return a.size != b.size ? a.size < b.size : a.at < b.at;
    const int c = orders[a.at]->buyer.compare(orders[b.at]->buyer);
    return c != 0 ? c < 0 : a.at < b.at;
  });
  std::vector<const Order*> sorted(orders.size());
  for (std::size_t i = 0; i < keys.size(); ++i) {
    sorted[i] = orders[keys[i].at];
    if (i == 0) {
      add_run(0, true, true);
      continue;
    }
    const Key& a = keys[i - 1];
    const Key& b = keys[i];
    const bool new_shop = a.shop != b.shop;
    bool new_buyer =
        new_shop || a.size != b.size || a.head[0] != b.head[0] || a.head[1] != b.head[1] || a.head[2] != b.head[2];
    if (!new_buyer && !short_name(b)) new_buyer = sorted[i - 1]->buyer != sorted[i]->buyer;
    add_run(i, new_buyer, new_shop);
  }
  orders.swap(sorted);
}

}  // namespace cuifu
