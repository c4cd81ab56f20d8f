#include "io/store.h"

#include <SQLiteCpp/SQLiteCpp.h>
#include <SQLiteCpp/Savepoint.h>
#include <SQLiteCpp/VariadicBind.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>
#include <algorithm>
#include <cstring>
#include <set>

#include <nlohmann/json.hpp>

namespace cuifu {

std::string_view to_string(OutboxState s) {
  switch (s) {
    case OutboxState::planned: return "planned";
    case OutboxState::sending: return "sending";
    case OutboxState::sent: return "sent";
    case OutboxState::failed: return "failed";
    case OutboxState::cancelled: return "cancelled";
    case OutboxState::unknown: return "unknown";
  }
  return "?";
}

std::optional<OutboxState> parse_outbox_state(std::string_view text) {
  for (auto s : kAllOutboxStates) {
    if (to_string(s) == text) return s;
  }
  return std::nullopt;
}

namespace {

// Schema migrations, in order: migration i brings user_version from i to i + 1.
const char* const kMigrations[] = {
    // 1: the outbox, the contact log, opt-outs, orders seen.
    R"sql(
CREATE TABLE orders_seen (
  order_id TEXT PRIMARY KEY,
  buyer TEXT NOT NULL,
  phone TEXT NOT NULL DEFAULT '',
  status TEXT NOT NULL,
  first_seen INTEGER NOT NULL,
  last_seen INTEGER NOT NULL
);
CREATE INDEX orders_seen_phone ON orders_seen(phone);
CREATE TABLE outbox (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  idempotency_key TEXT NOT NULL UNIQUE,
  buyer TEXT NOT NULL,
  order_ids TEXT NOT NULL,
  channel TEXT NOT NULL,
  step INTEGER NOT NULL,
  segment TEXT NOT NULL,
  template TEXT NOT NULL,
  message TEXT NOT NULL,
  subject TEXT NOT NULL DEFAULT '',
  contact TEXT NOT NULL DEFAULT '',
  receiver_name TEXT NOT NULL DEFAULT '',
  send_at INTEGER NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('planned','sending','sent','failed','cancelled')),
  attempts INTEGER NOT NULL DEFAULT 0,
  last_error TEXT NOT NULL DEFAULT '',
  updated_at INTEGER NOT NULL,
  sent_at INTEGER,
  why TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX outbox_state_send_at ON outbox(state, send_at);
CREATE TABLE contacts (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  buyer TEXT NOT NULL,
  channel TEXT NOT NULL,
  at INTEGER NOT NULL,
  order_ids TEXT NOT NULL,
  step INTEGER NOT NULL
);
CREATE INDEX contacts_buyer ON contacts(buyer, at);
CREATE TABLE opt_outs (
  buyer TEXT NOT NULL,
  channel TEXT NOT NULL,
  at INTEGER NOT NULL,
  source TEXT NOT NULL,
  PRIMARY KEY (buyer, channel)
);
)sql",
    // 2: call tasks for the call desk.
    R"sql(
CREATE TABLE call_tasks (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  idempotency_key TEXT NOT NULL UNIQUE,
  buyer TEXT NOT NULL,
  receiver_name TEXT NOT NULL DEFAULT '',
  phone TEXT NOT NULL,
  order_ids TEXT NOT NULL,
  message TEXT NOT NULL,
  due_at INTEGER NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX call_tasks_due ON call_tasks(due_at);
)sql",
    // 3: several shops in one export: a buyer is (shop, buyer). Existing rows get shop "":
    // an existing contact counts (and an existing opt-out applies) in every shop of the buyer.
    R"sql(
ALTER TABLE outbox ADD COLUMN shop TEXT NOT NULL DEFAULT '';
ALTER TABLE contacts ADD COLUMN shop TEXT NOT NULL DEFAULT '';
DROP INDEX IF EXISTS contacts_buyer;
CREATE INDEX contacts_shop_buyer ON contacts(shop, buyer, at);
ALTER TABLE orders_seen ADD COLUMN shop TEXT NOT NULL DEFAULT '';
ALTER TABLE call_tasks ADD COLUMN shop TEXT NOT NULL DEFAULT '';
CREATE TABLE opt_outs_by_shop (
  shop TEXT NOT NULL DEFAULT '',
  buyer TEXT NOT NULL,
  channel TEXT NOT NULL,
  at INTEGER NOT NULL,
  source TEXT NOT NULL,
  PRIMARY KEY (shop, buyer, channel)
);
INSERT INTO opt_outs_by_shop (shop, buyer, channel, at, source) SELECT '', buyer, channel, at, source FROM opt_outs;
DROP TABLE opt_outs;
ALTER TABLE opt_outs_by_shop RENAME TO opt_outs;
)sql",
    // 4: the 'unknown' state (a crash while a request to a gateway that keeps duplicates may
    // have left) and the retry time of a failed attempt. SQLite cannot alter a CHECK: rebuild.
    R"sql(
CREATE TABLE outbox_v4 (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  idempotency_key TEXT NOT NULL UNIQUE,
  buyer TEXT NOT NULL,
  order_ids TEXT NOT NULL,
  channel TEXT NOT NULL,
  step INTEGER NOT NULL,
  segment TEXT NOT NULL,
  template TEXT NOT NULL,
  message TEXT NOT NULL,
  subject TEXT NOT NULL DEFAULT '',
  contact TEXT NOT NULL DEFAULT '',
  receiver_name TEXT NOT NULL DEFAULT '',
  send_at INTEGER NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('planned','sending','sent','failed','cancelled','unknown')),
  attempts INTEGER NOT NULL DEFAULT 0,
  last_error TEXT NOT NULL DEFAULT '',
  updated_at INTEGER NOT NULL,
  sent_at INTEGER,
  why TEXT NOT NULL DEFAULT '[]',
  shop TEXT NOT NULL DEFAULT '',
  not_before INTEGER,
  doubt_at INTEGER
);
INSERT INTO outbox_v4 (id, idempotency_key, buyer, order_ids, channel, step, segment, template, message, subject,
  contact, receiver_name, send_at, state, attempts, last_error, updated_at, sent_at, why, shop)
  SELECT id, idempotency_key, buyer, order_ids, channel, step, segment, template, message, subject, contact,
  receiver_name, send_at, state, attempts, last_error, updated_at, sent_at, why, shop FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_v4 RENAME TO outbox;
