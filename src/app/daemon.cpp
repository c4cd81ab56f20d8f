#include "app/daemon.h"

#include <fmt/format.h>
#include <malloc.h>
#include <spdlog/spdlog.h>

#include <sys/inotify.h>
#include <unistd.h>
#include <algorithm>
#include <array>
#include <boost/asio.hpp>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <deque>
#include <filesystem>
#include <limits>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <set>
#include <thread>
#include <utility>

#include "app/daemon_clock.h"
#include "app/delivery_book.h"
#include "app/optout.h"
#include "app/reconcile.h"
#include "app/send_gate.h"
#include "app/status_routes.h"
#include "app/status_server.h"
#include "core/planner.h"
#include "core/text.h"
#include "io/channels/delivery.h"
#include "io/channels/http_client.h"
#include "io/channels/senders.h"
#include "io/chat_feed.h"
#include "io/feed_poller.h"
#include "io/feed_trust.h"
#include "io/quiet_thread.h"
#include "io/rules_loader.h"
#include "io/store.h"

namespace cuifu {

namespace asio = boost::asio;
using nlohmann::json;

namespace {

// A reconcile of at least this many rows (upserts, orders seen, cancellations) hands what it
// freed back to the system (malloc_trim) when it is done.
constexpr std::size_t kBigReconcileRows = 100000;
// A reconcile's parts planned and not written yet, in rows, above which the planning waits.
constexpr std::size_t kQueuedRows = 50000;

// The CPU time the calling thread used so far.
std::chrono::nanoseconds thread_cpu_time() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return std::chrono::seconds{ts.tv_sec} + std::chrono::nanoseconds{ts.tv_nsec};
}

// One background thread running blocking jobs in order (feed polls).
class BackgroundRunner {
 public:
  BackgroundRunner() : thread_(thread_without_signals([this] { run(); })) {}
  ~BackgroundRunner() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
      cv_.notify_all();
    }
    join_holding_signals(thread_);
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
  void recover_in_doubt();
  // May a request that possibly reached the buyer be sent again (same key) on channel `c`?
  bool may_resend(Channel c) const;

  // --- feed
  void schedule_poll(std::chrono::duration<double> daemon_delay);
  void start_poll();
  // A feed file's directory is watched (inotify) for the export being closed after writing or
  // renamed into place: read at once, not at the next poll_interval (which stays, for file
  // systems that tell nothing, such as NFS).
  void watch_feed();
  void read_feed_watch();
  // `shrunk`: shrink_sign() of a fresh snapshot against the snapshot read before it, made on the
  // poll thread with the rules `with` (a set of every order id: seconds at a million orders, not
  // for the loop).
  void on_poll(FeedPoll p, std::optional<ChatPoll> c, std::shared_ptr<const RuleSet> with = nullptr,
               std::optional<std::string> shrunk = std::nullopt);
  // A new chat snapshot, or an error reading it; true when the plan must be redone.
  bool on_chat_poll(ChatPoll c);
  void update_paused(const char* context);
  // Why sending is paused ("" when it is not), from the feed's state and `age`.
  static std::string pause_reason(bool have_snapshot, const std::string& suspect, const std::string& error,
                                  std::optional<std::chrono::duration<double>> age,
                                  std::chrono::duration<double> max_age);
  std::optional<std::chrono::duration<double>> feed_age() const;
  void publish_gate();

  // --- planning and sending
  // Plans on the reconcile thread (the loop goes on answering and sending meanwhile); the
  // result comes back through on_reconciled(). Coalesced: a request while one runs makes one
  // more run after it, with the newest snapshot.
  void run_reconcile(const char* why);
  // The loop's side of a reconcile: its parts (ReconcileChanges::last false), then what prepare()
  // returned (`ok` false: the plan was not made), queued in order and written a slice at a time.
  void queue_reconcile(std::shared_ptr<ReconcileChanges> changes, std::size_t rows, bool ok = true);
  void write_reconcile();
  void on_reconciled(const char* why, const ReconcileResult& r, std::chrono::steady_clock::duration took,
                     bool ok = true);
  // The gate's view of each order of the snapshot (paid, closed, when it closes).
  void request_reconcile(const char* why);
  void request_dispatch();
  void dispatch_due() { (void)dispatch({}); }
  // Sends what is due on every lane with room. `record` (the outcomes of finished attempts)
  // runs in the same transaction as the claims of the rows about to leave: one commit (one
  // fsync) per round, made before any of those requests leaves. False when that commit
  // failed (rolled back: nothing recorded, nothing claimed).
  bool dispatch(const std::function<void()>& record);
  // Due rows that pass the gate, per lane, no more than the lane has free workers (through
  // the rate limit: `rate_wait` says when the next token comes). Rows the gate refuses are
  // cancelled (`replan`: the planner must look again).
  using Batches = std::vector<std::pair<Channel, std::vector<OutboxRow>>>;
  void select_due(LocalTime now, Batches& batches, std::optional<std::chrono::steady_clock::duration>& rate_wait,
                  bool& replan);
  // Right after sending resumes (start, or the end of a pause): rows past the catch-up limit
  // go back to the planner, and the backlog that fell due meanwhile is spread (spread_catch_up).
  void catch_up(const GateInputs& inputs, LocalTime now);
  // The rows that fell due while nothing was sent are held back at even steps.
  void spread_backlog(LocalTime now);
  // Claims `row` and starts its one attempt, on a lane without workers (the call task is the
  // delivery). False when it could not be claimed.
  bool start_attempt(OutboxRow row, LocalTime now);
  // Hands each claimed row of `rows` to a free worker of its lane (its claim committed).
  // REQUIRES: the lane has at least rows.size() free workers.
  // The rows are moved to their workers (in_flight keeps a copy).
  void start_attempts(Channel ch, std::vector<OutboxRow>&& rows, LocalTime now);
  // A claimed phone row's call task (for the staff's list); nothing for other channels.
  void add_call_task(const OutboxRow& row, LocalTime now);
  // A worker's report (r.id: a row in in_flight), queued on the loop; record_reports() writes
  // what has queued in one transaction (group commit, with the next claims) and logs it.
  void on_attempt(AttemptReport r);
  void record_reports();
  void arm_send_timer(std::optional<std::chrono::steady_clock::duration> rate_wait = std::nullopt);
  void reap_retired();

  // --- signals
  void reload();
  void begin_shutdown(int signal);
  void finish_shutdown();
  void await_signal();

  // --- status
  // On the status server's thread: /healthz and /metrics from what the loop last published
  // (publish_status) and the outbox's counts read through status_store; /optout is passed to the
  // loop (it writes).
  void handle_status(const StatusRequest& r, StatusServer::Respond respond);
  StatusReply status_reply(const std::string& path);
  // What the status routes show of the loop's state, copied for the status thread.
  void publish_status();
  StatusReply optout(const StatusRequest& r);

  // Declared first: destroyed last, after everything that posts to it.
  asio::io_context io;
  asio::signal_set signals{io, SIGTERM, SIGINT, SIGHUP};
  asio::steady_timer poll_timer{io};
  asio::steady_timer send_timer{io};
  asio::steady_timer deadline_timer{io};
  asio::steady_timer reconcile_timer{io};
  std::optional<asio::posix::stream_descriptor> feed_watch;  // the inotify descriptor, when watching
  std::array<char, 4096> feed_watch_buf{};

