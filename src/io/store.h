// The daemon's durable state in SQLite: orders seen, the reminder outbox, the per-buyer
// contact log (which feeds the planner's caps) and opt-outs. A buyer is (shop, buyer):
// every row carries the shop ("" for feeds without 店铺名称).
//
// Times are stored as UTC epoch seconds and converted with the shop's ShopZone here, at
// the edge: callers speak LocalTime like the core does. SQLite exceptions never leave this
// layer; they become StoreError with the database path and what was being done.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/planner.h"
#include "core/send_policy.h"
#include "io/zone.h"

namespace cuifu {

class StoreError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// planned -> sending (its request is about to leave) -> sent | failed | planned (a retry,
// after `not_before`); planned | sending -> cancelled. After a crash a `sending` row is in
// doubt: back to planned (resent with the same key) on a channel that drops duplicates by
// key, otherwise `unknown` (possibly delivered; never resent blindly). A row whose retries
// ran out is cancelled with `not_before` set: the planner revives it (same key) into its
// next allowed slot from then on. A `failed` row (refused for good) counts as a step done.
enum class OutboxState { planned, sending, sent, failed, cancelled, unknown };
inline constexpr OutboxState kAllOutboxStates[] = {OutboxState::planned, OutboxState::sending,   OutboxState::sent,
                                                   OutboxState::failed,  OutboxState::cancelled, OutboxState::unknown};
std::string_view to_string(OutboxState s);
std::optional<OutboxState> parse_outbox_state(std::string_view text);

// One row of the outbox: a reminder the planner decided on (the Outgoing part, which is
// what senders and the gate see), and what became of it.
struct OutboxRow : Outgoing {
  std::int64_t id = 0;
  OutboxState state = OutboxState::planned;
  std::optional<LocalTime> not_before;      // a retry waits until then
  std::optional<LocalTime> in_doubt_since;  // an earlier request may have reached the buyer
  int attempts = 0;
  std::string last_error;  // or, for cancelled rows, why
  LocalTime updated_at{};
  std::optional<LocalTime> sent_at;
  std::vector<std::string> why;
};

// What a reconcile reads of a planned row (planned_of(), all_planned()): enough to tell whether
// the planner still wants it as it is, and to cancel it. 184 bytes, not a whole OutboxRow's 464:
// a restart reads every planned row, 1.3M at 1M orders, into memory written for the first time.
struct PlannedHead {
  std::int64_t id = 0;
  std::string idempotency_key;
  std::string buyer;
  std::string shop;
  std::vector<std::string> order_ids;
  Channel channel = Channel::im;
  int step = 1;
  LocalTime send_at{};
  std::optional<LocalTime> not_before;      // a retry waits until then
  std::optional<LocalTime> in_doubt_since;  // an earlier request may have reached the buyer
  // A hash of what upsert_planned() compares of the row (see ReminderStore::content_hash).
  std::uint64_t content_hash = 0;
};

struct OptOut {
  std::string buyer;
  Channel channel = Channel::sms;
  LocalTime at{};
  std::string source;  // "cli", "sms-reply", ...
  std::string shop;    // the shop it applies to; "" means every shop
};

// A phone reminder handed to the call desk.
struct CallTask {
  std::int64_t id = 0;
  std::string idempotency_key;
  std::string buyer;
  std::string receiver_name;
  std::string phone;
  std::vector<std::string> order_ids;
  std::string message;  // the script
  LocalTime due_at{};
  LocalTime created_at{};
  std::string shop;  // whose customer the buyer is (the caller says which shop is calling)
  Money amount = 0;  // of its orders, as last seen in the feed (0 when not seen)
};

// What the call desk recorded of one call task: who called, when, and what came of it. A task
// may get several (no answer at 10:00, reached at 15:00); the latest counts.
struct CallOutcomeRecord {
  std::int64_t id = 0;
  std::string idempotency_key;  // the call task's
  CallOutcome outcome = CallOutcome::none;
  LocalTime at{};
  std::string agent;  // the 催付专员 who made the call ("" when not given)
  std::string note;
};

struct OutboxFilter {
  std::optional<LocalTime> day;  // send_at within that local day
  std::optional<OutboxState> state;
};

// What upsert_planned did with a planned reminder.
enum class UpsertResult { inserted, updated, revived, unchanged, kept };

// What the store keeps of an order it saw in the feed (orders_seen): for opt-out replies by
// phone, the call desk's amounts, `cuifu state`. Made from an order (implicitly: what is written
// is an order, seen), without the rest of it: a new 1M export's reconcile holds one per order.
struct SeenOrder {
  std::string id;
  std::string buyer;
  std::string phone;
  std::string shop;
  OrderStatus status = OrderStatus::unpaid;
  Money amount = 0;

