// Fuzzes the Taobao/Tmall order export reader (parse_feed with FeedFormat::taobao):
// charset detection and conversion, the CSV layer, headers, amounts, times and statuses.
// Input: one byte choosing the encoding (detect, utf-8, gb18030), then the file's bytes.
#include <cstdint>

#include "feed_checks.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace cuifu;
  if (size == 0) return 0;
  static const char* const kEncodings[] = {"", "utf-8", "gb18030"};
  FeedOptions options;
  options.format = FeedFormat::taobao;
  options.encoding = kEncodings[data[0] % 3];
  try {
    fuzz::check_snapshot(parse_feed(fuzz::as_text(data + 1, size - 1), options, "fuzz.csv"));
  } catch (const FeedError&) {
    // A located, fatal problem with the file (missing column, bad header): expected.
  }
  // parse_yuan on the same bytes: never a negative or absurd amount.
  if (const auto fen = parse_yuan(fuzz::as_text(data + 1, size - 1))) {
    fuzz::check(*fen >= 0, "parse_yuan is never negative");
  }
  return 0;
}