  // Everything below is touched on the loop thread only, except `gate` (its own mutex).
  DaemonOptions options;
  DaemonConfig config;
  ShopZone zone;
  std::unique_ptr<DaemonClock> clock;
  std::shared_ptr<const RuleSet> rules;
  std::unique_ptr<SqliteStore> store;
  std::unique_ptr<DeliveryBook> book;
  // The loop's state as the status thread sees it (publish_status), and the status thread's own
  // connection to the state database (it reads only the outbox's counts, kept by the store's writers).
  struct Published {
    StatusFacts facts;  // all but now, the feed's age and the counts
    bool have_snapshot = false;
    std::string feed_error;
    std::optional<std::chrono::system_clock::time_point> produced_at;
    std::chrono::duration<double> max_feed_age{};
  };
  std::mutex published_mu;
  std::shared_ptr<const Published> published;
  std::unique_ptr<SqliteStore> status_store;
  std::unique_ptr<StatusServer> status;  // after what its thread reads: destroyed (joined) first

  // feed
  std::unique_ptr<FeedPoller> poller;  // used only on the runner thread
  bool poll_in_flight = false;
  std::string feed_watch_name;                   // the feed file's name in its watched directory
  bool feed_written = false;                     // the watch saw the export written since the last poll began
  bool poll_again = false;                       // ... while a poll was running: poll again when it ends
  std::shared_ptr<const FeedSnapshot> snapshot;  // what plans and the gate decide on
  // The newest snapshot trusted to cancel (whole, and not far smaller than the one before it
  // without a reason), and the newest one read (trusted or not), which the next is compared with.
  std::shared_ptr<const FeedSnapshot> trusted;
  std::shared_ptr<const FeedSnapshot> last_read;
  std::string feed_suspect;  // why the newest snapshot read is not trusted; "" when it is
  std::optional<std::chrono::system_clock::time_point> produced_at;
  std::string feed_error;
  // chat export (optional): read with the feed, on the runner thread; a chat that cannot be
  // read keeps the last good one (it refines reasons, it never pauses sending).
  std::unique_ptr<ChatPoller> chat_poller;
  std::shared_ptr<const ChatSnapshot> chat;
  std::string chat_error;
  bool paused = true;
  std::string paused_reason = "no feed snapshot yet";
  // Sending (re)starts: the first dispatch after it spreads the backlog. A start counts.
  bool catch_up_pending = true;

  SendGate gate;  // read by the channel workers right before each request

  // delivery: one lane per configured channel with a few worker threads; each worker has at
  // most one request in flight, so a row is claimed only when a worker is free to send it.
  struct Lane {
    // Empty: phone without a robot (the call task is the delivery).
    std::vector<std::unique_ptr<ChannelWorker>> workers;
    std::vector<std::optional<std::int64_t>> busy;  // the row in flight on each worker
    DeliveryPolicy policy;
    TokenBucket bucket;
    bool has_workers() const { return !workers.empty(); }
    // The index of a worker with nothing in flight, or -1.
    int free_worker() const {
      for (std::size_t i = 0; i < busy.size(); ++i) {
        if (!busy[i]) return static_cast<int>(i);
      }
      return -1;
    }
    std::size_t free_workers() const {
      return static_cast<std::size_t>(std::count(busy.begin(), busy.end(), std::nullopt));
    }
  };
  // Worker threads per channel: requests of one channel that may be in flight at once, each
  // on its own kept-alive connection. A crash leaves at most that many rows in doubt. On a
  // gateway that drops duplicates by key they are resent (same key), so more may be in flight
  // there; elsewhere each becomes 'unknown', so few.
  static constexpr int kWorkersPerChannel = 4;
  static constexpr int kWorkersPerDedupChannel = 64;
  std::map<Channel, Lane> lanes;
  std::vector<std::unique_ptr<ChannelWorker>> retired;  // replaced on reload; joined once idle
  // Rows claimed ('sending') whose attempt has not reported yet, with the contact each is
  // making: it counts for the caps of the buyer's next send, like a logged one.
  std::map<std::int64_t, std::pair<OutboxRow, ContactRecord>> in_flight;
  std::mt19937 rng{std::random_device{}()};
  StatusFacts counters;  // latency and attempt outcomes
  // Reports of attempts not yet recorded (record_reports() is posted once for all of them);
  // each one's row is in in_flight until it is recorded.
  std::vector<AttemptReport> reports;
  bool record_posted = false;
  bool stopping = false;
  bool dispatch_posted = false;
  bool reconcile_posted = false;
  // Reconcile: `touched` are the buyers whose rows the send path changed since the last
  // reconcile was started; `replan_all` is set by a reload (new rules: every buyer again).
  std::set<BuyerKey> touched;
  bool replan_all = false;
  bool reconcile_in_flight = false;
  std::optional<StatusFacts::Reconciled> last_reconcile;  // the last that ended, for /healthz
  std::size_t reconcile_slice = 250;                      // rows written per turn of the loop (apply_reconcile)
  const char* reconcile_again = nullptr;                  // why another run is wanted after the one in flight
  // Catch-up waits for the re-plan of the rows that missed their slot before it spreads the
  // backlog; nothing is sent meanwhile.
  bool catch_up_waits_for_plan = false;
  std::set<std::int64_t> catch_up_replanned;
  int exit_code = 0;

  // Used on the reconcile thread only: its own connection to the state database, for reading
  // (WAL: the loop writes meanwhile; it alone writes), and the per-buyer memory of the
  // incremental reconcile.
  std::unique_ptr<SqliteStore> reconcile_store;
  std::shared_ptr<const ChatSnapshot> reconciled_chat;  // the chat the reconciler last planned with
  Reconciler reconciler;
  std::atomic<bool> reconcile_stop{false};  // set when stopping: a plan in progress is abandoned
  // Tests only (CUIFU_TEST_HOLD_RECONCILE): while this file exists, the loop waits before writing
  // a reconcile's result, holding the loop itself, as a long slice would.
  std::string hold_reconcile_file;

  // The reconcile being written (on the loop): its parts as they are planned, then the rest, in
  // order; the counts written so far carried from each to the next.
  struct ReconcileWrite {
    const char* why = nullptr;
    std::chrono::steady_clock::time_point started;
    // Each with the rows it had to write when queued (counted in `queued_rows` until written).
    std::deque<std::pair<std::shared_ptr<ReconcileChanges>, std::size_t>> queue;
    bool ok = true;           // false once the plan or a write failed
    bool posted = false;      // write_reconcile() is posted
    bool finished = false;    // what prepare() returned is queued
    ReconcileResult written;  // carried from part to part
    std::size_t slices = 0, rows = 0;
    std::chrono::nanoseconds cpu{};
  };
  ReconcileWrite writing;
  // Rows handed to the loop and not written yet: the planning (on the reconcile thread) waits
  // while there are kQueuedRows or more, so that a new 1M export's plan is not held whole in
  // memory while the loop writes it at a third of the speed it is planned.
  std::mutex queued_mu;
  std::condition_variable queued_cv;
  std::size_t queued_rows = 0;

