// Fuzzes the daemon's config loader (load_daemon_config). Input: the cuifu.yaml text.
#include <cstdint>

#include "fuzz_util.h"
#include "io/config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace cuifu;
  const std::string path = fuzz::scratch().write("cuifu.yaml", fuzz::as_text(data, size));
  try {
    const DaemonConfig config = load_daemon_config(path);
    missing_secrets(config);
    fuzz::check(!config.rules_dir.empty() && !config.templates_dir.empty() && !config.state.empty(),
                "a loaded config has rules, templates and state");
  } catch (const LoadError& e) {
    fuzz::check(std::string_view(e.what()).find(path) != std::string_view::npos, "a config error names its file",
                e.what());
  }
  return 0;
}
