// Runs the built cuifu binary (CUIFU_BINARY) for end-to-end tests, capturing its exit code,
// stdout and stderr. Header-only.
#pragma once

#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "../core/test_rules.h"

namespace cuifu::testing {

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

inline std::string shell_quote(std::string_view s) {
  std::string q = "'";
  for (char c : s) {
    if (c == '\'')
      q += "'\\''";
    else
      q += c;
  }
  return q + "'";
}

// Runs `cuifu args...` (each argument shell-quoted) with no standard input.
inline RunResult run_cuifu(const std::vector<std::string>& args) {
  static ScratchDir scratch("cuifu-run");
  static int n = 0;
  const std::string out = scratch.str("out" + std::to_string(n));
  const std::string err = scratch.str("err" + std::to_string(n++));
  std::string cmd = shell_quote(CUIFU_BINARY);
  for (const auto& a : args) cmd += " " + shell_quote(a);
  cmd += " >" + shell_quote(out) + " 2>" + shell_quote(err) + " </dev/null";
  const int status = std::system(cmd.c_str());
  RunResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream o(out, std::ios::binary), e(err, std::ios::binary);
  std::stringstream so, se;
  so << o.rdbuf();
  se << e.rdbuf();
  r.out = so.str();
  r.err = se.str();
  return r;
}

}  // namespace cuifu::testing
