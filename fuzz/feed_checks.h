// Invariants every parsed feed snapshot keeps, whatever the bytes were.
#pragma once

#include <set>
#include <string>

#include "fuzz_util.h"
#include "io/feed.h"

namespace cuifu::fuzz {

inline void check_snapshot(const FeedSnapshot& s) {
  check(s.encoding == "utf-8" || s.encoding == "gb18030", "encoding is utf-8 or gb18030", s.encoding);
  std::set<std::string> ids;
  for (const Order& o : s.orders) {
    check(!o.id.empty(), "an order has an id");
    check(!o.buyer.empty(), "an order has a buyer", o.id);
    check(o.source_line >= 1, "an order has its line", o.id);
    check(o.amount >= 0, "an amount is not negative", o.id);
    check(ids.insert(o.id).second, "order ids are unique", o.id);
  }
  for (const RejectedRow& r : s.rejected) {
    check(r.line >= 1, "a rejected row has its line", r.error);
    check(!r.error.empty(), "a rejected row says why");
  }
}

}  // namespace cuifu::fuzz
