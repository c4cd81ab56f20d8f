#include "core/chat.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/text.h"

namespace cuifu {

std::string_view to_string(ChatSender s) {
  switch (s) {
    case ChatSender::buyer: return "buyer";
    case ChatSender::shop: return "shop";
    case ChatSender::bot: return "bot";
  }
  return "buyer";
}

std::optional<ChatSender> parse_chat_sender(std::string_view text) {
  std::string s = trim(text);
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  static const std::vector<std::pair<std::string_view, ChatSender>> words = {
      {"buyer", ChatSender::buyer},   {"customer", ChatSender::buyer}, {"买家", ChatSender::buyer},
      {"顾客", ChatSender::buyer},    {"客户", ChatSender::buyer},     {"shop", ChatSender::shop},
      {"seller", ChatSender::shop},   {"staff", ChatSender::shop},     {"agent", ChatSender::shop},
      {"客服", ChatSender::shop},     {"卖家", ChatSender::shop},      {"商家", ChatSender::shop},
      {"人工客服", ChatSender::shop}, {"bot", ChatSender::bot},        {"robot", ChatSender::bot},
      {"auto", ChatSender::bot},      {"机器人", ChatSender::bot},     {"自动回复", ChatSender::bot},
      {"智能客服", ChatSender::bot},  {"系统", ChatSender::bot},       {"system", ChatSender::bot}};
  for (const auto& [word, sender] : words) {
    if (s == word) return sender;
  }
  return std::nullopt;
}

void ChatLog::add(ChatMessage m) {
  auto& list = by_buyer_[m.buyer];
  // Exports are mostly in time order: the insertion point is then the end.
  const auto pos = std::upper_bound(list.begin(), list.end(), m.at,
                                    [](LocalTime t, const ChatMessage& other) { return t < other.at; });
  list.insert(pos, std::move(m));
  ++size_;
}

const std::vector<ChatMessage>& ChatLog::of(const std::string& buyer) const {
  static const std::vector<ChatMessage> kNone;
  const auto it = by_buyer_.find(buyer);
  return it == by_buyer_.end() ? kNone : it->second;
}

std::string BuyerWords::describe() const {
  if (!in_chat) return fmt::format("buyer note of order {}: \"{}\"", order_id, quote);
  const std::chrono::year_month_day ymd{std::chrono::floor<std::chrono::days>(at)};
  const int m = minute_of_day(at);
  return fmt::format("buyer wrote in the chat at {:02d}-{:02d} {:02d}:{:02d}: \"{}\"", unsigned(ymd.month()),
                     unsigned(ymd.day()), m / 60, m % 60, quote);
}

namespace {

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

bool is_email_char(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '.' || c == '_' || c == '-' ||
         c == '+' || c == '%';
}

// How many digits follow from `pos` on.
std::size_t digit_group(std::string_view text, std::size_t pos) {
  std::size_t n = 0;
  while (pos + n < text.size() && is_digit(text[pos + n])) ++n;
  return n;
}

// Masks the digits of a run: 11+ digits as a mobile number (138****5678), shorter runs
// keep their first and last two digits.
std::string mask_digits(const std::string& digits) {
  if (digits.size() >= 11) return mask_phone(digits);
  return digits.substr(0, 2) + std::string(digits.size() - 4, '*') + digits.substr(digits.size() - 2);
}

// The keyword of `words` found in `text`, unless `text` also holds one of `except`.
const std::string* match(std::string_view text, const std::vector<std::string>& words,
                         const std::vector<std::string>& except) {
  for (const auto& w : words) {
    if (!contains(text, w)) continue;
    for (const auto& e : except) {
      if (contains(text, e)) return nullptr;
    }
    return &w;
  }
  return nullptr;
}

bool same_shop(const ChatMessage& m, const std::vector<const Order*>& orders) {
  if (m.shop.empty()) return true;
  return std::any_of(orders.begin(), orders.end(),
                     [&](const Order* o) { return o->shop.empty() || o->shop == m.shop; });
}

bool names_one_of(const ChatMessage& m, const std::vector<const Order*>& orders) {
  if (m.order_id.empty()) return true;
  return std::any_of(orders.begin(), orders.end(), [&](const Order* o) { return o->id == m.order_id; });
}

LocalTime oldest(const std::vector<const Order*>& orders) {
  LocalTime t = LocalTime::max();
  for (const Order* o : orders) t = std::min(t, o->created_at);
  return t;
}

// The buyer's own messages that may speak about `orders`, oldest first.
std::vector<const ChatMessage*> buyer_messages(const Rules& rules, const std::vector<const Order*>& orders,
                                               const std::vector<ChatMessage>& chat, LocalTime now) {
  std::vector<const ChatMessage*> out;
  if (orders.empty()) return out;
  const LocalTime start = oldest(orders) - rules.chat.look_back;
  for (const auto& m : chat) {
    if (m.at > now) break;
    if (m.sender != ChatSender::buyer || m.at < start || m.buyer != orders.front()->buyer) continue;
    if (!same_shop(m, orders) || !names_one_of(m, orders)) continue;
    out.push_back(&m);
  }
  return out;
}

BuyerWords words_of(const ChatMessage& m, const std::string& keyword, const Rules& rules) {
  return {true, m.at, quote_text(m.text, rules.chat.quote_chars), m.order_id, keyword};
}

BuyerWords words_of(const Order& o, const std::string& keyword, const Rules& rules) {
  return {false, o.created_at, quote_text(o.note, rules.chat.quote_chars), o.id, keyword};
}

}  // namespace

namespace {

// Copies the run of digits at text[i] into `out`, masked when it holds 7 or more digits (a
// phone number, allowing single spaces or dashes between groups: 138 1234 5678); returns
// where the run ends.
std::size_t copy_digit_run(std::string_view text, std::size_t i, std::string& out) {
  std::string digits;
  std::size_t end = i;
  std::size_t last_digit = i;
  while (end < text.size()) {
    if (is_digit(text[end])) {
      digits.push_back(text[end]);
      last_digit = end;
      ++end;
    } else if ((text[end] == ' ' || text[end] == '-') && digit_group(text, end + 1) >= 3) {
      ++end;  // a group of 3+ digits goes on the number; "2026-11-24" stops at "-11"
    } else {
      break;
    }
  }
  if (digits.size() >= 7) {
    out += mask_digits(digits);
  } else {
    out.append(text.substr(i, last_digit + 1 - i));
  }
  return last_digit + 1;
}

// `text` with every run of 7 or more digits masked.
std::string mask_digit_runs(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size();) {
    if (is_digit(text[i])) {
      i = copy_digit_run(text, i, out);
    } else {
      out.push_back(text[i++]);
    }
  }
  return out;
}

}  // namespace

