#include "app/daemon.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/asio.hpp>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "app/daemon_clock.h"
#include "app/optout.h"
#include "app/send_gate.h"
#include "app/status_server.h"
#include "core/planner.h"
#include "core/text.h"
#include "io/channels/delivery.h"
#include "io/channels/http_client.h"
#include "io/channels/senders.h"
#include "io/chat_feed.h"
#include "io/feed_poller.h"
#include "io/rules_loader.h"
#include "io/store.h"

namespace cuifu {

namespace asio = boost::asio;
using nlohmann::json;

namespace {

// One background thread running blocking jobs in order (feed polls).
class BackgroundRunner {
 public:
  BackgroundRunner() : thread_([this] { run(); }) {}
  ~BackgroundRunner() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
      cv_.notify_all();
    }
    thread_.join();
  }
  void post(std::function<void()> job) {
    std::lock_guard lock(mu_);
    jobs_.push_back(std::move(job));
    cv_.notify_all();
  }

 private:
  void run() {
    for (;;) {
      std::function<void()> job;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return stopping_ || !jobs_.empty(); });
        if (stopping_) return;
        job = std::move(jobs_.front());
        jobs_.pop_front();
      }
      job();
    }
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::thread thread_;
};

std::string shown_contact(Channel c, const std::string& contact) {
  if (contact.empty()) return "-";
  return c == Channel::email ? mask_email(contact) : mask_phone(contact);
}

std::string minutes_text(std::chrono::duration<double> d) {
  return fmt::format("{} min", static_cast<long long>(d.count() / 60));
}

// Latency histogram for /metrics (seconds).
struct LatencyHistogram {
  static constexpr double kBounds[] = {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
  std::array<std::uint64_t, std::size(kBounds)> buckets{};
  std::uint64_t count = 0;
  double sum = 0;
  void observe(double s) {
    for (std::size_t i = 0; i < std::size(kBounds); ++i) buckets[i] += s <= kBounds[i];
    ++count;
    sum += s;
  }
};

// What a pause reason is about, without its particulars (an age, an error's text): a new
// kind of reason is logged again while paused.
std::string_view pause_kind(std::string_view reason) {
  return reason.substr(0, std::min(reason.find_first_of(":0123456789"), reason.size()));
}

}  // namespace

struct Daemon::Impl {
  explicit Impl(const DaemonOptions& o);

  int run();

  // --- setup
  void load_everything(const DaemonConfig& c, std::shared_ptr<const RuleSet>& rules);
  void build_workers();
  void recover_sending_rows();

  // --- loop
  void schedule_poll(std::chrono::duration<double> daemon_delay);
  void start_poll();
  void on_poll(FeedPoll p, std::optional<ChatPoll> c);
  // A new chat snapshot, or an error reading it; true when the plan must be redone.
  bool on_chat_poll(ChatPoll c);
  void update_paused(const char* context);
  std::optional<std::chrono::duration<double>> feed_age() const;
  void reconcile(const char* why);
  void dispatch_due();
  void arm_send_timer();
  std::string presend_problem(const OutboxRow& row, const OptOutSet& opted_out) const;
  void deliver(const OutboxRow& row);
  // Called from channel worker threads right before every attempt; reads only `gate`.
  std::string gate_check(const OutboxRow& row) const;
  // Copies what gate_check needs into `gate` (loop thread).
  void publish_gate();
  // from_worker: a report posted back by a channel worker (the loop may see many in a
  // burst: their re-plans are coalesced into one).
  void on_delivered(const OutboxRow& row, const DeliveryReport& r, bool from_worker);
  void request_reconcile(const char* why);
  void reload();
  void begin_shutdown(int signal);
  void finish_shutdown();
  void await_signal();

  StatusReply handle_status(const StatusRequest& r);
  StatusReply healthz();
  StatusReply metrics();
  StatusReply optout(const StatusRequest& r);

  // Declared first: destroyed last, after everything that posts to it.
  asio::io_context io;
  asio::signal_set signals{io, SIGTERM, SIGINT, SIGHUP};
  asio::steady_timer poll_timer{io};
  asio::steady_timer send_timer{io};
  asio::steady_timer deadline_timer{io};

  DaemonOptions options;
  DaemonConfig config;
  ShopZone zone;
  std::unique_ptr<DaemonClock> clock;
  std::shared_ptr<const RuleSet> rules;
  std::unique_ptr<SqliteStore> store;
  std::unique_ptr<StatusServer> status;

