// The one decision path: orders + contact history + rules + now in,
// planned reminders (each with its "why") and skipped orders (each with a reason) out.
//
// Pure: no I/O, no real clock. The daemon, `cuifu plan` and `cuifu backtest` all decide
// through plan(), which is what makes a preview and a backtest faithful to the daemon.
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/call_outcome.h"
#include "core/channel.h"
#include "core/chat.h"
#include "core/order.h"
#include "core/rules.h"
#include "core/templates.h"

namespace cuifu {

// A reminder that was (or, for planning, will be) sent to a buyer of a shop.
struct ContactRecord {
  std::string buyer;
  Channel channel = Channel::im;
  LocalTime at{};
  std::vector<std::string> order_ids;
  int step = 0;      // the segment step it carried out (1-based); 0 when unknown
  std::string shop;  // the feed's 店铺名称, "" when the feed has none; a buyer is (shop, buyer)
  // A phone contact: what the call desk recorded of the call (the latest outcome), when and by
  // whom. The planner honours it from outcome_at on (core/call_follow_up.h).
  CallOutcome call_outcome = CallOutcome::none;
  LocalTime outcome_at{};
  std::string outcome_by;
};

// What the shops have already done: contacts made, and who opted out of what.
// Built from the SQLite state by the daemon and `plan --state`, or in memory by backtest.
struct ContactHistory {
  std::vector<ContactRecord> contacts;
  std::map<std::string, std::set<Channel>> opted_out;                               // buyer -> channels, in every shop
  std::map<std::pair<std::string, std::string>, std::set<Channel>> shop_opted_out;  // (shop, buyer) -> channels

  void add(ContactRecord r) { contacts.push_back(std::move(r)); }
  // Opted out of `c` in `shop`, or in every shop.
  bool is_opted_out(const std::string& shop, const std::string& buyer, Channel c) const;
  bool is_opted_out(const std::string& buyer, Channel c) const { return is_opted_out({}, buyer, c); }
};

// One reminder the planner decided on.
struct PlannedReminder {
  LocalTime send_at{};
  std::string shop;  // the feed's 店铺名称 ("" when none); the buyer is (shop, buyer)
  std::string buyer;
  std::vector<std::string> order_ids;  // all the buyer's unpaid orders it covers
  std::string segment;
  Channel channel = Channel::im;
  int step = 1;               // 1-based within the segment's steps
  std::string template_name;  // the one actually used, e.g. "office.price"
  std::string subject;        // email only
  std::string message;        // exactly as it would be sent
  std::string contact;        // phone or e-mail, unmasked; empty for im
  std::string receiver_name;
  Money amount = 0;  // combined
  std::int64_t cost_milli = 0;
  LocalTime pay_by{};  // when the first of its orders auto-closes
  std::vector<std::string> why;