CREATE INDEX outbox_state_send_at ON outbox(state, send_at);
CREATE INDEX outbox_channel_due ON outbox(state, channel, send_at);
CREATE INDEX contacts_buyer_at ON contacts(buyer, at);
)sql",
    // 5: what the call desk recorded of each call task, and the orders' amounts (the desk
    // calls the biggest orders first).
    R"sql(
CREATE TABLE call_outcomes (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  idempotency_key TEXT NOT NULL,
  outcome TEXT NOT NULL CHECK (outcome IN ('reached','no_answer','will_pay','refused')),
  at INTEGER NOT NULL,
  agent TEXT NOT NULL DEFAULT '',
  note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX call_outcomes_key ON call_outcomes(idempotency_key, at);
ALTER TABLE orders_seen ADD COLUMN amount INTEGER NOT NULL DEFAULT 0;
)sql",
};
static_assert(std::size(kMigrations) == SqliteStore::kSchemaVersion);

std::string ids_json(const std::vector<std::string>& ids) {
  return nlohmann::json(ids).dump();
}

std::vector<std::string> ids_from_json(const std::string& text) {
  const auto j = nlohmann::json::parse(text, nullptr, false);
  std::vector<std::string> out;
  if (j.is_array()) {
    for (const auto& v : j) {
      if (v.is_string()) out.push_back(v.get<std::string>());
    }
  }
  return out;
}

const char* const kOutboxColumns =
    "id, idempotency_key, buyer, order_ids, channel, step, segment, template, message, subject, contact, "
    "receiver_name, send_at, state, attempts, last_error, updated_at, sent_at, why, shop, not_before, doubt_at";

}  // namespace

struct SqliteStore::Impl {
  explicit Impl(const std::string& path)
      : db(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE | SQLite::OPEN_FULLMUTEX, 5000) {}
  mutable SQLite::Database db;
};

namespace {

// Runs fn, translating SQLite errors into StoreError naming the file and the operation.
template <typename F>
auto guarded(const std::string& path, const char* what, F&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const SQLite::Exception& e) {
    throw StoreError(fmt::format("{}: {}: {}", path, what, e.what()));
  } catch (const nlohmann::json::exception& e) {
    throw StoreError(fmt::format("{}: {}: {}", path, what, e.what()));
  }
}

}  // namespace