  // feed
  std::unique_ptr<FeedPoller> poller;  // used only on the runner thread
  bool poll_in_flight = false;
  std::shared_ptr<const FeedSnapshot> snapshot;
  std::map<std::string, const Order*> orders_by_id;
  std::optional<std::chrono::system_clock::time_point> produced_at;
  std::string feed_error;
  // chat export (optional): read with the feed, on the runner thread; a chat that cannot be
  // read keeps the last good one (it refines reasons, it never pauses sending).
  std::unique_ptr<ChatPoller> chat_poller;
  std::shared_ptr<const ChatSnapshot> chat;
  std::string chat_error;
  bool paused = true;
  std::string paused_reason = "no feed snapshot yet";

  // What the channel workers see (under gate_mu) to refuse a send right before an attempt
  // that waited in a queue, for a rate limit or for a retry: a copy, published by the loop.
  struct GateView {
    bool paused = true;
    std::string paused_reason;
    std::optional<std::chrono::system_clock::time_point> produced_at;
    SecondsD max_feed_age{0};
    std::map<std::string, OrderStatus> orders;
    OptOutSet opted_out;
    std::shared_ptr<const RuleSet> rules;
  };
  mutable std::mutex gate_mu;
  GateView gate;  // declared before the workers: they may read it until joined

  // delivery
  std::map<Channel, std::unique_ptr<ChannelWorker>> workers;
  std::vector<std::unique_ptr<ChannelWorker>> retired;  // replaced on reload, stopped
  std::set<std::int64_t> in_flight;
  // Contacts being made right now (handed to a worker, not yet logged): they count for the
  // caps of the buyer's next send, like logged ones.
  std::map<std::int64_t, ContactRecord> in_flight_contacts;
  LatencyHistogram latency;
  bool stopping = false;
  bool dispatch_posted = false;
  bool reconcile_posted = false;
  int exit_code = 0;

  std::unique_ptr<BackgroundRunner> runner;  // destroyed first (declared last)
};

Daemon::Impl::Impl(const DaemonOptions& o)
    : options(o), config(load_daemon_config(o.config_path)), zone(config.time_zone) {
  if (const auto missing = missing_secrets(config); !missing.empty()) {
    throw std::runtime_error(fmt::format("{}: environment variable{} not set: {}", o.config_path,
                                         missing.size() == 1 ? "" : "s", fmt::join(missing, ", ")));
  }
  if (o.simulate_from) {
    if (!(o.speed > 0)) throw std::runtime_error("--speed must be above 0");
    clock = std::make_unique<SimulatedClock>(*o.simulate_from, o.speed);
  } else {
    clock = std::make_unique<RealDaemonClock>(zone);
  }
  load_everything(config, rules);
  store = std::make_unique<SqliteStore>(config.state, zone);
  curl_global_setup();
  status =
      std::make_unique<StatusServer>(io, config.listen, [this](const StatusRequest& r) { return handle_status(r); });
  build_workers();
  runner = std::make_unique<BackgroundRunner>();
}

void Daemon::Impl::load_everything(const DaemonConfig& c, std::shared_ptr<const RuleSet>& out) {
  out = std::make_shared<const RuleSet>(load_rule_set(c.rules_dir, c.templates_dir));
  FeedOptions fo;
  fo.encoding = c.feed_encoding;
  if (!c.feed_mapping.empty()) {
    fo.mapping = load_column_mapping(c.feed_mapping);
    fo.format = FeedFormat::csv;
  }
  poller =
      std::make_unique<FeedPoller>(c.feed, fo, std::chrono::duration_cast<std::chrono::milliseconds>(c.feed_timeout));
  chat_poller.reset();
  if (!c.chat.empty()) {
    ChatOptions co;
    co.encoding = c.chat_encoding;
    if (!c.chat_mapping.empty()) co.mapping = load_chat_mapping(c.chat_mapping);
    chat_poller =
        std::make_unique<ChatPoller>(c.chat, co, std::chrono::duration_cast<std::chrono::milliseconds>(c.feed_timeout));
  }
}

void Daemon::Impl::build_workers() {
  for (auto& [ch, w] : workers) {
    w->stop();
    retired.push_back(std::move(w));
  }
  workers.clear();
  for (const auto& [ch, cc] : config.channels) {
    if (auto sender = make_sender(ch, config)) {
      workers[ch] = std::make_unique<ChannelWorker>(std::string(to_string(ch)), std::move(sender), cc.policy);
    }
  }
}

void Daemon::Impl::recover_sending_rows() {
  const LocalTime now = clock->now();
  for (const auto& row : store->in_state(OutboxState::sending)) {
    // Possibly sent before a crash: send again with the same idempotency key.
    spdlog::warn(
        "reminder {} ({} to {}) was being sent when cuifu stopped; it will be sent again with the same "
        "idempotency key {}",
        row.id, to_string(row.channel), shown_contact(row.channel, row.contact), row.idempotency_key);
    store->mark_planned(row.id, now, "resent after a restart: possibly sent before (same idempotency key)");
  }
}

