// Delivery bookkeeping against a real temporary SQLite store: a row is 'sending' only while
// its request may be on its way, and a restart resends only what a gateway will de-duplicate.
#include "app/delivery_book.h"

#include <gtest/gtest.h>

#include "../core/test_rules.h"
#include "temp_store.h"

namespace cuifu {
namespace {

using testing::at;
using testing::planned;
using testing::TempStore;

OutboxRow row_of(SqliteStore& store, const std::string& key) {
  for (auto& r : store.rows({})) {
    if (r.idempotency_key == key) return r;
  }
  throw std::runtime_error("no row " + key);
}

AttemptReport report(AttemptReport::Kind k, std::string detail = {}) {
  AttemptReport r;
  r.kind = k;
  r.detail = std::move(detail);
  return r;
}

bool resend_only_im(Channel c) {
  return c == Channel::im;
}

// Plans one reminder due at `now` and claims it, as the daemon does right before its request;
// the row comes back 'sending' only when the claim was granted.
OutboxRow plan_and_claim(SqliteStore& store, DeliveryBook& book, const PlannedReminder& r, LocalTime now) {
  store.upsert_planned(r, now);
  auto row = store.due(now).at(0);
  book.claim(row, now);
  return row;
}

TEST(DeliveryBook, QueuedRowsStayPlannedOnlyTheClaimedOneIsSending) {
  TempStore store("book");
  const LocalTime now = at("2026-11-24 10:00");
  for (int i = 0; i < 5; ++i) {
    store->upsert_planned(planned(now, "b" + std::to_string(i), "O" + std::to_string(i), Channel::im), now);
  }
  DeliveryBook book(*store);
  auto due = store->due(now, Channel::im, 1);
  ASSERT_EQ(due.size(), 1u);
  ASSERT_TRUE(book.claim(due[0], now));
  EXPECT_EQ(due[0].attempts, 1);
  EXPECT_EQ(store->in_state(OutboxState::sending).size(), 1u);
  EXPECT_EQ(store->in_state(OutboxState::planned).size(), 4u);
  // A crash now leaves one row in doubt, not the whole queue.
  const auto rec = book.recover(now + Seconds{30}, std::chrono::hours{1}, resend_only_im);
  ASSERT_EQ(rec.size(), 1u);
  EXPECT_TRUE(rec[0].resend);
  EXPECT_EQ(store->in_state(OutboxState::planned).size(), 5u);
}

TEST(DeliveryBook, AClaimFailsForARowCancelledMeanwhile) {
  TempStore store("book");
  const LocalTime now = at("2026-11-24 10:00");
  store->upsert_planned(planned(now, "b", "O1", Channel::im), now);
  auto row = store->due(now)[0];
  store->cancel(row.id, now, "order O1 paid");
  DeliveryBook book(*store);
  EXPECT_FALSE(book.claim(row, now));
}

TEST(DeliveryBook, AfterACrashAnEmailInDoubtIsUnknownNeverResent) {
  TempStore store("book");
  const LocalTime now = at("2026-11-24 10:00");
  DeliveryBook book(*store);
  auto row = plan_and_claim(*store, book, planned(now, "carol", "C1", Channel::email), now);
  ASSERT_EQ(row.state, OutboxState::sending);
  const auto rec = book.recover(now + Seconds{20}, std::chrono::hours{1}, resend_only_im);
  ASSERT_EQ(rec.size(), 1u);
  EXPECT_FALSE(rec[0].resend);
  const auto after = row_of(*store, row.idempotency_key);
  EXPECT_EQ(after.state, OutboxState::unknown);
  EXPECT_NE(after.last_error.find("outcome unknown"), std::string::npos) << after.last_error;
  EXPECT_TRUE(store->due(now + std::chrono::hours{1}).empty());
  // It may have reached the buyer: it counts for the caps and the next steps.
  ASSERT_EQ(store->contacts_of({"carol"}).size(), 1u);
  // And the planner wanting it again does not revive it.
  EXPECT_EQ(store->upsert_planned(planned(now, "carol", "C1", Channel::email), now + Seconds{30}), UpsertResult::kept);
}

TEST(DeliveryBook, ARowInDoubtThatIsDroppedLaterBecomesUnknownNotCancelled) {
  // Resent after a crash, but before the resend the order's plan changed: the first request
  // may have reached the buyer, so the row must not read 'cancelled' (never sent).
  TempStore store("book");
  const LocalTime now = at("2026-11-24 10:00");
  DeliveryBook book(*store);
  auto row = plan_and_claim(*store, book, planned(now, "gina", "G1", Channel::im), now);
  ASSERT_EQ(row.state, OutboxState::sending);
  ASSERT_TRUE(book.recover(now + Seconds{30}, std::chrono::hours{1}, resend_only_im)[0].resend);
  EXPECT_TRUE(store->contacts_of({"gina"}).empty());
  ASSERT_TRUE(store->cancel(row.id, now + Seconds{40}, "no longer planned"));
  const auto after = row_of(*store, row.idempotency_key);
  EXPECT_EQ(after.state, OutboxState::unknown);
  EXPECT_NE(after.last_error.find("possibly delivered"), std::string::npos) << after.last_error;
  const auto contacts = store->contacts_of({"gina"});
  ASSERT_EQ(contacts.size(), 1u);
  EXPECT_EQ(contacts[0].at, now);
}

TEST(DeliveryBook, ARowInDoubtLongerThanTheCatchUpLimitIsNotResent) {
  TempStore store("book");
  const LocalTime now = at("2026-11-24 10:00");
  DeliveryBook book(*store);
  auto row = plan_and_claim(*store, book, planned(now, "gina", "G1", Channel::im), now);
  ASSERT_EQ(row.state, OutboxState::sending);
  const auto rec = book.recover(now + std::chrono::hours{2}, std::chrono::hours{1}, resend_only_im);
  ASSERT_EQ(rec.size(), 1u);
  EXPECT_FALSE(rec[0].resend);
  EXPECT_EQ(row_of(*store, row.idempotency_key).state, OutboxState::unknown);
}

TEST(DeliveryBook, ARetryableFailureGoesBackToPlannedUntilItsRetryTime) {
  TempStore store("book");
  const LocalTime now = at("2026-11-24 10:00");
  DeliveryBook book(*store);
  auto row = plan_and_claim(*store, book, planned(now, "b", "O1", Channel::sms), now);
  ASSERT_EQ(row.state, OutboxState::sending);
  const auto rec = book.record(row, report(AttemptReport::Kind::retry, "HTTP 503"), now, 4, now + Seconds{60}, now);
  EXPECT_EQ(rec.outcome, DeliveryBook::Outcome::retry);
  EXPECT_TRUE(store->in_state(OutboxState::sending).empty());
  EXPECT_TRUE(store->due(now + Seconds{59}).empty());
  EXPECT_EQ(store->next_due(), now + Seconds{60});
  auto again = store->due(now + Seconds{60});
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].attempts, 1);
}

