// Fuzzes the template compiler and renderer (compile_text, render, check_template,
// lint_template) with the repository's channel rules. Input: one byte choosing the channel,
// then body \0 subject \0 and the nine field values, NUL-separated.
#include <cstdint>

#include "core/text.h"
#include "fuzz_util.h"
#include "repo_rules.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace cuifu;
  if (size == 0) return 0;
  const auto parts = fuzz::split_parts(fuzz::as_text(data + 1, size - 1), 11);
  MessageTemplate t;
  t.channel = kAllChannels[data[0] % kAllChannels.size()];
  t.name = "fuzz";
  t.body_source = std::string(parts[0]);
  std::string error;
  const auto body = compile_text(parts[0], &error);
  if (!body) {
    fuzz::check(error.starts_with("column "), "a compile error names its column", error);
    return 0;
  }
  t.body = *body;
  if (const auto subject = compile_text(parts[1], nullptr)) t.subject = *subject;
  MessageFields f;
  std::string* values[] = {&f.salutation,  &f.name,      &f.nickname, &f.item,  &f.amount,
                           &f.order_count, &f.order_ids, &f.shop,     &f.pay_by};
  for (std::size_t i = 0; i < 9; ++i) *values[i] = std::string(parts[i + 2]);
  const ChannelRule* channel = fuzz::repo_rule_set().rules.channel(t.channel);
  const auto message = render(t, f, channel);
  if (t.channel == Channel::sms) {
    if (message) fuzz::check(char_count(message->text) <= kSmsSegmentChars, "a rendered SMS fits", message->text);
  } else {
    fuzz::check(message.has_value(), "only an SMS can fail to render");
  }
  check_template(t, channel);
  lint_template(t, channel);
  return 0;
}
