// `cuifu backtest`: what a rule set (or two, side by side) would have done on a past
// order log, replayed through the same planner as the daemon.
#include <fmt/format.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <unordered_map>

#include "app/backtest_report.h"
#include "app/commands.h"
#include "app/paths.h"
#include "core/backtest.h"
#include "core/text.h"
#include "io/charset.h"
#include "io/chat_feed.h"
#include "io/csv.h"
#include "io/feed.h"
#include "io/rules_loader.h"
#include "io/zone.h"

namespace cuifu {

namespace {

namespace fs = std::filesystem;

struct BacktestOptions {
  std::string log;
  std::string mapping;
  std::string encoding;
  std::string rules_dir;
  std::string templates_dir;
  std::string compare_dir;
  std::string from;
  std::string to;
  std::string format = "table";
  std::string report;
  std::string zone;
  std::string chat;
  std::string chat_mapping;
  unsigned threads = 0;  // 0: one per core
  bool timings = false;
};

// Where a backtest's time went, printed on stderr with --timings: reading the log, then each
// rule set's replay alone (the planner over every buyer's events) and its figures, then the
// output. The replay's orders/s is the figure to set against the goal of a million a second.
class Timings {
 public:
  // Wall-clock seconds and CPU seconds of the whole process (all threads, user + system).
  struct Lap {
    double wall = 0, cpu = 0;
    std::string text() const { return fmt::format("{:.2f} s (CPU {:.2f} s)", wall, cpu); }
  };

  explicit Timings(bool on) : on_(on) {}
  // Since the last lap; the next lap starts now.
  Lap lap() {
    const auto now = std::chrono::steady_clock::now();
    const double cpu = cpu_seconds();
    const Lap l{std::chrono::duration<double>(now - last_).count(), cpu - last_cpu_};
    last_ = now;
    last_cpu_ = cpu;
    return l;
  }
  void say(const std::string& line) const {
    if (on_) std::cerr << "timings: " << line << "\n";
  }

 private:
  static double cpu_seconds() {
    rusage u{};
    ::getrusage(RUSAGE_SELF, &u);
    const auto secs = [](const timeval& t) {
      return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
    };
    return secs(u.ru_utime) + secs(u.ru_stime);
  }