  SeenOrder() = default;
  SeenOrder(const Order& o)  // NOLINT(google-explicit-constructor): an order seen is written as seen
      : id(o.id), buyer(o.buyer), phone(o.phone), shop(o.shop), status(o.status), amount(o.amount) {}
};

// What upsert_planned() writes of a reminder besides its fields as they are: its idempotency key,
// and its order ids and why lines as JSON. A reconcile makes them beforehand, on its own threads,
// for the rows it hands to the daemon's loop: made there, they were ~8 % of the loop's writing.
struct PlannedRowText {
  std::string key;  // empty: not made (upsert_planned() makes them)
  std::string order_ids, why;
  // Of `r`; not made when its order ids or why lines are not text (upsert_planned() says so).
  static PlannedRowText of(const PlannedReminder& r);
};

// The state the daemon works on. One instance per thread (not thread-safe); several
// processes may open the same file (WAL, busy timeout).
class ReminderStore {
 public:
  virtual ~ReminderStore() = default;

  // Contacts made (every one, for the planner's caps) and opt-outs. A step whose row failed
  // for good counts as a contact at its failure, so the planner moves on to the next step.
  virtual ContactHistory history() const = 0;

  // Runs `fn` (which calls this store) in one transaction: many writes, one commit to disk.
  // Everything `fn` wrote is rolled back when it throws.
  virtual void batch(const std::function<void()>& fn) = 0;
  // Runs `fn` (which calls this store; true when it wrote the last of its rows) in a
  // transaction that is not flushed to disk (synchronous=NORMAL) and that stays open from one
  // call to the next: committed when `fn` says it is done, after 10 s or 500,000 rows written, or
  // before any other write of this store (a claim, a sent mark: their own commit flushes it).
  // A read of this store meanwhile reads through it (sees its rows) and commits nothing.
  // For writes that can be made again from the feed (a reconcile's result, a slice per turn of
  // the daemon's loop). A crash or power cut before a commit loses them, never tears the
  // database, and a restart plans again. When `fn` throws, everything written since the last
  // commit is rolled back; a failed commit is reported by the call that caused it and by the
  // next unflushed() (StoreError): the caller then writes them again.
  // `rows`: how many rows the writes still to come will touch in all, when known (0: unknown);
  // a store may size its cache for the transaction by it.
  virtual void unflushed(const std::function<bool()>& fn, std::size_t rows = 0) = 0;

  // Inserts a planned reminder by idempotency key. An existing planned row gets the new
  // content; its slot moves only while the slot is still in the future (a due row keeps
  // it). A cancelled row is revived as planned (the planner wants it again), its attempts
  // counted afresh, unless it waits for a re-plan (`not_before` after `now`). Rows that are
  // sending, sent or failed are kept as they are.
  virtual UpsertResult upsert_planned(const PlannedReminder& r, LocalTime now) = 0;
  // The same, with what it writes of `r` made beforehand (`text`: PlannedRowText::of(r)).
  virtual UpsertResult upsert_planned(const PlannedReminder& r, const PlannedRowText& text, LocalTime now) = 0;
  // A hash of what upsert_planned(r) compares with the row of r's key (its slot, texts, order
  // ids, channel, step and buyer), equal to the content_hash planned_of() and all_planned() give a
  // row holding just that: a row read planned with the same hash is left as it is by
  // upsert_planned(r) ('unchanged', nothing written) while it stays planned. Nothing when the
  // store cannot tell (the caller upserts r).
  virtual std::optional<std::uint64_t> content_hash(const PlannedReminder& r) const {
    (void)r;
    return std::nullopt;
  }

