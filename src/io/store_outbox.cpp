// The outbox: planned reminders by idempotency key and their states (planned, sending, sent, failed,
// cancelled, unknown), claims, retries, re-plans and the counts.
#include <SQLiteCpp/SQLiteCpp.h>
#include <SQLiteCpp/Savepoint.h>
#include <SQLiteCpp/VariadicBind.h>
#include <fmt/format.h>
#include <sqlite3.h>

#include <algorithm>
#include <array>
#include <optional>
#include <set>

#include "io/fast_hash.h"
#include "io/present_pages.h"
#include "io/store.h"
#include "io/store_internal.h"

namespace cuifu {

using store_detail::epoch;
using store_detail::guarded;
using store_detail::ids_from_json;
using store_detail::ids_json;
using store_detail::local;

namespace {

const char* const kOutboxColumns =
    "id, idempotency_key, buyer, order_ids, channel, step, segment, template, message, subject, contact, "
    "receiver_name, send_at, state, attempts, last_error, updated_at, sent_at, why, shop, not_before, doubt_at";

// A row's first six columns, in the order both kOutboxColumns and kPlannedHeadColumns select them:
// id, idempotency_key, buyer, order_ids, channel, step (into an OutboxRow or a PlannedHead).
template <class Row>
void read_row_head(SQLite::Statement& q, Row& r) {
  r.id = q.getColumn(0).getInt64();
  r.idempotency_key = q.getColumn(1).getString();
  r.buyer = q.getColumn(2).getString();
  r.order_ids = ids_from_json(q.getColumn(3).getString());
  r.channel = parse_channel(q.getColumn(4).getString()).value_or(Channel::im);
  r.step = q.getColumn(5).getInt();
}

// What upsert_planned() compares of a row with the reminder it is given, hashed (XXH3 of each
// value's 8 bytes of length, or of value, and its bytes, in this order): its slot (epoch seconds),
// message, order ids (as JSON), channel, contact, subject, receiver name, segment, template, step
// and buyer. Not stored: planned_of() and all_planned() hash what they read (the row as it is,
// whoever wrote it), content_hash() what upsert_planned() would write.
class ContentHash {
 public:
  explicit ContentHash(std::string& buf) : buf_(buf) { buf_.clear(); }
  ContentHash& add(std::int64_t v) {
    const auto u = static_cast<std::uint64_t>(v);
    for (int i = 0; i < 8; ++i) buf_.push_back(static_cast<char>((u >> (8 * i)) & 0xff));
    return *this;
  }
  ContentHash& add(std::string_view s) {
    add(static_cast<std::int64_t>(s.size()));
    buf_.append(s);
    return *this;
  }
  std::uint64_t value() const { return fast_hash(buf_); }

