// `cuifu outbox`, `cuifu calls` and `cuifu optout`: the daemon's state for people.
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "app/commands.h"
#include "app/optout.h"
#include "app/paths.h"
#include "core/call_schedule.h"
#include "core/text.h"
#include "io/config.h"
#include "io/rules_loader.h"
#include "io/store.h"

namespace cuifu {

bool is_opt_out_reply(std::string_view text) {
  if (contains(text, "退订")) return true;
  // Keep letters only: "TD", "t.", " N " all count; "Thanks" does not.
  std::string letters;
  for (const char c : text) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (std::isalpha(u))
      letters += static_cast<char>(std::toupper(u));
    else if (u >= 0x80 || std::isdigit(u))
      return false;  // other words: a real reply, not a code
  }
  return letters == "TD" || letters == "T" || letters == "N" || letters == "R";
}

namespace {

struct StateOptions {
  std::string config;
  std::string state;
  std::string zone = "Asia/Shanghai";
  bool show_contacts = false;
};

void add_state_options(CLI::App* cmd, StateOptions& o) {
  cmd->add_option("--config", o.config, "Daemon config: its state database and time zone");
  cmd->add_option("--db", o.state, "State database (instead of --config)");
  cmd->add_option("--tz", o.zone, "Shop time zone with --db (default: Asia/Shanghai)");
  cmd->add_flag("--show-contacts", o.show_contacts, "Show phone numbers and e-mails unmasked");
}

// `create`: a missing database is created (optout add may come before the first run).
std::unique_ptr<SqliteStore> open_state(const StateOptions& o, bool create = false) {
  std::string path = o.state;
  std::string zone = o.zone;
  if (path.empty()) {
    if (o.config.empty()) throw std::runtime_error("give --config FILE or --db STATE.db");
    const DaemonConfig c = load_daemon_config(o.config);
    path = c.state;
    zone = c.time_zone;
  }
  if (!create && !std::filesystem::exists(path))
    throw std::runtime_error(fmt::format("{}: no such state database", path));
  return std::make_unique<SqliteStore>(path, ShopZone(zone));
}

std::string contact_text(Channel c, const std::string& contact, bool show) {
  if (show || contact.empty()) return contact.empty() ? "-" : contact;
  return c == Channel::email ? mask_email(contact) : mask_phone(contact);
}

std::optional<LocalTime> parse_day(const std::string& d) {
  if (d.empty()) return std::nullopt;
  const auto t = parse_local_date(d);
  if (!t) throw std::runtime_error(fmt::format("--date '{}' is not a date like 2026-11-24", d));
  return t;
}

struct OutboxOptions : StateOptions {
  std::string date, state_filter, format = "table";
};

int run_outbox(const OutboxOptions& o) {
  auto store = open_state(o);
  OutboxFilter f;
  f.day = parse_day(o.date);
  if (!o.state_filter.empty()) f.state = parse_outbox_state(o.state_filter);
  const auto rows = store->rows(f);
  if (o.format == "json") {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& r : rows) {
      nlohmann::json j = {{"id", r.id},
                          {"idempotency_key", r.idempotency_key},
                          {"send_at", format_local_time(r.send_at)},
                          {"state", to_string(r.state)},
                          {"channel", to_string(r.channel)},
                          {"buyer", r.buyer},
                          {"shop", r.shop},
                          {"order_ids", r.order_ids},
                          {"step", r.step},
                          {"segment", r.segment},
                          {"template", r.template_name},
                          {"contact", contact_text(r.channel, r.contact, o.show_contacts)},
                          {"message", r.message},
                          {"attempts", r.attempts},
                          {"last_error", r.last_error},
                          {"updated_at", format_local_time(r.updated_at)},
                          {"why", r.why}};
      if (r.sent_at) j["sent_at"] = format_local_time(*r.sent_at);
      if (!r.subject.empty()) j["subject"] = r.subject;
      out.push_back(std::move(j));
    }
    std::cout << out.dump(2) << "\n";
    return kExitOk;
  }
  std::cout << pad_display("send at", 17) << "  " << pad_display("state", 9) << "  " << pad_display("channel", 7)
            << "  " << pad_display("buyer", 16) << "  " << pad_display("contact", 16) << "  " << pad_display("step", 4)
            << "  "
            << "why / message\n";
  for (const auto& r : rows) {
    const std::string note = r.last_error.empty() ? r.message : r.last_error;
    std::cout << pad_display(format_local_hm(r.send_at), 17) << "  " << pad_display(to_string(r.state), 9) << "  "
              << pad_display(to_string(r.channel), 7) << "  " << pad_display(r.buyer, 16) << "  "
              << pad_display(contact_text(r.channel, r.contact, o.show_contacts), 16) << "  "
              << pad_display(std::to_string(r.step), 4) << "  " << trim(pad_display(note, 60)) << "\n";
  }
  std::cout << fmt::format("{} reminder{}\n", rows.size(), rows.size() == 1 ? "" : "s");
  return kExitOk;
}