int Daemon::Impl::run() {
  clock->start();
  spdlog::info("cuifu {} starting: feed {}, state {}, status http://{}/, time zone {}{}", "0.1.0", config.feed,
               config.state, config.listen, zone.name(),
               clock->simulated()
                   ? fmt::format(", SIMULATED clock from {} at {}x", format_local_time(clock->now()), options.speed)
                   : "");
  recover_sending_rows();
  await_signal();
  schedule_poll(std::chrono::seconds{0});
  io.run();
  spdlog::info("cuifu stopped");
  return exit_code;
}

void Daemon::Impl::await_signal() {
  signals.async_wait([this](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    if (sig == SIGHUP) {
      reload();
      await_signal();
      return;
    }
    if (stopping) {
      spdlog::warn("second signal {}: stopping at once", sig);
      io.stop();
      return;
    }
    begin_shutdown(sig);
    await_signal();
  });
}

// ---------------------------------------------------------------- feed

void Daemon::Impl::schedule_poll(std::chrono::duration<double> daemon_delay) {
  if (stopping) return;
  poll_timer.expires_after(clock->to_real(daemon_delay));
  poll_timer.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) start_poll();
  });
}

void Daemon::Impl::start_poll() {
  if (stopping || poll_in_flight) return;
  poll_in_flight = true;
  FeedPoller* p = poller.get();
  ChatPoller* cp = chat_poller.get();
  runner->post([this, p, cp] {
    FeedPoll result = p->poll();
    std::optional<ChatPoll> chat_result;
    if (cp) chat_result = cp->poll();
    asio::post(io, [this, result = std::move(result), chat_result = std::move(chat_result)]() mutable {
      on_poll(std::move(result), std::move(chat_result));
    });
  });
}

bool Daemon::Impl::on_chat_poll(ChatPoll c) {
  switch (c.kind) {
    case FeedPoll::Kind::fresh:
      chat_error.clear();
      chat = c.snapshot;
      for (const auto& r : chat->rejected) spdlog::warn("{}:{}: rejected: {}", chat->source, r.line, r.error);
      spdlog::info("chat snapshot: {} messages ({} rejected rows) from {}", chat->chat.size(), chat->rejected.size(),
                   chat->source);
      return true;
    case FeedPoll::Kind::error:
      if (c.error != chat_error) spdlog::error("chat: {} (planning goes on with the last chat read)", c.error);
      chat_error = c.error;
      return false;
    default: return false;
  }
}

void Daemon::Impl::on_poll(FeedPoll p, std::optional<ChatPoll> c) {
  poll_in_flight = false;
  if (stopping) return;
  const bool chat_changed = c && on_chat_poll(std::move(*c));
  if (chat_changed && p.kind != FeedPoll::Kind::fresh) reconcile("new chat snapshot");
  switch (p.kind) {
    case FeedPoll::Kind::fresh: {
      feed_error.clear();
      produced_at = p.produced_at;
      snapshot = p.snapshot;
      orders_by_id.clear();
      for (const auto& o : snapshot->orders) orders_by_id[o.id] = &o;
      {
        std::map<std::string, OrderStatus> statuses;
        for (const auto& o : snapshot->orders) statuses[o.id] = o.status;
        std::lock_guard lock(gate_mu);
        gate.orders = std::move(statuses);
      }
      for (const auto& r : snapshot->rejected) spdlog::warn("{}:{}: rejected: {}", snapshot->source, r.line, r.error);
      try {
        store->record_orders_seen(snapshot->orders, clock->now());
      } catch (const StoreError& e) {
        spdlog::error("{}", e.what());
      }
      spdlog::info(
          "feed snapshot: {} orders ({} rejected rows, {} superseded by a newer row of the same order) from {}",
          snapshot->orders.size(), snapshot->rejected.size(), snapshot->superseded.size(), snapshot->source);
      update_paused("feed snapshot");
      reconcile("new feed snapshot");
      break;
    }
    case FeedPoll::Kind::unchanged:
      feed_error.clear();
      produced_at = p.produced_at;
      update_paused("feed unchanged");
      break;
    case FeedPoll::Kind::settling:
      spdlog::info("feed {} is still being written; trying again shortly", config.feed);
      break;
    case FeedPoll::Kind::error:
      feed_error = p.error;
      spdlog::error("feed: {}", p.error);
      update_paused("feed error");
      break;
  }
  const bool settling = p.kind == FeedPoll::Kind::settling;
  schedule_poll(settling ? std::chrono::duration<double>(clock->to_daemon(std::chrono::milliseconds{200}))
                         : std::chrono::duration<double>(config.poll_interval));
  dispatch_due();
}

