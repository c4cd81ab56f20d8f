// What the files of SqliteStore share (store.cpp: opening, schema, migrations;
// store_outbox.cpp; store_buyers.cpp; store_calls.cpp). Private to them: include nowhere else.
#pragma once

#include <SQLiteCpp/SQLiteCpp.h>
#include <fmt/format.h>
#include <sqlite3.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "io/store.h"

namespace cuifu {

// Copies the WAL into the database on a thread of its own, with a connection of its own, when
// woken (a passive checkpoint: writers go on meanwhile, readers are never waited for). What the
// connection that writes does instead of checkpointing on its own thread after a commit.
class WalCheckpointer {
 public:
  explicit WalCheckpointer(const std::string& path);
  ~WalCheckpointer();  // a checkpoint in progress is finished first
  WalCheckpointer(const WalCheckpointer&) = delete;
  WalCheckpointer& operator=(const WalCheckpointer&) = delete;
  // Thread-safe; returns at once.
  void wake();
  // For sqlite3_wal_hook(db, on_commit, this): wakes it once the WAL holds `wake_at` pages.
  static int on_commit(void* self, sqlite3* db, const char* name, int pages);
  int wake_at = 1000;  // set and read on the writing connection's thread

 private:
  void run();
  SQLite::Database db_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool wanted_ = false, stop_ = false;
  std::thread thread_;  // last: started once the rest exists
};

// How long a write waits for another connection's write lock: longer than a daemon's reconcile
// keeps its unflushed transaction open (10 s), so that `cuifu state …` or a call outcome
// recorded during a big first reconcile waits for it instead of failing as "database is locked".
constexpr int kBusyTimeoutMs = 30000;

// The page cache of a store's connection, in KiB (PRAGMA cache_size=-kCacheKiB).
constexpr int kCacheKiB = 64 * 1024;

// How a store's connections are opened: each is used by one thread at a time (a SqliteStore is not
// thread-safe; the daemon gives its loop, its reconcile thread, its status thread and the
// WalCheckpointer a connection each), so SQLite's own mutex per connection ("serialized", the
// FULLMUTEX this build of SQLite defaults to) only cost a lock and an unlock in every call: 15
// binds, a step, a reset per row a reconcile writes. Multi-thread mode instead: 2.5 % fewer
// instructions writing a new export's rows (callgrind, 30,000 rows and 30,000 orders seen).
inline constexpr int kConnectionMutex = SQLITE_OPEN_NOMUTEX;

struct SqliteStore::Impl {
  explicit Impl(const std::string& path)
      : db(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE | kConnectionMutex, kBusyTimeoutMs) {}
  // Declared before db: outlives it (db's WAL hook points to it); set by unflushed().
  std::unique_ptr<WalCheckpointer> checkpointer;
  mutable SQLite::Database db;
  // unflushed(): its transaction, open from one call to the next until settle() or a commit.
  bool unflushed_open = false;
  bool in_unflushed = false;    // its fn runs: this store's calls are part of that transaction
  bool unflushed_lost = false;  // a commit of it failed: the next unflushed() throws
  std::chrono::steady_clock::time_point unflushed_since{};
  std::int64_t unflushed_changes = 0;  // sqlite3_total_changes64() when it began
  // The page cache is bigger than kCacheKiB for unflushed()'s transaction (a few rows of a big
  // outbox): made kCacheKiB again (the pages beyond it freed) when it ends.
  bool roomy_cache = false;
  void restore_cache() {
    if (!roomy_cache) return;
    roomy_cache = false;
    db.exec(fmt::format("PRAGMA cache_size=-{}", kCacheKiB));
  }

  // A statement prepared once and reused (the daemon runs some of them for every send, and
  // preparing costs more than running them). The lease resets it when it goes out of scope,
  // so no read stays open between calls.
  class Lease {
   public:
    explicit Lease(SQLite::Statement& s) : s_(s) {}
    ~Lease() { s_.tryReset(); }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    SQLite::Statement& operator*() const { return s_; }
    SQLite::Statement* operator->() const { return &s_; }

