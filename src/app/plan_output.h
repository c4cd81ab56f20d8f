// Renders a Plan for people (a terminal table) and for tools (JSON, CSV).
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "core/planner.h"
#include "io/feed.h"
#include "io/zone.h"

namespace cuifu {

struct PlanReport {
  const Plan* plan = nullptr;
  const std::vector<RejectedRow>* rejected = nullptr;
  const std::vector<SupersededRow>* superseded = nullptr;  // rows of repeated orders not used
  const Rules* rules = nullptr;
  LocalTime now{};
  LocalTime from{};
  LocalTime to{};
  const ShopZone* zone = nullptr;
  std::string feed;            // the feed's name, for the heading
  std::size_t orders = 0;      // rows read
  bool show_contacts = false;  // unmasked phone numbers and e-mails
  int width = 100;             // terminal columns for the table (shown within 80..120)
};

// Counts and cost per channel, segment and hour of the day, added up reminder by reminder.
struct PlanTally {
  std::size_t reminders = 0, skipped = 0;
  std::map<std::string, std::pair<std::size_t, std::int64_t>> by_channel;  // reminders, cost in milli-yuan
  std::map<std::string, std::size_t> by_segment;
  std::map<int, std::size_t> by_hour;
  std::int64_t cost_milli = 0;

  void count(const PlannedReminder& r);
  void merge(const PlanTally& other);
  nlohmann::json to_json() const;
};
nlohmann::json plan_summary(const Plan& plan);

// Runs the planner for a report into a sink: plan_into() with the report's inputs.
using PlanRun = std::function<void(PlanSink&)>;

// JSON streamed one reminder per line: valid JSON, stable keys, bounded memory. With a
// PlanRun, r.plan is not used: each buyer's reminders are rendered as soon as the buyer is
// planned and kept as sorted lines, in memory up to a budget and beyond it in temporary files
// ($TMPDIR, else /tmp), so a plan of millions of reminders never exists as values.
void write_plan_json(std::ostream& out, const PlanReport& r);
void write_plan_json(std::ostream& out, const PlanReport& r, const PlanRun& run);

// Appends `s` as a JSON string, exactly as nlohmann::json's dump() writes it (UTF-8 kept,
// quotes, backslashes and control characters escaped): a plan of a million reminders is
// written line by line without building a JSON value for each.
void append_json_string(std::string& out, std::string_view s);
// CSV for a spreadsheet (UTF-8, LF line ends): one row per reminder with its pay-by time and
// e-mail subject. Cells of digits Excel would mangle (order ids of more than 11 digits, a
// leading zero) are written as ="…" so they stay text.
// `encoding` as for encode_csv(); streamed like the JSON.
void write_plan_csv(std::ostream& out, const PlanReport& r, const std::string& encoding);
void write_plan_csv(std::ostream& out, const PlanReport& r, const PlanRun& run, const std::string& encoding);
// The bytes to write for CSV `utf8_text` in `encoding`: "utf-8-bom" (what Excel on a Chinese
// Windows needs to see UTF-8), "utf-8", or "gb18030" (through iconv).
std::string encode_csv(std::string utf8_text, const std::string& encoding);

// The table fits in r.width columns, clamped to 80..120: no line is wider (long text wraps).
void write_plan_table(std::ostream& out, const PlanReport& r);

// Columns for the table: $COLUMNS when it is a positive number, else the terminal's width
// when stdout is one, else 100.
int table_width_from_environment();

// The contact as shown: masked unless asked, "-" for IM.
std::string shown_contact(const PlannedReminder& r, bool show_contacts);

}  // namespace cuifu