std::optional<std::chrono::duration<double>> Daemon::Impl::feed_age() const {
  if (!produced_at) return std::nullopt;
  const std::chrono::duration<double> real = std::chrono::system_clock::now() - *produced_at;
  return clock->to_daemon(std::max(real, std::chrono::duration<double>(0)));
}

void Daemon::Impl::update_paused(const char* context) {
  std::string reason;
  const auto age = feed_age();
  if (!snapshot) {
    reason = feed_error.empty() ? "no feed snapshot yet" : "feed unreadable: " + feed_error;
  } else if (!feed_error.empty()) {
    reason = "feed unreadable: " + feed_error;
  } else if (!age || *age > config.max_feed_age) {
    reason = fmt::format("feed is {} old (max {})", age ? minutes_text(*age) : "?", minutes_text(config.max_feed_age));
  }
  const bool now_paused = !reason.empty();
  // Every pause and resume is a warning with its reason, a stale feed at start-up included.
  if (now_paused && (!paused || pause_kind(reason) != pause_kind(paused_reason))) {
    spdlog::warn("sending PAUSED ({}): {}", context, reason);
  }
  if (!now_paused && paused) {
    spdlog::warn("sending resumed ({}): feed is {} old (max {}); it was paused: {}", context,
                 age ? minutes_text(*age) : "?", minutes_text(config.max_feed_age), paused_reason);
  }
  paused = now_paused;
  paused_reason = reason;
  publish_gate();
}

void Daemon::Impl::publish_gate() {
  std::lock_guard lock(gate_mu);
  gate.paused = paused;
  gate.paused_reason = paused_reason;
  gate.produced_at = produced_at;
  gate.max_feed_age = config.max_feed_age;
  gate.rules = rules;
}

std::string Daemon::Impl::gate_check(const OutboxRow& row) const {
  std::lock_guard lock(gate_mu);
  if (gate.paused) return "sending paused: " + gate.paused_reason;
  if (!gate.produced_at) return "sending paused: no feed snapshot";
  const std::chrono::duration<double> real = std::chrono::system_clock::now() - *gate.produced_at;
  const auto age = clock->to_daemon(std::max(real, std::chrono::duration<double>(0)));
  if (age > gate.max_feed_age) {
    return fmt::format("sending paused: feed is {} old (max {})", minutes_text(age), minutes_text(gate.max_feed_age));
  }
  for (const auto& id : row.order_ids) {
    const auto it = gate.orders.find(id);
    if (it == gate.orders.end()) return fmt::format("order {} is not in the newest feed snapshot", id);
    if (it->second == OrderStatus::paid) return fmt::format("order {} paid", id);
    if (it->second == OrderStatus::closed) return fmt::format("order {} closed", id);
  }
  if (is_opted_out(gate.opted_out, row)) {
    return fmt::format("buyer opted out of {}", to_string(row.channel));
  }
  if (gate.rules) return send_time_problem(gate.rules->rules, row, clock->now());
  return {};
}

// ---------------------------------------------------------------- planning

void Daemon::Impl::reconcile(const char* why) {
  if (!snapshot || stopping) return;
  const LocalTime now = clock->now();
  try {
    const ContactHistory history = store->history();
    const Plan plan = cuifu::plan(snapshot->orders, history, rules->rules, rules->templates,
                                  {now, now, now + std::chrono::hours{24}, chat ? &chat->chat : nullptr});
    std::set<std::string> keys;
    int inserted = 0, revived = 0;
    for (const auto& r : plan.reminders) {
      keys.insert(r.idempotency_key());
      switch (store->upsert_planned(r, now)) {
        case UpsertResult::inserted:
          ++inserted;
          spdlog::info("planned {} step {} for {} at {} ({})", to_string(r.channel), r.step, r.buyer,
                       format_local_hm(r.send_at), r.idempotency_key());
          break;
        case UpsertResult::revived:
          ++revived;
          spdlog::info("re-planned {} step {} for {} at {} ({})", to_string(r.channel), r.step, r.buyer,
                       format_local_hm(r.send_at), r.idempotency_key());
          break;
        default: break;
      }
    }
    std::map<std::string, std::string> skip_reason;
    for (const auto& s : plan.skipped) skip_reason.emplace(s.order_id, s.reason);
    int cancelled = 0;
    for (const auto& row : store->in_state(OutboxState::planned)) {
      if (keys.count(row.idempotency_key)) continue;
      std::string reason;
      for (const auto& id : row.order_ids) {
        const auto it = orders_by_id.find(id);
        if (it == orders_by_id.end()) {
          reason = fmt::format("order {} is no longer in the feed", id);
        } else if (it->second->status == OrderStatus::paid) {
          reason = fmt::format("order {} was paid", id);
        } else if (it->second->status == OrderStatus::closed) {
          reason = fmt::format("order {} was closed", id);
        } else if (skip_reason.count(id)) {
          reason = "no longer planned: " + skip_reason.at(id);
        }
        if (!reason.empty()) break;
      }
      if (reason.empty()) reason = "no longer planned within the next 24 h";
      if (store->cancel(row.id, now, reason)) {
        ++cancelled;
        spdlog::info("cancelled {} step {} for {} ({}): {}", to_string(row.channel), row.step, row.buyer,
                     row.idempotency_key, reason);
      }
    }
    spdlog::debug("reconciled ({}): {} planned, {} new, {} re-planned, {} cancelled", why, plan.reminders.size(),
                  inserted, revived, cancelled);
  } catch (const StoreError& e) {
    spdlog::error("reconcile: {}", e.what());
  }
  arm_send_timer();
}

