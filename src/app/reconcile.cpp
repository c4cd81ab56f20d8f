#include "app/reconcile.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <time.h>
#include <algorithm>
#include <chrono>
#include <cstring>
#include <deque>
#include <functional>
#include <iterator>
#include <map>
#include <optional>
#include <string_view>
#include <thread>
#include <tuple>
#include <unordered_set>

#include "core/parallel.h"
#include "core/planner.h"

namespace cuifu {

namespace {

// Reminders are upserted for [now, now + kWindow); the buyer is planned up to now + 2 kWindow
// so that the moment the next reminder enters the window is known.
constexpr auto kWindow = std::chrono::hours{24};
// Writes go in transactions of this many rows: few commits, and the daemon's loop (which
// claims and records sends on its own connection) never waits long for the write lock.
constexpr std::size_t kRowsPerBatch = 2000;
// A large plan is made in parts of whole buyers of about this many orders (buyers are planned
// apart: the same decisions), so that a daemon stopping does not wait for the whole of it, and
// each part is written while the next is planned (Reconciler::prepare's `on_part`).
constexpr std::size_t kOrdersPerPart = 5000;

// A hash of the values fed to it, in order (each field delimited by its length).
class Fingerprint {
 public:
  void add(std::string_view s) {
    mix(s.size());
    mix(std::hash<std::string_view>{}(s));
  }
  void add(std::int64_t v) { mix(static_cast<std::uint64_t>(v)); }
  void add(LocalTime t) { add(static_cast<std::int64_t>(t.time_since_epoch().count())); }
  void add(const std::optional<LocalTime>& t) {
    add(static_cast<std::int64_t>(t.has_value()));
    if (t) add(*t);
  }
  std::uint64_t value() const { return h_; }

 private:
  void mix(std::uint64_t v) {
    h_ ^= v + 0x9e3779b97f4a7c15ULL + (h_ << 6) + (h_ >> 2);
    h_ *= 0xff51afd7ed558ccdULL;
  }
  std::uint64_t h_ = 0xcbf29ce484222325ULL;
};

// Every field of an order the planner may read (not its line in the file: a row that moved
// plans the same).
void add_order(Fingerprint& f, const Order& o) {
  f.add(o.id);
  f.add(o.buyer);
  f.add(o.receiver_name);
  f.add(o.address);
  f.add(o.phone);
  f.add(o.email);
  f.add(o.note);
  f.add(o.item);
  f.add(o.shop);
  f.add(o.item_code);
  f.add(static_cast<std::int64_t>(o.stock.has_value()));
  f.add(static_cast<std::int64_t>(o.stock.value_or(0)));
  f.add(o.amount);
  f.add(static_cast<std::int64_t>(o.status));
  f.add(o.created_at);
  f.add(o.paid_at);
  f.add(o.closed_at);
  f.add(static_cast<std::int64_t>(o.type));
  f.add(o.balance_starts);
  f.add(o.balance_ends);
}

void add_contact(Fingerprint& f, const ContactRecord& c) {
  f.add(c.buyer);
  f.add(static_cast<std::int64_t>(c.channel));
  f.add(c.at);
  for (const auto& id : c.order_ids) f.add(id);
  f.add(static_cast<std::int64_t>(c.order_ids.size()));
  f.add(static_cast<std::int64_t>(c.step));
  f.add(c.shop);
  f.add(static_cast<std::int64_t>(c.call_outcome));
  f.add(c.outcome_at);
  f.add(c.outcome_by);
}

// What a buyer's plan is made from, and the earliest moment after `now` at which it changes
// by itself, without new data: an order is placed, closes, is paid, a balance window opens or
// ends, the hour after a payment ends, a contact, call outcome or chat line dated later than
// now comes into view. (The buyer's reminders are added to it once planned.) A superset of
// the planner's change points is harmless: the buyer is only planned again sooner.
struct BuyerInputs {
  std::uint64_t hash = 0;
  LocalTime moment{};
  const Caps* caps = nullptr;  // the buyer's shop's
  std::uint32_t group = 0;     // the buyer's orders in the snapshot (Groups)
};

// The snapshot's orders by buyer, without a copy of any buyer's strings: group g's orders are
// members[start[g] .. start[g + 1]), in the snapshot's order; keys[g] views its (shop, buyer).
struct Groups {
  using KeyView = std::pair<std::string_view, std::string_view>;
  struct ViewHash {
    std::size_t operator()(const KeyView& k) const noexcept {
      const std::size_t a = std::hash<std::string_view>{}(k.first);
      return a ^ (std::hash<std::string_view>{}(k.second) + 0x9e3779b97f4a7c15ULL + (a << 6) + (a >> 2));
    }
  };
  std::unordered_map<KeyView, std::uint32_t, ViewHash> index;
  std::vector<KeyView> keys;
  std::vector<std::size_t> start;
  std::vector<const Order*> members;

