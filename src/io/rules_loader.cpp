#include "io/rules_loader.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <set>

#include "core/text.h"
#include "io/cue_pattern_pcre2.h"
#include "io/gazetteer_loader.h"

namespace cuifu {

namespace fs = std::filesystem;

#ifndef CUIFU_DATADIR
#define CUIFU_DATADIR "/usr/local/share/cuifu"
#endif

std::string installed_data_dir() {
  if (const char* v = std::getenv("CUIFU_DATA"); v && *v) return v;
  return std::string(CUIFU_DATADIR) + "/data";
}

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
               {"address_any", "address_none", "min_amount", "max_amount", "overseas", "note_any", "min_closed_unpaid",
                "occupation", "order_type"},
               ctx + ".when");
  c.address_any = r.str_list(n, "address_any");
  c.address_none = r.str_list(n, "address_none");
  c.min_amount = r.money_fen(n, "min_amount");
  c.max_amount = r.money_fen(n, "max_amount");
  c.overseas = r.boolean(n, "overseas");
  c.note_any = r.str_list(n, "note_any");
  c.min_closed_unpaid = r.integer(n, "min_closed_unpaid");
  c.occupation = r.str_list(n, "occupation");
  for (const auto& o : c.occupation) {
    if (!is_occupation(o)) r.error(n["occupation"], fmt::format("occupation '{}' is not office, student or home", o));
  }
  if (const auto t = r.str(n, "order_type")) {
    if (*t == "presale") {
      c.order_type = OrderType::presale;
    } else if (*t == "flash_sale") {
      c.order_type = OrderType::flash_sale;
    } else if (*t == "normal") {
      c.order_type = OrderType::normal;
    } else {
      r.error(n["order_type"],
              fmt::format("{}.when: order_type is '{}'; must be presale, flash_sale or normal", ctx, *t));
    }
  }
}

