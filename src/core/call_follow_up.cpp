#include "core/call_follow_up.h"

#include <fmt/format.h>

#include <algorithm>

namespace cuifu {

namespace {

bool covers(const ContactRecord& c, const std::string& id) {
  return std::find(c.order_ids.begin(), c.order_ids.end(), id) != c.order_ids.end();
}

std::string call_name(const ContactRecord& c) {
  std::string s = fmt::format("the call of {}", format_local_hm(c.at));
  if (!c.outcome_by.empty()) s += fmt::format(" ({})", c.outcome_by);
  return s;
}

std::string duration_text(Minutes d) {
  if (d.count() % 60 == 0) return fmt::format("{} h", d.count() / 60);
  return fmt::format("{} min", d.count());
}

// The latest phone contact with an outcome known by `now` that `pick` accepts, or nullptr.
template <typename Pick>
const ContactRecord* latest_call(const std::vector<ContactRecord>& contacts, LocalTime now, Pick pick) {
  const ContactRecord* latest = nullptr;
  for (const auto& c : contacts) {
    if (c.channel != Channel::phone || c.call_outcome == CallOutcome::none || c.outcome_at > now) continue;
    if (!pick(c)) continue;
    if (!latest || c.outcome_at > latest->outcome_at) latest = &c;
  }
  return latest;
}

}  // namespace

std::string refused_on_call(const std::vector<ContactRecord>& contacts, const std::string& order_id, LocalTime now) {
  const ContactRecord* c = latest_call(contacts, now, [&](const ContactRecord& r) { return covers(r, order_id); });
  if (!c || c->call_outcome != CallOutcome::refused) return {};
  return fmt::format("buyer refused on {} (recorded {}); no more reminders for this order", call_name(*c),
                     format_local_hm(c->outcome_at));
}

std::optional<CallFollowUp> follow_up_after_call(const CallRules& rules, const std::vector<ContactRecord>& contacts,
                                                 const std::vector<std::string>& order_ids, LocalTime now) {
  const ContactRecord* c = latest_call(contacts, now, [&](const ContactRecord& r) {
    return std::any_of(order_ids.begin(), order_ids.end(), [&](const std::string& id) { return covers(r, id); });
  });
  if (!c) return std::nullopt;
  CallFollowUp f;
  f.not_before = c->outcome_at;
  switch (c->call_outcome) {
    case CallOutcome::will_pay: {
      f.not_before = c->outcome_at + rules.will_pay_grace;
      const std::string where =
          rules.will_pay_grace_source.file.empty() ? std::string("default") : rules.will_pay_grace_source.str();
      f.why = fmt::format("buyer promised to pay on {}: nothing before {} (calls.will_pay_grace {}, {})", call_name(*c),
                          format_local_hm(f.not_before), duration_text(rules.will_pay_grace), where);
      break;
    }
    case CallOutcome::no_answer: f.why = fmt::format("{} was not answered: the sequence goes on", call_name(*c)); break;
    case CallOutcome::reached:
      f.why = fmt::format("buyer was reached on {} without a promise to pay: the sequence goes on", call_name(*c));
      break;
    case CallOutcome::refused:  // only some of these orders were refused; the others go on
      f.why = fmt::format("buyer refused other orders on {}: these go on", call_name(*c));
      break;
    case CallOutcome::none: return std::nullopt;
  }
  return f;
}

}  // namespace cuifu