  explicit Groups(const OrderList& orders) : Groups(orders.size(), [&](std::size_t i) { return &orders[i]; }) {}
  explicit Groups(const std::vector<const Order*>& orders)
      : Groups(orders.size(), [&](std::size_t i) { return orders[i]; }) {}
  // `order_at(i)`: the i-th of `n` orders.
  template <class OrderAt>
  Groups(std::size_t n, const OrderAt& order_at) {
    index.reserve(n);
    std::vector<std::uint32_t> group_of(n);
    for (std::size_t i = 0; i < n; ++i) {
      const Order& o = *order_at(i);
      const auto [it, fresh] = index.try_emplace(KeyView{o.shop, o.buyer}, static_cast<std::uint32_t>(keys.size()));
      if (fresh) keys.push_back(it->first);
      group_of[i] = it->second;
    }
    start.assign(keys.size() + 1, 0);
    for (const std::uint32_t g : group_of) ++start[g + 1];
    for (std::size_t g = 0; g < keys.size(); ++g) start[g + 1] += start[g];
    members.resize(n);
    std::vector<std::size_t> next(start.begin(), start.end() - 1);
    for (std::size_t i = 0; i < n; ++i) members[next[group_of[i]]++] = order_at(i);
  }
  std::size_t size() const { return keys.size(); }
  const Order* const* begin(std::size_t g) const { return members.data() + start[g]; }
  const Order* const* end(std::size_t g) const { return members.data() + start[g + 1]; }
  // The group of (shop, buyer), or none.
  std::optional<std::uint32_t> find(std::string_view shop, std::string_view buyer) const {
    const auto it = index.find(KeyView{shop, buyer});
    if (it == index.end()) return std::nullopt;
    return it->second;
  }
};

// A contact (logged, or a reminder planned) changes what the planner allows later: the
// channel may repeat after the look-back, the next contact after the minimum gap, the day cap
// counts per day, a will-pay call holds reminders back for its grace. A step left out at `now`
// because of it is planned once that moment passes.
void consider_contact(LocalTime at, const Caps& caps, const std::function<void(LocalTime)>& consider) {
  consider(at);
  consider(at + caps.repeat_channel_lookback);
  consider(at + caps.min_gap);
  consider(start_of_day(at) + std::chrono::days{1});
}

// `sorted`: a buffer (reused from buyer to buyer).
BuyerInputs inputs_of(const Order* const* first, const Order* const* last,
                      const std::vector<const ContactRecord*>& contacts, const ContactHistory& history,
                      const ChatLog* chat, const Caps& caps, const Rules& rules, LocalTime now,
                      std::vector<const Order*>& sorted) {
  BuyerInputs in;
  LocalTime moment = now + kWindow;  // beyond the extended window nothing is known
  const auto consider = [&](LocalTime t) {
    if (t > now && t < moment) moment = t;
  };
  Fingerprint f;
  sorted.assign(first, last);
  std::sort(sorted.begin(), sorted.end(), [](const Order* a, const Order* b) { return a->id < b->id; });
  for (const Order* o : sorted) {
    add_order(f, *o);
    consider(o->created_at);
    if (o->status == OrderStatus::unpaid) consider(closes_at(*o, rules));
    if (o->paid_at) {
      consider(*o->paid_at);
      consider(*o->paid_at + caps.skip_if_paid_within);
    }
    if (o->closed_at) consider(*o->closed_at);
    if (o->balance_starts) consider(*o->balance_starts);
    if (o->balance_ends) consider(*o->balance_ends);
  }
  f.add(static_cast<std::int64_t>(sorted.size()));
  for (const ContactRecord* c : contacts) {
    add_contact(f, *c);
    consider_contact(c->at, caps, consider);
    if (c->call_outcome != CallOutcome::none) {
      consider(c->outcome_at);
      consider(c->outcome_at + rules.calls.will_pay_grace);
    }
  }
  f.add(static_cast<std::int64_t>(contacts.size()));
  const Order& any = **first;
  if (const auto it = history.opted_out.find(any.buyer); it != history.opted_out.end()) {
    for (Channel c : it->second) f.add(static_cast<std::int64_t>(c) + 100);
  }
  // (The look-up copies both strings: not done for the millions of buyers of a shop without any.)
  if (!history.shop_opted_out.empty()) {
    if (const auto it = history.shop_opted_out.find({any.shop, any.buyer}); it != history.shop_opted_out.end()) {
      for (Channel c : it->second) f.add(static_cast<std::int64_t>(c) + 200);
    }
  }
  if (chat) {
    for (const auto& m : chat->of(any.buyer)) {
      f.add(m.shop);
      f.add(m.at);
      f.add(static_cast<std::int64_t>(m.sender));
      f.add(m.text);
      f.add(m.order_id);
      consider(m.at);
      consider(m.at + rules.chat.recently_answered);
    }
  }
  in.hash = f.value();
  in.moment = moment;
  in.caps = &caps;
  return in;
}

// The first 16 bytes of `s`, as two numbers that order as the bytes do (shorter: zeros after it).
std::pair<std::uint64_t, std::uint64_t> prefix_key(std::string_view s) {
  unsigned char b[16] = {};
  std::memcpy(b, s.data(), std::min<std::size_t>(s.size(), 16));
  std::uint64_t hi = 0, lo = 0;
  for (int i = 0; i < 8; ++i) hi = (hi << 8) | b[i];
  for (int i = 8; i < 16; ++i) lo = (lo << 8) | b[i];
  return {hi, lo};
}

// A key with its first 16 bytes as numbers (prefix_key) and a number of the caller's, ordered by
// (prefix, key): the order of the keys' bytes, with few reads of the keys themselves.
struct KeyEntry {
  std::pair<std::uint64_t, std::uint64_t> prefix;
  std::string_view key;
  std::uint64_t index = 0;
  bool operator<(const KeyEntry& o) const {
    if (prefix != o.prefix) return prefix < o.prefix;
    return key < o.key;
  }
};

}  // namespace

// The orders in the order of their ids (std::string's <). Sorted by the ids' first 16 bytes held
// next to each pointer, the whole ids compared only on a tie: sorting the pointers by their ids
// read each order's id from wherever it lies, a miss of the cache per comparison (1M orders: 3.4 s
// of a reconcile's 7 s after the planning).
void sort_by_order_id(std::vector<const Order*>& orders) {
  struct Entry {
    std::pair<std::uint64_t, std::uint64_t> prefix;
    const Order* order;
  };
  std::vector<Entry> entries;
  entries.reserve(orders.size());
  for (const Order* o : orders) entries.push_back({prefix_key(o->id), o});
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    if (a.prefix != b.prefix) return a.prefix < b.prefix;
    return a.order->id < b.order->id;
  });
  for (std::size_t i = 0; i < entries.size(); ++i) orders[i] = entries[i].order;
}

