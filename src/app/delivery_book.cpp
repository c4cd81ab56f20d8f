#include "app/delivery_book.h"

#include <fmt/format.h>

namespace cuifu {

ContactRecord DeliveryBook::contact_for(const Outgoing& row, LocalTime now) {
  const LocalTime at = now - row.send_at <= Seconds{60} ? row.send_at : std::chrono::floor<Minutes>(now);
  return {row.buyer, row.channel, at, row.order_ids, row.step, row.shop};
}

std::vector<DeliveryBook::Recovered> DeliveryBook::recover(LocalTime now, std::chrono::seconds catch_up_limit,
                                                           const std::function<bool(Channel)>& may_resend) {
  std::vector<Recovered> out;
  for (auto& row : store_.in_state(OutboxState::sending)) {
    Recovered r;
    const LocalTime since = row.in_doubt_since.value_or(row.updated_at);  // the first attempt in doubt
    const auto in_doubt = std::chrono::duration_cast<Seconds>(now - since);
    const auto late = std::chrono::duration_cast<Seconds>(now - row.send_at);
    if (!may_resend(row.channel)) {
      r.note = fmt::format(
          "outcome unknown: cuifu stopped while this {} was being sent, and its gateway keeps duplicates; not "
          "resent (set at_least_once for the channel to resend)",
          to_string(row.channel));
    } else if (in_doubt > catch_up_limit || late > catch_up_limit) {
      r.note = fmt::format(
          "outcome unknown: in doubt since {} (catch-up limit {} min); possibly delivered, not resent so late",
          format_local_hm(since), std::chrono::duration_cast<Minutes>(catch_up_limit).count());
    } else {
      r.resend = true;
      r.note = "in doubt after a restart (possibly sent): resent with the same idempotency key through the gate";
    }
    if (r.resend) {
      store_.mark_in_doubt(row.id, now, r.note);
    } else {
      store_.mark_unknown(row.id, now, r.note, contact_for(row, since));
    }
    r.row = std::move(row);
    out.push_back(std::move(r));
  }
  return out;
}

bool DeliveryBook::claim(OutboxRow& row, LocalTime now) {
  if (!store_.mark_sending(row.id, now)) return false;
  ++row.attempts;
  row.state = OutboxState::sending;
  row.updated_at = now;
  return true;
}

DeliveryBook::Recorded DeliveryBook::record(const OutboxRow& row, const AttemptReport& r, LocalTime now,
                                            int max_attempts, LocalTime retry_at, LocalTime replan_at,
                                            bool resend_in_doubt, std::optional<LocalTime> left) {
  using K = AttemptReport::Kind;
  const LocalTime contacted = left ? std::max(*left, row.updated_at) : row.updated_at;
  switch (r.kind) {
    case K::delivered:
      // The buyer was contacted when the request left, not when the answer came.
      store_.mark_sent(row.id, now, contact_for(row, contacted));
      return {Outcome::sent, r.detail};
    case K::refused: store_.cancel(row.id, now, r.detail); return {Outcome::cancelled, r.detail};
    case K::not_started:
      store_.mark_planned(row.id, now, "not sent: " + r.detail);
      return {Outcome::released, r.detail};
    case K::retry:
      if (r.in_doubt && !resend_in_doubt) {
        const std::string e = fmt::format(
            "outcome unknown: {}; it may have reached the buyer, and its gateway keeps duplicates: not resent (set "
            "at_least_once for the channel to resend)",
            r.detail);
        store_.mark_unknown(row.id, now, e, contact_for(row, contacted));
        return {Outcome::unknown, e};
      }
      if (row.attempts < max_attempts) {
        const std::string e =
            fmt::format("attempt {} failed ({}); retrying at {}{}", row.attempts, r.detail, format_local_time(retry_at),
                        r.in_doubt ? " with the same idempotency key (possibly delivered)" : "");
        store_.mark_retry(row.id, now, e, retry_at, r.in_doubt);
        return {Outcome::retry, e};
      } else {
        const std::string e =
            fmt::format("gave up after {} attempts ({}); to be re-planned into its next allowed slot from {}",
                        row.attempts, r.detail, format_local_hm(replan_at));
        store_.give_up(row.id, now, e, replan_at);
        return {Outcome::replanned, e};
      }
    case K::permanent: break;
  }
  const std::string e = row.attempts > 1 ? fmt::format("{} (after {} attempts)", r.detail, row.attempts) : r.detail;
  store_.mark_failed(row.id, now, e);
  return {Outcome::failed, e};
}

}  // namespace cuifu
