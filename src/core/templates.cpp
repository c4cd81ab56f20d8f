#include "core/templates.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/item_title.h"
#include "core/text.h"

namespace cuifu {

const std::vector<std::string>& template_fields() {
  static const std::vector<std::string> fields = {"salutation",  "name",      "nickname", "item",   "amount",
                                                  "order_count", "order_ids", "shop",     "pay_by", "promotion_ends",
                                                  "low_stock",   "shipping",  "delivery"};
  return fields;
}

namespace {

// field_value by the field's place in template_fields() (REQUIRES: 0 <= field < 13).
const std::string& field_value(const MessageFields& f, int field) {
  switch (field) {
    case 0: return f.salutation;
    case 1: return f.name;
    case 2: return f.nickname;
    case 3: return f.item;
    case 4: return f.amount;
    case 5: return f.order_count;
    case 6: return f.order_ids;
    case 7: return f.shop;
    case 9: return f.promotion_ends;
    case 10: return f.low_stock;
    case 11: return f.shipping;
    case 12: return f.delivery;
    default: return f.pay_by;
  }
}

const std::string& field_value(const MessageFields& f, std::string_view name) {
  if (name == "salutation") return f.salutation;
  if (name == "name") return f.name;
  if (name == "nickname") return f.nickname;
  if (name == "item") return f.item;
  if (name == "amount") return f.amount;
  if (name == "order_count") return f.order_count;
  if (name == "order_ids") return f.order_ids;
  if (name == "shop") return f.shop;
  if (name == "promotion_ends") return f.promotion_ends;
  if (name == "low_stock") return f.low_stock;
  if (name == "shipping") return f.shipping;
  if (name == "delivery") return f.delivery;
  return f.pay_by;
}

bool is_name_field(std::string_view field) {
  return field == "salutation" || field == "name" || field == "nickname";
}

// A part's field: by its place when compile_text() set it, else by its name.
const std::string& field_value(const MessageFields& f, const CompiledText::Part& p) {
  return p.field >= 0 ? field_value(f, p.field) : field_value(f, p.text);
}

// Walks the text of `t` for `f`, calling emit(piece) for each piece said, in order. `item`,
// when given, stands for f.item (a shortened item, without a copy of all the fields).
template <class Emit>
void walk_text(const CompiledText& t, const MessageFields& f, const std::string* item, Emit&& emit) {
  const auto value = [&](const CompiledText::Part& p) -> const std::string& {
    const std::string& v = field_value(f, p);
    return item && &v == &f.item ? *item : v;
  };
  // Sections nest; a part is said when every section around it is shown.
  std::vector<bool> shown;
  bool visible = true;
  for (const auto& p : t.parts) {
    switch (p.section) {
      case CompiledText::Section::if_known:
      case CompiledText::Section::if_unknown: {
        const bool known = !value(p).empty();
        shown.push_back(visible);
        visible = visible && (known == (p.section == CompiledText::Section::if_known));
        break;
      }
      case CompiledText::Section::end:
        if (!shown.empty()) {
          visible = shown.back();
          shown.pop_back();
        }
        break;
      case CompiledText::Section::none:
        if (visible) emit(p.is_field ? value(p) : p.text);
        break;
    }
  }
}

// Appends the text of `t` for `f` to `out`.
void render_text_into(const CompiledText& t, const MessageFields& f, std::string& out) {
  walk_text(t, f, nullptr, [&](const std::string& piece) { out += piece; });
}

// char_count(render_text(t, f)) with `item` for f.item when given, without the text: the count
// of a concatenation is the sum of its pieces' (it counts the bytes that start a character).
std::size_t text_chars(const CompiledText& t, const MessageFields& f, const std::string* item) {
  std::size_t n = 0;
  walk_text(t, f, item, [&](const std::string& piece) { n += char_count(piece); });
  return n;
}

std::string render_text(const CompiledText& t, const MessageFields& f) {
  std::string out;
  render_text_into(t, f, out);
  return out;
}

std::string sms_prefix(const ChannelRule* ch) {
  return ch && !ch->sms_signature.empty() ? "【" + ch->sms_signature + "】" : std::string{};
}

std::string sms_suffix(const ChannelRule* ch) {
  return ch ? ch->sms_opt_out : std::string{};
}

// Shortest item we still shorten to; below this the item no longer says anything.
constexpr std::size_t kMinItemChars = 6;

}  // namespace

bool CompiledText::uses(std::string_view field) const {
  return std::any_of(parts.begin(), parts.end(), [&](const Part& p) { return p.is_field && p.text == field; });
}

std::optional<CompiledText> compile_text(std::string_view text, std::string* error) {
  CompiledText out;
  std::string literal;
  std::vector<std::string> open_sections;
  const auto fail = [&](std::size_t byte_pos, std::string msg) -> std::optional<CompiledText> {
    if (error) {
      *error = fmt::format("column {}: {}", char_count(text.substr(0, byte_pos)) + 1, msg);
    }
    return std::nullopt;
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '{' && i + 1 < text.size() && text[i + 1] == '{') {
      literal.push_back('{');
      ++i;
    } else if (c == '}' && i + 1 < text.size() && text[i + 1] == '}') {
      literal.push_back('}');
      ++i;
    } else if (c == '{') {
      const auto close = text.find('}', i);
      if (close == std::string_view::npos) return fail(i, "'{' without a closing '}'");
      std::string name = trim(text.substr(i + 1, close - i - 1));
      auto section = CompiledText::Section::none;
      if (!name.empty() && (name[0] == '#' || name[0] == '^' || name[0] == '/')) {
        section = name[0] == '#'   ? CompiledText::Section::if_known
                  : name[0] == '^' ? CompiledText::Section::if_unknown
                                   : CompiledText::Section::end;
        name = trim(std::string_view(name).substr(1));
      }
      const auto& known = template_fields();
      if (std::find(known.begin(), known.end(), name) == known.end()) {
        return fail(i, fmt::format("unknown field {{{}}}; known fields: {}", name, fmt::join(known, ", ")));
      }
      if (section == CompiledText::Section::end) {
        if (open_sections.empty() || open_sections.back() != name) {
          return fail(i, open_sections.empty()
                             ? fmt::format("{{/{}}} closes no open section", name)
                             : fmt::format("{{/{}}} while section {{{}}} is still open", name, open_sections.back()));
        }
        open_sections.pop_back();
      } else if (section != CompiledText::Section::none) {
        open_sections.push_back(name);
      }
      if (!literal.empty()) out.parts.push_back({false, std::move(literal)});
      literal.clear();
      const int field = static_cast<int>(std::find(known.begin(), known.end(), name) - known.begin());
      out.parts.push_back({section == CompiledText::Section::none, name, section, field});
      i = close;
    } else if (c == '}') {
      return fail(i, "'}' without an opening '{' (write '}}' for a literal brace)");
    } else {
      literal.push_back(c);
    }
  }
  if (!open_sections.empty()) {
    return fail(text.size(),
                fmt::format("section {{#{0}}} or {{^{0}}} is not closed with {{/{0}}}", open_sections.back()));
  }
  if (!literal.empty()) out.parts.push_back({false, std::move(literal)});
  return out;
}