struct CallsOptions : StateOptions {
  std::string date;
  std::string format = "table";
  std::string rules;  // for the phone window, quiet hours and calls.per_hour
  bool summary = false;
};

// The rules the call desk's times come from: --rules, the daemon config's, or the default
// rules directory. Without --rules a rules set that cannot be read only costs the suggestions.
struct CallDeskRules {
  std::optional<Rules> rules;
  std::string problem;  // why there are no suggested times
};

CallDeskRules call_desk_rules(const CallsOptions& o) {
  std::string dir = o.rules;
  if (dir.empty() && !o.config.empty()) dir = load_daemon_config(o.config).rules_dir;
  const bool explicit_dir = !dir.empty();
  if (dir.empty()) dir = default_dir("rules");
  try {
    return {load_rules(dir), {}};
  } catch (const std::exception& e) {
    if (explicit_dir) throw;
    return {std::nullopt, fmt::format("no suggested call times: {}", e.what())};
  }
}

// The latest outcome recorded for each task key.
std::map<std::string, CallOutcomeRecord> latest_outcomes(const SqliteStore& store, const std::vector<CallTask>& tasks) {
  std::vector<std::string> keys;
  for (const auto& t : tasks) keys.push_back(t.idempotency_key);
  std::map<std::string, CallOutcomeRecord> out;
  if (keys.empty()) return out;
  for (auto& r : store.call_outcomes(keys)) out[r.idempotency_key] = std::move(r);
  return out;
}

std::string outcome_text(const CallOutcomeRecord& r) {
  std::string s = fmt::format("{} at {}", to_string(r.outcome), format_local_hm(r.at));
  if (!r.agent.empty()) s += " by " + r.agent;
  if (!r.note.empty()) s += fmt::format(" ({})", r.note);
  return s;
}

// `cuifu calls --summary`: what the call desk achieved, per day and agent of each task's latest
// outcome (tasks not called yet: per day due). "reached" counts every call somebody picked up
// (reached, will_pay, refused); "paid" counts the reached tasks whose orders the newest feed
// shows paid: the conversion a 催付专员 is measured on.
int print_call_summary(const SqliteStore& store, const std::vector<CallTask>& tasks,
                       const std::map<std::string, CallOutcomeRecord>& outcomes, const std::string& format) {
  struct Row {
    int tasks = 0, not_called = 0, no_answer = 0, reached = 0, will_pay = 0, refused = 0, paid = 0;
  };
  std::map<std::pair<std::string, std::string>, Row> rows;  // (day, agent)
  Row total;
  for (const auto& t : tasks) {
    const auto it = outcomes.find(t.idempotency_key);
    const bool called = it != outcomes.end();
    const std::string day = format_local_date(called ? it->second.at : t.due_at);
    const std::string agent = called ? (it->second.agent.empty() ? "(no agent)" : it->second.agent) : "(not called)";
    for (Row* r : {&rows[{day, agent}], &total}) {
      ++r->tasks;
      if (!called) {
        ++r->not_called;
        continue;
      }
      const CallOutcome o = it->second.outcome;
      r->no_answer += o == CallOutcome::no_answer;
      r->will_pay += o == CallOutcome::will_pay;
      r->refused += o == CallOutcome::refused;
      if (!buyer_reached(o)) continue;
      ++r->reached;
      const bool paid = std::any_of(t.order_ids.begin(), t.order_ids.end(), [&](const std::string& id) {
        const auto s = store.order_status(id);
        return s && *s == OrderStatus::paid;
      });
      r->paid += paid;
    }
  }
  const auto rate = [](const Row& r) {
    return r.reached == 0 ? std::string("-") : fmt::format("{:.0f}%", 100.0 * r.paid / r.reached);
  };
  if (format == "json") {
    nlohmann::json out = nlohmann::json::array();
    const auto row_json = [&](const std::string& day, const std::string& agent, const Row& r) {
      return nlohmann::json{{"day", day},
                            {"agent", agent},
                            {"tasks", r.tasks},
                            {"not_called", r.not_called},
                            {"no_answer", r.no_answer},
                            {"reached", r.reached},
                            {"will_pay", r.will_pay},
                            {"refused", r.refused},
                            {"paid_after_reached", r.paid}};
    };
    for (const auto& [k, r] : rows) out.push_back(row_json(k.first, k.second, r));
    out.push_back(row_json("total", "", total));
    std::cout << out.dump(2) << "\n";
    return kExitOk;
  }
  std::cout << fmt::format("{:<10}  {}  {:>5}  {:>10}  {:>9}  {:>7}  {:>8}  {:>7}  {:>4}  {:>7}\n", "day",
                           pad_display("agent", 14), "tasks", "not called", "no answer", "reached", "will pay",
                           "refused", "paid", "paid %");
  const auto line = [&](const std::string& day, const std::string& agent, const Row& r) {
    std::cout << fmt::format("{:<10}  {}  {:>5}  {:>10}  {:>9}  {:>7}  {:>8}  {:>7}  {:>4}  {:>7}\n", day,
                             pad_display(agent, 14), r.tasks, r.not_called, r.no_answer, r.reached, r.will_pay,
                             r.refused, r.paid, rate(r));
  };
  for (const auto& [k, r] : rows) line(k.first, k.second, r);
  line("total", "", total);
  std::cout << "reached: the buyer picked up (reached, will pay or refused); paid: reached tasks whose orders the "
               "newest feed shows paid\n";
  return kExitOk;
}

