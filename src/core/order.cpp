#include "core/order.h"

#include <fmt/compile.h>
#include <fmt/format.h>

namespace cuifu {

std::string format_money(Money fen) {
  const char* sign = fen < 0 ? "-" : "";
  const Money a = fen < 0 ? -fen : fen;
  return fmt::format(FMT_COMPILE("{}{}.{:02d}"), sign, a / 100, a % 100);
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

}  // namespace cuifu
