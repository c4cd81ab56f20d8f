// Where the default rules and templates are found when no --rules/--templates is given.
#pragma once

#include <string>

namespace cuifu {

// $CUIFU_<NAME> if set; else ./<name> if it is a directory; else the installed
// share/cuifu/<name>. `name` is "rules" or "templates".
std::string default_dir(const std::string& name);

}  // namespace cuifu
