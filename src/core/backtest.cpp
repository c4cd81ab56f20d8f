#include "core/backtest.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <mutex>
#include <span>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "core/block_list.h"
#include "core/parallel.h"

namespace cuifu {

namespace {

using std::chrono::days;
using std::chrono::hours;

// A buyer: (shop, buyer).
using BuyerKey = std::pair<std::string_view, std::string_view>;
struct BuyerKeyHash {
  std::size_t operator()(const BuyerKey& k) const {
    const std::size_t h = std::hash<std::string_view>{}(k.first);
    return h ^ (std::hash<std::string_view>{}(k.second) + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2));
  }
};

// One order of the log with its payment and close made explicit.
struct Timeline {
  const Order* order = nullptr;
  std::optional<LocalTime> paid;
  std::optional<LocalTime> closed;  // unpaid close only

  bool paid_by(LocalTime t) const { return paid && *paid <= t; }
  bool closed_by(LocalTime t) const { return closed && *closed <= t; }
};

// `log_end`: the latest time the log records. An unpaid order whose auto-close falls after
// it is still open at the end (the log cannot say what became of it).
Timeline timeline_of(const Order& o, const Rules& rules, LocalTime log_end) {
  Timeline t{&o, {}, {}};
  if (o.status == OrderStatus::paid || o.paid_at) {
    // A payment time before the order (clock skew in an export) is read as "at once".
    t.paid = o.paid_at ? std::max(*o.paid_at, o.created_at) : o.created_at;
    return t;
  }
  if (o.closed_at) {
    t.closed = std::max(*o.closed_at, o.created_at);
  } else if (closes_at(o, rules) <= log_end) {
    t.closed = closes_at(o, rules);  // pre-sale: end of the balance window; flash sale: minutes after
  } else if (o.status == OrderStatus::closed) {
    t.closed = std::max(log_end, o.created_at);  // closed by the time the log was written
  }
  return t;
}

LocalTime latest_time(const Order& o) {
  LocalTime t = o.created_at;
  if (o.paid_at) t = std::max(t, *o.paid_at);
  if (o.closed_at) t = std::max(t, *o.closed_at);
  return t;
}

// Sets `o` (a copy of t.order) to what a feed read at `now` would have shown: future payments
// and closes unknown.
void show_as_of(Order& o, const Timeline& t, LocalTime now) {
  o.paid_at.reset();
  o.closed_at.reset();
  o.status = OrderStatus::unpaid;
  if (t.paid_by(now)) {
    o.status = OrderStatus::paid;
    o.paid_at = t.paid;
  } else if (t.closed_by(now)) {
    o.status = OrderStatus::closed;
    o.closed_at = t.closed;
  }
}

// Checks of buyers one at a time: the counts of each kind, the details of every buyer with a
// violation (listed by (shop, buyer) once all are checked), and how many reminders each buyer
// reminded got.
struct CheckTally {
  Violations counts;  // its details stay empty: they are in `details`
  std::vector<std::pair<BuyerKey, std::vector<std::string>>> details;
  std::vector<int> reminders_per_buyer;
};

// What one run of buyers produced; runs are joined in buyer order.
struct ReplayPart {
  BlockList<PlannedReminder> sent;
  BlockList<OrderOutcome> orders;
  int avoided = 0;
  int plan_calls = 0;
  bool keep_texts = true;  // BacktestConfig::keep_texts
  CheckTally checks;       // of the buyers replayed into this part
  // The orders a buyer replay shows the planner, kept from one buyer to the next: a copy
  // assigned over the previous buyer's reuses its strings' buffers (BuyerReplay::plan_from).
  std::vector<Order> visible;
  // What the planner works out from the rules alone, kept from one plan to the next (set by
  // the thread that replays the part).
  PlanCache* plan_cache = nullptr;
  // The address readings of the buyer being replayed (emptied for each buyer; set with plan_cache).
  AddressReadings* addresses = nullptr;
  // A buyer replay's working lists, kept from one buyer to the next for their memory (each
  // replay starts them empty): the events, the flags per order, the contacts.
  std::vector<LocalTime> events;
  std::vector<char> planned_flags, reached_flags, avoided_flags;
  std::vector<ContactRecord> contacts;
};

// Replays one buyer; appends to `result`.
class BuyerReplay {
 public:
  // `orders` must outlive the replay.
  BuyerReplay(const std::vector<Timeline>& orders, const Rules& rules, const TemplateSet& templates, LocalTime log_end,
              const ChatLog* chat, ReplayPart& result)
      : orders_(orders),
        visible_(result.visible),
        planned_(result.planned_flags),
        reached_(result.reached_flags),
        avoided_(result.avoided_flags),
        rules_(rules),
        templates_(templates),
        log_end_(log_end),
        chat_(chat),
        result_(result),
        addresses_(*result.addresses) {
    addresses_.clear();
    planned_.assign(orders_.size(), 0);
    reached_.assign(orders_.size(), 0);
    avoided_.assign(orders_.size(), 0);
    // The part's contacts, emptied: the history starts with their memory.
    history_.contacts.swap(result.contacts);
    history_.contacts.clear();
  }
  ~BuyerReplay() { result_.contacts.swap(history_.contacts); }
  BuyerReplay(const BuyerReplay&) = delete;
  BuyerReplay& operator=(const BuyerReplay&) = delete;

