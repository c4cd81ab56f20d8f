// Segment classification, region and holdout: the "who is this buyer"
// half of the planner.
#include <fmt/compile.h>
#include <fmt/format.h>

#include <algorithm>
#include <optional>

#include "core/format_text.h"
#include "core/planner.h"
#include "core/text.h"

namespace cuifu {

namespace {

const std::string* first_contained(std::string_view text, const std::vector<std::string>& words) {
  for (const auto& w : words) {
    if (contains(text, w)) return &w;
  }
  return nullptr;
}

const Gazetteer& gazetteer_of(const Rules& rules) {
  static const Gazetteer none;
  return rules.address.gazetteer ? *rules.address.gazetteer : none;
}

}  // namespace

AddressReading read_address(const Rules& rules, std::string_view address, bool explain) {
  AddressReading r;
  r.parsed = parse_address(gazetteer_of(rules), address, explain);
  if (!r.parsed.overseas && !rules.address.occupation.empty()) {
    r.occupation = guess_occupation(rules.address.occupation, r.parsed.rest.empty() ? address : r.parsed.rest, explain);
  }
  return r;
}

const AddressReading& AddressReadings::read(std::string_view address) {
  for (const auto& [text, reading] : readings_) {
    if (text == address) return reading;
  }
  readings_.emplace_back(std::string(address), read_address(*rules_, address, explain_));
  return readings_.back().second;
}

bool is_overseas_address(const Rules& rules, std::string_view address) {
  return parse_address(gazetteer_of(rules), address).overseas;
}

bool in_holdout(const Rules& rules, std::string_view shop, std::string_view buyer) {
  const int percent = rules.holdout_percent_for(shop);
  if (percent <= 0) return false;
  // The main shop's buyers keep the draw they always had (a holdout group must not reshuffle).
  // Hashed piece by piece: stable_hash(salt + "/" + who), who = buyer or shop + "/" + buyer.
  const bool main_shop = shop.empty() || shop == rules.shop_name;
  StableHash hash;
  hash.add(rules.holdout_salt).add("/");
  if (!main_shop) hash.add(shop).add("/");
  const auto h = hash.add(buyer).value();
  return static_cast<int>(h % 100) < percent;
}

SegmentMatch classify(const Rules& rules, const std::vector<const Order*>& orders, int closed_unpaid_before,
                      AddressReadings* addresses, bool explain) {
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
  std::optional<AddressReading> reading;  // read once, when a segment first asks
  const AddressReading* known = nullptr;
  const auto read = [&]() -> const AddressReading& {
    if (known) return *known;
    if (addresses && &addresses->rules() == &rules && (addresses->explains() || !explain)) {
      known = &addresses->read(address);
    } else {
      known = &reading.emplace(read_address(rules, address, explain));
    }
    return *known;
  };

  for (const auto& seg : rules.segments) {
    const auto& c = seg.when;
    std::vector<std::string> because;
    if (!c.address_any.empty()) {
      const std::string* hit = first_contained(address, c.address_any);
      if (!hit) continue;
      if (explain) because.push_back(format_text(FMT_COMPILE("address contains {}"), *hit));
    }
    if (!c.address_none.empty()) {
      if (const std::string* hit = first_contained(address, c.address_none)) {
        (void)hit;
        continue;
      }
    }
    if (c.min_amount) {
      if (amount < *c.min_amount) continue;
      if (explain)
        because.push_back(
            format_text(FMT_COMPILE("amount {} >= {}"), format_money(amount), format_money(*c.min_amount)));
    }
    if (c.max_amount) {
      if (amount >= *c.max_amount) continue;
      if (explain)
        because.push_back(
            format_text(FMT_COMPILE("amount {} < {}"), format_money(amount), format_money(*c.max_amount)));
    }
    if (c.overseas) {
      const ParsedAddress& parsed = read().parsed;
      if (parsed.overseas != *c.overseas) continue;
      if (explain)
        because.push_back(parsed.overseas
                              ? format_text(FMT_COMPILE("address outside mainland China ({})"), parsed.why_text())
                              : "address in mainland China");
    }
    if (!c.occupation.empty()) {
      const AddressReading& r = read();
      if (r.parsed.overseas) continue;
      const std::string& occ = r.occupation.occupation;
      if (occ.empty() || std::find(c.occupation.begin(), c.occupation.end(), occ) == c.occupation.end()) continue;
      if (explain)
        because.push_back(format_text(FMT_COMPILE("address reads as {} ({})"), occ, r.occupation.why_text()));
    }
    if (!c.note_any.empty()) {
      const std::string* hit = first_contained(notes, c.note_any);
      if (!hit) continue;
      if (explain) because.push_back(format_text(FMT_COMPILE("note contains {}"), *hit));
    }
    if (c.order_type) {
      if (orders.front()->type != *c.order_type) continue;
      if (explain) because.push_back(format_text(FMT_COMPILE("{} order"), to_string(*c.order_type)));
    }
    if (c.min_closed_unpaid) {
      if (closed_unpaid_before < *c.min_closed_unpaid) continue;
      if (explain) because.push_back(format_text(FMT_COMPILE("{} earlier orders closed unpaid"), closed_unpaid_before));
    }
    if (!explain) return {&seg, {}};
    if (because.empty()) because.push_back("no other segment matched");
    return {&seg, format_text(FMT_COMPILE("{}"), fmt::join(because, ", "))};
  }
  return {};
}

}  // namespace cuifu
