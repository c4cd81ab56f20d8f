// The state database: opening it (mode 0600, WAL, synchronous FULL), the schema and its
// migrations, transactions. The tables' own code is in store_outbox.cpp (the outbox),
// store_buyers.cpp (contacts, opt-outs, orders seen) and store_calls.cpp (call tasks and
// outcomes); store_internal.h is what they share.
#include "io/store.h"

#include <SQLiteCpp/SQLiteCpp.h>
#include <SQLiteCpp/Savepoint.h>
#include <SQLiteCpp/VariadicBind.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>
#include <algorithm>
#include <chrono>
#include <cstring>
#include <set>

#include <nlohmann/json.hpp>

#include "io/json_text.h"
#include "io/quiet_thread.h"
#include "io/store_internal.h"

namespace cuifu {

using store_detail::guarded;

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

// unflushed(): its transaction is committed after this long or this many changes at most.
constexpr std::chrono::seconds kUnflushedFor{10};
constexpr std::int64_t kUnflushedChanges = 500000;
// unflushed() for this many rows at most: its transaction has a page cache of kRoomyCacheKiB.
constexpr std::size_t kRoomyUnflushedRows = 50000;
constexpr int kRoomyCacheKiB = 256 * 1024;
// Another process's write waits for it (store_internal.h).
static_assert(kBusyTimeoutMs >= 2 * 1000 * kUnflushedFor.count());

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
    // 6: an incremental reconcile reads the planned rows of the buyers it plans again, and the
    // rows given up whose re-plan time came, without reading the whole outbox.
    R"sql(
CREATE INDEX outbox_buyer_state ON outbox(shop, buyer, state);
CREATE INDEX outbox_replans ON outbox(not_before) WHERE state='cancelled' AND not_before IS NOT NULL;
)sql",
    // 7: the contact log had two indexes that begin with the buyer: (shop, buyer, at), which no
    // query reads (the caps look a buyer up in every shop: contacts_of), and (buyer, at), which
    // contacts_of reads. Every send wrote both; the unread one goes.
    R"sql(
DROP INDEX IF EXISTS contacts_shop_buyer;
)sql",
    // 8: the outbox's indexes by state hold only the rows the queries look for. Every send
    // changes its row's state twice (planned -> sending -> sent), and each change moved the row
    // in three indexes that began with the state, for rows no query reads by state again. Now a
    // claim only takes the row out of the due and per-buyer indexes, and its outcome touches
    // neither. next_due() asks each channel in turn (outbox_due); the failed rows (history())
    // have a small index of their own.
    R"sql(
DROP INDEX IF EXISTS outbox_state_send_at;
DROP INDEX IF EXISTS outbox_channel_due;
DROP INDEX IF EXISTS outbox_buyer_state;
CREATE INDEX IF NOT EXISTS outbox_due ON outbox(channel, send_at) WHERE state='planned';
CREATE INDEX IF NOT EXISTS outbox_buyer_planned ON outbox(shop, buyer) WHERE state='planned';
CREATE INDEX IF NOT EXISTS outbox_failed ON outbox(updated_at) WHERE state='failed';
)sql",
    // 9: the outbox's rows per (channel, state) are kept by the store's writers, each
    // transaction adding what it changed before it commits (Impl::count_changes), no longer by
    // triggers that ran a program per row written (and made every UPDATE of the outbox keep a
    // statement journal). The counts are made again from the outbox, once. A build of schema 8
    // would write rows without counting them (its triggers gone): it refuses a file of schema 9.
    // Written so that it may run twice (two processes opening the file of schema 8 at once).
    R"sql(
DROP TRIGGER IF EXISTS outbox_count_insert;
DROP TRIGGER IF EXISTS outbox_count_delete;
DROP TRIGGER IF EXISTS outbox_count_update;
CREATE TABLE IF NOT EXISTS outbox_counts (
  channel TEXT NOT NULL,
  state TEXT NOT NULL,
  n INTEGER NOT NULL,
  PRIMARY KEY (channel, state)
) WITHOUT ROWID;
DELETE FROM outbox_counts;
INSERT INTO outbox_counts (channel, state, n) SELECT channel, state, COUNT(*) FROM outbox GROUP BY channel, state;
)sql",
};
static_assert(std::size(kMigrations) == SqliteStore::kSchemaVersion);