namespace {

// What the store keeps of `orders` (SeenOrder: a copy of a million whole orders was seconds), in
// the order of their ids, the key of the table's index.
std::vector<SeenOrder> seen_orders(std::vector<const Order*> orders) {
  sort_by_order_id(orders);
  std::vector<SeenOrder> seen;
  seen.reserve(orders.size());
  for (const Order* o : orders) seen.emplace_back(*o);
  return seen;
}

// What the store says of each buyer (by nickname) besides their orders: their contacts and call
// outcomes (with or without a shop), their opt-outs (in every shop, in one shop). A buyer's
// fingerprint changes when any of it does.
std::unordered_map<std::string, std::uint64_t> side_fingerprints(const ContactHistory& history) {
  std::unordered_map<std::string_view, Fingerprint> by_buyer;
  for (const auto& c : history.contacts) add_contact(by_buyer[c.buyer], c);
  for (const auto& [buyer, channels] : history.opted_out) {
    Fingerprint& f = by_buyer[buyer];
    for (Channel c : channels) f.add(static_cast<std::int64_t>(c) + 100);
  }
  for (const auto& [key, channels] : history.shop_opted_out) {
    Fingerprint& f = by_buyer[key.second];
    f.add(key.first);
    for (Channel c : channels) f.add(static_cast<std::int64_t>(c) + 200);
  }
  std::unordered_map<std::string, std::uint64_t> out;
  out.reserve(by_buyer.size());
  for (const auto& [buyer, f] : by_buyer) out.emplace(std::string(buyer), f.value());
  return out;
}

}  // namespace

std::size_t Reconciler::KeyHash::operator()(const KeyView& k) const noexcept {
  return Groups::ViewHash{}(k);
}

std::uint32_t Reconciler::Moments::add(LocalTime t, const BuyerKey* key) {
  if (!free.empty()) {
    const std::uint32_t slot = free.back();
    free.pop_back();
    at[slot] = {t, key};
    return slot;
  }
  at.emplace_back(t, key);
  return static_cast<std::uint32_t>(at.size() - 1);
}

void Reconciler::Moments::remove(std::uint32_t slot) {
  at[slot] = {LocalTime::max(), nullptr};
  free.push_back(slot);
}

void Reconciler::abandon_if_stopping() {
  if (stop_ && stop_->load()) {
    invalidate();
    throw ReconcileStopped("reconcile abandoned: stopping");
  }
}

void Reconciler::forget(std::unordered_map<BuyerKey, BuyerState, KeyHash, KeyEq>::iterator it) {
  moments_.remove(it->second.slot);
  if (const auto shop = shops_.find(it->first.first); shop != shops_.end() && --shop->second == 0) shops_.erase(shop);
  buyers_.erase(it);
}