int run_calls(const CallsOptions& o) {
  auto store = open_state(o);
  const auto tasks = store->call_tasks(parse_day(o.date));
  const auto outcomes = latest_outcomes(*store, tasks);
  if (o.summary) return print_call_summary(*store, tasks, outcomes, o.format);

  // Suggested call times, spread over each day's phone window (core/call_schedule.h).
  const CallDeskRules desk = call_desk_rules(o);
  std::map<std::string, LocalTime> call_at;
  if (desk.rules) {
    const ChannelRule* phone = desk.rules->channel(Channel::phone);
    std::map<LocalTime, std::vector<const CallTask*>> by_day;
    for (const auto& t : tasks) by_day[start_of_day(t.due_at)].push_back(&t);
    for (const auto& [day, list] : by_day) {
      std::vector<CallToSpread> in;
      for (const CallTask* t : list) in.push_back({t->idempotency_key, t->amount, t->due_at});
      const auto at = spread_calls(in, day, phone ? phone->windows : std::vector<DailyWindow>{},
                                   desk.rules->quiet_hours, desk.rules->calls.per_hour);
      for (std::size_t i = 0; i < list.size(); ++i) {
        if (at[i]) call_at[list[i]->idempotency_key] = *at[i];
      }
    }
  }
  const auto suggested = [&](const CallTask& t) -> std::string {
    const auto it = call_at.find(t.idempotency_key);
    if (it != call_at.end()) return format_local_hm(it->second).substr(11);
    return desk.rules ? "desk full" : "-";
  };

  // A task stays in the table after it was handed out; the call desk must see when the buyer
  // has paid (or the order closed) since, so nobody calls a buyer who already paid.
  const auto settled = [&](const CallTask& t) -> std::string {
    for (const auto& id : t.order_ids) {
      const auto s = store->order_status(id);
      if (s && *s != OrderStatus::unpaid) return fmt::format("order {} {}", id, to_string(*s));
    }
    return {};
  };
  if (o.format == "json") {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& t : tasks) {
      nlohmann::json j = {{"due_at", format_local_time(t.due_at)},
                          {"buyer", t.buyer},
                          {"shop", t.shop},
                          {"name", t.receiver_name},
                          {"phone", contact_text(Channel::phone, t.phone, o.show_contacts)},
                          {"order_ids", t.order_ids},
                          {"amount", format_money(t.amount)},
                          {"script", t.message},
                          {"idempotency_key", t.idempotency_key},
                          {"do_not_call", settled(t)}};
      if (const auto it = call_at.find(t.idempotency_key); it != call_at.end()) {
        j["call_at"] = format_local_time(it->second);
      }
      if (const auto it = outcomes.find(t.idempotency_key); it != outcomes.end()) {
        j["outcome"] = to_string(it->second.outcome);
        j["outcome_at"] = format_local_time(it->second.at);
        j["outcome_by"] = it->second.agent;
        j["outcome_note"] = it->second.note;
      }
      out.push_back(std::move(j));
    }
    std::cout << out.dump(2) << "\n";
    return kExitOk;
  }
  if (!desk.problem.empty()) std::cout << desk.problem << "\n";
  for (const auto& t : tasks) {
    const auto done = outcomes.find(t.idempotency_key);
    const std::string outcome = done == outcomes.end() ? std::string("not called yet") : outcome_text(done->second);
    if (const std::string why = settled(t); !why.empty()) {
      std::cout << fmt::format("{}  {}  DO NOT CALL: {} since the task was made; {}\n", format_local_hm(t.due_at),
                               pad_display(t.receiver_name.empty() ? t.buyer : t.receiver_name, 10), why, outcome);
      continue;
    }
    std::cout << fmt::format("{}  call at {}  {}  {}  {}  ¥{}  orders {}  key {}\n    {}\n    outcome: {}\n",
                             format_local_hm(t.due_at), suggested(t),
                             pad_display(t.receiver_name.empty() ? t.buyer : t.receiver_name, 10),
                             contact_text(Channel::phone, t.phone, o.show_contacts), t.buyer, format_money(t.amount),
                             fmt::join(t.order_ids, ","), t.idempotency_key, t.message, outcome);
  }
  std::cout << fmt::format("{} call task{}\n", tasks.size(), tasks.size() == 1 ? "" : "s");
  return kExitOk;
}