  void run();

  // Whether order i (of the orders given, by creation) was paid while a reminder for it was
  // planned, before any reminder reached it.
  bool avoided(std::size_t i) const { return avoided_[i] != 0; }
  // The buyer's addresses as read by the plans so far.
  AddressReadings& addresses() { return addresses_; }

 private:
  // Plans the buyer from `now` with the orders as they stood then and the history so far.
  Plan plan_from(LocalTime now);

  // Marks in `flags` every order whose id is `id` (flags per order, as orders_): what a set of
  // ids would hold, without a string copied per id.
  void mark(std::vector<char>& flags, const std::string& id) const {
    for (std::size_t i = 0; i < orders_.size(); ++i) {
      if (orders_[i].order->id == id) flags[i] = 1;
    }
  }

  const std::vector<Timeline>& orders_;  // by creation
  // Copies of the orders created so far (the first shown_), shown as of the latest plan; the
  // part's vector, assigned over the previous buyer's orders.
  std::vector<Order>& visible_;
  std::size_t shown_ = 0;
  // Flags per order, the part's vectors (ReplayPart::planned_flags …) assigned for this buyer.
  std::vector<char>& planned_;  // per order: covered by the latest plan's reminders
  std::vector<char>& reached_;  // per order: a sent reminder covered it
  std::vector<char>& avoided_;  // per order: see avoided()
  const Rules& rules_;
  const TemplateSet& templates_;
  LocalTime log_end_;
  const ChatLog* chat_;
  ReplayPart& result_;
  ContactHistory history_;
  // Read once for all the buyer's events: its orders keep their addresses (the part's
  // readings, emptied for this buyer: nothing is kept from one buyer to the next).
  AddressReadings& addresses_;
};

Plan BuyerReplay::plan_from(LocalTime now) {
  // Orders are copied once, when they appear; each plan only updates what it knows of them.
  for (; shown_ < orders_.size() && orders_[shown_].order->created_at <= now; ++shown_) {
    if (shown_ < visible_.size()) {
      visible_[shown_] = *orders_[shown_].order;
    } else {
      visible_.push_back(*orders_[shown_].order);
    }
  }
  visible_.erase(visible_.begin() + static_cast<std::ptrdiff_t>(shown_), visible_.end());
  for (std::size_t i = 0; i < visible_.size(); ++i) show_as_of(visible_[i], orders_[i], now);
  const std::vector<Order>& visible = visible_;
  if (std::none_of(visible.begin(), visible.end(), [](const Order& o) { return o.status == OrderStatus::unpaid; })) {
    // Everything placed so far is paid or closed: the planner has nothing to remind of.
    std::fill(planned_.begin(), planned_.end(), 0);
    return {};
  }
  // The planner looks at most a week past the latest close for a slot (a pre-sale order's
  // balance window can end long after the usual auto-close).
  LocalTime latest_close = now + rules_.auto_close;
  for (const auto& o : visible) latest_close = std::max(latest_close, closes_at(o, rules_));
  PlanRequest request{now, now, latest_close + days{8}, chat_};
  request.threads = 1;  // the replay runs buyers on all cores already
  request.addresses = &addresses_;
  request.cache = result_.plan_cache;
  request.explain = result_.keep_texts;  // why lines are dropped with the texts
  request.texts = result_.keep_texts;
  Plan p = plan(visible, history_, rules_, templates_, request);
  ++result_.plan_calls;
  std::fill(planned_.begin(), planned_.end(), 0);
  for (const auto& r : p.reminders) {
    for (const auto& id : r.order_ids) mark(planned_, id);
  }
  return p;
}

void BuyerReplay::run() {
  std::vector<LocalTime>& events = result_.events;
  events.clear();
  for (const auto& t : orders_) {
    events.push_back(t.order->created_at);
    if (t.paid) events.push_back(*t.paid);
    if (t.closed) events.push_back(*t.closed);
  }
  if (chat_ && !orders_.empty()) {
    // What the buyer or the shop writes can change the plan (a reason, 不要了, a live
    // conversation): each message is a moment to plan again.
    for (const auto& m : chat_->of(orders_.front().order->buyer)) events.push_back(m.at);
  }
  std::sort(events.begin(), events.end());
  events.erase(std::unique(events.begin(), events.end()), events.end());

  // Between two log events the buyer's orders stand still, and the planner's plan from a
  // moment is what it sends when asked again after each of its reminders (it simulates its
  // own sends, a group's order auto-closing and a pay-skip expiring: Planner tests
  // "APreviewListsWhatTheDaemonSends…"). So the buyer is planned once per event, and every
  // reminder of that plan due before the next event (and before the log ends) is sent.
  for (std::size_t next = 0; next < events.size();) {
    const LocalTime now = events[next];
    while (next < events.size() && events[next] == now) ++next;
    const LocalTime until = std::min(next < events.size() ? events[next] : LocalTime::max(), log_end_);
    // Orders paid now that the last plan had a reminder for, none of which reached them yet.
    for (std::size_t i = 0; i < orders_.size(); ++i) {
      const Timeline& t = orders_[i];
      if (t.paid && *t.paid == now && planned_[i] && !reached_[i]) mark(avoided_, t.order->id);
    }
    Plan p = plan_from(now);
    for (auto& r : p.reminders) {
      if (r.send_at < now) continue;  // never into the past
      if (r.send_at >= until) break;  // the next event re-plans; nothing past the log's end
      history_.add({r.buyer, r.channel, r.send_at, r.order_ids, r.step, r.shop});
      for (const auto& id : r.order_ids) mark(reached_, id);
      if (!result_.keep_texts) {
        // Swapped with empties: assigning "" to a string keeps its buffer.
        std::string().swap(r.message);
        std::string().swap(r.subject);
        std::string().swap(r.contact);
        std::string().swap(r.receiver_name);
        std::vector<std::string>().swap(r.why);
      }
      result_.sent.push_back(std::move(r));
    }
  }
}

// Replays one buyer (its orders sorted here by creation, then id) and records what happened
// to each of its orders.
void replay_buyer(const std::string& shop, const std::string& buyer, std::vector<Timeline>& orders, const Rules& rules,
                  const TemplateSet& templates, LocalTime log_end, const ChatLog* chat, ReplayPart& result) {
  std::sort(orders.begin(), orders.end(), [](const Timeline& a, const Timeline& b) {
    return a.order->created_at != b.order->created_at ? a.order->created_at < b.order->created_at
                                                      : a.order->id < b.order->id;
  });
  const std::size_t sent_before = result.sent.size();
  BuyerReplay buyer_replay(orders, rules, templates, log_end, chat, result);
  buyer_replay.run();
  // What happened to each of the buyer's orders.
  const bool holdout = in_holdout(rules, shop, buyer);
  for (std::size_t i = 0; i < orders.size(); ++i) {
    const Timeline& t = orders[i];
    OrderOutcome out;
    out.order_id = t.order->id;
    out.buyer = buyer;
    out.shop = shop;
    out.amount = t.order->amount;
    out.created_at = t.order->created_at;
    out.paid_at = t.paid;
    out.closed_at = t.closed;
    out.holdout = holdout;
    out.avoided = buyer_replay.avoided(i);
    result.avoided += out.avoided;
    const LocalTime end = t.paid ? *t.paid : (t.closed ? *t.closed : LocalTime::max());
    for (std::size_t i = sent_before; i < result.sent.size(); ++i) {
      const auto& r = result.sent[i];
      if (std::find(r.order_ids.begin(), r.order_ids.end(), out.order_id) == r.order_ids.end()) continue;
      if (out.reminders++ == 0) {
        out.first_reminder_at = r.send_at;
        out.segment = r.segment;
      }
      if (r.send_at < end) {
        out.last_channel = r.channel;
        out.last_template = r.template_name;
        out.last_step = r.step;
      }
    }
    if (out.segment.empty()) {
      // Classified as the planner would have when it was placed.
      int closed_before = 0;
      for (const auto& other : orders) closed_before += other.closed_by(t.order->created_at);
      // classify() reads no order state (amount, address, notes, type): the order as logged is the
      // order as placed, without a copy (PlannerParallel.AddressReadWithoutReasonsIsReadTheSame).
      const SegmentMatch m = classify(rules, {t.order}, closed_before, &buyer_replay.addresses(), false);
      out.segment = m.rule ? m.rule->name : "-";
    }
    result.orders.push_back(std::move(out));
  }
}

// Moves each element of `items` once into place, following the cycles of `order` (order[i]: the
// index of the element that belongs at i): a replayed reminder is a few hundred bytes, and
// std::stable_sort of the items themselves would take a buffer as large as the vector.
template <class T>
void permute_in_place(std::vector<T>& items, std::vector<std::size_t>& order) {
  for (std::size_t start = 0; start < order.size(); ++start) {
    if (order[start] == start) continue;
    T held = std::move(items[start]);
    std::size_t at = start;
    while (order[at] != start) {
      const std::size_t from = order[at];
      items[at] = std::move(items[from]);
      order[at] = at;
      at = from;
    }
    items[at] = std::move(held);
    order[at] = at;
  }
}

// The first 8 bytes of `s` as a big-endian number (zeros past its end): two strings whose
// prefixes differ compare as their prefixes do.
std::uint64_t prefix_of(std::string_view s) {
  std::uint64_t v = 0;
  const std::size_t n = std::min<std::size_t>(s.size(), 8);
  for (std::size_t i = 0; i < 8; ++i) v = (v << 8) | (i < n ? static_cast<unsigned char>(s[i]) : 0U);
  return v;
}

// Stable-sorts `items` by (time_of(item), text_of(item)) (the text by its bytes) through small
// keys: the time and the text's first 8 bytes, the text itself read only when those are equal.
// The same order as std::stable_sort by that pair, without reading each item's scattered
// strings in every comparison.
template <class T, class TimeOf, class TextOf>
void sort_by_time_and_text(std::vector<T>& items, TimeOf time_of, TextOf text_of) {
  struct Key {
    LocalTime at;
    std::uint64_t prefix;
    std::size_t index;
  };
  std::vector<Key> keys;
  keys.reserve(items.size());
  for (std::size_t i = 0; i < items.size(); ++i) {
    keys.push_back({time_of(items[i]), prefix_of(text_of(items[i])), i});
  }
  std::stable_sort(keys.begin(), keys.end(), [&](const Key& a, const Key& b) {
    if (a.at != b.at) return a.at < b.at;
    if (a.prefix != b.prefix) return a.prefix < b.prefix;
    return std::string_view(text_of(items[a.index])) < std::string_view(text_of(items[b.index]));
  });
  std::vector<std::size_t> order;
  order.reserve(keys.size());
  for (const Key& k : keys) order.push_back(k.index);
  std::vector<Key>().swap(keys);
  permute_in_place(items, order);
}

// Fewer buyers than this per thread are replayed on the calling thread alone.
constexpr std::size_t kBuyersPerThread = 256;
// How many buyers ahead the replay asks for their orders' memory.
constexpr std::size_t kPrefetchGroups = 8;
// Fewer orders than this per thread are grouped by buyer on the calling thread alone.
constexpr std::size_t kOrdersPerSortThread = 4096;

// ---- The rule check of the sent reminders ---------------------------------------------

// Checks one buyer's reminders (`list`, sorted here by send time) against `rules` directly;
// find(order_id) gives the order's outcome or nullptr. `key` (shop, buyer) must outlive `t`.
template <class FindOutcome>
void check_buyer(BuyerKey key, std::span<const PlannedReminder*> list, FindOutcome&& find, const Rules& rules,
                 CheckTally& t) {
  if (list.empty()) return;
  t.reminders_per_buyer.push_back(static_cast<int>(list.size()));
  const auto in_any = [](const std::vector<DailyWindow>& ws, int m) {
    return std::any_of(ws.begin(), ws.end(), [m](const DailyWindow& w) { return w.contains(m); });
  };
  Violations& v = t.counts;
  std::stable_sort(list.begin(), list.end(),
                   [](const PlannedReminder* x, const PlannedReminder* y) { return x->send_at < y->send_at; });
  const std::string& buyer = list.front()->buyer;
  std::vector<std::string> details;
  const Caps& caps = rules.caps_for(list.front()->shop);
  LocalTime day{};
  int on_day = 0;
  // Reminders per order id so far: a buyer has few orders, looked up one by one.
  std::vector<std::pair<std::string_view, int>> per_order;
  const auto count_for = [&](std::string_view id) -> int& {
    for (auto& [known, n] : per_order) {
      if (known == id) return n;
    }
    return per_order.emplace_back(id, 0).second;
  };
  const PlannedReminder* previous = nullptr;
  for (const PlannedReminder* r : list) {
    const int m = minute_of_day(r->send_at);
    const auto detail = [&](std::string_view what) {
      details.push_back(fmt::format("{} {} {}: {}", format_local_hm(r->send_at), buyer, to_string(r->channel), what));
    };
    if (in_any(rules.quiet_hours, m)) {
      ++v.quiet_hours;
      detail("inside quiet hours");
    }
    const ChannelRule* rule = rules.channel(r->channel);
    const SegmentRule* seg = rules.segment(r->segment);
    const ReminderStep* step =
        seg && r->step >= 1 && r->step <= static_cast<int>(seg->steps.size()) ? &seg->steps[r->step - 1] : nullptr;
    if (!rule || !rule->enabled) {
      ++v.windows;
      detail("channel not configured or disabled");
    } else if (!rule->windows.empty() && !in_any(rule->windows, m)) {
      ++v.windows;
      detail("outside the channel's windows");
    } else if (step && step->channel == r->channel && !step->windows.empty() && !in_any(step->windows, m)) {
      ++v.windows;
      detail(fmt::format("outside step {}'s windows", r->step));
    }
    bool over_cap = false;
    std::string cap_why;
    if (start_of_day(r->send_at) != day) {
      day = start_of_day(r->send_at);
      on_day = 0;
    }
    if (++on_day > caps.max_per_buyer_per_day) {
      over_cap = true;
      cap_why = "over the per-day cap";
    }
    for (const auto& id : r->order_ids) {
      if (++count_for(id) > caps.max_per_order) {
        over_cap = true;
        cap_why = fmt::format("over the per-order cap for {}", id);
      }
    }
    if (previous && r->send_at - previous->send_at < caps.min_gap) {
      over_cap = true;
      cap_why = "closer than the minimum gap to the previous contact";
    }
    if (previous && caps.no_repeat_channel && previous->channel == r->channel) {
      // One reminder sequence: the previous contact shares an order with this one, or is
      // within the look-back.
      const bool shares_order = std::any_of(r->order_ids.begin(), r->order_ids.end(), [&](const std::string& id) {
        return std::find(previous->order_ids.begin(), previous->order_ids.end(), id) != previous->order_ids.end();
      });
      if (shares_order || r->send_at - previous->send_at < caps.repeat_channel_lookback) {
        over_cap = true;
        cap_why = "same channel as the previous contact in its reminder sequence";
      }
    }
    if (over_cap) {
      ++v.caps;
      detail(cap_why);
    }
    for (const auto& id : r->order_ids) {
      const OrderOutcome* found = find(id);
      if (!found) continue;
      const OrderOutcome& o = *found;
      if ((o.paid_at && *o.paid_at <= r->send_at) || (o.closed_at && *o.closed_at <= r->send_at)) {
        ++v.paid_or_closed;
        detail(fmt::format("order {} already paid or closed", id));
        break;
      }
    }
    previous = r;
  }
  if (!details.empty()) t.details.emplace_back(key, std::move(details));
}

// The tallies of several threads (in any order) as one: counts added, details by (shop, buyer).
void join_tallies(std::vector<CheckTally>& tallies, Violations& v, std::vector<int>& reminders_per_buyer) {
  std::vector<std::pair<BuyerKey, std::vector<std::string>>> details_by_buyer;
  for (auto& t : tallies) {
    v.quiet_hours += t.counts.quiet_hours;
    v.windows += t.counts.windows;
    v.caps += t.counts.caps;
    v.paid_or_closed += t.counts.paid_or_closed;
    std::move(t.details.begin(), t.details.end(), std::back_inserter(details_by_buyer));
    reminders_per_buyer.insert(reminders_per_buyer.end(), t.reminders_per_buyer.begin(), t.reminders_per_buyer.end());
  }
  std::sort(details_by_buyer.begin(), details_by_buyer.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto& [key, lines] : details_by_buyer) {
    for (auto& line : lines) v.details.push_back(std::move(line));
  }
}

// Checks a result not checked by its replay: its reminders grouped by buyer (numbered in the
// order buyers first appear and moved into place by counting, no string sort of a million
// reminders), the buyers on `threads` threads (0: one per core when there are enough of them).
ReplayChecks check_result(const ReplayResult& result, const Rules& rules, unsigned threads) {
  std::unordered_map<BuyerKey, std::size_t, BuyerKeyHash> buyer_index;
  std::vector<std::size_t> buyer_of;  // per reminder
  buyer_of.reserve(result.sent.size());
  std::vector<std::size_t> starts;  // reminders per buyer, then where each buyer's run starts
  for (const auto& r : result.sent) {
    const auto [it, added] = buyer_index.try_emplace(BuyerKey{r.shop, r.buyer}, starts.size());
    if (added) starts.push_back(0);
    ++starts[it->second];
    buyer_of.push_back(it->second);
  }
  const std::size_t buyers = starts.size();
  std::size_t at = 0;
  for (auto& n : starts) at += std::exchange(n, at);
  std::vector<const PlannedReminder*> sent(result.sent.size());
  std::vector<std::size_t> next = starts;
  for (std::size_t i = 0; i < result.sent.size(); ++i) sent[next[buyer_of[i]]++] = &result.sent[i];
  starts.push_back(sent.size());

  std::unordered_map<std::string_view, const OrderOutcome*> outcome;
  outcome.reserve(result.orders.size());
  for (const auto& o : result.orders) outcome[o.order_id] = &o;
  const auto find = [&](const std::string& id) -> const OrderOutcome* {
    const auto it = outcome.find(id);
    return it == outcome.end() ? nullptr : it->second;
  };
  std::vector<std::size_t> weights(buyers);
  for (std::size_t b = 0; b < buyers; ++b) weights[b] = starts[b + 1] - starts[b];
  std::vector<CheckTally> tallies(part_count(threads, sent.size(), kBuyersPerThread, buyers));
  run_in_parts(weights, tallies.size(), [&](std::size_t first, std::size_t last, std::size_t part) {
    for (std::size_t b = first; b < last; ++b) {
      const std::span<const PlannedReminder*> list(sent.data() + starts[b], starts[b + 1] - starts[b]);
      check_buyer({list.front()->shop, list.front()->buyer}, list, find, rules, tallies[part]);
    }
  });
  ReplayChecks checks;
  checks.rules = &rules;
  join_tallies(tallies, checks.violations, checks.reminders_per_buyer);
  return checks;
}

}  // namespace