TEST(DeliveryBook, RetriesUsedUpLeaveTheRowToBeReplannedAndOnlyAPermanentErrorFails) {
  TempStore store("book");
  const LocalTime now = at("2026-11-24 10:00");
  store->upsert_planned(planned(now, "b", "O1", Channel::sms), now);
  store->upsert_planned(planned(now, "c", "O2", Channel::sms), now);
  DeliveryBook book(*store);
  auto rows = store->due(now);
  ASSERT_TRUE(book.claim(rows[0], now));
  rows[0].attempts = 4;
  const auto gave_up =
      book.record(rows[0], report(AttemptReport::Kind::retry, "HTTP 500"), now, 4, now, now + Minutes{30});
  EXPECT_EQ(gave_up.outcome, DeliveryBook::Outcome::replanned);
  const auto waiting = row_of(*store, rows[0].idempotency_key);
  EXPECT_EQ(waiting.state, OutboxState::cancelled);
  EXPECT_NE(waiting.last_error.find("gave up after 4 attempts (HTTP 500)"), std::string::npos) << waiting.last_error;
  EXPECT_NE(waiting.last_error.find("re-planned into its next allowed slot from 2026-11-24 10:30"), std::string::npos)
      << waiting.last_error;
  ASSERT_TRUE(book.claim(rows[1], now));
  EXPECT_EQ(book.record(rows[1], report(AttemptReport::Kind::permanent, "HTTP 400"), now, 4, now, now).outcome,
            DeliveryBook::Outcome::failed);
  EXPECT_EQ(store->in_state(OutboxState::failed).size(), 1u);
}

