#include "core/order.h"

#include <fmt/compile.h>
#include <fmt/format.h>

#include <algorithm>
#include <climits>
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
  // Sorted as small keys: the shop's rank among the shops and the buyer's first eight bytes
  // decide most comparisons without touching the strings; the whole nickname, then the
  // position, decide the rest.
  struct Key {
    std::uint64_t head = 0;  // the buyer's first 8 bytes, big-endian, zero-padded
    std::uint32_t shop = 0;  // rank of the shop's name
    std::uint32_t at = 0;    // position in `orders`
  };
  if (orders.size() > UINT32_MAX) {
    std::stable_sort(orders.begin(), orders.end(), [](const Order* a, const Order* b) {
      const int shop = a->shop.compare(b->shop);
      return shop != 0 ? shop < 0 : a->buyer < b->buyer;
    });
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
    std::uint64_t head = 0;
    for (std::size_t b = 0; b < 8; ++b) {
      head = head << 8 | (b < o.buyer.size() ? static_cast<unsigned char>(o.buyer[b]) : 0u);
    }
    keys[i] = {head, last_rank, static_cast<std::uint32_t>(i)};
  }
  // Where the heads differ they order the nicknames as their bytes do: a zero-padded head
  // that differs belongs to a nickname that is a proper prefix of the other, or differs in a
  // real byte there.
  parallel_stable_sort(keys, threads, [&](const Key& a, const Key& b) {
    if (a.shop != b.shop) return a.shop < b.shop;
    if (a.head != b.head) return a.head < b.head;
    const int c = orders[a.at]->buyer.compare(orders[b.at]->buyer);
    return c != 0 ? c < 0 : a.at < b.at;
  });
  std::vector<const Order*> sorted(orders.size());
  for (std::size_t i = 0; i < keys.size(); ++i) sorted[i] = orders[keys[i].at];
  orders.swap(sorted);
}

}  // namespace cuifu
