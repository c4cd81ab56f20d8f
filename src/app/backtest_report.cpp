// JSON and terminal table of a backtest; the HTML report is in backtest_html.cpp.
#include "app/backtest_report.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cmath>
#include <functional>
#include <set>

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
  } else {
    uplift = {{"measurable", false}, {"reason", run.uplift_reason}};
  }
  json details = json::array();
  for (std::size_t i = 0; i < f.violations.details.size() && i < 20; ++i) details.push_back(f.violations.details[i]);
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
          {"missed", f.missed},
          {"avoided", f.avoided},
          {"violations",
           {{"quiet_hours", f.violations.quiet_hours},
            {"windows", f.violations.windows},
            {"caps", f.violations.caps},
            {"paid_or_closed", f.violations.paid_or_closed},
            {"details", details}}},
          {"by_segment", by_segment},
          {"by_channel", by_channel},
          {"by_hour", by_hour},
          {"uplift", uplift}};
}

}  // namespace

json backtest_to_json(const BacktestReport& r) {
  json sets = json::array();
  for (const auto& run : r.runs) sets.push_back(run_to_json(run));
  json rejected = json::array();
  for (const auto& row : r.rejected) rejected.push_back({{"line", row.line}, {"error", row.error}});
  return {
      {"log", r.log},        {"from", r.zone->iso(r.from)}, {"to", r.zone->iso(r.to)},  {"time_zone", r.zone->name()},
      {"rows_read", r.rows}, {"rule_sets", sets},           {"rejected_rows", rejected}};
}

void write_backtest_json(std::ostream& out, const BacktestReport& r) {
  out << backtest_to_json(r).dump(2) << "\n";
}

namespace {

// One line of the comparison table: a label and a value per rule set; numeric values
// also give a difference.
struct Line {
  std::string label;
  std::vector<std::string> shown;
  std::vector<double> value;  // empty: not numeric
};

std::string pct(double x) {
  return fmt::format("{:.1f}%", 100.0 * x);
}

std::string uplift_text(const RuleSetRun& run) {
  if (!run.uplift) return "not measurable";
  const auto& e = run.uplift->overall;
  if (!e.measurable) return "not measurable";
  return fmt::format("{:+.1f} pts [{:+.1f}, {:+.1f}]", 100 * e.uplift, 100 * e.ci_low, 100 * e.ci_high);
}

std::vector<Line> lines_of(const BacktestReport& r) {
  std::vector<Line> lines;
  const auto add = [&](std::string label, const std::function<double(const RuleSetRun&)>& v,
                       const std::function<std::string(double)>& show) {
    Line l{std::move(label), {}, {}};
    for (const auto& run : r.runs) {
      const double x = v(run);
      l.value.push_back(x);
      l.shown.push_back(show(x));
    }
    lines.push_back(std::move(l));
  };
  const auto count = [](double x) { return fmt::format("{}", static_cast<long long>(std::llround(x))); };
  const auto money = [](double x) { return fmt::format("{:.2f}", x); };
  const auto F = [](const RuleSetRun& run) -> const BacktestFigures& { return run.figures; };
  add(
      "orders", [&](const RuleSetRun& x) { return double(F(x).orders); }, count);
  add(
      "buyers", [&](const RuleSetRun& x) { return double(F(x).buyers); }, count);
  add(
      "paid orders (log)", [&](const RuleSetRun& x) { return double(F(x).paid); }, count);
  add(
      "held out orders", [&](const RuleSetRun& x) { return double(F(x).holdout_orders); }, count);
  add(
      "reminded orders", [&](const RuleSetRun& x) { return double(F(x).reminded_orders); }, count);
  add(
      "reminders", [&](const RuleSetRun& x) { return double(F(x).reminders); }, count);
  for (Channel c : kAllChannels) {
    add(
        fmt::format("  {}", to_string(c)),
        [&, c](const RuleSetRun& x) { return double(F(x).reminders_by_channel.at(c)); }, count);
  }
  add(
      "cost (CNY)", [&](const RuleSetRun& x) { return cost_yuan(F(x).cost_milli); }, money);
  add(
      "reminders per buyer, max", [&](const RuleSetRun& x) { return double(F(x).reminders_per_buyer_max); }, count);
  add(
      "reminders per buyer, p95", [&](const RuleSetRun& x) { return double(F(x).reminders_per_buyer_p95); }, count);
  add(
      "paid after a reminder", [&](const RuleSetRun& x) { return double(F(x).paid_after_reminder); }, count);
  add(
      "  amount", [&](const RuleSetRun& x) { return yuan(double(F(x).paid_after_reminder_amount)); }, money);
  add(
      "missed (closed, never reminded)", [&](const RuleSetRun& x) { return double(F(x).missed); }, count);
  add(
      "avoided (paid before due)", [&](const RuleSetRun& x) { return double(F(x).avoided); }, count);
  add(
      "violations: quiet hours", [&](const RuleSetRun& x) { return double(F(x).violations.quiet_hours); }, count);
  add(
      "violations: windows", [&](const RuleSetRun& x) { return double(F(x).violations.windows); }, count);
  add(
      "violations: caps", [&](const RuleSetRun& x) { return double(F(x).violations.caps); }, count);
  add(
      "violations: paid or closed", [&](const RuleSetRun& x) { return double(F(x).violations.paid_or_closed); }, count);
  Line up{"uplift (95% CI)", {}, {}};
  for (const auto& run : r.runs) up.shown.push_back(uplift_text(run));
  lines.push_back(std::move(up));
  // Segments, in the union of both rule sets.
  std::set<std::string> segments;
  for (const auto& run : r.runs) {
    for (const auto& [name, s] : run.figures.by_segment) segments.insert(name);
  }
  for (const auto& name : segments) {
    const auto seg = [name](const RuleSetRun& x) -> SegmentFigures {
      const auto it = x.figures.by_segment.find(name);
      return it == x.figures.by_segment.end() ? SegmentFigures{} : it->second;
    };
    add(
        fmt::format("segment {}: orders", name), [&](const RuleSetRun& x) { return double(seg(x).orders); }, count);
    add(
        "  reminders", [&](const RuleSetRun& x) { return double(seg(x).reminders); }, count);
    add(
        "  paid after a reminder", [&](const RuleSetRun& x) { return double(seg(x).paid_after_reminder); }, count);
    add(
        "  missed", [&](const RuleSetRun& x) { return double(seg(x).missed); }, count);
  }
  return lines;
}

}  // namespace