ReplayResult replay(const std::vector<Order>& log, const Rules& rules, const TemplateSet& templates,
                    const BacktestConfig& config) {
  ReplayResult result;
  std::vector<const Order*> in_range;  // then grouped by buyer
  in_range.reserve(log.size());
  std::optional<LocalTime> first, last;
  if (config.log_end) {
    result.log_end = *config.log_end;
  } else {
    for (const auto& o : log) result.log_end = std::max(result.log_end, latest_time(o));
  }
  for (const auto& o : log) {
    if (config.from && o.created_at < *config.from) continue;
    if (config.to && o.created_at >= *config.to) continue;
    in_range.push_back(&o);
    if (!first || o.created_at < *first) first = o.created_at;
    if (!last || o.created_at > *last) last = o.created_at;
  }
  result.from = config.from ? *config.from : first.value_or(LocalTime{});
  result.to = config.to ? *config.to : (last ? *last + Seconds{1} : LocalTime{});
  std::vector<BuyerRun> runs;
  sort_by_buyer(in_range, part_count(config.threads, in_range.size(), kOrdersPerSortThread, in_range.size()), runs);

  // Buyers are independent: contiguous runs of them are replayed on several threads, each
  // into its own part, and the parts are joined in buyer order before the sorts below, so the
  // result is the single-threaded one.
  struct Group {
    std::size_t first = 0, count = 0;  // in `in_range`
  };
  std::vector<Group> groups;
  groups.reserve(runs.size());
  for (const BuyerRun& r : runs) groups.push_back({r.first, r.count});
  std::vector<BuyerRun>().swap(runs);
  std::mutex progress_mutex;
  std::size_t done = 0, orders_done = 0;  // guarded by progress_mutex
  const auto replay_groups = [&](std::size_t first_group, std::size_t last_group, ReplayPart& part) {
    PlanCache plan_cache(rules);
    part.plan_cache = &plan_cache;
    AddressReadings addresses(rules, part.keep_texts);
    part.addresses = &addresses;
    std::vector<Timeline> timelines;
    std::vector<const PlannedReminder*> sent;
    for (std::size_t g = first_group; g < last_group; ++g) {
      // The buyers' orders lie all over memory (buyers come in sorted order): the next buyers'
      // are asked for while this one is replayed (a hint only, as plan_into gives it).
      if (g + kPrefetchGroups < last_group) {
        const Group& ahead = groups[g + kPrefetchGroups];
        for (std::size_t i = ahead.first; i < ahead.first + ahead.count; ++i) prefetch_order(in_range[i]);
      }
      if (g + kPrefetchGroups / 2 < last_group) {
        const Group& ahead = groups[g + kPrefetchGroups / 2];
        for (std::size_t i = ahead.first; i < ahead.first + ahead.count; ++i) prefetch_strings(in_range[i]);
      }
      timelines.clear();
      for (std::size_t i = groups[g].first; i < groups[g].first + groups[g].count; ++i) {
        timelines.push_back(timeline_of(*in_range[i], rules, result.log_end));
      }
      const Order& lead = *in_range[groups[g].first];
      const std::size_t sent_before = part.sent.size(), orders_before = part.orders.size();
      replay_buyer(lead.shop, lead.buyer, timelines, rules, templates, result.log_end, config.chat, part);
      // The rule check of the buyer's reminders, here while they are at hand (as
      // check_violations makes it over a whole result): its orders are the part's last ones.
      sent.clear();
      for (std::size_t i = sent_before; i < part.sent.size(); ++i) sent.push_back(&part.sent[i]);
      const auto find = [&](const std::string& id) -> const OrderOutcome* {
        for (std::size_t i = orders_before; i < part.orders.size(); ++i) {
          if (part.orders[i].order_id == id) return &part.orders[i];
        }
        return nullptr;
      };
      check_buyer({lead.shop, lead.buyer}, std::span<const PlannedReminder*>(sent), find, rules, part.checks);
      if (!config.progress) continue;
      const std::lock_guard lock(progress_mutex);
      ++done;
      orders_done += groups[g].count;
      if (done % 256 == 0 || done == groups.size()) config.progress(done, groups.size(), orders_done);
    }
    part.plan_cache = nullptr;
    part.addresses = nullptr;
  };
  std::vector<std::size_t> weights;
  weights.reserve(groups.size());
  for (const Group& g : groups) weights.push_back(g.count);
  result.buyers = groups.size();
  std::vector<ReplayPart> parts(part_count(config.threads, groups.size(), kBuyersPerThread, groups.size()));
  for (auto& part : parts) part.keep_texts = config.keep_texts;
  run_in_parts(weights, parts.size(),
               [&](std::size_t first, std::size_t last, std::size_t part) { replay_groups(first, last, parts[part]); });
  // Joined into vectors of the exact size, each part's blocks freed as they are moved (BlockList):
  // a doubling vector of a million reminders would hold twice what it needs at the moment it grows.
  std::size_t sent_count = 0, order_count = 0;
  for (const auto& part : parts) {
    sent_count += part.sent.size();
    order_count += part.orders.size();
  }
  result.sent.reserve(sent_count);
  for (auto& part : parts) part.sent.move_into(result.sent);
  result.orders.reserve(order_count);
  std::vector<CheckTally> tallies;
  for (auto& part : parts) {
    part.orders.move_into(result.orders);
    result.avoided += part.avoided;
    result.plan_calls += part.plan_calls;
    tallies.push_back(std::move(part.checks));
  }
  result.checks.emplace();
  result.checks->rules = &rules;
  join_tallies(tallies, result.checks->violations, result.checks->reminders_per_buyer);
  // The reminders and the orders are sorted at the same time when the replay ran on several threads.
  run_in_parts({1, 1}, parts.size() > 1 ? 2 : 1, [&](std::size_t first, std::size_t last, std::size_t) {
    if (first == 0) {
      sort_by_time_and_text(
          result.sent, [](const PlannedReminder& r) { return r.send_at; },
          [](const PlannedReminder& r) -> const std::string& { return r.buyer; });
    }
    if (last == 2) {
      sort_by_time_and_text(
          result.orders, [](const OrderOutcome& o) { return o.created_at; },
          [](const OrderOutcome& o) -> const std::string& { return o.order_id; });
    }
  });
  return result;
}

