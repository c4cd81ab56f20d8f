// The daemon's send gate: what must hold for a reminder to go out at a given moment, decided
// through the one send policy (core/send_policy.h) on the newest snapshot.
//
// decide() is pure and runs on the loop thread for every due row (first sends, retries and
// resends after a crash alike). SendGate holds an immutable copy of what decide() needs,
// published by the loop, so a channel worker can ask again right before its request leaves.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "core/send_policy.h"
#include "io/order_list.h"
#include "io/store.h"

namespace cuifu {

// Opt-outs as the daemon checks them before sending: (shop, buyer, channel); shop "" is
// an opt-out from every shop.
using OptOutSet = std::set<std::tuple<std::string, std::string, Channel>>;
bool is_opted_out(const OptOutSet& opted_out, const Outgoing& row);

// Everything the gate looks at besides the row and the buyer's contacts.
struct GateInputs {
  bool paused = true;  // the feed is stale, unreadable or not trusted
  std::string paused_reason = "no feed snapshot yet";
  std::shared_ptr<const Rules> rules;
  // The newest snapshot's orders (found by id through their id table; each order's view made
  // under `rules` when asked: no tree of a million views built for every poll).
  std::shared_ptr<const OrderList> orders;
  OptOutSet opted_out;
  std::set<Channel> configured;  // channels the daemon can send on
  std::chrono::seconds catch_up_limit{3600};
};

// What to do with one due row.
struct GateDecision {
  enum class Kind {
    send,
    paused,       // leave it planned: sending is paused
    missed_slot,  // later than the catch-up limit: cancel and re-plan
    not_payable,  // paid, closed, auto-closed or gone: cancel
    opted_out,
    not_configured,
    send_time,  // quiet hours or outside the windows now: cancel and re-plan
    caps,       // too close to another contact, or a cap reached: cancel and re-plan
  };
  Kind kind = Kind::send;
  std::string detail;  // for people: the log and `cuifu outbox`
  bool sends() const { return kind == Kind::send; }
};

// The decision for `row` at `now`, given the buyer's contacts logged and in flight.
GateDecision decide(const GateInputs& in, const Outgoing& row, const std::vector<ContactRecord>& contacts,
                    LocalTime now);

// Catch-up after an outage (the daemon down, or sending paused on a stale feed): the rows that
// fell due meanwhile (`backlog`) are not all sent at the minute sending resumes. Each channel's
// backlog, oldest slot first, is spread evenly over `spread` from `now` (row i of n not before
// now + i * spread / n), and never later than its slot + catch_up_limit - 1 min, so none is
// given up as missed for being spread. Quiet hours, windows and caps stay the gate's when each
// one goes (a row spread past its window is re-planned by the planner, as any other).
// Returns the rows to hold back, with the moment each may go; the first of a channel goes now.
struct CatchUpSlot {
  std::int64_t id = 0;
  LocalTime not_before{};
};
std::vector<CatchUpSlot> spread_catch_up(std::vector<OutboxRow> backlog, LocalTime now, std::chrono::seconds spread,
                                         std::chrono::seconds catch_up_limit);

// A thread-safe holder of the newest GateInputs (replaced whole by the loop) for the channel
// workers' last look right before a request. Caps are the loop's (it counts what is in flight).
class SendGate {
 public:
  void publish(std::shared_ptr<const GateInputs> in);
  std::shared_ptr<const GateInputs> inputs() const;
  // Empty to go ahead; otherwise why not (caps and the catch-up limit not checked again).
  std::string last_look(const Outgoing& row, LocalTime now) const;

 private:
  mutable std::mutex mu_;  // guards inputs_
  std::shared_ptr<const GateInputs> inputs_ = std::make_shared<const GateInputs>();
};

}  // namespace cuifu
