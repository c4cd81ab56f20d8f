// Column mapping files for generic CSV feeds (data/olist-mapping.yaml is the example).
#include <date/tz.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <yaml-cpp/yaml.h>

#include <functional>
#include <map>

#include "io/chat_feed.h"
#include "io/feed.h"
#include "io/feed_fields.h"

namespace cuifu {

namespace {

// Throws FeedError "file:line:column: message" (yaml-cpp marks are 0-based).
[[noreturn]] void mapping_error(const std::string& path, const YAML::Mark& mark, const std::string& message) {
  if (mark.is_null()) throw FeedError(fmt::format("{}: {}", path, message));
  throw FeedError(fmt::format("{}:{}:{}: {}", path, mark.line + 1, mark.column + 1, message));
}

// The text of a scalar node. An empty value (`key:`) has no mark of its own; `key_mark`
// then points at its key.
std::string scalar_of(const std::string& path, const YAML::Node& node, std::string_view what,
                      const YAML::Mark& key_mark = YAML::Mark::null_mark()) {
  if (!node.IsScalar() || node.Scalar().empty()) {
    const YAML::Mark mark = node.IsNull() && !key_mark.is_null() ? key_mark : node.Mark();
    mapping_error(path, mark, fmt::format("{} must be a non-empty string", what));
  }
  return node.Scalar();
}

OrderStatus status_named(const std::string& path, const YAML::Node& node, std::string_view what,
                         const YAML::Mark& key_mark = YAML::Mark::null_mark()) {
  const std::string name = scalar_of(path, node, what, key_mark);
  for (const OrderStatus s : {OrderStatus::unpaid, OrderStatus::paid, OrderStatus::closed}) {
    if (name == to_string(s)) return s;
  }
  mapping_error(path, node.Mark(), fmt::format("{} must be unpaid, paid or closed, not '{}'", what, name));
}

// Calls visit(key, value) for each entry of a map node, rejecting repeated keys.
void for_each_entry(const std::string& path, const YAML::Node& map, std::string_view what,
                    const std::function<void(const YAML::Node&, const YAML::Node&)>& visit) {
  if (!map.IsMap()) mapping_error(path, map.Mark(), fmt::format("{} must be a mapping of key: value", what));
  std::map<std::string, int> seen;
  for (auto it = map.begin(); it != map.end(); ++it) {
    const std::string key = scalar_of(path, it->first, fmt::format("a key of {}", what));
    if (const auto [prev, inserted] = seen.emplace(key, it->first.Mark().line + 1); !inserted) {
      mapping_error(path, it->first.Mark(),
                    fmt::format("{}: duplicate key '{}' (first on line {})", what, key, prev->second));
    }
    visit(it->first, it->second);
  }
}

}  // namespace

ColumnMapping load_column_mapping(const std::string& path) {
  const std::string text = read_file_bytes(path);
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    mapping_error(path, e.mark, e.msg);
  }
  ColumnMapping mapping;
  mapping.source = path;
  if (!root.IsMap()) mapping_error(path, root.Mark(), "expected a mapping with a columns: section");
  YAML::Mark columns_mark, status_column_mark;
  bool has_columns = false;
  for_each_entry(path, root, "the mapping file", [&](const YAML::Node& key, const YAML::Node& value) {
    const std::string& name = key.Scalar();
    if (name == "columns") {
      has_columns = true;
      columns_mark = key.Mark();
      for_each_entry(path, value, "columns", [&](const YAML::Node& k, const YAML::Node& v) {
        if (std::find(kFieldNames.begin(), kFieldNames.end(), k.Scalar()) == kFieldNames.end()) {
          mapping_error(path, k.Mark(),
                        fmt::format("columns: unknown field '{}' (expected one of {})", k.Scalar(),
                                    fmt::join(kFieldNames, ", ")));
        }
        if (k.Scalar() == "status") status_column_mark = k.Mark();
        mapping.columns[k.Scalar()] = scalar_of(path, v, fmt::format("columns: {}", k.Scalar()), k.Mark());
      });
    } else if (name == "status_values") {
      std::map<std::string, OrderStatus> listed_under;
      for_each_entry(path, value, "status_values", [&](const YAML::Node& k, const YAML::Node& v) {
        const OrderStatus status = status_named(path, k, "a key of status_values");
        const auto add = [&](const YAML::Node& item) {
          const std::string word = scalar_of(path, item, fmt::format("status_values: {}", k.Scalar()), k.Mark());
          if (const auto [it, inserted] = mapping.status_values.emplace(word, status); !inserted) {
            mapping_error(path, item.Mark(),
                          fmt::format("status_values: '{}' is already listed under {}", word, to_string(it->second)));
          }
        };
        if (v.IsSequence()) {
          for (const auto& item : v) add(item);
        } else {
          add(v);
        }
      });
    } else if (name == "default_status") {
      mapping.default_status = status_named(path, value, "default_status", key.Mark());
    } else if (name == "delimiter") {
      const std::string d = scalar_of(path, value, "delimiter", key.Mark());
      if (d == "tab" || d == "\\t") {
        mapping.delimiter = '\t';
      } else if (d.size() == 1 && d != "\"" && d != "\n" && d != "\r") {
        mapping.delimiter = d[0];
      } else {
        mapping_error(path, value.Mark(), fmt::format("delimiter must be one character or tab, not '{}'", d));
      }
    } else if (name == "timezone") {
      mapping.timezone = scalar_of(path, value, "timezone", key.Mark());
      try {
        date::locate_zone(mapping.timezone);
      } catch (const std::exception&) {
        mapping_error(path, value.Mark(), fmt::format("timezone: unknown time zone '{}'", mapping.timezone));
      }
    } else {
      mapping_error(path, key.Mark(),
                    fmt::format("unknown key '{}' (expected columns, status_values, "
                                "default_status, delimiter or timezone)",
                                name));
    }
  });
  if (!has_columns) mapping_error(path, root.Mark(), "missing the columns: section");
  for (const char* required : {"order_id", "created_at"}) {
    if (!mapping.columns.contains(required)) {
      mapping_error(path, columns_mark, fmt::format("columns: {} is required", required));
    }
  }
  if (!mapping.columns.contains("buyer") && !mapping.columns.contains("receiver_name")) {
    mapping_error(path, columns_mark, "columns: buyer (or receiver_name) is required");
  }
  if (mapping.columns.contains("status") && mapping.status_values.empty()) {
    mapping_error(path, status_column_mark, "columns: status is mapped but status_values is missing");
  }
  return mapping;
}