  std::unique_ptr<BackgroundRunner> runner;            // feed polls
  std::unique_ptr<BackgroundRunner> freer;             // what a reconcile wrote, freed off the loop
  std::unique_ptr<BackgroundRunner> reconcile_runner;  // plans; destroyed first (declared last)
  // Destroyed before it: a plan waiting for the loop to write (it will not any more) stops.
  struct StopPlanning {
    Impl& d;
    ~StopPlanning() {
      d.reconcile_stop = true;
      { std::lock_guard lock(d.queued_mu); }
      d.queued_cv.notify_all();
    }
  } stop_planning{*this};
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
  // The counts /healthz and /metrics show are kept by the store's writers; a daemon of an older
  // build left running while a newer cuifu upgraded the file wrote rows without counting them.
  if (store->recount_outbox())
    spdlog::warn(
        "{}: the outbox's counts per channel and state did not match its rows (written by an older cuifu?): "
        "counted again",
        config.state);
  book = std::make_unique<DeliveryBook>(*store);
  curl_global_setup();
  if (const char* hold = std::getenv("CUIFU_TEST_HOLD_RECONCILE")) hold_reconcile_file = hold;
  publish_status();
  status_store = std::make_unique<SqliteStore>(config.state, zone);
  status = std::make_unique<StatusServer>(
      config.listen, [this](const StatusRequest& r, StatusServer::Respond respond) { handle_status(r, respond); });
  build_workers();
  reconcile_store = std::make_unique<SqliteStore>(config.state, zone);
  reconciler.stop_when(&reconcile_stop);
  runner = std::make_unique<BackgroundRunner>();
  freer = std::make_unique<BackgroundRunner>();
  reconcile_runner = std::make_unique<BackgroundRunner>();
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
  std::map<Channel, Lane> next;
  for (const auto& [ch, cc] : config.channels) {
    Lane lane{
        {}, {}, cc.policy, TokenBucket(cc.policy.rate_per_second, cc.policy.burst, std::chrono::steady_clock::now())};
    const int workers = drops_duplicates_by_key(ch, config) ? kWorkersPerDedupChannel : kWorkersPerChannel;
    for (int i = 0; i < workers; ++i) {
      auto sender = make_sender(ch, config);
      if (!sender) break;
      lane.workers.push_back(
          std::make_unique<ChannelWorker>(fmt::format("{}.{}", to_string(ch), i), std::move(sender)));
      lane.busy.emplace_back();
    }
    next.emplace(ch, std::move(lane));
  }
  for (auto& [ch, lane] : lanes) {
    // A request still out on a retired worker keeps its place among the channel's requests in
    // flight, so a reload never lets more than kWorkersPerChannel out at once.
    if (const auto it = next.find(ch); it != next.end()) {
      for (std::size_t i = 0; i < lane.busy.size() && i < it->second.busy.size(); ++i) {
        it->second.busy[i] = lane.busy[i];
      }
    }
    for (auto& w : lane.workers) {
      w->stop();  // an attempt in progress finishes and reports; reap_retired() joins it
      retired.push_back(std::move(w));
    }
  }
  lanes = std::move(next);
}

void Daemon::Impl::reap_retired() {
  std::erase_if(retired, [](std::unique_ptr<ChannelWorker>& w) {
    if (w->pending() > 0) return false;
    w->join();
    return true;
  });
}

bool Daemon::Impl::may_resend(Channel c) const {
  const auto it = config.channels.find(c);
  return drops_duplicates_by_key(c, config) || (it != config.channels.end() && it->second.policy.at_least_once);
}

void Daemon::Impl::recover_in_doubt() {
  for (const auto& r :
       book->recover(clock->now(), config.catch_up_limit, [this](Channel c) { return may_resend(c); })) {
    if (r.resend) {
      spdlog::warn(
          "reminder {} ({} to {}) was being sent when cuifu stopped; it will be sent again with the same "
          "idempotency key {} if the gate still allows it",
          r.row.id, to_string(r.row.channel), shown_contact(r.row.channel, r.row.contact), r.row.idempotency_key);
    } else {
      spdlog::warn("reminder {} ({} to {}) [{}]: {}", r.row.id, to_string(r.row.channel),
                   shown_contact(r.row.channel, r.row.contact), r.row.idempotency_key, r.note);
    }
  }
}

int Daemon::Impl::run() {
  clock->start();
  spdlog::info("cuifu {} starting: feed {}, state {}, status http://{}/, time zone {}{}", "0.1.0", config.feed,
               config.state, config.listen, zone.name(),
               clock->simulated()
                   ? fmt::format(", SIMULATED clock from {} at {}x", format_local_time(clock->now()), options.speed)
                   : "");
  try {
    recover_in_doubt();
  } catch (const StoreError& e) {
    spdlog::error("recovering rows in doubt: {}", e.what());
    return 1;
  }
  await_signal();
  watch_feed();
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
  const bool written = std::exchange(feed_written, false);
  // last_read changes only in on_poll(), after this poll.
  runner->post([this, p, cp, written, with = rules, previous = last_read] {
    const auto t0 = std::chrono::steady_clock::now();
    FeedPoll result = p->poll(written);
    // A new snapshot's comparison with the snapshot read before it is made here too, off the loop.
    // (The gate finds orders through the snapshot's id table: no view of it to build.)
    std::optional<std::string> shrunk;
    if (result.kind == FeedPoll::Kind::fresh) {
      const auto t1 = std::chrono::steady_clock::now();
      if (result.truncated.empty() && previous) {
        shrunk = previous == result.snapshot ? std::string{}
                                             : shrink_sign(*previous, *result.snapshot, with->rules, clock->now());
      }
      const auto ms = [](auto d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); };
      spdlog::debug("feed poll: read and parsed in {} ms ({} of {} orders' rows as before), compared {} ms",
                    ms(t1 - t0), result.rows_reused, result.snapshot->orders.size(),
                    ms(std::chrono::steady_clock::now() - t1));
    }
    std::optional<ChatPoll> chat_result;
    if (cp) chat_result = cp->poll();
    asio::post(io, [this, result = std::move(result), chat_result = std::move(chat_result), with = std::move(with),
                    shrunk = std::move(shrunk)]() mutable {
      on_poll(std::move(result), std::move(chat_result), std::move(with), std::move(shrunk));
    });
  });
}

void Daemon::Impl::watch_feed() {
  if (config.feed_is_url()) return;
  const std::filesystem::path path(config.feed);
  const std::string dir = path.has_parent_path() ? path.parent_path().string() : std::string{"."};
  const int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0 || ::inotify_add_watch(fd, dir.c_str(), IN_CLOSE_WRITE | IN_MOVED_TO) < 0) {
    spdlog::warn("feed: cannot watch {} for new exports ({}); reading it every {} s instead", dir, std::strerror(errno),
                 config.poll_interval.count());
    if (fd >= 0) ::close(fd);
    return;
  }
  feed_watch_name = path.filename().string();
  feed_watch.emplace(io, fd);
  spdlog::debug("feed: watching {} for {} to be written", dir, feed_watch_name);
  read_feed_watch();
}

