// Reconcile: the planner's decisions for the next 24 h against the outbox. New reminders
// are inserted, changed ones updated, and planned rows the planner no longer wants are
// cancelled with the reason (paid, closed, gone from the feed, skipped by the planner).
//
// A part of the daemon with inputs and outputs: a snapshot, the rules, a store and `now` in,
// the upserts and cancellations made (and counted) out. Tested alone against a temporary store.
//
// Incremental: a Reconciler remembers, per buyer (shop, buyer), a hash of everything the
// planner reads about them (their orders' fields, their contacts and call outcomes, their
// opt-outs, their chat lines) and the earliest moment their plan can change by itself (their
// next reminder, a reminder entering the 24 h window, an order closing, the end of the hour
// after a payment, a contact or chat line dated later than now). Only buyers whose hash
// changed, whose moment came, or whom the send path touched are planned again; the others'
// rows are left alone. The outbox after an incremental run equals the outbox after a full one
// at the same `now` (tests/app/reconcile_test.cpp checks it).
//
// When the snapshot says which buyers' orders changed since the one planned last (a parse with a
// FeedMemo: FeedSnapshot::changed) and the chat is the same, the others are not even grouped or
// hashed: only the buyers listed, those whose contacts or opt-outs changed (a fingerprint per
// nickname of the store's history), whose moment came, or who are wanted (touched, re-plans due)
// are looked at. Otherwise (a snapshot made by hand or overlaid, a new chat) every buyer is hashed.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "io/feed.h"
#include "io/rules_loader.h"
#include "io/store.h"

namespace cuifu {

struct ReconcileResult {
  int planned = 0;  // reminders the planner wants within the horizon (of the buyers planned)
  int inserted = 0;
  int revived = 0;
  int cancelled = 0;
  int buyers = 0;          // buyers in the snapshot
  int buyers_planned = 0;  // of them, planned again this time
  // Of them, grouped and hashed to tell whether to plan them: every one, unless the snapshot said
  // which buyers changed (then those, and those wanted or whose moment came).
  int buyers_looked_at = 0;
  // Rows whose own line ("planned …", "re-planned …", "cancelled …") went to the debug level: a
  // reconcile logs the first kRowLinesAtInfo of them at info, and the rest only at debug (a new
  // 1M export would otherwise put a million lines in the journal, most dropped by its rate limit).
  int rows_logged_at_debug = 0;
};

inline constexpr int kRowLinesAtInfo = 200;

struct ReconcileStopped : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A buyer: (shop, buyer).
using BuyerKey = std::pair<std::string, std::string>;

// What a reconcile decided, to be written to the outbox: decided off the daemon's loop (reads
// only), written on it a slice at a time (apply_some), so the loop is never held for long and
// only one connection writes.
struct ReconcileChanges {
  LocalTime now{};
  std::vector<PlannedReminder> upserts;  // in the plan's order (each part of buyers by send_at, then buyer)
  // unchanged[i]: upserts[i]'s row was read planned with the same content (ReminderStore::
  // content_hash): apply_some() does not write it, as upsert_planned() would leave the row as it
  // is. Empty: none. unchanged_left: how many of them apply_some() has not passed yet.
  std::vector<bool> unchanged;
  std::size_t unchanged_left = 0;
  // texts[i]: what upserts[i]'s row is written with, made while planning (PlannedRowText; a row not
  // written has none), and then upserts[i].why is emptied (the text holds it). Shorter than
  // upserts, or a text not made: apply_some() makes it.
  std::vector<PlannedRowText> texts;
  std::vector<SeenOrder> orders_seen;                        // by id
  std::vector<std::pair<PlannedHead, std::string>> cancels;  // planned rows no longer wanted, and why
  ReconcileResult result;                                    // counts; inserted, revived, cancelled once applied
  // How far apply_some() got.
  std::size_t next_upsert = 0, next_seen = 0, next_cancel = 0;
  std::size_t rows_left() const {
    return upserts.size() - next_upsert - unchanged_left + orders_seen.size() - next_seen + cancels.size() -
           next_cancel;
  }
  // False: a part of a big plan handed over as soon as it is known (Reconciler::prepare's
  // on_part): the orders seen, then each part's reminders, written before the rest; apply_some()
  // returns true once they are, without re-plans closed or cancellations, which come with the last.
  bool last = true;
  bool replans_closed = false;
};

// Writes at most about `limit` rows of `c` in one transaction, from where the last call
// stopped; true when everything is written. A row to cancel that was claimed or sent since
// the plan was made is left alone.
bool apply_some(ReminderStore& store, ReconcileChanges& c, std::size_t limit);

// Carries what was written so far (the rows inserted, revived, cancelled, their lines at debug)
// from one part's result to the next's: a big reconcile's parts and its last count as one.
void carry_written(const ReconcileResult& from, ReconcileResult& to);

// Takes a part of a big plan (ReconcileChanges::last false) as soon as it is planned. May block:
// the planning waits meanwhile (the daemon holds it back while the loop has much left to write).
// The calls come one at a time, in order; the first of a full run (the orders seen) may come from
// a thread of prepare()'s own while prepare() goes on reading its store: a sink that writes through
// the same connection holds it until the next call (Reconciler::run does).
using PartSink = std::function<void(ReconcileChanges&&)>;

// Sorts the orders by their ids (as std::string compares them).
void sort_by_order_id(std::vector<const Order*>& orders);

// Keeps what the last plan of each buyer was made from. Not thread-safe: one thread at a time
// (the daemon runs it on its reconcile thread).
class Reconciler {
 public:
  // REQUIRES: `snapshot` is trusted (fresh and whole): cancellations follow from it. `chat`
  // (the shop's chat export, may be null) refines reasons and stop signals. `touched`: buyers
  // whose outbox rows changed outside the reconcile since the last run (sent, failed, given up,
  // cancelled at the gate): planned again. The first run (and the first after invalidate())
  // plans every buyer and looks at every planned row. A ChatLog given again at the same address
  // must not have changed (a new chat export is a new ChatLog, kept alive while it may be given).
  ReconcileResult run(ReminderStore& store, const FeedSnapshot& snapshot, const RuleSet& rules, LocalTime now,
                      const ChatLog* chat = nullptr, const std::set<BuyerKey>& touched = {});
  // The same in two halves: what to write (reading the store only; any thread with its own
  // connection), then apply_some() until it returns true. The Reconciler assumes the changes
  // will be written; if writing fails, invalidate() it.
  // With `on_part`, a plan made in parts (more than a few thousand orders) hands the orders seen
  // to it before the planning, and each part's reminders as soon as the part is planned (the
  // store is read before the first), to be
  // written in the order given and before what prepare() returns (which then holds none); the
  // counts of what was written carried from each to the next (carry_written). Without it, they are
  // all in what it returns.
  ReconcileChanges prepare(const ReminderStore& store, const FeedSnapshot& snapshot, const RuleSet& rules,
                           LocalTime now, const ChatLog* chat = nullptr, const std::set<BuyerKey>& touched = {},
                           const PartSink& on_part = {});