// The chat export's mapping: the same file shape and checks, its own fields.
ChatMapping load_chat_mapping(const std::string& path) {
  const std::string text = read_file_bytes(path);
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    mapping_error(path, e.mark, e.msg);
  }
  ChatMapping mapping;
  mapping.source = path;
  if (!root.IsMap()) mapping_error(path, root.Mark(), "expected a mapping with a columns: section");
  YAML::Mark columns_mark;
  bool has_columns = false;
  for_each_entry(path, root, "the chat mapping file", [&](const YAML::Node& key, const YAML::Node& value) {
    const std::string& name = key.Scalar();
    if (name == "columns") {
      has_columns = true;
      columns_mark = key.Mark();
      for_each_entry(path, value, "columns", [&](const YAML::Node& k, const YAML::Node& v) {
        const auto& fields = chat_field_names();
        if (std::find(fields.begin(), fields.end(), k.Scalar()) == fields.end()) {
          mapping_error(path, k.Mark(),
                        fmt::format("columns: unknown chat field '{}' (expected one of {})", k.Scalar(),
                                    fmt::join(fields, ", ")));
        }
        mapping.columns[k.Scalar()] = scalar_of(path, v, fmt::format("columns: {}", k.Scalar()), k.Mark());
      });
    } else if (name == "sender_values") {
      for_each_entry(path, value, "sender_values", [&](const YAML::Node& k, const YAML::Node& v) {
        const std::string who = scalar_of(path, k, "a key of sender_values");
        const auto sender = parse_chat_sender(who);
        if (!sender || who != to_string(*sender)) {
          mapping_error(path, k.Mark(), fmt::format("sender_values: '{}' must be buyer, shop or bot", who));
        }
        const auto add = [&](const YAML::Node& item) {
          const std::string word = scalar_of(path, item, fmt::format("sender_values: {}", who), k.Mark());
          if (const auto [it, inserted] = mapping.sender_values.emplace(word, *sender); !inserted) {
            mapping_error(path, item.Mark(),
                          fmt::format("sender_values: '{}' is already listed under {}", word, to_string(it->second)));
          }
        };
        if (v.IsSequence()) {
          for (const auto& item : v) add(item);
        } else {
          add(v);
        }
      });
    } else if (name == "delimiter") {
      const std::string d = scalar_of(path, value, "delimiter", key.Mark());
      if (d == "tab" || d == "\\t") {
        mapping.delimiter = '\t';
      } else if (d.size() == 1 && d != "\"" && d != "\n" && d != "\r") {
        mapping.delimiter = d[0];
      } else {
        mapping_error(path, value.Mark(), fmt::format("delimiter must be one character or tab, not '{}'", d));
      }
    } else {
      mapping_error(path, key.Mark(),
                    fmt::format("unknown key '{}' (expected columns, sender_values or delimiter)", name));
    }
  });
  if (!has_columns) mapping_error(path, root.Mark(), "missing the columns: section");
  for (const char* required : {"buyer", "time", "sender", "text"}) {
    if (!mapping.columns.contains(required)) {
      mapping_error(path, columns_mark, fmt::format("columns: {} is required", required));
    }
  }
  return mapping;
}

}  // namespace cuifu
