#include "core/order.h"

#include <fmt/format.h>

namespace cuifu {

std::string format_money(Money fen) {
  const char* sign = fen < 0 ? "-" : "";
  const Money a = fen < 0 ? -fen : fen;
  return fmt::format("{}{}.{:02d}", sign, a / 100, a % 100);
}

std::string_view to_string(OrderStatus s) {
  switch (s) {
    case OrderStatus::unpaid: return "unpaid";
    case OrderStatus::paid: return "paid";
    case OrderStatus::closed: return "closed";
  }
  return "?";
}

}  // namespace cuifu