Violations check_violations(const ReplayResult& result, const Rules& rules, unsigned threads) {
  return check_result(result, rules, threads).violations;
}

UpliftEstimate estimate_uplift(const std::vector<UpliftSample>& samples) {
  UpliftEstimate e;
  Money reminded_amount = 0;
  for (const auto& s : samples) {
    if (s.reminded == s.holdout) continue;
    if (s.reminded) {
      ++e.reminded;
      e.reminded_paid += s.paid;
      reminded_amount += s.amount;
    } else {
      ++e.holdout;
      e.holdout_paid += s.paid;
    }
  }
  if (e.reminded < kMinUpliftGroup || e.holdout < kMinUpliftGroup) {
    e.reason = fmt::format("too few orders to compare: {} reminded and {} held out (need at least {} in each)",
                           e.reminded, e.holdout, kMinUpliftGroup);
    return e;
  }
  const double n1 = static_cast<double>(e.reminded), n2 = static_cast<double>(e.holdout);
  const double p1 = static_cast<double>(e.reminded_paid) / n1;
  const double p2 = static_cast<double>(e.holdout_paid) / n2;
  const double se = std::sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2);
  e.measurable = true;
  e.reminded_paid_rate = p1;
  e.holdout_paid_rate = p2;
  e.uplift = p1 - p2;
  e.ci_low = e.uplift - 1.96 * se;
  e.ci_high = e.uplift + 1.96 * se;
  e.recovered_amount = e.uplift * static_cast<double>(reminded_amount);
  return e;
}