  virtual std::vector<OutboxRow> rows(const OutboxFilter& filter) const = 0;
  virtual std::vector<OutboxRow> in_state(OutboxState s) const = 0;
  // The planned rows of these buyers (shop, buyer), through the (shop, buyer, state) index:
  // what an incremental reconcile looks at instead of every planned row. Their heads only (not
  // the message, why or the other texts: reading and parsing them was a third of this call for
  // 13,000 rows; their bytes are hashed as read, into content_hash, not kept).
  virtual std::vector<PlannedHead> planned_of(const std::vector<std::pair<std::string, std::string>>& buyers) const = 0;
  // Every planned row's head, as planned_of() reads them: what a full reconcile (the daemon's
  // first after it starts) looks at. in_state(planned) read their texts too: at 1M orders, a
  // restart held 1.3M messages and why lines at once (~2.5 GB) to cancel none of them.
  virtual std::vector<PlannedHead> all_planned() const = 0;
  // The buyers (shop, buyer) of rows given up whose re-plan time has come (not_before <= now):
  // the planner looks at them again before close_replans().
  virtual std::vector<std::pair<std::string, std::string>> replans_due(LocalTime now) const = 0;
  // Planned rows with send_at <= now (and not waiting for a retry), oldest first; at most
  // `limit` of them, only of `channel` when given.
  virtual std::vector<OutboxRow> due(LocalTime now, std::optional<Channel> channel = std::nullopt,
                                     int limit = 1 << 30) const = 0;
  // The earliest moment a planned row becomes due (its slot, or its retry time).
  virtual std::optional<LocalTime> next_due() const = 0;
  virtual std::optional<OutboxRow> find(std::int64_t id) const = 0;

  // The contacts logged for these buyers, in every shop (for the caps right before a send;
  // the send policy keeps the row's shop and the contacts logged without one).
  virtual std::vector<ContactRecord> contacts_of(const std::vector<std::string>& buyers) const = 0;

  // planned -> sending, attempts + 1: the attempt is recorded (durably) before its request
  // leaves. False if the row was not planned any more.
  virtual bool mark_sending(std::int64_t id, LocalTime now) = 0;
  // sending -> sent, and the contact logged, in one transaction.
  virtual void mark_sent(std::int64_t id, LocalTime now, const ContactRecord& contact) = 0;
  // sending -> planned again after a failed attempt, to be retried (through the gate) not
  // before `not_before`.
  // `in_doubt`: the failed request may have reached the buyer (no answer after it left): the
  // row is in doubt from its attempt on, like after a crash.
  virtual void mark_retry(std::int64_t id, LocalTime now, const std::string& error, LocalTime not_before,
                          bool in_doubt = false) = 0;
  // sending -> unknown: the request may have been delivered. The contact is logged (the caps
  // and the next steps count it as made), in one transaction.
  virtual void mark_unknown(std::int64_t id, LocalTime now, const std::string& note, const ContactRecord& contact) = 0;
  virtual void mark_failed(std::int64_t id, LocalTime now, const std::string& error) = 0;
  // The earliest re-plan time of a row cancelled by give_up() and not yet re-planned.
  virtual std::optional<LocalTime> next_replan() const = 0;
  // After a re-plan at `now`: rows given up whose re-plan time has come and that the planner
  // did not revive stay cancelled for good, with `reason` added to theirs.
  virtual void close_replans(LocalTime now, const std::string& reason) = 0;
  // A planned row waits until `not_before` (catch-up spreading after an outage), with a note.
  virtual void hold_until(std::int64_t id, LocalTime not_before, const std::string& note) = 0;
  // sending -> cancelled, retries used up: revived by the planner (upsert_planned) at its next
  // allowed slot from `replan_at` on. Like cancel(), a row in doubt becomes 'unknown'.
  virtual void give_up(std::int64_t id, LocalTime now, const std::string& reason, LocalTime replan_at) = 0;
  // planned|sending -> planned again (a send interrupted by shutdown before any attempt ended).
  virtual void mark_planned(std::int64_t id, LocalTime now, const std::string& note) = 0;
  // planned|sending -> cancelled with a reason. False if the row was in another state.
  // A row in doubt (an earlier request may have reached the buyer) becomes 'unknown' instead,
  // its contact logged: a possibly delivered reminder is never recorded as not sent.
  virtual bool cancel(std::int64_t id, LocalTime now, const std::string& reason) = 0;
  // The same for a row still planned only (a row claimed since is left alone): a reconcile's
  // cancellations, without reading each row first.
  virtual bool cancel_planned(std::int64_t id, LocalTime now, const std::string& reason) = 0;
  // cancel_planned(as_read.id, ...), the same result, for a planned row as planned_of() or
  // all_planned() read it (id, channel, in_doubt_since): a store may cancel such a row that is still as read (planned,
  // of that channel, not in doubt) with one write, the check in the write itself, and take the general way for any
  // other.
  virtual bool cancel_planned_as_read(const PlannedHead& as_read, LocalTime now, const std::string& reason) {
    return cancel_planned(as_read.id, now, reason);
  }
  // sending -> planned, in doubt since its attempt: after a crash, to be resent with the same
  // key (through the gate) on a channel whose gateway drops duplicates.
  virtual void mark_in_doubt(std::int64_t id, LocalTime now, const std::string& note) = 0;

