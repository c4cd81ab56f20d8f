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
  kItemCode,  // 商家编码: the shop's own item code (rules items.short_names)
  kStock,     // 库存: units left; only this lets a message say stock is low
  kFieldCount
};
constexpr std::array<std::string_view, kFieldCount> kFieldNames = {
    "order_id",      "buyer",   "amount", "status", "created_at", "paid_at", "closed_at", "note",
    "receiver_name", "address", "phone",  "email",  "item",       "shop",    "item_code", "stock"};

// The whole file. Throws FeedError "cannot read FILE: reason".
std::string read_file_bytes(const std::string& path);

}  // namespace cuifu
