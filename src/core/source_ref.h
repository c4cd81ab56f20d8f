// Where a rule came from, for error messages and "why" lines: rules/segments.yaml:12.
#pragma once

#include <string>

namespace cuifu {

struct SourceRef {
  std::string file;
  int line = 0;
  int column = 0;
  std::string str() const;      // file:line (for "why" lines)
  std::string located() const;  // file:line:column (for errors)
};

}  // namespace cuifu
