// Message templates: compiled once at load time, rendered per reminder.
//
// A template is text with {field} placeholders and conditional sections:
// {#field}…{/field} is said only when the field is known (not empty), {^field}…{/field}
// only when it is not — so a claim (an offer's end, low stock, a shipping promise,
// delivery and installation) is said only when the rules or the feed back it, and the
// neutral wording otherwise. Compilation rejects unknown fields; for SMS it also proves the rendered text fits one
// segment for the worst-case values, so a bad template fails at load time, never at send time.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/channel.h"
#include "core/rules.h"

namespace cuifu {

// SMS: one segment of a Chinese SMS, counted in characters including 【signature】
// and the opt-out text.
inline constexpr std::size_t kSmsSegmentChars = 70;
// The buyer's name must end within this many characters after the signature.
inline constexpr std::size_t kSmsNameWithin = 7;

// Values a template may use. Every field name listed in template_fields().
struct MessageFields {
  std::string salutation;   // 王先生 / 李同学 / the nickname when no name is known
  std::string name;         // 收货人姓名, full
  std::string nickname;     // 买家会员名
  std::string item;         // first item title (shortened to fit by render)
  std::string amount;       // "1299.00", combined
  std::string order_count;  // "2"
  std::string order_ids;    // "A1、A2"
  std::string shop;
  std::string pay_by;  // "11月25日 10:00"
  // Facts, empty when unknown (a template says them only inside {#field}…{/field}):
  std::string promotion_ends;  // "11月30日23:59": the offer's end (rules facts.promotion_ends)
  std::string low_stock;       // "仅剩3件": the feed's stock, at or below facts.low_stock_at
  std::string shipping;        // "48小时内发货" (rules facts.shipping; templates say 付款后{shipping})
  std::string delivery;        // "送货上门并安装" (the item's category in rules items)
};

// The names a template may use, e.g. "salutation", "item".
const std::vector<std::string>& template_fields();

// A text with placeholders, split into literal and field parts.
struct CompiledText {
  // {#f} opens a section shown when f is not empty, {^f} one shown when it is, {/f} closes.
  enum class Section { none, if_known, if_unknown, end };
  struct Part {
    bool is_field = false;
    std::string text;  // literal text, or the field name (also of a section marker)
    Section section = Section::none;
    // The field's place in template_fields(), set by compile_text() for a field or a section
    // marker (-1: look the field up by its name).
    int field = -1;
  };
  std::vector<Part> parts;
  bool uses(std::string_view field) const;
};

// One message template: a channel, a name ("office" or "office.price"), a body, and for
// email a subject.
struct MessageTemplate {
  Channel channel = Channel::im;
  std::string name;
  CompiledText body;
  CompiledText subject;  // email only
  std::string body_source;
  std::vector<std::string> lint_allow;  // lint finding kinds this template may have
  SourceRef source;
};

// A rendered message.
struct RenderedMessage {
  std::string subject;  // email only
  std::string text;     // exactly as sent, SMS including 【signature】 and opt-out
};

// All templates, looked up by channel and name.
class TemplateSet {
 public:
  void add(MessageTemplate t);
  // Finds "<base>.<reason>" first, then "<base>". nullptr if neither exists.
  const MessageTemplate* find(Channel c, std::string_view base, std::string_view reason) const;
  const MessageTemplate* find_exact(Channel c, std::string_view name) const;
  const std::vector<MessageTemplate>& all() const { return templates_; }

 private:
  // The key of a template in `by_key_`: the channel's number, then the name.
  static void key_into(std::string& key, Channel c, std::string_view name);

  std::vector<MessageTemplate> templates_;
  // Index into templates_ by key_into: the planner looks a template up for every reminder.
  std::unordered_map<std::string, std::size_t> by_key_;
};

// Parses "{field}" placeholders and {#field}/{^field}…{/field} sections ("{{" and "}}"
// for literal braces); sections must nest and close. Error text names the
// 1-based column of the problem, or nullopt-with-message via `error`.
std::optional<CompiledText> compile_text(std::string_view text, std::string* error);

// Renders t with f. For SMS, wraps the body as 【signature】body + opt-out and shortens
// the item so the whole fits kSmsSegmentChars; if even that cannot fit, returns nullopt
// (compile-time checks make this unreachable for loaded templates).
std::optional<RenderedMessage> render(const MessageTemplate& t, const MessageFields& f, const ChannelRule* channel);
// render(t, f, channel).has_value() (an SMS fits one segment, its item shortened if need be),
// without making the message: for a caller that keeps no text (the backtest).
bool renders(const MessageTemplate& t, const MessageFields& f, const ChannelRule* channel);

// Worst-case sample values (long name, big amount, long item, every fact known) for
// load-time checks; sample_fields_without_facts() has every fact unknown.
MessageFields sample_fields();
MessageFields sample_fields_without_facts();

// Load-time checks of one template against its channel: unknown fields (already caught by
// compile), SMS fit for the worst case, the name within the first characters. Returns
// problems as plain messages (the caller adds file:line).
std::vector<std::string> check_template(const MessageTemplate& t, const ChannelRule* channel);

// One finding of the wording lint. `kind` is what a rule author may allow (rules
// `lint.allow`, or the template's own `lint.allow`): curt, vague, qin, exclamation,
// question, claim, register.
struct LintFinding {
  std::string kind;
  std::string message;
};
const std::vector<std::string>& lint_kinds();

// The wording lint, from the shop's training material: curt or blaming phrases, vague
// 可能/大概, more than one 亲, more than one exclamation mark, rhetorical questions, a
// claim phrase of `claims` said outside {#field}…{/field} of the field behind it, and
// 你 mixed with 您. Findings the template or the rules allow are left out.
std::vector<LintFinding> lint_wording(const MessageTemplate& t, const Rules& rules);

// check_template's problems plus every lint_wording finding (nothing allowed, default
// claims), as plain messages.
std::vector<std::string> lint_template(const MessageTemplate& t, const ChannelRule* channel);

// The register a template's text uses: formal (您), informal (你), or nullopt when it uses
// neither or both.
std::optional<Register> template_register(const MessageTemplate& t);

}  // namespace cuifu
