// Call tasks for the staff and the outcomes they record (reached, no answer, will pay, refused).
#include <SQLiteCpp/SQLiteCpp.h>
#include <SQLiteCpp/VariadicBind.h>
#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "io/store.h"
#include "io/store_internal.h"

namespace cuifu {

using store_detail::epoch;
using store_detail::guarded;
using store_detail::ids_from_json;
using store_detail::ids_json;
using store_detail::local;

namespace {

const char* const kCallTaskColumns =
    "id, idempotency_key, buyer, receiver_name, phone, order_ids, message, due_at, created_at, shop";

CallTask read_call_task(const ShopZone& z, SQLite::Statement& q) {
  CallTask t;
  t.id = q.getColumn(0).getInt64();
  t.idempotency_key = q.getColumn(1).getString();
  t.buyer = q.getColumn(2).getString();
  t.receiver_name = q.getColumn(3).getString();
  t.phone = q.getColumn(4).getString();
  t.order_ids = ids_from_json(q.getColumn(5).getString());
  t.message = q.getColumn(6).getString();
  t.due_at = local(z, q.getColumn(7).getInt64());
  t.created_at = local(z, q.getColumn(8).getInt64());
  t.shop = q.getColumn(9).getString();
  return t;
}

// Each task's amount: the sum of its orders' amounts as last seen in the feed.
void add_amounts(SQLite::Database& db, std::vector<CallTask>& tasks) {
  SQLite::Statement q(db, "SELECT amount FROM orders_seen WHERE order_id = ?");
  for (auto& t : tasks) {
    t.amount = 0;
    for (const auto& id : t.order_ids) {
      q.reset();
      q.bind(1, id);
      if (q.executeStep()) t.amount += q.getColumn(0).getInt64();
    }
  }
}

}  // namespace

// The latest outcome of each call task goes onto the task's phone contact: the latest phone
// contact of its (shop, buyer) with the same orders logged at or before the outcome.
void store_detail::attach_call_outcomes(SQLite::Database& db, const ShopZone& z, std::vector<ContactRecord>& contacts) {
  SQLite::Statement q(db,
                      "SELECT t.shop, t.buyer, t.order_ids, o.outcome, o.at, o.agent FROM call_outcomes o "
                      "JOIN call_tasks t ON t.idempotency_key = o.idempotency_key ORDER BY o.at, o.id");
  while (q.executeStep()) {
    const std::string shop = q.getColumn(0).getString();
    const std::string buyer = q.getColumn(1).getString();
    const auto ids = ids_from_json(q.getColumn(2).getString());
    const auto outcome = parse_call_outcome(q.getColumn(3).getString());
    const LocalTime at = local(z, q.getColumn(4).getInt64());
    if (!outcome) continue;
    ContactRecord* call = nullptr;
    for (auto& c : contacts) {
      if (c.channel == Channel::phone && c.buyer == buyer && c.shop == shop && c.order_ids == ids && c.at <= at &&
          (!call || c.at >= call->at)) {
        call = &c;
      }
    }
    if (!call) continue;  // the task's contact was never logged: nothing for the planner to honour
    call->call_outcome = *outcome;
    call->outcome_at = at;
    call->outcome_by = q.getColumn(5).getString();
  }
}

void SqliteStore::add_call_task(const CallTask& t) {
  settle();
  guarded(path_, "add call task", [&] {
    SQLite::Statement q(impl_->db,
                        "INSERT INTO call_tasks (idempotency_key, buyer, receiver_name, phone, order_ids, message, "
                        "due_at, created_at, shop) VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT(idempotency_key) DO NOTHING");
    SQLite::bind(q, t.idempotency_key, t.buyer, t.receiver_name, t.phone, ids_json(t.order_ids), t.message,
                 epoch(zone_, t.due_at), epoch(zone_, t.created_at), t.shop);
    q.exec();
    return 0;
  });
}

std::vector<CallTask> SqliteStore::call_tasks(std::optional<LocalTime> day) const {
  return guarded(path_, "list call tasks", [&] {
    std::string sql = std::string("SELECT ") + kCallTaskColumns + " FROM call_tasks";
    if (day) sql += " WHERE due_at >= ? AND due_at < ?";
    sql += " ORDER BY due_at, id";
    SQLite::Statement q(impl_->db, sql);
    if (day) {
      const LocalTime d = start_of_day(*day);
      SQLite::bind(q, epoch(zone_, d), epoch(zone_, d + std::chrono::days{1}));
    }
    std::vector<CallTask> out;
    while (q.executeStep()) out.push_back(read_call_task(zone_, q));
    add_amounts(impl_->db, out);
    return out;
  });
}

std::optional<CallTask> SqliteStore::find_call_task(const std::string& key_or_order_id) const {
  return guarded(path_, "find call task", [&]() -> std::optional<CallTask> {
    SQLite::Statement q(impl_->db,
                        std::string("SELECT ") + kCallTaskColumns + " FROM call_tasks WHERE idempotency_key = ?");
    q.bind(1, key_or_order_id);
    std::vector<CallTask> found;
    if (q.executeStep()) {
      found.push_back(read_call_task(zone_, q));
    } else {
      // An order id: the latest task that covers it.
      SQLite::Statement all(impl_->db, std::string("SELECT ") + kCallTaskColumns +
                                           " FROM call_tasks WHERE order_ids LIKE ? ORDER BY due_at DESC, id DESC");
      all.bind(1, "%" + nlohmann::json(key_or_order_id).dump() + "%");
      while (all.executeStep()) {
        CallTask t = read_call_task(zone_, all);
        if (std::find(t.order_ids.begin(), t.order_ids.end(), key_or_order_id) != t.order_ids.end()) {
          found.push_back(std::move(t));
          break;
        }
      }
    }
    if (found.empty()) return std::nullopt;
    add_amounts(impl_->db, found);
    return found.front();
  });
}

void SqliteStore::record_call_outcome(const CallOutcomeRecord& r) {
  settle();
  guarded(path_, "record call outcome", [&] {
    SQLite::Statement q(impl_->db,
                        "INSERT INTO call_outcomes (idempotency_key, outcome, at, agent, note) VALUES (?,?,?,?,?)");
    SQLite::bind(q, r.idempotency_key, std::string(to_string(r.outcome)), epoch(zone_, r.at), r.agent, r.note);
    q.exec();
    return 0;
  });
}

std::vector<CallOutcomeRecord> SqliteStore::call_outcomes(const std::vector<std::string>& keys) const {
  return guarded(path_, "list call outcomes", [&] {
    SQLite::Statement q(impl_->db,
                        "SELECT id, idempotency_key, outcome, at, agent, note FROM call_outcomes ORDER BY at, id");
    const std::set<std::string> wanted(keys.begin(), keys.end());
    std::vector<CallOutcomeRecord> out;
    while (q.executeStep()) {
      CallOutcomeRecord r;
      r.id = q.getColumn(0).getInt64();
      r.idempotency_key = q.getColumn(1).getString();
      if (!wanted.empty() && wanted.count(r.idempotency_key) == 0) continue;
      r.outcome = parse_call_outcome(q.getColumn(2).getString()).value_or(CallOutcome::none);
      r.at = local(zone_, q.getColumn(3).getInt64());
      r.agent = q.getColumn(4).getString();
      r.note = q.getColumn(5).getString();
      out.push_back(std::move(r));
    }
    return out;
  });
}

}  // namespace cuifu