UpliftReport measure_uplift(const std::vector<UpliftSample>& samples) {
  UpliftReport report;
  report.overall = estimate_uplift(samples);
  std::map<std::string, std::vector<UpliftSample>> segments;
  std::vector<UpliftSample> held_out;
  for (const auto& s : samples) {
    segments[s.segment].push_back(s);
    if (s.holdout && !s.reminded) held_out.push_back(s);
  }
  for (const auto& [name, list] : segments) report.by_segment[name] = estimate_uplift(list);
  std::map<std::string, std::vector<UpliftSample>> channels;
  for (const auto& s : samples) {
    if (s.reminded && !s.holdout) channels[s.channel].push_back(s);
  }
  for (auto& [name, list] : channels) {
    list.insert(list.end(), held_out.begin(), held_out.end());
    report.by_channel[name] = estimate_uplift(list);
  }
  return report;
}

std::optional<double> cost_per_paid_order(std::int64_t cost_milli, int paid_after) {
  if (paid_after <= 0) return std::nullopt;
  return static_cast<double>(cost_milli) / 1000.0 / paid_after;
}

int percentile_nearest_rank(std::vector<int> values, int p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const auto n = values.size();
  auto rank = static_cast<std::size_t>(std::ceil(static_cast<double>(p) / 100.0 * static_cast<double>(n)));
  rank = std::clamp<std::size_t>(rank, 1, n);
  return values[rank - 1];
}