TEST(DeliveryBook, AReminderWhoseRetriesRanOutIsRevivedByThePlannerOnlyFromItsReplanTime) {
  TempStore store("book");
  const LocalTime now = at("2026-11-24 10:00");
  DeliveryBook book(*store);
  auto row = plan_and_claim(*store, book, planned(now, "b", "O1", Channel::sms), now);
  ASSERT_EQ(row.state, OutboxState::sending);
  row.attempts = 4;
  book.record(row, report(AttemptReport::Kind::retry, "SMTP 0: Couldn't connect"), now, 4, now, now + Minutes{30});
  // The planner still wants the step (the buyer has not paid): it waits until 10:30...
  EXPECT_EQ(store->upsert_planned(planned(now + Minutes{10}, "b", "O1", Channel::sms), now + Minutes{10}),
            UpsertResult::kept);
  EXPECT_TRUE(store->due(now + Minutes{20}).empty());
  // ...then comes back at the planner's next allowed slot, with its attempts counted afresh.
  const LocalTime slot = at("2026-11-24 12:00");
  EXPECT_EQ(store->upsert_planned(planned(slot, "b", "O1", Channel::sms), now + Minutes{31}), UpsertResult::revived);
  const auto revived = row_of(*store, row.idempotency_key);
  EXPECT_EQ(revived.state, OutboxState::planned);
  EXPECT_EQ(revived.send_at, slot);
  EXPECT_EQ(revived.attempts, 0);
  EXPECT_FALSE(revived.not_before);
  ASSERT_EQ(store->due(slot).size(), 1u);
}

TEST(DeliveryBook, AStepThatFailedForGoodCountsAsDoneForThePlanner) {
  TempStore store("book");
  const LocalTime now = at("2026-11-24 10:00");
  auto r = planned(now, "b", "O1", Channel::sms);
  store->upsert_planned(r, now);
  DeliveryBook book(*store);
  auto row = store->due(now)[0];
  ASSERT_TRUE(book.claim(row, now));
  book.record(row, report(AttemptReport::Kind::permanent, "HTTP 400: bad number"), now + Seconds{5}, 4, now, now);
  const auto h = store->history();
  ASSERT_EQ(h.contacts.size(), 1u);
  EXPECT_EQ(h.contacts[0].buyer, "b");
  EXPECT_EQ(h.contacts[0].step, r.step);
  EXPECT_EQ(h.contacts[0].channel, Channel::sms);
  // Only the planner's history: the caps before a send count real contacts.
  EXPECT_TRUE(store->contacts_of({"b"}).empty());
}

