// JSON and terminal table of a backtest; the HTML report is in backtest_html.cpp.
#include "app/backtest_report.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cmath>
#include <functional>
#include <set>

#include "core/call_schedule.h"
#include "core/text.h"

namespace cuifu {

using nlohmann::json;

double yuan(double fen) {
  return std::round(fen) / 100.0;
}

json uplift_to_json(const UpliftEstimate& e) {
  if (!e.measurable) {
    return {
        {"measurable", false}, {"reason", e.reason}, {"reminded_orders", e.reminded}, {"holdout_orders", e.holdout}};
  }
  return {{"measurable", true},
          {"reminded_orders", e.reminded},
          {"holdout_orders", e.holdout},
          {"reminded_paid_rate", e.reminded_paid_rate},
          {"holdout_paid_rate", e.holdout_paid_rate},
          {"uplift", e.uplift},
          {"ci95", {e.ci_low, e.ci_high}},
          {"recovered_amount", yuan(e.recovered_amount)}};
}

namespace {

double cost_yuan(std::int64_t milli) {
  return static_cast<double>(milli) / 1000.0;
}

json run_to_json(const RuleSetRun& run) {
  const BacktestFigures& f = run.figures;
  json by_channel_count = json::object(), by_channel = json::object();
  for (const auto& [c, n] : f.reminders_by_channel) by_channel_count[std::string(to_string(c))] = n;
  for (const auto& [c, ch] : f.by_channel) {
    by_channel[std::string(to_string(c))] = {
        {"reminders", ch.reminders},
        {"cost", cost_yuan(ch.cost_milli)},
        {"paid_after_reminder",
         {{"orders", ch.paid_after}, {"amount", yuan(static_cast<double>(ch.paid_after_amount))}}}};
  }
  json by_segment = json::object();
  for (const auto& [name, s] : f.by_segment) {
    json chans = json::object();
    for (const auto& [c, n] : s.reminders_by_channel) chans[std::string(to_string(c))] = n;
    by_segment[name] = {
        {"orders", s.orders},
        {"reminded_orders", s.reminded_orders},
        {"reminders", s.reminders},
        {"by_channel", chans},
        {"cost", cost_yuan(s.cost_milli)},
        {"paid_after_reminder",
         {{"orders", s.paid_after_reminder}, {"amount", yuan(static_cast<double>(s.paid_after_reminder_amount))}}},
        {"missed", s.missed}};
  }
  const auto kind_json = [](const ReminderKindFigures& k) {
    const auto per_paid = cost_per_paid_order(k.cost_milli, k.paid_after);
    return json{
        {"reminders", k.reminders},
        {"cost", cost_yuan(k.cost_milli)},
        {"paid_after_reminder", {{"orders", k.paid_after}, {"amount", yuan(static_cast<double>(k.paid_after_amount))}}},
        {"cost_per_paid_order", per_paid ? json(*per_paid) : json(nullptr)}};
  };
  json by_template = json::array(), by_step = json::object();
  for (const auto& [key, k] : f.by_template) {
    json t = kind_json(k);
    t["channel"] = to_string(key.first);
    t["template"] = key.second;
    by_template.push_back(std::move(t));
  }
  for (const auto& [n, k] : f.by_step) by_step[std::to_string(n)] = kind_json(k);
  json by_hour = json::array();
  for (std::size_t h = 0; h < f.by_hour.size(); ++h) {
    by_hour.push_back({{"hour", h}, {"reminders", f.by_hour[h].reminders}, {"payments", f.by_hour[h].payments}});
  }
  json uplift;
  if (run.uplift) {
    uplift = uplift_to_json(run.uplift->overall);
    json segs = json::object(), chans = json::object();
    for (const auto& [name, e] : run.uplift->by_segment) segs[name] = uplift_to_json(e);
    for (const auto& [name, e] : run.uplift->by_channel) chans[name] = uplift_to_json(e);
    uplift["by_segment"] = segs;
    uplift["by_channel"] = chans;
    // Measured on what really happened (the log's columns): the rules live then, the same
    // figure for every rule set replayed.
    uplift["source"] = "log";
  } else {
    uplift = {{"measurable", false}, {"reason", run.uplift_reason}};
  }
  json details = json::array();
  for (std::size_t i = 0; i < f.violations.details.size() && i < 20; ++i) details.push_back(f.violations.details[i]);
  // The phone reminders as the call desk's tasks (core/call_schedule.h); the log carries no
  // call outcomes, so none are counted here.
  json call_desk = nullptr;
  if (run.rules) {
    const CallDeskLoad d = call_desk_load(run.result.sent, *run.rules);
    call_desk = {{"tasks", d.tasks},
                 {"days", d.days},
                 {"busiest_day", d.days ? json(format_local_date(d.busiest_day)) : json(nullptr)},
                 {"busiest_day_tasks", d.busiest_day_tasks},
                 {"per_hour", run.rules->calls.per_hour},
                 {"without_slot", d.without_slot}};
  }
  return {{"name", run.name},
          {"rules", run.rules_dir},
          {"templates", run.templates_dir},
          {"orders", f.orders},
          {"buyers", f.buyers},
          {"paid_orders", f.paid},
          {"holdout_orders", f.holdout_orders},
          {"reminded_orders", f.reminded_orders},
          {"reminded_buyers", f.reminded_buyers},
          {"reminders", {{"total", f.reminders}, {"by_channel", by_channel_count}}},
          {"cost", cost_yuan(f.cost_milli)},
          {"reminders_per_buyer", {{"max", f.reminders_per_buyer_max}, {"p95", f.reminders_per_buyer_p95}}},
          {"paid_after_reminder",
           {{"orders", f.paid_after_reminder}, {"amount", yuan(static_cast<double>(f.paid_after_reminder_amount))}}},
          {"cost_per_paid_order", cost_per_paid_order(f.cost_milli, f.paid_after_reminder)
                                      ? json(*cost_per_paid_order(f.cost_milli, f.paid_after_reminder))
                                      : json(nullptr)},
          {"missed", f.missed},
          {"avoided", f.avoided},
          {"open_at_end", f.open_at_end},
          {"violations",
           {{"quiet_hours", f.violations.quiet_hours},
            {"windows", f.violations.windows},
            {"caps", f.violations.caps},
            {"paid_or_closed", f.violations.paid_or_closed},
            {"details", details}}},
          {"by_segment", by_segment},
          {"by_channel", by_channel},
          {"by_template", by_template},
          {"by_step", by_step},
          {"by_hour", by_hour},
          {"call_desk", call_desk},
          {"uplift", uplift}};
}

}  // namespace

json backtest_to_json(const BacktestReport& r) {
  json sets = json::array();
  for (const auto& run : r.runs) sets.push_back(run_to_json(run));
  json rejected = json::array();
  for (const auto& row : r.rejected) rejected.push_back({{"line", row.line}, {"error", row.error}});
  return {{"log", r.log},
          {"from", r.zone->iso(r.from)},
          {"to", r.zone->iso(r.to)},
          {"log_end", r.zone->iso(r.log_end)},
          {"time_zone", r.zone->name()},
          {"rows_read", r.rows},
          {"rows_superseded", r.superseded},
          {"rule_sets", sets},
          {"rejected_rows", rejected}};
}

void write_backtest_json(std::ostream& out, const BacktestReport& r) {
  out << backtest_to_json(r).dump(2) << "\n";
}

namespace {

std::string pct(double x) {
  return fmt::format("{:.1f}%", 100.0 * x);
}

std::string uplift_text(const RuleSetRun& run) {
  if (!run.uplift) return "not measurable";
  const auto& e = run.uplift->overall;
  if (!e.measurable) return "not measurable";
  return fmt::format("{:+.1f} pts [{:+.1f}, {:+.1f}]", 100 * e.uplift, 100 * e.ci_low, 100 * e.ci_high);
}

double share(double part, double whole) {
  return whole > 0 ? part / whole : 0.0;
}

}  // namespace

bool FigureLine::differs() const {
  if (shown.size() < 2) return false;
  if (value.size() >= 2) return std::fabs(value[1] - value[0]) > 1e-9;
  return shown[0] != shown[1];
}

std::string FigureLine::difference() const {
  if (!differs()) return "";
  if (value.size() < 2) return "differs";
  const double d = value[1] - value[0];
  switch (kind) {
    case Kind::count: return fmt::format("{:+}", std::llround(d));
    case Kind::money: return fmt::format("{:+.2f}", d);
    case Kind::percent: return fmt::format("{:+.1f} pts", 100 * d);
    case Kind::text: break;
  }
  return "differs";
}

std::vector<FigureLine> figure_lines(const BacktestReport& r) {
  using Kind = FigureLine::Kind;
  std::vector<FigureLine> lines;
  // A missing value (e.g. cost per paid order with none paid) shows as "-" and has no difference.
  const auto add = [&](std::string label, Kind kind, const std::function<std::optional<double>(const RuleSetRun&)>& v) {
    FigureLine l{std::move(label), kind, {}, {}};
    bool all = true;
    for (const auto& run : r.runs) {
      const auto x = v(run);
      all = all && x.has_value();
      l.value.push_back(x.value_or(0.0));
      if (!x) {
        l.shown.push_back("-");
      } else if (kind == Kind::money) {
        l.shown.push_back(fmt::format("{:.2f}", *x));
      } else if (kind == Kind::percent) {
        l.shown.push_back(pct(*x));
      } else {
        l.shown.push_back(fmt::format("{}", std::llround(*x)));
      }
    }
    if (!all) l.value.clear();
    lines.push_back(std::move(l));
  };
  const auto F = [](const RuleSetRun& run) -> const BacktestFigures& { return run.figures; };
  using V = std::optional<double>;
  add("orders", Kind::count, [&](const RuleSetRun& x) -> V { return double(F(x).orders); });
  add("buyers", Kind::count, [&](const RuleSetRun& x) -> V { return double(F(x).buyers); });
  add("paid orders (log)", Kind::count, [&](const RuleSetRun& x) -> V { return double(F(x).paid); });
  add("held out orders", Kind::count, [&](const RuleSetRun& x) -> V { return double(F(x).holdout_orders); });
  add("still open when the log ends", Kind::count, [&](const RuleSetRun& x) -> V { return double(F(x).open_at_end); });
  add("reminded orders", Kind::count, [&](const RuleSetRun& x) -> V { return double(F(x).reminded_orders); });
  add("reminders", Kind::count, [&](const RuleSetRun& x) -> V { return double(F(x).reminders); });
  for (Channel c : kAllChannels) {
    add(fmt::format("  {}", to_string(c)), Kind::count,
        [&, c](const RuleSetRun& x) -> V { return double(F(x).reminders_by_channel.at(c)); });
  }
  add("cost (CNY)", Kind::money, [&](const RuleSetRun& x) -> V { return cost_yuan(F(x).cost_milli); });
  add("reminders per buyer, max", Kind::count,
      [&](const RuleSetRun& x) -> V { return double(F(x).reminders_per_buyer_max); });
  add("reminders per buyer, p95", Kind::count,
      [&](const RuleSetRun& x) -> V { return double(F(x).reminders_per_buyer_p95); });
  add("paid after a reminder", Kind::count, [&](const RuleSetRun& x) -> V { return double(F(x).paid_after_reminder); });
  add("  share of reminded orders", Kind::percent,
      [&](const RuleSetRun& x) -> V { return share(F(x).paid_after_reminder, double(F(x).reminded_orders)); });
  add("  amount (CNY)", Kind::money,
      [&](const RuleSetRun& x) -> V { return yuan(double(F(x).paid_after_reminder_amount)); });
  add("  cost per paid order (CNY)", Kind::money,
      [&](const RuleSetRun& x) { return cost_per_paid_order(F(x).cost_milli, F(x).paid_after_reminder); });
  // The call desk: the phone reminders as call tasks (the log carries no call outcomes; the
  // daemon's are counted by `cuifu calls --summary`).
  const auto desk = [](const RuleSetRun& x) -> std::optional<CallDeskLoad> {
    if (!x.rules) return std::nullopt;
    return call_desk_load(x.result.sent, *x.rules);
  };
  add("call tasks: busiest day", Kind::count, [&](const RuleSetRun& x) -> V {
    const auto d = desk(x);
    return d ? V(d->busiest_day_tasks) : std::nullopt;
  });
  add("  without a slot at calls.per_hour", Kind::count, [&](const RuleSetRun& x) -> V {
    const auto d = desk(x);
    return d ? V(d->without_slot) : std::nullopt;
  });
  add("  paid after a call (the last reminder)", Kind::count, [&](const RuleSetRun& x) -> V {
    const auto it = F(x).by_channel.find(Channel::phone);
    return it == F(x).by_channel.end() ? 0.0 : double(it->second.paid_after);
  });
  add("avoided (paid before a reminder was due)", Kind::count,
      [&](const RuleSetRun& x) -> V { return double(F(x).avoided); });
  add("missed (closed, never reminded)", Kind::count, [&](const RuleSetRun& x) -> V { return double(F(x).missed); });
  add("violations: quiet hours", Kind::count,
      [&](const RuleSetRun& x) -> V { return double(F(x).violations.quiet_hours); });
  add("violations: windows", Kind::count, [&](const RuleSetRun& x) -> V { return double(F(x).violations.windows); });
  add("violations: caps", Kind::count, [&](const RuleSetRun& x) -> V { return double(F(x).violations.caps); });
  add("violations: paid or closed", Kind::count,
      [&](const RuleSetRun& x) -> V { return double(F(x).violations.paid_or_closed); });
  FigureLine up{"uplift of the live rules (from the log)", Kind::text, {}, {}};
  for (const auto& run : r.runs) up.shown.push_back(uplift_text(run));
  lines.push_back(std::move(up));
  // Steps, then segments, in the union of both rule sets.
  std::set<int> steps;
  std::set<std::string> segments;
  for (const auto& run : r.runs) {
    for (const auto& [n, st] : run.figures.by_step) steps.insert(n);
    for (const auto& [name, s] : run.figures.by_segment) segments.insert(name);
  }
  for (const int n : steps) {
    const auto step = [n](const RuleSetRun& x) -> ReminderKindFigures {
      const auto it = x.figures.by_step.find(n);
      return it == x.figures.by_step.end() ? ReminderKindFigures{} : it->second;
    };
    add(fmt::format("step {}: reminders", n), Kind::count, [&](const RuleSetRun& x) -> V { return step(x).reminders; });
    add("  paid after it", Kind::count, [&](const RuleSetRun& x) -> V { return step(x).paid_after; });
    add("  cost per paid order (CNY)", Kind::money,
        [&](const RuleSetRun& x) { return cost_per_paid_order(step(x).cost_milli, step(x).paid_after); });
  }
  for (const auto& name : segments) {
    const auto seg = [name](const RuleSetRun& x) -> SegmentFigures {
      const auto it = x.figures.by_segment.find(name);
      return it == x.figures.by_segment.end() ? SegmentFigures{} : it->second;
    };
    add(fmt::format("segment {}: orders", name), Kind::count, [&](const RuleSetRun& x) -> V { return seg(x).orders; });
    add("  reminders", Kind::count, [&](const RuleSetRun& x) -> V { return seg(x).reminders; });
    add("  paid after a reminder", Kind::count, [&](const RuleSetRun& x) -> V { return seg(x).paid_after_reminder; });
    add("  missed", Kind::count, [&](const RuleSetRun& x) -> V { return seg(x).missed; });
  }
  return lines;
}

std::vector<std::string> uplift_sentences(const BacktestReport& r) {
  std::vector<std::string> out;
  std::string previous_reason;
  for (const auto& run : r.runs) {
    if (run.uplift && run.uplift->overall.measurable) continue;
    const std::string& reason = run.uplift ? run.uplift->overall.reason : run.uplift_reason;
    out.push_back(reason != previous_reason ? fmt::format("{}: uplift not measurable: {}", run.name, reason)
                                            : fmt::format("{}: uplift not measurable, for the same reason", run.name));
    previous_reason = reason;
  }
  // Measured: from the log's own columns, so it is one figure whatever rule set is replayed.
  const RuleSetRun* measured = nullptr;
  for (const auto& run : r.runs) {
    if (run.uplift && run.uplift->overall.measurable) measured = &run;
  }
  if (measured) {
    const auto& e = measured->uplift->overall;
    std::string whose = "the rules that were live when the log was recorded";
    if (r.runs.size() == 1) {
      whose += fmt::format(" (whether or not they are {})", measured->name);
    } else {
      std::vector<std::string> names;
      for (const auto& run : r.runs) names.push_back(run.name);
      whose += fmt::format(", not of {}", fmt::join(names, " or "));
    }
    out.push_back(fmt::format(
        "Uplift of {}: paid rate {} reminded ({} orders) vs {} held out ({} orders); uplift {:+.1f} points, "
        "95% CI [{:+.1f}, {:+.1f}]; recovered about {:.2f} CNY.",
        whose, pct(e.reminded_paid_rate), e.reminded, pct(e.holdout_paid_rate), e.holdout, 100 * e.uplift,
        100 * e.ci_low, 100 * e.ci_high, yuan(e.recovered_amount)));
    out.push_back(
        "It comes from the log's \"reminded\" and \"holdout\" columns: who was really reminded and who was really "
        "held out, and whether they paid. A replay does not change what those buyers did, so this figure is the same "
        "for every rule set replayed over this log; a rule set's own uplift needs a period run with it and a "
        "holdout.");
  }
  return out;
}

void write_backtest_table(std::ostream& out, const BacktestReport& r) {
  out << fmt::format("Backtest of {}: orders placed {} .. {} ({}); the log ends {}\n", r.log, format_local_hm(r.from),
                     format_local_hm(r.to), r.zone->name(), format_local_hm(r.log_end));
  out << fmt::format("{} rows read, {} rejected{}\n\n", r.rows, r.rejected.size(),
                     r.superseded == 0 ? std::string()
                                       : fmt::format(", {} superseded by a newer row of the same order", r.superseded));
  const bool compare = r.runs.size() > 1;
  const int label_w = 42, col_w = 26;
  std::string head = pad_display("", label_w);
  for (const auto& run : r.runs) head += ' ' + pad_display(run.name, col_w, true);
  if (compare) head += ' ' + pad_display("difference", 14, true);
  out << head << "\n" << std::string(static_cast<std::size_t>(display_width(head)), '-') << "\n";
  for (const auto& l : figure_lines(r)) {
    const bool differs = compare && l.differs();
    // A difference is marked twice: "*" before the label and the signed difference after.
    std::string line = pad_display((differs ? "* " : "  ") + l.label, label_w);
    for (const auto& s : l.shown) line += ' ' + pad_display(s, col_w, true);
    if (compare) line += ' ' + pad_display(l.difference(), 14, true);
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out << line << "\n";
  }
  out << "\n";
  for (const auto& sentence : uplift_sentences(r)) out << sentence << "\n";
  for (const auto& run : r.runs) {
    if (run.figures.violations.total() > 0) {
      out << fmt::format("{}: {} rule violations, first ones:\n", run.name, run.figures.violations.total());
      for (std::size_t i = 0; i < run.figures.violations.details.size() && i < 10; ++i) {
        out << "  " << run.figures.violations.details[i] << "\n";
      }
    }
  }
  if (!r.rejected.empty()) {
    out << fmt::format("\nRejected log rows: {}\n", r.rejected.size());
    for (std::size_t i = 0; i < r.rejected.size() && i < 20; ++i) {
      out << fmt::format("  line {}: {}\n", r.rejected[i].line, r.rejected[i].error);
    }
    if (r.rejected.size() > 20) out << fmt::format("  … and {} more (see --format json)\n", r.rejected.size() - 20);
  }
}

}  // namespace cuifu