void TemplateSet::key_into(std::string& key, Channel c, std::string_view name) {
  key.assign(1, static_cast<char>('0' + static_cast<int>(c)));
  key += name;
}

void TemplateSet::add(MessageTemplate t) {
  std::string key;
  key_into(key, t.channel, t.name);
  const auto [it, added] = by_key_.try_emplace(std::move(key), templates_.size());
  if (added) {
    templates_.push_back(std::move(t));
  } else {
    templates_[it->second] = std::move(t);
  }
}

const MessageTemplate* TemplateSet::find_exact(Channel c, std::string_view name) const {
  thread_local std::string key;  // the thread's, its memory reused from lookup to lookup
  key_into(key, c, name);
  const auto it = by_key_.find(key);
  return it == by_key_.end() ? nullptr : &templates_[it->second];
}

const MessageTemplate* TemplateSet::find(Channel c, std::string_view base, std::string_view reason) const {
  if (!reason.empty()) {
    thread_local std::string name;
    name.assign(base);
    name += '.';
    name += reason;
    if (const MessageTemplate* t = find_exact(c, name)) return t;
  }
  return find_exact(c, base);
}

namespace {

// How many characters of the item to keep for a text of `n` characters to fit one SMS segment:
// the item (the one field with room to give) shortened at a word boundary, a body that names it
// twice gaining two characters per character cut. None when it fits, the body does not name the
// item, or the item would keep fewer than kMinItemChars. render() and renders() cut it alike.
std::optional<std::size_t> item_chars_to_fit(const MessageTemplate& t, const MessageFields& f, std::size_t n) {
  if (n <= kSmsSegmentChars || !t.body.uses("item")) return std::nullopt;
  const std::size_t item_chars = char_count(f.item);
  const auto uses = static_cast<std::size_t>(std::count_if(
      t.body.parts.begin(), t.body.parts.end(), [](const auto& p) { return p.is_field && p.text == "item"; }));
  const std::size_t cut = (n - kSmsSegmentChars + uses - 1) / uses;
  if (item_chars < cut || item_chars - cut < kMinItemChars) return std::nullopt;
  return item_chars - cut;
}

}  // namespace