// The counts' triggers of schemas up to 8, dropped by migration 9. Found in a file of schema 9
// (put back by hand, or by a build that ignored the schema version), they would count each row
// a second time: dropped again and the counts made again from the outbox.
void drop_count_triggers(SQLite::Database& db) {
  const auto triggers = [&] {
    return db
        .execAndGet(
            "SELECT COUNT(*) FROM sqlite_master WHERE type='trigger' AND name IN "
            "('outbox_count_insert','outbox_count_delete','outbox_count_update')")
        .getInt();
  };
  if (triggers() == 0) return;
  SQLite::Transaction tx(db, SQLite::TransactionBehavior::IMMEDIATE);
  if (triggers() == 0) return;  // another process did it meanwhile
  db.exec(kMigrations[8]);
  tx.commit();
}

}  // namespace

namespace store_detail {

bool plain_json_text(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* const end = p + s.size();
  while (p < end) {
    const unsigned c = *p;
    if (c < 0x80) {
#if defined(__SSE2__)
      // ASCII 16 bytes at a time: a why line is ~490 bytes, nearly all of them ASCII (rule files'
      // paths, times, segment names). An escaped byte among them: not plain, as byte by byte.
      if (end - p >= 16 && _mm_movemask_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))) == 0) {
        if (json_text::first_escaped_of_16(reinterpret_cast<const char*>(p)) != 16) return false;
        p += 16;
        continue;
      }
#endif
      // ASCII 8 bytes at a time (ids, keys, times); Chinese text never tries a word.
      if (end - p >= 8) {
        std::uint64_t word;
        std::memcpy(&word, p, 8);
        if ((word & 0x8080808080808080ULL) == 0) {
          if (json_text::any_escaped_byte(word)) return false;
          p += 8;
          continue;
        }
      }
      if (c < 0x20 || c == '"' || c == '\\') return false;
      ++p;
    } else if (c >= 0xe1 && c <= 0xef && c != 0xed && end - p >= 3 && (p[1] & 0xc0) == 0x80 && (p[2] & 0xc0) == 0x80) {
      p += 3;  // U+1000..U+FFFF but the surrogates (lead byte 0xed): never overlong
    } else if (c >= 0xc2 && c <= 0xdf && end - p >= 2 && (p[1] & 0xc0) == 0x80) {
      p += 2;  // U+0080..U+07FF
    } else {
      return false;  // 0xe0, 0xed, 4 bytes or not UTF-8: json_text::valid_utf8 decides
    }
  }
  return true;
}

std::string ids_json(const std::vector<std::string>& ids) {
  // By hand (the same bytes as nlohmann::json(ids).dump(), which refuses text that is not UTF-8
  // and stays the way for it): written for every row planned (its why lines: 350-600 bytes,
  // mostly Chinese) and every contact logged. Text with nothing to escape, whose characters are
  // of 1 to 3 bytes (plain_json_text), is copied as it is in one pass; any other goes through
  // valid_utf8 and append_string.
  std::size_t size = 2;
  for (const auto& id : ids) size += id.size() + 3;  // its quotes and comma, escapes aside
  std::string out;
  out.reserve(size);
  out += '[';
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (i) out += ',';
    if (plain_json_text(ids[i])) {
      out += '"';
      out += ids[i];
      out += '"';
    } else if (json_text::valid_utf8(ids[i])) {
      json_text::append_string(out, ids[i]);
    } else {
      return nlohmann::json(ids).dump();  // throws, as it always did
    }
  }
  out += ']';
  return out;
}

std::vector<std::string> ids_from_json(const std::string& text) {
  // What ids_json() writes for plain ids and why lines, ["a","b"] with no escape, control
  // character or space, is split by hand (every outbox row read, every due row sent); anything
  // else goes through nlohmann::json.
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']' && json_text::valid_utf8(text)) {
    std::vector<std::string> out;
    std::size_t i = 1;
    bool plain = true;
    while (plain && i + 1 < text.size()) {
      const std::size_t end = text[i] == '"' ? text.find('"', i + 1) : std::string::npos;
      if (end == std::string::npos || end + 1 >= text.size()) {
        plain = false;
        break;
      }
      const std::string_view item(text.data() + i + 1, end - i - 1);
      plain = std::none_of(item.begin(), item.end(),
                           [](char c) { return c == '\\' || static_cast<unsigned char>(c) < 0x20; });
      out.emplace_back(item);
      i = end + 1;
      if (text[i] == ',' && i + 2 < text.size()) {
        ++i;
      } else if (i + 1 != text.size()) {
        plain = false;  // not the closing bracket
      }
    }
    if (plain) return out;
  }
  const auto j = nlohmann::json::parse(text, nullptr, false);
  std::vector<std::string> out;
  if (j.is_array()) {
    for (const auto& v : j) {
      if (v.is_string()) out.push_back(v.get<std::string>());
    }
  }
  return out;
}

}  // namespace store_detail

