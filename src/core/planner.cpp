#include "core/planner.h"

#include <fmt/compile.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <functional>
#include <iterator>
#include <optional>
#include <span>
#include <string_view>
#include <utility>

#include "core/call_follow_up.h"
#include "core/format_text.h"
#include "core/item_title.h"
#include "core/names.h"
#include "core/parallel.h"
#include "core/send_policy.h"
#include "core/text.h"

namespace cuifu {

bool ContactHistory::is_opted_out(const std::string& shop, const std::string& buyer, Channel c) const {
  if (const auto it = opted_out.find(buyer); it != opted_out.end() && it->second.count(c) > 0) return true;
  // No pair of copied strings made to look up an empty map (asked for every channel tried).
  if (shop.empty() || shop_opted_out.empty()) return false;
  const auto it = shop_opted_out.find({shop, buyer});
  return it != shop_opted_out.end() && it->second.count(c) > 0;
}

std::string PlannedReminder::idempotency_key() const {
  // The buyer's oldest order and the step identify the decision; the slot and the
  // set of combined orders may move when it is re-planned, the key must not.
  // A feed without shops keeps the keys it always had, so an existing outbox still matches.
  // Hashed piece by piece: the same as stable_hash("shop|buyer|anchor|step") (no shop: "buyer|...").
  StableHash h;
  if (!shop.empty()) h.add(shop).add("|");
  h.add(buyer).add("|").add(order_ids.empty() ? std::string_view{} : std::string_view(order_ids.front())).add("|");
  char digits[16];
  const auto end = std::to_chars(std::begin(digits), std::end(digits), step).ptr;
  h.add(std::string_view(digits, static_cast<std::size_t>(end - digits)));
  std::string key = "cf-0000000000000000";
  static constexpr char kHex[] = "0123456789abcdef";
  for (std::uint64_t v = h.value(), i = 0; i < 16; ++i, v >>= 4) key[key.size() - 1 - i] = kHex[v & 0xF];
  return key;
}

namespace {

using std::chrono::days;
using std::chrono::hours;

const std::vector<ChatMessage> kNoChat;

// hh:mm, written digit by digit (it is in nearly every why line). REQUIRES: 0 <= minute < 1440.
std::string hm(int minute) {
  const auto h = static_cast<unsigned>(minute / 60), m = static_cast<unsigned>(minute % 60);
  return {static_cast<char>('0' + h / 10), static_cast<char>('0' + h % 10), ':', static_cast<char>('0' + m / 10),
          static_cast<char>('0' + m % 10)};
}

std::string describe_delay(Minutes d) {
  if (d.count() % 60 == 0) return format_text(FMT_COMPILE("{} h"), d.count() / 60);
  if (d.count() > 60) return format_text(FMT_COMPILE("{} h {} min"), d.count() / 60, d.count() % 60);
  return format_text(FMT_COMPILE("{} min"), d.count());
}

// mm-dd hh:mm, written digit by digit (several in every why line): the same as
// format_text("{:02d}-{:02d} {}", month, day, hm(...)), and short enough to need no allocation.
std::string short_time(LocalTime t) {
  const std::chrono::year_month_day ymd{std::chrono::floor<days>(t)};
  const auto mo = unsigned(ymd.month()), d = unsigned(ymd.day());
  const auto digit = [](unsigned v) { return static_cast<char>('0' + v); };
  const auto minute = static_cast<unsigned>(minute_of_day(t)), h = minute / 60, m = minute % 60;
  return {digit(mo / 10), digit(mo % 10), '-', digit(d / 10), digit(d % 10), ' ',
          digit(h / 10),  digit(h % 10),  ':', digit(m / 10), digit(m % 10)};
}

LocalTime ceil_minute(LocalTime t) {
  const auto f = std::chrono::floor<Minutes>(t);
  return f == t ? t : LocalTime{f + Minutes{1}};
}

// Longest item name in a message.
constexpr std::size_t kMessageItemChars = 20;

std::string pay_by_text(LocalTime t) {
  const std::chrono::year_month_day ymd{std::chrono::floor<days>(t)};
  return format_text(FMT_COMPILE("{}月{}日{}"), unsigned(ymd.month()), unsigned(ymd.day()), hm(minute_of_day(t)));
}

// Plans one buyer. Buyers are independent (every cap is per buyer or per order), which
// is also what lets backtest replay buyer by buyer.
class BuyerPlanner {
 public:
  BuyerPlanner(const ShopSettings& shop, const std::string& buyer, std::vector<const Order*> orders,
               std::vector<ContactRecord> contacts, const ContactHistory& history, const Rules& rules,
               const TemplateSet& templates, const PlanRequest& req, PlanCache& cache, Plan& out)
      : shop_(shop),
        caps_(*shop.caps),
        buyer_(buyer),
        orders_(std::move(orders)),
        contacts_(std::move(contacts)),
        history_(history),
        rules_(rules),
        templates_(templates),
        req_(req),
        cache_(cache),
        out_(out) {}

  // Plans each kind of open order apart (flash sale, pre-sale, the rest): each is its own
  // reminder sequence with its own timing; caps count every contact of the buyer.
  void run();

  // The buyer's contacts, logged and planned by run(), sorted by time.
  const std::vector<ContactRecord>& contacts() const { return contacts_; }

 private:
  void skip_all(const std::vector<const Order*>& orders, const std::string& reason) {
    for (const Order* o : orders) out_.skipped.push_back({o->id, buyer_, shop_.shop, reason});
  }
  // When an order closes: the feed's close time, or auto-close after its creation.
  LocalTime closes_at(const Order& o) const { return cuifu::closes_at(o, rules_); }
  // One sequence: the open orders of type `kind`. `report_done` lists paid and closed orders
  // among the skips (once per buyer).
  void run_group(OrderType kind, bool report_done);
  int contacts_on_day(LocalTime day) const {
    int n = 0;
    for (const auto& c : contacts_) n += start_of_day(c.at) == day;
    return n;
  }
  // Why a channel cannot carry this reminder, or empty when it can.
  // `earliest` is the soonest it could go out; `in_sequence` tells whether a contact was about
  // the orders being reminded now.
  std::string unusable(Channel c, const std::string& phone, const std::string& email, LocalTime earliest,
                       const std::function<bool(const ContactRecord&)>& in_sequence) const;
  // Earliest allowed send time >= earliest, or nullopt within a week.
  // The latest contact at or before t, or nullptr.
  const ContactRecord* previous_contact(LocalTime t) const;
  // The latest contact that was logged or planned for this sequence (not for the buyer's other
  // sequences planned earlier in this run), or nullptr: the next step comes after it.
  const ContactRecord* last_own_contact() const;
  // Why channel c may not go out at t under "never the same channel twice in a row", or "".
  std::string repeat_problem(Channel c, LocalTime t,
                             const std::function<bool(const ContactRecord&)>& in_sequence) const;
  // Why core/send_policy (the daemon's gate) would refuse this reminder at t, or "": the
  // minute, the caps against every contact logged or planned before t, and the orders payable.
  std::string policy_problem(Channel c, const SegmentRule& seg, int step, const std::vector<const Order*>& open,
                             const std::vector<std::string>& ids, LocalTime t) const;
  std::optional<LocalTime> find_slot(LocalTime earliest, const std::vector<DailyWindow>& channel_windows,
                                     const std::vector<DailyWindow>& step_windows, std::string* note) const;