std::optional<RenderedMessage> render(const MessageTemplate& t, const MessageFields& f, const ChannelRule* channel) {
  RenderedMessage out;
  out.subject = render_text(t.subject, f);
  if (t.channel != Channel::sms) {
    out.text = render_text(t.body, f);
    return out;
  }
  const std::string prefix = sms_prefix(channel);
  const std::string& suffix = channel ? channel->sms_opt_out : std::string{};
  std::string text = prefix;
  render_text_into(t.body, f, text);
  text += suffix;
  std::size_t n = char_count(text);
  if (const auto keep = item_chars_to_fit(t, f, n)) {
    MessageFields shorter = f;
    shorter.item = shorten_title(f.item, *keep, 2);
    text = prefix + render_text(t.body, shorter) + suffix;
    n = char_count(text);
  }
  if (n > kSmsSegmentChars) return std::nullopt;
  out.text = std::move(text);
  return out;
}

bool renders(const MessageTemplate& t, const MessageFields& f, const ChannelRule* channel) {
  if (t.channel != Channel::sms) return true;
  // render()'s count of prefix + body + suffix, piece by piece.
  const std::size_t frame = (channel && !channel->sms_signature.empty()
                                 ? char_count("【") + char_count(channel->sms_signature) + char_count("】")
                                 : 0) +
                            (channel ? char_count(channel->sms_opt_out) : 0);
  std::size_t n = frame + text_chars(t.body, f, nullptr);
  if (const auto keep = item_chars_to_fit(t, f, n)) {  // the item shortened as render() shortens it
    const std::string shorter = shorten_title(f.item, *keep, 2);
    n = frame + text_chars(t.body, f, &shorter);
  }
  return n <= kSmsSegmentChars;
}

MessageFields sample_fields() {
  MessageFields f = sample_fields_without_facts();
  f.promotion_ends = "11月30日23:59";
  f.low_stock = "仅剩3件";
  f.shipping = "48小时内发货";
  f.delivery = "送货上门并安装";
  return f;
}

MessageFields sample_fields_without_facts() {
  MessageFields f;
  f.salutation = "欧阳先生";
  f.name = "欧阳娜娜";
  f.nickname = "tb_xiaoming2019";
  f.item = "北欧实木床头柜简约现代卧室小型储物柜收纳柜";
  f.amount = "12999.00";
  f.order_count = "3";
  f.order_ids = "4012345678901234567、4012345678901234568";
  f.shop = "青禾家居旗舰店";
  f.pay_by = "11月25日10:00";
  return f;
}

std::vector<std::string> check_template(const MessageTemplate& t, const ChannelRule* channel) {
  std::vector<std::string> problems;
  if (t.channel == Channel::email && t.subject.parts.empty()) {
    problems.push_back("an email template needs a subject");
  }
  if (t.channel != Channel::sms) return problems;

  const std::string prefix = sms_prefix(channel);
  // The longest text either with every fact known or with none ({^field} sections).
  for (MessageFields worst : {sample_fields(), sample_fields_without_facts()}) {
    worst.item = truncate_chars(worst.item, kMinItemChars);
    const std::string body = render_text(t.body, worst);
    const std::size_t total = char_count(prefix + body + sms_suffix(channel));
    if (total > kSmsSegmentChars) {
      problems.push_back(
          fmt::format("SMS is {} characters with signature and opt-out for the longest sample values (item cut to "
                      "{}{}); one segment holds {}",
                      total, kMinItemChars, worst.promotion_ends.empty() ? ", no facts known" : ", every fact known",
                      kSmsSegmentChars));
      break;
    }
  }
  if (!t.body.uses("shop") && !t.body.uses("item")) {
    problems.push_back("SMS names neither {shop} nor {item}; the buyer must recognise the order");
  }
  // The name must end within the first kSmsNameWithin characters after the signature.
  const MessageFields worst = sample_fields();
  std::size_t before = 0;
  bool found = false;
  for (const auto& p : t.body.parts) {
    if (p.section != CompiledText::Section::none) continue;
    if (p.is_field && is_name_field(p.text)) {
      const std::size_t end = before + char_count(field_value(worst, p.text));
      if (end > kSmsNameWithin) {
        problems.push_back(
            fmt::format("the buyer's name ends at character {} after the signature; it must be within the first {}",
                        end, kSmsNameWithin));
      }
      found = true;
      break;
    }
    before += char_count(p.is_field ? field_value(worst, p.text) : p.text);
  }
  if (!found) problems.push_back("SMS does not greet the buyer by name ({salutation})");
  return problems;
}

