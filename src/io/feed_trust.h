// Whether a fresh feed snapshot may be trusted to cancel reminders (issue 9): an export caught
// half-written, or one that suddenly lacks most of the orders that were open, must not cancel
// the reminders of every order missing from it.
//
// Pure functions of snapshots (and the bytes read); the daemon decides what to do with a
// suspect snapshot (keep the last trusted one for cancellations, overlaid with what the
// suspect one says about the orders it does show: a paid order is never reminded).
#pragma once

#include <string>
#include <string_view>

#include "core/rules.h"
#include "io/feed.h"

namespace cuifu {

// Why the feed bytes look cut off, or "" when they do not: a quoted field still open at the
// end (the text ends mid-quote), or a last row rejected while the text does not end with a
// line break (it ends mid-row: too few fields, half a JSON object).
std::string truncation_sign(std::string_view bytes, const FeedSnapshot& snapshot);

// Why `next` looks like far fewer orders than `previous` without a reason, or "": at least
// `min_vanished` orders that `previous` showed unpaid and still open at `now` are absent from
// `next` (not shown paid, closed or anything else), and they are more than half of the open
// unpaid orders `previous` showed. Orders that closed by time are not missed.
std::string shrink_sign(const FeedSnapshot& previous, const FeedSnapshot& next, const Rules& rules, LocalTime now,
                        std::size_t min_vanished = 3);

// The orders to decide on while `suspect` is not trusted: those of `trusted`, each replaced by
// its row in `suspect` when it has one (its newest known state: paid there is paid; an unpaid
// row never undoes paid or closed), plus the
// orders only `suspect` shows. Nothing is missing that `trusted` showed, so nothing is
// cancelled for being gone. The result names both sources.
FeedSnapshot overlay(const FeedSnapshot& trusted, const FeedSnapshot& suspect);

}  // namespace cuifu