void write_backtest_table(std::ostream& out, const BacktestReport& r) {
  out << fmt::format("Backtest of {}: orders placed {} .. {} ({})\n", r.log, format_local_hm(r.from),
                     format_local_hm(r.to), r.zone->name());
  out << fmt::format("{} rows read, {} rejected\n\n", r.rows, r.rejected.size());
  const bool compare = r.runs.size() > 1;
  const int label_w = 42, col_w = 26;
  std::string head = pad_display("", label_w);
  for (const auto& run : r.runs) head += ' ' + pad_display(run.name, col_w, true);
  if (compare) head += ' ' + pad_display("difference", 14, true);
  out << head << "\n" << std::string(static_cast<std::size_t>(display_width(head)), '-') << "\n";
  for (const auto& l : lines_of(r)) {
    bool differs = false;
    std::string diff;
    if (compare) {
      if (!l.value.empty()) {
        const double d = l.value[1] - l.value[0];
        differs = std::fabs(d) > 1e-9;
        if (differs)
          diff = std::fabs(d - std::round(d)) < 1e-9 ? fmt::format("{:+}", std::llround(d)) : fmt::format("{:+.2f}", d);
      } else {
        differs = l.shown[0] != l.shown[1];
        if (differs) diff = "differs";
      }
    }
    // A difference is marked twice: "*" before the label and the signed difference after.
    std::string line = pad_display((differs ? "* " : "  ") + l.label, label_w);
    for (const auto& s : l.shown) line += ' ' + pad_display(s, col_w, true);
    if (compare) line += ' ' + pad_display(diff, 14, true);
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out << line << "\n";
  }
  std::string previous_reason;
  for (const auto& run : r.runs) {
    if (!run.uplift || !run.uplift->overall.measurable) {
      const std::string& reason = run.uplift ? run.uplift->overall.reason : run.uplift_reason;
      if (reason != previous_reason) {
        out << fmt::format("\n{}: uplift not measurable: {}\n", run.name, reason);
      } else {
        out << fmt::format("{}: uplift not measurable, for the same reason\n", run.name);
      }
      previous_reason = reason;
    } else {
      const auto& e = run.uplift->overall;
      out << fmt::format(
          "\n{}: paid rate {} reminded ({} orders) vs {} held out ({} orders); uplift {:+.1f} points, "
          "95% CI [{:+.1f}, {:+.1f}]; recovered about {:.2f}\n",
          run.name, pct(e.reminded_paid_rate), e.reminded, pct(e.holdout_paid_rate), e.holdout, 100 * e.uplift,
          100 * e.ci_low, 100 * e.ci_high, yuan(e.recovered_amount));
    }
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
