// Fuzzes the rules loader (load_rules) and, when the rules load, the cross-check against the
// repository's templates. Input: first.yaml \0 second.yaml (two files, as a rules directory
// may hold several).
#include <cstdint>

#include "fuzz_util.h"
#include "repo_rules.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace cuifu;
  const auto parts = fuzz::split_parts(fuzz::as_text(data, size), 2);
  const std::string dir = fuzz::scratch().fresh_subdir("rules");
  fuzz::scratch().write("rules/a.yaml", parts[0]);
  if (!parts[1].empty()) fuzz::scratch().write("rules/b.yaml", parts[1]);
  Rules rules;
  try {
    rules = load_rules(dir);
  } catch (const LoadError& e) {
    fuzz::check(std::string_view(e.what()).find(dir) != std::string_view::npos, "a rules error names its file",
                e.what());
    return 0;
  }
  try {
    const TemplateSet templates = load_templates(std::string(CUIFU_SOURCE_DIR) + "/templates", rules);
    check_rule_templates(rules, templates);
  } catch (const LoadError&) {
    // The shipped templates may not fit these rules (an SMS signature too long): expected.
  }
  return 0;
}
