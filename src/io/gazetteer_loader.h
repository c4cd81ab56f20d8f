// Reads the gazetteer (data/gazetteer.tsv, written by tools/gen_gazetteer.py) into a Gazetteer.
#pragma once

#include <memory>
#include <string>

#include "core/address.h"

namespace cuifu {

// Tab-separated: kind, code, name, aliases ('|'-separated), parent code; '#' lines are
// comments. Throws LoadError naming file:line (and the field) for every bad row at once.
std::shared_ptr<const Gazetteer> load_gazetteer(const std::string& path);

}  // namespace cuifu
