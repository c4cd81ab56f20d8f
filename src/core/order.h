// The order as cuifu sees it, whatever feed it came from.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include "core/clock_time.h"

namespace cuifu {

// Money in fen (1/100 CNY, or the feed's minor unit); never floating point.
using Money = std::int64_t;

// "1299.00" for 129900.
std::string format_money(Money fen);

enum class OrderStatus { unpaid, paid, closed };

std::string_view to_string(OrderStatus s);

// How the order was sold, from the export's 订单类型 (or the mapping / JSONL order_type):
// presale (预售: a deposit now, the balance (尾款) in a window that opens later) or
// flash_sale (聚划算 / 秒杀: the order closes about 30 minutes after it was placed).
enum class OrderType { normal, presale, flash_sale };

std::string_view to_string(OrderType t);
// "presale", "预售", "预售订单", "定金" … -> presale; "flash_sale", "聚划算", "秒杀" … ->
// flash_sale; anything else (一口价, 普通订单, "") -> normal.
OrderType order_type_from_text(std::string_view text);

// One order row from a feed. Plain value; copies are cheap enough.
struct Order {
  std::string id;             // 订单编号; never empty
  std::string buyer;          // 买家会员名 (the buyer's account / nickname)
  std::string receiver_name;  // 收货人姓名
  std::string address;        // 收货地址
  std::string phone;          // 联系手机
  std::string email;
  std::string note;          // 买家留言
  std::string item;          // 宝贝标题
  std::string shop;          // 店铺名称
  std::string item_code;     // 商家编码 (the shop's item code), when the feed has it
  std::optional<int> stock;  // 库存: units left, when the feed says
  Money amount = 0;          // 买家应付货款
  OrderStatus status = OrderStatus::unpaid;
  LocalTime created_at{};
  std::optional<LocalTime> paid_at;    // 订单付款时间, when known
  std::optional<LocalTime> closed_at;  // when the order closed, or will auto-close, when the feed says
  OrderType type = OrderType::normal;
  std::optional<LocalTime> balance_starts;  // pre-sale: 尾款支付开始时间 (deposit paid, balance due from)
  std::optional<LocalTime> balance_ends;    // pre-sale: 尾款支付结束时间 (closes unpaid after it)
  int source_line = 0;                      // 1-based line in the feed where the row starts
};

// Puts `orders` in buyer order, (shop, buyer) by their bytes, each buyer's orders in the order
// they came: what std::stable_sort by (shop, buyer) gives, sorted on `threads` threads (a
// buyer is (shop, buyer): the same nickname in two shops is two buyers).
void sort_by_buyer(std::vector<const Order*>& orders, std::size_t threads);

// A buyer's run of orders in the result of sort_by_buyer.
struct BuyerRun {
  std::size_t first = 0, count = 0;  // in the sorted list
  bool new_shop = true;              // the first run, or its shop differs from the run before's
};

// sort_by_buyer, and the buyers' runs in `runs`: worked out from the sort's keys (shop rank,
// the nickname's first bytes and length), so the orders' strings are read again only for
// nicknames longer than the bytes the keys hold (the sorted orders lie all over memory).
void sort_by_buyer(std::vector<const Order*>& orders, std::size_t threads, std::vector<BuyerRun>& runs);

// Asks for the memory of an order (a hint only: nothing changes), for a caller that visits
// orders lying all over memory (buyers in sorted order) and can see a few buyers ahead.
inline void prefetch_order(const Order* o) {
  const char* p = reinterpret_cast<const char*>(o);
  for (std::size_t at = 0; at < sizeof(Order); at += 64) __builtin_prefetch(p + at);
}

// The text of the strings a plan reads of an order (needs the order itself fetched).
inline void prefetch_strings(const Order* o) {
  for (const std::string* s :
       {&o->id, &o->buyer, &o->receiver_name, &o->address, &o->phone, &o->note, &o->item, &o->shop}) {
    __builtin_prefetch(s->data());
    if (s->size() > 64) __builtin_prefetch(s->data() + 64);
  }
}

// A row the feed reader could not use, with where and why.
struct RejectedRow {
  int line = 0;
  std::string error;
};

}  // namespace cuifu
