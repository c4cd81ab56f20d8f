#include "app/paths.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#ifndef CUIFU_DATADIR
#define CUIFU_DATADIR "/usr/local/share/cuifu"
#endif

namespace cuifu {

std::string default_dir(const std::string& name) {
  std::string env = "CUIFU_" + name;
  std::transform(env.begin(), env.end(), env.begin(), [](unsigned char c) { return std::toupper(c); });
  if (const char* v = std::getenv(env.c_str()); v && *v) return v;
  std::error_code ec;
  if (std::filesystem::is_directory(name, ec)) return name;
  return std::string(CUIFU_DATADIR) + "/" + name;
}

}  // namespace cuifu