  // Tests: false makes every reminder planned go through upsert_planned(), as before rows read
  // planned with the same content (ReminderStore::content_hash) were left out: the slow path the
  // fast one is compared with.
  void skip_unchanged(bool on) { skip_unchanged_ = on; }
  // The rules or templates changed: the next run plans every buyer again.
  void invalidate() { buyers_.clear(), moments_.clear(), shops_.clear(), full_ = true; }
  // prepare() hands parts to its on_part only when it plans more than this many orders (a
  // poll's few thousand changed buyers are written in one go, in the store's roomy cache for
  // small scattered writes). Tests set it lower.
  void stream_from(std::size_t orders) { stream_from_ = orders; }
  // prepare() throws ReconcileStopped once `*flag` is true: between its steps (grouping, hashing,
  // reading the planned rows, a few thousand buyers at a time) and between the parts of a large
  // plan. The next run is a full one.
  void stop_when(const std::atomic<bool>* flag) { stop_ = flag; }

 private:
  // A buyer's key, or a view of one (looked up without copying the strings).
  using KeyView = std::pair<std::string_view, std::string_view>;
  struct KeyHash {
    using is_transparent = void;
    std::size_t operator()(const BuyerKey& k) const noexcept { return (*this)(KeyView{k.first, k.second}); }
    std::size_t operator()(const KeyView& k) const noexcept;
  };
  struct KeyEq {
    using is_transparent = void;
    template <class A, class B>
    bool operator()(const A& a, const B& b) const noexcept {
      return a.first == b.first && a.second == b.second;
    }
  };
  struct BuyerState {
    std::uint64_t hash = 0;
    LocalTime valid_until{};  // planned again from this moment on, even when nothing changed
    std::uint32_t slot = 0;   // its entry in moments_
    // Its orders' ids in the snapshot planned last, hashed (std::hash): with the snapshot's
    // changes, they find the buyer's orders in the next one without a look at every order.
    std::vector<std::uint64_t> ids;
  };
  std::unordered_map<BuyerKey, BuyerState, KeyHash, KeyEq> buyers_;
  // Each buyer's valid_until and key, side by side in one array (a buyer's `slot`; a free slot's
  // key is null): the buyers whose moment came are found by reading it, not by walking the
  // million nodes of buyers_ (a cache miss each, ~90 ms at 1M on every poll).
  struct Moments {
    std::vector<std::pair<LocalTime, const BuyerKey*>> at;
    std::vector<std::uint32_t> free;
    std::uint32_t add(LocalTime t, const BuyerKey* key);
    void remove(std::uint32_t slot);
    void clear() { at.clear(), free.clear(); }
  };
  Moments moments_;
  // The shops of buyers_ and how many buyers each: a buyer whose contacts changed (by nickname)
  // is looked for in each.
  std::map<std::string, std::size_t, std::less<>> shops_;
  void forget(std::unordered_map<BuyerKey, BuyerState, KeyHash, KeyEq>::iterator it);
  // Throws ReconcileStopped (and invalidates) when stop_when()'s flag is set.
  void abandon_if_stopping();
  bool full_ = true;
  bool skip_unchanged_ = true;
  // What the last run was made from, to tell what changed since: the snapshot's generation (0:
  // unknown), the chat, each buyer's contacts and opt-outs (by nickname; see side_fingerprints).
  std::uint64_t generation_ = 0;
  const ChatLog* chat_ = nullptr;
  std::unordered_map<std::string, std::uint64_t> side_;
  const std::atomic<bool>* stop_ = nullptr;
  std::size_t stream_from_ = 50000;
};

// A full reconcile: every buyer planned, every planned row looked at (a fresh Reconciler).
ReconcileResult reconcile(ReminderStore& store, const FeedSnapshot& snapshot, const RuleSet& rules, LocalTime now,
                          const ChatLog* chat = nullptr);

}  // namespace cuifu