// The `address` section (rules/address.yaml): the gazetteer file and the occupation cues.
void read_address(YamlReader& r, const YAML::Node& n, Rules& rules) {
  if (!n.IsMap()) {
    r.error(n, "'address' must be a map (gazetteer, min_score, prefer, ignore, office, student, home)");
    return;
  }
  r.check_keys(n, {"gazetteer", "min_score", "prefer", "ignore", "office", "student", "home"}, "address");
  if (const auto file = r.str(n, "gazetteer")) {
    rules.address.gazetteer_source = source_of(r.file(), n["gazetteer"]);
    // A relative path is read next to the rules file; a copied rules/ directory has no
    // ../data beside it, so the installed data directory is tried next.
    std::vector<std::string> tried;
    const fs::path named(*file);
    if (named.is_relative()) {
      tried.push_back((fs::path(r.file()).parent_path() / named).lexically_normal().string());
      tried.push_back((fs::path(installed_data_dir()) / named.filename()).lexically_normal().string());
    } else {
      tried.push_back(named.lexically_normal().string());
    }
    std::error_code ec;
    const auto found =
        std::find_if(tried.begin(), tried.end(), [&](const std::string& p) { return fs::exists(p, ec); });
    if (found == tried.end()) {
      r.error(n["gazetteer"], fmt::format("gazetteer: {} not found (tried {})", *file, fmt::join(tried, ", ")));
    } else {
      try {
        rules.address.gazetteer = load_gazetteer(*found);
      } catch (const LoadError& e) {
        r.error(n["gazetteer"], fmt::format("gazetteer: {}", e.what()));
      }
    }
  }
  auto& occ = rules.address.occupation;
  occ.min_score = r.integer(n, "min_score").value_or(occ.min_score);
  occ.prefer = r.str_list(n, "prefer");
  for (const auto& o : occ.prefer) {
    if (!is_occupation(o)) r.error(n["prefer"], fmt::format("'{}' in prefer is not office, student or home", o));
  }
  const auto compile = [&](const YAML::Node& at, const std::string& pattern) {
    std::string error;
    // std::regex checks the pattern (the rules' own checks, its error messages); the planner
    // searches with PCRE2, which finds the same matches much faster (io/cue_pattern_pcre2.h).
    std::shared_ptr<const CuePattern> re = compile_cue_pattern(pattern, &error);
    if (re) re = compile_pcre2_pattern(pattern, &error);
    if (!re) r.error(at, fmt::format("pattern '{}': {}", pattern, error));
    return re;
  };
  if (const YAML::Node ignore = n["ignore"]) {
    if (!ignore.IsSequence()) r.error(ignore, "'ignore' must be a list of {pattern, why}");
    for (const auto& item : ignore) {
      if (!item.IsMap()) {
        r.error(item, "each 'ignore' entry is a map {pattern, why}");
        continue;
      }
      r.check_keys(item, {"pattern", "why"}, "address.ignore");
      OccupationMask m;
      m.source = source_of(r.file(), item);
      m.pattern = r.str(item, "pattern").value_or("");
      m.why = r.str(item, "why").value_or("");
      if (m.pattern.empty() || m.why.empty()) {
        r.error(item, "an 'ignore' entry needs a pattern and a why");
        continue;
      }
      m.re = compile(item["pattern"], m.pattern);
      occ.masks.push_back(std::move(m));
    }
  }
  for (const auto occupation : kOccupations) {
    const std::string name(occupation);
    const YAML::Node list = n[name];
    if (!list) continue;
    if (!list.IsSequence()) {
      r.error(list, fmt::format("address.{} must be a list of {{weight, words}} or {{weight, pattern}}", name));
      continue;
    }
    for (const auto& item : list) {
      if (!item.IsMap()) {
        r.error(item, fmt::format("each address.{} entry is a map {{weight, words}} or {{weight, pattern}}", name));
        continue;
      }
      r.check_keys(item, {"weight", "words", "pattern"}, "address." + name);
      const auto weight = r.integer(item, "weight");
      if (!weight) {
        if (!item["weight"]) r.error(item, "a cue needs a 'weight' (a whole number)");
        continue;
      }
      if (static_cast<bool>(item["words"]) == static_cast<bool>(item["pattern"])) {
        r.error(item, "a cue has either 'words' or 'pattern'");
        continue;
      }
      if (const YAML::Node words = item["words"]) {
        if (!words.IsSequence()) {
          r.error(words, "'words' must be a list");
          continue;
        }
        for (const auto& w : words) {
          if (!w.IsScalar() || w.Scalar().empty()) {
            r.error(w, "'words' entries must be text");
            continue;
          }
          occ.cues.push_back({name, w.Scalar(), false, *weight, source_of(r.file(), w), nullptr});
        }
      } else {
        const std::string pattern = r.str(item, "pattern").value_or("");
        auto re = compile(item["pattern"], pattern);
        if (re) occ.cues.push_back({name, pattern, true, *weight, source_of(r.file(), item["pattern"]), std::move(re)});
      }
    }
  }
  sort_cues_for_search(occ);
  if (!occ.cues.empty() && occ.prefer.size() != std::size(kOccupations)) {
    r.error(n["prefer"] ? n["prefer"] : n, "'prefer' must list office, student and home once each (the tie order)");
  }
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
    r.check_keys(n, {"name", "description", "when", "steps", "name_suffix", "register"}, "segment");
    seg.name = r.str(n, "name").value_or("");
    if (seg.name.empty()) r.error(n, "segment without a 'name'");
    const std::string ctx = "segment " + seg.name;
    seg.description = r.str(n, "description").value_or("");
    seg.name_suffix = r.str(n, "name_suffix").value_or("");
    if (const auto reg = r.str(n, "register")) {
      if (*reg == "您" || *reg == "formal") {
        seg.address = Register::formal;
      } else if (*reg == "你" || *reg == "informal") {
        seg.address = Register::informal;
      } else {
        r.error(n["register"], fmt::format("{}: register is '{}'; must be 您 (formal) or 你 (informal)", ctx, *reg));
      }
    }
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
        r.check_keys(s, {"after", "before_close", "channel", "fallback", "windows", "template"}, ctx + " step");
        step.before_close = r.duration(s, "before_close");
        if (s["after"] && s["before_close"]) {
          r.error(s, ctx + ": a step has either 'after' or 'before_close', not both");
        } else if (const auto d = r.duration(s, "after")) {
          step.delay = *d;
        } else if (!s["after"] && !s["before_close"]) {
          r.error(s, ctx + ": step needs 'after' (delay after the order, e.g. 30m) or 'before_close'");
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

void read_calls(YamlReader& r, const YAML::Node& n, Rules& rules) {
  if (!n.IsMap()) {
    r.error(n, "'calls' must be a map: will_pay_grace, per_hour");
    return;
  }
  r.check_keys(n, {"will_pay_grace", "per_hour"}, "calls");
  auto& c = rules.calls;
  if (const auto d = r.duration(n, "will_pay_grace")) {
    c.will_pay_grace = *d;
    c.will_pay_grace_source = source_of(r.file(), n["will_pay_grace"]);
  }
  if (const auto q = r.integer(n, "per_hour")) {
    if (*q < 1 || *q > 60) {
      r.error(n["per_hour"], fmt::format("calls.per_hour is {}; must be 1..60 calls an hour", *q));
    } else {
      c.per_hour = *q;
      c.per_hour_source = source_of(r.file(), n["per_hour"]);
    }
  }
}

void read_lint(YamlReader& r, const YAML::Node& n, std::vector<std::string>& allow, const std::string& ctx) {
  if (!n.IsMap()) {
    r.error(n, ctx + " must be a map with 'allow: [kind, ...]'");
    return;
  }
  r.check_keys(n, {"allow"}, ctx);
  const auto& kinds = lint_kinds();
  for (const auto& kind : r.str_list(n, "allow")) {
    if (std::find(kinds.begin(), kinds.end(), kind) == kinds.end()) {
      r.error(n["allow"], fmt::format("{}.allow: unknown finding '{}' (known: {})", ctx, kind, fmt::join(kinds, ", ")));
    } else {
      allow.push_back(kind);
    }
  }
}

void read_facts(YamlReader& r, const YAML::Node& n, Rules& rules) {
  if (!n.IsMap()) {
    r.error(n, "'facts' must be a map: promotion_ends, shipping, low_stock_at");
    return;
  }
  r.check_keys(n, {"promotion_ends", "shipping", "low_stock_at"}, "facts");
  if (const auto ends = r.str(n, "promotion_ends")) {
    rules.facts.promotion_ends = parse_local_time(*ends);
    if (!rules.facts.promotion_ends) {
      r.error(n["promotion_ends"],
              fmt::format("facts.promotion_ends '{}' is not a time like \"2026-11-30 23:59\"", *ends));
    }
  }
  rules.facts.shipping = r.str(n, "shipping").value_or("");
  rules.facts.low_stock_at = r.integer(n, "low_stock_at").value_or(0);
  if (rules.facts.low_stock_at < 0) r.error(n["low_stock_at"], "facts.low_stock_at must not be negative");
}

void read_claims(YamlReader& r, const YAML::Node& n, Rules& rules) {
  if (!n.IsMap()) {
    r.error(n, "'claims' must be a map of field -> phrases, e.g. promotion_ends: [活动价, 优惠保留]");
    return;
  }
  rules.claims.clear();
  const auto& fields = template_fields();
  for (const auto& kv : n) {
    ClaimRule claim;
    claim.field = kv.first.as<std::string>("");
    claim.source = source_of(r.file(), kv.first);
    if (std::find(fields.begin(), fields.end(), claim.field) == fields.end()) {
      r.error(kv.first,
              fmt::format("claims: '{}' is not a template field (known: {})", claim.field, fmt::join(fields, ", ")));
      continue;
    }
    claim.phrases = r.str_list(n, claim.field);
    rules.claims.push_back(std::move(claim));
  }
}

void read_items(YamlReader& r, const YAML::Node& n, Rules& rules) {
  if (!n.IsMap()) {
    r.error(n, "'items' must be a map with short_names and categories");
    return;
  }
  r.check_keys(n, {"short_names", "categories"}, "items");
  if (const YAML::Node names = n["short_names"]) {
    if (!names.IsSequence()) r.error(names, "items.short_names must be a list of {code or title, name}");
    for (const auto& e : names.IsSequence() ? names : YAML::Node(YAML::NodeType::Sequence)) {
      if (!e.IsMap()) {
        r.error(e, "items.short_names entries are maps: {code: QH-B18, name: 实木双人床} or {title: 双人床, name: …}");
        continue;
      }
      r.check_keys(e, {"code", "title", "name"}, "items.short_names");
      ItemShortName s;
      s.source = source_of(r.file(), e);
      s.code = r.str(e, "code").value_or("");
      s.title_keyword = r.str(e, "title").value_or("");
      s.short_name = r.str(e, "name").value_or("");
      if (s.short_name.empty() || (s.code.empty() == s.title_keyword.empty())) {
        r.error(e, "items.short_names: each entry needs a name and exactly one of code or title");
        continue;
      }
      rules.item_short_names.push_back(std::move(s));
    }
  }
  if (const YAML::Node cats = n["categories"]) {
    if (!cats.IsSequence()) r.error(cats, "items.categories must be a list of {name, title_any, delivery}");
    for (const auto& e : cats.IsSequence() ? cats : YAML::Node(YAML::NodeType::Sequence)) {
      if (!e.IsMap()) {
        r.error(e, "items.categories entries are maps with name, title_any, title_none, delivery");
        continue;
      }
      r.check_keys(e, {"name", "title_any", "title_none", "delivery"}, "items.categories");
      ItemCategory c;
      c.source = source_of(r.file(), e);
      c.name = r.str(e, "name").value_or("");
      c.title_any = r.str_list(e, "title_any");
      c.title_none = r.str_list(e, "title_none");
      c.delivery = r.str(e, "delivery").value_or("");
      if (c.name.empty() || c.title_any.empty()) {
        r.error(e, "items.categories: each category needs a name and title_any keywords");
        continue;
      }
      rules.item_categories.push_back(std::move(c));
    }
  }
}

void read_names(YamlReader& r, const YAML::Node& n, Rules& rules) {
  if (!n.IsMap()) {
    r.error(n, "'names' must be a map with 'gender: {male: [...], female: [...]}'");
    return;
  }
  r.check_keys(n, {"gender"}, "names");
  const YAML::Node g = n["gender"];
  if (!g) return;
  if (!g.IsMap()) {
    r.error(g, "names.gender must be a map: male: [names], female: [names]");
    return;
  }
  r.check_keys(g, {"male", "female"}, "names.gender");
  for (const auto& name : r.str_list(g, "male")) rules.names.gender[trim(name)] = Gender::male;
  for (const auto& name : r.str_list(g, "female")) {
    if (rules.names.gender.count(trim(name))) {
      r.error(g["female"], fmt::format("names.gender: '{}' is listed as both male and female", name));
    }
    rules.names.gender[trim(name)] = Gender::female;
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
      r.check_keys(
          doc,
          {"shop", "shops", "channels", "segments", "quiet_hours", "auto_close", "caps", "reasons", "stops", "chat",
           "holdout", "facts", "claims", "items", "names", "lint", "address", "flash_sale_close", "calls"},
          "rules");
      for (const auto& kv : doc) {
        const std::string key = kv.first.as<std::string>("");
        if (auto it = seen.find(key); it != seen.end()) {
          r.error(kv.first, fmt::format("'{}' is already defined at {}", key, it->second));
          continue;
        }
        seen[key] = where(file, kv.first);
      }
      for (const auto& kv : doc) {
        const std::string key = kv.first.as<std::string>("");
        if (key == "segments") rules.segments_source = source_of(file, kv.first);
        if (key == "quiet_hours") rules.quiet_hours_source = source_of(file, kv.first);
        if (key == "caps") rules.caps_source = source_of(file, kv.first);
      }
      if (doc["channels"]) read_channels(r, doc["channels"], rules);
      if (doc["segments"]) read_segments(r, doc["segments"], rules);
      if (doc["reasons"]) read_reasons(r, doc["reasons"], rules);
      if (doc["stops"]) read_stops(r, doc["stops"], rules);
      if (doc["chat"]) read_chat(r, doc["chat"], rules);
      if (doc["calls"]) read_calls(r, doc["calls"], rules);
      if (doc["address"]) read_address(r, doc["address"], rules);
      if (doc["caps"]) read_caps(r, doc["caps"], rules.caps, "caps");
      if (doc["shops"]) read_shops(r, doc["shops"], rules, shop_caps);
      if (doc["facts"]) read_facts(r, doc["facts"], rules);
      if (doc["claims"]) read_claims(r, doc["claims"], rules);
      if (doc["items"]) read_items(r, doc["items"], rules);
      if (doc["names"]) read_names(r, doc["names"], rules);
      if (doc["lint"]) read_lint(r, doc["lint"], rules.lint_allow, "lint");
      if (doc["quiet_hours"]) rules.quiet_hours = r.windows(doc, "quiet_hours");
      if (doc["auto_close"]) rules.auto_close = r.duration(doc, "auto_close").value_or(rules.auto_close);
      if (doc["flash_sale_close"]) {
        rules.flash_sale_close = r.duration(doc, "flash_sale_close").value_or(rules.flash_sale_close);
      }
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
  if (rules.segments_source.file.empty()) rules.segments_source.file = dir;
  if (rules.quiet_hours_source.file.empty()) rules.quiet_hours_source.file = dir;
  if (rules.caps_source.file.empty()) rules.caps_source.file = dir;
  for (const auto& pending : shop_caps) {
    YamlReader r(pending.file);
    Caps caps = rules.caps;
    read_caps(r, pending.node, caps, "shops." + pending.shop + ".caps");
    rules.shops[pending.shop].caps = caps;
    errors.insert(errors.end(), r.errors().begin(), r.errors().end());
  }
  if (errors.empty()) {
    for (auto& e : validate(rules)) {
      // A problem of the whole set ("no segments defined") is located at the directory.
      errors.push_back(e.starts_with("<rules>") ? dir + e.substr(7) : std::move(e));
    }
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
        r.check_keys(v, {"subject", "body", "lint"}, "template " + t.name);
        // No body key: an undefined node (reset() with yaml-cpp's missing-key node throws InvalidNode).
        const YAML::Node body = v["body"];
        body_node.reset(body ? body : YAML::Node(YAML::NodeType::Undefined));
        if (const YAML::Node lint = v["lint"]) read_lint(r, lint, t.lint_allow, "template " + t.name + " lint");
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
      // The wording lint is a gate: a finding the rules do not allow refuses the set.
      for (const auto& finding : lint_wording(t, rules)) {
        r.error(body_node, fmt::format("{} template '{}': {} [{}; allow with lint: {{allow: [{}]}}]", stem, t.name,
                                       finding.message, finding.kind, finding.kind));
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
  std::set<std::pair<const MessageTemplate*, const SegmentRule*>> register_reported;
  for (const auto& seg : rules.segments) {
    for (const auto& step : seg.steps) {
      for (const auto c : {std::optional<Channel>(step.channel), step.fallback}) {
        if (c && !templates.find(*c, step.template_name, "")) {
          errors.push_back(
              fmt::format("{}: segment {} step uses {} template '{}', which templates/{}.yaml does not define",
                          step.source.located(), seg.name, to_string(*c), step.template_name, to_string(*c)));
        }
        if (!c) continue;
        // One register per segment: every variant a step may use addresses the buyer alike.
        for (const auto& t : templates.all()) {
          if (t.channel != *c || (t.name != step.template_name && t.name.rfind(step.template_name + ".", 0) != 0)) {
            continue;
          }
          const auto reg = template_register(t);
          if (reg && *reg != seg.address && register_reported.insert({&t, &seg}).second &&
              !std::count(t.lint_allow.begin(), t.lint_allow.end(), "register") &&
              !std::count(rules.lint_allow.begin(), rules.lint_allow.end(), "register")) {
            errors.push_back(fmt::format(
                "{}: {} template '{}' says {} but segment {} ({}) uses the register {}: one register per segment "
                "[register]",
                t.source.located(), to_string(t.channel), t.name, *reg == Register::formal ? "您" : "你", seg.name,
                step.source.str(), seg.address == Register::formal ? "您" : "你"));
          }
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
