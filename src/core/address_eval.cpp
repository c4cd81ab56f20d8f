#include "core/address_eval.h"

#include <fmt/format.h>

#include "core/planner.h"
#include "core/text.h"

namespace cuifu {

namespace {

int class_index(std::string_view name) {
  for (std::size_t i = 0; i < kAddressClasses.size(); ++i) {
    if (kAddressClasses[i] == name) return static_cast<int>(i);
  }
  return -1;
}

}  // namespace

std::vector<LabelledAddress> parse_labelled_addresses(std::string_view text, const std::string& file,
                                                      std::vector<std::string>& errors) {
  std::vector<LabelledAddress> out;
  int n = 0;
  for (std::string line : split(text, '\n')) {
    ++n;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#' || line.rfind("label\t", 0) == 0) continue;
    const auto f = split(line, '\t');
    if (f.size() < 2 || trim(f[1]).empty()) {
      errors.push_back(fmt::format("{}:{}: expected label<TAB>address", file, n));
      continue;
    }
    if (class_index(f[0]) < 0) {
      errors.push_back(fmt::format("{}:{}: label '{}' is not student, office, home or overseas", file, n, f[0]));
      continue;
    }
    out.push_back({f[0], f[1], n});
  }
  return out;
}

std::string predicted_class(const Rules& rules, std::string_view address) {
  const AddressReading r = read_address(rules, address);
  if (r.parsed.overseas) return "overseas";
  const std::string& o = r.occupation.occupation;
  return o == "student" || o == "office" ? o : "home";
}

int AddressEval::total(std::size_t t) const {
  int n = 0;
  for (int v : confusion[t]) n += v;
  return n;
}

double AddressEval::recall(std::size_t c) const {
  const int n = total(c);
  return n == 0 ? 1.0 : static_cast<double>(confusion[c][c]) / n;
}

int AddressEval::predicted(std::size_t c) const {
  int n = 0;
  for (const auto& row : confusion) n += row[c];
  return n;
}

double AddressEval::precision(std::size_t c) const {
  const int n = predicted(c);
  return n == 0 ? 1.0 : static_cast<double>(confusion[c][c]) / n;
}

double AddressEval::home_kept_apart() const {
  const std::size_t home = 2;
  const int n = total(home);
  return n == 0 ? 1.0 : static_cast<double>(n - confusion[home][0] - confusion[home][1]) / n;
}

namespace {

// "97.3 %", or "—" when there is nothing to measure.
std::string percent(bool measured, double value) {
  return measured ? fmt::format("{:.1f} %", 100 * value) : std::string("—");
}

}  // namespace

std::string AddressEval::table() const {
  std::string out = "| class | addresses | precision | recall |\n|---|---:|---:|---:|\n";
  for (std::size_t c = 0; c < kAddressClasses.size(); ++c) {
    out += fmt::format("| {} | {} | {} | {} |\n", kAddressClasses[c], total(c), percent(predicted(c) > 0, precision(c)),
                       percent(total(c) > 0, recall(c)));
  }
  out += fmt::format("\nhome kept out of student/office: {}\n", percent(total(2) > 0, home_kept_apart()));
  out += "\nconfusion (rows: true class, columns: predicted)\n\n| true \\ predicted |";
  for (auto c : kAddressClasses) out += fmt::format(" {} |", c);
  out += "\n|---|---:|---:|---:|---:|\n";
  for (std::size_t t = 0; t < kAddressClasses.size(); ++t) {
    out += fmt::format("| {} |", kAddressClasses[t]);
    for (int v : confusion[t]) out += fmt::format(" {} |", v);
    out += "\n";
  }
  return out;
}

AddressEval evaluate_addresses(const Rules& rules, const std::vector<LabelledAddress>& set) {
  AddressEval e;
  for (const auto& a : set) {
    const int t = class_index(a.label);
    const std::string p = predicted_class(rules, a.address);
    const int pi = class_index(p);
    if (t < 0 || pi < 0) continue;
    ++e.confusion[t][pi];
    if (t != pi) e.misses.emplace_back(&a, p);
  }
  return e;
}

}  // namespace cuifu
