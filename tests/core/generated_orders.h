// A deterministic generator of many plausible orders, for the tests that compare the
// parallel planner and replay with the single-threaded ones. Header-only.
#pragma once

#include <fmt/format.h>

#include <array>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "core/order.h"

namespace cuifu::testing {

// `buyers` buyers with 1-4 orders each, placed over the 4 days before `now`: unpaid, paid
// (some within the last hour), closed and refunded orders; office, student, home and
// overseas addresses; small and big-ticket amounts; notes with and without a reason; some
// orders without a phone or with an e-mail; two shops (the same nickname in both is two
// buyers); some pre-sale orders in their balance window and flash-sale orders. The same
// arguments give the same orders.
inline std::vector<Order> generated_orders(std::size_t buyers, LocalTime now, std::uint32_t seed = 7) {
  static constexpr std::array<const char*, 6> kAddresses = {
      "浙江省 杭州市 西湖区 文三路 478号 华星科技大厦 12楼",
      "湖北省 武汉市 洪山区 珞喻路1037号 华中科技大学 紫菘学生公寓 8栋 宿舍312",
      "江苏省 南京市 鼓楼区 中山北路 288号 颐和花园 3幢 502室",
      "香港特别行政区 九龙 油尖旺区 弥敦道132号 美丽华大厦 8楼B室",
      "广东省 深圳市 南山区 科技园 深南大道 9999号",
      "四川省 成都市 武侯区 人民南路 1号 阳光花园 2栋"};
  static constexpr std::array<const char*, 6> kNotes = {
      "", "", "余额不足，等发工资", "再考虑一下", "太贵了能便宜点吗", "忘了付款"};
  static constexpr std::array<const char*, 4> kNames = {"王芳", "欧阳明", "Chan Tai Man", ""};
  std::mt19937 rng(seed);
  const auto pick = [&rng](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  std::vector<Order> orders;
  for (std::size_t b = 0; b < buyers; ++b) {
    // Every fifth buyer's nickname is also a buyer of the other shop.
    const std::string buyer = fmt::format("tb_{:07d}", (b % 5 == 0 ? b + 1 : b) * 7919 % 10000019);
    const int count = 1 + (pick(10) < 7 ? 0 : pick(4));
    const int address = pick(static_cast<int>(kAddresses.size()));
    for (int k = 0; k < count; ++k) {
      Order o;
      o.id = fmt::format("{:019d}", (b * 5 + static_cast<std::size_t>(k)) * 1000003 % 9999999999999999999ull);
      o.buyer = buyer;
      o.receiver_name = kNames[static_cast<std::size_t>(pick(static_cast<int>(kNames.size())))];
      o.address = kAddresses[static_cast<std::size_t>(address)];
      o.phone = pick(10) < 8 ? fmt::format("138{:08d}", pick(100000000)) : "";
      o.email = address == 3 || pick(10) == 0 ? fmt::format("{}@example.com", buyer) : "";
      o.note = kNotes[static_cast<std::size_t>(pick(static_cast<int>(kNotes.size())))];
      o.item = "北欧实木床头柜简约现代卧室小型储物柜收纳柜";
      o.shop = b % 5 == 0 ? "木森家具专营店" : "青禾家居旗舰店";
      if (const int type = pick(20); type == 0) {
        o.type = OrderType::presale;
        o.balance_starts = now - Minutes{pick(600)};
        o.balance_ends = *o.balance_starts + Minutes{60 * 24 * 2};
      } else if (type == 1) {
        o.type = OrderType::flash_sale;
      }
      o.amount = pick(10) == 0 ? 100000 + pick(300000) : 990 + pick(60000);
      o.created_at = now - Minutes{pick(4 * 24 * 60)};
      const int kind = pick(20);
      if (kind < 11) {
        o.status = OrderStatus::unpaid;
      } else if (kind < 17) {
        o.status = OrderStatus::paid;
        o.paid_at = std::min(now, o.created_at + Minutes{pick(kind == 16 ? 30 : 3000)});
      } else if (kind < 19) {
        o.status = OrderStatus::closed;
        o.closed_at = std::min(now, o.created_at + Minutes{pick(4000)});
      } else {
        o.status = OrderStatus::closed;  // refunded: paid, then closed
        o.paid_at = o.created_at + Minutes{5};
        o.closed_at = std::min(now, o.created_at + Minutes{600});
      }
      orders.push_back(std::move(o));
    }
  }
  // Feed order is not buyer order.
  std::shuffle(orders.begin(), orders.end(), rng);
  return orders;
}

}  // namespace cuifu::testing
