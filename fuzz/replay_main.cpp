// Replays fuzz corpora as regression tests, without libFuzzer, so that any compiler's build
// (g++ included) runs them in ctest: every fuzz target is linked into this one program under
// its own name (fuzz/CMakeLists.txt renames each LLVMFuzzerTestOneInput), and
//   fuzz_replay <target> <file or directory>...
// feeds it every file. A crash, an abort from a broken invariant or an escaped exception
// fails the test; an empty corpus fails too, so a replay that tests nothing cannot pass.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#define CUIFU_FUZZ_TARGET(name) extern "C" int cuifu_fuzz_##name(const std::uint8_t* data, std::size_t size);
#include "fuzz_targets.inc"
#undef CUIFU_FUZZ_TARGET

namespace {

using Entry = int (*)(const std::uint8_t*, std::size_t);

struct Target {
  const char* name;
  Entry entry;
};

constexpr Target kTargets[] = {
#define CUIFU_FUZZ_TARGET(name) {#name, &cuifu_fuzz_##name},
#include "fuzz_targets.inc"
#undef CUIFU_FUZZ_TARGET
};

std::vector<std::filesystem::path> inputs_of(const std::filesystem::path& path) {
  std::vector<std::filesystem::path> files;
  if (std::filesystem::is_directory(path)) {
    for (const auto& e : std::filesystem::directory_iterator(path)) {
      if (e.is_regular_file()) files.push_back(e.path());
    }
    std::sort(files.begin(), files.end());
  } else {
    files.push_back(path);
  }
  return files;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: fuzz_replay TARGET FILE_OR_DIR...\ntargets:");
    for (const Target& t : kTargets) std::fprintf(stderr, " %s", t.name);
    std::fprintf(stderr, "\n");
    return 2;
  }
  const auto target = std::find_if(std::begin(kTargets), std::end(kTargets),
                                   [&](const Target& t) { return std::strcmp(t.name, argv[1]) == 0; });
  if (target == std::end(kTargets)) {
    std::fprintf(stderr, "fuzz_replay: no target %s\n", argv[1]);
    return 2;
  }
  std::size_t count = 0;
  for (int i = 2; i < argc; ++i) {
    for (const auto& file : inputs_of(argv[i])) {
      std::ifstream in(file, std::ios::binary);
      const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      if (!in.good() && !in.eof()) {
        std::fprintf(stderr, "fuzz_replay: cannot read %s\n", file.c_str());
        return 2;
      }
      target->entry(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
      ++count;
    }
  }
  std::printf("%s: replayed %zu inputs without a crash\n", target->name, count);
  return count > 0 ? 0 : 1;
}
