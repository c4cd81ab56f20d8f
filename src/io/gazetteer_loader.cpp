#include "io/gazetteer_loader.h"

#include <fmt/format.h>

#include <fstream>
#include <set>

#include "core/text.h"
#include "io/yaml_util.h"

namespace cuifu {

namespace {

std::optional<PlaceKind> parse_kind(std::string_view s) {
  for (PlaceKind k :
       {PlaceKind::province, PlaceKind::city, PlaceKind::county, PlaceKind::outside, PlaceKind::country}) {
    if (to_string(k) == s) return k;
  }
  return std::nullopt;
}

}  // namespace

std::shared_ptr<const Gazetteer> load_gazetteer(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw LoadError(fmt::format("{}: cannot read the gazetteer", path));
  std::vector<Place> places;
  std::vector<std::string> errors;
  std::set<std::string> codes;
  std::vector<std::pair<int, std::string>> parents;  // line, parent code
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    const auto f = split(line, '\t');
    if (f.size() != 5) {
      errors.push_back(fmt::format("{}:{}: expected 5 tab-separated fields (kind, code, name, aliases, parent), got {}",
                                   path, n, f.size()));
      continue;
    }
    const auto kind = parse_kind(f[0]);
    if (!kind) {
      errors.push_back(
          fmt::format("{}:{}: kind '{}' is not province, city, county, outside or country", path, n, f[0]));
      continue;
    }
    if (f[1].empty() || f[2].empty()) {
      errors.push_back(fmt::format("{}:{}: code and name must not be empty", path, n));
      continue;
    }
    if (!codes.insert(f[1]).second) {
      errors.push_back(fmt::format("{}:{}: code {} appears twice", path, n, f[1]));
      continue;
    }
    Place p;
    p.kind = *kind;
    p.code = f[1];
    p.name = f[2];
    if (!f[3].empty()) {
      for (auto& a : split(f[3], '|')) {
        if (!a.empty()) p.aliases.push_back(std::move(a));
      }
    }
    p.parent = f[4];
    if (!p.parent.empty()) parents.emplace_back(n, p.parent);
    places.push_back(std::move(p));
  }
  for (const auto& [at, code] : parents) {
    if (!codes.count(code)) errors.push_back(fmt::format("{}:{}: parent code {} is not in the file", path, at, code));
  }
  if (places.empty() && errors.empty()) errors.push_back(fmt::format("{}: no places", path));
  if (!errors.empty()) throw LoadError(fmt::format("{}", fmt::join(errors, "\n")));
  return std::make_shared<const Gazetteer>(std::move(places));
}

}  // namespace cuifu