  // Stable across re-plans of the same decision: the shop, the buyer, the oldest order and the
  // step (the slot and the set of combined orders may move when re-planned; the key must not).
  std::string idempotency_key() const;
};

struct SkippedOrder {
  std::string order_id;
  std::string buyer;
  std::string shop;
  std::string reason;
};

struct Plan {
  std::vector<PlannedReminder> reminders;  // sorted by send_at, then buyer
  std::vector<SkippedOrder> skipped;       // sorted by order id
};

class AddressReadings;
class PlanCache;
class ItemCategoryIndex;

struct PlanRequest {
  LocalTime now{};
  LocalTime from{};  // plan reminders with send_at in [from, to)
  LocalTime to{};
  // The shop's chat with its buyers, when known: reasons, stop signals and "the shop is
  // talking with them" come from it (core/chat.h). Messages after `now` are not looked at.
  const ChatLog* chat = nullptr;
  // Threads to plan on (buyers are independent); 0: one per core when there are enough
  // orders to be worth it. The plan is the same, byte for byte, for any number.
  unsigned threads = 0;
  // Address readings to reuse, for a caller that plans the same buyer again and again (the
  // backtest plans a buyer at every event of its log). Read and filled only when the plan
  // runs on one thread; the plan is the same with or without it.
  AddressReadings* addresses = nullptr;
  // What the plan works out from the rules alone, kept across plans by a caller that plans
  // again and again with the same rules (the backtest). Used only when the plan runs on one
  // thread and the cache is of these rules; the plan is the same with or without it.
  PlanCache* cache = nullptr;
  // False: the reminders come without why lines (and the address is read without saying why),
  // for a caller that shows none (the backtest's figures); every decision and message is the same.
  bool explain = true;
  // False: the reminders come without message, subject, contact and receiver name, for a caller
  // that drops them (the backtest's figures); an SMS is still rendered, to see that it fits one
  // segment, and every decision is the same.
  bool texts = true;
  // Reminders with send_at at or after this come without texts and why lines, as with `explain`
  // and `texts` false (an SMS is still rendered, to see that it fits): for a caller that plans
  // further ahead than it writes (the daemon's reconcile plans 48 h to know when a buyer's next
  // reminder enters its 24 h window). Every decision is the same.
  LocalTime bare_from = LocalTime::max();
};

// Which segment an order group falls into, and the words that decided it.
struct SegmentMatch {
  const SegmentRule* rule = nullptr;
  std::string because;  // "address contains 大厦", "amount 1299.00 >= 1000.00"
};

// Picks the first segment of `rules` whose conditions all hold for `orders` (one buyer's
// unpaid orders: combined amount, newest address, all notes), given how many of the
// buyer's earlier orders closed unpaid. The address is read through `addresses` when given
// (readings of the same rules). `explain` false: `because` stays empty (the segment is the same).
// REQUIRES: orders non-empty.
SegmentMatch classify(const Rules& rules, const std::vector<const Order*>& orders, int closed_unpaid_before,
                      AddressReadings* addresses = nullptr, bool explain = true);

// How the rules read an address: where it is (province / city / county / rest, overseas or
// not) and, for a mainland address, the occupation it suggests. Each part says why.
struct AddressReading {
  ParsedAddress parsed;
  OccupationGuess occupation;  // empty for overseas addresses and rules without occupation cues
};
// `explain` false: the readings' why lines stay empty, everything else is the same.
AddressReading read_address(const Rules& rules, std::string_view address, bool explain = true);

// The readings of one buyer's addresses, made once each: a buyer replayed event after event
// keeps its address, and reading it (parse_address, guess_occupation) is most of classifying
// the buyer. Meant for one buyer at a time (a buyer has few addresses: they are looked up
// one by one), on one thread; clear() before the next buyer.
class AddressReadings {
 public:
  // `explain` false: read without why lines (read_address), for a caller that shows none.
  explicit AddressReadings(const Rules& rules, bool explain = true) : rules_(&rules), explain_(explain) {}
  // read_address(rules, address, explains()), made the first time it is asked for; the
  // reference stays good until clear(). `occupation` false: the occupation may be left
  // unread (empty) when it was not asked for before, for a caller that looks only at `parsed`.
  const AddressReading& read(std::string_view address, bool occupation = true);
  const Rules& rules() const { return *rules_; }
  bool explains() const { return explain_; }
  void clear() { readings_.clear(); }

 private:
  const Rules* rules_;
  bool explain_;
  struct Entry {
    std::string address;
    AddressReading reading;
    bool occupation_read = false;
  };
  std::deque<Entry> readings_;  // a deque: readings never move
};

// What plan() works out from the rules alone: the minutes each pair of channel and step
// windows allows (after quiet hours) and each shop's settings. plan() makes one per call and
// thread; a caller that plans one buyer at a time with the same rules keeps one across its
// calls (PlanRequest::cache), on one thread. Holds views into `rules`: it must outlive this.
class PlanCache {
 public:
  explicit PlanCache(const Rules& rules);
  ~PlanCache();
  PlanCache(const PlanCache&) = delete;
  PlanCache& operator=(const PlanCache&) = delete;
  const Rules& rules() const { return *rules_; }