BacktestFigures summarize(const ReplayResult& result, const Rules& rules, unsigned threads) {
  BacktestFigures f;
  f.orders = result.orders.size();
  f.avoided = result.avoided;
  for (Channel c : kAllChannels) {
    f.reminders_by_channel[c] = 0;
    f.by_channel[c] = {};
  }
  if (result.buyers > 0 || result.orders.empty()) {
    f.buyers = result.buyers;
  } else {  // a result not made by replay()
    std::unordered_set<BuyerKey, BuyerKeyHash> buyers;
    for (const auto& o : result.orders) buyers.insert({o.shop, o.buyer});
    f.buyers = buyers.size();
  }
  // A segment's and a template's figures, found by the name's bytes (a few names, a million
  // reminders: no map walk with string compares per reminder).
  std::unordered_map<std::string_view, SegmentFigures*> segment_of;
  const auto segment = [&](const std::string& name) -> SegmentFigures& {
    auto [it, added] = segment_of.try_emplace(name, nullptr);
    if (added) it->second = &f.by_segment[name];
    return *it->second;
  };
  std::unordered_map<std::string_view, ReminderKindFigures*> template_of[kAllChannels.size()];
  const auto template_figures = [&](Channel c, const std::string& name) -> ReminderKindFigures& {
    auto [it, added] = template_of[static_cast<std::size_t>(c)].try_emplace(name, nullptr);
    if (added) it->second = &f.by_template[{c, name}];
    return *it->second;
  };
  for (const auto& r : result.sent) {
    ++f.reminders;
    ++f.reminders_by_channel[r.channel];
    f.cost_milli += r.cost_milli;
    auto& ch = f.by_channel[r.channel];
    ++ch.reminders;
    ch.cost_milli += r.cost_milli;
    auto& seg = segment(r.segment);
    ++seg.reminders;
    seg.cost_milli += r.cost_milli;
    ++seg.reminders_by_channel[r.channel];
    ++f.by_hour[static_cast<std::size_t>(hour_of_day(r.send_at))].reminders;
    auto& tpl = template_figures(r.channel, r.template_name);
    ++tpl.reminders;
    tpl.cost_milli += r.cost_milli;
    auto& step = f.by_step[r.step];
    ++step.reminders;
    step.cost_milli += r.cost_milli;
  }
  // Reminders per buyer reminded and the rule check: made by the replay if it checked against
  // these rules, else here.
  std::optional<ReplayChecks> made_here;
  if (!result.checks || result.checks->rules != &rules) made_here = check_result(result, rules, threads);
  const ReplayChecks& checks = made_here ? *made_here : *result.checks;
  const std::vector<int>& counts = checks.reminders_per_buyer;
  f.reminded_buyers = counts.size();
  f.reminders_per_buyer_max = counts.empty() ? 0 : *std::max_element(counts.begin(), counts.end());
  f.reminders_per_buyer_p95 = percentile_nearest_rank(counts, 95);

  const auto max_hours =
      static_cast<std::size_t>(std::max<long>(1, std::chrono::ceil<hours>(rules.auto_close).count()));
  std::vector<int> paid_in_hour(max_hours + 1, 0), reminded_in_hour(max_hours + 1, 0);
  const auto hour_bucket = [&](LocalTime created, LocalTime t) {
    const auto h = std::chrono::ceil<hours>(t - created).count();
    return static_cast<std::size_t>(std::clamp<long>(h, 0, static_cast<long>(max_hours) + 1));
  };
  for (const auto& o : result.orders) {
    auto& seg = segment(o.segment);
    ++seg.orders;
    if (o.holdout) ++f.holdout_orders;
    if (o.reminders > 0) {
      ++f.reminded_orders;
      ++seg.reminded_orders;
      const auto b = hour_bucket(o.created_at, *o.first_reminder_at);
      if (b <= max_hours) ++reminded_in_hour[b];
    }
    if (o.paid_at) {
      ++f.paid;
      ++f.by_hour[static_cast<std::size_t>(hour_of_day(*o.paid_at))].payments;
      const auto b = hour_bucket(o.created_at, *o.paid_at);
      if (b <= max_hours) ++paid_in_hour[b];
    }
    if (o.paid_after_reminder()) {
      ++f.paid_after_reminder;
      f.paid_after_reminder_amount += o.amount;
      ++seg.paid_after_reminder;
      seg.paid_after_reminder_amount += o.amount;
      if (o.last_channel) {
        auto& ch = f.by_channel[*o.last_channel];
        ++ch.paid_after;
        ch.paid_after_amount += o.amount;
        auto& tpl = template_figures(*o.last_channel, o.last_template);
        ++tpl.paid_after;
        tpl.paid_after_amount += o.amount;
        auto& step = f.by_step[o.last_step];
        ++step.paid_after;
        step.paid_after_amount += o.amount;
      }
    }
    if (o.missed()) {
      ++f.missed;
      ++seg.missed;
    }
    f.open_at_end += o.open_at_end();
  }
  const double n = std::max<double>(1.0, static_cast<double>(f.orders));
  int paid_sum = 0, reminded_sum = 0;
  for (std::size_t h = 0; h <= max_hours; ++h) {
    paid_sum += paid_in_hour[h];
    reminded_sum += reminded_in_hour[h];
    f.paid_within_hours.push_back(static_cast<double>(paid_sum) / n);
    f.reminded_within_hours.push_back(static_cast<double>(reminded_sum) / n);
  }
  f.violations = checks.violations;
  return f;
}

}  // namespace cuifu
