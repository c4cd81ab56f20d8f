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
#pragma once

#include <cstdint>
#include <set>
#include <string>
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
};

// A buyer: (shop, buyer).
using BuyerKey = std::pair<std::string, std::string>;

// Keeps what the last plan of each buyer was made from. Not thread-safe: one thread at a time
// (the daemon runs it on its reconcile thread).
class Reconciler {
 public:
  // REQUIRES: `snapshot` is trusted (fresh and whole): cancellations follow from it. `chat`
  // (the shop's chat export, may be null) refines reasons and stop signals. `touched`: buyers
  // whose outbox rows changed outside the reconcile since the last run (sent, failed, given up,
  // cancelled at the gate): planned again. The first run (and the first after invalidate())
  // plans every buyer and looks at every planned row.
  ReconcileResult run(ReminderStore& store, const FeedSnapshot& snapshot, const RuleSet& rules, LocalTime now,
                      const ChatLog* chat = nullptr, const std::set<BuyerKey>& touched = {});

  // The rules or templates changed: the next run plans every buyer again.
  void invalidate() { buyers_.clear(), full_ = true; }

 private:
  struct KeyHash {
    std::size_t operator()(const BuyerKey& k) const noexcept;
  };
  struct BuyerState {
    std::uint64_t hash = 0;
    LocalTime valid_until{};  // planned again from this moment on, even when nothing changed
  };
  std::unordered_map<BuyerKey, BuyerState, KeyHash> buyers_;
  bool full_ = true;
};

// A full reconcile: every buyer planned, every planned row looked at (a fresh Reconciler).
ReconcileResult reconcile(ReminderStore& store, const FeedSnapshot& snapshot, const RuleSet& rules, LocalTime now,
                          const ChatLog* chat = nullptr);

}  // namespace cuifu