ReconcileChanges Reconciler::prepare(const ReminderStore& store, const FeedSnapshot& snapshot, const RuleSet& rules,
                                     LocalTime now, const ChatLog* chat, const std::set<BuyerKey>& touched,
                                     const PartSink& on_part) {
  ReconcileChanges changes;
  changes.now = now;
  ReconcileResult& out = changes.result;
  const bool full = full_;
  using Clock = std::chrono::steady_clock;
  // Each lap's wall time and this thread's CPU time (the planning's other threads not counted).
  const auto cpu = [] {
    timespec ts{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return std::chrono::seconds{ts.tv_sec} + std::chrono::nanoseconds{ts.tv_nsec};
  };
  struct Lap {
    const char* what;
    Clock::time_point at;
    std::chrono::nanoseconds cpu;
  };
  std::vector<Lap> laps{{"", Clock::now(), cpu()}};
  const auto lap = [&](const char* what) { laps.push_back({what, Clock::now(), cpu()}); };
  // A full run plans every order, so the orders seen are known from the snapshot alone: when they
  // go to `on_part` they are made on a thread of their own from the start and handed over as soon
  // as they are ready, for the loop to write while the buyers are grouped and hashed here. (Made
  // after those laps, at 1M, the loop's first row waited for 5 s of this thread: grouping 1.4 s,
  // hashing 2.1 s, the orders seen 1.7 s.) Joined before the first part is handed over.
  const bool seen_early = full && on_part && snapshot.orders.size() > std::max(stream_from_, kOrdersPerPart);
  std::exception_ptr seen_error;
  std::jthread seen_maker;
  if (seen_early) {
    seen_maker = std::jthread([&] {
      try {
        std::vector<const Order*> all;
        all.reserve(snapshot.orders.size());
        for (const auto& o : snapshot.orders) all.push_back(&o);
        ReconcileChanges seen;
        seen.now = now;
        seen.last = false;
        seen.orders_seen = seen_orders(std::move(all));
        on_part(std::move(seen));
      } catch (...) {
        seen_error = std::current_exception();
      }
    });
  }
  const ContactHistory history = store.history();
  lap("history");
  abandon_if_stopping();

  // Which buyers to plan again: changed, their moment come, touched by the send path, or with a
  // given-up row whose re-plan time came.
  std::set<BuyerKey> wanted(touched.begin(), touched.end());
  for (auto& k : store.replans_due(now)) wanted.insert(std::move(k));

  // Incremental: when the snapshot says which buyers' orders changed since the one planned last
  // (FeedSnapshot::changed) and the chat is the same, only those buyers, the buyers whose contacts
  // or opt-outs changed, whose moment came or who are wanted can have changed: only they are
  // grouped and hashed (a million buyers' hashes took seconds for the 1 % of them that changed).
  auto side = side_fingerprints(history);
  const bool incremental = !full && snapshot.generation != 0 && chat == chat_ &&
                           (snapshot.generation == generation_ ||
                            (snapshot.changed && snapshot.changed->base == generation_ && generation_ != 0));
  std::vector<KeyView> candidates;  // incremental: the buyers that may have changed (besides `side_changed`)
  std::unordered_set<std::string_view> side_changed;  // buyers (nicknames, in any shop)
  std::vector<const Order*> candidate_orders;
  if (incremental) {
    for (const auto& [buyer, h] : side) {
      if (const auto it = side_.find(buyer); it == side_.end() || it->second != h) side_changed.insert(buyer);
    }
    for (const auto& [buyer, h] : side_) {
      if (!side.count(buyer)) side_changed.insert(buyer);
    }
    if (snapshot.generation != generation_) {
      for (const auto& k : snapshot.changed->buyers) candidates.emplace_back(k.first, k.second);
    }
    for (const auto& k : wanted) candidates.emplace_back(k.first, k.second);
    for (const auto& [valid_until, key] : moments_.at) {
      if (valid_until <= now && key) candidates.emplace_back(key->first, key->second);
    }
    std::unordered_set<KeyView, KeyHash, KeyEq> keys(candidates.begin(), candidates.end());
    lap("candidates");
    // The orders of the candidates (of every shop for a nickname in side_changed), without a look
    // at every order of the snapshot (a cache miss or two each: ~0.1 s at 1M): an order here that
    // the parse built again is in `rebuilt`; any other is the same order of the snapshot planned
    // last, whose id the buyer's state holds (buyers_ has every buyer of that snapshot). Found by
    // those ids through the snapshot's id table, kept when the order is still the buyer's. In the
    // snapshot's order, as a scan would find them.
    const OrderList& orders = snapshot.orders;
    std::vector<std::size_t> found;
    const auto of_buyer = [&](const BuyerKey& key, const BuyerState& state) {
      for (const std::uint64_t h : state.ids) {
        orders.each_with_hash(h, [&](std::size_t i) {
          if (orders[i].buyer == key.second && orders[i].shop == key.first) found.push_back(i);
        });
      }
    };
    for (const auto& k : keys) {
      if (const auto it = buyers_.find(k); it != buyers_.end()) of_buyer(it->first, it->second);
    }
    for (const auto& name : side_changed) {
      for (const auto& [shop, n] : shops_) {
        if (keys.count(KeyView{shop, name})) continue;
        if (const auto it = buyers_.find(KeyView{shop, name}); it != buyers_.end()) of_buyer(it->first, it->second);
      }
    }
    if (snapshot.generation != generation_) {
      for (const std::uint32_t i : snapshot.changed->rebuilt) {
        const Order& o = orders[i];
        if (side_changed.count(o.buyer) || keys.count(KeyView{o.shop, o.buyer})) found.push_back(i);
      }
    }
    std::sort(found.begin(), found.end());
    found.erase(std::unique(found.begin(), found.end()), found.end());
    candidate_orders.reserve(found.size());
    for (const std::size_t i : found) candidate_orders.push_back(&orders[i]);
  }

  // The snapshot by buyer (views, no copies of the strings: a million buyers' copies were most of
  // this lap), and each buyer's contacts (a contact logged without a shop counts in every shop of
  // the buyer, as in the planner). Incremental: only the candidates.
  const Groups groups = incremental ? Groups(candidate_orders) : Groups(snapshot.orders);
  std::unordered_map<std::uint32_t, std::vector<const ContactRecord*>> contacts;
  std::unordered_map<std::string_view, std::vector<const ContactRecord*>> shopless;
  for (const auto& c : history.contacts) {
    if (c.shop.empty()) {
      shopless[c.buyer].push_back(&c);
    } else if (const auto g = groups.find(c.shop, c.buyer)) {
      contacts[*g].push_back(&c);
    }
  }
  lap("grouped");
  abandon_if_stopping();
  // The caps of each group's shop (a shop's, looked up once).
  std::vector<const Caps*> caps_of(groups.size());
  {
    std::map<std::string_view, const Caps*> caps_of_shop;
    for (std::size_t g = 0; g < groups.size(); ++g) {
      const std::string_view shop = groups.keys[g].first;
      auto it = caps_of_shop.find(shop);
      if (it == caps_of_shop.end()) it = caps_of_shop.emplace(shop, rules.rules.for_shop(shop).caps).first;
      caps_of[g] = it->second;
    }
  }
  // Every buyer's inputs, on all cores (a million buyers' orders take seconds on one); only read
  // here: the snapshot, the history, the chat, the caps.
  std::vector<BuyerInputs> inputs(groups.size());
  const std::size_t threads = groups.size() >= 8192 ? std::max(1u, std::thread::hardware_concurrency()) : 1;
  run_in_parts(
      std::vector<std::size_t>(groups.size(), 1), threads, [&](std::size_t first, std::size_t last, std::size_t) {
        std::vector<const ContactRecord*> own;
        std::vector<const Order*> sorted;
        for (std::size_t g = first; g < last; ++g) {
          own.clear();
          if (const auto it = contacts.find(static_cast<std::uint32_t>(g)); it != contacts.end()) own = it->second;
          if (const auto it = shopless.find(groups.keys[g].second); it != shopless.end()) {
            own.insert(own.end(), it->second.begin(), it->second.end());
            std::stable_sort(own.begin(), own.end(),
                             [](const ContactRecord* a, const ContactRecord* b) { return a < b; });  // history order
          }
          inputs[g] =
              inputs_of(groups.begin(g), groups.end(g), own, history, chat, *caps_of[g], rules.rules, now, sorted);
          inputs[g].group = static_cast<std::uint32_t>(g);
        }
      });
  // By views of the snapshot's strings (it outlives this call): a million buyers' copies, and
  // a copy of both strings for each reminder's look-up below, were seconds.
  std::unordered_map<KeyView, BuyerInputs, KeyHash, KeyEq> dirty;
  for (std::size_t g = 0; g < groups.size(); ++g) {
    const auto& key = groups.keys[g];
    const BuyerInputs& in = inputs[g];
    const auto seen = buyers_.find(key);
    if (full || seen == buyers_.end() || seen->second.hash != in.hash || seen->second.valid_until <= now ||
        (!wanted.empty() && wanted.count(BuyerKey{key.first, key.second}))) {
      dirty.emplace(key, in);
    }
  }
  // Buyers gone from the feed: their planned rows are cancelled below. (Incremental: a buyer gone
  // had orders that are no longer there, and so is a candidate.)
  std::vector<BuyerKey> look_at;
  if (incremental) {
    // Copies: a candidate may view the key of the buyers_ entry erased (and be there twice).
    std::set<BuyerKey> gone;
    for (const auto& k : candidates) {
      if (!groups.find(k.first, k.second) && buyers_.count(k)) gone.emplace(k.first, k.second);
    }
    for (const auto& k : gone) {
      look_at.push_back(k);
      forget(buyers_.find(k));
    }
  } else {
    for (auto it = buyers_.begin(); it != buyers_.end();) {
      if (!groups.find(it->first.first, it->first.second)) {
        look_at.push_back(it->first);
        forget(it++);
      } else {
        ++it;
      }
    }
  }
  out.buyers_planned = static_cast<int>(dirty.size());
  out.buyers_looked_at = static_cast<int>(groups.size());
  lap("hashed");
  abandon_if_stopping();

  // The planned rows of the buyers to plan again (of every buyer with a planned row on a full
  // run), read before the planning: each part's reminders are matched with them as soon as it is
  // planned (and may be written at once, while the next part is planned), and those the planner
  // no longer wants are cancelled after the last part.
  std::vector<PlannedHead> rows;
  if (full) {
    rows = store.all_planned();
  } else {
    for (const auto& [key, in] : dirty) look_at.emplace_back(key.first, key.second);
    // In the order of the (shop, buyer) index: one buyer's pages are the next one's, mostly in
    // SQLite's cache, not read again at random (7,000 buyers of a 1M outbox, in the hash map's
    // order, were ~185 ms).
    std::sort(look_at.begin(), look_at.end());
    // A few thousand buyers at a time, to stop in between: every buyer's rows may be read here
    // (their moments came at once), and a daemon told to stop should not wait for it.
    constexpr std::size_t kBuyersPerRead = 4096;
    for (std::size_t from = 0; from < look_at.size(); from += kBuyersPerRead) {
      abandon_if_stopping();
      const auto to = look_at.begin() + static_cast<std::ptrdiff_t>(std::min(look_at.size(), from + kBuyersPerRead));
      auto some = store.planned_of({look_at.begin() + static_cast<std::ptrdiff_t>(from), to});
      if (rows.empty()) {
        rows = std::move(some);
      } else {
        rows.insert(rows.end(), std::make_move_iterator(some.begin()), std::make_move_iterator(some.end()));
      }
    }
  }
  // The rows read planned, by key, with the hash of what upsert_planned() compares (the store's
  // content_hash), in the order of their keys' first 16 bytes held beside each (KeyEntry): 1.3M
  // rows looked up by the strings themselves were a miss of the cache per comparison.
  std::vector<KeyEntry> as_read;
  if (skip_unchanged_) {
    as_read.reserve(rows.size());
    for (const auto& row : rows) {
      as_read.push_back({prefix_key(row.idempotency_key), row.idempotency_key, row.content_hash});
    }
    std::sort(as_read.begin(), as_read.end());
  }
  lap("read planned");
  abandon_if_stopping();

  // Plan the buyers that need it, over twice the window.
  // (Incremental, `groups` holds only the candidates: never the whole snapshot.)
  const bool whole = full || (!incremental && dirty.size() == groups.size());
  // The parts are the snapshot's orders themselves (it outlives this call), not copies: copying a
  // million orders into parts was ~4 s of this thread's CPU, between the parts' planning.
  std::vector<const Order*> subset;  // not whole, or whole and small: what is planned
  if (!whole) {
    for (const auto& [key, in] : dirty) subset.insert(subset.end(), groups.begin(in.group), groups.end(in.group));
  } else if (snapshot.orders.size() <= kOrdersPerPart) {
    subset.reserve(snapshot.orders.size());
    for (const auto& o : snapshot.orders) subset.push_back(&o);
  }
  const std::size_t to_plan = whole ? snapshot.orders.size() : subset.size();
  const bool streamed = on_part && to_plan > std::max(stream_from_, kOrdersPerPart);
  const LocalTime window_end = now + kWindow;
  // What the daemon knows of the orders (for opt-out replies by phone, `cuifu state`): those of
  // the buyers planned again (their rows changed), every order on a full run.
  // Known before the planning: handed to `on_part` first, written while the first parts are
  // planned (on a full run, made and handed over from the start: `seen_early`).
  if (seen_early) {
    seen_maker.join();
    if (seen_error) std::rethrow_exception(seen_error);
  } else {
    std::vector<const Order*> by_id;
    by_id.reserve(to_plan);
    if (whole) {
      for (const auto& o : snapshot.orders) by_id.push_back(&o);
    } else {
      by_id = subset;
    }
    changes.orders_seen = seen_orders(std::move(by_id));
    if (streamed) {
      ReconcileChanges seen;
      seen.now = now;
      seen.last = false;
      seen.orders_seen = std::move(changes.orders_seen);
      changes.orders_seen.clear();
      on_part(std::move(seen));
    }
  }
  lap("seen");
  std::vector<SkippedOrder> skipped;
  // Every key planned, sorted after the last part (with `key_text`, which they view: a deque, so
  // that a view outlives the next key added), tells which of the rows read stay. Not made when no
  // row was read (the first run of a big export).
  std::deque<std::string> key_text;
  std::vector<KeyEntry> keys;
  std::size_t unchanged_total = 0;
  // The reminders to write go in the plan's order, the order they fall due (by send_at, then
  // buyer): their rows get ids in that order, so a burst's claims and outcomes, taken by
  // (send_at, id), update neighbouring rows, a few table pages per commit. Written in the order of
  // their keys instead, the first write of a big export was faster (the key index grew in order),
  // but a burst then updated a page per row: 20,000 due at once left at 3,250/s and 0.31 ms of
  // the daemon's CPU each, against 5,029/s and 0.23 ms.
  // Each part's reminders are kept as soon as it is planned: those beyond the window (no texts:
  // they only move the buyer's next moment) are dropped there, the others handed to `on_part` or
  // moved into the changes. Gathered for the whole snapshot first, a new 1M export held every
  // part's reminders twice over (the plan's and the changes' vectors, 1.3M slots each) at the
  // reconcile's peak.
  // fn(from, to) over [0, n) in slices: on every core when there are many (a message hashed, or
  // its row's texts made, each), here otherwise.
  const auto in_slices = [](std::size_t n, const std::function<void(std::size_t, std::size_t)>& fn) {
    const std::size_t threads = n >= 2048 ? std::max(1u, std::thread::hardware_concurrency()) : 1;
    run_in_parts(std::vector<std::size_t>(threads, 1), threads,
                 [&](std::size_t from_part, std::size_t to_part, std::size_t) {
                   for (std::size_t t = from_part; t < to_part; ++t) fn(n * t / threads, n * (t + 1) / threads);
                 });
  };
  const auto keep = [&](Plan& p) {
    ReconcileChanges part;
    ReconcileChanges& into = streamed ? part : changes;
    const std::size_t first = into.upserts.size();
    for (auto& r : p.reminders) {
      auto& in = dirty.at(KeyView{r.shop, r.buyer});
      // The buyer's plan changes when this reminder is due, or enters the window.
      const LocalTime t = r.send_at < window_end ? r.send_at : r.send_at - kWindow;
      in.moment = std::min(in.moment, t);
      consider_contact(r.send_at, *in.caps, [&](LocalTime m) {
        if (m > now) in.moment = std::min(in.moment, m);
      });
      if (r.send_at >= window_end) continue;
      ++out.planned;
      into.upserts.push_back(std::move(r));
    }
    std::move(p.skipped.begin(), p.skipped.end(), std::back_inserter(skipped));
    if (!rows.empty()) {
      // This part's keys (its place in into.upserts as the index), sorted.
      std::vector<KeyEntry> own;
      own.reserve(into.upserts.size() - first);
      for (std::size_t i = first; i < into.upserts.size(); ++i) {
        const std::string& key = key_text.emplace_back(into.upserts[i].idempotency_key());
        keys.push_back({prefix_key(key), key, i});
        own.push_back(keys.back());
      }
      std::sort(own.begin(), own.end());
      // The reminders whose row was read planned with what upsert_planned() compares the same:
      // it would leave the row as it is ('unchanged', nothing written) while the row stays
      // planned, so they are not written at all. A restart on the same export called it for every
      // planned row, 1.3M look-ups at 1M orders (~20 s of the loop's CPU) for nothing. A row
      // claimed, sent or given up since it was read would be kept by upsert_planned() as well; one
      // cancelled since (the send gate) stays cancelled, and the send path marks its buyer touched:
      // planned again by the next reconcile, which revives it if the planner still wants it.
      // (place in into.upserts, the hash its row was read with): the reminders of a row read.
      std::vector<std::pair<std::size_t, std::uint64_t>> found;
      auto read = as_read.begin();
      for (std::size_t k = 0; k < own.size() && read != as_read.end(); ++k) {
        read = std::lower_bound(read, as_read.end(), own[k]);
        if (read == as_read.end()) break;
        const std::string_view key = own[k].key;
        // A key planned twice (never seen; the planner makes one reminder per key, and a key
        // names its buyer, whose reminders are all in this part) goes through upsert_planned()
        // each time, as before: the second may change what the first wrote.
        if (read->key != key || (k > 0 && own[k - 1].key == key) || (k + 1 < own.size() && own[k + 1].key == key))
          continue;
        found.emplace_back(own[k].index, read->index);
      }
      // In the order of upserts (the plan's), as they lie in memory: in the keys' order, each
      // reminder's texts were a few misses of the cache.
      std::sort(found.begin(), found.end());
      if (!found.empty()) {
        // Hashed on every core when there are many (a message, its order ids as JSON, the slot in
        // the shop's zone each).
        std::vector<char> unchanged(into.upserts.size() - first, 0);
        in_slices(found.size(), [&](std::size_t from, std::size_t to) {
          for (std::size_t j = from; j < to; ++j) {
            const auto h = store.content_hash(into.upserts[found[j].first]);
            if (h && *h == found[j].second) unchanged[found[j].first - first] = 1;
          }
        });
        // Marked, not taken out: a copy of the others would hold them all twice at the peak, and
        // freeing these here held the writing back by seconds (freed with the rest, off the loop).
        const auto n = static_cast<std::size_t>(std::count(unchanged.begin(), unchanged.end(), 1));
        if (n > 0) {
          into.unchanged.resize(first, false);
          into.unchanged.insert(into.unchanged.end(), unchanged.begin(), unchanged.end());
          into.unchanged_left += n;
          unchanged_total += n;
        }
      }
      if (!into.unchanged.empty()) into.unchanged.resize(into.upserts.size(), false);
    }
    // What each row to write is written with (its key, its order ids and why lines as JSON), made
    // here rather than on the loop that writes it; the why lines themselves are then freed (the
    // JSON holds them in about half the memory).
    into.texts.resize(into.upserts.size());
    in_slices(into.upserts.size() - first, [&](std::size_t from, std::size_t to) {
      for (std::size_t i = first + from; i < first + to; ++i) {
        if (!into.unchanged.empty() && into.unchanged[i]) continue;
        into.texts[i] = PlannedRowText::of(into.upserts[i]);
        if (!into.texts[i].key.empty()) std::vector<std::string>().swap(into.upserts[i].why);
      }
    });
    if (streamed && !part.upserts.empty()) {
      part.now = now;
      part.last = false;
      on_part(std::move(part));
    }
  };
  // What a buyer's plan was made from, kept once it is planned (with every other buyer of its part):
  // the next run plans them again only when it changed, or their moment came. Kept part by part
  // while the loop writes (the reconcile thread mostly waits for it then), not all after the last
  // part, with the loop's writing done and the outbox waiting (at 1M, ~2.6 s). Should this run not
  // finish, the next one plans every buyer: some of those kept may not have their rows written.
  struct InvalidateUnlessDone {
    Reconciler& r;
    bool done = false;
    ~InvalidateUnlessDone() {
      if (!done) r.invalidate();
    }
  } keeping{*this};
  if (full) {
    buyers_.clear();
    moments_.clear();
    shops_.clear();
    buyers_.reserve(dirty.size());
    moments_.at.reserve(dirty.size());
  }
  const auto remember = [&](const KeyView& key, const BuyerInputs& in) {
    auto it = buyers_.find(key);
    if (it == buyers_.end()) {
      it = buyers_.emplace(BuyerKey{key.first, key.second}, BuyerState{}).first;
      it->second.slot = moments_.add(in.moment, &it->first);
      if (const auto shop = shops_.find(key.first); shop != shops_.end()) {
        ++shop->second;
      } else {
        shops_.emplace(std::string(key.first), 1);
      }
    }
    BuyerState& state = it->second;
    state.hash = in.hash;
    state.valid_until = in.moment;
    moments_.at[state.slot].first = in.moment;
    state.ids.clear();
    for (auto o = groups.begin(in.group); o != groups.end(in.group); ++o) {
      state.ids.push_back(std::hash<std::string_view>{}((*o)->id));
    }
  };
  const auto plan_part = [&](const std::vector<const Order*>& part) {
    abandon_if_stopping();
    PlanRequest request{now, now, window_end + kWindow, chat};
    request.bare_from = window_end;  // only the reminders before it are written: no texts for the others
    // On every core, even for a part of a few thousand orders (the planner alone would keep
    // such a part on one thread): a whole new snapshot of a big shop is mostly planning.
    request.threads = std::max(1u, std::thread::hardware_concurrency());
    Plan p = cuifu::plan(part, history, rules.rules, rules.templates, request);
    keep(p);
  };
  if (to_plan <= kOrdersPerPart) {
    plan_part(subset);
    for (const auto& [key, in] : dirty) remember(key, in);
  } else {
    // Each part a run of buyers in the order of the outbox's (shop, buyer) index: a part's rows
    // then land on neighbouring pages of that index, not on pages all over it (in the hash map's
    // order, each row read a page of it back and wrote it again: at 1M, writing the reminders
    // took 22.0 s of the loop's CPU against 15.9 s, 2.75 GB of WAL against 1.50). The buyers are
    // planned apart: the same reminders either way.
    // The distinct shops, found through a set of a few: a million buyers' shop names sorted (all
    // but a few equal, each comparison reading the whole name) were 2.6 % of a restart's samples
    // in a profile at 1M, ~5 % of the reconcile thread's.
    std::unordered_set<std::string_view> distinct;
    for (const auto& [key, in] : dirty) distinct.insert(key.first);
    std::vector<std::string_view> shops(distinct.begin(), distinct.end());
    std::sort(shops.begin(), shops.end());
    struct InIndexOrder {
      std::size_t shop;  // its place in `shops`
      std::pair<std::uint64_t, std::uint64_t> prefix;
      const std::pair<const KeyView, BuyerInputs>* buyer;  // its entry in `dirty`
      bool operator<(const InIndexOrder& o) const {
        return std::tie(shop, prefix, buyer->first.second) < std::tie(o.shop, o.prefix, o.buyer->first.second);
      }
    };
    std::vector<InIndexOrder> order;
    order.reserve(dirty.size());
    for (const auto& entry : dirty) {
      const auto shop =
          static_cast<std::size_t>(std::lower_bound(shops.begin(), shops.end(), entry.first.first) - shops.begin());
      order.push_back({shop, prefix_key(entry.first.second), &entry});
    }
    std::sort(order.begin(), order.end());
    std::vector<const Order*> part;
    std::size_t part_from = 0;  // the part's first buyer in `order`
    const auto plan_buyers = [&](std::size_t to) {
      plan_part(part);
      part.clear();
      for (; part_from < to; ++part_from) remember(order[part_from].buyer->first, order[part_from].buyer->second);
    };
    for (std::size_t b = 0; b < order.size(); ++b) {
      const std::uint32_t group = order[b].buyer->second.group;
      part.insert(part.end(), groups.begin(group), groups.end(group));
      if (part.size() >= kOrdersPerPart) plan_buyers(b + 1);
    }
    if (!part.empty()) plan_buyers(order.size());
  }
  abandon_if_stopping();  // the last part may have waited for the writer (on_part)
  if (unchanged_total > 0) {
    spdlog::debug("reconcile: {} of {} planned reminders are unchanged rows: not written", unchanged_total,
                  out.planned);
  }
  std::sort(keys.begin(), keys.end());
  lap("planned");
  const auto wanted_key = [&](const std::string& key) {
    const KeyEntry wanted{prefix_key(key), key, 0};
    const auto it = std::lower_bound(keys.begin(), keys.end(), wanted);
    return it != keys.end() && it->key == key;
  };
  std::map<std::string, std::string> skip_reason;  // built only when a row may be cancelled
  if (!rows.empty()) {
    for (const auto& s : skipped) skip_reason.emplace(s.order_id, s.reason);
  }
  std::unordered_map<std::string_view, const Order*> all_orders;  // built only when needed
  const auto find_order = [&](const PlannedHead& row, const std::string& id) -> const Order* {
    if (const auto g = groups.find(row.shop, row.buyer)) {
      for (auto o = groups.begin(*g); o != groups.end(*g); ++o) {
        if ((*o)->id == id) return *o;
      }
    }
    if (all_orders.empty()) {
      all_orders.reserve(snapshot.orders.size());
      for (const auto& o : snapshot.orders) all_orders.emplace(o.id, &o);
    }
    const auto it = all_orders.find(id);
    return it == all_orders.end() ? nullptr : it->second;
  };
  for (auto& row : rows) {
    if (wanted_key(row.idempotency_key)) continue;
    std::string reason;
    for (const auto& id : row.order_ids) {
      const Order* o = find_order(row, id);
      if (!o) {
        reason = fmt::format("order {} is no longer in the feed", id);
      } else if (o->status == OrderStatus::paid) {
        reason = fmt::format("order {} was paid", id);
      } else if (o->status == OrderStatus::closed) {
        reason = fmt::format("order {} was closed", id);
      } else if (skip_reason.count(id)) {
        reason = "no longer planned: " + skip_reason.at(id);
      }
      if (!reason.empty()) break;
    }
    if (reason.empty()) reason = "no longer planned within the next 24 h";
    changes.cancels.push_back({std::move(row), std::move(reason)});
  }
  // In the order of their ids, which follow their send times: neighbouring rows, and neighbouring
  // entries of the indexes by state and send time, a few pages per commit instead of one a row.
  std::sort(changes.cancels.begin(), changes.cancels.end(),
            [](const auto& a, const auto& b) { return a.first.id < b.first.id; });

  out.buyers = static_cast<int>(incremental ? buyers_.size() : groups.size());
  keeping.done = true;
  full_ = false;
  generation_ = snapshot.generation;
  chat_ = chat;
  side_ = std::move(side);
  lap("rows");
  std::string times;
  for (std::size_t i = 1; i < laps.size(); ++i) {
    using std::chrono::duration_cast, std::chrono::milliseconds;
    times += fmt::format(" {} {} ms (CPU {} ms)", laps[i].what,
                         duration_cast<milliseconds>(laps[i].at - laps[i - 1].at).count(),
                         duration_cast<milliseconds>(laps[i].cpu - laps[i - 1].cpu).count());
  }
  spdlog::debug("reconcile prepared:{}", times);
  return changes;
}

namespace {

// The level of the line of the row just counted in `out`: info for a reconcile's first
// kRowLinesAtInfo rows, debug after them (counted in rows_logged_at_debug).
spdlog::level::level_enum row_line_level(ReconcileResult& out) {
  if (out.inserted + out.revived + out.cancelled <= kRowLinesAtInfo) return spdlog::level::info;
  ++out.rows_logged_at_debug;
  return spdlog::level::debug;
}

}  // namespace

bool apply_some(ReminderStore& store, ReconcileChanges& c, std::size_t limit) {
  const LocalTime now = c.now;
  ReconcileResult& out = c.result;
  std::size_t budget = limit;
  if (c.next_upsert == c.upserts.size() && c.next_seen < c.orders_seen.size()) {
    // In a transaction of its own.
    // As many rows as the slice allows (they are cheaper: the slice grows while it stays short).
    const std::size_t last = std::min(c.orders_seen.size(), c.next_seen + limit);
    store.record_orders_seen({std::make_move_iterator(c.orders_seen.begin() + static_cast<std::ptrdiff_t>(c.next_seen)),
                              std::make_move_iterator(c.orders_seen.begin() + static_cast<std::ptrdiff_t>(last))},
                             now);
    c.next_seen = last;
    return false;
  }
  store.batch([&] {
    for (; c.next_upsert < c.upserts.size() && budget > 0; ++c.next_upsert) {
      if (!c.unchanged.empty() && c.unchanged[c.next_upsert]) {  // its row is as planned
        --c.unchanged_left;
        continue;
      }
      --budget;
      const auto& r = c.upserts[c.next_upsert];
      const PlannedRowText* text = c.next_upsert < c.texts.size() ? &c.texts[c.next_upsert] : nullptr;
      const auto key = [&] { return text && !text->key.empty() ? text->key : r.idempotency_key(); };
      switch (text ? store.upsert_planned(r, *text, now) : store.upsert_planned(r, now)) {
        case UpsertResult::inserted:
          ++out.inserted;
          if (const auto level = row_line_level(out); spdlog::should_log(level)) {
            spdlog::log(level, "planned {} step {} for {} at {} ({})", to_string(r.channel), r.step, r.buyer,
                        format_local_hm(r.send_at), key());
          }
          break;
        case UpsertResult::revived:
          ++out.revived;
          if (const auto level = row_line_level(out); spdlog::should_log(level)) {
            spdlog::log(level, "re-planned {} step {} for {} at {} ({})", to_string(r.channel), r.step, r.buyer,
                        format_local_hm(r.send_at), key());
          }
          break;
        default: break;
      }
    }
    if (budget == 0 || c.next_seen < c.orders_seen.size() || !c.last) return;
    if (!c.replans_closed) {
      // Rows whose retries ran out and whose re-plan time has come were revived above if the
      // planner still wants them; the others stay cancelled, saying so.
      store.close_replans(now, "not re-planned: the planner does not plan it within 24 h (paid, closed or skipped)");
      c.replans_closed = true;
    }
    for (; c.next_cancel < c.cancels.size() && budget > 0; ++c.next_cancel, --budget) {
      const auto& [row, reason] = c.cancels[c.next_cancel];
      // Read when the plan was made: a row claimed (sending) or sent since is left alone.
      if (store.cancel_planned_as_read(row, now, reason)) {
        ++out.cancelled;
        if (const auto level = row_line_level(out); spdlog::should_log(level)) {
          spdlog::log(level, "cancelled {} step {} for {} ({}): {}", to_string(row.channel), row.step, row.buyer,
                      row.idempotency_key, reason);
        }
      }
    }
  });
  if (!c.last) return c.next_upsert == c.upserts.size() && c.next_seen == c.orders_seen.size();
  return c.next_upsert == c.upserts.size() && c.next_seen == c.orders_seen.size() && c.replans_closed &&
         c.next_cancel == c.cancels.size();
}

void carry_written(const ReconcileResult& from, ReconcileResult& to) {
  to.inserted = from.inserted;
  to.revived = from.revived;
  to.cancelled = from.cancelled;
  to.rows_logged_at_debug = from.rows_logged_at_debug;
}

ReconcileResult Reconciler::run(ReminderStore& store, const FeedSnapshot& snapshot, const RuleSet& rules, LocalTime now,
                                const ChatLog* chat, const std::set<BuyerKey>& touched) {
  // As the daemon does: each part written as soon as it is planned, the rest after the last.
  ReconcileResult written;
  const auto write = [&](ReconcileChanges& c) {
    carry_written(written, c.result);
    while (!apply_some(store, c, kRowsPerBatch)) {
    }
    carry_written(c.result, written);
  };
  // The orders seen of a full run may come from a thread of prepare()'s own while it reads the
  // store through the same connection: written with the next part, on prepare()'s thread.
  const std::thread::id own = std::this_thread::get_id();
  std::optional<ReconcileChanges> early;
  const auto write_early = [&] {
    if (early) write(*early);
    early.reset();
  };
  ReconcileChanges c = prepare(store, snapshot, rules, now, chat, touched, [&](ReconcileChanges&& part) {
    if (std::this_thread::get_id() != own) {
      early = std::move(part);
      return;
    }
    write_early();
    write(part);
  });
  write_early();
  write(c);
  return c.result;
}

ReconcileResult reconcile(ReminderStore& store, const FeedSnapshot& snapshot, const RuleSet& rules, LocalTime now,
                          const ChatLog* chat) {
  Reconciler fresh;
  return fresh.run(store, snapshot, rules, now, chat);
}

}  // namespace cuifu