std::string mask_contacts_in_text(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (c == '@') {
      // An e-mail: the local part already copied is taken back and masked with the domain.
      std::size_t local = out.size();
      while (local > 0 && is_email_char(out[local - 1])) --local;
      std::size_t end = i + 1;
      while (end < text.size() && is_email_char(text[end])) ++end;
      const std::string_view domain = text.substr(i + 1, end - i - 1);
      if (local < out.size() && domain.find('.') != std::string_view::npos) {
        const std::string address = out.substr(local) + std::string(text.substr(i, end - i));
        out.resize(local);
        // The domain is kept, but a phone number never hides in it (a@qq13812345678.com).
        out += mask_digit_runs(mask_email(address));
        i = end;
        continue;
      }
    }
    if (is_digit(c)) {
      i = copy_digit_run(text, i, out);
      continue;
    }
    out.push_back(c);
    ++i;
  }
  return out;
}

std::string quote_text(std::string_view text, std::size_t max_chars) {
  std::string flat;
  for (const char c : text) flat.push_back(c == '\n' || c == '\r' || c == '\t' ? ' ' : c);
  return truncate_chars(trim(mask_contacts_in_text(flat)), std::max<std::size_t>(max_chars, 2));
}

KeywordIndex::KeywordIndex(const Rules& rules) : rules_(&rules) {
  std::vector<std::string> words;
  const auto add = [&](const auto& list, std::vector<Span>& spans) {
    for (const auto& rule : list) {
      Span span;
      span.keywords = static_cast<std::uint32_t>(words.size());
      words.insert(words.end(), rule.keywords.begin(), rule.keywords.end());
      span.except = static_cast<std::uint32_t>(words.size());
      words.insert(words.end(), rule.except.begin(), rule.except.end());
      span.end = static_cast<std::uint32_t>(words.size());
      spans.push_back(span);
    }
  };
  add(rules.reasons, reasons_);
  add(rules.stops, stops_);
  words_ = WordSet(words);  // an empty word is never found, as contains() never finds it
}