struct RecordOptions : StateOptions {
  std::string key, outcome, note, by, at;
};

// `cuifu calls record`: what came of a call. The planner honours it from the next plan on.
int run_calls_record(const RecordOptions& o) {
  const auto outcome = parse_call_outcome(o.outcome);
  if (!outcome) {
    throw std::runtime_error(
        fmt::format("calls record: --outcome '{}' is not one of reached, no_answer, will_pay, refused", o.outcome));
  }
  std::optional<LocalTime> at;
  if (!o.at.empty()) {
    at = parse_local_time(o.at);
    if (!at) throw std::runtime_error(fmt::format("calls record: --at '{}' is not a time like 2026-11-24 14:30", o.at));
  }
  auto store = open_state(o);
  const auto task = store->find_call_task(o.key);
  if (!task) {
    throw std::runtime_error(
        fmt::format("calls record: --key '{}': no call task with this idempotency key or order id "
                    "in {} (see `cuifu calls`)",
                    o.key, store->path()));
  }
  CallOutcomeRecord r;
  r.idempotency_key = task->idempotency_key;
  r.outcome = *outcome;
  r.at = at ? *at : SystemClock(ShopZone(o.zone)).now();
  r.agent = o.by;
  r.note = o.note;
  store->record_call_outcome(r);
  const std::string orders = fmt::format("{}", fmt::join(task->order_ids, ","));
  std::string next;
  switch (*outcome) {
    case CallOutcome::refused: next = fmt::format("orders {} get no more reminders", orders); break;
    case CallOutcome::will_pay: next = "the next reminder waits the rules' calls.will_pay_grace"; break;
    default: next = "the reminder sequence goes on"; break;
  }
  std::cout << fmt::format("{} ({}, orders {}): {}; {}\n", task->idempotency_key, task->buyer, orders, outcome_text(r),
                           next);
  return kExitOk;
}

struct OptoutOptions : StateOptions {
  std::string action;
  std::string buyer;
  std::optional<std::string> shop;  // unset: every shop
  std::vector<std::string> channels;
};

