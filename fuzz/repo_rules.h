// The repository's rule set (rules/ and templates/), loaded once per fuzz process.
#pragma once

#include <string>

#include "io/rules_loader.h"

#ifndef CUIFU_SOURCE_DIR
#error "CUIFU_SOURCE_DIR must name the repository root"
#endif

namespace cuifu::fuzz {

inline const RuleSet& repo_rule_set() {
  static const RuleSet set =
      load_rule_set(std::string(CUIFU_SOURCE_DIR) + "/rules", std::string(CUIFU_SOURCE_DIR) + "/templates");
  return set;
}

}  // namespace cuifu::fuzz
