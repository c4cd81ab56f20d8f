// `cuifu plan`: tomorrow's reminders from an order export.
#include <fmt/format.h>
#include <filesystem>
#include <iostream>
#include <memory>

#include "app/commands.h"
#include "app/paths.h"
#include "app/plan_output.h"
#include "core/planner.h"
#include "io/chat_feed.h"
#include "io/feed.h"
#include "io/rules_loader.h"
#include "io/store.h"
#include "io/zone.h"

namespace cuifu {

namespace {

struct PlanOptions {
  std::string feed;
  std::string mapping;
  std::string encoding;
  std::string rules_dir;
  std::string templates_dir;
  std::string now;
  std::string date;
  std::string format = "table";
  std::string zone = "Asia/Shanghai";
  std::string csv_encoding = "utf-8-bom";
  std::string state;  // SQLite state of the daemon: contacts made, opt-outs
  std::string chat;   // the shop's chat export: reasons and stop signals
  std::string chat_mapping;
  bool show_contacts = false;
  unsigned threads = 0;  // 0: one per core
};

int run_plan(const PlanOptions& o) {
  const ShopZone zone(o.zone);
  LocalTime now;
  if (o.now.empty()) {
    now = SystemClock(zone).now();
  } else {
    const auto t = parse_local_time(o.now);
    if (!t) throw std::runtime_error(fmt::format("--now '{}' is not a time like \"2026-11-23 21:00\"", o.now));
    now = *t;
  }
  LocalTime from = start_of_day(now) + std::chrono::days{1};
  if (!o.date.empty()) {
    const auto d = parse_local_date(o.date);
    if (!d) throw std::runtime_error(fmt::format("--date '{}' is not a date like 2026-11-24", o.date));
    from = *d;
  }
  const LocalTime to = from + std::chrono::days{1};

  RuleSet rule_set = load_rule_set(o.rules_dir.empty() ? default_dir("rules") : o.rules_dir,
                                   o.templates_dir.empty() ? default_dir("templates") : o.templates_dir);
  FeedOptions feed_options;
  feed_options.encoding = o.encoding;
  feed_options.threads = o.threads;
  if (!o.mapping.empty()) {
    feed_options.mapping = load_column_mapping(o.mapping);
    feed_options.format = FeedFormat::csv;
  }
  FeedSnapshot feed = read_feed_file(o.feed, feed_options);
  // Moved out of the snapshot, which alone holds them (no copy): the planner takes a vector.
  std::vector<Order> orders = std::move(feed.orders).to_vector();
  for (const auto& row : feed.rejected) std::cerr << fmt::format("{}:{}: rejected: {}\n", o.feed, row.line, row.error);

  // Without a state database every order counts as never reminded; with one, plan sees the
  // same contact log and opt-outs as the daemon, so both decide alike.
  ContactHistory history;
  if (!o.state.empty()) {
    if (!std::filesystem::exists(o.state)) throw std::runtime_error(fmt::format("--state {}: no such file", o.state));
    history = SqliteStore(o.state, zone).history();
  }
  std::optional<ChatSnapshot> chat;
  if (!o.chat.empty()) {
    ChatOptions chat_options;
    if (!o.chat_mapping.empty()) chat_options.mapping = load_chat_mapping(o.chat_mapping);
    chat = read_chat_file(o.chat, chat_options);
    for (const auto& row : chat->rejected)
      std::cerr << fmt::format("{}:{}: rejected: {}\n", o.chat, row.line, row.error);
  }
  PlanRequest request{now, from, to, chat ? &chat->chat : nullptr};
  request.threads = o.threads;
  const auto run = [&](PlanSink& sink) {
    plan_into(orders, history, rule_set.rules, rule_set.templates, request, sink);
  };

  PlanReport report;
  report.rejected = &feed.rejected;
  report.superseded = &feed.superseded;
  report.rules = &rule_set.rules;
  report.now = now;
  report.from = from;
  report.to = to;
  report.zone = &zone;
  report.feed = o.feed;
  report.orders = orders.size() + feed.rejected.size();
  report.show_contacts = o.show_contacts;
  report.width = table_width_from_environment();
  // JSON and CSV are written buyer by buyer (a plan of a million reminders never exists as
  // values); the table, for a person to read, from the whole plan.
  if (o.format == "json") {
    write_plan_json(std::cout, report, run);
  } else if (o.format == "csv") {
    write_plan_csv(std::cout, report, run, o.csv_encoding);
  } else {
    const Plan plan = cuifu::plan(orders, history, rule_set.rules, rule_set.templates, request);
    report.plan = &plan;
    write_plan_table(std::cout, report);
  }
  keep_until_exit(std::move(orders));
  keep_until_exit(std::move(feed));
  keep_until_exit(std::move(rule_set));
  return kExitOk;
}

}  // namespace

void add_plan_command(CLI::App& app, CommandAction& action) {
  auto o = std::make_shared<PlanOptions>();
  auto* cmd = app.add_subcommand("plan", "Preview the reminders of a day (default: tomorrow) from an order export");
  cmd->add_option("--feed", o->feed, "Order export: Taobao CSV (GB18030 or UTF-8), CSV with --mapping, or .jsonl")
      ->required();
  cmd->add_option("--mapping", o->mapping, "YAML column mapping for a generic CSV feed");
  cmd->add_option("--encoding", o->encoding, "Feed encoding (default: detected)")
      ->check(CLI::IsMember({"utf-8", "gb18030"}));
  cmd->add_option("--rules", o->rules_dir, "Rules directory (default: ./rules)");
  cmd->add_option("--templates", o->templates_dir, "Templates directory (default: ./templates)");
  cmd->add_option("--now", o->now, "Pretend it is this local time: \"YYYY-MM-DD HH:MM\" (default: now)");
  cmd->add_option("--date", o->date, "Plan this local day, YYYY-MM-DD (default: the day after --now)");
  cmd->add_option("--format", o->format, "table, json or csv")->check(CLI::IsMember({"table", "json", "csv"}));
  cmd->add_option("--csv-encoding", o->csv_encoding,
                  "CSV output: utf-8-bom (default; Excel reads it as UTF-8), utf-8, or gb18030 (older Excel on a "
                  "Chinese Windows)")
      ->check(CLI::IsMember({"utf-8-bom", "utf-8", "gb18030"}));
  cmd->add_option("--tz", o->zone, "Shop time zone (default: Asia/Shanghai)");
  cmd->add_option("--state", o->state, "The daemon's state database: contacts already made and opt-outs");
  cmd->add_option("--chat", o->chat,
                  "The shop's chat export (CSV in UTF-8 or GB18030, or .jsonl): why buyers have not paid, who said "
                  "they will not buy");
  cmd->add_option("--chat-mapping", o->chat_mapping, "YAML column mapping for the chat export");
  cmd->add_flag("--show-contacts", o->show_contacts, "Show phone numbers and e-mails unmasked");
  cmd->add_option("--threads", o->threads,
                  "Read the feed and plan buyers on this many threads (default: one per core); same plan");
  cmd->callback([o, &action] { action = [o] { return run_plan(*o); }; });
}

}  // namespace cuifu
