// Helpers shared by the fuzz targets: splitting one input into parts, a scratch directory
// for the loaders that read files, and a check that aborts (a finding) when an invariant
// breaks. Header-only; each target is one .cpp defining LLVMFuzzerTestOneInput.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

namespace cuifu::fuzz {

// The input as text.
inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Splits `input` at NUL bytes into at most `n` parts (the last part keeps any further NULs);
// missing parts are empty. Seeds are written as  part1 \0 part2 ...
inline std::vector<std::string_view> split_parts(std::string_view input, std::size_t n) {
  std::vector<std::string_view> parts;
  while (parts.size() + 1 < n) {
    const auto nul = input.find('\0');
    if (nul == std::string_view::npos) break;
    parts.push_back(input.substr(0, nul));
    input.remove_prefix(nul + 1);
  }
  parts.push_back(input);
  parts.resize(n);
  return parts;
}

// Aborts with a message: the fuzzer reports the input as a crash.
[[noreturn]] inline void fail(const char* what, std::string_view detail = {}) {
  std::fprintf(stderr, "fuzz invariant broken: %s %.*s\n", what, static_cast<int>(detail.size()), detail.data());
  std::abort();
}

inline void check(bool ok, const char* what, std::string_view detail = {}) {
  if (!ok) fail(what, detail);
}

// A directory of its own under TMPDIR for the whole process, removed at exit. The loaders
// take paths, so each input is written to a file in it.
class ScratchDir {
 public:
  ScratchDir() {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/cuifu-fuzz-XXXXXX";
    if (!mkdtemp(pattern.data())) fail("mkdtemp failed");
    path_ = pattern;
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  const std::filesystem::path& path() const { return path_; }

  // Writes `text` to <dir>/<name> (replacing it) and returns the path.
  std::string write(const std::string& name, std::string_view text) const {
    const auto file = path_ / name;
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    if (!out) fail("cannot write", file.string());
    return file.string();
  }

  // An empty subdirectory (emptied if it exists).
  std::string fresh_subdir(const std::string& name) const {
    const auto dir = path_ / name;
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
    std::filesystem::create_directories(dir);
    return dir.string();
  }

 private:
  std::filesystem::path path_;
};

inline const ScratchDir& scratch() {
  static const ScratchDir dir;
  return dir;
}

}  // namespace cuifu::fuzz
