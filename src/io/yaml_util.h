// Small helpers over yaml-cpp shared by the rules, templates, mapping and config loaders.
// yaml-cpp exceptions never leave io/: everything is turned into LoadError with
// file:line:column and the key.
#pragma once

#include <yaml-cpp/yaml.h>

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/clock_time.h"
#include "core/rules.h"

namespace cuifu {

// A configuration error; what() is "file:line:column: message" (one per line when several).
class LoadError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Parses a YAML file; a syntax error becomes LoadError with its position.
YAML::Node load_yaml_file(const std::string& path);

// "file:line:column" of a node (1-based).
std::string where(const std::string& file, const YAML::Node& node);
SourceRef source_of(const std::string& file, const YAML::Node& node);

// Collects located errors while a file is read, so that one run reports all of them.
class YamlReader {
 public:
  explicit YamlReader(std::string file) : file_(std::move(file)) {}
  const std::string& file() const { return file_; }

  void error(const YAML::Node& at, const std::string& message);
  const std::vector<std::string>& errors() const { return errors_; }
  // Throws LoadError with every collected error, if any.
  void throw_if_errors() const;

  // Reports keys of `map` not in `allowed` ("unknown key 'windos' in channels.sms").
  void check_keys(const YAML::Node& map, const std::vector<std::string>& allowed, const std::string& context);

  std::optional<std::string> str(const YAML::Node& n, const std::string& key);
  std::optional<double> number(const YAML::Node& n, const std::string& key);
  std::optional<int> integer(const YAML::Node& n, const std::string& key);
  std::optional<bool> boolean(const YAML::Node& n, const std::string& key);
  std::vector<std::string> str_list(const YAML::Node& n, const std::string& key);
  // "30m", "4h", "1h30m", "2d", or a plain number of minutes.
  std::optional<Minutes> duration(const YAML::Node& n, const std::string& key);
  // A list of "HH:MM-HH:MM" (or a single one).
  std::vector<DailyWindow> windows(const YAML::Node& n, const std::string& key);
  // Yuan as a number ("1000", "0.045") -> fen or milli-yuan.
  std::optional<Money> money_fen(const YAML::Node& n, const std::string& key);

 private:
  std::string file_;
  std::vector<std::string> errors_;
};

// Parses "30s", "30m", "4h", "1h30m", "2d". A bare number is minutes when
// `bare_number_is_minutes`, else an error (the config insists on a unit).
std::optional<Seconds> parse_duration_seconds(std::string_view text, bool bare_number_is_minutes);

// Rules durations: "30m", "4h", "1h30m", "2d", "90" (minutes); whole minutes only.
std::optional<Minutes> parse_duration(std::string_view text);

}  // namespace cuifu
