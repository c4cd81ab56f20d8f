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
#include <string>
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

struct SqliteStore::Impl {
  explicit Impl(const std::string& path)
      : db(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE | SQLite::OPEN_FULLMUTEX, kBusyTimeoutMs) {}
  // Declared before db: outlives it (db's WAL hook points to it); set by unflushed().
  std::unique_ptr<WalCheckpointer> checkpointer;
  mutable SQLite::Database db;
  // unflushed(): its transaction, open from one call to the next until settle() or a commit.
  bool unflushed_open = false;
  bool in_unflushed = false;    // its fn runs: this store's calls are part of that transaction
  bool unflushed_lost = false;  // a commit of it failed: the next unflushed() throws
  std::chrono::steady_clock::time_point unflushed_since{};
  std::int64_t unflushed_changes = 0;  // sqlite3_total_changes64() when it began

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
  // Declared after db: finalized before it closes.
  mutable std::unordered_map<std::string, std::unique_ptr<SQLite::Statement>> statements;

  // A savepoint (nests inside batch()) like SQLite::Savepoint, through cached statements: the
  // send path opens one per recorded outcome, and parsing its SQL each time cost more than the
  // savepoint itself. Rolled back and released when it goes out of scope unreleased.
  class Savepoint {
   public:
    Savepoint(const Impl& impl, const std::string& name) : impl_(impl), name_(name) {
      impl_.cached("SAVEPOINT " + name_)->exec();
    }
    ~Savepoint() {
      if (released_) return;
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
    bool released_ = false;
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
std::vector<std::string> ids_from_json(const std::string& text);

// The latest outcome of each call task onto the task's phone contact (store_calls.cpp).
void attach_call_outcomes(SQLite::Database& db, const ShopZone& z, std::vector<ContactRecord>& contacts);

}  // namespace store_detail
}  // namespace cuifu