void Daemon::Impl::read_feed_watch() {
  feed_watch->async_read_some(asio::buffer(feed_watch_buf), [this](const boost::system::error_code& ec, std::size_t n) {
    if (ec || stopping) return;
    bool ours = false;
    for (std::size_t at = 0; at + sizeof(inotify_event) <= n;) {
      inotify_event ev;
      std::memcpy(&ev, feed_watch_buf.data() + at, sizeof ev);
      const char* name = feed_watch_buf.data() + at + sizeof ev;
      // The name is NUL-padded to ev.len; an overflowed queue may have dropped ours.
      if ((ev.mask & IN_Q_OVERFLOW) || (ev.len > 0 && feed_watch_name == name)) ours = true;
      at += sizeof ev + ev.len;
    }
    if (ours) {
      feed_written = true;
      if (poll_in_flight) {
        poll_again = true;
      } else {
        schedule_poll(std::chrono::seconds{0});  // replaces the wait for the next interval
      }
    }
    read_feed_watch();
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

void Daemon::Impl::on_poll(FeedPoll p, std::optional<ChatPoll> c, std::shared_ptr<const RuleSet> with,
                           std::optional<std::string> shrunk) {
  poll_in_flight = false;
  if (stopping) return;
  const bool chat_changed = c && on_chat_poll(std::move(*c));
  if (chat_changed && p.kind != FeedPoll::Kind::fresh) run_reconcile("new chat snapshot");
  switch (p.kind) {
    case FeedPoll::Kind::fresh: {
      feed_error.clear();
      std::string suspect = p.truncated;
      if (suspect.empty() && last_read) {
        suspect = shrunk && with == rules ? *shrunk : shrink_sign(*last_read, *p.snapshot, rules->rules, clock->now());
      }
      last_read = p.snapshot;
      for (const auto& r : p.snapshot->rejected) {
        spdlog::warn("{}:{}: rejected: {}", p.snapshot->source, r.line, r.error);
      }
      if (suspect.empty()) {
        if (!feed_suspect.empty()) spdlog::warn("feed snapshot trusted again (it was not: {})", feed_suspect);
        feed_suspect.clear();
        trusted = p.snapshot;
        snapshot = p.snapshot;
        produced_at = p.produced_at;
      } else {
        // Not trusted to cancel anything: the last trusted snapshot stays in force for the
        // orders missing from it, and what it does show (paid, new orders) is taken. The
        // feed's age is not renewed: if no whole export follows, sending pauses.
        feed_suspect = suspect;
        spdlog::warn("feed snapshot NOT TRUSTED: {}; nothing is cancelled for the orders missing from it ({})", suspect,
                     trusted ? "deciding on the last trusted snapshot, updated with the orders this one shows"
                             : "no earlier snapshot to trust: sending stays paused");
        if (trusted) snapshot = std::make_shared<const FeedSnapshot>(overlay(*trusted, *p.snapshot));
      }
      if (snapshot) {
        publish_gate();  // the gate decides on the new snapshot from now on
        spdlog::info(
            "feed snapshot: {} orders ({} rejected rows, {} superseded by a newer row of the same order) from {}",
            snapshot->orders.size(), snapshot->rejected.size(), snapshot->superseded.size(), snapshot->source);
      }
      update_paused("feed snapshot");
      run_reconcile("new feed snapshot");
      break;
    }
    case FeedPoll::Kind::unchanged:
      feed_error.clear();
      if (feed_suspect.empty()) produced_at = p.produced_at;  // a suspect export does not renew the feed
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
  // Sends whose retries ran out wait for their re-plan time; an unchanged feed re-plans too.
  if (p.kind != FeedPoll::Kind::fresh && snapshot) {
    try {
      if (const auto t = store->next_replan(); t && *t <= clock->now()) run_reconcile("re-plan of failed sends");
    } catch (const StoreError& e) {
      spdlog::error("{}", e.what());
    }
  }
  const bool settling = p.kind == FeedPoll::Kind::settling;
  schedule_poll(std::exchange(poll_again, false) ? std::chrono::duration<double>(0)
                : settling ? std::chrono::duration<double>(clock->to_daemon(std::chrono::milliseconds{200}))
                           : std::chrono::duration<double>(config.poll_interval));
  dispatch_due();
}

std::optional<std::chrono::duration<double>> Daemon::Impl::feed_age() const {
  if (!produced_at) return std::nullopt;
  const std::chrono::duration<double> real = std::chrono::system_clock::now() - *produced_at;
  return clock->to_daemon(std::max(real, std::chrono::duration<double>(0)));
}

std::string Daemon::Impl::pause_reason(bool have_snapshot, const std::string& suspect, const std::string& error,
                                       std::optional<std::chrono::duration<double>> age,
                                       std::chrono::duration<double> max_age) {
  if (!have_snapshot && !suspect.empty()) return "feed snapshot not trusted and none before it: " + suspect;
  if (!have_snapshot) return error.empty() ? "no feed snapshot yet" : "feed unreadable: " + error;
  if (!error.empty()) return "feed unreadable: " + error;
  if (!age || *age > max_age) {
    return fmt::format("feed is {} old (max {})", age ? minutes_text(*age) : "?", minutes_text(max_age));
  }
  return {};
}

void Daemon::Impl::update_paused(const char* context) {
  const auto age = feed_age();
  const std::string reason = pause_reason(snapshot != nullptr, feed_suspect, feed_error, age, config.max_feed_age);
  const bool now_paused = !reason.empty();
  // Every pause and resume is a warning with its reason, a stale feed at start-up included.
  if (now_paused && (!paused || pause_kind(reason) != pause_kind(paused_reason))) {
    spdlog::warn("sending PAUSED ({}): {}", context, reason);
  }
  if (!now_paused && paused) {
    spdlog::warn("sending resumed ({}): feed is {} old (max {}); it was paused: {}", context,
                 age ? minutes_text(*age) : "?", minutes_text(config.max_feed_age), paused_reason);
  }
  if (!now_paused && paused) catch_up_pending = true;
  paused = now_paused;
  paused_reason = reason;
  publish_status();
}

void Daemon::Impl::publish_gate() {
  auto in = std::make_shared<GateInputs>();
  in->paused = paused;
  in->paused_reason = paused_reason;
  in->rules = std::shared_ptr<const Rules>(rules, &rules->rules);
  in->orders = snapshot ? std::shared_ptr<const OrderList>(snapshot, &snapshot->orders) : nullptr;
  for (const auto& o : store->opt_outs()) in->opted_out.insert({o.shop, o.buyer, o.channel});
  for (const auto& [ch, lane] : lanes) in->configured.insert(ch);
  in->catch_up_limit = config.catch_up_limit;
  gate.publish(std::move(in));
}

// ---------------------------------------------------------------- planning

void Daemon::Impl::run_reconcile(const char* why) {
  if (!snapshot || stopping) return;
  if (reconcile_in_flight) {
    reconcile_again = why;
    return;
  }
  reconcile_in_flight = true;
  writing = ReconcileWrite{};
  writing.why = why;
  writing.started = std::chrono::steady_clock::now();
  publish_status();  // /healthz says a reconcile is under way (after a start: the plan is not made yet)
  // Planned on the reconcile thread, which only reads the database; the loop writes the result:
  // a big plan part by part, each as soon as it is planned (a new 1M export was planned whole in
  // ~11 s before the loop wrote its first row), the planning held back while much is unwritten.
  const auto part_planned = [this](ReconcileChanges&& part) {
    const std::size_t rows = part.rows_left();
    {
      std::unique_lock lock(queued_mu);
      queued_cv.wait(lock, [&] { return queued_rows < kQueuedRows || reconcile_stop; });
      if (reconcile_stop) return;  // prepare() stops before the next part
      queued_rows += rows;
    }
    asio::post(io, [this, p = std::make_shared<ReconcileChanges>(std::move(part)), rows] { queue_reconcile(p, rows); });
  };
  reconcile_runner->post([this, snap = snapshot, with = rules, talk = chat, now = clock->now(),
                          buyers = std::exchange(touched, {}), all = std::exchange(replan_all, false), part_planned] {
    auto changes = std::make_shared<ReconcileChanges>();
    bool ok = true;
    try {
      if (all) reconciler.invalidate();
      *changes =
          reconciler.prepare(*reconcile_store, *snap, *with, now, talk ? &talk->chat : nullptr, buyers, part_planned);
      reconciled_chat = talk;  // the reconciler knows it by its address: not freed and reused meanwhile
    } catch (const StoreError& e) {
      spdlog::error("reconcile: {}", e.what());
      reconciler.invalidate();
      ok = false;
    } catch (const ReconcileStopped& e) {
      spdlog::info("{}", e.what());
      ok = false;
    }
    asio::post(io, [this, changes, ok] { queue_reconcile(changes, 0, ok); });
  });
}

void Daemon::Impl::queue_reconcile(std::shared_ptr<ReconcileChanges> changes, std::size_t rows, bool ok) {
  if (!changes->last) {
    writing.queue.emplace_back(std::move(changes), rows);
  } else {
    writing.finished = true;
    if (!ok) writing.ok = false;
    if (ok) writing.queue.emplace_back(std::move(changes), rows);
  }
  if (!writing.posted) {
    writing.posted = true;
    asio::post(io, [this] { write_reconcile(); });
  }
}

void Daemon::Impl::write_reconcile() {
  writing.posted = false;
  if (stopping) {
    reconcile_in_flight = false;
    return;
  }
  const auto written = [this](std::size_t rows) {
    {
      std::lock_guard lock(queued_mu);
      queued_rows -= rows;
    }
    queued_cv.notify_all();
  };
  if (!writing.queue.empty()) {
    std::shared_ptr<ReconcileChanges>& changes = writing.queue.front().first;
    const std::size_t rows = writing.queue.front().second;
    if (!hold_reconcile_file.empty() && writing.slices == 0) {
      spdlog::warn("reconcile held on the loop while {} exists (CUIFU_TEST_HOLD_RECONCILE)", hold_reconcile_file);
      const auto until = std::chrono::steady_clock::now() + std::chrono::minutes{5};
      while (std::filesystem::exists(hold_reconcile_file) && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(std::chrono::milliseconds{20});
      }
    }
    // A slice at a time, so that claims and reports are served in between: about 50 ms of
    // writing each, the number of rows adjusted to how long the last took.
    bool done = true;
    if (writing.ok) {
      try {
        if (changes->next_upsert == 0 && changes->next_seen == 0) carry_written(writing.written, changes->result);
        const auto t0 = thread_cpu_time();
        // Not flushed commit by commit: the rows can be planned again from the feed; the next
        // claim's commit flushes them. A part's rows stay in the transaction (committed with the
        // last, or after 10 s or 500,000 rows): a commit per part wrote the random index pages
        // the parts share again and again.
        store->unflushed(
            [&] {
              done = apply_some(*store, *changes, reconcile_slice);
              return done && changes->last;
            },
            changes->last ? changes->rows_left() : std::numeric_limits<std::size_t>::max());
        const auto took = thread_cpu_time() - t0;
        ++writing.slices;
        writing.cpu += std::chrono::duration_cast<std::chrono::nanoseconds>(took);
        // Towards 50 ms of the loop's CPU (the status server has its own thread; claims and
        // reports wait at most one slice): in proportion (at most x2 or /2 a turn), never below
        // kMinSlice rows. CPU, not wall time: on a loaded machine the wall time of a slice is
        // mostly waiting for a core, and a slice cut by it shrank to a few rows whose commit (its
        // index pages written again) cost more than the rows: 100,000 rows took minutes. At most
        // 10,000 rows: their dirty pages stay within the page cache (more spill to the WAL in the
        // middle of the transaction).
        constexpr std::size_t kMinSlice = 250, kMaxSlice = 10000;
        const double ratio = std::chrono::duration<double>(std::chrono::milliseconds{50}) /
                             std::max<std::chrono::duration<double>>(took, std::chrono::microseconds{100});
        reconcile_slice = std::clamp<std::size_t>(
            static_cast<std::size_t>(static_cast<double>(reconcile_slice) * std::clamp(ratio, 0.5, 2.0)), kMinSlice,
            kMaxSlice);
      } catch (const StoreError& e) {
        spdlog::error("reconcile: {}", e.what());
        replan_all = true;  // what was written is not known: every buyer again next time
        writing.ok = false;
        done = true;
      }
    }
    if (done) {
      if (writing.ok) carry_written(changes->result, writing.written);
      writing.rows += changes->upserts.size() + changes->orders_seen.size() + changes->cancels.size();
      written(rows);
      const bool last = changes->last;
      const ReconcileResult result = changes->result;
      // Freed off the loop: a new 1M export's rows (1.3M reminders, 1M orders seen, each a few
      // strings) took the loop ~2.6 s of free() after its first reconcile, due sends waiting.
      // What a big reconcile freed (gigabytes at 1M, in small pieces) goes back to the system, not
      // kept by malloc for the next: the daemon's resident memory after a first 1M reconcile was
      // that of its peak.
      const bool trim = last && writing.rows >= kBigReconcileRows;
      freer->post([done_with = std::move(changes), trim]() mutable {
        done_with.reset();
        if (trim) ::malloc_trim(0);
      });
      writing.queue.pop_front();
      if (last) {
        spdlog::debug("reconcile applied: {} slices, CPU {} ms", writing.slices,
                      std::chrono::duration_cast<std::chrono::milliseconds>(writing.cpu).count());
        if (!writing.queue.empty()) spdlog::error("reconcile: {} parts after the last", writing.queue.size());
        on_reconciled(writing.why, result, std::chrono::steady_clock::now() - writing.started, writing.ok);
        return;
      }
    }
  } else if (writing.finished) {  // the plan was not made (its parts, if any, are written)
    on_reconciled(writing.why, writing.written, std::chrono::steady_clock::now() - writing.started, false);
    return;
  }
  // Queued behind what is ready on the loop (reports, due sends): they go first.
  if (!writing.queue.empty() || writing.finished) {
    writing.posted = true;
    asio::post(io, [this] { write_reconcile(); });
  }
}

void Daemon::Impl::on_reconciled(const char* why, const ReconcileResult& r, std::chrono::steady_clock::duration took,
                                 bool ok) {
  reconcile_in_flight = false;
  if (stopping) return;
  last_reconcile = StatusFacts::Reconciled{why,
                                           format_local_time(clock->now()),
                                           std::chrono::duration<double>(took).count(),
                                           ok,
                                           r.buyers_planned,
                                           r.inserted,
                                           r.revived,
                                           r.cancelled};
  publish_status();
  // At info when it changed the outbox or took long: an operator sees what each new export did
  // (a re-plan that changed nothing, every minute or so, stays at debug).
  const bool changed = r.inserted > 0 || r.revived > 0 || r.cancelled > 0;
  spdlog::log(changed || took > std::chrono::seconds{1} || r.rows_logged_at_debug > 0 ? spdlog::level::info
                                                                                      : spdlog::level::debug,
              "reconciled ({}) in {} ms: {} of {} buyers planned again: {} planned, {} new, {} re-planned, {} "
              "cancelled{}",
              why, std::chrono::duration_cast<std::chrono::milliseconds>(took).count(), r.buyers_planned, r.buyers,
              r.planned, r.inserted, r.revived, r.cancelled,
              r.rows_logged_at_debug > 0
                  ? fmt::format(" (the lines of the first {} rows above; the other {} at debug level; cuifu outbox "
                                "lists every reminder)",
                                kRowLinesAtInfo, r.rows_logged_at_debug)
                  : std::string());
  if (const char* again = std::exchange(reconcile_again, nullptr)) run_reconcile(again);
  if (catch_up_waits_for_plan && !reconcile_in_flight) {
    catch_up_waits_for_plan = false;
    try {
      spread_backlog(clock->now());
    } catch (const StoreError& e) {
      spdlog::error("catch-up: {}", e.what());
    }
  }
  request_dispatch();  // re-planned rows may be due at once
  arm_send_timer();
}

void Daemon::Impl::request_reconcile(const char* why) {
  // After a send or a cancellation the buyer's next step is at least the min gap away: a
  // re-plan at the next half-minute 20-80 s later (about one per minute, or per 300 ms of real
  // time in a fast rehearsal) keeps a burst of sends from re-planning the whole feed after each
  // one, and stays out of the way of the next minute's reminders as they fall due.
  if (reconcile_posted) return;
  reconcile_posted = true;
  const auto delay = std::max<std::chrono::steady_clock::duration>(clock->until(replan_moment(clock->now())),
                                                                   std::chrono::milliseconds{300});
  reconcile_timer.expires_after(delay);
  reconcile_timer.async_wait([this, why](const boost::system::error_code& ec) {
    reconcile_posted = false;
    if (!ec) run_reconcile(why);
  });
}

void Daemon::Impl::request_dispatch() {
  if (dispatch_posted) return;
  dispatch_posted = true;
  asio::post(io, [this] {
    dispatch_posted = false;
    dispatch_due();
  });
}

// ---------------------------------------------------------------- sending

bool Daemon::Impl::dispatch(const std::function<void()>& record) {
  std::optional<std::chrono::steady_clock::duration> rate_wait;
  bool replan = false;
  Batches batches;  // passed the gate
  const LocalTime now = clock->now();
  try {
    if (!stopping) {
      reap_retired();
      update_paused("dispatch");
      publish_gate();
      if (!paused && !catch_up_waits_for_plan) select_due(now, batches, rate_wait, replan);
    }
  } catch (const StoreError& e) {
    spdlog::error("dispatch: {}", e.what());
  }
  // One commit for the outcomes that came in and the claims of the rows about to leave; a row
  // cancelled meanwhile is not claimed. Nothing leaves before the commit.
  Batches claimed;
  bool committed = true;
  try {
    if (record || !batches.empty()) {
      store->batch([&] {
        if (record) record();
        for (auto& [ch, rows] : batches) {
          std::vector<OutboxRow> mine;
          for (auto& row : rows) {
            if (!book->claim(row, now)) continue;
            add_call_task(row, now);
            mine.push_back(std::move(row));
          }
          if (!mine.empty()) claimed.emplace_back(ch, std::move(mine));
        }
      });
    }
  } catch (const StoreError& e) {
    spdlog::error("dispatch: {}", e.what());
    claimed.clear();  // rolled back: nothing claimed, no outcome recorded (the rows stay in doubt)
    committed = false;
  }
  for (auto& [ch, rows] : claimed) start_attempts(ch, std::move(rows), now);
  if (!claimed.empty()) publish_status();  // in flight
  if (stopping) return committed;
  if (replan) run_reconcile("after cancellations");  // its rows may be due at once: dispatched after it
  arm_send_timer(rate_wait);
  return committed;
}

void Daemon::Impl::select_due(LocalTime now, Batches& batches,
                              std::optional<std::chrono::steady_clock::duration>& rate_wait, bool& replan) {
  const auto inputs = gate.inputs();
  if (catch_up_pending) {
    catch_up_pending = false;
    catch_up(*inputs, now);
    if (catch_up_waits_for_plan) return;
  }
  for (auto& [ch, lane] : lanes) {
    // A lane with workers claims only as many rows as it has free workers: a row is
    // 'sending' only while its request may be on its way. Those rows are claimed together
    // (one commit) before any of them leaves. Phone without a robot: the call task is the
    // delivery, one row at a time.
    std::set<std::int64_t> seen;
    std::vector<OutboxRow> batch;  // passed the gate, to be claimed together
    const std::size_t room = lane.has_workers() ? lane.free_workers() : 0;
    bool lane_done = lane.has_workers() && room == 0;
    while (!lane_done) {
      const int limit = static_cast<int>(std::max<std::size_t>(16, room - batch.size()));
      const auto due = store->due(now, ch, limit);
      bool progressed = false;
      for (auto& row : due) {
        if (!seen.insert(row.id).second) continue;
        progressed = true;
        std::vector<ContactRecord> contacts = store->contacts_of({row.buyer});
        for (const auto& [id, f] : in_flight) {
          if (f.second.buyer == row.buyer && f.second.shop == row.shop) contacts.push_back(f.second);
        }
        for (const auto& b : batch) {  // about to be in flight: they count for the caps too
          if (b.buyer == row.buyer && b.shop == row.shop) contacts.push_back(DeliveryBook::contact_for(b, now));
        }
        const GateDecision d = decide(*inputs, row, contacts, now);
        if (d.kind == GateDecision::Kind::paused) {
          lane_done = true;
          break;
        }
        if (!d.sends()) {
          if (store->cancel(row.id, now, d.detail)) {
            spdlog::info("cancelled {} to {} right before sending ({}): {}", to_string(row.channel), row.buyer,
                         row.idempotency_key, d.detail);
          }
          touched.insert({row.shop, row.buyer});
          replan = true;
          continue;
        }
        if (!lane.has_workers()) {
          start_attempt(std::move(row), now);
          continue;
        }
        const auto wait = lane.bucket.take(std::chrono::steady_clock::now());
        if (wait.count() > 0) {
          rate_wait = rate_wait ? std::min(*rate_wait, std::chrono::steady_clock::duration(wait))
                                : std::chrono::steady_clock::duration(wait);
          lane_done = true;
          break;
        }
        batch.push_back(std::move(row));
        if (batch.size() >= room) {
          lane_done = true;
          break;
        }
      }
      if (!progressed || static_cast<int>(due.size()) < limit) lane_done = true;
    }
    if (!batch.empty()) batches.emplace_back(ch, std::move(batch));
  }
}

void Daemon::Impl::catch_up(const GateInputs& inputs, LocalTime now) {
  // Missed by more than the catch-up limit: back to the planner first (its next allowed slot,
  // often now), so that those are spread too rather than sent at once after the re-plan.
  catch_up_replanned.clear();
  for (const auto& row : store->due(now)) {
    const GateDecision d = decide(inputs, row, {}, now);
    if (d.kind == GateDecision::Kind::missed_slot && store->cancel(row.id, now, d.detail)) {
      touched.insert({row.shop, row.buyer});
      spdlog::info("cancelled {} to {} ({}): {}", to_string(row.channel), row.buyer, row.idempotency_key, d.detail);
      catch_up_replanned.insert(row.id);
    }
  }
  if (catch_up_replanned.empty()) {
    spread_backlog(now);
    return;
  }
  // Nothing is sent until the re-plan is back; then the backlog is spread (on_reconciled).
  catch_up_waits_for_plan = true;
  run_reconcile("catch-up");
}

void Daemon::Impl::spread_backlog(LocalTime now) {
  std::vector<OutboxRow> backlog;
  for (auto& row : store->due(now)) {
    // Fell due while nothing was sent (a minute's grace: a slot of this minute is on time).
    if (row.send_at < now - Minutes{1} || catch_up_replanned.count(row.id)) backlog.push_back(std::move(row));
  }
  catch_up_replanned.clear();
  if (backlog.size() < 2) return;
  const auto slots = spread_catch_up(backlog, now, config.catch_up_spread, config.catch_up_limit);
  for (const auto& b : backlog) touched.insert({b.shop, b.buyer});
  for (const auto& s : slots) {
    store->hold_until(s.id, s.not_before,
                      fmt::format("catching up after an outage: held until {} so that the {} reminders that fell due "
                                  "are not sent at once",
                                  format_local_time(s.not_before), backlog.size()));
  }
  spdlog::warn("catching up: {} reminders fell due while nothing was sent; spread over {} (each within {} of its slot)",
               backlog.size(), minutes_text(config.catch_up_spread), minutes_text(config.catch_up_limit));
}

void Daemon::Impl::add_call_task(const OutboxRow& row, LocalTime now) {
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
}

bool Daemon::Impl::start_attempt(OutboxRow row, LocalTime now) {
  if (!book->claim(row, now)) return false;  // recorded durably before the request
  add_call_task(row, now);
  in_flight[row.id] = {row, DeliveryBook::contact_for(row, now)};
  AttemptReport r;
  r.id = row.id;
  r.kind = AttemptReport::Kind::delivered;
  r.detail = "call task created";
  on_attempt(std::move(r));  // recorded with the next round's claims
  return true;
}

void Daemon::Impl::start_attempts(Channel ch, std::vector<OutboxRow>&& rows, LocalTime now) {
  auto& lane = lanes.at(ch);
  for (OutboxRow& row : rows) {
    const int w = lane.free_worker();  // the caller claimed no more rows than workers are free
    const std::int64_t id = row.id;
    lane.busy[static_cast<std::size_t>(w)] = id;
    // One copy of the row, kept here for its outcome; the row itself goes to the worker.
    ContactRecord contact = DeliveryBook::contact_for(row, now);
    in_flight.insert_or_assign(id, std::pair<OutboxRow, ContactRecord>{row, std::move(contact)});
    if (spdlog::should_log(spdlog::level::info)) {  // its arguments cost more than the send's bookkeeping
      spdlog::info("sending {} step {} to {} ({}) [{}]{}", to_string(row.channel), row.step, row.buyer,
                   shown_contact(row.channel, row.contact), row.idempotency_key,
                   row.attempts > 1 ? fmt::format(" attempt {}", row.attempts) : "");
    }
    lane.workers[static_cast<std::size_t>(w)]->submit(
        id, std::move(static_cast<Outgoing&>(row)),
        [this](AttemptReport r) { asio::post(io, [this, r = std::move(r)]() mutable { on_attempt(std::move(r)); }); },
        [this](const Outgoing& o) { return gate.last_look(o, clock->now()); });
  }
}

void Daemon::Impl::on_attempt(AttemptReport r) {
  reports.push_back(std::move(r));
  if (record_posted) return;
  record_posted = true;
  // Posted behind the reports already queued on the loop: they are recorded together.
  asio::post(io, [this] { record_reports(); });
}

void Daemon::Impl::record_reports() {
  record_posted = false;
  if (reports.empty()) return;
  auto done = std::move(reports);
  reports.clear();
  const LocalTime now = clock->now();
  // The workers that reported are free for the next claims; the rows stay in_flight (their
  // contacts count for the caps) until their outcomes are recorded.
  // The claimed rows reported on, in the order of `done` (in_flight's nodes stay put while
  // dispatch() adds the next claims; they are erased at the end).
  std::vector<const OutboxRow*> rows;
  rows.reserve(done.size());
  for (const auto& r : done) rows.push_back(&in_flight.at(r.id).first);
  for (const OutboxRow* row : rows) {
    if (const auto it = lanes.find(row->channel); it != lanes.end()) {
      for (auto& b : it->second.busy) {
        if (b == row->id) b.reset();
      }
    }
  }
  std::vector<DeliveryBook::Recorded> recs(done.size());
  const auto record = [&] {
    for (std::size_t i = 0; i < done.size(); ++i) {
      const OutboxRow& row = *rows[i];
      const AttemptReport& r = done[i];
      const auto lane = lanes.find(row.channel);
      const DeliveryPolicy policy = lane != lanes.end() ? lane->second.policy : DeliveryPolicy{};
      const auto backoff = backoff_delay(row.attempts, policy, std::uniform_real_distribution<double>(0, 1)(rng));
      const LocalTime retry_at = now + std::chrono::ceil<Seconds>(clock->to_daemon(backoff));
      const LocalTime replan_at = now + std::chrono::duration_cast<Seconds>(policy.replan_after);
      std::optional<LocalTime> left;
      if (r.left) {
        const auto ago = clock->to_daemon(std::chrono::steady_clock::now() - *r.left);
        left = now - std::chrono::ceil<Seconds>(ago);
      }
      recs[i] = book->record(row, r, now, policy.max_attempts, retry_at, replan_at, may_resend(row.channel), left);
    }
  };
  // Group commit: every outcome that arrived meanwhile, with the next round's claims. A row
  // stays 'sending' until then (in doubt after a crash, as while its request is out).
  if (!dispatch(record)) {
    spdlog::error("the outcome of {} send{} could not be recorded; they stay in doubt", done.size(),
                  done.size() == 1 ? "" : "s");
    recs.assign(done.size(), DeliveryBook::Recorded{});
  }
  bool reconcile_after_send = false, reconcile_after_cancel = false;
  for (std::size_t i = 0; i < done.size(); ++i) {
    const OutboxRow& row = *rows[i];
    const AttemptReport& r = done[i];
    const auto& rec = recs[i];
    touched.insert({row.shop, row.buyer});  // its row changed: the buyer is planned again
    if (r.kind != AttemptReport::Kind::not_started && r.kind != AttemptReport::Kind::refused) {
      counters.latency.observe(r.seconds);
    }
    const char* outcome = "released";
    switch (rec.outcome) {
      case DeliveryBook::Outcome::sent:
        outcome = "sent";
        if (spdlog::should_log(spdlog::level::info)) {
          spdlog::info("sent {} step {} to {} ({}) [{}]{}", to_string(row.channel), row.step, row.buyer,
                       shown_contact(row.channel, row.contact), row.idempotency_key,
                       row.attempts > 1 ? fmt::format(" after {} attempts", row.attempts) : "");
        }
        break;
      case DeliveryBook::Outcome::retry:
        outcome = "retry";
        spdlog::warn("{} [{}]: {}", to_string(row.channel), row.idempotency_key, rec.detail);
        break;
      case DeliveryBook::Outcome::unknown:
        outcome = "unknown";
        spdlog::warn("{} to {} ({}) [{}]: {}", to_string(row.channel), row.buyer,
                     shown_contact(row.channel, row.contact), row.idempotency_key, rec.detail);
        break;
      case DeliveryBook::Outcome::replanned:
        outcome = "replanned";
        spdlog::warn("NOT SENT {} to {} ({}) [{}]: {}", to_string(row.channel), row.buyer,
                     shown_contact(row.channel, row.contact), row.idempotency_key, rec.detail);
        break;
      case DeliveryBook::Outcome::failed:
        outcome = "failed";
        spdlog::error("FAILED {} to {} ({}) [{}]: {}", to_string(row.channel), row.buyer,
                      shown_contact(row.channel, row.contact), row.idempotency_key, rec.detail);
        break;
      case DeliveryBook::Outcome::cancelled:
        outcome = "cancelled";
        spdlog::info("cancelled {} to {} right before sending ({}): {}", to_string(row.channel), row.buyer,
                     row.idempotency_key, rec.detail);
        break;
      case DeliveryBook::Outcome::released:
        spdlog::info("reminder {} not sent ({}); it stays planned", row.idempotency_key, rec.detail);
        break;
    }
    ++counters.attempts[outcome];
    reconcile_after_send |= rec.outcome == DeliveryBook::Outcome::sent;
    reconcile_after_cancel |= rec.outcome == DeliveryBook::Outcome::cancelled ||
                              rec.outcome == DeliveryBook::Outcome::failed ||
                              rec.outcome == DeliveryBook::Outcome::unknown;
    in_flight.erase(row.id);  // `row` goes with it
  }
  publish_status();
  if (stopping) {
    if (in_flight.empty()) finish_shutdown();
    return;
  }
  // The next step may now be plannable; a cancelled one re-planned into its next allowed
  // window. Coalesced: a burst of reports makes one re-plan.
  if (reconcile_after_send || reconcile_after_cancel) {
    request_reconcile(reconcile_after_send ? "after a send" : "after a cancellation");
  }
}

void Daemon::Impl::arm_send_timer(std::optional<std::chrono::steady_clock::duration> rate_wait) {
  if (stopping) return;
  send_timer.cancel();
  if (paused) return;  // the next poll resumes sending
  std::optional<LocalTime> next;
  try {
    next = store->next_due();
  } catch (const StoreError& e) {
    spdlog::error("{}", e.what());
  }
  std::optional<std::chrono::steady_clock::duration> wait;
  if (next && *next <= clock->now()) {
    // Due already but not sent (no free worker, a pause the gate saw): reports and polls
    // dispatch again; the timer only looks once more a second later.
    wait = clock->to_real(std::chrono::seconds{1});
  } else if (next) {
    // To the moment it falls due (+1 ms: the clock's arithmetic may round a hair short).
    wait = clock->until(*next) + std::chrono::milliseconds{1};
  }
  if (rate_wait) wait = wait ? std::min(*wait, *rate_wait) : *rate_wait;
  if (!wait) return;
  send_timer.expires_after(*wait);
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
    const bool feed_moved = next.feed != config.feed;
    config = std::move(next);
    if (feed_moved) {
      feed_watch.reset();  // its pending read ends as aborted
      watch_feed();
    }
    rules = std::move(next_rules);
    replan_all = true;  // new rules: every buyer is planned again
    build_workers();
    publish_gate();
    publish_status();
    spdlog::info("SIGHUP: reloaded: {} segments, {} templates", rules->rules.segments.size(),
                 rules->templates.all().size());
    run_reconcile("reload");
  } catch (const std::exception& e) {
    spdlog::error("SIGHUP: reload failed, keeping the old config, rules and templates:\n{}", e.what());
  }
}

void Daemon::Impl::begin_shutdown(int sig) {
  spdlog::info("signal {}: stopping; {} send{} in flight", sig, in_flight.size(), in_flight.size() == 1 ? "" : "s");
  stopping = true;
  reconcile_stop = true;
  {
    std::lock_guard lock(queued_mu);  // a plan waiting for the loop to write its parts stops
  }
  queued_cv.notify_all();
  poll_timer.cancel();
  if (feed_watch) feed_watch->close();
  send_timer.cancel();
  for (auto& [ch, lane] : lanes) {
    for (auto& w : lane.workers) w->stop();
  }
  for (auto& w : retired) w->stop();
  if (in_flight.empty()) {
    finish_shutdown();
    return;
  }
  deadline_timer.expires_after(config.shutdown_deadline);  // real time, even when simulated
  deadline_timer.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    spdlog::warn("shutdown deadline passed with {} send(s) in flight; they stay in doubt until the next start",
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
  reconcile_timer.cancel();
  io.stop();  // the runner may still be polling; its result is dropped
}

// ---------------------------------------------------------------- status

void Daemon::Impl::handle_status(const StatusRequest& r, StatusServer::Respond respond) {
  const std::string path = r.target.substr(0, r.target.find('?'));
  if (path == "/optout" && r.method == "POST") {
    // Written on the loop (its connection, the gate it publishes).
    asio::post(io, [this, r, respond = std::move(respond)] {
      try {
        respond(optout(r));
      } catch (const StoreError& e) {
        spdlog::error("status /optout: {}", e.what());
        respond({500, "text/plain", "state database error\n"});
      }
    });
    return;
  }
  if ((path == "/healthz" || path == "/metrics") && r.method == "GET") {
    respond(status_reply(path));
  } else if (path == "/healthz" || path == "/metrics" || path == "/optout") {
    respond({405, "text/plain", "method not allowed\n"});
  } else {
    respond({404, "text/plain", "not found\n"});
  }
}

StatusReply Daemon::Impl::status_reply(const std::string& path) {
  std::shared_ptr<const Published> p;
  {
    std::lock_guard lock(published_mu);
    p = published;
  }
  StatusFacts f = p->facts;
  f.now = format_local_time(clock->now());
  std::optional<std::chrono::duration<double>> age;
  if (p->produced_at) {
    const std::chrono::duration<double> real = std::chrono::system_clock::now() - *p->produced_at;
    age = clock->to_daemon(std::max(real, std::chrono::duration<double>(0)));
    f.feed_age_seconds = age->count();
  }
  // The feed may have grown stale since the loop last looked (it pauses at its next step).
  if (!f.paused) {
    f.paused_reason = pause_reason(p->have_snapshot, f.feed_suspect, p->feed_error, age, p->max_feed_age);
    f.paused = !f.paused_reason.empty();
  }
  try {
    f.counts = status_store->counts();
  } catch (const StoreError& e) {
    spdlog::error("status {}: {}", path, e.what());
    return {500, "text/plain", "state database error\n"};
  }
  return path == "/healthz" ? healthz_reply(f) : metrics_reply(f);
}

void Daemon::Impl::publish_status() {
  auto p = std::make_shared<Published>();
  StatusFacts& f = p->facts;
  f = counters;
  f.paused = paused;
  f.paused_reason = paused_reason;
  f.simulated = clock->simulated();
  f.feed = config.feed;
  f.feed_orders = snapshot ? snapshot->orders.size() : 0;
  f.feed_suspect = feed_suspect;
  f.in_flight = in_flight.size();
  f.reconciling = reconcile_in_flight;
  f.last_reconcile = last_reconcile;
  if (!config.chat.empty()) {
    f.chat = config.chat;
    f.chat_messages = chat ? chat->chat.size() : 0;
    f.chat_error = chat_error;
  }
  p->have_snapshot = snapshot != nullptr;
  p->feed_error = feed_error;
  p->produced_at = produced_at;
  p->max_feed_age = config.max_feed_age;
  std::lock_guard lock(published_mu);
  published = std::move(p);
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
  for (Channel c : {Channel::sms, Channel::phone}) store->add_opt_out({*buyer, c, clock->now(), "sms-reply", ""});
  publish_gate();
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