SqliteStore::SqliteStore(const std::string& path, ShopZone zone) : path_(path), zone_(std::move(zone)) {
  // SQLite's memory statistics off (nothing reads them): with them on, every allocation and
  // free SQLite makes takes a process-wide mutex, and the daemon's claims and outcomes make
  // dozens per send. Only possible before SQLite's first use in the process (the first store
  // opened); later it is refused and changes nothing.
  static const int memstatus_off = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
  (void)memstatus_off;
  // Create the file with mode 0600 ourselves: it holds buyers' phone numbers. SQLite
  // gives the -wal and -shm files the same mode.
  // An existing file is not opened here: closing a descriptor of it would drop the POSIX locks
  // of every other connection of this process to it (the daemon has two), and another process
  // could then check the WAL into the file and delete it under them.
  if (struct stat st; ::stat(path.c_str(), &st) == 0) {
    if ((st.st_mode & 0777) != 0600 && ::chmod(path.c_str(), 0600) != 0) {
      throw StoreError(fmt::format("{}: cannot set mode 0600: {}", path, std::strerror(errno)));
    }
  } else {
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
    // The daemon's loop writes an outcome and a claim per send: with SQLite's default 2 MB page
    // cache it read most index pages back from disk each time (20,000 sends: 96,000 preads on
    // the loop; 21,000 with this). Up to 64 MB, taken only as the database grows.
    db.exec(fmt::format("PRAGMA cache_size=-{}", kCacheKiB));
    // Statement journals (an UPDATE that may change several rows needs one inside a
    // transaction; before schema 9 every UPDATE of the outbox did, for the counts' trigger) and
    // transient tables in memory: in a temporary file, each claim and outcome wrote its pages
    // there too (a third of the loop's writes during a burst). Nothing durable is kept there;
    // the WAL is what a crash leaves.
    db.exec("PRAGMA temp_store=MEMORY");
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
    // Rows held back (a retry's backoff, a catch-up spread): next_due() finds the first of them
    // without reading every planned row. Not part of a schema version: any version may have it.
    db.exec("CREATE INDEX IF NOT EXISTS outbox_held ON outbox(state, not_before) WHERE not_before IS NOT NULL");
    drop_count_triggers(db);
    return 0;
  });
}

SqliteStore::~SqliteStore() = default;

int SqliteStore::schema_version() const {
  return guarded(path_, "read schema version", [&] { return impl_->db.execAndGet("PRAGMA user_version").getInt(); });
}

void SqliteStore::batch(const std::function<void()>& fn) {
  settle();
  if (impl_->in_unflushed) {  // the transaction unflushed() keeps open holds it
    fn();
    return;
  }
  std::optional<SQLite::Transaction> tx;
  guarded(path_, "begin a transaction", [&] {
    // IMMEDIATE: the write lock is taken at once, so that what `fn` reads stays true until it
    // writes, even with another connection (the daemon's loop) writing between batches.
    tx.emplace(impl_->db, SQLite::TransactionBehavior::IMMEDIATE);
    impl_->count_changes.clear();
    return 0;
  });
  try {
    fn();
    guarded(path_, "commit", [&] {
      impl_->write_counts();
      tx->commit();
      return 0;
    });
  } catch (...) {
    impl_->count_changes.clear();  // rolled back with the rows they counted
    throw;
  }
}

WalCheckpointer::WalCheckpointer(const std::string& path) : db_(path, SQLite::OPEN_READWRITE | kConnectionMutex) {
  // A connection finds the WAL when it first reads; until then a checkpoint does nothing.
  db_.exec("PRAGMA journal_mode");
  thread_ = thread_without_signals([this] { run(); });
}

WalCheckpointer::~WalCheckpointer() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  join_holding_signals(thread_);
}

void WalCheckpointer::wake() {
  {
    std::lock_guard lock(mu_);
    wanted_ = true;
  }
  cv_.notify_one();
}

void WalCheckpointer::run() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stop_ || wanted_; });
    if (stop_) return;
    wanted_ = false;
    lock.unlock();
    // PASSIVE: copies what no reader still needs, never waits, never holds a writer up. Its
    // connection's synchronous=FULL (the default) syncs the WAL before and the database after.
    const int rc = sqlite3_wal_checkpoint_v2(db_.getHandle(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
      spdlog::warn("{}: checkpoint: {}", db_.getFilename(), sqlite3_errstr(rc));
    }
    lock.lock();
  }
}

int WalCheckpointer::on_commit(void* self, sqlite3*, const char*, int pages) {
  auto& c = *static_cast<WalCheckpointer*>(self);
  if (pages >= c.wake_at) c.wake();
  return SQLITE_OK;
}

