// Fuzzes the chat export readers (parse_chat: CSV under its usual headers or a YAML chat
// mapping, and JSON Lines) and the masking of contacts in what a buyer wrote. Input: one
// byte choosing the reader (bit 0: JSON Lines instead of CSV; bit 1: with a mapping; the
// value / 4 mod 3: detect, utf-8 or gb18030), then, with a mapping, mapping YAML \0 chat
// bytes, else the chat bytes.
#include <algorithm>
#include <cstdint>

#include "core/text.h"
#include "fuzz_util.h"
#include "io/chat_feed.h"

namespace {

// The longest run of ASCII digits in `s`.
std::size_t longest_digit_run(std::string_view s) {
  std::size_t best = 0;
  std::size_t run = 0;
  for (const char c : s) {
    run = (c >= '0' && c <= '9') ? run + 1 : 0;
    best = std::max(best, run);
  }
  return best;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace cuifu;
  if (size == 0) return 0;
  const std::uint8_t mode = data[0];
  const std::string_view input = fuzz::as_text(data + 1, size - 1);
  static const char* const kEncodings[] = {"", "utf-8", "gb18030"};
  ChatOptions options;
  options.encoding = kEncodings[(mode / 4) % 3];
  std::string_view bytes = input;
  if (mode & 2) {
    const auto parts = fuzz::split_parts(input, 2);
    try {
      options.mapping = load_chat_mapping(fuzz::scratch().write("chat-mapping.yaml", parts[0]));
    } catch (const FeedError&) {
      return 0;  // a located error in the mapping: expected
    }
    bytes = parts[1];
  }
  const std::string source = (mode & 1) ? "fuzz-chat.jsonl" : "fuzz-chat.csv";
  try {
    const ChatSnapshot s = parse_chat(bytes, options, source);
    fuzz::check(s.encoding == "utf-8" || s.encoding == "gb18030", "encoding is utf-8 or gb18030", s.encoding);
    for (const RejectedRow& r : s.rejected) {
      fuzz::check(r.line >= 1, "a rejected chat row has its line", r.error);
      fuzz::check(!r.error.empty(), "a rejected chat row says why");
    }
  } catch (const FeedError&) {
    // A missing column or an unsupported encoding: one clear, fatal line.
  }
  // Invariant 7: no phone number survives masking (at most 6 digits in a row remain).
  const std::string masked = mask_contacts_in_text(bytes);
  fuzz::check(longest_digit_run(masked) < 7, "contacts are masked", masked);
  quote_text(bytes, 40);
  return 0;
}
