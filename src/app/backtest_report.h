// Renders backtest results for tools (JSON with stable keys), for people (a terminal
// table, two rule sets side by side with the differences marked) and for analysts (one
// self-contained HTML file with inline SVG charts: no scripts, no network).
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "core/backtest.h"
#include "io/zone.h"

namespace cuifu {

// One rule set replayed over the log.
struct RuleSetRun {
  std::string name;  // shown in headings and as "name" in JSON
  std::string rules_dir;
  std::string templates_dir;
  const Rules* rules = nullptr;
  ReplayResult result;
  BacktestFigures figures;
  // Set when the log says which orders were really reminded and which buyers held out.
  std::optional<UpliftReport> uplift;
  std::string uplift_reason;  // why uplift cannot be measured, when `uplift` is unset
};

struct BacktestReport {
  std::string log;
  LocalTime from{};
  LocalTime to{};
  LocalTime log_end{};  // the latest time the log records: nothing is replayed past it
  const ShopZone* zone = nullptr;
  std::size_t rows = 0;          // rows read, good, superseded and rejected
  std::size_t superseded = 0;    // rows of repeated orders replaced by a newer row of the same order
  std::vector<RuleSetRun> runs;  // one, or two with --compare
  std::vector<RejectedRow> rejected;
};

nlohmann::json backtest_to_json(const BacktestReport& r);
void write_backtest_json(std::ostream& out, const BacktestReport& r);
void write_backtest_table(std::ostream& out, const BacktestReport& r);
void write_backtest_html(std::ostream& out, const BacktestReport& r);

// The JSON object of one uplift estimate: {"measurable": false, "reason"} or the rates,
// uplift, ci95 and recovered amount.
nlohmann::json uplift_to_json(const UpliftEstimate& e);

// "1299.00" style yuan as a JSON number from fen.
double yuan(double fen);

// One figure of the comparison, as the terminal table and the HTML report show it: a label,
// the value per rule set formatted for people, and (numeric figures) the values, so a
// compare can show the difference.
struct FigureLine {
  enum class Kind { count, money, percent, text };
  std::string label;
  Kind kind = Kind::count;
  std::vector<std::string> shown;  // per rule set: "1,234"-free plain counts, "12.30", "45.6%"
  std::vector<double> value;       // per rule set; empty for text (percent: a share in [0, 1])
  bool differs() const;
  // B minus A, formatted by kind ("+3", "-12.50", "+1.2 pts"); "" when equal or not comparable.
  std::string difference() const;
};

// Every figure of the summary, in the order people read them.
std::vector<FigureLine> figure_lines(const BacktestReport& r);

// The uplift, in words: whose it is and, with two rule sets, why it is the same for both.
std::vector<std::string> uplift_sentences(const BacktestReport& r);

}  // namespace cuifu
