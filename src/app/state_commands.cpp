// `cuifu outbox`, `cuifu calls` and `cuifu optout`: the daemon's state for people.
#include <fmt/format.h>

#include <filesystem>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "app/commands.h"
#include "app/optout.h"
#include "core/text.h"
#include "io/config.h"
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
};

int run_calls(const CallsOptions& o) {
  auto store = open_state(o);
  const auto tasks = store->call_tasks(parse_day(o.date));
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
      out.push_back({{"due_at", format_local_time(t.due_at)},
                     {"buyer", t.buyer},
                     {"shop", t.shop},
                     {"name", t.receiver_name},
                     {"phone", contact_text(Channel::phone, t.phone, o.show_contacts)},
                     {"order_ids", t.order_ids},
                     {"script", t.message},
                     {"idempotency_key", t.idempotency_key},
                     {"do_not_call", settled(t)}});
    }
    std::cout << out.dump(2) << "\n";
    return kExitOk;
  }
  for (const auto& t : tasks) {
    if (const std::string why = settled(t); !why.empty()) {
      std::cout << fmt::format("{}  {}  DO NOT CALL: {} since the task was made\n", format_local_hm(t.due_at),
                               pad_display(t.receiver_name.empty() ? t.buyer : t.receiver_name, 10), why);
      continue;
    }
    std::cout << fmt::format("{}  {}  {}  {}  orders {}\n    {}\n", format_local_hm(t.due_at),
                             pad_display(t.receiver_name.empty() ? t.buyer : t.receiver_name, 10),
                             contact_text(Channel::phone, t.phone, o.show_contacts), t.buyer,
                             fmt::join(t.order_ids, ","), t.message);
  }
  std::cout << fmt::format("{} call task{}\n", tasks.size(), tasks.size() == 1 ? "" : "s");
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
    auto* cmd = app.add_subcommand("calls", "Call tasks for the call desk");
    add_state_options(cmd, *o);
    cmd->add_option("--date", o->date, "Only calls due on this local day, YYYY-MM-DD");
    cmd->add_option("--format", o->format, "table or json")->check(CLI::IsMember({"table", "json"}));
    cmd->callback([o, &action] { action = [o] { return run_calls(*o); }; });
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