const std::vector<std::string>& lint_kinds() {
  static const std::vector<std::string> kinds = {"curt",     "vague", "qin",     "exclamation",
                                                 "question", "claim", "register"};
  return kinds;
}

namespace {

// Claim phrases said outside a {#field} section of the field behind them.
void lint_claims(const CompiledText& text, const std::vector<ClaimRule>& claims, std::string_view where,
                 std::vector<LintFinding>& out) {
  std::vector<std::string> known;  // fields of the {#field} sections around the current part
  std::vector<bool> is_known;
  for (const auto& p : text.parts) {
    if (p.section == CompiledText::Section::if_known || p.section == CompiledText::Section::if_unknown) {
      known.push_back(p.text);
      is_known.push_back(p.section == CompiledText::Section::if_known);
      continue;
    }
    if (p.section == CompiledText::Section::end) {
      if (!known.empty()) {
        known.pop_back();
        is_known.pop_back();
      }
      continue;
    }
    if (p.is_field) continue;
    for (const auto& claim : claims) {
      bool backed = false;
      for (std::size_t i = 0; i < known.size(); ++i) backed = backed || (is_known[i] && known[i] == claim.field);
      if (backed) continue;
      for (const auto& phrase : claim.phrases) {
        if (!contains(p.text, phrase)) continue;
        out.push_back({"claim", fmt::format("{}claims '{}' without the fact behind it: say it only inside "
                                            "{{#{}}}…{{/{}}} (known from the rules or the feed), with a neutral "
                                            "wording otherwise",
                                            where, phrase, claim.field, claim.field)});
        break;
      }
    }
  }
}

std::vector<LintFinding> lint_all(const MessageTemplate& t, const std::vector<ClaimRule>& claims) {
  std::vector<LintFinding> findings;
  const std::string text = t.body_source + " " + render_text(t.subject, sample_fields());
  static const std::vector<std::string> curt = {"不知道", "没办法", "你自己看", "这不是我们的问题"};
  for (const auto& phrase : curt) {
    if (contains(text, phrase)) findings.push_back({"curt", fmt::format("curt or blaming phrase '{}'", phrase)});
  }
  for (const char* vague : {"可能", "大概"}) {
    if (contains(text, vague)) {
      findings.push_back({"vague", fmt::format("vague '{}': say what is true, or leave it out", vague)});
    }
  }
  auto count = [&](std::string_view needle) {
    std::size_t n = 0;
    for (auto p = text.find(needle); p != std::string::npos; p = text.find(needle, p + needle.size())) ++n;
    return n;
  };
  if (count("亲") > 1) findings.push_back({"qin", "'亲' more than once: use the buyer's name instead"});
  if (count("!") + count("！") > 1) findings.push_back({"exclamation", "more than one exclamation mark"});
  if (count("?") + count("？") > 0 && (contains(text, "吗") || contains(text, "难道") || contains(text, "怎么还") ||
                                       contains(text, "吧？") || contains(text, "吧?"))) {
    findings.push_back({"question", "rhetorical question: state the offer instead of asking"});
  }
  lint_claims(t.body, claims, "", findings);
  lint_claims(t.subject, claims, "subject ", findings);
  if (contains(text, "你") && contains(text, "您")) {
    findings.push_back({"register", "mixes 你 and 您: address the buyer one way in one message"});
  }
  return findings;
}

bool allowed(const std::vector<std::string>& list, const std::string& kind) {
  return std::find(list.begin(), list.end(), kind) != list.end();
}

}  // namespace

std::vector<LintFinding> lint_wording(const MessageTemplate& t, const Rules& rules) {
  std::vector<LintFinding> out;
  for (auto& f : lint_all(t, rules.claims)) {
    if (!allowed(t.lint_allow, f.kind) && !allowed(rules.lint_allow, f.kind)) out.push_back(std::move(f));
  }
  return out;
}

std::vector<std::string> lint_template(const MessageTemplate& t, const ChannelRule* channel) {
  std::vector<std::string> findings = check_template(t, channel);
  for (auto& f : lint_all(t, default_claims())) findings.push_back(std::move(f.message));
  return findings;
}

std::optional<Register> template_register(const MessageTemplate& t) {
  const std::string text = t.body_source + " " + render_text(t.subject, sample_fields());
  const bool informal = contains(text, "你");
  const bool formal = contains(text, "您");
  if (informal == formal) return std::nullopt;
  return formal ? Register::formal : Register::informal;
}

}  // namespace cuifu
