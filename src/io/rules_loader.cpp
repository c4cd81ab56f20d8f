#include "io/rules_loader.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "core/text.h"

namespace cuifu {

namespace fs = std::filesystem;

namespace {

std::vector<std::string> yaml_files(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw LoadError(fmt::format("{}: not a directory", dir));
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const auto ext = e.path().extension();
    if (e.is_regular_file() && (ext == ".yaml" || ext == ".yml")) files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

void read_channels(YamlReader& r, const YAML::Node& node, Rules& rules) {
  if (!node.IsMap()) {
    r.error(node, "'channels' must be a map of channel name -> settings");
    return;
  }
  for (const auto& kv : node) {
    const std::string name = kv.first.as<std::string>("");
    const auto channel = parse_channel(name);
    if (!channel) {
      r.error(kv.first, fmt::format("unknown channel '{}' (known: im, sms, phone, email)", name));
      continue;
    }
    const YAML::Node& n = kv.second;
    ChannelRule ch;
    ch.channel = *channel;
    ch.source = source_of(r.file(), kv.first);
    if (!n.IsMap()) {
      r.error(n, fmt::format("channels.{} must be a map", name));
      continue;
    }
    r.check_keys(n, {"enabled", "cost", "windows", "signature", "opt_out"}, "channels." + name);
    ch.enabled = r.boolean(n, "enabled").value_or(true);
    if (const auto cost = r.number(n, "cost")) ch.cost_milli = std::llround(*cost * 1000);
    ch.windows = r.windows(n, "windows");
    ch.sms_signature = r.str(n, "signature").value_or("");
    ch.sms_opt_out = r.str(n, "opt_out").value_or("");
    rules.channels[*channel] = ch;
  }
}

void read_condition(YamlReader& r, const YAML::Node& n, SegmentCondition& c, const std::string& ctx) {
  if (!n.IsMap()) {
    r.error(n, ctx + ".when must be a map of conditions");
    return;
  }
  r.check_keys(n,
               {"address_any", "address_none", "min_amount", "max_amount", "overseas", "note_any", "min_closed_unpaid"},
               ctx + ".when");
  c.address_any = r.str_list(n, "address_any");
  c.address_none = r.str_list(n, "address_none");
  c.min_amount = r.money_fen(n, "min_amount");
  c.max_amount = r.money_fen(n, "max_amount");
  c.overseas = r.boolean(n, "overseas");
  c.note_any = r.str_list(n, "note_any");
  c.min_closed_unpaid = r.integer(n, "min_closed_unpaid");
}

std::optional<Channel> read_channel(YamlReader& r, const YAML::Node& n, const std::string& key) {
  const auto s = r.str(n, key);
  if (!s) return std::nullopt;
  const auto c = parse_channel(*s);
  if (!c) r.error(n[key], fmt::format("'{}' is '{}'; must be one of im, sms, phone, email", key, *s));
  return c;
}

void read_segments(YamlReader& r, const YAML::Node& node, Rules& rules) {
  if (!node.IsSequence()) {
    r.error(node, "'segments' must be a list, first match wins");
    return;
  }
  for (const auto& n : node) {
    SegmentRule seg;
    seg.source = source_of(r.file(), n);
    if (!n.IsMap()) {
      r.error(n, "each segment must be a map with name, when and steps");
      continue;
    }
    r.check_keys(n, {"name", "description", "when", "steps", "name_suffix"}, "segment");
    seg.name = r.str(n, "name").value_or("");
    if (seg.name.empty()) r.error(n, "segment without a 'name'");
    const std::string ctx = "segment " + seg.name;
    seg.description = r.str(n, "description").value_or("");
    seg.name_suffix = r.str(n, "name_suffix").value_or("");
    if (n["when"]) read_condition(r, n["when"], seg.when, ctx);
    const YAML::Node steps = n["steps"];
    if (!steps || !steps.IsSequence() || steps.size() == 0) {
      r.error(steps ? steps : n, ctx + " needs a non-empty list of 'steps'");
    } else {
      for (const auto& s : steps) {
        ReminderStep step;
        step.source = source_of(r.file(), s);
        if (!s.IsMap()) {
          r.error(s, ctx + ": each step must be a map with after, channel and template");
          continue;
        }
        r.check_keys(s, {"after", "channel", "fallback", "windows", "template"}, ctx + " step");
        if (const auto d = r.duration(s, "after")) {
          step.delay = *d;
        } else if (!s["after"]) {
          r.error(s, ctx + ": step needs 'after' (delay after the order, e.g. 30m)");
        }
        if (const auto c = read_channel(r, s, "channel")) {
          step.channel = *c;
        } else if (!s["channel"]) {
          r.error(s, ctx + ": step needs a 'channel'");
        }
        step.fallback = read_channel(r, s, "fallback");
        step.windows = r.windows(s, "windows");
        step.template_name = r.str(s, "template").value_or("");
        if (step.template_name.empty()) r.error(s, ctx + ": step needs a 'template'");
        seg.steps.push_back(step);
      }
    }
    rules.segments.push_back(std::move(seg));
  }
}

// Keyword lists of reasons and stops: no empty keyword (it would match every message).
std::vector<std::string> keyword_list(YamlReader& r, const YAML::Node& n, const std::string& key,
                                      const std::string& context) {
  auto words = r.str_list(n, key);
  const YAML::Node v = n[key];
  const auto check = [&](const YAML::Node& item) {
    if (item.IsScalar() && trim(item.Scalar()).empty()) {
      r.error(item, fmt::format("{}: an empty {} would match every message", context,
                                key == "except" ? "exception" : "keyword"));
    }
  };
  if (v && v.IsSequence()) {
    for (const auto& item : v) check(item);
  } else if (v) {
    check(v);
  }
  words.erase(std::remove_if(words.begin(), words.end(), [](const std::string& w) { return trim(w).empty(); }),
              words.end());
  return words;
}

void read_reasons(YamlReader& r, const YAML::Node& node, Rules& rules) {
  if (!node.IsSequence()) {
    r.error(node, "'reasons' must be a list of {name, keywords}");
    return;
  }
  for (const auto& n : node) {
    if (!n.IsMap()) {
      r.error(n, "each reason must be a map with name and keywords");
      continue;
    }
    r.check_keys(n, {"name", "keywords", "except"}, "reason");
    ReasonRule reason;
    reason.source = source_of(r.file(), n);
    reason.name = r.str(n, "name").value_or("");
    const std::string ctx = "reason " + reason.name;
    reason.keywords = keyword_list(r, n, "keywords", ctx);
    reason.except = keyword_list(r, n, "except", ctx);
    if (reason.name.empty() || reason.keywords.empty()) r.error(n, "a reason needs a name and keywords");
    if (reason.name.find('.') != std::string::npos) {
      r.error(n["name"],
              fmt::format("reason name '{}' must not contain '.' (it names template variants)", reason.name));
    }
    for (const auto& other : rules.reasons) {
      if (!reason.name.empty() && other.name == reason.name) {
        r.error(n["name"], fmt::format("reason '{}' is already defined at {}", reason.name, other.source.str()));
      }
    }
    rules.reasons.push_back(std::move(reason));
  }
}

void read_stops(YamlReader& r, const YAML::Node& node, Rules& rules) {
  if (!node.IsSequence()) {
    r.error(node, "'stops' must be a list of {name, keywords, covers}");
    return;
  }
  for (const auto& n : node) {
    if (!n.IsMap()) {
      r.error(n, "each stop must be a map with name and keywords");
      continue;
    }
    r.check_keys(n, {"name", "keywords", "except", "covers"}, "stop");
    StopRule stop;
    stop.source = source_of(r.file(), n);
    stop.name = r.str(n, "name").value_or("");
    const std::string ctx = "stop " + stop.name;
    stop.keywords = keyword_list(r, n, "keywords", ctx);
    stop.except = keyword_list(r, n, "except", ctx);
    if (stop.name.empty() || stop.keywords.empty()) r.error(n, "a stop needs a name and keywords");
    if (const auto covers = r.str(n, "covers")) {
      if (*covers == "all_orders") {
        stop.covers_all = true;
      } else if (*covers != "earlier_orders") {
        r.error(n["covers"], fmt::format("{}: covers is '{}'; must be earlier_orders or all_orders", ctx, *covers));
      }
    }
    rules.stops.push_back(std::move(stop));
  }
}

void read_chat(YamlReader& r, const YAML::Node& n, Rules& rules) {
  if (!n.IsMap()) {
    r.error(n, "'chat' must be a map: look_back, recently_answered, quote_chars");
    return;
  }
  r.check_keys(n, {"look_back", "recently_answered", "quote_chars"}, "chat");
  auto& c = rules.chat;
  if (const auto d = r.duration(n, "look_back")) {
    c.look_back = *d;
    c.look_back_source = source_of(r.file(), n["look_back"]);
  }
  if (const auto d = r.duration(n, "recently_answered")) {
    c.recently_answered = *d;
    c.recently_answered_source = source_of(r.file(), n["recently_answered"]);
  }
  if (const auto q = r.integer(n, "quote_chars")) {
    if (*q < 8 || *q > 200) {
      r.error(n["quote_chars"], fmt::format("chat.quote_chars is {}; must be 8..200", *q));
    } else {
      c.quote_chars = static_cast<std::size_t>(*q);
    }
  }
}

void read_caps(YamlReader& r, const YAML::Node& n, Caps& c, const std::string& ctx) {
  if (!n.IsMap()) {
    r.error(n, ctx + " must be a map");
    return;
  }
  r.check_keys(n,
               {"max_per_order", "max_per_buyer_per_day", "min_gap", "no_repeat_channel", "repeat_channel_lookback",
                "skip_if_paid_within"},
               ctx);
  c.max_per_order = r.integer(n, "max_per_order").value_or(c.max_per_order);
  c.max_per_buyer_per_day = r.integer(n, "max_per_buyer_per_day").value_or(c.max_per_buyer_per_day);
  c.min_gap = r.duration(n, "min_gap").value_or(c.min_gap);
  c.no_repeat_channel = r.boolean(n, "no_repeat_channel").value_or(c.no_repeat_channel);
  c.repeat_channel_lookback = r.duration(n, "repeat_channel_lookback").value_or(c.repeat_channel_lookback);
  c.skip_if_paid_within = r.duration(n, "skip_if_paid_within").value_or(c.skip_if_paid_within);
}

// `shops:` — per-shop settings by the feed's 店铺名称. A shop's caps override the rules'
// caps key by key, so they are read once every file is in (`caps:` may come later).
struct PendingShopCaps {
  std::string shop;
  std::string file;
  YAML::Node node;
};

void read_shops(YamlReader& r, const YAML::Node& node, Rules& rules, std::vector<PendingShopCaps>& caps) {
  if (!node.IsMap()) {
    r.error(node, "'shops' must be a map of shop name (as the feed's 店铺名称 writes it) -> settings");
    return;
  }
  for (const auto& kv : node) {
    ShopRule shop;
    shop.name = trim(kv.first.as<std::string>(""));
    shop.source = source_of(r.file(), kv.first);
    const YAML::Node& n = kv.second;
    const std::string ctx = "shops." + shop.name;
    if (shop.name.empty()) {
      r.error(kv.first, "a shop needs a name (the feed's 店铺名称)");
      continue;
    }
    if (rules.shops.count(shop.name)) {
      r.error(kv.first,
              fmt::format("shop '{}' is already defined at {}", shop.name, rules.shops[shop.name].source.located()));
      continue;
    }
    if (!n.IsMap()) {
      r.error(n, ctx + " must be a map (display_name, sms_signature, caps, holdout)");
      continue;
    }
    r.check_keys(n, {"display_name", "sms_signature", "caps", "holdout"}, ctx);
    shop.display_name = r.str(n, "display_name").value_or("");
    shop.sms_signature = r.str(n, "sms_signature").value_or("");
    if (n["sms_signature"] && shop.sms_signature.empty())
      r.error(n["sms_signature"], ctx + ".sms_signature must not be empty");
    shop.holdout_percent = r.integer(n, "holdout");
    if (const YAML::Node c = n["caps"]) caps.push_back({shop.name, r.file(), c});
    rules.shops[shop.name] = std::move(shop);
  }
}

}  // namespace

Rules load_rules(const std::string& dir) {
  const auto files = yaml_files(dir);
  if (files.empty()) throw LoadError(fmt::format("{}: no .yaml rule files", dir));
  Rules rules;
  rules.quiet_hours = {DailyWindow{22 * 60, 8 * 60}};
  std::vector<std::string> errors;
  std::map<std::string, std::string> seen;  // top-level key -> where first defined
  std::vector<PendingShopCaps> shop_caps;
  for (const auto& file : files) {
    YamlReader r(file);
    YAML::Node doc;
    try {
      doc = load_yaml_file(file);
    } catch (const LoadError& e) {
      errors.push_back(e.what());
      continue;
    }
    if (doc.IsNull()) continue;
    if (!doc.IsMap()) {
      r.error(doc, "a rules file must be a map of sections");
    } else {
      r.check_keys(doc,
                   {"shop", "shops", "channels", "segments", "quiet_hours", "auto_close", "caps", "reasons", "stops",
                    "chat", "holdout"},
                   "rules");
      for (const auto& kv : doc) {
        const std::string key = kv.first.as<std::string>("");
        if (auto it = seen.find(key); it != seen.end()) {
          r.error(kv.first, fmt::format("'{}' is already defined at {}", key, it->second));
          continue;
        }
        seen[key] = where(file, kv.first);
      }
      if (doc["channels"]) read_channels(r, doc["channels"], rules);
      if (doc["segments"]) read_segments(r, doc["segments"], rules);
      if (doc["reasons"]) read_reasons(r, doc["reasons"], rules);
      if (doc["stops"]) read_stops(r, doc["stops"], rules);
      if (doc["chat"]) read_chat(r, doc["chat"], rules);
      if (doc["caps"]) read_caps(r, doc["caps"], rules.caps, "caps");
      if (doc["shops"]) read_shops(r, doc["shops"], rules, shop_caps);
      if (doc["quiet_hours"]) rules.quiet_hours = r.windows(doc, "quiet_hours");
      if (doc["auto_close"]) rules.auto_close = r.duration(doc, "auto_close").value_or(rules.auto_close);
      if (doc["shop"]) rules.shop_name = r.str(doc, "shop").value_or("");
      if (const YAML::Node h = doc["holdout"]) {
        if (h.IsMap()) {
          r.check_keys(h, {"percent", "salt"}, "holdout");
          rules.holdout_percent = r.integer(h, "percent").value_or(0);
          rules.holdout_salt = r.str(h, "salt").value_or(rules.holdout_salt);
        } else {
          rules.holdout_percent = r.integer(doc, "holdout").value_or(0);
        }
      }
    }
    errors.insert(errors.end(), r.errors().begin(), r.errors().end());
  }
  for (const auto& pending : shop_caps) {
    YamlReader r(pending.file);
    Caps caps = rules.caps;
    read_caps(r, pending.node, caps, "shops." + pending.shop + ".caps");
    rules.shops[pending.shop].caps = caps;
    errors.insert(errors.end(), r.errors().begin(), r.errors().end());
  }
  if (errors.empty()) {
    for (auto& e : validate(rules)) errors.push_back(std::move(e));
  }
  if (!errors.empty()) throw LoadError(fmt::format("{}", fmt::join(errors, "\n")));
  return rules;
}

TemplateSet load_templates(const std::string& dir, const Rules& rules) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw LoadError(fmt::format("{}: not a directory", dir));
  TemplateSet set;
  std::vector<std::string> errors;
  for (const auto& file : yaml_files(dir)) {
    const std::string stem = fs::path(file).stem().string();
    const auto channel = parse_channel(stem);
    YamlReader r(file);
    if (!channel) {
      errors.push_back(
          fmt::format("{}: template files are named after their channel: im.yaml, sms.yaml, "
                      "phone.yaml or email.yaml",
                      file));
      continue;
    }
    YAML::Node doc;
    try {
      doc = load_yaml_file(file);
    } catch (const LoadError& e) {
      errors.push_back(e.what());
      continue;
    }
    if (!doc.IsMap()) {
      if (!doc.IsNull()) r.error(doc, "a template file must be a map of template name -> text");
      errors.insert(errors.end(), r.errors().begin(), r.errors().end());
      continue;
    }
    const ChannelRule* ch = rules.channel(*channel);
    for (const auto& kv : doc) {
      MessageTemplate t;
      t.channel = *channel;
      t.name = kv.first.as<std::string>("");
      t.source = source_of(file, kv.second);
      const YAML::Node& v = kv.second;
      YAML::Node body_node = v;
      if (v.IsMap()) {
        r.check_keys(v, {"subject", "body"}, "template " + t.name);
        body_node.reset(v["body"]);
        if (const YAML::Node subj = v["subject"]) {
          std::string err;
          const auto compiled = compile_text(subj.as<std::string>(""), &err);
          if (compiled)
            t.subject = *compiled;
          else
            r.error(subj, fmt::format("{} template '{}' subject: {}", stem, t.name, err));
        }
      }
      if (!body_node || !body_node.IsScalar()) {
        r.error(v, fmt::format("{} template '{}' needs a text body", stem, t.name));
        continue;
      }
      t.body_source = trim(body_node.as<std::string>());
      std::string err;
      const auto compiled = compile_text(t.body_source, &err);
      if (!compiled) {
        r.error(body_node, fmt::format("{} template '{}': {}", stem, t.name, err));
        continue;
      }
      t.body = *compiled;
      for (const auto& problem : check_template(t, ch)) {
        r.error(body_node, fmt::format("{} template '{}': {}", stem, t.name, problem));
      }
      set.add(std::move(t));
    }
    errors.insert(errors.end(), r.errors().begin(), r.errors().end());
  }
  if (!errors.empty()) throw LoadError(fmt::format("{}", fmt::join(errors, "\n")));
  return set;
}

std::vector<std::string> check_rule_templates(const Rules& rules, const TemplateSet& templates) {
  std::vector<std::string> errors;
  for (const auto& seg : rules.segments) {
    for (const auto& step : seg.steps) {
      for (const auto c : {std::optional<Channel>(step.channel), step.fallback}) {
        if (c && !templates.find(*c, step.template_name, "")) {
          errors.push_back(
              fmt::format("{}: segment {} step uses {} template '{}', which templates/{}.yaml does not define",
                          step.source.located(), seg.name, to_string(*c), step.template_name, to_string(*c)));
        }
      }
    }
  }
  return errors;
}

RuleSet load_rule_set(const std::string& rules_dir, const std::string& templates_dir) {
  RuleSet set;
  set.rules = load_rules(rules_dir);
  set.templates = load_templates(templates_dir, set.rules);
  const auto errors = check_rule_templates(set.rules, set.templates);
  if (!errors.empty()) throw LoadError(fmt::format("{}", fmt::join(errors, "\n")));
  set.rules_dir = rules_dir;
  set.templates_dir = templates_dir;
  return set;
}

}  // namespace cuifu
