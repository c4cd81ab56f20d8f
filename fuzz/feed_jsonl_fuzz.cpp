// Fuzzes the JSON Lines order feed reader (parse_feed with FeedFormat::jsonl).
#include <cstdint>

#include "feed_checks.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace cuifu;
  FeedOptions options;
  options.format = FeedFormat::jsonl;
  try {
    fuzz::check_snapshot(parse_feed(fuzz::as_text(data, size), options, "fuzz.jsonl"));
  } catch (const FeedError&) {
    // A located, fatal problem (an unsupported encoding): expected.
  }
  return 0;
}