SqliteStore::SqliteStore(const std::string& path, ShopZone zone) : path_(path), zone_(std::move(zone)) {
  // Create the file with mode 0600 ourselves: it holds buyers' phone numbers. SQLite
  // gives the -wal and -shm files the same mode.
  {
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) throw StoreError(fmt::format("{}: cannot open the state database: {}", path, std::strerror(errno)));
    const int rc = ::fchmod(fd, 0600);
    ::close(fd);
    if (rc != 0) throw StoreError(fmt::format("{}: cannot set mode 0600: {}", path, std::strerror(errno)));
  }
  guarded(path_, "open", [&] {
    impl_ = std::make_unique<Impl>(path);
    auto& db = impl_->db;
    db.exec("PRAGMA journal_mode=WAL");
    // FULL: a "sent" mark must survive a power cut, or a restart would send the reminder again.
    db.exec("PRAGMA synchronous=FULL");
    db.exec("PRAGMA foreign_keys=ON");
    const int version = db.execAndGet("PRAGMA user_version").getInt();
    if (version > kSchemaVersion) {
      throw StoreError(fmt::format("{}: schema version {} is newer than this cuifu understands ({})", path, version,
                                   kSchemaVersion));
    }
    for (int v = version; v < kSchemaVersion; ++v) {
      SQLite::Transaction tx(db);
      db.exec(kMigrations[v]);
      db.exec(fmt::format("PRAGMA user_version = {}", v + 1));
      tx.commit();
    }
    return 0;
  });
}

SqliteStore::~SqliteStore() = default;

int SqliteStore::schema_version() const {
  return guarded(path_, "read schema version", [&] { return impl_->db.execAndGet("PRAGMA user_version").getInt(); });
}