  virtual void record_orders_seen(const std::vector<SeenOrder>& orders, LocalTime now) = 0;

  virtual void add_opt_out(const OptOut& o) = 0;
  // Removes the buyer's opt-outs of `channel` (every channel when unset) in `shop` ("" is the
  // every-shop opt-out), or in every shop and for every shop when `shop` is unset.
  virtual bool remove_opt_out(const std::string& buyer, std::optional<Channel> channel,
                              std::optional<std::string> shop = std::nullopt) = 0;
  virtual std::vector<OptOut> opt_outs() const = 0;
  // The buyer whose orders carry this phone number, if any order was seen with it.
  virtual std::optional<std::string> buyer_by_phone(const std::string& phone) const = 0;
  // An order's status in the newest feed snapshot the daemon recorded; nullopt if never seen.
  virtual std::optional<OrderStatus> order_status(const std::string& order_id) const = 0;

  // Idempotent by key: adding the same task twice keeps one.
  virtual void add_call_task(const CallTask& t) = 0;
  virtual std::vector<CallTask> call_tasks(std::optional<LocalTime> day) const = 0;
  // The call task with this idempotency key, else the latest task covering this order id.
  virtual std::optional<CallTask> find_call_task(const std::string& key_or_order_id) const = 0;
  // Stores an outcome of a call task (REQUIRES: the task exists); history() then carries it on
  // the task's phone contact, for the planner.
  virtual void record_call_outcome(const CallOutcomeRecord& r) = 0;
  // Every outcome recorded for these tasks' keys (all tasks when empty), oldest first.
  virtual std::vector<CallOutcomeRecord> call_outcomes(const std::vector<std::string>& keys) const = 0;

  // Row counts per (channel, state), for /healthz and /metrics: kept as rows change, so reading
  // them costs the same however big the outbox is.
  virtual std::map<std::pair<Channel, OutboxState>, std::int64_t> counts() const = 0;
};

// The SQLite implementation. Opening creates the file (mode 0600), turns on WAL and
// migrates the schema to the current version; a newer schema than this build knows is
// refused.
class SqliteStore final : public ReminderStore {
 public:
  static constexpr int kSchemaVersion = 9;

  SqliteStore(const std::string& path, ShopZone zone);
  ~SqliteStore() override;
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  int schema_version() const;
  const std::string& path() const { return path_; }

