// Fuzzes the templates loader (load_templates) against the repository's rules, then renders
// every template it accepted: a loaded template must always render (the load-time checks
// promise that). Input: one byte choosing the file (im, sms, phone, email.yaml), then its text.
#include <cstdint>

#include "core/text.h"
#include "fuzz_util.h"
#include "repo_rules.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace cuifu;
  if (size == 0) return 0;
  static const char* const kFiles[] = {"im", "sms", "phone", "email"};
  const Rules& rules = fuzz::repo_rule_set().rules;
  const std::string dir = fuzz::scratch().fresh_subdir("templates");
  fuzz::scratch().write(std::string("templates/") + kFiles[data[0] % 4] + ".yaml", fuzz::as_text(data + 1, size - 1));
  TemplateSet templates;
  try {
    templates = load_templates(dir, rules);
  } catch (const LoadError&) {
    return 0;  // located errors: expected
  }
  check_rule_templates(rules, templates);
  for (const MessageTemplate& t : templates.all()) {
    const ChannelRule* channel = rules.channel(t.channel);
    const auto message = render(t, sample_fields(), channel);
    fuzz::check(message.has_value(), "a loaded template renders", t.name);
    if (t.channel == Channel::sms) {
      fuzz::check(char_count(message->text) <= kSmsSegmentChars, "a rendered SMS fits one segment", message->text);
    }
    lint_template(t, channel);
  }
  return 0;
}