// ---------------------------------------------------------------- sending

std::string Daemon::Impl::presend_problem(const OutboxRow& row, const OptOutSet& opted_out) const {
  for (const auto& id : row.order_ids) {
    const auto it = orders_by_id.find(id);
    if (it == orders_by_id.end()) return fmt::format("order {} is not in the newest feed snapshot", id);
    const Order& o = *it->second;
    if (o.status == OrderStatus::paid) {
      return o.paid_at ? fmt::format("order {} paid at {}", id, format_local_hm(*o.paid_at))
                       : fmt::format("order {} paid", id);
    }
    if (o.status == OrderStatus::closed) return fmt::format("order {} closed", id);
  }
  if (is_opted_out(opted_out, row)) return fmt::format("buyer opted out of {}", to_string(row.channel));
  if (!config.channels.count(row.channel)) return fmt::format("channel {} is not configured", to_string(row.channel));
  // Late (catch-up, a pause, a slow queue) is only allowed while it is still an allowed time.
  return send_time_problem(rules->rules, row, clock->now());
}

void Daemon::Impl::dispatch_due() {
  if (stopping) return;
  update_paused("dispatch");
  if (paused) return;
  const LocalTime now = clock->now();
  bool replan = false;
  try {
    OptOutSet opted_out;
    for (const auto& o : store->opt_outs()) opted_out.insert({o.shop, o.buyer, o.channel});
    {
      std::lock_guard lock(gate_mu);
      gate.opted_out = opted_out;
    }
    const auto due = store->due(now);
    // The buyers' contacts, logged and in flight, for the caps: checked again here because
    // a row planned before a pause or an outage may now come too close to another one.
    // A buyer is (shop, buyer).
    std::map<std::pair<std::string, std::string>, std::vector<ContactRecord>> contacts;
    if (!due.empty()) {
      std::set<std::pair<std::string, std::string>> buyers;
      for (const auto& row : due) buyers.insert({row.shop, row.buyer});
      for (auto& c : store->history().contacts) {
        if (buyers.count({c.shop, c.buyer})) contacts[{c.shop, c.buyer}].push_back(std::move(c));
      }
      for (const auto& [id, c] : in_flight_contacts) contacts[{c.shop, c.buyer}].push_back(c);
    }
    for (const auto& row : due) {
      if (in_flight.count(row.id)) continue;
      const auto late = std::chrono::duration<double>(now - row.send_at);
      if (late > config.catch_up_limit) {
        const std::string reason =
            fmt::format("missed its slot {} by {} (catch-up limit {}): not sent late; re-planning",
                        format_local_hm(row.send_at), minutes_text(late), minutes_text(config.catch_up_limit));
        store->cancel(row.id, now, reason);
        spdlog::warn("reminder {} for {}: {}", row.idempotency_key, row.buyer, reason);
        replan = true;
        continue;
      }
      std::string problem = presend_problem(row, opted_out);
      if (problem.empty()) problem = cap_problem(rules->rules, contacts[{row.shop, row.buyer}], row, now);
      if (!problem.empty()) {
        store->cancel(row.id, now, problem);
        spdlog::info("cancelled {} to {} right before sending ({}): {}", to_string(row.channel), row.buyer,
                     row.idempotency_key, problem);
        replan = true;
        continue;
      }
      deliver(row);
      contacts[{row.shop, row.buyer}].push_back({row.buyer, row.channel, now, row.order_ids, row.step, row.shop});
    }
  } catch (const StoreError& e) {
    spdlog::error("dispatch: {}", e.what());
  }
  if (replan) {
    reconcile("after cancellations");
    // Re-planned rows may be due at once: look again on the next turn of the loop.
    if (!dispatch_posted) {
      dispatch_posted = true;
      asio::post(io, [this] {
        dispatch_posted = false;
        dispatch_due();
      });
    }
  }
  arm_send_timer();
}

