// Fuzzes the generic CSV feed: the YAML column mapping loader (load_column_mapping) and,
// when the mapping loads, the mapped CSV reader. Input: mapping YAML \0 CSV bytes.
#include <cstdint>

#include "feed_checks.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace cuifu;
  const auto parts = fuzz::split_parts(fuzz::as_text(data, size), 2);
  FeedOptions options;
  options.format = FeedFormat::csv;
  try {
    options.mapping = load_column_mapping(fuzz::scratch().write("mapping.yaml", parts[0]));
  } catch (const FeedError&) {
    return 0;  // a located error in the mapping: expected
  }
  try {
    fuzz::check_snapshot(parse_feed(parts[1], options, "fuzz.csv"));
  } catch (const FeedError&) {
    // missing mapped column, no header: expected
  }
  return 0;
}
