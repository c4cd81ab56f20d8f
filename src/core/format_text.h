// fmt::format for the texts made by the million (why lines, skip reasons, times): the same
// characters, written into a buffer on the stack and copied into the string once. fmt::format
// of a compiled format string grows the std::string piece by piece (each piece a resize that
// zero-fills, and a reallocation every time it doubles), which was a few percent of a plan.
#pragma once

#include <fmt/compile.h>
#include <fmt/format.h>

#include <string>
#include <utility>

namespace cuifu {

// Same result as fmt::format(format, args...). REQUIRES: `format` is an FMT_COMPILE string.
template <typename Format, typename... Args>
std::string format_text(const Format& format, Args&&... args) {
  fmt::memory_buffer buffer;
  fmt::format_to(fmt::appender(buffer), format, std::forward<Args>(args)...);
  return std::string(buffer.data(), buffer.size());
}

}  // namespace cuifu
