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
  const ShopZone* zone = nullptr;
  std::size_t rows = 0;          // rows read, good and rejected
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

}  // namespace cuifu
