// The backtest HTML report: one self-contained file (inline CSS and SVG, no scripts, no
// fonts or images from the network), readable in any browser and printable.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <functional>
#include <set>
#include <sstream>

#include "app/backtest_report.h"

namespace cuifu {

namespace {

// Colours per rule set (A, B) and for payments.
constexpr std::array<const char*, 2> kSetColour = {"#2b6cb0", "#dd6b20"};
constexpr const char* kPayColour = "#2f855a";

std::string esc(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

const char* colour(std::size_t i) {
  return kSetColour[std::min<std::size_t>(i, kSetColour.size() - 1)];
}

// A round axis maximum >= v: 1, 2, 5 × 10^k.
double nice_max(double v) {
  if (v <= 0) return 1;
  const double p = std::pow(10.0, std::floor(std::log10(v)));
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    if (m * p >= v) return m * p;
  }
  return 10 * p;
}

std::string num(double v) {
  if (std::fabs(v - std::round(v)) < 1e-9) return fmt::format("{}", std::llround(v));
  return fmt::format("{:.2f}", v);
}

// Plot area shared by the charts.
struct Frame {
  int width = 760, height = 280;
  int left = 56, right = 56, top = 20, bottom = 44;
  int plot_w() const { return width - left - right; }
  int plot_h() const { return height - top - bottom; }
};

void legend(std::ostream& o, int x, int y, const std::vector<std::pair<std::string, std::string>>& items) {
  for (const auto& [label, fill] : items) {
    o << fmt::format("<rect x=\"{}\" y=\"{}\" width=\"12\" height=\"12\" fill=\"{}\"/>", x, y - 10, fill);
    o << fmt::format("<text x=\"{}\" y=\"{}\" class=\"lg\">{}</text>", x + 16, y, esc(label));
    x += 24 + static_cast<int>(label.size()) * 7;
  }
}

void y_axis(std::ostream& o, const Frame& f, double max, bool right_side, const std::string& fmt_suffix = "") {
  for (int i = 0; i <= 4; ++i) {
    const double v = max * i / 4;
    const int y = f.top + f.plot_h() - f.plot_h() * i / 4;
    if (!right_side) {
      o << fmt::format("<line x1=\"{}\" x2=\"{}\" y1=\"{}\" y2=\"{}\" class=\"grid\"/>", f.left, f.left + f.plot_w(), y,
                       y);
      o << fmt::format("<text x=\"{}\" y=\"{}\" class=\"ax\" text-anchor=\"end\">{}{}</text>", f.left - 6, y + 4,
                       num(v), fmt_suffix);
    } else {
      o << fmt::format("<text x=\"{}\" y=\"{}\" class=\"ax\">{}{}</text>", f.left + f.plot_w() + 6, y + 4, num(v),
                       fmt_suffix);
    }
  }
}

// Reminders per rule set (bars) and payments from the log (line), by hour of the day.
void hour_chart(std::ostream& o, const BacktestReport& r) {
  const Frame f;
  double max_rem = 0, max_pay = 0;
  for (const auto& run : r.runs) {
    for (const auto& h : run.figures.by_hour) max_rem = std::max<double>(max_rem, h.reminders);
  }
  for (const auto& h : r.runs.front().figures.by_hour) max_pay = std::max<double>(max_pay, h.payments);
  max_rem = nice_max(max_rem);
  max_pay = nice_max(max_pay);
  o << fmt::format(
      "<svg id=\"chart-hour\" class=\"chart\" viewBox=\"0 0 {} {}\" role=\"img\" "
      "aria-label=\"Reminders and payments by hour of day\">",
      f.width, f.height);
  y_axis(o, f, max_rem, false);
  y_axis(o, f, max_pay, true);
  const double slot = static_cast<double>(f.plot_w()) / 24.0;
  const double bar = (slot - 4) / static_cast<double>(r.runs.size());
  for (std::size_t s = 0; s < r.runs.size(); ++s) {
    for (int h = 0; h < 24; ++h) {
      const int n = r.runs[s].figures.by_hour[static_cast<std::size_t>(h)].reminders;
      const double bh = f.plot_h() * n / max_rem;
      o << fmt::format(
          "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"{}\">"
          "<title>{} {:02d}:00 — {} reminders</title></rect>",
          f.left + slot * h + 2 + bar * static_cast<double>(s), f.top + f.plot_h() - bh, bar, bh, colour(s),
          esc(r.runs[s].name), h, n);
    }
  }
  std::string points;
  for (int h = 0; h < 24; ++h) {
    const int n = r.runs.front().figures.by_hour[static_cast<std::size_t>(h)].payments;
    points += fmt::format("{:.1f},{:.1f} ", f.left + slot * (h + 0.5), f.top + f.plot_h() - f.plot_h() * n / max_pay);
  }
  o << fmt::format("<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"/>", points, kPayColour);
  for (int h = 0; h < 24; h += 3) {
    o << fmt::format("<text x=\"{:.1f}\" y=\"{}\" class=\"ax\" text-anchor=\"middle\">{:02d}</text>",
                     f.left + slot * (h + 0.5), f.top + f.plot_h() + 16, h);
  }
  std::vector<std::pair<std::string, std::string>> items;
  for (std::size_t s = 0; s < r.runs.size(); ++s) items.emplace_back("reminders: " + r.runs[s].name, colour(s));
  items.emplace_back("payments in the log (right axis)", kPayColour);
  legend(o, f.left, f.height - 6, items);
  o << "</svg>\n";
}

// Segment × channel: reminders per cell, shaded by count.
void heatmap(std::ostream& o, const RuleSetRun& run, std::size_t index) {
  std::vector<std::string> segments;
  int max = 1;
  for (const auto& [name, s] : run.figures.by_segment) {
    segments.push_back(name);
    for (const auto& [c, n] : s.reminders_by_channel) max = std::max(max, n);
  }
  const int cell_w = 110, cell_h = 28, left = 170, top = 30;
  const int width = left + cell_w * 5 + 10, height = top + cell_h * static_cast<int>(segments.size()) + 10;
  o << fmt::format(
      "<svg id=\"chart-segment-channel-{}\" class=\"chart heat\" viewBox=\"0 0 {} {}\" role=\"img\" "
      "aria-label=\"Reminders by segment and channel, {}\">",
      index, width, height, esc(run.name));
  int col = 0;
  for (Channel c : kAllChannels) {
    o << fmt::format("<text x=\"{}\" y=\"{}\" class=\"ax\" text-anchor=\"middle\">{}</text>",
                     left + cell_w * col + cell_w / 2, top - 10, to_string(c));
    ++col;
  }
  o << fmt::format("<text x=\"{}\" y=\"{}\" class=\"ax\" text-anchor=\"middle\">orders</text>",
                   left + cell_w * 4 + cell_w / 2, top - 10);
  int row = 0;
  for (const auto& name : segments) {
    const SegmentFigures& s = run.figures.by_segment.at(name);
    const int y = top + cell_h * row;
    o << fmt::format("<text x=\"{}\" y=\"{}\" class=\"ax\" text-anchor=\"end\">{}</text>", left - 8, y + cell_h / 2 + 4,
                     esc(name));
    col = 0;
    for (Channel c : kAllChannels) {
      const auto it = s.reminders_by_channel.find(c);
      const int n = it == s.reminders_by_channel.end() ? 0 : it->second;
      const double alpha = n == 0 ? 0.0 : 0.12 + 0.88 * n / max;
      o << fmt::format(
          "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\" fill-opacity=\"{:.2f}\" "
          "stroke=\"#ccc\"/>",
          left + cell_w * col, y, cell_w - 2, cell_h - 2, colour(index), alpha);
      o << fmt::format("<text x=\"{}\" y=\"{}\" class=\"cell{}\" text-anchor=\"middle\">{}</text>",
                       left + cell_w * col + cell_w / 2, y + cell_h / 2 + 4, alpha > 0.6 ? " light" : "", n);
      ++col;
    }
    o << fmt::format("<text x=\"{}\" y=\"{}\" class=\"cell\" text-anchor=\"middle\">{} ({} reminded)</text>",
                     left + cell_w * 4 + cell_w / 2, y + cell_h / 2 + 4, s.orders, s.reminded_orders);
    ++row;
  }
  o << "</svg>\n";
}

// Cumulative share of orders paid (from the log) and reminded (per rule set) against hours
// since the order was placed.
void paid_curve(std::ostream& o, const BacktestReport& r) {
  const Frame f;
  const auto& paid = r.runs.front().figures.paid_within_hours;
  const double hours = std::max<double>(1.0, static_cast<double>(paid.size()) - 1);
  o << fmt::format(
      "<svg id=\"chart-paid-curve\" class=\"chart\" viewBox=\"0 0 {} {}\" role=\"img\" "
      "aria-label=\"Cumulative share of orders paid against hours since order\">",
      f.width, f.height);
  for (int i = 0; i <= 4; ++i) {
    const int y = f.top + f.plot_h() - f.plot_h() * i / 4;
    o << fmt::format("<line x1=\"{}\" x2=\"{}\" y1=\"{}\" y2=\"{}\" class=\"grid\"/>", f.left, f.left + f.plot_w(), y,
                     y);
    o << fmt::format("<text x=\"{}\" y=\"{}\" class=\"ax\" text-anchor=\"end\">{}%</text>", f.left - 6, y + 4, 25 * i);
  }
  const auto line = [&](const std::vector<double>& share, const char* stroke, const char* dash) {
    std::string pts;
    for (std::size_t h = 0; h < share.size(); ++h) {
      pts += fmt::format("{:.1f},{:.1f} ", f.left + f.plot_w() * static_cast<double>(h) / hours,
                         f.top + f.plot_h() * (1.0 - share[h]));
    }
    o << fmt::format("<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\" stroke-dasharray=\"{}\"/>",
                     pts, stroke, dash);
  };
  line(paid, kPayColour, "0");
  for (std::size_t s = 0; s < r.runs.size(); ++s) line(r.runs[s].figures.reminded_within_hours, colour(s), "6 3");
  for (int h = 0; h <= static_cast<int>(hours); h += 12) {
    o << fmt::format("<text x=\"{:.1f}\" y=\"{}\" class=\"ax\" text-anchor=\"middle\">{} h</text>",
                     f.left + f.plot_w() * h / hours, f.top + f.plot_h() + 16, h);
  }
  std::vector<std::pair<std::string, std::string>> items{{"paid (log)", kPayColour}};
  for (std::size_t s = 0; s < r.runs.size(); ++s) items.emplace_back("first reminder: " + r.runs[s].name, colour(s));
  legend(o, f.left, f.height - 6, items);
  o << "</svg>\n";
}

// Cost of the reminders against the amount paid after them (an upper bound on what they
// recovered) and, when measurable, the amount the uplift implies.
void cost_chart(std::ostream& o, const BacktestReport& r) {
  struct Bar {
    std::string label;
    double value;
    std::string fill;
  };
  std::vector<Bar> bars;
  for (std::size_t s = 0; s < r.runs.size(); ++s) {
    const auto& run = r.runs[s];
    bars.push_back({run.name + ": reminder cost", static_cast<double>(run.figures.cost_milli) / 1000.0, "#c53030"});
    bars.push_back({run.name + ": paid after a reminder (upper bound)",
                    yuan(static_cast<double>(run.figures.paid_after_reminder_amount)), colour(s)});
    if (run.uplift && run.uplift->overall.measurable) {
      bars.push_back({run.name + ": recovered by uplift", yuan(run.uplift->overall.recovered_amount), kPayColour});
    }
  }
  double max = 0;
  for (const auto& b : bars) max = std::max(max, b.value);
  max = nice_max(max);
  const int left = 300, bar_h = 24, width = 760, height = 30 + bar_h * static_cast<int>(bars.size()) + 24;
  const int plot_w = width - left - 90;
  o << fmt::format(
      "<svg id=\"chart-cost\" class=\"chart\" viewBox=\"0 0 {} {}\" role=\"img\" "
      "aria-label=\"Cost against recovered amount\">",
      width, height);
  int y = 20;
  for (const auto& b : bars) {
    const double w = std::max(b.value > 0 ? 1.0 : 0.0, plot_w * b.value / max);
    o << fmt::format("<text x=\"{}\" y=\"{}\" class=\"ax\" text-anchor=\"end\">{}</text>", left - 8, y + 16,
                     esc(b.label));
    o << fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{:.1f}\" height=\"{}\" fill=\"{}\"/>", left, y + 3, w, bar_h - 6,
                     b.fill);
    o << fmt::format("<text x=\"{:.1f}\" y=\"{}\" class=\"ax\">{:.2f}</text>", left + w + 6, y + 16, b.value);
    y += bar_h;
  }
  o << "</svg>\n";
}

// The figures, formatted as in the terminal (money with two decimals, shares as
// percentages), with a difference column when two rule sets are compared.
void summary_table(std::ostream& o, const BacktestReport& r) {
  const bool compare = r.runs.size() > 1;
  o << "<table class=\"summary\" id=\"figures\"><thead><tr><th></th>";
  for (const auto& run : r.runs) o << "<th>" << esc(run.name) << "</th>";
  if (compare) o << "<th>difference</th>";
  o << "</tr></thead><tbody>\n";
  for (const auto& l : figure_lines(r)) {
    const bool differs = compare && l.differs();
    std::string label = l.label;
    const bool sub = label.rfind("  ", 0) == 0;
    if (sub) label = label.substr(2);
    o << "<tr" << (differs ? " class=\"diff\"" : "") << "><th" << (sub ? " class=\"sub\"" : "") << ">" << esc(label)
      << "</th>";
    for (const auto& c : l.shown) o << "<td>" << esc(c) << "</td>";
    if (compare) o << "<td class=\"d\">" << esc(l.difference()) << "</td>";
    o << "</tr>\n";
  }
  o << "</tbody></table>\n";
  for (const auto& sentence : uplift_sentences(r)) o << "<p class=\"note\">" << esc(sentence) << "</p>\n";
}

// Per template or per step: reminders, cost, orders paid after them (credited to the last
// reminder before the payment) and cost per paid order.
template <typename Key>
void kind_table(std::ostream& o, const std::string& id, const std::string& key_head,
                const std::vector<std::pair<Key, std::string>>& keys,
                const std::function<ReminderKindFigures(const RuleSetRun&, const Key&)>& get, const BacktestReport& r) {
  o << "<table class=\"summary kinds\" id=\"" << id << "\"><thead><tr><th>" << esc(key_head) << "</th>";
  if (r.runs.size() > 1) o << "<th>rule set</th>";
  o << "<th>reminders</th><th>cost (CNY)</th><th>paid after</th><th>paid per reminder</th><th>amount (CNY)</th>"
       "<th>cost per paid order (CNY)</th></tr></thead><tbody>\n";
  for (const auto& [key, label] : keys) {
    for (std::size_t s = 0; s < r.runs.size(); ++s) {
      const ReminderKindFigures k = get(r.runs[s], key);
      const auto per_paid = cost_per_paid_order(k.cost_milli, k.paid_after);
      o << "<tr><th>" << (s == 0 ? esc(label) : "") << "</th>";
      if (r.runs.size() > 1) o << "<td class=\"set\">" << esc(r.runs[s].name) << "</td>";
      o << fmt::format("<td>{}</td><td>{:.2f}</td><td>{}</td><td>{}</td><td>{:.2f}</td><td>{}</td></tr>\n", k.reminders,
                       static_cast<double>(k.cost_milli) / 1000.0, k.paid_after,
                       k.reminders > 0 ? fmt::format("{:.1f}%", 100.0 * k.paid_after / k.reminders) : std::string("-"),
                       yuan(static_cast<double>(k.paid_after_amount)),
                       per_paid ? fmt::format("{:.2f}", *per_paid) : "-");
    }
  }
  o << "</tbody></table>\n";
}

void template_and_step_tables(std::ostream& o, const BacktestReport& r) {
  using TemplateKey = std::pair<Channel, std::string>;
  std::set<TemplateKey> templates;
  std::set<int> steps;
  for (const auto& run : r.runs) {
    for (const auto& [key, k] : run.figures.by_template) templates.insert(key);
    for (const auto& [n, k] : run.figures.by_step) steps.insert(n);
  }
  std::vector<std::pair<int, std::string>> step_keys;
  for (int n : steps) step_keys.emplace_back(n, fmt::format("step {}", n));
  o << "<h2>Per step</h2>\n";
  kind_table<int>(
      o, "by-step", "step", step_keys,
      [](const RuleSetRun& run, const int& n) {
        const auto it = run.figures.by_step.find(n);
        return it == run.figures.by_step.end() ? ReminderKindFigures{} : it->second;
      },
      r);
  std::vector<std::pair<TemplateKey, std::string>> template_keys;
  for (const auto& key : templates)
    template_keys.emplace_back(key, fmt::format("{} {}", to_string(key.first), key.second));
  o << "<h2>Per template</h2>\n";
  kind_table<TemplateKey>(
      o, "by-template", "template", template_keys,
      [](const RuleSetRun& run, const TemplateKey& key) {
        const auto it = run.figures.by_template.find(key);
        return it == run.figures.by_template.end() ? ReminderKindFigures{} : it->second;
      },
      r);
  o << "<p class=\"note\">An order paid after a reminder is credited to the last reminder it had before the payment. "
       "\"Paid after\" counts buyers who would have paid anyway too: an upper bound, not what the template "
       "recovered.</p>\n";
}

}  // namespace

void write_backtest_html(std::ostream& out, const BacktestReport& r) {
  std::ostringstream o;
  std::vector<std::string> names;
  for (const auto& run : r.runs) names.push_back(run.name);
  const std::string title = fmt::format("cuifu backtest: {}", fmt::join(names, " vs "));
  o << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>" << esc(title) << "</title>\n";
  o << R"(<style>
body{font-family:system-ui,-apple-system,"Noto Sans CJK SC",sans-serif;margin:2em auto;max-width:900px;color:#1a202c}
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:2em;border-bottom:1px solid #e2e8f0}
table.summary{border-collapse:collapse}table.summary td,table.summary th{padding:3px 10px;border-bottom:1px solid #edf2f7;text-align:right}
table.summary th:first-child{text-align:left;font-weight:normal}table.summary th.sub{padding-left:2em}
table.summary td.d{color:#c05621;font-weight:600}table.summary td,table.kinds tbody th{white-space:nowrap}table.summary td.set{text-align:left;color:#4a5568}tr.diff{background:#fefcbf}tr.diff th:first-child::before{content:"≠ ";color:#c05621}
svg.chart{width:100%;height:auto;display:block;margin:1em 0}.grid{stroke:#e2e8f0}.ax,.lg,.cell{font-size:11px;fill:#4a5568}
.cell.light{fill:#fff}.note,.meta{color:#4a5568;font-size:.9em}
</style></head><body>
)";
  o << "<h1>" << esc(title) << "</h1>\n";
  o << fmt::format(
      "<p class=\"meta\">Log <code>{}</code>: {} rows read, {} rejected; orders placed {} .. {} ({}); the log ends "
      "{}: orders still open then are followed no further.</p>\n",
      esc(r.log), r.rows, r.rejected.size(), format_local_hm(r.from), format_local_hm(r.to), esc(r.zone->name()),
      format_local_hm(r.log_end));
  o << "<h2>Figures</h2>\n";
  summary_table(o, r);
  template_and_step_tables(o, r);
  o << "<h2>Reminders and payments by hour of day</h2>\n";
  hour_chart(o, r);
  o << "<h2>Segment × channel (reminders sent)</h2>\n";
  for (std::size_t s = 0; s < r.runs.size(); ++s) {
    o << "<h3>" << esc(r.runs[s].name) << "</h3>\n";
    heatmap(o, r.runs[s], s);
  }
  o << "<h2>Share of orders paid against hours since the order</h2>\n";
  paid_curve(o, r);
  o << "<p class=\"note\">Solid: orders paid within h hours (the log). Dashed: orders that had their first reminder "
       "within h hours. Reminders that come after most payments are too late; before, they annoy buyers who would pay "
       "anyway.</p>\n";
  o << "<h2>Cost against recovered amount</h2>\n";
  cost_chart(o, r);
  o << "<p class=\"note\">\"Paid after a reminder\" counts every order paid after a reminder, including buyers who "
       "would have paid anyway: an upper bound. Only a holdout comparison measures what reminders really "
       "recover.</p>\n";
  o << "</body></html>\n";
  out << o.str();
}

}  // namespace cuifu