  ContactHistory history() const override;
  void batch(const std::function<void()>& fn) override;
  void unflushed(const std::function<bool()>& fn, std::size_t rows = 0) override;
  UpsertResult upsert_planned(const PlannedReminder& r, LocalTime now) override;
  UpsertResult upsert_planned(const PlannedReminder& r, const PlannedRowText& text, LocalTime now) override;
  std::optional<std::uint64_t> content_hash(const PlannedReminder& r) const override;
  std::vector<OutboxRow> rows(const OutboxFilter& filter) const override;
  std::vector<OutboxRow> in_state(OutboxState s) const override;
  std::vector<PlannedHead> planned_of(const std::vector<std::pair<std::string, std::string>>& buyers) const override;
  std::vector<PlannedHead> all_planned() const override;
  std::vector<std::pair<std::string, std::string>> replans_due(LocalTime now) const override;
  std::vector<OutboxRow> due(LocalTime now, std::optional<Channel> channel = std::nullopt,
                             int limit = 1 << 30) const override;
  std::vector<ContactRecord> contacts_of(const std::vector<std::string>& buyers) const override;
  std::optional<LocalTime> next_due() const override;
  std::optional<OutboxRow> find(std::int64_t id) const override;
  bool mark_sending(std::int64_t id, LocalTime now) override;
  void mark_sent(std::int64_t id, LocalTime now, const ContactRecord& contact) override;
  void mark_retry(std::int64_t id, LocalTime now, const std::string& error, LocalTime not_before,
                  bool in_doubt = false) override;
  void mark_unknown(std::int64_t id, LocalTime now, const std::string& note, const ContactRecord& contact) override;
  void mark_failed(std::int64_t id, LocalTime now, const std::string& error) override;
  void hold_until(std::int64_t id, LocalTime not_before, const std::string& note) override;
  std::optional<LocalTime> next_replan() const override;
  void close_replans(LocalTime now, const std::string& reason) override;
  void give_up(std::int64_t id, LocalTime now, const std::string& reason, LocalTime replan_at) override;
  void mark_planned(std::int64_t id, LocalTime now, const std::string& note) override;
  bool cancel(std::int64_t id, LocalTime now, const std::string& reason) override;
  bool cancel_planned(std::int64_t id, LocalTime now, const std::string& reason) override;
  bool cancel_planned_as_read(const PlannedHead& as_read, LocalTime now, const std::string& reason) override;
  void mark_in_doubt(std::int64_t id, LocalTime now, const std::string& note) override;
  void record_orders_seen(const std::vector<SeenOrder>& orders, LocalTime now) override;
  void add_opt_out(const OptOut& o) override;
  bool remove_opt_out(const std::string& buyer, std::optional<Channel> channel,
                      std::optional<std::string> shop = std::nullopt) override;
  std::vector<OptOut> opt_outs() const override;
  std::optional<std::string> buyer_by_phone(const std::string& phone) const override;
  std::optional<OrderStatus> order_status(const std::string& order_id) const override;
  void add_call_task(const CallTask& t) override;
  std::vector<CallTask> call_tasks(std::optional<LocalTime> day) const override;
  std::optional<CallTask> find_call_task(const std::string& key_or_order_id) const override;
  void record_call_outcome(const CallOutcomeRecord& r) override;
  std::vector<CallOutcomeRecord> call_outcomes(const std::vector<std::string>& keys) const override;
  std::map<std::pair<Channel, OutboxState>, std::int64_t> counts() const override;
  // Counts the outbox's rows per (channel, state) again and puts them in place of the kept
  // counts when they differ (true then). The daemon does it when it starts: a daemon of an
  // older build left running while a newer cuifu upgraded the file writes rows without
  // counting them. A full read of the outbox (~1.4 s for 1.3M rows).
  bool recount_outbox();

 private:
  // cancel(), cancel_planned(): a planned row, or also a sending one when `or_sending`.
  bool cancel_in(std::int64_t id, LocalTime now, const std::string& reason, bool or_sending);
  // Commits the transaction unflushed() left open, unless its fn is running (REQUIRES: the
  // calling thread is the one that uses this store). Every other public member that writes
  // calls it first; the reads read through the open transaction.
  void settle() const;
  void commit_unflushed() const;
  void rollback_unflushed() const;
  struct Impl;
  std::string path_;
  ShopZone zone_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cuifu