template <class Rule>
const Rule* KeywordIndex::first(const std::vector<Rule>& rules, const std::vector<Span>& spans, std::string_view text,
                                const std::string** keyword) const {
  // Which words the text holds, from one pass over it.
  thread_local std::vector<WordSet::Hit> hits;
  thread_local std::vector<char> present;
  hits.clear();
  words_.find_all(text, hits);
  present.assign(words_.size(), 0);
  for (const auto& h : hits) present[h.word] = 1;
  for (std::size_t r = 0; r < rules.size(); ++r) {
    const Span& span = spans[r];
    for (std::uint32_t k = span.keywords; k < span.except; ++k) {
      if (!present[k]) continue;
      const bool excepted =
          std::any_of(present.begin() + span.except, present.begin() + span.end, [](char p) { return p != 0; });
      if (excepted) break;  // the rule does not apply to this text; the next one may
      *keyword = &rules[r].keywords[k - span.keywords];
      return &rules[r];
    }
  }
  return nullptr;
}

const ReasonRule* KeywordIndex::first_reason(std::string_view text, const std::string** keyword) const {
  return first(rules_->reasons, reasons_, text, keyword);
}

const StopRule* KeywordIndex::first_stop(std::string_view text, const std::string** keyword) const {
  return first(rules_->stops, stops_, text, keyword);
}

ReasonFinding detect_reason(const Rules& rules, const std::vector<const Order*>& orders,
                            const std::vector<ChatMessage>& chat, LocalTime now, const KeywordIndex* index,
                            bool quote) {
  if (index && &index->rules() != &rules) index = nullptr;
  const auto first_reason = [&](std::string_view text, const std::string** keyword) -> const ReasonRule* {
    if (index) return index->first_reason(text, keyword);
    for (const auto& reason : rules.reasons) {
      if (const std::string* hit = match(text, reason.keywords, reason.except)) {
        *keyword = hit;
        return &reason;
      }
    }
    return nullptr;
  };
  ReasonFinding found;
  // Notes first, oldest order first; then the chat in time order: a later word overrides.
  std::vector<const Order*> by_time = orders;
  std::stable_sort(by_time.begin(), by_time.end(),
                   [](const Order* a, const Order* b) { return a->created_at < b->created_at; });
  LocalTime found_at = LocalTime::min();
  for (const Order* o : by_time) {
    const std::string* keyword = nullptr;
    if (const ReasonRule* r = first_reason(o->note, &keyword); r && (!found.rule || o->created_at > found_at)) {
      found = {r, quote ? words_of(*o, *keyword, rules) : BuyerWords{false, o->created_at, {}, o->id, *keyword}};
      found_at = o->created_at;
    }
  }
  for (const ChatMessage* m : buyer_messages(rules, orders, chat, now)) {
    const std::string* keyword = nullptr;
    if (const ReasonRule* r = first_reason(m->text, &keyword); r && (!found.rule || m->at >= found_at)) {
      found = {r, quote ? words_of(*m, *keyword, rules) : BuyerWords{true, m->at, {}, m->order_id, *keyword}};
      found_at = m->at;
    }
  }
  return found;
}

StopFinding find_stop(const Rules& rules, const Order& order, const std::vector<const Order*>& orders,
                      const std::vector<ChatMessage>& chat, LocalTime now, const KeywordIndex* index) {
  if (index && &index->rules() != &rules) index = nullptr;
  const auto first_stop = [&](std::string_view text, const std::string** keyword) -> const StopRule* {
    if (index) return index->first_stop(text, keyword);
    for (const auto& stop : rules.stops) {
      if (const std::string* hit = match(text, stop.keywords, stop.except)) {
        *keyword = hit;
        return &stop;
      }
    }
    return nullptr;
  };
  StopFinding found;
  for (const Order* o : orders) {
    const std::string* keyword = nullptr;
    const StopRule* r = first_stop(o->note, &keyword);
    if (r && (o->id == order.id || r->covers_all) && !found.rule) found = {r, words_of(*o, *keyword, rules)};
  }
  for (const ChatMessage* m : buyer_messages(rules, orders, chat, now)) {
    const std::string* keyword = nullptr;
    const StopRule* r = first_stop(m->text, &keyword);
    if (!r) continue;
    const bool covers = r->covers_all || m->order_id == order.id || (m->order_id.empty() && m->at >= order.created_at);
    if (covers) found = {r, words_of(*m, *keyword, rules)};  // the latest one is quoted
  }
  return found;
}

std::optional<LocalTime> last_shop_answer(const std::vector<const Order*>& orders, const std::vector<ChatMessage>& chat,
                                          LocalTime now) {
  std::optional<LocalTime> last;
  for (const auto& m : chat) {
    if (m.at > now) break;
    if (m.sender == ChatSender::shop && same_shop(m, orders) && (orders.empty() || m.buyer == orders.front()->buyer)) {
      last = m.at;
    }
  }
  return last;
}

}  // namespace cuifu
