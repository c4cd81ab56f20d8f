// Delivery bookkeeping: what the outbox records around each attempt, and what a restart
// does with the rows a crash left in doubt. Works on a ReminderStore only (no loop, no
// network), so it is tested alone against a temporary SQLite store.
//
// The promise (issue 9): a row is 'sending' exactly while its request may be on its way.
// claim() records the attempt durably before the request; record() its outcome after. After
// a crash, recover() resends a 'sending' row (same key, through the gate) only on a channel
// whose gateway drops duplicates by key, or that the operator opted into at-least-once;
// otherwise the row's outcome is 'unknown' and it is never resent blindly.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "io/channels/delivery.h"
#include "io/store.h"

namespace cuifu {

class DeliveryBook {
 public:
  explicit DeliveryBook(ReminderStore& store) : store_(store) {}

  // What recover() did with a row left 'sending'.
  struct Recovered {
    OutboxRow row;
    bool resend = false;  // back to planned; otherwise 'unknown'
    std::string note;
  };
  // For each row left 'sending' by a crash: back to planned when `may_resend(channel)` and
  // it has been in doubt (and late) for no longer than `catch_up_limit`; otherwise 'unknown'
  // (logged as a contact: it may have reached the buyer).
  std::vector<Recovered> recover(LocalTime now, std::chrono::seconds catch_up_limit,
                                 const std::function<bool(Channel)>& may_resend);

  // planned -> sending, durably, right before the request. False if the row is not planned
  // any more (cancelled meanwhile). On success row.attempts counts this attempt and
  // row.updated_at is the claim time (the contact's time when it is delivered).
  bool claim(OutboxRow& row, LocalTime now);

  // What record() did.
  enum class Outcome { sent, retry, replanned, failed, cancelled, released, unknown };
  struct Recorded {
    Outcome outcome = Outcome::released;
    std::string detail;
  };
  // Applies one attempt's report to the claimed `row` (row.attempts counts it). A retryable
  // failure goes back to planned until `retry_at` while attempts remain (`max_attempts`).
  // When they are used up (a gateway or SMTP server down longer than the retries) the send
  // is not lost: the row is cancelled with the reason and left for the planner to re-plan
  // into its next allowed slot, not before `replan_at` (replanned). Only a permanent error
  // (the gateway refused this reminder) makes it 'failed'; its step then counts as done, so
  // the buyer's later steps do not wait behind it.
  // A request that got no answer after it left (a stalled gateway, then the timeout) may have
  // been delivered: with `resend_in_doubt` (the gateway drops duplicates by key, or the channel
  // is at_least_once) it is retried with the same key and the row stays in doubt (cancelled
  // later, it becomes 'unknown', its contact logged); otherwise the row is 'unknown' at once.
  // `left`: when the request left, in the daemon's time (the contact dates from then); unset:
  // from the claim.
  Recorded record(const OutboxRow& row, const AttemptReport& r, LocalTime now, int max_attempts, LocalTime retry_at,
                  LocalTime replan_at, bool resend_in_doubt = true, std::optional<LocalTime> left = std::nullopt);

  // A contact made at `now` for `row`: at its slot when on time (the contact log then agrees
  // with the plan to the minute), at the minute it really happened when late.
  static ContactRecord contact_for(const Outgoing& row, LocalTime now);

 private:
  ReminderStore& store_;
};

}  // namespace cuifu
