// The order as cuifu sees it, whatever feed it came from.
#pragma once

#include <cstdint>
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
  int source_line = 0;                 // 1-based line in the feed where the row starts
};

// A row the feed reader could not use, with where and why.
struct RejectedRow {
  int line = 0;
  std::string error;
};

}  // namespace cuifu