   private:
    SQLite::Statement& s_;
  };
  // Bindings of the previous use are cleared.
  Lease cached(const std::string& sql) const {
    auto& s = statements[sql];
    if (!s) {
      s = std::make_unique<SQLite::Statement>(db, sql);
    } else {
      s->clearBindings();
    }
    return Lease(*s);
  }
  // A statement of the hottest paths (upsert_planned: every row a reconcile writes) kept in a
  // slot of its own: cached() makes a std::string of its SQL and hashes it at every call. Its
  // bindings are not cleared here: the caller binds every parameter, and clears them after use
  // when it bound without a copy.
  Lease prepared(std::unique_ptr<SQLite::Statement>& slot, const char* sql) const {
    if (!slot) slot = std::make_unique<SQLite::Statement>(db, sql);
    return Lease(*slot);
  }
  // Declared after db: finalized before it closes.
  mutable std::unordered_map<std::string, std::unique_ptr<SQLite::Statement>> statements;
  mutable std::unique_ptr<SQLite::Statement> insert_planned, find_planned, insert_order_seen, update_order_seen,
      cancel_as_read, cancel_contact[2], cancel_update[2];

  // The outbox's rows per (channel, state) in `outbox_counts` are kept by the store's writers,
  // not by triggers (schema 9): each writer adds what it changed here (a row inserted, a row's
  // channel or state changed, known from the statement's WHERE and a read of the row inside the
  // same transaction), and write_counts() adds them to the table in that transaction right
  // before it commits: a few statements per transaction instead of a trigger program per row
  // (which also made every UPDATE of the outbox keep a statement journal). A rollback drops
  // them; a savepoint rolled back puts back what there was when it began.
  struct CountChange {
    std::string channel, state;
    std::int64_t n = 0;
  };
  mutable std::vector<CountChange> count_changes;
  void count(std::string_view channel, std::string_view state, std::int64_t n) const {
    for (auto& c : count_changes) {
      if (c.channel == channel && c.state == state) {
        c.n += n;
        return;
      }
    }
    count_changes.push_back({std::string(channel), std::string(state), n});
  }
  // A row of `channel` in state `from` is now of `to_channel` in state `to`.
  void count_move(std::string_view channel, std::string_view from, std::string_view to_channel,
                  std::string_view to) const {
    if (channel == to_channel && from == to) return;
    count(channel, from, -1);
    count(to_channel, to, 1);
  }
  // The channel and state of outbox row `id` as stored: read by a write that changes them, in
  // its transaction, before its UPDATE (whose RETURNING could only give the new ones, and would
  // bring the statement journal back). False when there is no such row.
  bool channel_state(std::int64_t id, std::string& channel, std::string& state) const {
    auto q = cached("SELECT channel, state FROM outbox WHERE id=?");
    q->bind(1, id);
    if (!q->executeStep()) return false;
    channel = q->getColumn(0).getString();
    state = q->getColumn(1).getString();
    return true;
  }
  // Adds the changes counted to outbox_counts and forgets them (REQUIRES: the transaction that
  // made them is open; it is what commits them). Without one (SQLite rolled it back on an I/O
  // error) they are dropped: the rows they counted are gone too.
  void write_counts() const {
    if (count_changes.empty()) return;
    if (!sqlite3_get_autocommit(db.getHandle())) {
      for (const auto& c : count_changes) {
        if (c.n == 0) continue;
        auto q = cached(
            "INSERT INTO outbox_counts (channel, state, n) VALUES (?,?,?) "
            "ON CONFLICT (channel, state) DO UPDATE SET n = n + excluded.n");
        q->bindNoCopy(1, c.channel);
        q->bindNoCopy(2, c.state);
        q->bind(3, c.n);
        q->exec();
        q->clearBindings();
      }
    }
    count_changes.clear();
  }

