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

// The occupation part of read_address, given the address's parse.
OccupationGuess occupation_of(const Rules& rules, const ParsedAddress& parsed, std::string_view address, bool explain) {
  if (parsed.overseas || rules.address.occupation.empty()) return {};
  return guess_occupation(rules.address.occupation, parsed.rest.empty() ? address : parsed.rest, explain);
}

}  // namespace

AddressReading read_address(const Rules& rules, std::string_view address, bool explain) {
  AddressReading r;
  r.parsed = parse_address(gazetteer_of(rules), address, explain);
  r.occupation = occupation_of(rules, r.parsed, address, explain);
  return r;
}

const AddressReading& AddressReadings::read(std::string_view address, bool occupation) {
  Entry* entry = nullptr;
  for (auto& e : readings_) {
    if (e.address == address) entry = &e;
  }
  if (!entry) {
    entry = &readings_.emplace_back();
    entry->address = std::string(address);
    entry->reading.parsed = parse_address(gazetteer_of(*rules_), address, explain_);
  }
  if (occupation && !entry->occupation_read) {
    entry->reading.occupation = occupation_of(*rules_, entry->reading.parsed, address, explain_);
    entry->occupation_read = true;
  }
  return entry->reading;
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
  // Read once, when a segment first asks; the occupation only when a segment asks for it (the
  // segments before one that does may need no more than where the address is).
  std::optional<AddressReading> reading;
  bool occupation_read = false;
  const bool through_readings = addresses && &addresses->rules() == &rules && (addresses->explains() || !explain);
  const auto read = [&](bool occupation) -> const AddressReading& {
    if (through_readings) return addresses->read(address, occupation);
    if (!reading) {
      reading.emplace();
      reading->parsed = parse_address(gazetteer_of(rules), address, explain);
    }
    if (occupation && !occupation_read) {
      reading->occupation = occupation_of(rules, reading->parsed, address, explain);
      occupation_read = true;
    }
    return *reading;
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
      const ParsedAddress& parsed = read(false).parsed;
      if (parsed.overseas != *c.overseas) continue;
      if (explain)
        because.push_back(parsed.overseas
                              ? format_text(FMT_COMPILE("address outside mainland China ({})"), parsed.why_text())
                              : "address in mainland China");
    }
    if (!c.occupation.empty()) {
      const AddressReading& r = read(true);
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