namespace {

std::int64_t epoch(const ShopZone& z, LocalTime t) {
  return z.to_sys(t).time_since_epoch().count();
}
LocalTime local(const ShopZone& z, std::int64_t e) {
  return z.to_local(SysTime{Seconds{e}});
}

OutboxRow read_row(const ShopZone& z, SQLite::Statement& q) {
  OutboxRow r;
  r.id = q.getColumn(0).getInt64();
  r.idempotency_key = q.getColumn(1).getString();
  r.buyer = q.getColumn(2).getString();
  r.order_ids = ids_from_json(q.getColumn(3).getString());
  r.channel = parse_channel(q.getColumn(4).getString()).value_or(Channel::im);
  r.step = q.getColumn(5).getInt();
  r.segment = q.getColumn(6).getString();
  r.template_name = q.getColumn(7).getString();
  r.message = q.getColumn(8).getString();
  r.subject = q.getColumn(9).getString();
  r.contact = q.getColumn(10).getString();
  r.receiver_name = q.getColumn(11).getString();
  r.send_at = local(z, q.getColumn(12).getInt64());
  r.state = parse_outbox_state(q.getColumn(13).getString()).value_or(OutboxState::failed);
  r.attempts = q.getColumn(14).getInt();
  r.last_error = q.getColumn(15).getString();
  r.updated_at = local(z, q.getColumn(16).getInt64());
  if (!q.getColumn(17).isNull()) r.sent_at = local(z, q.getColumn(17).getInt64());
  r.why = ids_from_json(q.getColumn(18).getString());
  r.shop = q.getColumn(19).getString();
  if (!q.getColumn(20).isNull()) r.not_before = local(z, q.getColumn(20).getInt64());
  if (!q.getColumn(21).isNull()) r.in_doubt_since = local(z, q.getColumn(21).getInt64());
  return r;
}

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

// The latest outcome of each call task goes onto the task's phone contact: the latest phone
// contact of its (shop, buyer) with the same orders logged at or before the outcome.
void attach_call_outcomes(SQLite::Database& db, const ShopZone& z, std::vector<ContactRecord>& contacts) {
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

}  // namespace

ContactHistory SqliteStore::history() const {
  return guarded(path_, "read contact history", [&] {
    ContactHistory h;
    SQLite::Statement q(impl_->db,
                        "SELECT buyer, channel, at, order_ids, step, shop FROM (SELECT buyer, channel, at, order_ids, "
                        "step, shop, id, 0 AS failed FROM contacts UNION ALL SELECT buyer, channel, updated_at, "
                        "order_ids, step, shop, id, 1 FROM outbox WHERE state='failed') ORDER BY at, failed, id");
    while (q.executeStep()) {
      ContactRecord c;
      c.buyer = q.getColumn(0).getString();
      c.channel = parse_channel(q.getColumn(1).getString()).value_or(Channel::im);
      c.at = local(zone_, q.getColumn(2).getInt64());
      c.order_ids = ids_from_json(q.getColumn(3).getString());
      c.step = q.getColumn(4).getInt();
      c.shop = q.getColumn(5).getString();
      h.add(std::move(c));
    }
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

void SqliteStore::batch(const std::function<void()>& fn) {
  std::optional<SQLite::Transaction> tx;
  guarded(path_, "begin a transaction", [&] {
    tx.emplace(impl_->db);
    return 0;
  });
  fn();
  guarded(path_, "commit", [&] {
    tx->commit();
    return 0;
  });
}

UpsertResult SqliteStore::upsert_planned(const PlannedReminder& r, LocalTime now) {
  return guarded(path_, "upsert planned reminder", [&] {
    auto& db = impl_->db;
    const std::string key = r.idempotency_key();
    const std::int64_t send_at = epoch(zone_, r.send_at);
    const std::int64_t t = epoch(zone_, now);
    nlohmann::json why = r.why;
    SQLite::Savepoint tx(db, "upsert");  // nests inside batch()
    SQLite::Statement find(db,
                           "SELECT id, state, send_at, message, order_ids, channel, contact, subject, receiver_name, "
                           "segment, template, step, buyer, not_before FROM outbox WHERE idempotency_key = ?");
    find.bind(1, key);
    UpsertResult result;
    if (!find.executeStep()) {
      SQLite::Statement ins(db,
                            "INSERT INTO outbox (idempotency_key, buyer, order_ids, channel, step, segment, template, "
                            "message, subject, contact, receiver_name, send_at, state, updated_at, why, shop) "
                            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,'planned',?,?,?)");
      SQLite::bind(ins, key, r.buyer, ids_json(r.order_ids), std::string(to_string(r.channel)), r.step, r.segment,
                   r.template_name, r.message, r.subject, r.contact, r.receiver_name, send_at, t, why.dump(), r.shop);
      ins.exec();
      result = UpsertResult::inserted;
    } else {
      const std::int64_t id = find.getColumn(0).getInt64();
      const auto state = parse_outbox_state(find.getColumn(1).getString());
      const std::int64_t old_send_at = find.getColumn(2).getInt64();
      // Everything that is sent counts: a new phone number or a fallback channel with the
      // same text must reach the row.
      const bool same =
          old_send_at == send_at && find.getColumn(3).getString() == r.message &&
          find.getColumn(4).getString() == ids_json(r.order_ids) &&
          find.getColumn(5).getString() == to_string(r.channel) && find.getColumn(6).getString() == r.contact &&
          find.getColumn(7).getString() == r.subject && find.getColumn(8).getString() == r.receiver_name &&
          find.getColumn(9).getString() == r.segment && find.getColumn(10).getString() == r.template_name &&
          find.getColumn(11).getInt() == r.step && find.getColumn(12).getString() == r.buyer;
      // Retries used up: the row waits to be re-planned until then.
      const bool waits =
          state == OutboxState::cancelled && !find.getColumn(13).isNull() && find.getColumn(13).getInt64() > t;
      if (!waits && (state == OutboxState::planned || state == OutboxState::cancelled)) {
        // A planned row that is already due keeps its slot: re-planning at a later `now`
        // would otherwise push a due reminder forward minute by minute.
        const std::int64_t slot = state == OutboxState::planned && old_send_at <= t ? old_send_at : send_at;
        if (state == OutboxState::planned && same) {
          result = UpsertResult::unchanged;
        } else {
          // A revived row starts its attempts afresh (its retries were used up, or it was never tried).
          SQLite::Statement up(db,
                               "UPDATE outbox SET buyer=?, order_ids=?, channel=?, step=?, segment=?, template=?, "
                               "message=?, subject=?, contact=?, receiver_name=?, send_at=?, state='planned', "
                               "last_error=?, updated_at=?, why=?, attempts=CASE WHEN state='cancelled' THEN 0 ELSE "
                               "attempts END, not_before=CASE WHEN state='cancelled' THEN NULL ELSE not_before END "
                               "WHERE id=?");
          SQLite::bind(up, r.buyer, ids_json(r.order_ids), std::string(to_string(r.channel)), r.step, r.segment,
                       r.template_name, r.message, r.subject, r.contact, r.receiver_name, slot, std::string{}, t,
                       why.dump(), id);
          up.exec();
          result = state == OutboxState::cancelled ? UpsertResult::revived : UpsertResult::updated;
        }
      } else {
        result = UpsertResult::kept;
      }
    }
    tx.release();
    return result;
  });
}

std::vector<OutboxRow> SqliteStore::rows(const OutboxFilter& filter) const {
  return guarded(path_, "list outbox", [&] {
    std::string sql = fmt::format("SELECT {} FROM outbox WHERE 1=1", kOutboxColumns);
    if (filter.day) sql += " AND send_at >= ? AND send_at < ?";
    if (filter.state) sql += " AND state = ?";
    sql += " ORDER BY send_at, buyer, id";
    SQLite::Statement q(impl_->db, sql);
    int i = 0;
    if (filter.day) {
      const LocalTime d = start_of_day(*filter.day);
      q.bind(++i, epoch(zone_, d));
      q.bind(++i, epoch(zone_, d + std::chrono::days{1}));
    }
    if (filter.state) q.bind(++i, std::string(to_string(*filter.state)));
    std::vector<OutboxRow> out;
    while (q.executeStep()) out.push_back(read_row(zone_, q));
    return out;
  });
}

std::vector<OutboxRow> SqliteStore::in_state(OutboxState s) const {
  return rows({std::nullopt, s});
}

std::vector<OutboxRow> SqliteStore::due(LocalTime now, std::optional<Channel> channel, int limit) const {
  return guarded(path_, "list due reminders", [&] {
    SQLite::Statement q(impl_->db, fmt::format("SELECT {} FROM outbox WHERE state='planned' AND send_at <= ?1 "
                                               "AND (not_before IS NULL OR not_before <= ?1) {} "
                                               "ORDER BY send_at, id LIMIT ?2",
                                               kOutboxColumns, channel ? "AND channel = ?3" : ""));
    SQLite::bind(q, epoch(zone_, now), limit);
    if (channel) q.bind(3, std::string(to_string(*channel)));
    std::vector<OutboxRow> out;
    while (q.executeStep()) out.push_back(read_row(zone_, q));
    return out;
  });
}

std::vector<ContactRecord> SqliteStore::contacts_of(const std::vector<std::string>& buyers) const {
  return guarded(path_, "read contacts", [&] {
    std::vector<ContactRecord> out;
    SQLite::Statement q(impl_->db,
                        "SELECT buyer, channel, at, order_ids, step, shop FROM contacts WHERE buyer = ? "
                        "ORDER BY at, id");
    for (const auto& b : buyers) {
      q.reset();
      q.bind(1, b);
      while (q.executeStep()) {
        ContactRecord c;
        c.buyer = q.getColumn(0).getString();
        c.channel = parse_channel(q.getColumn(1).getString()).value_or(Channel::im);
        c.at = local(zone_, q.getColumn(2).getInt64());
        c.order_ids = ids_from_json(q.getColumn(3).getString());
        c.step = q.getColumn(4).getInt();
        c.shop = q.getColumn(5).getString();
        out.push_back(std::move(c));
      }
    }
    return out;
  });
}

std::optional<LocalTime> SqliteStore::next_due() const {
  return guarded(path_, "find next due reminder", [&]() -> std::optional<LocalTime> {
    SQLite::Statement q(impl_->db,
                        "SELECT MIN(MAX(send_at, COALESCE(not_before, send_at))) FROM outbox WHERE state='planned'");
    if (!q.executeStep() || q.getColumn(0).isNull()) return std::nullopt;
    return local(zone_, q.getColumn(0).getInt64());
  });
}

std::optional<OutboxRow> SqliteStore::find(std::int64_t id) const {
  return guarded(path_, "read outbox row", [&]() -> std::optional<OutboxRow> {
    SQLite::Statement q(impl_->db, fmt::format("SELECT {} FROM outbox WHERE id = ?", kOutboxColumns));
    q.bind(1, id);
    if (!q.executeStep()) return std::nullopt;
    return read_row(zone_, q);
  });
}

bool SqliteStore::mark_sending(std::int64_t id, LocalTime now) {
  return guarded(path_, "mark sending", [&] {
    SQLite::Statement q(impl_->db,
                        "UPDATE outbox SET state='sending', attempts=attempts+1, updated_at=? "
                        "WHERE id=? AND state='planned'");
    SQLite::bind(q, epoch(zone_, now), id);
    return q.exec() == 1;
  });
}

namespace {

void log_contact(SQLite::Database& db, const ShopZone& zone, const ContactRecord& contact) {
  SQLite::Statement c(db, "INSERT INTO contacts (buyer, channel, at, order_ids, step, shop) VALUES (?,?,?,?,?,?)");
  SQLite::bind(c, contact.buyer, std::string(to_string(contact.channel)), epoch(zone, contact.at),
               ids_json(contact.order_ids), contact.step, contact.shop);
  c.exec();
}

}  // namespace

void SqliteStore::mark_sent(std::int64_t id, LocalTime now, const ContactRecord& contact) {
  guarded(path_, "mark sent", [&] {
    auto& db = impl_->db;
    SQLite::Transaction tx(db);
    SQLite::Statement q(db,
                        "UPDATE outbox SET state='sent', last_error='', updated_at=?1, sent_at=?1, not_before=NULL "
                        "WHERE id=?2 AND state IN ('sending','planned')");
    SQLite::bind(q, epoch(zone_, now), id);
    if (q.exec() == 1) log_contact(db, zone_, contact);
    tx.commit();
    return 0;
  });
}

void SqliteStore::mark_retry(std::int64_t id, LocalTime now, const std::string& error, LocalTime not_before,
                             bool in_doubt) {
  guarded(path_, "mark for retry", [&] {
    SQLite::Statement q(
        impl_->db,
        "UPDATE outbox SET state='planned', last_error=?, not_before=?, doubt_at=CASE WHEN ? THEN "
        "COALESCE(doubt_at, updated_at) ELSE doubt_at END, updated_at=? WHERE id=? AND state='sending'");
    SQLite::bind(q, error, epoch(zone_, not_before), in_doubt ? 1 : 0, epoch(zone_, now), id);
    q.exec();
    return 0;
  });
}

void SqliteStore::mark_unknown(std::int64_t id, LocalTime now, const std::string& note, const ContactRecord& contact) {
  guarded(path_, "mark outcome unknown", [&] {
    auto& db = impl_->db;
    SQLite::Transaction tx(db);
    SQLite::Statement q(db,
                        "UPDATE outbox SET state='unknown', last_error=?, updated_at=? WHERE id=? AND state='sending'");
    SQLite::bind(q, note, epoch(zone_, now), id);
    if (q.exec() == 1) log_contact(db, zone_, contact);
    tx.commit();
    return 0;
  });
}

void SqliteStore::mark_failed(std::int64_t id, LocalTime now, const std::string& error) {
  guarded(path_, "mark failed", [&] {
    SQLite::Statement q(impl_->db, "UPDATE outbox SET state='failed', last_error=?, updated_at=? WHERE id=?");
    SQLite::bind(q, error, epoch(zone_, now), id);
    q.exec();
    return 0;
  });
}

std::optional<LocalTime> SqliteStore::next_replan() const {
  return guarded(path_, "find the next re-plan", [&]() -> std::optional<LocalTime> {
    SQLite::Statement q(impl_->db, "SELECT MIN(not_before) FROM outbox WHERE state='cancelled'");
    if (!q.executeStep() || q.getColumn(0).isNull()) return std::nullopt;
    return local(zone_, q.getColumn(0).getInt64());
  });
}

void SqliteStore::close_replans(LocalTime now, const std::string& reason) {
  guarded(path_, "close re-plans", [&] {
    SQLite::Statement q(impl_->db,
                        "UPDATE outbox SET not_before=NULL, last_error=last_error || '; ' || ? "
                        "WHERE state='cancelled' AND not_before IS NOT NULL AND not_before <= ?");
    SQLite::bind(q, reason, epoch(zone_, now));
    q.exec();
    return 0;
  });
}

void SqliteStore::hold_until(std::int64_t id, LocalTime not_before, const std::string& note) {
  guarded(path_, "hold a reminder back", [&] {
    SQLite::Statement q(impl_->db, "UPDATE outbox SET not_before=?, last_error=? WHERE id=? AND state='planned'");
    SQLite::bind(q, epoch(zone_, not_before), note, id);
    q.exec();
    return 0;
  });
}

void SqliteStore::give_up(std::int64_t id, LocalTime now, const std::string& reason, LocalTime replan_at) {
  guarded(path_, "give up a reminder for a re-plan", [&] {
    auto& db = impl_->db;
    SQLite::Savepoint tx(db, "give_up");
    if (cancel(id, now, reason)) {
      SQLite::Statement q(db, "UPDATE outbox SET not_before=? WHERE id=? AND state='cancelled'");
      SQLite::bind(q, epoch(zone_, replan_at), id);
      q.exec();
    }
    tx.release();
    return 0;
  });
}

void SqliteStore::mark_planned(std::int64_t id, LocalTime now, const std::string& note) {
  guarded(path_, "mark planned", [&] {
    SQLite::Statement q(impl_->db,
                        "UPDATE outbox SET state='planned', last_error=?, updated_at=? "
                        "WHERE id=? AND state IN ('planned','sending')");
    SQLite::bind(q, note, epoch(zone_, now), id);
    q.exec();
    return 0;
  });
}

bool SqliteStore::cancel(std::int64_t id, LocalTime now, const std::string& reason) {
  return guarded(path_, "cancel reminder", [&] {
    auto& db = impl_->db;
    SQLite::Savepoint tx(db, "cancel");  // nests inside batch()
    // A row whose earlier request may have reached the buyer is never 'cancelled': it becomes
    // 'unknown' and counts as a contact (at the attempt's minute, or its slot when on time).
    SQLite::Statement contact(db,
                              "INSERT INTO contacts (buyer, channel, at, order_ids, step, shop) "
                              "SELECT buyer, channel, CASE WHEN doubt_at - send_at <= 60 THEN send_at "
                              "ELSE doubt_at - doubt_at % 60 END, order_ids, step, shop FROM outbox "
                              "WHERE id=? AND state IN ('planned','sending') AND doubt_at IS NOT NULL");
    contact.bind(1, id);
    const bool in_doubt = contact.exec() == 1;
    SQLite::Statement q(db,
                        "UPDATE outbox SET state=?, last_error=?, updated_at=? "
                        "WHERE id=? AND state IN ('planned','sending')");
    SQLite::bind(q, in_doubt ? "unknown" : "cancelled",
                 in_doubt ? reason + " (possibly delivered before a restart: outcome unknown)" : reason,
                 epoch(zone_, now), id);
    const bool done = q.exec() == 1;
    tx.release();
    return done;
  });
}

void SqliteStore::mark_in_doubt(std::int64_t id, LocalTime now, const std::string& note) {
  guarded(path_, "mark in doubt", [&] {
    SQLite::Statement q(impl_->db,
                        "UPDATE outbox SET state='planned', last_error=?, doubt_at=COALESCE(doubt_at, updated_at), "
                        "updated_at=? WHERE id=? AND state='sending'");
    SQLite::bind(q, note, epoch(zone_, now), id);
    q.exec();
    return 0;
  });
}

void SqliteStore::record_orders_seen(const std::vector<Order>& orders, LocalTime now) {
  guarded(path_, "record orders seen", [&] {
    auto& db = impl_->db;
    SQLite::Transaction tx(db);
    SQLite::Statement q(db,
                        "INSERT INTO orders_seen (order_id, buyer, phone, status, first_seen, last_seen, shop, amount) "
                        "VALUES (?,?,?,?,?,?,?,?) ON CONFLICT(order_id) DO UPDATE SET buyer=excluded.buyer, "
                        "phone=excluded.phone, status=excluded.status, last_seen=excluded.last_seen, "
                        "shop=excluded.shop, amount=excluded.amount");
    const std::int64_t t = epoch(zone_, now);
    for (const auto& o : orders) {
      q.reset();
      SQLite::bind(q, o.id, o.buyer, o.phone, std::string(to_string(o.status)), t, t, o.shop,
                   static_cast<std::int64_t>(o.amount));
      q.exec();
    }
    tx.commit();
    return 0;
  });
}

void SqliteStore::add_opt_out(const OptOut& o) {
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

void SqliteStore::add_call_task(const CallTask& t) {
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

std::map<std::pair<Channel, OutboxState>, std::int64_t> SqliteStore::counts() const {
  return guarded(path_, "count outbox", [&] {
    std::map<std::pair<Channel, OutboxState>, std::int64_t> out;
    SQLite::Statement q(impl_->db, "SELECT channel, state, COUNT(*) FROM outbox GROUP BY channel, state");
    while (q.executeStep()) {
      const auto c = parse_channel(q.getColumn(0).getString());
      const auto s = parse_outbox_state(q.getColumn(1).getString());
      if (c && s) out[{*c, *s}] = q.getColumn(2).getInt64();
    }
    return out;
  });
}

}  // namespace cuifu