void Daemon::Impl::deliver(const OutboxRow& row) {
  const LocalTime now = clock->now();
  if (!store->mark_sending(row.id, now)) return;
  if (row.channel == Channel::phone) {
    CallTask t;
    t.idempotency_key = row.idempotency_key;
    t.buyer = row.buyer;
    t.shop = row.shop;
    t.receiver_name = row.receiver_name;
    t.phone = row.contact;
    t.order_ids = row.order_ids;
    t.message = row.message;
    t.due_at = row.send_at;
    t.created_at = now;
    store->add_call_task(t);
  }
  const auto it = workers.find(row.channel);
  if (it == workers.end()) {
    // Phone without a robot: the call task is the delivery.
    DeliveryReport r;
    r.id = row.id;
    r.delivered = true;
    on_delivered(row, r, false);
    return;
  }
  in_flight.insert(row.id);
  in_flight_contacts[row.id] = ContactRecord{row.buyer, row.channel, now, row.order_ids, row.step, row.shop};
  spdlog::info("sending {} step {} to {} ({}) [{}]", to_string(row.channel), row.step, row.buyer,
               shown_contact(row.channel, row.contact), row.idempotency_key);
  it->second->submit(
      row,
      [this, row](DeliveryReport r) { asio::post(io, [this, row, r = std::move(r)] { on_delivered(row, r, true); }); },
      [this](const OutboxRow& r) { return gate_check(r); });
}

void Daemon::Impl::request_reconcile(const char* why) {
  if (reconcile_posted) return;
  reconcile_posted = true;
  asio::post(io, [this, why] {
    reconcile_posted = false;
    reconcile(why);
  });
}

void Daemon::Impl::on_delivered(const OutboxRow& row, const DeliveryReport& r, bool from_worker) {
  in_flight.erase(row.id);
  in_flight_contacts.erase(row.id);
  const LocalTime now = clock->now();
  try {
    if (r.delivered) {
      // On-time sends are logged at their slot, so the contact log (and `plan --state`)
      // agrees with the plan to the minute; a late one at the minute it really went out.
      const LocalTime at = now - row.send_at <= Seconds{60} ? row.send_at : std::chrono::floor<Minutes>(now);
      store->mark_sent(row.id, now, {row.buyer, row.channel, at, row.order_ids, row.step, row.shop});
      if (r.attempts > 0) latency.observe(r.seconds);
      spdlog::info("sent {} step {} to {} ({}) [{}]{}", to_string(row.channel), row.step, row.buyer,
                   shown_contact(row.channel, row.contact), row.idempotency_key,
                   r.attempts > 1 ? fmt::format(" after {} attempts", r.attempts) : "");
    } else if (r.cancelled) {
      store->cancel(row.id, now, r.error);
      spdlog::info("cancelled {} to {} right before sending ({}): {}", to_string(row.channel), row.buyer,
                   row.idempotency_key, r.error);
    } else if (r.interrupted) {
      store->mark_planned(row.id, now, "interrupted by shutdown: " + r.error);
      spdlog::info("reminder {} not finished before shutdown; it stays planned", row.idempotency_key);
    } else {
      store->mark_failed(row.id, now, r.error);
      spdlog::error("FAILED {} to {} ({}) [{}]: {}", to_string(row.channel), row.buyer,
                    shown_contact(row.channel, row.contact), row.idempotency_key, r.error);
    }
  } catch (const StoreError& e) {
    spdlog::error("recording delivery of {}: {}", row.idempotency_key, e.what());
  }
  if (stopping) {
    if (in_flight.empty()) finish_shutdown();
    return;
  }
  // The next step may now be plannable; a cancelled one re-planned into its next allowed
  // window. A full re-plan per report would stall the loop in a burst of sends: coalesce.
  if (r.delivered || r.cancelled) {
    if (from_worker) {
      request_reconcile(r.delivered ? "after a send" : "after a cancellation");
    } else {
      reconcile("after a send");
    }
  }
  arm_send_timer();
}

void Daemon::Impl::arm_send_timer() {
  if (stopping) return;
  send_timer.cancel();
  if (paused) return;  // the next poll resumes sending
  std::optional<LocalTime> next;
  try {
    next = store->next_due();
  } catch (const StoreError& e) {
    spdlog::error("{}", e.what());
  }
  if (!next) return;
  const auto wait = std::max(std::chrono::duration<double>(0), std::chrono::duration<double>(*next - clock->now()));
  // +1 s of daemon time: the simulated clock counts whole seconds.
  send_timer.expires_after(clock->to_real(wait + std::chrono::seconds{1}));
  send_timer.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) dispatch_due();
  });
}

