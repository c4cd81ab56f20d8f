// Segment classification, region and holdout: the "who is this buyer"
// half of the planner.
#include <fmt/format.h>

#include <algorithm>

#include "core/planner.h"
#include "core/text.h"

namespace cuifu {

namespace {

// Provinces, municipalities and autonomous regions of mainland China.
const std::vector<std::string>& mainland_regions() {
  static const std::vector<std::string> r = {"北京",   "天津", "上海",   "重庆", "河北", "山西", "辽宁", "吉林",
                                             "黑龙江", "江苏", "浙江",   "安徽", "福建", "江西", "山东", "河南",
                                             "湖北",   "湖南", "广东",   "海南", "四川", "贵州", "云南", "陕西",
                                             "甘肃",   "青海", "内蒙古", "广西", "西藏", "宁夏", "新疆"};
  return r;
}

const std::string* first_contained(std::string_view text, const std::vector<std::string>& words) {
  for (const auto& w : words) {
    if (contains(text, w)) return &w;
  }
  return nullptr;
}

}  // namespace

bool is_overseas_address(std::string_view address) {
  const std::string a = trim(address);
  if (a.empty()) return false;  // unknown: treat as domestic rather than guess
  // An address that starts with a mainland province is mainland, even on 武汉's 香港路.
  for (const auto& region : mainland_regions()) {
    if (a.rfind(region, 0) == 0) return false;
  }
  for (const char* outside : {"香港", "澳门", "澳門", "台湾", "臺灣", "台灣", "Hong Kong", "Macau", "Taiwan"}) {
    if (contains(a, outside)) return true;
  }
  return first_contained(a, mainland_regions()) == nullptr;
}

bool in_holdout(const Rules& rules, std::string_view shop, std::string_view buyer) {
  const int percent = rules.for_shop(shop).holdout_percent;
  if (percent <= 0) return false;
  // The main shop's buyers keep the draw they always had (a holdout group must not reshuffle).
  const bool main_shop = shop.empty() || shop == rules.shop_name;
  const std::string who = main_shop ? std::string(buyer) : std::string(shop) + "/" + std::string(buyer);
  const auto h = stable_hash(rules.holdout_salt + "/" + who);
  return static_cast<int>(h % 100) < percent;
}

SegmentMatch classify(const Rules& rules, const std::vector<const Order*>& orders, int closed_unpaid_before) {
  Money amount = 0;
  std::string notes;
  const Order* newest = orders.front();
  for (const Order* o : orders) {
    amount += o->amount;
    notes += o->note;
    notes += '\n';
    if (o->created_at >= newest->created_at) newest = o;
  }
  const std::string& address = newest->address;

  for (const auto& seg : rules.segments) {
    const auto& c = seg.when;
    std::vector<std::string> because;
    if (!c.address_any.empty()) {
      const std::string* hit = first_contained(address, c.address_any);
      if (!hit) continue;
      because.push_back(fmt::format("address contains {}", *hit));
    }
    if (!c.address_none.empty()) {
      if (const std::string* hit = first_contained(address, c.address_none)) {
        (void)hit;
        continue;
      }
    }
    if (c.min_amount) {
      if (amount < *c.min_amount) continue;
      because.push_back(fmt::format("amount {} >= {}", format_money(amount), format_money(*c.min_amount)));
    }
    if (c.max_amount) {
      if (amount >= *c.max_amount) continue;
      because.push_back(fmt::format("amount {} < {}", format_money(amount), format_money(*c.max_amount)));
    }
    if (c.overseas) {
      const bool overseas = is_overseas_address(address);
      if (overseas != *c.overseas) continue;
      because.push_back(overseas ? "address outside mainland China" : "address in mainland China");
    }
    if (!c.note_any.empty()) {
      const std::string* hit = first_contained(notes, c.note_any);
      if (!hit) continue;
      because.push_back(fmt::format("note contains {}", *hit));
    }
    if (c.min_closed_unpaid) {
      if (closed_unpaid_before < *c.min_closed_unpaid) continue;
      because.push_back(fmt::format("{} earlier orders closed unpaid", closed_unpaid_before));
    }
    if (because.empty()) because.push_back("no other segment matched");
    return {&seg, fmt::format("{}", fmt::join(because, ", "))};
  }
  return {};
}

}  // namespace cuifu
