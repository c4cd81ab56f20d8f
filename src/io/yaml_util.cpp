#include "io/yaml_util.h"

#include <fmt/format.h>

#include <cmath>
#include <filesystem>

#include "core/text.h"

namespace cuifu {

namespace {

// n[key] when n is a map, else an undefined node. yaml-cpp throws BadSubscript when a scalar
// is subscripted, even a const one; a value where a map belongs is the caller's error to report.
YAML::Node child(const YAML::Node& n, const std::string& key) {
  return n.IsMap() ? n[key] : YAML::Node(YAML::NodeType::Undefined);
}

}  // namespace

YAML::Node load_yaml_file(const std::string& path) {
  try {
    return YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    std::error_code ec;
    const char* why = !std::filesystem::exists(path, ec)        ? "no such file"
                      : std::filesystem::is_directory(path, ec) ? "it is a directory"
                                                                : "not readable";
    throw LoadError(fmt::format("{}: cannot read file ({})", path, why));
  } catch (const YAML::ParserException& e) {
    throw LoadError(fmt::format("{}:{}:{}: YAML syntax error: {}", path, e.mark.line + 1, e.mark.column + 1, e.msg));
  }
}

std::string where(const std::string& file, const YAML::Node& node) {
  const auto m = node.Mark();
  if (m.is_null()) return file;
  return fmt::format("{}:{}:{}", file, m.line + 1, m.column + 1);
}

SourceRef source_of(const std::string& file, const YAML::Node& node) {
  const auto m = node.Mark();
  return SourceRef{file, m.is_null() ? 0 : m.line + 1, m.is_null() ? 0 : m.column + 1};
}

void YamlReader::error(const YAML::Node& at, const std::string& message) {
  errors_.push_back(fmt::format("{}: {}", where(file_, at), message));
}

void YamlReader::throw_if_errors() const {
  if (!errors_.empty()) throw LoadError(fmt::format("{}", fmt::join(errors_, "\n")));
}

void YamlReader::check_keys(const YAML::Node& map, const std::vector<std::string>& allowed,
                            const std::string& context) {
  if (!map.IsMap()) return;
  for (const auto& kv : map) {
    const std::string key = kv.first.as<std::string>("");
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      error(kv.first, fmt::format("unknown key '{}' in {} (allowed: {})", key, context, fmt::join(allowed, ", ")));
    }
  }
}

std::optional<std::string> YamlReader::str(const YAML::Node& n, const std::string& key) {
  const YAML::Node v = child(n, key);
  if (!v) return std::nullopt;
  if (!v.IsScalar()) {
    error(v, fmt::format("'{}' must be a text value", key));
    return std::nullopt;
  }
  return v.as<std::string>();
}

std::optional<double> YamlReader::number(const YAML::Node& n, const std::string& key) {
  const YAML::Node v = child(n, key);
  if (!v) return std::nullopt;
  try {
    return v.as<double>();
  } catch (const YAML::Exception&) {
    error(v, fmt::format("'{}' must be a number, not '{}'", key, v.IsScalar() ? v.Scalar() : "a list or map"));
    return std::nullopt;
  }
}

std::optional<int> YamlReader::integer(const YAML::Node& n, const std::string& key) {
  const YAML::Node v = child(n, key);
  if (!v) return std::nullopt;
  try {
    return v.as<int>();
  } catch (const YAML::Exception&) {
    error(v, fmt::format("'{}' must be a whole number, not '{}'", key, v.IsScalar() ? v.Scalar() : "a list or map"));
    return std::nullopt;
  }
}

std::optional<bool> YamlReader::boolean(const YAML::Node& n, const std::string& key) {
  const YAML::Node v = child(n, key);
  if (!v) return std::nullopt;
  try {
    return v.as<bool>();
  } catch (const YAML::Exception&) {
    error(v, fmt::format("'{}' must be true or false", key));
    return std::nullopt;
  }
}

std::vector<std::string> YamlReader::str_list(const YAML::Node& n, const std::string& key) {
  std::vector<std::string> out;
  const YAML::Node v = child(n, key);
  if (!v) return out;
  if (v.IsScalar()) return {v.as<std::string>()};
  if (!v.IsSequence()) {
    error(v, fmt::format("'{}' must be a list", key));
    return out;
  }
  for (const auto& item : v) {
    if (!item.IsScalar()) {
      error(item, fmt::format("'{}' entries must be text", key));
      continue;
    }
    out.push_back(item.as<std::string>());
  }
  return out;
}

std::optional<Seconds> parse_duration_seconds(std::string_view text, bool bare_number_is_minutes) {
  const std::string t = trim(text);
  if (t.empty()) return std::nullopt;
  long long total = 0;
  long long num = -1;
  bool any_unit = false;
  for (char c : t) {
    if (c >= '0' && c <= '9') {
      num = (num < 0 ? 0 : num) * 10 + (c - '0');
      if (num > 100000000) return std::nullopt;
      continue;
    }
    if (num < 0) return std::nullopt;
    switch (c) {
      case 's': total += num; break;
      case 'm': total += num * 60; break;
      case 'h': total += num * 3600; break;
      case 'd': total += num * 86400; break;
      default: return std::nullopt;
    }
    num = -1;
    any_unit = true;
  }
  if (num >= 0) {
    // A bare number: minutes where the rules say so; "1h30" is ambiguous either way.
    if (any_unit || !bare_number_is_minutes) return std::nullopt;
    total = num * 60;
  }
  return Seconds{total};
}

std::optional<Minutes> parse_duration(std::string_view text) {
  const auto s = parse_duration_seconds(text, true);
  if (!s || s->count() % 60 != 0) return std::nullopt;  // the rules count in whole minutes
  return std::chrono::duration_cast<Minutes>(*s);
}

std::optional<Minutes> YamlReader::duration(const YAML::Node& n, const std::string& key) {
  const YAML::Node v = child(n, key);
  if (!v) return std::nullopt;
  const auto d = v.IsScalar() ? parse_duration(v.Scalar()) : std::nullopt;
  if (!d) error(v, fmt::format("'{}' must be a duration like 30m, 4h, 1h30m or 2d", key));
  return d;
}

std::vector<DailyWindow> YamlReader::windows(const YAML::Node& n, const std::string& key) {
  std::vector<DailyWindow> out;
  const YAML::Node v = child(n, key);
  if (!v) return out;
  std::vector<YAML::Node> items;
  if (v.IsScalar()) {
    items.push_back(v);
  } else if (v.IsSequence()) {
    for (const auto& i : v) items.push_back(i);
  } else {
    error(v, fmt::format("'{}' must be a list of HH:MM-HH:MM", key));
  }
  for (const auto& i : items) {
    const auto w = i.IsScalar() ? parse_daily_window(i.Scalar()) : std::nullopt;
    if (!w) {
      error(i,
            fmt::format("'{}' entry '{}' is not a time window like 12:00-13:30", key, i.IsScalar() ? i.Scalar() : ""));
      continue;
    }
    out.push_back(*w);
  }
  return out;
}

std::optional<Money> YamlReader::money_fen(const YAML::Node& n, const std::string& key) {
  const auto v = number(n, key);
  if (!v) return std::nullopt;
  if (*v < 0) {
    error(n[key], fmt::format("'{}' must not be negative", key));
    return std::nullopt;
  }
  return static_cast<Money>(std::llround(*v * 100));
}

}  // namespace cuifu