// ---------------------------------------------------------------- signals

void Daemon::Impl::reload() {
  spdlog::info("SIGHUP: reloading config {}, rules and templates", options.config_path);
  try {
    DaemonConfig next = load_daemon_config(options.config_path);
    if (const auto missing = missing_secrets(next); !missing.empty()) {
      throw std::runtime_error(fmt::format("environment variables not set: {}", fmt::join(missing, ", ")));
    }
    std::shared_ptr<const RuleSet> next_rules;
    auto old_poller = std::move(poller);
    auto old_chat_poller = std::move(chat_poller);
    try {
      load_everything(next, next_rules);
    } catch (...) {
      poller = std::move(old_poller);
      chat_poller = std::move(old_chat_poller);
      throw;
    }
    if (poll_in_flight) {
      // The runner still uses the old pollers: hand them over and let the runner free them.
      runner->post([p = std::shared_ptr<FeedPoller>(std::move(old_poller)),
                    cp = std::shared_ptr<ChatPoller>(std::move(old_chat_poller))] {});
    }
    if (next.chat.empty()) chat.reset();
    for (const auto& [what, changed] :
         {std::pair{"state", next.state != config.state}, std::pair{"status.listen", next.listen != config.listen},
          std::pair{"time_zone", next.time_zone != config.time_zone}}) {
      if (changed) spdlog::warn("SIGHUP: a change of {} needs a restart; keeping the old value", what);
    }
    next.state = config.state;
    next.listen = config.listen;
    next.time_zone = config.time_zone;
    config = std::move(next);
    rules = std::move(next_rules);
    publish_gate();
    build_workers();
    spdlog::info("SIGHUP: reloaded: {} segments, {} templates", rules->rules.segments.size(),
                 rules->templates.all().size());
    reconcile("reload");
  } catch (const std::exception& e) {
    spdlog::error("SIGHUP: reload failed, keeping the old config, rules and templates:\n{}", e.what());
  }
}

void Daemon::Impl::begin_shutdown(int sig) {
  spdlog::info("signal {}: stopping; {} send{} in flight", sig, in_flight.size(), in_flight.size() == 1 ? "" : "s");
  stopping = true;
  poll_timer.cancel();
  send_timer.cancel();
  for (auto& [ch, w] : workers) w->stop();
  if (in_flight.empty()) {
    finish_shutdown();
    return;
  }
  deadline_timer.expires_after(config.shutdown_deadline);  // real time, even when simulated
  deadline_timer.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    spdlog::warn("shutdown deadline passed with {} send(s) in flight; they will be resent at the next start",
                 in_flight.size());
    io.stop();
  });
}

void Daemon::Impl::finish_shutdown() {
  deadline_timer.cancel();
  signals.cancel();
  status->stop();
  poll_timer.cancel();
  send_timer.cancel();
  io.stop();  // the runner may still be polling; its result is dropped
}

// ---------------------------------------------------------------- status

StatusReply Daemon::Impl::handle_status(const StatusRequest& r) {
  const std::string path = r.target.substr(0, r.target.find('?'));
  if (path == "/healthz" && r.method == "GET") return healthz();
  if (path == "/metrics" && r.method == "GET") return metrics();
  if (path == "/optout" && r.method == "POST") return optout(r);
  if (path == "/healthz" || path == "/metrics" || path == "/optout") return {405, "text/plain", "method not allowed\n"};
  return {404, "text/plain", "not found\n"};
}

StatusReply Daemon::Impl::healthz() {
  update_paused("healthz");
  const auto age = feed_age();
  std::int64_t depth = 0;
  for (const auto& [k, n] : store->counts()) {
    if (k.second == OutboxState::planned || k.second == OutboxState::sending) depth += n;
  }
  json j = {{"status", paused ? "paused" : "ok"},
            {"sending_paused", paused},
            {"reason", paused_reason},
            {"now", format_local_time(clock->now())},
            {"simulated", clock->simulated()},
            {"feed", config.feed},
            {"feed_age_seconds", age ? json(static_cast<std::int64_t>(age->count())) : json(nullptr)},
            {"feed_orders", snapshot ? snapshot->orders.size() : 0},
            {"outbox_depth", depth},
            {"in_flight", in_flight.size()}};
  if (!config.chat.empty()) {
    j["chat"] = config.chat;
    j["chat_messages"] = chat ? chat->chat.size() : 0;
    j["chat_error"] = chat_error;
  }
  return {paused ? 503 : 200, "application/json", j.dump() + "\n"};
}

