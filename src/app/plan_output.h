// Renders a Plan for people (a terminal table) and for tools (JSON, CSV).
#pragma once

#include <nlohmann/json.hpp>

#include <ostream>
#include <string>
#include <vector>

#include "core/planner.h"
#include "io/zone.h"

namespace cuifu {

struct PlanReport {
  const Plan* plan = nullptr;
  const std::vector<RejectedRow>* rejected = nullptr;
  const Rules* rules = nullptr;
  LocalTime now{};
  LocalTime from{};
  LocalTime to{};
  const ShopZone* zone = nullptr;
  std::string feed;            // the feed's name, for the heading
  std::size_t orders = 0;      // rows read
  bool show_contacts = false;  // unmasked phone numbers and e-mails
  int width = 100;             // terminal columns for the table
};

// Counts and cost per channel, segment and hour of the day.
nlohmann::json plan_summary(const Plan& plan);

// JSON streamed one reminder per line: valid JSON, stable keys, bounded memory.
void write_plan_json(std::ostream& out, const PlanReport& r);
void write_plan_csv(std::ostream& out, const PlanReport& r);
void write_plan_table(std::ostream& out, const PlanReport& r);

// The contact as shown: masked unless asked, "-" for IM.
std::string shown_contact(const PlannedReminder& r, bool show_contacts);

}  // namespace cuifu