int run_optout(const OptoutOptions& o) {
  auto store = open_state(o, o.action == "add");
  std::vector<Channel> chans;
  for (const auto& c : o.channels) {
    const auto ch = parse_channel(c);
    if (!ch) throw std::runtime_error(fmt::format("--channel '{}': one of im, sms, phone, email", c));
    chans.push_back(*ch);
  }
  if (o.action == "list") {
    for (const auto& x : store->opt_outs()) {
      std::cout << fmt::format("{}  {}  {}  {}  {}\n", pad_display(x.buyer, 20),
                               pad_display(x.shop.empty() ? "(every shop)" : x.shop, 20),
                               pad_display(to_string(x.channel), 6), format_local_hm(x.at), x.source);
    }
    return kExitOk;
  }
  if (o.buyer.empty()) throw std::runtime_error(fmt::format("optout {} needs --buyer", o.action));
  if (o.action == "add") {
    if (chans.empty()) chans.assign(kAllChannels.begin(), kAllChannels.end());
    const LocalTime now = SystemClock(ShopZone(o.zone)).now();
    for (Channel c : chans) store->add_opt_out({o.buyer, c, now, "cli", o.shop.value_or("")});
    std::cout << fmt::format("{} opted out of {} channel{} in {}\n", o.buyer, chans.size(),
                             chans.size() == 1 ? "" : "s", o.shop ? "shop " + *o.shop : std::string("every shop"));
    return kExitOk;
  }
  bool any = false;
  if (chans.empty()) {
    any = store->remove_opt_out(o.buyer, std::nullopt, o.shop);
  } else {
    for (Channel c : chans) any = store->remove_opt_out(o.buyer, c, o.shop) || any;
  }
  std::cout << (any ? fmt::format("removed opt-out of {}\n", o.buyer)
                    : fmt::format("{} had no such opt-out\n", o.buyer));
  return any ? kExitOk : kExitFindings;
}

}  // namespace

void add_state_commands(CLI::App& app, CommandAction& action) {
  {
    auto o = std::make_shared<OutboxOptions>();
    auto* cmd = app.add_subcommand("outbox", "What the daemon planned, sent, failed or cancelled, and why");
    add_state_options(cmd, *o);
    cmd->add_option("--date", o->date, "Only reminders due on this local day, YYYY-MM-DD");
    cmd->add_option("--state", o->state_filter,
                    "planned, sending, sent, failed, cancelled or unknown (a crash while it was being sent on a "
                    "channel that keeps duplicates: possibly delivered, never resent)")
        ->check(CLI::IsMember({"planned", "sending", "sent", "failed", "cancelled"}));
    cmd->add_option("--format", o->format, "table or json")->check(CLI::IsMember({"table", "json"}));
    cmd->callback([o, &action] { action = [o] { return run_outbox(*o); }; });
  }
  {
    auto o = std::make_shared<CallsOptions>();
    auto* cmd = app.add_subcommand("calls", "Call tasks for the call desk, their suggested times and outcomes");
    add_state_options(cmd, *o);
    cmd->add_option("--date", o->date, "Only calls due on this local day, YYYY-MM-DD");
    cmd->add_option("--format", o->format, "table or json")->check(CLI::IsMember({"table", "json"}));
    cmd->add_option("--rules", o->rules,
                    "Rules directory for the suggested call times (phone window, quiet hours, calls.per_hour); "
                    "default: the config's, else the default rules");
    cmd->add_flag("--summary", o->summary,
                  "Per day and agent: tasks, no answer, reached, will pay, refused, and reached tasks paid since");

    auto r = std::make_shared<RecordOptions>();
    auto* rec = cmd->add_subcommand("record", "Record what came of a call: reached, no_answer, will_pay, refused");
    add_state_options(rec, *r);
    rec->add_option("--key", r->key, "The call task's idempotency key, or one of its order ids")->required();
    rec->add_option("--outcome", r->outcome, "reached, no_answer, will_pay or refused")->required();
    rec->add_option("--note", r->note, "What the buyer said, in a few words");
    rec->add_option("--by", r->by, "Who made the call (the 催付专员)");
    rec->add_option("--at", r->at, "When the call was made, YYYY-MM-DD HH:MM (default: now)");
    rec->callback([r, &action] { action = [r] { return run_calls_record(*r); }; });
    cmd->callback([o, rec, &action] {
      if (!rec->parsed()) action = [o] { return run_calls(*o); };
    });
  }
  {
    auto o = std::make_shared<OptoutOptions>();
    auto* cmd = app.add_subcommand("optout", "Add, list or remove a buyer's opt-out");
    add_state_options(cmd, *o);
    cmd->add_option("action", o->action, "add, list or remove")
        ->required()
        ->check(CLI::IsMember({"add", "list", "remove"}));
    cmd->add_option("--buyer", o->buyer, "The buyer (买家会员名)");
    cmd->add_option("--shop", o->shop,
                    "The shop (店铺名称) the opt-out is for; add: default every shop; remove: default from every shop");
    cmd->add_option("--channel", o->channels, "Channels (default: all); repeatable");
    cmd->callback([o, &action] { action = [o] { return run_optout(*o); }; });
  }
}

}  // namespace cuifu