 private:
  std::string& buf_;
};

std::uint64_t content_hash_of(std::int64_t send_at, std::string_view message, std::string_view order_ids,
                              std::string_view channel, std::string_view contact, std::string_view subject,
                              std::string_view receiver_name, std::string_view segment, std::string_view template_name,
                              std::int64_t step, std::string_view buyer) {
  thread_local std::string buf;  // reused: a restart at 1M hashes 1.3M rows and as many reminders
  ContentHash h(buf);
  h.add(send_at).add(message).add(order_ids).add(channel).add(contact).add(subject).add(receiver_name);
  h.add(segment).add(template_name).add(step).add(buyer);
  return h.value();
}

// A text column's bytes, without a copy.
std::string_view text_of(SQLite::Statement& q, int column) {
  const SQLite::Column c = q.getColumn(column);
  return {c.getText(), static_cast<std::size_t>(c.getBytes())};
}

// What planned_of() and all_planned() read of a planned row: its head, its slot, the times a
// cancellation looks at and the hash of what upsert_planned() compares (not the message, why or
// the other texts themselves: reading and parsing them was a third of planned_of() for 13,000
// rows, and holding them at 1M orders ~2.5 GB).
const char* const kPlannedHeadColumns =
    "SELECT id, idempotency_key, buyer, order_ids, channel, step, send_at, not_before, doubt_at, shop, message, "
    "contact, subject, receiver_name, segment, template FROM outbox";

// A row of kPlannedHeadColumns.
void read_planned_head(const ShopZone& z, SQLite::Statement& q, PlannedHead& r) {
  read_row_head(q, r);
  const std::int64_t send_at = q.getColumn(6).getInt64();
  r.send_at = local(z, send_at);
  if (!q.getColumn(7).isNull()) r.not_before = local(z, q.getColumn(7).getInt64());
  if (!q.getColumn(8).isNull()) r.in_doubt_since = local(z, q.getColumn(8).getInt64());
  r.shop = q.getColumn(9).getString();
  r.content_hash =
      content_hash_of(send_at, text_of(q, 10), text_of(q, 3), text_of(q, 4), text_of(q, 11), text_of(q, 12),
                      text_of(q, 13), text_of(q, 14), text_of(q, 15), q.getColumn(5).getInt64(), text_of(q, 2));
}

OutboxRow read_row(const ShopZone& z, SQLite::Statement& q) {
  OutboxRow r;
  read_row_head(q, r);
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

const char* const kInsertContact =
    "INSERT INTO contacts (buyer, channel, at, order_ids, step, shop) VALUES (?,?,?,?,?,?)";

// `c`: a statement of kInsertContact.
void log_contact(SQLite::Statement& c, const ShopZone& zone, const ContactRecord& contact) {
  SQLite::bind(c, contact.buyer, std::string(to_string(contact.channel)), epoch(zone, contact.at),
               ids_json(contact.order_ids), contact.step, contact.shop);
  c.exec();
}

}  // namespace

std::optional<std::uint64_t> SqliteStore::content_hash(const PlannedReminder& r) const {
  try {
    return content_hash_of(epoch(zone_, r.send_at), r.message, ids_json(r.order_ids), to_string(r.channel), r.contact,
                           r.subject, r.receiver_name, r.segment, r.template_name, r.step, r.buyer);
  } catch (const std::exception&) {
    return std::nullopt;  // ids that are not UTF-8: upsert_planned() says what it makes of them
  }
}

PlannedRowText PlannedRowText::of(const PlannedReminder& r) {
  PlannedRowText t;
  try {
    t.order_ids = ids_json(r.order_ids);
    t.why = ids_json(r.why);  // the same bytes as nlohmann::json(r.why).dump()
    t.key = r.idempotency_key();
  } catch (const std::exception&) {
    return {};  // not text: upsert_planned() fails on it as it always did
  }
  return t;
}

UpsertResult SqliteStore::upsert_planned(const PlannedReminder& r, LocalTime now) {
  return upsert_planned(r, PlannedRowText{}, now);
}

UpsertResult SqliteStore::upsert_planned(const PlannedReminder& r, const PlannedRowText& text, LocalTime now) {
  settle();
  return guarded(path_, "upsert planned reminder", [&] {
    PlannedRowText made;
    if (text.key.empty()) {
      made.key = r.idempotency_key();
      made.order_ids = ids_json(r.order_ids);
      made.why = ids_json(r.why);  // the same bytes as nlohmann::json(r.why).dump()
    }
    const PlannedRowText& row = text.key.empty() ? made : text;
    const std::string& key = row.key;
    const std::string& order_ids = row.order_ids;
    const std::string& why = row.why;
    const std::int64_t send_at = epoch(zone_, r.send_at);
    const std::int64_t t = epoch(zone_, now);
    // Inside batch() (a reconcile writes thousands in one transaction) no savepoint of its own:
    // the statements are prepared once (cached), and the look-up and the write share batch()'s
    // transaction. Alone, the pair is one transaction.
    Impl::Write tx(*impl_);
    // Inserted first, found only when the key is there already: a new row (every row of a new
    // export) costs one search of the key index instead of two.
    auto ins =
        impl_->prepared(impl_->insert_planned,
                        "INSERT INTO outbox (idempotency_key, buyer, order_ids, channel, step, segment, template, "
                        "message, subject, contact, receiver_name, send_at, state, updated_at, why, shop) "
                        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,'planned',?,?,?) ON CONFLICT (idempotency_key) DO NOTHING");
    // Bound without a copy (the message is most of a row): every value outlives exec(), and the
    // bindings are cleared before they go out of scope.
    const std::string channel(to_string(r.channel));
    {
      int i = 0;
      for (const std::string* v : {&key, &r.buyer, &order_ids, &channel}) ins->bindNoCopy(++i, *v);
      ins->bind(++i, r.step);
      for (const std::string* v : {&r.segment, &r.template_name, &r.message, &r.subject, &r.contact, &r.receiver_name})
        ins->bindNoCopy(++i, *v);
      ins->bind(++i, send_at);
      ins->bind(++i, t);
      ins->bindNoCopy(++i, why);
      ins->bindNoCopy(++i, r.shop);
    }
    const bool fresh = ins->exec() == 1;
    ins->clearBindings();
    if (fresh) {
      impl_->count(channel, "planned", 1);
      tx.commit();
      return UpsertResult::inserted;
    }
    UpsertResult result;
    auto find_q =
        impl_->prepared(impl_->find_planned,
                        "SELECT id, state, send_at, message, order_ids, channel, contact, subject, receiver_name, "
                        "segment, template, step, buyer, not_before FROM outbox WHERE idempotency_key = ?");
    auto& find = *find_q;
    if (find.bind(1, key), !find.executeStep()) {
      throw StoreError(fmt::format("{}: upsert planned reminder: key {} neither inserted nor found", path_, key));
    } else {
      const std::int64_t id = find.getColumn(0).getInt64();
      const std::string old_state = find.getColumn(1).getString();
      const std::string old_channel = find.getColumn(5).getString();
      const auto state = parse_outbox_state(old_state);
      const std::int64_t old_send_at = find.getColumn(2).getInt64();
      // Everything that is sent counts: a new phone number or a fallback channel with the
      // same text must reach the row.
      const bool same = old_send_at == send_at && find.getColumn(3).getString() == r.message &&
                        find.getColumn(4).getString() == order_ids && find.getColumn(5).getString() == channel &&
                        find.getColumn(6).getString() == r.contact && find.getColumn(7).getString() == r.subject &&
                        find.getColumn(8).getString() == r.receiver_name &&
                        find.getColumn(9).getString() == r.segment &&
                        find.getColumn(10).getString() == r.template_name && find.getColumn(11).getInt() == r.step &&
                        find.getColumn(12).getString() == r.buyer;
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
          auto up = impl_->cached(
              "UPDATE outbox SET buyer=?, order_ids=?, channel=?, step=?, segment=?, template=?, "
              "message=?, subject=?, contact=?, receiver_name=?, send_at=?, state='planned', "
              "last_error=?, updated_at=?, why=?, attempts=CASE WHEN state='cancelled' THEN 0 ELSE "
              "attempts END, not_before=CASE WHEN state='cancelled' THEN NULL ELSE not_before END "
              "WHERE id=?");
          SQLite::bind(*up, r.buyer, order_ids, std::string(to_string(r.channel)), r.step, r.segment, r.template_name,
                       r.message, r.subject, r.contact, r.receiver_name, slot, std::string{}, t, why, id);
          if (up->exec() == 1) impl_->count_move(old_channel, old_state, channel, "planned");
          result = state == OutboxState::cancelled ? UpsertResult::revived : UpsertResult::updated;
        }
      } else {
        result = UpsertResult::kept;
      }
    }
    tx.commit();
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

std::vector<PlannedHead> SqliteStore::planned_of(const std::vector<std::pair<std::string, std::string>>& buyers) const {
  return guarded(path_, "list planned reminders of buyers", [&] {
    // One statement, bound again per buyer. No ORDER BY: with one, SQLite walks the (state,
    // send_at) index over every planned row for each buyer instead of the (shop, buyer, state) one.
    SQLite::Statement q(impl_->db,
                        std::string(kPlannedHeadColumns) + " WHERE shop = ? AND buyer = ? AND state = 'planned'");
    std::vector<PlannedHead> out;
    // One read transaction for all of them, not one per buyer (7,000 buyers of a 1 % paid poll
    // at 1M: each began and ended a read of the WAL's index): ~20 ms less CPU of ~130.
    std::optional<SQLite::Transaction> tx;
    if (sqlite3_get_autocommit(impl_->db.getHandle())) tx.emplace(impl_->db);
    for (const auto& [shop, buyer] : buyers) {
      q.reset();
      SQLite::bind(q, shop, buyer);
      while (q.executeStep()) read_planned_head(zone_, q, out.emplace_back());
    }
    q.reset();
    if (tx) tx->commit();
    return out;
  });
}

std::vector<PlannedHead> SqliteStore::all_planned() const {
  return guarded(path_, "list planned reminders", [&] {
    // Allocated once, for as many rows as the counts say are planned (a hint: a few more), its
    // pages made present at once: grown by doubling, the 1.3M rows of a 1M export were moved
    // into new memory again and again, mostly page faults (a restart's read of them 12.4 ->
    // 10.8 s on one pair of runs, when each was a whole OutboxRow).
    std::vector<PlannedHead> out;
    {
      SQLite::Statement n(impl_->db, "SELECT COALESCE(SUM(n), 0) FROM outbox_counts WHERE state = 'planned'");
      const std::int64_t planned = n.executeStep() ? n.getColumn(0).getInt64() : 0;
      if (planned > 0) {
        out.reserve(static_cast<std::size_t>(planned) + static_cast<std::size_t>(planned) / 64 + 16);
        make_present(out.data(), out.capacity() * sizeof(PlannedHead));
      }
    }
    SQLite::Statement q(impl_->db, std::string(kPlannedHeadColumns) + " WHERE state = 'planned'");
    while (q.executeStep()) read_planned_head(zone_, q, out.emplace_back());
    return out;
  });
}

std::vector<std::pair<std::string, std::string>> SqliteStore::replans_due(LocalTime now) const {
  return guarded(path_, "list re-plans due", [&] {
    SQLite::Statement q(impl_->db,
                        "SELECT DISTINCT shop, buyer FROM outbox WHERE state='cancelled' AND not_before IS NOT NULL "
                        "AND not_before <= ?");
    q.bind(1, epoch(zone_, now));
    std::vector<std::pair<std::string, std::string>> out;
    while (q.executeStep()) out.emplace_back(q.getColumn(0).getString(), q.getColumn(1).getString());
    return out;
  });
}

std::vector<OutboxRow> SqliteStore::due(LocalTime now, std::optional<Channel> channel, int limit) const {
  return guarded(path_, "list due reminders", [&] {
    auto q =
        impl_->cached(fmt::format("SELECT {} FROM outbox WHERE state='planned' AND send_at <= ?1 "
                                  "AND (not_before IS NULL OR not_before <= ?1) {} "
                                  "ORDER BY send_at, id LIMIT ?2",
                                  kOutboxColumns, channel ? "AND channel = ?3" : ""));
    SQLite::bind(*q, epoch(zone_, now), limit);
    if (channel) q->bind(3, std::string(to_string(*channel)));
    std::vector<OutboxRow> out;
    while (q->executeStep()) out.push_back(read_row(zone_, *q));
    return out;
  });
}

std::optional<LocalTime> SqliteStore::next_due() const {
  return guarded(path_, "find next due reminder", [&]() -> std::optional<LocalTime> {
    // Index searches (outbox_due per channel, outbox_held) rather than one pass over every
    // planned row: this runs after every dispatch.
    std::optional<std::int64_t> first;
    for (const Channel c : kAllChannels) {
      auto free = impl_->cached(
          "SELECT send_at FROM outbox WHERE state='planned' AND channel=? AND not_before IS NULL "
          "ORDER BY send_at LIMIT 1");
      free->bind(1, std::string(to_string(c)));
      if (free->executeStep()) {
        const std::int64_t t = free->getColumn(0).getInt64();
        first = first ? std::min(*first, t) : t;
      }
    }
    auto held = impl_->cached(
        "SELECT MIN(MAX(send_at, not_before)) FROM outbox WHERE state='planned' AND not_before IS NOT NULL");
    if (held->executeStep() && !held->getColumn(0).isNull()) {
      const std::int64_t h = held->getColumn(0).getInt64();
      first = first ? std::min(*first, h) : h;
    }
    if (!first) return std::nullopt;
    return local(zone_, *first);
  });
}

std::optional<OutboxRow> SqliteStore::find(std::int64_t id) const {
  return guarded(path_, "read outbox row", [&]() -> std::optional<OutboxRow> {
    auto q = impl_->cached(fmt::format("SELECT {} FROM outbox WHERE id = ?", kOutboxColumns));
    q->bind(1, id);
    if (!q->executeStep()) return std::nullopt;
    return read_row(zone_, *q);
  });
}

bool SqliteStore::mark_sending(std::int64_t id, LocalTime now) {
  settle();
  return guarded(path_, "mark sending", [&] {
    Impl::Write tx(*impl_);
    std::string channel, state;
    if (!impl_->channel_state(id, channel, state) || state != "planned") return false;
    auto q = impl_->cached(
        "UPDATE outbox SET state='sending', attempts=attempts+1, updated_at=? WHERE id=? AND state='planned'");
    SQLite::bind(*q, epoch(zone_, now), id);
    if (q->exec() != 1) return false;
    impl_->count_move(channel, state, channel, "sending");
    tx.commit();
    return true;
  });
}

void SqliteStore::mark_sent(std::int64_t id, LocalTime now, const ContactRecord& contact) {
  settle();
  guarded(path_, "mark sent", [&] {
    // The mark and its contact together. Inside batch() (the daemon's round of outcomes and
    // claims) its transaction does that, and a failure rolls the whole round back: no
    // savepoint of its own, whose journal of the pages it touched cost more than the writes.
    Impl::Write tx(*impl_);
    std::string channel, state;
    if (!impl_->channel_state(id, channel, state) || (state != "sending" && state != "planned")) return 0;
    auto q = impl_->cached(
        "UPDATE outbox SET state='sent', last_error='', updated_at=?1, sent_at=?1, not_before=NULL "
        "WHERE id=?2 AND (state='sending' OR state='planned')");
    SQLite::bind(*q, epoch(zone_, now), id);
    if (q->exec() == 1) {
      impl_->count_move(channel, state, channel, "sent");
      log_contact(*impl_->cached(kInsertContact), zone_, contact);
    }
    tx.commit();
    return 0;
  });
}

void SqliteStore::mark_retry(std::int64_t id, LocalTime now, const std::string& error, LocalTime not_before,
                             bool in_doubt) {
  settle();
  guarded(path_, "mark for retry", [&] {
    Impl::Write tx(*impl_);
    std::string channel, state;
    if (!impl_->channel_state(id, channel, state) || state != "sending") return 0;
    auto q = impl_->cached(
        "UPDATE outbox SET state='planned', last_error=?, not_before=?, doubt_at=CASE WHEN ? THEN "
        "COALESCE(doubt_at, updated_at) ELSE doubt_at END, updated_at=? WHERE id=? AND state='sending'");
    SQLite::bind(*q, error, epoch(zone_, not_before), in_doubt ? 1 : 0, epoch(zone_, now), id);
    if (q->exec() == 1) impl_->count_move(channel, state, channel, "planned");
    tx.commit();
    return 0;
  });
}

void SqliteStore::mark_unknown(std::int64_t id, LocalTime now, const std::string& note, const ContactRecord& contact) {
  settle();
  guarded(path_, "mark outcome unknown", [&] {
    Impl::Write tx(*impl_);  // as in mark_sent()
    std::string channel, state;
    if (!impl_->channel_state(id, channel, state) || state != "sending") return 0;
    auto q =
        impl_->cached("UPDATE outbox SET state='unknown', last_error=?, updated_at=? WHERE id=? AND state='sending'");
    SQLite::bind(*q, note, epoch(zone_, now), id);
    if (q->exec() == 1) {
      impl_->count_move(channel, state, channel, "unknown");
      log_contact(*impl_->cached(kInsertContact), zone_, contact);
    }
    tx.commit();
    return 0;
  });
}

void SqliteStore::mark_failed(std::int64_t id, LocalTime now, const std::string& error) {
  settle();
  guarded(path_, "mark failed", [&] {
    Impl::Write tx(*impl_);
    std::string channel, state;
    if (!impl_->channel_state(id, channel, state)) return 0;
    auto q = impl_->cached("UPDATE outbox SET state='failed', last_error=?, updated_at=? WHERE id=?");
    SQLite::bind(*q, error, epoch(zone_, now), id);
    if (q->exec() == 1) impl_->count_move(channel, state, channel, "failed");
    tx.commit();
    return 0;
  });
}

std::optional<LocalTime> SqliteStore::next_replan() const {
  return guarded(path_, "find the next re-plan", [&]() -> std::optional<LocalTime> {
    SQLite::Statement q(impl_->db,
                        "SELECT MIN(not_before) FROM outbox WHERE state='cancelled' AND not_before IS NOT NULL");
    if (!q.executeStep() || q.getColumn(0).isNull()) return std::nullopt;
    return local(zone_, q.getColumn(0).getInt64());
  });
}

void SqliteStore::close_replans(LocalTime now, const std::string& reason) {
  settle();
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
  settle();
  guarded(path_, "hold a reminder back", [&] {
    SQLite::Statement q(impl_->db, "UPDATE outbox SET not_before=?, last_error=? WHERE id=? AND state='planned'");
    SQLite::bind(q, epoch(zone_, not_before), note, id);
    q.exec();
    return 0;
  });
}

void SqliteStore::give_up(std::int64_t id, LocalTime now, const std::string& reason, LocalTime replan_at) {
  settle();
  guarded(path_, "give up a reminder for a re-plan", [&] {
    Impl::Write tx(*impl_, "give_up");
    if (cancel(id, now, reason)) {
      SQLite::Statement q(impl_->db, "UPDATE outbox SET not_before=? WHERE id=? AND state='cancelled'");
      SQLite::bind(q, epoch(zone_, replan_at), id);
      q.exec();
    }
    tx.commit();
    return 0;
  });
}

void SqliteStore::mark_planned(std::int64_t id, LocalTime now, const std::string& note) {
  settle();
  guarded(path_, "mark planned", [&] {
    Impl::Write tx(*impl_);
    std::string channel, state;
    if (!impl_->channel_state(id, channel, state) || (state != "planned" && state != "sending")) return 0;
    auto q = impl_->cached(
        "UPDATE outbox SET state='planned', last_error=?, updated_at=? "
        "WHERE id=? AND state IN ('planned','sending')");
    SQLite::bind(*q, note, epoch(zone_, now), id);
    if (q->exec() == 1) impl_->count_move(channel, state, channel, "planned");
    tx.commit();
    return 0;
  });
}

bool SqliteStore::cancel(std::int64_t id, LocalTime now, const std::string& reason) {
  return cancel_in(id, now, reason, true);
}

bool SqliteStore::cancel_planned(std::int64_t id, LocalTime now, const std::string& reason) {
  return cancel_in(id, now, reason, false);
}

bool SqliteStore::cancel_planned_as_read(const PlannedHead& as_read, LocalTime now, const std::string& reason) {
  if (as_read.in_doubt_since) return cancel_planned(as_read.id, now, reason);
  settle();
  return guarded(path_, "cancel reminder", [&] {
    Impl::Write tx(*impl_);  // inside batch(), its transaction
    // Still as read (planned, not in doubt, the same channel): cancelled by this one UPDATE, which
    // checks it. Nothing else would differ from cancel_planned(): no contact (not in doubt), the
    // same values, the same count move. A row claimed, in doubt or moved to another channel since
    // is not touched here and takes the general way, which reads it first.
    auto q = impl_->prepared(impl_->cancel_as_read,
                             "UPDATE outbox SET state='cancelled', last_error=?1, updated_at=?2 "
                             "WHERE id=?3 AND state='planned' AND doubt_at IS NULL AND channel=?4");
    const std::string channel(to_string(as_read.channel));
    q->bindNoCopy(1, reason);
    q->bind(2, epoch(zone_, now));
    q->bind(3, as_read.id);
    q->bindNoCopy(4, channel);
    const bool fast = q->exec() == 1;
    q->clearBindings();
    bool done = true;
    if (fast) {
      impl_->count_move(channel, "planned", channel, "cancelled");
    } else {
      done = cancel_in(as_read.id, now, reason, false);  // in this transaction
    }
    tx.commit();
    return done;
  });
}

// The states cancel_in() takes a row from: [0] planned only, [1] claimed (sending) too.
constexpr std::array<const char*, 2> kCancelledStates{"('planned')", "('planned','sending')"};

bool SqliteStore::cancel_in(std::int64_t id, LocalTime now, const std::string& reason, bool or_sending) {
  settle();
  return guarded(path_, "cancel reminder", [&] {
    Impl::Write tx(*impl_);  // inside batch() or give_up(), theirs
    std::string channel, state;
    if (!impl_->channel_state(id, channel, state) || (state != "planned" && (!or_sending || state != "sending"))) {
      return false;
    }
    // A row whose earlier request may have reached the buyer is never 'cancelled': it becomes
    // 'unknown' and counts as a contact (at the attempt's minute, or its slot when on time).
    // The statements of both kinds (planned rows only, or claimed ones too), each made and
    // prepared once.
    const auto both = [](const char* shape) {
      std::array<std::string, 2> sql;
      for (const bool sending : {false, true})
        sql[sending] = fmt::format(fmt::runtime(shape), kCancelledStates[sending]);
      return sql;
    };
    static const auto kContact = both(
        "INSERT INTO contacts (buyer, channel, at, order_ids, step, shop) SELECT buyer, channel, CASE WHEN "
        "doubt_at - send_at <= 60 THEN send_at ELSE doubt_at - doubt_at % 60 END, order_ids, step, shop FROM "
        "outbox WHERE id=? AND state IN {} AND doubt_at IS NOT NULL");
    static const auto kUpdate =
        both("UPDATE outbox SET state=?, last_error=?, updated_at=? WHERE id=? AND state IN {}");
    auto contact = impl_->prepared(impl_->cancel_contact[or_sending], kContact[or_sending].c_str());
    contact->bind(1, id);
    const bool in_doubt = contact->exec() == 1;
    auto q = impl_->prepared(impl_->cancel_update[or_sending], kUpdate[or_sending].c_str());
    SQLite::bind(*q, in_doubt ? "unknown" : "cancelled",
                 in_doubt ? reason + " (possibly delivered before a restart: outcome unknown)" : reason,
                 epoch(zone_, now), id);
    const bool done = q->exec() == 1;
    if (done) impl_->count_move(channel, state, channel, in_doubt ? "unknown" : "cancelled");
    tx.commit();
    return done;
  });
}

void SqliteStore::mark_in_doubt(std::int64_t id, LocalTime now, const std::string& note) {
  settle();
  guarded(path_, "mark in doubt", [&] {
    Impl::Write tx(*impl_);
    std::string channel, state;
    if (!impl_->channel_state(id, channel, state) || state != "sending") return 0;
    auto q = impl_->cached(
        "UPDATE outbox SET state='planned', last_error=?, doubt_at=COALESCE(doubt_at, updated_at), "
        "updated_at=? WHERE id=? AND state='sending'");
    SQLite::bind(*q, note, epoch(zone_, now), id);
    if (q->exec() == 1) impl_->count_move(channel, state, channel, "planned");
    tx.commit();
    return 0;
  });
}

bool SqliteStore::recount_outbox() {
  settle();
  return guarded(path_, "count outbox again", [&] {
    SQLite::Transaction tx(impl_->db, SQLite::TransactionBehavior::IMMEDIATE);
    const auto read = [&](const char* sql) {
      std::map<std::pair<std::string, std::string>, std::int64_t> out;
      SQLite::Statement q(impl_->db, sql);
      while (q.executeStep()) {
        const std::int64_t n = q.getColumn(2).getInt64();
        if (n != 0) out[{q.getColumn(0).getString(), q.getColumn(1).getString()}] = n;
      }
      return out;
    };
    const auto kept = read("SELECT channel, state, n FROM outbox_counts");
    const auto rows = read("SELECT channel, state, COUNT(*) FROM outbox GROUP BY channel, state");
    if (kept == rows) return false;
    impl_->db.exec(
        "DELETE FROM outbox_counts;"
        "INSERT INTO outbox_counts (channel, state, n) SELECT channel, state, COUNT(*) FROM outbox GROUP BY channel, "
        "state;");
    tx.commit();
    return true;
  });
}

std::map<std::pair<Channel, OutboxState>, std::int64_t> SqliteStore::counts() const {
  return guarded(path_, "count outbox", [&] {
    std::map<std::pair<Channel, OutboxState>, std::int64_t> out;
    const auto add = [&](const std::string& channel, const std::string& state, std::int64_t n) {
      const auto c = parse_channel(channel);
      const auto s = parse_outbox_state(state);
      if (c && s) out[{*c, *s}] += n;
    };
    // Kept by the writers (Impl::count_changes): a few rows, however big the outbox. Read through
    // this connection's open transaction (unflushed()), they are its rows' counts too once the
    // changes it has not written yet are added.
    {
      auto q = impl_->cached("SELECT channel, state, n FROM outbox_counts");
      while (q->executeStep())
        add(q->getColumn(0).getString(), q->getColumn(1).getString(), q->getColumn(2).getInt64());
    }
    for (const auto& c : impl_->count_changes) add(c.channel, c.state, c.n);
    std::erase_if(out, [](const auto& e) { return e.second <= 0; });
    return out;
  });
}

}  // namespace cuifu