  // Allowed [start, end) minutes of the day for a channel's and a step's windows (both in the
  // rules), outside quiet hours; made the first time it is asked for.
  const std::vector<std::pair<int, int>>& allowed(const std::vector<DailyWindow>& channel_windows,
                                                  const std::vector<DailyWindow>& step_windows);
  // rules().for_shop(shop), made the first time it is asked for; the reference stays good.
  const ShopSettings& shop(std::string_view shop);
  // The reasons' and stops' keywords of rules(), made the first time they are asked for.
  const KeywordIndex& keywords();
  // Text of the rules for why lines, made the first time it is asked for: source.str() of a
  // SourceRef in rules(), and "window 08:00-21:00, …" for a list of windows in rules() (the
  // same text as formatting them again; keyed by the object's address, never by buyer data).
  const std::string& source_text(const SourceRef& source);
  const std::string& windows_text(const std::vector<DailyWindow>& windows);
  // The first quiet hours window, "none" without any.
  const std::string& quiet_hours_text();
  // rules().item_categories as one index (core/item_title.h), made the first time it is asked for.
  const ItemCategoryIndex& item_categories();

 private:
  const Rules* rules_;
  std::map<std::pair<const void*, const void*>, std::vector<std::pair<int, int>>> intervals_;
  std::map<std::string, ShopSettings, std::less<>> shops_;
  const ShopSettings* last_shop_ = nullptr;  // the shop asked for last (buyers come by shop)
  std::optional<KeywordIndex> keywords_;
  std::unordered_map<const SourceRef*, std::string> sources_;
  std::unordered_map<const std::vector<DailyWindow>*, std::string> windows_;
  std::optional<std::string> quiet_hours_;
  std::unique_ptr<ItemCategoryIndex> item_categories_;
};

// True when the address lies outside mainland China (HK, Macau, Taiwan, abroad), read with the
// rules' gazetteer; only on positive evidence (see parse_address).
bool is_overseas_address(const Rules& rules, std::string_view address);

// When an unpaid order closes: the feed's close time; else a pre-sale order with a balance
// window at the window's end, a flash-sale order rules.flash_sale_close after it was placed,
// any other rules.auto_close after it was placed.
LocalTime closes_at(const Order& o, const Rules& rules);

// Where its reminder steps count from: a pre-sale order's balance window opening (the
// deposit is paid; the balance cannot be paid before), else when it was placed.
LocalTime reminders_from(const Order& o);

// True for buyers in the holdout group: never reminded, so that lift can be measured. The
// shop's own holdout (`shops:`) applies; a buyer of a named shop is drawn per (shop, buyer).
bool in_holdout(const Rules& rules, std::string_view shop, std::string_view buyer);
inline bool in_holdout(const Rules& rules, std::string_view buyer) {
  return in_holdout(rules, {}, buyer);
}

// The planner. Each (shop, buyer) is planned apart, with its shop's settings. `orders` is the newest snapshot (all
// statuses: paid ones matter for the "paid in the last hour" rule and the buyer's history). REQUIRES: every template a
// step names exists in `templates` (the loaders guarantee it).
Plan plan(const std::vector<Order>& orders, const ContactHistory& history, const Rules& rules,
          const TemplateSet& templates, const PlanRequest& request);
// The same, of orders held elsewhere (a daemon plans a big snapshot in parts without copying its
// orders). The same decisions as plan() of the orders themselves, in this order.
Plan plan(const std::vector<const Order*>& orders, const ContactHistory& history, const Rules& rules,
          const TemplateSet& templates, const PlanRequest& request);

// Where plan_into() hands each buyer's plan as soon as it is made, so that a caller writing a
// plan of millions of reminders never holds them all as PlannedReminder values.
class PlanSink {
 public:
  virtual ~PlanSink() = default;
  // Called once, before any buyer: the buyers are planned in `parts` runs, at once on several
  // threads, each run in (shop, buyer) order and the runs one after another in that order.
  virtual void start(std::size_t parts) = 0;
  // One buyer's reminders (by send_at) and skipped orders, from the thread of run `part`. Calls
  // for different parts come at the same time; those of one part one after another. May move
  // from `buyer`.
  virtual void add(std::size_t part, Plan& buyer) = 0;
};

// The planner, buyer by buyer into `sink`: plan() is plan_into() with a sink that collects the
// buyers and then sorts their reminders by send_at, then buyer, then shop (ties in the order made).
void plan_into(const std::vector<Order>& orders, const ContactHistory& history, const Rules& rules,
               const TemplateSet& templates, const PlanRequest& request, PlanSink& sink);
void plan_into(const std::vector<const Order*>& orders, const ContactHistory& history, const Rules& rules,
               const TemplateSet& templates, const PlanRequest& request, PlanSink& sink);

}  // namespace cuifu
