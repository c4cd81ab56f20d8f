// What the store knows of buyers: the contact log (the planner's history), opt-outs per shop, and the
// orders seen in the feed.
#include <SQLiteCpp/SQLiteCpp.h>
#include <SQLiteCpp/VariadicBind.h>
#include <fmt/format.h>
#include <sqlite3.h>

#include <algorithm>
#include <optional>
#include <set>

#include "io/store.h"
#include "io/store_internal.h"

namespace cuifu {

using store_detail::attach_call_outcomes;
using store_detail::epoch;
using store_detail::guarded;
using store_detail::ids_from_json;
using store_detail::ids_json;
using store_detail::local;

namespace {

// A contact from a row of (buyer, channel, at, order_ids, step, shop).
ContactRecord read_contact(const ShopZone& z, SQLite::Statement& q) {
  ContactRecord c;
  c.buyer = q.getColumn(0).getString();
  c.channel = parse_channel(q.getColumn(1).getString()).value_or(Channel::im);
  c.at = local(z, q.getColumn(2).getInt64());
  c.order_ids = ids_from_json(q.getColumn(3).getString());
  c.step = q.getColumn(4).getInt();
  c.shop = q.getColumn(5).getString();
  return c;
}

}  // namespace

ContactHistory SqliteStore::history() const {
  return guarded(path_, "read contact history", [&] {
    ContactHistory h;
    SQLite::Statement q(impl_->db,
                        "SELECT buyer, channel, at, order_ids, step, shop FROM (SELECT buyer, channel, at, order_ids, "
                        "step, shop, id, 0 AS failed FROM contacts UNION ALL SELECT buyer, channel, updated_at, "
                        "order_ids, step, shop, id, 1 FROM outbox WHERE state='failed') ORDER BY at, failed, id");
    while (q.executeStep()) h.add(read_contact(zone_, q));
    attach_call_outcomes(impl_->db, zone_, h.contacts);
    SQLite::Statement o(impl_->db, "SELECT buyer, channel, shop FROM opt_outs");
    while (o.executeStep()) {
      const auto ch = parse_channel(o.getColumn(1).getString());
      if (!ch) continue;
      const std::string shop = o.getColumn(2).getString();
      if (shop.empty()) {
        h.opted_out[o.getColumn(0).getString()].insert(*ch);
      } else {
        h.shop_opted_out[{shop, o.getColumn(0).getString()}].insert(*ch);
      }
    }
    return h;
  });
}

std::vector<ContactRecord> SqliteStore::contacts_of(const std::vector<std::string>& buyers) const {
  return guarded(path_, "read contacts", [&] {
    std::vector<ContactRecord> out;
    auto q = impl_->cached(
        "SELECT buyer, channel, at, order_ids, step, shop FROM contacts WHERE buyer = ? "
        "ORDER BY at, id");
    for (const auto& b : buyers) {
      q->reset();
      q->bind(1, b);
      while (q->executeStep()) out.push_back(read_contact(zone_, *q));
    }
    return out;
  });
}

void SqliteStore::record_orders_seen(const std::vector<SeenOrder>& orders, LocalTime now) {
  settle();
  guarded(path_, "record orders seen", [&] {
    auto& db = impl_->db;
    std::optional<SQLite::Transaction> tx;  // inside unflushed() or batch(), theirs
    if (sqlite3_get_autocommit(db.getHandle())) tx.emplace(db);
    // Prepared once (a reconcile writes a slice at a time: a new export of 1M orders, 1M rows),
    // its texts bound without a copy: each outlives its exec(), and the bindings are cleared
    // before they go out of scope.
    // An order seen before with the same phone (nearly always) is updated without naming the
    // phone: an UPDATE that sets an indexed column rewrites its index entry, even to the same
    // value, and orders_seen_phone is in phone order, a random page per order (a 1 % paid poll at
    // 1M: ~3,700 pages read and written for nothing). The upsert's WHERE leaves a row whose phone
    // changed untouched (no change counted): the second statement, which sets every column as
    // before, writes it.
    auto q = impl_->prepared(impl_->update_order_seen,
                             "INSERT INTO orders_seen (order_id, buyer, phone, status, first_seen, last_seen, shop, "
                             "amount) VALUES (?,?,?,?,?,?,?,?) ON CONFLICT(order_id) DO UPDATE SET "
                             "buyer=excluded.buyer, status=excluded.status, last_seen=excluded.last_seen, "
                             "shop=excluded.shop, amount=excluded.amount WHERE orders_seen.phone=excluded.phone");
    auto full =
        impl_->prepared(impl_->insert_order_seen,
                        "INSERT INTO orders_seen (order_id, buyer, phone, status, first_seen, last_seen, shop, amount) "
                        "VALUES (?,?,?,?,?,?,?,?) ON CONFLICT(order_id) DO UPDATE SET buyer=excluded.buyer, "
                        "phone=excluded.phone, status=excluded.status, last_seen=excluded.last_seen, "
                        "shop=excluded.shop, amount=excluded.amount");
    const std::int64_t t = epoch(zone_, now);
    std::string status;
    const auto bind = [&](SQLite::Statement& s, const SeenOrder& o) {
      s.bindNoCopy(1, o.id);
      s.bindNoCopy(2, o.buyer);
      s.bindNoCopy(3, o.phone);
      s.bindNoCopy(4, status);
      s.bind(5, t);
      s.bind(6, t);
      s.bindNoCopy(7, o.shop);
      s.bind(8, static_cast<std::int64_t>(o.amount));
    };
    try {
      for (const auto& o : orders) {
        status = to_string(o.status);
        bind(*q, o);
        const bool written = q->exec() == 1;
        q->reset();
        if (!written) {  // there, with another phone
          bind(*full, o);
          full->exec();
          full->reset();
        }
      }
    } catch (...) {
      q->clearBindings();
      full->clearBindings();
      throw;
    }
    full->clearBindings();
    q->clearBindings();
    if (tx) tx->commit();
    return 0;
  });
}

void SqliteStore::add_opt_out(const OptOut& o) {
  settle();
  guarded(path_, "add opt-out", [&] {
    SQLite::Statement q(impl_->db,
                        "INSERT INTO opt_outs (buyer, channel, at, source, shop) VALUES (?,?,?,?,?) "
                        "ON CONFLICT(shop, buyer, channel) DO UPDATE SET at=excluded.at, source=excluded.source");
    SQLite::bind(q, o.buyer, std::string(to_string(o.channel)), epoch(zone_, o.at), o.source, o.shop);
    q.exec();
    return 0;
  });
}

bool SqliteStore::remove_opt_out(const std::string& buyer, std::optional<Channel> channel,
                                 std::optional<std::string> shop) {
  settle();
  return guarded(path_, "remove opt-out", [&] {
    std::string sql = "DELETE FROM opt_outs WHERE buyer=?";
    if (channel) sql += " AND channel=?";
    if (shop) sql += " AND shop=?";
    SQLite::Statement q(impl_->db, sql);
    int i = 0;
    q.bind(++i, buyer);
    if (channel) q.bind(++i, std::string(to_string(*channel)));
    if (shop) q.bind(++i, *shop);
    return q.exec() > 0;
  });
}

std::vector<OptOut> SqliteStore::opt_outs() const {
  return guarded(path_, "list opt-outs", [&] {
    SQLite::Statement q(impl_->db,
                        "SELECT buyer, channel, at, source, shop FROM opt_outs ORDER BY buyer, shop, channel");
    std::vector<OptOut> out;
    while (q.executeStep()) {
      OptOut o;
      o.buyer = q.getColumn(0).getString();
      o.channel = parse_channel(q.getColumn(1).getString()).value_or(Channel::sms);
      o.at = local(zone_, q.getColumn(2).getInt64());
      o.source = q.getColumn(3).getString();
      o.shop = q.getColumn(4).getString();
      out.push_back(std::move(o));
    }
    return out;
  });
}

std::optional<std::string> SqliteStore::buyer_by_phone(const std::string& phone) const {
  return guarded(path_, "find buyer by phone", [&]() -> std::optional<std::string> {
    SQLite::Statement q(impl_->db, "SELECT buyer FROM orders_seen WHERE phone=? ORDER BY last_seen DESC LIMIT 1");
    q.bind(1, phone);
    if (!q.executeStep()) return std::nullopt;
    return q.getColumn(0).getString();
  });
}

std::optional<OrderStatus> SqliteStore::order_status(const std::string& order_id) const {
  return guarded(path_, "read order status", [&]() -> std::optional<OrderStatus> {
    SQLite::Statement q(impl_->db, "SELECT status FROM orders_seen WHERE order_id = ?");
    q.bind(1, order_id);
    if (!q.executeStep()) return std::nullopt;
    const std::string status = q.getColumn(0).getString();
    for (const OrderStatus s : {OrderStatus::unpaid, OrderStatus::paid, OrderStatus::closed}) {
      if (status == to_string(s)) return s;
    }
    return std::nullopt;
  });
}

}  // namespace cuifu
