// The shop's chat with its buyers (千牛 / 旺旺 export) as plain data, and what the planner
// reads from it: why a buyer has not paid, whether they said they will not buy (or asked to
// cancel, or complain), and whether the shop is talking with them right now.
//
// Pure: messages, orders, rules and `now` in, findings out. A message later than `now` is
// never looked at, so a backtest that replays history sees only what was said so far.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock_time.h"
#include "core/order.h"
#include "core/rules.h"
#include "core/word_set.h"

namespace cuifu {

// Who wrote a chat message. Only the buyer's own words decide reasons and stops; a bot's
// auto-reply never counts as the shop having answered.
enum class ChatSender { buyer, shop, bot };

std::string_view to_string(ChatSender s);

// "buyer" / "shop" / "bot" and the words exports use for them: 买家, 客服, 卖家, 商家,
// 机器人, 自动回复 … nullopt for anything else.
std::optional<ChatSender> parse_chat_sender(std::string_view text);

// One chat message. Plain value.
struct ChatMessage {
  std::string buyer;  // 买家会员名, as in the order feed
  std::string shop;   // empty: any of the buyer's shops
  LocalTime at{};
  ChatSender sender = ChatSender::buyer;
  std::string text;
  std::string order_id;  // the order the message is about, when the export says; else empty
  int source_line = 0;   // 1-based line in the chat export
};

// All chat messages, grouped by buyer, each buyer's in time order (ties keep the order they
// were added in). Read-only after loading, so one log may be shared by any number of threads.
class ChatLog {
 public:
  void add(ChatMessage m);
  // The buyer's messages, oldest first; empty when the chat never mentions them.
  const std::vector<ChatMessage>& of(const std::string& buyer) const;
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

 private:
  std::map<std::string, std::vector<ChatMessage>, std::less<>> by_buyer_;
  std::size_t size_ = 0;
};

// The buyer's words that decided something: a chat message or an order's buyer note.
struct BuyerWords {
  bool in_chat = false;  // false: the buyer note of `order_id`
  LocalTime at{};        // the message's time, or the order's creation for a note
  std::string quote;     // masked for contacts and cut to ChatRules::quote_chars
  std::string order_id;  // note: its order; chat: the order the message names, if any
  std::string keyword;   // the rule's keyword found in it

  // `buyer wrote in the chat at 11-24 10:12: "太贵了，能便宜点吗"` or
  // `buyer note of order 398…: "钱不够，月底再付"`.
  std::string describe() const;
};

struct ReasonFinding {
  const ReasonRule* rule = nullptr;  // nullptr: no reason found
  BuyerWords words;
};

struct StopFinding {
  const StopRule* rule = nullptr;  // nullptr: nothing stops the order
  BuyerWords words;
};

// Phone numbers (any run of 7 or more digits, spaces and dashes allowed between them) and
// e-mail addresses inside free text, masked: "call 13812345678" -> "call 138****5678".
std::string mask_contacts_in_text(std::string_view text);

// A message as quoted in a "why": contacts masked, line breaks as spaces, cut to max_chars.
std::string quote_text(std::string_view text, std::size_t max_chars);

// The keywords and exceptions of every reason and stop of a Rules value in one WordSet, so
// that a text is read once for all of them instead of once per word. Made from the rules
// alone; immutable once built, it may be shared by any number of threads.
class KeywordIndex {
 public:
  explicit KeywordIndex(const Rules& rules);
  const Rules& rules() const { return *rules_; }
  // The first of rules().reasons (stops) whose keywords `text` contains, none of its
  // exceptions, and in *keyword the first of its keywords found; nullptr when none. The same
  // as trying the rules one by one, each word with contains().
  const ReasonRule* first_reason(std::string_view text, const std::string** keyword) const;
  const StopRule* first_stop(std::string_view text, const std::string** keyword) const;

 private:
  struct Span {
    std::uint32_t keywords = 0, except = 0, end = 0;  // [keywords, except) and [except, end) of the words
  };
  template <class Rule>
  const Rule* first(const std::vector<Rule>& rules, const std::vector<Span>& spans, std::string_view text,
                    const std::string** keyword) const;

  const Rules* rules_;
  WordSet words_;  // every rule's keywords, then its exceptions: reasons, then stops
  std::vector<Span> reasons_, stops_;
};

// Why the buyer has not paid: among the buyer's chat messages from rules.chat.look_back
// before the oldest of `orders` up to `now`, and the buyer notes of `orders`, the LATEST
// that contains a keyword of some reason decides (the buyer's newest word on it); within
// one message the first reason in rule order wins. Messages about another order (by id)
// or another shop, and other buyers' messages, are ignored. `chat` is the buyer's messages,
// oldest first (ChatLog::of).
// REQUIRES: orders non-empty.
// `index` (KeywordIndex of these rules), when given, reads each text once; same finding.
// `quote` false: the words found carry no quote (for a caller that writes no why line); the
// rule, time, order and keyword are the same.
ReasonFinding detect_reason(const Rules& rules, const std::vector<const Order*>& orders,
                            const std::vector<ChatMessage>& chat, LocalTime now, const KeywordIndex* index = nullptr,
                            bool quote = true);

// Whether `order` must not be reminded because the buyer said so: a buyer message (up to
// `now`) or the buyer note of one of `orders` that contains a stop keyword. A stop that
// does not cover all orders applies to the order the message names, or, when it names
// none, to the orders placed before it: "不要了" yesterday does not stop today's new order.
// The latest matching message is quoted.
// `index` as for detect_reason.
StopFinding find_stop(const Rules& rules, const Order& order, const std::vector<const Order*>& orders,
                      const std::vector<ChatMessage>& chat, LocalTime now, const KeywordIndex* index = nullptr);

// When a person of the shop (sender shop; bots do not count) last wrote to the buyer, at
// or before `now`, in a message about one of `orders`' shops; nullopt when never.
std::optional<LocalTime> last_shop_answer(const std::vector<const Order*>& orders, const std::vector<ChatMessage>& chat,
                                          LocalTime now);

}  // namespace cuifu