void SqliteStore::unflushed(const std::function<bool()>& fn, std::size_t rows) {
  auto& i = *impl_;
  guarded(path_, "begin unflushed writes", [&] {
    if (!i.checkpointer) {
      // The WAL is copied into the database on a thread of its own from now on, not by this
      // connection after its commits: a reconcile wrote 13-23 GB at 1M orders (its random index
      // pages again and again), and copying and syncing them on the daemon's loop was much of the
      // time its slices held it. Instead of wal_autocheckpoint (no PRAGMA of it may follow: it
      // would take the hook's place).
      i.checkpointer = std::make_unique<WalCheckpointer>(path_);
      sqlite3_wal_hook(i.db.getHandle(), &WalCheckpointer::on_commit, i.checkpointer.get());
    }
    if (!i.unflushed_open) {
      if (i.unflushed_lost) {
        i.unflushed_lost = false;
        throw StoreError(fmt::format("{}: writes of an earlier unflushed() were lost when committed", path_));
      }
      // Not flushed (synchronous may only change outside a transaction: until settle()), and the
      // WAL copied into the database every 16,384 pages (64 MB) instead of every 1,000 meanwhile.
      i.db.exec("PRAGMA synchronous=NORMAL");
      try {
        i.db.exec("BEGIN IMMEDIATE");
      } catch (const SQLite::Exception&) {
        i.db.exec("PRAGMA synchronous=FULL");  // the other commits stay flushed
        throw;
      }
      i.unflushed_open = true;
      // A transaction of a few rows scattered over a big outbox (a 1 % paid poll at 1M: 13,000
      // cancellations and 7,000 orders seen, ~2 pages each) touches more pages than the cache
      // holds: dirty pages went to the WAL one at a time mid-transaction, and pages evicted were
      // read again. A bigger cache for it (given back when it ends): 1 % paid at 1M, the apply's
      // CPU 432-438 -> 363-376 ms. Not for a big write (a first reconcile): its rows per
      // second were lower with 256 MB (docs/performance.md). Only the cache's size: with
      // cache_spill raised instead, the clean pages (the B-trees' upper levels) were evicted
      // first, and it was no faster.
      if (rows > 0 && rows <= kRoomyUnflushedRows) {
        i.db.exec(fmt::format("PRAGMA cache_size=-{}", kRoomyCacheKiB));
        i.roomy_cache = true;
      }
      i.count_changes.clear();
      i.unflushed_since = std::chrono::steady_clock::now();
      i.unflushed_changes = sqlite3_total_changes64(i.db.getHandle());
      i.checkpointer->wake_at = 16384;
    }
    return 0;
  });
  bool done = false;
  i.in_unflushed = true;
  try {
    done = fn();
  } catch (...) {
    i.in_unflushed = false;
    rollback_unflushed();
    throw;
  }
  i.in_unflushed = false;
  // Committed when done, after 10 seconds or after 500,000 changes (a reconcile's rows), or by
  // the next write of another kind (reads join the transaction):
  // each commit writes every page its rows touched, and a reconcile's rows land on random pages
  // of two indexes (the keys, the buyers), so each commit wrote most of their pages again. At 1M
  // orders (1.3M rows), committed every second (the feed poll's read committed it too): 51
  // commits, a 4.4 GB WAL and 9.2 GB written; in one: 1.6 GB and 4.6 GB.
  if (done || std::chrono::steady_clock::now() - i.unflushed_since >= kUnflushedFor ||
      sqlite3_total_changes64(i.db.getHandle()) - i.unflushed_changes >= kUnflushedChanges) {
    commit_unflushed();
  }
}

void SqliteStore::settle() const {
  if (impl_->unflushed_open && !impl_->in_unflushed) commit_unflushed();
}

void SqliteStore::commit_unflushed() const {
  auto& i = *impl_;
  try {
    i.write_counts();
    i.db.exec("COMMIT");
  } catch (const SQLite::Exception& e) {
    rollback_unflushed();
    i.unflushed_lost = true;  // the next unflushed() says so: its caller writes them again
    throw StoreError(fmt::format("{}: commit unflushed writes: {}", path_, e.what()));
  }
  i.unflushed_open = false;
  i.checkpointer->wake_at = 1000;
  guarded(path_, "flush commits again", [&] {
    i.restore_cache();
    i.db.exec("PRAGMA synchronous=FULL");
    return 0;
  });
}

void SqliteStore::rollback_unflushed() const {
  auto& i = *impl_;
  i.unflushed_open = false;
  i.count_changes.clear();
  i.checkpointer->wake_at = 1000;
  try {
    if (!sqlite3_get_autocommit(i.db.getHandle())) i.db.exec("ROLLBACK");
    i.restore_cache();
    i.db.exec("PRAGMA synchronous=FULL");
  } catch (const std::exception& e) {
    spdlog::error("{}: after unflushed writes failed: {}", path_, e.what());
  }
}

}  // namespace cuifu
