// Reconcile: the planner's decisions for the next 24 h against the outbox. New reminders
// are inserted, changed ones updated, and planned rows the planner no longer wants are
// cancelled with the reason (paid, closed, gone from the feed, skipped by the planner).
//
// A part of the daemon with inputs and outputs: a snapshot, the rules, a store and `now` in,
// the upserts and cancellations made (and counted) out. Tested alone against a temporary store.
#pragma once

#include <string>
#include <vector>

#include "io/feed.h"
#include "io/rules_loader.h"
#include "io/store.h"

namespace cuifu {

struct ReconcileResult {
  int planned = 0;  // reminders the planner wants within the horizon
  int inserted = 0;
  int revived = 0;
  int cancelled = 0;
};

// REQUIRES: `snapshot` is trusted (fresh and whole): cancellations follow from it. `chat`
// (the shop's chat export, may be null) refines reasons and stop signals.
ReconcileResult reconcile(ReminderStore& store, const FeedSnapshot& snapshot, const RuleSet& rules, LocalTime now,
                          const ChatLog* chat = nullptr);

}  // namespace cuifu