  // A savepoint (nests inside batch()) like SQLite::Savepoint, through cached statements: the
  // send path opens one per recorded outcome, and parsing its SQL each time cost more than the
  // savepoint itself. Rolled back and released when it goes out of scope unreleased, with the
  // count changes made since it began.
  class Savepoint {
   public:
    Savepoint(const Impl& impl, const std::string& name) : impl_(impl), name_(name), counts_(impl.count_changes) {
      impl_.cached("SAVEPOINT " + name_)->exec();
    }
    ~Savepoint() {
      if (released_) return;
      impl_.count_changes = std::move(counts_);
      try {
        impl_.cached("ROLLBACK TO SAVEPOINT " + name_)->exec();
        impl_.cached("RELEASE SAVEPOINT " + name_)->exec();
      } catch (const SQLite::Exception&) {  // nothing more to undo; never throw from a destructor
      }
    }
    Savepoint(const Savepoint&) = delete;
    Savepoint& operator=(const Savepoint&) = delete;
    void release() {
      impl_.cached("RELEASE SAVEPOINT " + name_)->exec();
      released_ = true;
    }

   private:
    const Impl& impl_;
    std::string name_;
    std::vector<CountChange> counts_;  // as they were when it began
    bool released_ = false;
  };

  // What a write of the outbox runs in. Outside a transaction: one of its own (BEGIN
  // IMMEDIATE: the rows it reads stay as read until it writes, whoever else writes), committed
  // by commit() with its count changes, rolled back when it goes out of scope uncommitted.
  // Inside one (batch(), unflushed(), give_up()): a savepoint when `savepoint` names one (a write
  // of several statements that must be whole even when the caller goes on after it failed),
  // else nothing: it is part of that transaction and rolled back with it.
  class Write {
   public:
    explicit Write(const Impl& impl, const char* savepoint = nullptr) : impl_(impl) {
      if (sqlite3_get_autocommit(impl_.db.getHandle())) {
        impl_.count_changes.clear();  // of a transaction SQLite rolled back on an error
        impl_.cached("BEGIN IMMEDIATE")->exec();
        own_ = true;
      } else if (savepoint) {
        sp_.emplace(impl_, savepoint);
      }
    }
    ~Write() {
      if (!own_) return;  // the savepoint, if any, rolls itself back
      impl_.count_changes.clear();
      try {
        if (!sqlite3_get_autocommit(impl_.db.getHandle())) impl_.cached("ROLLBACK")->exec();
      } catch (const SQLite::Exception&) {  // never throw from a destructor
      }
    }
    Write(const Write&) = delete;
    Write& operator=(const Write&) = delete;
    void commit() {
      if (own_) {
        impl_.write_counts();
        impl_.cached("COMMIT")->exec();
        own_ = false;
      } else if (sp_) {
        sp_->release();
      }
    }

   private:
    const Impl& impl_;
    std::optional<Savepoint> sp_;
    bool own_ = false;
  };
};

namespace store_detail {

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

// Times are stored as seconds since the epoch (UTC), read back in the shop's zone.
inline std::int64_t epoch(const ShopZone& z, LocalTime t) {
  return z.to_sys(t).time_since_epoch().count();
}
inline LocalTime local(const ShopZone& z, std::int64_t e) {
  return z.to_local(SysTime{Seconds{e}});
}

// Order ids as a JSON array in one column.
std::string ids_json(const std::vector<std::string>& ids);
// True when `s` is UTF-8 of characters of 1 to 3 bytes (no surrogates) with no byte JSON escapes:
// written as it is between quotes. False for anything else, UTF-8 or not (ids_json looks again).
bool plain_json_text(std::string_view s);
std::vector<std::string> ids_from_json(const std::string& text);

// The latest outcome of each call task onto the task's phone contact (store_calls.cpp).
void attach_call_outcomes(SQLite::Database& db, const ShopZone& z, std::vector<ContactRecord>& contacts);

}  // namespace store_detail
}  // namespace cuifu
