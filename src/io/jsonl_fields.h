// One JSON Lines record read into a row of optional text fields, shared by the order feed
// and the chat export readers so that both reject a bad line with the same words.
#pragma once

#include <fmt/format.h>

#include <array>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace cuifu {

// Parses `content` as one JSON object and copies keys[f] into row[f]: strings as they are,
// numbers as written, null or absent leave the field unset. Returns why the line is rejected
// (invalid JSON, not an object, a field that is neither string nor number), or "" when read.
template <std::size_t N, typename Key>
std::string read_jsonl_fields(std::string_view content, const std::array<Key, N>& keys,
                              std::array<std::optional<std::string>, N>& row) {
  nlohmann::json object;
  try {
    object = nlohmann::json::parse(content);
  } catch (const nlohmann::json::exception& e) {
    std::string_view what = e.what();  // drop the "[json.exception.parse_error.101] " tag
    if (const auto close = what.find("] "); what.starts_with("[json.") && close != std::string_view::npos) {
      what.remove_prefix(close + 2);
    }
    return fmt::format("invalid JSON: {}", what);
  }
  if (!object.is_object()) return "expected a JSON object";
  for (std::size_t f = 0; f < N; ++f) {
    const auto it = object.find(keys[f]);
    if (it == object.end() || it->is_null()) continue;
    if (it->is_string()) {
      row[f] = it->template get<std::string>();
    } else if (it->is_number()) {
      row[f] = it->dump();
    } else {
      return fmt::format("{} must be a string or a number, not {}", keys[f], it->type_name());
    }
  }
  return {};
}

}  // namespace cuifu
