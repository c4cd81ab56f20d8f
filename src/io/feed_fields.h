// Internal to the feed readers (feed.cpp, column_mapping.cpp): the canonical order fields.
#pragma once

#include <array>
#include <string>
#include <string_view>

namespace cuifu {

// The canonical order fields, in the order of kFieldNames.
enum Field : std::size_t {
  kOrderId,
  kBuyer,
  kAmount,
  kStatus,
  kCreatedAt,
  kPaidAt,
  kClosedAt,
  kNote,
  kReceiverName,
  kAddress,
  kPhone,
  kEmail,
  kItem,
  kShop,
  kItemCode,       // 商家编码: the shop's own item code (rules items.short_names)
  kStock,          // 库存: units left; only this lets a message say stock is low
  kOrderType,      // 订单类型: 预售 (pre-sale), 聚划算 / 秒杀 (flash sale) or a normal order
  kBalanceStarts,  // 尾款支付开始时间: a pre-sale order's balance window opens
  kBalanceEnds,    // 尾款支付结束时间: and closes
  kFieldCount
};
constexpr std::array<std::string_view, kFieldCount> kFieldNames = {
    "order_id",  "buyer",         "amount",     "status",         "created_at",  "paid_at", "closed_at",
    "note",      "receiver_name", "address",    "phone",          "email",       "item",    "shop",
    "item_code", "stock",         "order_type", "balance_starts", "balance_ends"};

// The whole file. Throws FeedError "cannot read FILE: reason".
std::string read_file_bytes(const std::string& path);

}  // namespace cuifu