StatusReply Daemon::Impl::metrics() {
  update_paused("metrics");
  std::string out;
  out += "# HELP cuifu_reminders_total Reminders in the outbox, by channel and state.\n";
  out += "# TYPE cuifu_reminders_total gauge\n";
  const auto counts = store->counts();
  std::int64_t depth = 0;
  for (Channel c : kAllChannels) {
    for (auto s :
         {OutboxState::planned, OutboxState::sending, OutboxState::sent, OutboxState::failed, OutboxState::cancelled}) {
      const auto it = counts.find({c, s});
      const std::int64_t n = it == counts.end() ? 0 : it->second;
      if (s == OutboxState::planned || s == OutboxState::sending) depth += n;
      out += fmt::format("cuifu_reminders_total{{channel=\"{}\",state=\"{}\"}} {}\n", to_string(c), to_string(s), n);
    }
  }
  const auto age = feed_age();
  out += "# HELP cuifu_feed_age_seconds Age of the newest feed snapshot (daemon time).\n";
  out += "# TYPE cuifu_feed_age_seconds gauge\n";
  out += fmt::format("cuifu_feed_age_seconds {}\n", age ? fmt::format("{:.0f}", age->count()) : "+Inf");
  out += "# HELP cuifu_outbox_depth Reminders planned or being sent.\n# TYPE cuifu_outbox_depth gauge\n";
  out += fmt::format("cuifu_outbox_depth {}\n", depth);
  out += "# HELP cuifu_sending_paused 1 while sending is paused (stale or unreadable feed).\n";
  out += "# TYPE cuifu_sending_paused gauge\n";
  out += fmt::format("cuifu_sending_paused {}\n", paused ? 1 : 0);
  out += "# HELP cuifu_send_latency_seconds Time to deliver a reminder, retries included (real time).\n";
  out += "# TYPE cuifu_send_latency_seconds histogram\n";
  for (std::size_t i = 0; i < std::size(LatencyHistogram::kBounds); ++i) {
    out += fmt::format("cuifu_send_latency_seconds_bucket{{le=\"{}\"}} {}\n", LatencyHistogram::kBounds[i],
                       latency.buckets[i]);
  }
  out += fmt::format("cuifu_send_latency_seconds_bucket{{le=\"+Inf\"}} {}\n", latency.count);
  out += fmt::format("cuifu_send_latency_seconds_sum {}\n", latency.sum);
  out += fmt::format("cuifu_send_latency_seconds_count {}\n", latency.count);
  return {200, "text/plain; version=0.0.4; charset=utf-8", out};
}

StatusReply Daemon::Impl::optout(const StatusRequest& r) {
  const std::string token = secret(config.optout_token_env);
  if (config.optout_token_env.empty() || token.empty()) return {404, "text/plain", "opt-out endpoint is not enabled\n"};
  if (r.authorization != "Bearer " + token) return {401, "text/plain", "unauthorized\n"};
  const auto j = json::parse(r.body, nullptr, false);
  if (!j.is_object() || !j.contains("phone") || !j["phone"].is_string() || !j.contains("text") ||
      !j["text"].is_string()) {
    return {400, "text/plain", "body must be JSON {\"phone\": \"...\", \"text\": \"...\"}\n"};
  }
  const std::string phone = trim(j["phone"].get<std::string>());
  const std::string text = j["text"].get<std::string>();
  if (!is_opt_out_reply(text)) {
    return {200, "application/json", json{{"opted_out", false}, {"reason", "not an opt-out reply"}}.dump() + "\n"};
  }
  const auto buyer = store->buyer_by_phone(phone);
  if (!buyer) {
    spdlog::warn("opt-out reply from {}: no buyer known with this phone", mask_phone(phone));
    return {404, "application/json",
            json{{"opted_out", false}, {"reason", "no buyer known with this phone"}}.dump() + "\n"};
  }
  // A reply to an SMS opts out of SMS and of calls to that number, in every shop: the reply
  // does not say which shop's message it answers.
  for (Channel c : {Channel::sms, Channel::phone}) {
    store->add_opt_out({*buyer, c, clock->now(), "sms-reply", ""});
    std::lock_guard lock(gate_mu);
    gate.opted_out.insert({"", *buyer, c});
  }
  spdlog::info("opt-out: buyer {} ({}) replied '{}': no more sms or phone", *buyer, mask_phone(phone), text);
  return {200, "application/json",
          json{{"opted_out", true}, {"buyer", *buyer}, {"channels", {"sms", "phone"}}}.dump() + "\n"};
}

// ---------------------------------------------------------------- Daemon

Daemon::Daemon(const DaemonOptions& options) : impl_(std::make_unique<Impl>(options)) {}
Daemon::~Daemon() = default;
int Daemon::run() {
  return impl_->run();
}

}  // namespace cuifu
