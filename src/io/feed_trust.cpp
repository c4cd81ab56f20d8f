#include "io/feed_trust.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>
#include <string_view>
#include <unordered_set>

#include "core/planner.h"

namespace cuifu {

std::string truncation_sign(std::string_view bytes, const FeedSnapshot& snapshot) {
  for (const auto& r : snapshot.rejected) {
    if (r.error.find("unterminated quoted field") != std::string::npos) {
      return fmt::format("line {}: the export ends inside a quoted field (cut off mid-quote?)", r.line);
    }
  }
  if (bytes.empty() || bytes.back() == '\n' || snapshot.rejected.empty()) return {};
  // The text ends without a line break: is its last row one that was rejected?
  int last_line = 1;
  int line = 1;
  bool blank = true;
  for (const char c : bytes) {
    if (c == '\n') {
      ++line;
      blank = true;
    } else if (blank && c != '\r' && c != ' ' && c != '\t') {
      blank = false;
      last_line = line;
    }
  }
  const auto last_rejected =
      std::max_element(snapshot.rejected.begin(), snapshot.rejected.end(),
                       [](const RejectedRow& a, const RejectedRow& b) { return a.line < b.line; });
  if (last_rejected->line != last_line) return {};
  return fmt::format("line {}: the last row is cut off ({}) and the export does not end with a line break", last_line,
                     last_rejected->error);
}

std::string shrink_sign(const FeedSnapshot& previous, const FeedSnapshot& next, const Rules& rules, LocalTime now,
                        std::size_t min_vanished) {
  // When `next` says what changed since `previous` (a parse with its memo), only the orders of
  // `previous` not kept can be missing, and only among the orders of `next` built anew: fewer
  // than `min_vanished` missing is the answer (a 1M export in which 1 % changed: ms, not a
  // second). Otherwise, or when as many are missing, the whole comparison below.
  if (next.changed && previous.generation != 0 && next.changed->base == previous.generation) {
    std::unordered_set<std::string_view> rebuilt;
    rebuilt.reserve(next.changed->rebuilt.size());
    for (const std::uint32_t k : next.changed->rebuilt) rebuilt.insert(next.orders[k].id);
    std::size_t missing = 0;
    for (const std::uint32_t j : next.changed->unkept) {
      const Order& o = previous.orders[j];
      if (o.status != OrderStatus::unpaid || rebuilt.count(o.id) || closes_at(o, rules) <= now) continue;
      if (++missing >= min_vanished) break;
    }
    if (missing < min_vanished) return {};
  }
  // Views into `next` (a million orders: no copy of each id, no tree of them).
  std::unordered_set<std::string_view> shown;
  shown.reserve(next.orders.size());
  for (const auto& o : next.orders) shown.insert(o.id);
  std::size_t open = 0;
  std::vector<std::string> vanished;
  for (const auto& o : previous.orders) {
    if (o.status != OrderStatus::unpaid || closes_at(o, rules) <= now) continue;
    ++open;
    if (!shown.count(o.id)) vanished.push_back(o.id);
  }
  if (vanished.size() < min_vanished || vanished.size() * 2 <= open) return {};
  return fmt::format(
      "{} orders, {} fewer than the previous snapshot: {} of its {} open unpaid orders are missing (e.g. {}) without "
      "being shown paid or closed",
      next.orders.size(), static_cast<long long>(previous.orders.size()) - static_cast<long long>(next.orders.size()),
      vanished.size(), open,
      fmt::join(vanished.begin(), vanished.begin() + std::min<std::size_t>(3, vanished.size()), ", "));
}

FeedSnapshot overlay(const FeedSnapshot& trusted, const FeedSnapshot& suspect) {
  FeedSnapshot out;
  std::vector<Order> orders;
  std::map<std::string, const Order*> newest;
  for (const auto& o : suspect.orders) newest[o.id] = &o;
  for (const auto& o : trusted.orders) {
    const auto it = newest.find(o.id);
    // Paid or closed is never undone by an unpaid row (as within one export).
    const bool keep =
        it == newest.end() || (o.status != OrderStatus::unpaid && it->second->status == OrderStatus::unpaid);
    orders.push_back(keep ? o : *it->second);
  }
  std::set<std::string> have;
  for (const auto& o : trusted.orders) have.insert(o.id);
  for (const auto& o : suspect.orders) {
    if (!have.count(o.id)) orders.push_back(o);
  }
  out.orders = std::move(orders);
  out.rejected = suspect.rejected;
  out.superseded = suspect.superseded;
  out.source = suspect.source;
  out.encoding = suspect.encoding;
  return out;
}

}  // namespace cuifu