TEST(DeliveryBook, AStalledRequestIsRetriedInDoubtAndNeverRecordedAsNotSent) {
  TempStore store("book");
  const LocalTime now = at("2026-11-24 10:00");
  DeliveryBook book(*store);
  auto row = plan_and_claim(*store, book, planned(now, "b", "O1", Channel::im), now);
  ASSERT_EQ(row.state, OutboxState::sending);
  AttemptReport r = report(AttemptReport::Kind::retry, "no answer after the request was sent (timeout)");
  r.in_doubt = true;
  EXPECT_EQ(book.record(row, r, now + Seconds{10}, 4, now + Seconds{20}, now, true).outcome,
            DeliveryBook::Outcome::retry);
  const auto waiting = row_of(*store, row.idempotency_key);
  EXPECT_EQ(waiting.state, OutboxState::planned);
  EXPECT_TRUE(waiting.in_doubt_since);
  EXPECT_NE(waiting.last_error.find("same idempotency key"), std::string::npos) << waiting.last_error;
  // Paid before the retry: the stalled request may have reached the buyer, so not 'cancelled'.
  store->cancel(waiting.id, now + Seconds{15}, "order O1 was paid");
  EXPECT_EQ(row_of(*store, row.idempotency_key).state, OutboxState::unknown);
  EXPECT_EQ(store->contacts_of({"b"}).size(), 1u);
}

TEST(DeliveryBook, AStalledRequestOnAGatewayKeepingDuplicatesIsUnknownAtOnce) {
  TempStore store("book");
  const LocalTime now = at("2026-11-24 10:00");
  DeliveryBook book(*store);
  auto row = plan_and_claim(*store, book, planned(now, "b", "O1", Channel::email), now);
  ASSERT_EQ(row.state, OutboxState::sending);
  AttemptReport r = report(AttemptReport::Kind::retry, "no answer after the message was sent (SMTP 0: timeout)");
  r.in_doubt = true;
  const auto rec = book.record(row, r, now + Seconds{10}, 4, now + Seconds{20}, now, false);
  EXPECT_EQ(rec.outcome, DeliveryBook::Outcome::unknown);
  EXPECT_EQ(row_of(*store, row.idempotency_key).state, OutboxState::unknown);
  EXPECT_NE(rec.detail.find("not resent"), std::string::npos) << rec.detail;
  EXPECT_EQ(store->contacts_of({"b"}).size(), 1u);
  EXPECT_TRUE(store->due(now + Minutes{5}).empty());
}

TEST(DeliveryBook, ADeliveryIsLoggedAtItsSlotWhenOnTime) {
  TempStore store("book");
  const LocalTime slot = at("2026-11-24 10:00");
  store->upsert_planned(planned(slot, "b", "O1", Channel::im), slot);
  DeliveryBook book(*store);
  auto row = store->due(slot)[0];
  ASSERT_TRUE(book.claim(row, slot + Seconds{20}));
  EXPECT_EQ(book.record(row, report(AttemptReport::Kind::delivered), slot + Seconds{25}, 4, slot, slot).outcome,
            DeliveryBook::Outcome::sent);
  const auto contacts = store->contacts_of({"b"});
  ASSERT_EQ(contacts.size(), 1u);
  EXPECT_EQ(contacts[0].at, slot);
  EXPECT_EQ(row_of(*store, row.idempotency_key).state, OutboxState::sent);
}

TEST(DeliveryBook, ARowNeverStartedIsReleasedAndARefusedOneCancelled) {
  TempStore store("book");
  const LocalTime now = at("2026-11-24 10:00");
  store->upsert_planned(planned(now, "b", "O1", Channel::im), now);
  store->upsert_planned(planned(now, "c", "O2", Channel::im), now);
  DeliveryBook book(*store);
  auto rows = store->due(now);
  ASSERT_TRUE(book.claim(rows[0], now));
  ASSERT_TRUE(book.claim(rows[1], now));
  book.record(rows[0], report(AttemptReport::Kind::not_started, "shutting down"), now, 4, now, now);
  book.record(rows[1], report(AttemptReport::Kind::refused, "order O2 paid"), now, 4, now, now);
  EXPECT_EQ(row_of(*store, rows[0].idempotency_key).state, OutboxState::planned);
  const auto refused = row_of(*store, rows[1].idempotency_key);
  EXPECT_EQ(refused.state, OutboxState::cancelled);
  EXPECT_EQ(refused.last_error, "order O2 paid");
}

}  // namespace
}  // namespace cuifu