  bool on_;
  std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
  double last_cpu_ = cpu_seconds();
};

// What the log says really happened to an order, when it says so.
struct LoggedContact {
  bool reminded = false;
  std::string channel;  // "unknown" when the column only says yes
  bool holdout = false;
};

bool truthy(const std::string& v) {
  return v == "1" || v == "true" || v == "yes" || v == "y" || v == "x";
}

std::string lower(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

// Reads the optional "reminded" and "holdout" columns of a CSV log (the order feed
// readers do not know them). Returns nullopt when the log has neither, or is not CSV.
std::optional<std::unordered_map<std::string, LoggedContact>> read_logged_contacts(const std::string& path,
                                                                                   const FeedOptions& feed) {
  const std::string ext = lower(fs::path(path).extension().string());
  if (ext == ".jsonl" || ext == ".ndjson") return std::nullopt;
  std::ifstream in(path, std::ios::binary);
  // Most logs have neither column: their first line is all that is read here. A column name
  // decoded from the header is made of the header's own ASCII bytes, so a header whose bytes
  // do not hold either name cannot name either column.
  std::string first_line;
  std::getline(in, first_line);
  const std::string lowered = lower(first_line);
  if (lowered.find("reminded") == std::string::npos && lowered.find("holdout") == std::string::npos) {
    return std::nullopt;
  }
  in.seekg(0);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string encoding = feed.encoding.empty() ? detect_encoding(bytes) : feed.encoding;
  const char delimiter = feed.mapping ? feed.mapping->delimiter : ',';
  std::vector<std::size_t> bad;
  // The header alone says whether the columns are there; most logs have neither, and then
  // the rest of the file is not decoded and parsed a second time. (A newline byte is never
  // part of a GB18030 character, so the header ends at the first one.)
  const std::string_view header_bytes = std::string_view(bytes).substr(0, bytes.find('\n'));
  const auto header = parse_csv(to_utf8_replacing(header_bytes, encoding, bad), delimiter);
  if (header.empty()) return std::nullopt;
  const auto has_column = [](const std::string& name) {
    const std::string n = lower(name);
    return n == "reminded" || n == "holdout";
  };
  const auto header_list = header_names(header.front());
  if (std::none_of(header_list.begin(), header_list.end(), has_column)) return std::nullopt;
  const std::string text = to_utf8_replacing(bytes, encoding, bad);
  const auto records = parse_csv(text, delimiter);
  if (records.empty()) return std::nullopt;
  const auto names = header_names(records.front());
  std::string id_header = "订单编号";
  if (feed.mapping) {
    const auto it = feed.mapping->columns.find("order_id");
    if (it != feed.mapping->columns.end()) id_header = it->second;
  }
  int id_col = -1, reminded_col = -1, holdout_col = -1;
  for (std::size_t i = 0; i < names.size(); ++i) {
    const std::string n = lower(names[i]);
    if (names[i] == id_header) id_col = static_cast<int>(i);
    if (n == "reminded") reminded_col = static_cast<int>(i);
    if (n == "holdout") holdout_col = static_cast<int>(i);
  }
  if (id_col < 0 || (reminded_col < 0 && holdout_col < 0)) return std::nullopt;
  std::unordered_map<std::string, LoggedContact> out;
  const auto cell = [](const CsvRecord& rec, int col) {
    return col >= 0 && static_cast<std::size_t>(col) < rec.fields.size()
               ? lower(trim(rec.fields[static_cast<std::size_t>(col)]))
               : std::string{};
  };
  for (std::size_t i = 1; i < records.size(); ++i) {
    const auto& rec = records[i];
    if (static_cast<std::size_t>(id_col) >= rec.fields.size()) continue;
    LoggedContact c;
    const std::string reminded = cell(rec, reminded_col);
    if (!reminded.empty() && reminded != "0" && reminded != "false" && reminded != "no" && reminded != "n") {
      c.reminded = true;
      c.channel = parse_channel(reminded) ? reminded : "unknown";
    }
    c.holdout = truthy(cell(rec, holdout_col));
    out[trim(rec.fields[static_cast<std::size_t>(id_col)])] = c;
  }
  return out;
}

std::string set_name(const std::string& dir) {
  fs::path p = fs::path(dir).lexically_normal();
  if (p.filename().empty()) p = p.parent_path();
  return p.filename().empty() ? dir : p.filename().string();
}

// Reports replay progress on stderr, when stderr is a terminal; quiet otherwise.
class Progress {
 public:
  explicit Progress(std::string what) : what_(std::move(what)), on_(isatty(STDERR_FILENO) != 0) {}
  ~Progress() {
    if (on_ && shown_) std::cerr << "\n";
  }
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;
  void update(std::size_t done, std::size_t total, std::size_t orders) {
    if (!on_) return;
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    const double rate = secs > 0 ? static_cast<double>(orders) / secs : 0.0;
    const double eta = done > 0 ? secs * static_cast<double>(total - done) / static_cast<double>(done) : 0.0;
    std::cerr << fmt::format("\r{}: {}/{} buyers, {} orders, {:.0f} orders/s, ETA {:.1f} s   ", what_, done, total,
                             orders, rate, eta);
    shown_ = true;
  }

 private:
  std::string what_;
  bool on_;
  bool shown_ = false;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

LocalTime parse_bound(const std::string& text, const char* flag, bool end) {
  if (const auto d = parse_local_date(text); d && text.size() <= 10) return end ? *d + std::chrono::days{1} : *d;
  if (const auto t = parse_local_time(text)) return *t;
  throw std::runtime_error(
      fmt::format("{} '{}' is not a date like 2018-08-01 (or a time \"2018-08-01 12:00\")", flag, text));
}

RuleSetRun run_rule_set(const RuleSet& set, const std::string& name, const std::vector<Order>& orders,
                        const BacktestConfig& base,
                        const std::optional<std::unordered_map<std::string, LoggedContact>>& logged, Timings& timings) {
  RuleSetRun run;
  run.name = name;
  run.rules_dir = set.rules_dir;
  run.templates_dir = set.templates_dir;
  run.rules = &set.rules;
  Progress progress("replaying " + name);
  BacktestConfig config = base;
  config.progress = [&progress](std::size_t d, std::size_t t, std::size_t o) { progress.update(d, t, o); };
  timings.lap();
  run.result = replay(orders, set.rules, set.templates, config);
  const Timings::Lap replay_lap = timings.lap();
  timings.say(fmt::format("replay ({}): {}, {} orders, {:.0f} orders/s", name, replay_lap.text(),
                          run.result.orders.size(),
                          static_cast<double>(run.result.orders.size()) / std::max(replay_lap.wall, 1e-6)));
  run.figures = summarize(run.result, set.rules, base.threads);
  if (logged) {
    std::vector<UpliftSample> samples;
    for (const auto& o : run.result.orders) {
      const auto it = logged->find(o.order_id);
      if (it == logged->end()) continue;
      samples.push_back(
          {o.segment, it->second.channel, it->second.reminded, it->second.holdout, o.paid_at.has_value(), o.amount});
    }
    run.uplift = measure_uplift(samples);
  } else {
    run.uplift_reason =
        "the log does not say which orders were really reminded and which buyers were held out (CSV columns "
        "\"reminded\" and \"holdout\"); the payments in a replayed log are what happened without these reminders, so "
        "counting them as recovered would overstate the lift";
    run.uplift_reason += set.rules.holdout_percent > 0
                             ? fmt::format(
                                   "; these rules hold out {}% of buyers, so a log of a period run with them "
                                   "can measure it",
                                   set.rules.holdout_percent)
                             : "; set holdout: percent in the rules, run with them, and backtest that period's log";
  }
  timings.say(fmt::format("figures ({}): {}", name, timings.lap().text()));
  return run;
}

int run_backtest(const BacktestOptions& o) {
  FeedOptions feed_options;
  feed_options.encoding = o.encoding;
  feed_options.threads = o.threads;
  if (!o.mapping.empty()) {
    feed_options.mapping = load_column_mapping(o.mapping);
    feed_options.format = FeedFormat::csv;
  }
  const std::string file_zone = feed_options.mapping ? feed_options.mapping->timezone : std::string{};
  const ShopZone zone(!o.zone.empty() ? o.zone : (!file_zone.empty() ? file_zone : std::string("Asia/Shanghai")));

  const std::string rules_dir = o.rules_dir.empty() ? default_dir("rules") : o.rules_dir;
  const std::string templates_dir = o.templates_dir.empty() ? default_dir("templates") : o.templates_dir;
  // Both rule sets load before the log is read, so a rules error shows at once.
  std::vector<RuleSet> sets;
  sets.push_back(load_rule_set(rules_dir, templates_dir));
  if (!o.compare_dir.empty()) {
    std::string compare_templates = o.templates_dir;
    if (compare_templates.empty()) {
      const fs::path sibling = fs::path(o.compare_dir).lexically_normal().parent_path() / "templates";
      std::error_code ec;
      compare_templates = fs::is_directory(sibling, ec) ? sibling.string() : templates_dir;
    }
    sets.push_back(load_rule_set(o.compare_dir, compare_templates));
  }

  Timings timings(o.timings);
  if (isatty(STDERR_FILENO)) std::cerr << fmt::format("reading {} …\n", o.log);
  const auto read_start = std::chrono::steady_clock::now();
  FeedSnapshot feed = read_feed_file(o.log, feed_options);
  // Moved out of the snapshot, which alone holds them (no copy): the replay takes a vector.
  std::vector<Order> orders = std::move(feed.orders).to_vector();
  if (isatty(STDERR_FILENO)) {
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - read_start).count();
    std::cerr << fmt::format(
        "read {} rows in {:.2f} s ({:.0f} rows/s), {} rejected\n", orders.size() + feed.rejected.size(), secs,
        static_cast<double>(orders.size() + feed.rejected.size()) / std::max(secs, 1e-6), feed.rejected.size());
  }
  if (!file_zone.empty() && file_zone != zone.name()) {
    // The log's times are local to its own zone: move them into the shop's.
    const ShopZone from_zone(file_zone);
    const auto move = [&](LocalTime t) { return zone.to_local(from_zone.to_sys(t)); };
    for (auto& order : orders) {
      order.created_at = move(order.created_at);
      if (order.paid_at) order.paid_at = move(*order.paid_at);
      if (order.closed_at) order.closed_at = move(*order.closed_at);
      if (order.balance_starts) order.balance_starts = move(*order.balance_starts);
      if (order.balance_ends) order.balance_ends = move(*order.balance_ends);
    }
  }
  const auto logged = read_logged_contacts(o.log, feed_options);

  std::optional<ChatSnapshot> chat;
  if (!o.chat.empty()) {
    ChatOptions chat_options;
    if (!o.chat_mapping.empty()) chat_options.mapping = load_chat_mapping(o.chat_mapping);
    chat = read_chat_file(o.chat, chat_options);
    for (const auto& row : chat->rejected)
      std::cerr << fmt::format("{}:{}: rejected: {}\n", o.chat, row.line, row.error);
  }

  timings.say(fmt::format("read the log: {}, {} rows", timings.lap().text(),
                          orders.size() + feed.rejected.size() + feed.superseded.size()));

  BacktestConfig config;
  config.chat = chat ? &chat->chat : nullptr;
  config.threads = o.threads;
  config.keep_texts = false;  // no report shows a sent reminder's text
  if (!o.from.empty()) config.from = parse_bound(o.from, "--from", false);
  if (!o.to.empty()) config.to = parse_bound(o.to, "--to", true);

  BacktestReport report;
  report.log = o.log;
  report.zone = &zone;
  report.rows = orders.size() + feed.rejected.size() + feed.superseded.size();
  report.superseded = feed.superseded.size();
  report.rejected = feed.rejected;
  std::vector<std::string> names;
  for (const auto& s : sets) names.push_back(set_name(s.rules_dir));
  if (names.size() == 2 && names[0] == names[1]) {
    names = {sets[0].rules_dir, sets[1].rules_dir};
    if (names[0] == names[1]) names[1] += " (again)";
  }
  for (std::size_t i = 0; i < sets.size(); ++i) {
    report.runs.push_back(run_rule_set(sets[i], names[i], orders, config, logged, timings));
  }
  report.from = report.runs.front().result.from;
  report.to = report.runs.front().result.to;
  report.log_end = report.runs.front().result.log_end;

  if (!o.report.empty()) {
    std::ofstream html(o.report, std::ios::binary);
    if (!html) throw std::runtime_error(fmt::format("cannot write the report to {}", o.report));
    write_backtest_html(html, report);
    if (!html.flush()) throw std::runtime_error(fmt::format("cannot write the report to {}", o.report));
  }
  if (o.format == "json") {
    write_backtest_json(std::cout, report);
  } else {
    write_backtest_table(std::cout, report);
    if (!o.report.empty()) std::cout << fmt::format("\nreport written to {}\n", o.report);
  }
  std::cout.flush();
  timings.say(fmt::format("report and output: {}", timings.lap().text()));
  int code = kExitOk;
  for (const auto& run : report.runs) {
    if (run.figures.violations.total() > 0) code = kExitFindings;
  }
  keep_until_exit(std::move(report));
  keep_until_exit(std::move(feed));
  keep_until_exit(std::move(sets));
  return code;
}

}  // namespace

void add_backtest_command(CLI::App& app, CommandAction& action) {
  auto o = std::make_shared<BacktestOptions>();
  auto* cmd =
      app.add_subcommand("backtest", "Replay rule sets over a past order log and measure what they would have done");
  cmd->add_option("--log", o->log, "Past order log: Taobao CSV, CSV with --mapping, or .jsonl")->required();
  cmd->add_option("--mapping", o->mapping, "YAML column mapping for a generic CSV log (e.g. data/olist-mapping.yaml)");
  cmd->add_option("--encoding", o->encoding, "Log encoding (default: detected)")
      ->check(CLI::IsMember({"utf-8", "gb18030"}));
  cmd->add_option("--rules", o->rules_dir, "Rules directory (default: ./rules)");
  cmd->add_option("--templates", o->templates_dir, "Templates directory (default: ./templates)");
  cmd->add_option("--compare", o->compare_dir,
                  "A second rules directory to compare with (templates: --templates, else DIR/../templates if it "
                  "exists, else the default)");
  cmd->add_option("--from", o->from, "First day of orders to replay, YYYY-MM-DD (default: the log's first)");
  cmd->add_option("--to", o->to, "Last day of orders to replay, YYYY-MM-DD, inclusive (default: the log's last)");
  cmd->add_option("--format", o->format, "table or json")->check(CLI::IsMember({"table", "json"}));
  cmd->add_option("--report", o->report, "Also write a self-contained HTML report with charts to this file");
  cmd->add_option("--tz", o->zone, "Shop time zone (default: the mapping's timezone, else Asia/Shanghai)");
  cmd->add_option("--chat", o->chat,
                  "The shop's chat export over the same period (CSV or .jsonl): reasons and stop signals, each seen "
                  "only from the moment it was written");
  cmd->add_option("--chat-mapping", o->chat_mapping, "YAML column mapping for the chat export");
  cmd->add_option("--threads", o->threads,
                  "Read the log and replay buyers on this many threads (default: one per core); same results");
  cmd->add_flag("--timings", o->timings,
                "Print on stderr where the time went: reading the log, each replay (orders/s), the output");
  cmd->callback([o, &action] { action = [o] { return run_backtest(*o); }; });
}

}  // namespace cuifu