  const ShopSettings& shop_;
  const Caps& caps_;  // the shop's
  const std::string& buyer_;
  std::vector<const Order*> orders_;
  std::vector<ContactRecord> contacts_;  // sorted by time; grows as the plan is simulated
  // (time, channel) of the contacts planned in this run for the buyer's other sequences, and
  // for the sequence being planned now.
  std::vector<std::pair<LocalTime, Channel>> other_sequences_, this_sequence_;
  const ContactHistory& history_;
  const Rules& rules_;
  const TemplateSet& templates_;
  const PlanRequest& req_;
  PlanCache& cache_;
  Plan& out_;
};

std::string BuyerPlanner::unusable(Channel c, const std::string& phone, const std::string& email, LocalTime earliest,
                                   const std::function<bool(const ContactRecord&)>& in_sequence) const {
  const ChannelRule* ch = rules_.channel(c);
  if (!ch) return format_text(FMT_COMPILE("{} is not configured"), to_string(c));
  if (!ch->enabled) return format_text(FMT_COMPILE("{} is disabled"), to_string(c));
  if (history_.is_opted_out(shop_.shop, buyer_, c))
    return format_text(FMT_COMPILE("buyer opted out of {}"), to_string(c));
  if (c == Channel::sms && shop_.sms_signature.empty()) {
    return format_text(FMT_COMPILE("no SMS signature for shop {} (set shops: {}: sms_signature in the rules)"),
                       shop_.shop, shop_.shop);
  }
  if ((c == Channel::sms || c == Channel::phone) && trimmed(phone).empty()) {
    return format_text(FMT_COMPILE("no phone number for {}"), to_string(c));
  }
  if (c == Channel::email && trimmed(email).empty()) return "no e-mail address";
  return repeat_problem(c, earliest, in_sequence);
}

const ContactRecord* BuyerPlanner::previous_contact(LocalTime t) const {
  const ContactRecord* previous = nullptr;
  for (const auto& c : contacts_) {
    if (c.at <= t) previous = &c;
  }
  return previous;
}

const ContactRecord* BuyerPlanner::last_own_contact() const {
  for (auto it = contacts_.rbegin(); it != contacts_.rend(); ++it) {
    if (std::find(other_sequences_.begin(), other_sequences_.end(), std::pair{it->at, it->channel}) ==
        other_sequences_.end()) {
      return &*it;
    }
  }
  return nullptr;
}

std::string BuyerPlanner::repeat_problem(Channel c, LocalTime t,
                                         const std::function<bool(const ContactRecord&)>& in_sequence) const {
  if (!caps_.no_repeat_channel) return {};
  // Only within one reminder sequence: the previous contact was about these orders, or lies
  // within the look-back. An IM about an order of days ago does not block this one.
  if (const ContactRecord* previous = previous_contact(t); previous && previous->channel == c) {
    if (in_sequence(*previous)) {
      return format_text(
          FMT_COMPILE("{} was the previous contact in this reminder sequence ({}), never twice in a row"), to_string(c),
          short_time(previous->at));
    }
    if (t - previous->at < caps_.repeat_channel_lookback) {
      return format_text(FMT_COMPILE("{} was the previous contact ({}, within the {} look-back), never twice in a row"),
                         to_string(c), short_time(previous->at), describe_delay(caps_.repeat_channel_lookback));
    }
  }
  // A contact already planned after t (another sequence of this buyer) must not repeat it either.
  for (const auto& next : contacts_) {
    if (next.at <= t) continue;
    if (next.channel == c && next.at - t < caps_.repeat_channel_lookback) {
      return format_text(FMT_COMPILE("{} is the next contact ({}, within the {} look-back), never twice in a row"),
                         to_string(c), short_time(next.at), describe_delay(caps_.repeat_channel_lookback));
    }
    break;
  }
  return {};
}

std::string BuyerPlanner::policy_problem(Channel c, const SegmentRule& seg, int step,
                                         const std::vector<const Order*>& open, const std::vector<std::string>& ids,
                                         LocalTime t) const {
  // One per thread, its strings assigned again for each slot judged: their memory is reused.
  thread_local Outgoing r;
  r.buyer = buyer_;
  r.shop = shop_.shop;
  r.order_ids = ids;
  r.channel = c;
  r.step = step;
  r.segment = seg.name;
  r.send_at = t;
  if (std::string why = send_time_problem(rules_, r, t); !why.empty()) return why;
  if (std::string why = cap_problem(rules_, contacts_, r, t); !why.empty()) return why;
  for (const Order* o : open) {
    if (std::string why = payable_problem(o->id, order_view(*o, rules_), t); !why.empty()) return why;
  }
  return {};
}

std::optional<LocalTime> BuyerPlanner::find_slot(LocalTime earliest, const std::vector<DailyWindow>& channel_windows,
                                                 const std::vector<DailyWindow>& step_windows,
                                                 std::string* note) const {
  const auto& intervals = cache_.allowed(channel_windows, step_windows);
  earliest = ceil_minute(earliest);
  const LocalTime first_day = start_of_day(earliest);
  for (int d = 0; d < 8; ++d) {
    const LocalTime day = first_day + days{d};
    if (contacts_on_day(day) >= caps_.max_per_buyer_per_day) {
      if (note->empty()) {
        *note = format_text(FMT_COMPILE("{} already has {} contacts on {} (cap {} a day)"), buyer_,
                            contacts_on_day(day), format_local_date(day), caps_.max_per_buyer_per_day);
      }
      continue;
    }
    for (const auto& [s, e] : intervals) {
      LocalTime t = std::max(earliest, day + Minutes{s});
      // Keep the minimum gap to every contact, also to one planned later for another sequence.
      for (bool moved = true; moved && t < day + Minutes{e};) {
        moved = false;
        for (const auto& c : contacts_) {
          if (t > c.at - caps_.min_gap && t < c.at + caps_.min_gap) {
            t = c.at + caps_.min_gap;
            moved = true;
          }
        }
      }
      if (t < day + Minutes{e}) return t;
    }
  }
  return std::nullopt;
}

void BuyerPlanner::run() {
  std::sort(orders_.begin(), orders_.end(), [](const Order* a, const Order* b) {
    return a->created_at < b->created_at || (a->created_at == b->created_at && a->id < b->id);
  });
  bool first = true;
  for (const OrderType kind : {OrderType::flash_sale, OrderType::presale, OrderType::normal}) {
    const bool any = std::any_of(orders_.begin(), orders_.end(),
                                 [&](const Order* o) { return o->status == OrderStatus::unpaid && o->type == kind; });
    if (!any && !(first && kind == OrderType::normal)) continue;
    run_group(kind, first);
    first = false;
  }
}

void BuyerPlanner::run_group(OrderType kind, bool report_done) {
  const LocalTime now = req_.now;
  other_sequences_.insert(other_sequences_.end(), this_sequence_.begin(), this_sequence_.end());
  this_sequence_.clear();

  // 1. Which orders are still open and unpaid; a reason for every other one.
  std::vector<const Order*> open;
  const Order* recent_payment = nullptr;
  int closed_unpaid = 0;
  LocalTime close_at = LocalTime::max();
  for (const Order* o : orders_) {
    if (o->status == OrderStatus::paid) {
      if (report_done) {
        out_.skipped.push_back(
            {o->id, buyer_, shop_.shop,
             o->paid_at ? format_text(FMT_COMPILE("paid at {}"), format_local_hm(*o->paid_at)) : "paid"});
      }
      if (o->paid_at && *o->paid_at <= now && now - *o->paid_at < caps_.skip_if_paid_within &&
          (!recent_payment || *o->paid_at > *recent_payment->paid_at)) {
        recent_payment = o;
      }
      continue;
    }
    if (o->status == OrderStatus::closed) {
      if (report_done) out_.skipped.push_back({o->id, buyer_, shop_.shop, "closed"});
      if (!o->paid_at) ++closed_unpaid;  // closed after payment is a refund, not 拍下不买
      continue;
    }
    if (o->type != kind) continue;  // another sequence of this buyer
    const LocalTime closes = closes_at(*o);
    if (closes <= now) {
      std::string why;
      if (!o->closed_at && o->type == OrderType::presale && o->balance_ends) {
        why = format_text(FMT_COMPILE("balance (尾款) window ended at {} unpaid"), format_local_hm(closes));
      } else if (!o->closed_at && o->type == OrderType::flash_sale) {
        why = format_text(FMT_COMPILE("flash sale closed at {} ({} after the order)"), format_local_hm(closes),
                          describe_delay(rules_.flash_sale_close));
      } else {
        why = format_text(FMT_COMPILE("auto-closed at {} ({} after the order)"), format_local_hm(closes),
                          o->closed_at ? "feed close time" : describe_delay(rules_.auto_close));
      }
      out_.skipped.push_back({o->id, buyer_, shop_.shop, std::move(why)});
      continue;
    }
    close_at = std::min(close_at, closes);
    open.push_back(o);
  }
  if (open.empty()) return;
  if (recent_payment) {
    skip_all(open, format_text(FMT_COMPILE("buyer paid order {} at {}, within the last {}"), recent_payment->id,
                               format_local_hm(*recent_payment->paid_at), describe_delay(caps_.skip_if_paid_within)));
    return;
  }
  // The buyer said they will not buy, asked to cancel or complains: those orders are left
  // alone (the buyer's other orders are still reminded).
  const std::vector<ChatMessage>& chat = req_.chat ? req_.chat->of(open.front()->buyer) : kNoChat;
  {
    std::vector<const Order*> go_on;
    for (const Order* o : open) {
      if (std::string refused = refused_on_call(contacts_, o->id, now); !refused.empty()) {
        out_.skipped.push_back({o->id, buyer_, shop_.shop, std::move(refused)});
        continue;
      }
      const StopFinding stop = find_stop(rules_, *o, open, chat, now, &cache_.keywords());
      if (!stop.rule) {
        go_on.push_back(o);
        continue;
      }
      out_.skipped.push_back({o->id, buyer_, shop_.shop,
                              format_text(FMT_COMPILE("stop {} ({}): {}; not reminded"), stop.rule->name,
                                          cache_.source_text(stop.rule->source), stop.words.describe())});
    }
    if (go_on.empty()) return;
    if (go_on.size() != open.size()) {
      open = std::move(go_on);
      close_at = LocalTime::max();
      for (const Order* o : open) close_at = std::min(close_at, closes_at(*o));
    }
  }
  if (in_holdout(rules_, shop_.shop, buyer_)) {
    skip_all(open, format_text(FMT_COMPILE("holdout: buyer is in the {}% never reminded, to measure lift"),
                               shop_.holdout_percent));
    return;
  }

  // An order reminded max_per_order times gets no more; the buyer's other unpaid orders are
  // still reminded, combined among themselves.
  std::vector<const Order*> remindable;
  for (const Order* o : open) {
    const auto n = std::count_if(contacts_.begin(), contacts_.end(), [&](const ContactRecord& c) {
      return std::find(c.order_ids.begin(), c.order_ids.end(), o->id) != c.order_ids.end();
    });
    if (n >= caps_.max_per_order) {
      out_.skipped.push_back(
          {o->id, buyer_, shop_.shop,
           format_text(FMT_COMPILE("reminded {} times already (cap {} per order)"), n, caps_.max_per_order)});
    } else {
      remindable.push_back(o);
    }
  }
  if (remindable.empty()) return;
  if (remindable.size() != open.size()) {
    open = std::move(remindable);
    close_at = LocalTime::max();
    for (const Order* o : open) close_at = std::min(close_at, closes_at(*o));
  }

  // 2. Who the buyer is and why they have not paid.
  const SegmentMatch match = classify(rules_, open, closed_unpaid, req_.addresses, req_.explain);
  if (!match.rule) {
    skip_all(open, "no segment matches (the rules have no catch-all)");
    return;
  }
  const SegmentRule& seg = *match.rule;
  // The words' quote is for why lines only.
  const ReasonFinding found = detect_reason(rules_, open, chat, now, &cache_.keywords(), req_.explain);
  const std::string reason = found.rule ? found.rule->name : std::string{};
  // A person of the shop answered in the chat just now: no IM on top of that conversation.
  const std::optional<LocalTime> answered = last_shop_answer(open, chat, now);

  std::vector<std::string> ids;
  Money amount = 0;
  for (const Order* o : open) {
    ids.push_back(o->id);
    amount += o->amount;
  }
  const Order& lead = *open.front();
  const Order& newest = *open.back();
  // How to reach the buyer: the newest open order that gives a phone number (an e-mail
  // address), so a combined reminder neither misses a number nor goes out without one.
  const std::string* reach_phone = &newest.phone;
  const std::string* reach_email = &newest.email;
  for (auto it = open.rbegin(); it != open.rend(); ++it) {
    if (!trimmed((*it)->phone).empty()) {
      reach_phone = &(*it)->phone;
      break;
    }
  }
  for (auto it = open.rbegin(); it != open.rend(); ++it) {
    if (!trimmed((*it)->email).empty()) {
      reach_email = &(*it)->email;
      break;
    }
  }
  const auto covers_group = [&](const ContactRecord& c) {
    return std::any_of(c.order_ids.begin(), c.order_ids.end(),
                       [&](const std::string& id) { return std::find(ids.begin(), ids.end(), id) != ids.end(); });
  };
  // Reminders already made for these orders, and the step to go on from (a step left out
  // earlier leaves a gap, so the step numbers of the contacts count, not just their number).
  int done = 0;
  int next_step = 0;
  for (const auto& c : contacts_) {
    if (!covers_group(c)) continue;
    ++done;
    next_step = std::max(next_step + 1, c.step);
  }

  // What the call desk recorded of a call about these orders (core/call_follow_up.h).
  const auto call = follow_up_after_call(rules_.calls, contacts_, ids, now);
  const std::size_t planned_before = out_.reminders.size();
  // At most one reminder a step: no reminder moved again as the list grows.
  out_.reminders.reserve(planned_before + seg.steps.size() -
                         std::min(seg.steps.size(), static_cast<std::size_t>(next_step)));
  std::string stop_reason;
  std::vector<std::string> carried;        // notes about skipped steps, shown on the next reminder
  std::optional<MessageFields> fields;     // all but the step's own facts, once the first step renders
  const ItemCategory* category = nullptr;  // set with `fields`
  for (std::size_t i = static_cast<std::size_t>(next_step); i < seg.steps.size(); ++i) {
    if (done >= caps_.max_per_order) {
      stop_reason = format_text(FMT_COMPILE("reminded {} times already (cap {} per order)"), done, caps_.max_per_order);
      break;
    }
    const ReminderStep& step = seg.steps[i];
    // Pre-sale steps count from the balance window's opening; a before_close step from the close.
    LocalTime anchor = LocalTime::max();
    for (const Order* o : open) anchor = std::min(anchor, reminders_from(*o));
    const LocalTime due = step.before_close ? close_at - *step.before_close : anchor + step.delay;
    LocalTime earliest = std::max(due, now);
    std::string gap_note;
    if (const ContactRecord* previous = last_own_contact(); previous && previous->at + caps_.min_gap > earliest) {
      earliest = previous->at + caps_.min_gap;
      gap_note = format_text(FMT_COMPILE("{} after the previous contact at {} (min gap)"),
                             describe_delay(caps_.min_gap), short_time(previous->at));
    }
    if (call) earliest = std::max(earliest, call->not_before);

    // The step's channel, or its fallback when the channel cannot reach the buyer or has
    // no allowed time before the order auto-closes.
    const std::array<Channel, 2> both = {step.channel, step.fallback.value_or(step.channel)};
    const std::span<const Channel> candidates(both.data(), step.fallback ? 2 : 1);
    Channel channel = step.channel;
    std::string channel_note, cap_note, why_not_all, hold_note;
    std::optional<LocalTime> slot;
    LocalTime slot_earliest = earliest;
    static const std::vector<DailyWindow> kNone;
    const std::vector<DailyWindow>* step_windows = &kNone;
    for (const Channel c : candidates) {
      if (std::string why_not = unusable(c, *reach_phone, *reach_email, earliest, covers_group); !why_not.empty()) {
        why_not_all += (why_not_all.empty() ? "" : "; ") + why_not;
        continue;
      }
      // A fallback channel keeps to its own windows; the step's windows are for its channel.
      const auto* sw = &cuifu::step_windows(&seg, static_cast<int>(i) + 1, c);
      LocalTime from_time = earliest;
      std::string hold;
      if (c == Channel::im && answered && *answered + rules_.chat.recently_answered > earliest) {
        from_time = *answered + rules_.chat.recently_answered;
        hold = format_text(
            FMT_COMPILE(
                "im waits until {}: the shop answered the buyer in the chat at {} (chat.recently_answered {}, {})"),
            short_time(from_time), short_time(*answered), describe_delay(rules_.chat.recently_answered),
            rules_.chat.recently_answered_source.str());
      }
      std::string note;
      const auto s = find_slot(from_time, rules_.channel(c)->windows, *sw, &note);
      if (!s) {
        why_not_all += (why_not_all.empty() ? "" : "; ") +
                       format_text(FMT_COMPILE("no allowed {} time within a week"), to_string(c));
        continue;
      }
      if (*s >= close_at) {
        why_not_all += (why_not_all.empty() ? "" : "; ") +
                       format_text(FMT_COMPILE("next allowed {} time {} is after the order auto-closes at {}"),
                                   to_string(c), short_time(*s), short_time(close_at));
        continue;
      }
      if (std::string why_not = repeat_problem(c, *s, covers_group); !why_not.empty()) {
        why_not_all += (why_not_all.empty() ? "" : "; ") + why_not;
        continue;
      }
      // The daemon's gate judges every send by core/send_policy; a slot it would refuse is
      // never planned, so a preview cannot promise what the daemon will not send.
      if (std::string why_not = policy_problem(c, seg, static_cast<int>(i) + 1, open, ids, *s); !why_not.empty()) {
        why_not_all += (why_not_all.empty() ? "" : "; ") + format_text(FMT_COMPILE("send policy: {}"), why_not);
        continue;
      }
      if (c != step.channel)
        channel_note =
            format_text(FMT_COMPILE("{} instead of {}: {}"), to_string(c), to_string(step.channel), why_not_all);
      channel = c;
      slot = s;
      slot_earliest = from_time;
      hold_note = hold;
      cap_note = note;
      step_windows = sw;
      break;
    }
    if (!slot) {
      carried.push_back(
          format_text(FMT_COMPILE("step {} ({}) left out: {}"), i + 1, to_string(step.channel), why_not_all));
      continue;
    }
    // An SMS is signed with the shop's signature, never another's: only then is the channel's
    // rule copied to carry it.
    const ChannelRule& rule = *rules_.channel(channel);
    std::optional<ChannelRule> signed_sms;
    if (channel == Channel::sms) {
      signed_sms.emplace(rule);
      signed_sms->sms_signature = shop_.sms_signature;
    }
    const ChannelRule& ch = signed_sms ? *signed_sms : rule;
    if (*slot >= req_.to) break;  // beyond this plan's horizon

    // 3. Render the message.
    const MessageTemplate* tpl = templates_.find(channel, step.template_name, reason);
    if (!tpl) {
      carried.push_back(format_text(FMT_COMPILE("step {} left out: no {} template '{}'"), i + 1, to_string(channel),
                                    step.template_name));
      continue;
    }
    // The message, when it is wanted (texts or why lines) or must be seen to fit (an SMS).
    std::optional<RenderedMessage> msg;
    std::string greeting_note;
    // Past req_.bare_from the reminder comes without texts and why lines.
    const bool bare = *slot >= req_.bare_from;
    const bool texts = req_.texts && !bare;
    const bool explain = req_.explain && !bare;
    if (texts || explain || channel == Channel::sms) {
      // What a message says of the buyer, the orders and the item is the same for every step of
      // the sequence: worked out for its first message only.
      if (!fields) {
        fields.emplace();
        MessageFields& g = *fields;
        g.name = clean_receiver_name(newest.receiver_name);
        g.salutation = salutation_for(newest, g.name, seg, rules_.names);
        g.nickname = buyer_;
        // A person names the item in a few words: the shop's short name, or the tidied title cut
        // at a word boundary (an SMS may cut it shorter still).
        g.item = shorten_title(item_display_name(lead, rules_.item_short_names), kMessageItemChars, 4);
        g.amount = format_money(amount);
        g.order_count = std::to_string(open.size());
        g.order_ids = format_text(FMT_COMPILE("{}"), fmt::join(ids, "、"));
        g.shop = shop_.display_name;
        g.pay_by = pay_by_text(close_at);
        if (lead.stock && rules_.facts.low_stock_at > 0 && *lead.stock > 0 &&
            *lead.stock <= rules_.facts.low_stock_at) {
          g.low_stock = format_text(FMT_COMPILE("仅剩{}件"), *lead.stock);
        }
        g.shipping = rules_.facts.shipping;
        category = cache_.item_categories().find(lead.item);  // item_category(lead.item, …), read once
        if (category) g.delivery = category->delivery;
      }
      // The step's own fields are set on the buyer's fields for this step and put back after
      // it (a copy of all of them per step cost more than the message).
      MessageFields& f = *fields;
      struct StepFields {
        MessageFields& f;
        std::string salutation;  // the buyer's, while an SMS greets without it
        bool greets_without = false;
        ~StepFields() {
          f.promotion_ends.clear();
          if (greets_without) f.salutation = std::move(salutation);
        }
      } step_fields{f, {}, false};
      // Facts a message may state, only when the rules or the feed know them.
      if (rules_.facts.promotion_ends && *rules_.facts.promotion_ends > *slot) {
        f.promotion_ends = pay_by_text(*rules_.facts.promotion_ends);
      }
      if (channel == Channel::sms && char_count(f.salutation) > kSmsNameWithin - 3) {
        // The name must end within the first characters of an SMS; a long nickname or Latin
        // name would push it out, so the SMS greets without it.
        greeting_note =
            format_text(FMT_COMPILE("SMS greets without the name: '{}' is too long for its first {} characters"),
                        f.salutation, kSmsNameWithin);
        step_fields.salutation = std::move(f.salutation);
        step_fields.greets_without = true;
        f.salutation.clear();
      }
      // Without texts or why lines only whether it fits matters: counted, not made.
      const bool fits = texts || explain ? (msg = render(*tpl, f, &ch)).has_value() : renders(*tpl, f, &ch);
      if (!fits) {
        carried.push_back(format_text(FMT_COMPILE("step {} left out: message does not fit one SMS"), i + 1));
        continue;
      }
    }

    PlannedReminder r;
    r.send_at = *slot;
    r.shop = shop_.shop;
    r.buyer = buyer_;
    r.order_ids = ids;
    r.segment = seg.name;
    r.channel = channel;
    r.step = static_cast<int>(i) + 1;
    r.template_name = tpl->name;
    if (texts) {
      r.subject = std::move(msg->subject);
      r.message = std::move(msg->text);
      r.contact = channel == Channel::email ? *reach_email : (channel == Channel::im ? std::string{} : *reach_phone);
      r.receiver_name = newest.receiver_name;
    }
    r.amount = amount;
    r.cost_milli = ch.cost_milli;
    r.pay_by = close_at;
    if (explain) {
      r.why.push_back(
          format_text(FMT_COMPILE("segment {} ({}): {}"), seg.name, cache_.source_text(seg.source), match.because));
      if (shop_.rule)
        r.why.push_back(format_text(FMT_COMPILE("shop {}: its own settings ({})"), shop_.shop,
                                    cache_.source_text(shop_.rule->source)));
      if (found.rule) {
        r.why.push_back(format_text(FMT_COMPILE("reason {} ({}): {} (keyword {})"), reason,
                                    cache_.source_text(found.rule->source), found.words.describe(),
                                    found.words.keyword));
        const bool variant = tpl->name != step.template_name;
        r.why.push_back(variant ? format_text(FMT_COMPILE("template {}: the variant for reason {}"), tpl->name, reason)
                                : format_text(FMT_COMPILE("template {}: no {} variant {}.{}, the base template"),
                                              tpl->name, to_string(channel), step.template_name, reason));
      }
      if (open.size() > 1) {
        r.why.push_back(
            format_text(FMT_COMPILE("combines {} unpaid orders of this buyer: {}"), open.size(), fields->order_ids));
      }
      const std::string timing =
          step.before_close
              ? format_text(FMT_COMPILE("{} before the order closes"), describe_delay(*step.before_close))
              : format_text(FMT_COMPILE("{} after {}"), describe_delay(step.delay),
                            kind == OrderType::presale && lead.balance_starts ? "the balance (尾款) window opened"
                                                                              : "the order");
      r.why.push_back(format_text(FMT_COMPILE("step {} of {}: {} {} ({}), due {}"), i + 1, seg.steps.size(),
                                  to_string(step.channel), timing, cache_.source_text(step.source), short_time(due)));
      if (!channel_note.empty()) r.why.push_back(channel_note);
      if (!greeting_note.empty()) r.why.push_back(greeting_note);
      if (category && !category->delivery.empty() && tpl->body.uses("delivery")) {
        r.why.push_back(format_text(FMT_COMPILE("says {}: item is {} ({})"), category->delivery, category->name,
                                    category->source.str()));
      }
      if (!fields->low_stock.empty() && tpl->body.uses("low_stock")) {
        r.why.push_back(format_text(FMT_COMPILE("says {}: the feed's stock is {} (facts.low_stock_at {})"),
                                    fields->low_stock, *lead.stock, rules_.facts.low_stock_at));
      }
      for (auto& c : carried) r.why.push_back(std::move(c));
      if (call) r.why.push_back(call->why);
      if (!gap_note.empty()) r.why.push_back(gap_note);
      if (!hold_note.empty()) r.why.push_back(hold_note);
      if (!cap_note.empty()) r.why.push_back(cap_note);
      if (*slot != ceil_minute(slot_earliest)) {
        // `windows` may be the signed SMS rule's copy: the text is looked up by the rules' own list.
        const std::vector<DailyWindow>& listed = step_windows->empty() ? rule.windows : *step_windows;
        r.why.push_back(format_text(FMT_COMPILE("moved to {}: first allowed {} time ({}, quiet hours {})"),
                                    short_time(*slot), to_string(channel), cache_.windows_text(listed),
                                    cache_.quiet_hours_text()));
      } else {
        r.why.push_back(format_text(FMT_COMPILE("sent at {}: inside the allowed {} window"), short_time(*slot),
                                    to_string(channel)));
      }
      r.why.push_back(format_text(FMT_COMPILE("pay-by {} ({})"), short_time(close_at),
                                  kind == OrderType::presale && lead.balance_ends ? "end of the balance (尾款) window"
                                  : kind == OrderType::flash_sale                 ? "flash sale closes"
                                                                                  : "auto-close"));
    }
    carried.clear();

    const auto pos = std::upper_bound(contacts_.begin(), contacts_.end(), *slot,
                                      [](LocalTime t, const ContactRecord& c) { return t < c.at; });
    contacts_.insert(pos, {buyer_, channel, *slot, ids, static_cast<int>(i) + 1, shop_.shop});
    this_sequence_.emplace_back(*slot, channel);
    ++done;
    if (*slot >= req_.from) out_.reminders.push_back(std::move(r));
  }
  if (out_.reminders.size() == planned_before) {
    // Nothing in this plan's window: say why for each order.
    std::string why = stop_reason;
    if (why.empty() && next_step >= static_cast<int>(seg.steps.size())) {
      why = format_text(FMT_COMPILE("all {} steps of segment {} done"), seg.steps.size(), seg.name);
    }
    if (why.empty() && !carried.empty()) why = carried.back();
    if (why.empty())
      why = format_text(FMT_COMPILE("next reminder falls outside this plan's window (segment {})"), seg.name);
    if (call && call->not_before > now) why = call->why + "; " + why;
    skip_all(open, why);
  }
}

// Fewer orders than this per thread are planned on the calling thread alone (the backtest
// calls plan() for a single buyer many times; a thread would cost more than it saves).
constexpr std::size_t kOrdersPerThread = 4096;

// How many buyers ahead plan_into asks for the orders' memory (a hint only: nothing changes).
constexpr std::size_t kPrefetchGroups = 8;

// A moment at which a buyer's plan changes by itself, and why.
struct PlanChange {
  LocalTime at{};
  std::string why;
};

// The first moment in (after, to) at which a buyer's plan changes with no new snapshot and no
// contact: an order of a combined group closes while another of its kind stays open (the rest
// go on as a smaller group, timed from their own orders), or a payment leaves the "paid within"
// window (the skip it caused expires). nullopt when there is none.
std::optional<PlanChange> next_change(const std::vector<const Order*>& orders, const Rules& rules, const Caps& caps,
                                      LocalTime after, LocalTime to) {
  std::optional<PlanChange> first;
  const auto consider = [&](LocalTime t, const auto& why) {
    if (t > after && t < to && (!first || t < first->at)) first = PlanChange{t, why()};
  };
  LocalTime last_open = LocalTime::min();  // when the last still-open order closes
  for (const Order* o : orders) {
    if (o->status == OrderStatus::unpaid) last_open = std::max(last_open, closes_at(*o, rules));
  }
  for (const Order* o : orders) {
    if (o->status == OrderStatus::paid && o->paid_at && *o->paid_at <= after) {
      const LocalTime expires = *o->paid_at + caps.skip_if_paid_within;
      if (last_open > expires) {
        consider(expires, [&] {
          return format_text(
              FMT_COMPILE("not before {}: the buyer paid order {} at {} (no reminder within {} of a payment)"),
              short_time(expires), o->id, short_time(*o->paid_at), describe_delay(caps.skip_if_paid_within));
        });
      }
    }
    if (o->status != OrderStatus::unpaid) continue;
    const LocalTime closes = closes_at(*o, rules);
    const bool others_stay = std::any_of(orders.begin(), orders.end(), [&](const Order* p) {
      return p != o && p->status == OrderStatus::unpaid && p->type == o->type && closes_at(*p, rules) > closes;
    });
    if (others_stay) {
      consider(closes, [&] {
        return format_text(
            FMT_COMPILE("planned as of {}, when order {} closes: the buyer's other orders go on without it"),
            short_time(closes), o->id);
      });
    }
  }
  return first;
}

// Plans one buyer as the daemon will treat them: it re-plans every minute, and within this
// plan's window a buyer's plan changes by itself at next_change(). So the buyer is planned
// from `now`, what comes before the first change is kept as sent, and the buyer is planned
// again from that moment with it; a preview lists every reminder the daemon will send when
// no order is paid in between.
void plan_buyer(const ShopSettings& shop, const std::string& buyer, const std::vector<const Order*>& orders,
                std::vector<ContactRecord> contacts, const ContactHistory& history, const Rules& rules,
                const TemplateSet& templates, const PlanRequest& request, PlanCache& cache, Plan& out) {
  std::optional<PlanChange> change = next_change(orders, rules, *shop.caps, request.now, request.to);
  if (!change) {
    BuyerPlanner(shop, buyer, orders, std::move(contacts), history, rules, templates, request, cache, out).run();
    return;
  }
  PlanRequest at = request;
  std::vector<PlannedReminder> kept;
  // Why each order is skipped: as things stand now, or, for an order the simulation reminds
  // outside this plan's window, as things stand after the last change.
  std::map<std::string, SkippedOrder> now_reasons, last_reasons;
  std::set<std::string> reminded_later;
  std::string changed;  // why this pass starts later than now
  for (bool first = true;; first = false) {
    Plan part;
    BuyerPlanner planner(shop, buyer, orders, contacts, history, rules, templates, at, cache, part);
    planner.run();
    for (auto& s : part.skipped) (first ? now_reasons : last_reasons)[s.order_id] = std::move(s);
    const LocalTime until = change ? change->at : LocalTime::max();
    for (auto& r : part.reminders) {
      if (r.send_at >= until) continue;
      if (std::string why = std::exchange(changed, {});
          !why.empty() && request.explain && r.send_at < request.bare_from)
        r.why.push_back(std::move(why));
      kept.push_back(std::move(r));
    }
    if (!change) break;
    contacts.clear();
    for (const auto& c : planner.contacts()) {
      if (c.at >= until) continue;
      if (c.at >= request.now) reminded_later.insert(c.order_ids.begin(), c.order_ids.end());
      contacts.push_back(c);
    }
    at.now = change->at;
    changed = std::move(change->why);
    change = next_change(orders, rules, *shop.caps, at.now, request.to);
  }
  // An order with a reminder in this window is not listed as skipped.
  std::set<std::string> reminded;
  for (const auto& r : kept) reminded.insert(r.order_ids.begin(), r.order_ids.end());
  for (auto& [id, s] : now_reasons) {
    if (reminded.count(id)) continue;
    const auto last = last_reasons.find(id);
    out.skipped.push_back(std::move(reminded_later.count(id) && last != last_reasons.end() ? last->second : s));
  }
  for (auto& [id, s] : last_reasons) {
    if (!reminded.count(id) && !now_reasons.count(id)) out.skipped.push_back(std::move(s));
  }
  std::move(kept.begin(), kept.end(), std::back_inserter(out.reminders));
}

}  // namespace

PlanCache::PlanCache(const Rules& rules) : rules_(&rules) {}
PlanCache::~PlanCache() = default;

const std::vector<std::pair<int, int>>& PlanCache::allowed(const std::vector<DailyWindow>& channel_windows,
                                                           const std::vector<DailyWindow>& step_windows) {
  const auto key = std::make_pair(static_cast<const void*>(&channel_windows), static_cast<const void*>(&step_windows));
  auto it = intervals_.find(key);
  if (it == intervals_.end()) {
    it = intervals_.emplace(key, allowed_minutes(rules_->quiet_hours, channel_windows, step_windows)).first;
  }
  return it->second;
}

const ShopSettings& PlanCache::shop(std::string_view shop) {
  if (last_shop_ && last_shop_->shop == shop) return *last_shop_;
  auto it = shops_.find(shop);
  if (it == shops_.end()) it = shops_.emplace(std::string(shop), rules_->for_shop(shop)).first;
  last_shop_ = &it->second;
  return *last_shop_;
}

namespace {

// "window 08:00-21:00, 22:00-23:00", or "any time outside quiet hours" for none.
std::string describe_windows(const std::vector<DailyWindow>& windows) {
  if (windows.empty()) return "any time outside quiet hours";
  std::vector<std::string> ws;
  for (const auto& w : windows) ws.push_back(w.str());
  return format_text(FMT_COMPILE("window {}"), fmt::join(ws, ", "));
}

}  // namespace

const std::string& PlanCache::quiet_hours_text() {
  if (!quiet_hours_) quiet_hours_ = rules_->quiet_hours.empty() ? "none" : rules_->quiet_hours.front().str();
  return *quiet_hours_;
}

const std::string& PlanCache::source_text(const SourceRef& source) {
  auto it = sources_.find(&source);
  if (it == sources_.end()) it = sources_.emplace(&source, source.str()).first;
  return it->second;
}

const std::string& PlanCache::windows_text(const std::vector<DailyWindow>& windows) {
  auto it = windows_.find(&windows);
  if (it == windows_.end()) it = windows_.emplace(&windows, describe_windows(windows)).first;
  return it->second;
}

const ItemCategoryIndex& PlanCache::item_categories() {
  if (!item_categories_) item_categories_ = std::make_unique<ItemCategoryIndex>(rules_->item_categories);
  return *item_categories_;
}

const KeywordIndex& PlanCache::keywords() {
  if (!keywords_) keywords_.emplace(*rules_);
  return *keywords_;
}

LocalTime closes_at(const Order& o, const Rules& rules) {
  if (o.closed_at) return *o.closed_at;
  if (o.type == OrderType::presale && o.balance_ends) return *o.balance_ends;
  if (o.type == OrderType::flash_sale) return o.created_at + rules.flash_sale_close;
  return o.created_at + rules.auto_close;
}

LocalTime reminders_from(const Order& o) {
  if (o.type == OrderType::presale && o.balance_starts) return std::max(o.created_at, *o.balance_starts);
  return o.created_at;
}

namespace {
std::vector<const Order*> pointers_to(const std::vector<Order>& orders) {
  std::vector<const Order*> out;
  out.reserve(orders.size());
  for (const auto& o : orders) out.push_back(&o);
  return out;
}
}  // namespace

void plan_into(const std::vector<Order>& orders, const ContactHistory& history, const Rules& rules,
               const TemplateSet& templates, const PlanRequest& request, PlanSink& sink) {
  plan_into(pointers_to(orders), history, rules, templates, request, sink);
}

void plan_into(const std::vector<const Order*>& orders, const ContactHistory& history, const Rules& rules,
               const TemplateSet& templates, const PlanRequest& request, PlanSink& sink) {
  // The orders are grouped by sorting pointers to them (feed order kept within a buyer): no
  // copy of a key.
  std::vector<const Order*> sorted(orders);
  std::vector<BuyerRun> runs;
  sort_by_buyer(sorted, part_count(request.threads, orders.size(), kOrdersPerThread, orders.size()), runs);
  // Buyers are independent (every cap is per buyer or per order), so contiguous runs of (shop, buyer)
  // groups are planned on several threads, each into its own Plan, and the parts are joined in group
  // order before the final sort: the result is the single-threaded one, byte for byte.
  struct Group {
    std::size_t first = 0, count = 0;                // in `sorted`
    bool new_shop = true;                            // its shop is not the group's before
    std::vector<ContactRecord>* contacts = nullptr;  // nullptr: no contact yet
  };
  std::vector<Group> groups;
  groups.reserve(runs.size());
  for (const BuyerRun& r : runs) groups.push_back({r.first, r.count, r.new_shop, nullptr});
  std::vector<BuyerRun>().swap(runs);
  const auto group_of = [&](std::string_view shop, std::string_view buyer) -> Group* {
    const auto it = std::lower_bound(groups.begin(), groups.end(), std::pair{shop, buyer},
                                     [&](const Group& g, const std::pair<std::string_view, std::string_view>& k) {
                                       const Order& o = *sorted[g.first];
                                       const int c = std::string_view(o.shop).compare(k.first);
                                       return c != 0 ? c < 0 : std::string_view(o.buyer) < k.second;
                                     });
    if (it == groups.end() || sorted[it->first]->shop != shop || sorted[it->first]->buyer != buyer) return nullptr;
    return &*it;
  };
  std::map<std::string_view, std::vector<Group*>> shops_of;  // buyer -> their groups, one per shop
  // Only a contact logged without a shop needs it: a map the size of the feed otherwise for nothing.
  if (std::any_of(history.contacts.begin(), history.contacts.end(),
                  [](const ContactRecord& c) { return c.shop.empty(); })) {
    for (auto& g : groups) shops_of[sorted[g.first]->buyer].push_back(&g);
  }
  std::map<Group*, std::vector<ContactRecord>> contacts;
  for (const auto& c : history.contacts) {
    if (c.at > request.now) continue;
    if (c.shop.empty()) {
      // Logged without a shop (before shops were kept apart): it counts in every shop of the
      // buyer, so an upgrade never resets anybody's caps.
      if (const auto it = shops_of.find(c.buyer); it != shops_of.end()) {
        for (Group* g : it->second) contacts[g].push_back(c);
      }
    } else if (Group* g = group_of(c.shop, c.buyer)) {
      contacts[g].push_back(c);
    }
  }
  for (auto& [g, list] : contacts) g->contacts = &list;
  // Each run keeps its own caches: nothing mutable is shared between threads (the caller's
  // address readings serve a plan on one thread only).
  const std::size_t parts = part_count(request.threads, orders.size(), kOrdersPerThread, groups.size());
  PlanRequest each = request;
  if (parts > 1) each.addresses = nullptr;
  PlanCache* const kept = parts == 1 && request.cache && &request.cache->rules() == &rules ? request.cache : nullptr;
  const auto plan_groups = [&](std::size_t first, std::size_t last, std::size_t part) {
    Plan out;
    std::optional<PlanCache> own;
    PlanCache& cache = kept ? *kept : own.emplace(rules);
    const ShopSettings* settings = nullptr;
    std::vector<const Order*> list;
    for (std::size_t g = first; g < last; ++g) {
      // The sorted orders lie all over memory: the next buyers' are fetched while this one is planned.
      if (g + kPrefetchGroups < last) prefetch_order(sorted[groups[g + kPrefetchGroups].first]);
      if (g + kPrefetchGroups / 2 < last) prefetch_strings(sorted[groups[g + kPrefetchGroups / 2].first]);
      list.assign(sorted.begin() + static_cast<std::ptrdiff_t>(groups[g].first),
                  sorted.begin() + static_cast<std::ptrdiff_t>(groups[g].first + groups[g].count));
      const Order& lead = *list.front();
      if (!settings || groups[g].new_shop) settings = &cache.shop(lead.shop);
      std::vector<ContactRecord> none;
      auto& cs = groups[g].contacts ? *groups[g].contacts : none;
      std::sort(cs.begin(), cs.end(), [](const ContactRecord& a, const ContactRecord& b) { return a.at < b.at; });
      plan_buyer(*settings, lead.buyer, list, std::move(cs), history, rules, templates, each, cache, out);
      sink.add(part, out);
      out.reminders.clear();
      out.skipped.clear();
    }
  };
  std::vector<std::size_t> weights;
  weights.reserve(groups.size());
  for (const auto& g : groups) weights.push_back(g.count);
  sink.start(parts);
  run_in_parts(weights, parts, plan_groups);
}

Plan plan(const std::vector<Order>& orders, const ContactHistory& history, const Rules& rules,
          const TemplateSet& templates, const PlanRequest& request) {
  return plan(pointers_to(orders), history, rules, templates, request);
}

namespace {

// True when every order is of the first one's (shop, buyer).
bool one_buyer(const std::vector<const Order*>& orders) {
  if (orders.empty()) return false;
  const Order& lead = *orders.front();
  return std::all_of(orders.begin() + 1, orders.end(),
                     [&](const Order* o) { return o->buyer == lead.buyer && o->shop == lead.shop; });
}

// plan() of a single buyer's orders (REQUIRES: one_buyer(orders)), without plan_into()'s
// grouping: the contacts plan_into() would give the buyer's group (those up to now of the buyer
// in its shop or logged without a shop), sorted the same way, the same plan_buyer() call, and
// the sorts plan() makes of a single part. The backtest plans one buyer per call, at every event.
Plan plan_one_buyer(const std::vector<const Order*>& orders, const ContactHistory& history, const Rules& rules,
                    const TemplateSet& templates, const PlanRequest& request) {
  const Order& lead = *orders.front();
  std::vector<ContactRecord> contacts;
  for (const auto& c : history.contacts) {
    if (c.at > request.now || c.buyer != lead.buyer) continue;
    if (c.shop.empty() || c.shop == lead.shop) contacts.push_back(c);
  }
  std::sort(contacts.begin(), contacts.end(),
            [](const ContactRecord& a, const ContactRecord& b) { return a.at < b.at; });
  std::optional<PlanCache> own;
  PlanCache& cache = request.cache && &request.cache->rules() == &rules ? *request.cache : own.emplace(rules);
  Plan out;
  plan_buyer(cache.shop(lead.shop), lead.buyer, orders, std::move(contacts), history, rules, templates, request, cache,
             out);
  // One buyer: plan()'s order of reminders (send_at, buyer, shop; ties in the order made) is by send_at.
  const auto by_time = [](const PlannedReminder& x, const PlannedReminder& y) { return x.send_at < y.send_at; };
  if (!std::is_sorted(out.reminders.begin(), out.reminders.end(), by_time)) {
    std::stable_sort(out.reminders.begin(), out.reminders.end(), by_time);
  }
  const auto order_id_less = [](const SkippedOrder& a, const SkippedOrder& b) { return a.order_id < b.order_id; };
  if (std::adjacent_find(out.skipped.begin(), out.skipped.end(), [&](const SkippedOrder& a, const SkippedOrder& b) {
        return !order_id_less(a, b);
      }) != out.skipped.end()) {
    std::sort(out.skipped.begin(), out.skipped.end(), order_id_less);
  }
  return out;
}

}  // namespace

Plan plan(const std::vector<const Order*>& orders, const ContactHistory& history, const Rules& rules,
          const TemplateSet& templates, const PlanRequest& request) {
  if (one_buyer(orders)) return plan_one_buyer(orders, history, rules, templates, request);
  struct Collect : PlanSink {
    std::vector<Plan> parts;
    void start(std::size_t n) override { parts.resize(n); }
    void add(std::size_t part, Plan& buyer) override {
      Plan& p = parts[part];
      // The first buyer's lists are taken whole (the backtest plans one buyer per call).
      if (p.reminders.empty()) {
        p.reminders.swap(buyer.reminders);
      } else {
        std::move(buyer.reminders.begin(), buyer.reminders.end(), std::back_inserter(p.reminders));
      }
      if (p.skipped.empty()) {
        p.skipped.swap(buyer.skipped);
      } else {
        std::move(buyer.skipped.begin(), buyer.skipped.end(), std::back_inserter(p.skipped));
      }
    }
  } collect;
  plan_into(orders, history, rules, templates, request, collect);
  auto& parts = collect.parts;
  const auto reminder_less = [](const PlannedReminder& x, const PlannedReminder& y) {
    if (x.send_at != y.send_at) return x.send_at < y.send_at;
    return x.buyer != y.buyer ? x.buyer < y.buyer : x.shop < y.shop;
  };
  const auto order_id_less = [](const SkippedOrder& a, const SkippedOrder& b) { return a.order_id < b.order_id; };
  // One part already in order (a single buyer, as the backtest plans): the sorts below would
  // leave it as it is (the reminders' sort is stable; the skipped orders' is not, so their ids
  // must be strictly increasing), so it is taken as it is.
  if (parts.size() == 1 && std::is_sorted(parts[0].reminders.begin(), parts[0].reminders.end(), reminder_less) &&
      std::adjacent_find(parts[0].skipped.begin(), parts[0].skipped.end(),
                         [&](const SkippedOrder& a, const SkippedOrder& b) { return !order_id_less(a, b); }) ==
          parts[0].skipped.end()) {
    return std::move(parts[0]);
  }
  // The parts' reminders are ordered through small references and then each moved once into
  // place: sorting the reminders themselves would move each of them some twenty times.
  struct Ref {
    LocalTime send_at;
    std::uint32_t part, index;
  };
  std::vector<Ref> refs;
  std::size_t skipped = 0;
  for (std::size_t p = 0; p < parts.size(); ++p) {
    for (std::size_t i = 0; i < parts[p].reminders.size(); ++i) {
      refs.push_back({parts[p].reminders[i].send_at, static_cast<std::uint32_t>(p), static_cast<std::uint32_t>(i)});
    }
    skipped += parts[p].skipped.size();
  }
  std::stable_sort(refs.begin(), refs.end(), [&](const Ref& a, const Ref& b) {
    return reminder_less(parts[a.part].reminders[a.index], parts[b.part].reminders[b.index]);
  });
  Plan out;
  out.reminders.reserve(refs.size());  // one allocation, not a doubling with both copies alive
  for (const Ref& r : refs) out.reminders.push_back(std::move(parts[r.part].reminders[r.index]));
  out.skipped.reserve(skipped);
  for (auto& part : parts) {
    std::vector<PlannedReminder>().swap(part.reminders);
    std::move(part.skipped.begin(), part.skipped.end(), std::back_inserter(out.skipped));
    std::vector<SkippedOrder>().swap(part.skipped);
  }
  std::sort(out.skipped.begin(), out.skipped.end(), order_id_less);
  return out;
}

}  // namespace cuifu
