#include "app/reconcile.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <map>
#include <set>

#include "core/planner.h"

namespace cuifu {

ReconcileResult reconcile(ReminderStore& store, const FeedSnapshot& snapshot, const RuleSet& rules, LocalTime now,
                          const ChatLog* chat) {
  ReconcileResult out;
  const ContactHistory history = store.history();
  const Plan plan = cuifu::plan(snapshot.orders, history, rules.rules, rules.templates,
                                {now, now, now + std::chrono::hours{24}, chat});
  out.planned = static_cast<int>(plan.reminders.size());
  std::set<std::string> keys;
  store.batch([&] {
    for (const auto& r : plan.reminders) {
      keys.insert(r.idempotency_key());
      switch (store.upsert_planned(r, now)) {
        case UpsertResult::inserted:
          ++out.inserted;
          spdlog::info("planned {} step {} for {} at {} ({})", to_string(r.channel), r.step, r.buyer,
                       format_local_hm(r.send_at), r.idempotency_key());
          break;
        case UpsertResult::revived:
          ++out.revived;
          spdlog::info("re-planned {} step {} for {} at {} ({})", to_string(r.channel), r.step, r.buyer,
                       format_local_hm(r.send_at), r.idempotency_key());
          break;
        default: break;
      }
    }
  });
  // Rows whose retries ran out and whose re-plan time has come were revived above if the
  // planner still wants them; the others stay cancelled, saying so.
  store.close_replans(now, "not re-planned: the planner does not plan it within 24 h (paid, closed or skipped)");
  std::map<std::string, const Order*> orders;
  for (const auto& o : snapshot.orders) orders[o.id] = &o;
  std::map<std::string, std::string> skip_reason;
  for (const auto& s : plan.skipped) skip_reason.emplace(s.order_id, s.reason);
  store.batch([&] {
    for (const auto& row : store.in_state(OutboxState::planned)) {
      if (keys.count(row.idempotency_key)) continue;
      std::string reason;
      for (const auto& id : row.order_ids) {
        const auto it = orders.find(id);
        if (it == orders.end()) {
          reason = fmt::format("order {} is no longer in the feed", id);
        } else if (it->second->status == OrderStatus::paid) {
          reason = fmt::format("order {} was paid", id);
        } else if (it->second->status == OrderStatus::closed) {
          reason = fmt::format("order {} was closed", id);
        } else if (skip_reason.count(id)) {
          reason = "no longer planned: " + skip_reason.at(id);
        }
        if (!reason.empty()) break;
      }
      if (reason.empty()) reason = "no longer planned within the next 24 h";
      if (store.cancel(row.id, now, reason)) {
        ++out.cancelled;
        spdlog::info("cancelled {} step {} for {} ({}): {}", to_string(row.channel), row.step, row.buyer,
                     row.idempotency_key, reason);
      }
    }
  });
  return out;
}

}  // namespace cuifu
