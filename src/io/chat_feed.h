// Chat export readers (千牛 / 旺旺 chat records): CSV in UTF-8 or GB18030 (detected like the
// order feed), with its own header names or a YAML column mapping, and JSON Lines.
//
// One message per row: buyer, time, sender (buyer / shop / bot) and text, and optionally the
// shop and the order id. A malformed row is rejected with its line number and reason and
// every other row is still used; a fatal problem (unreadable file, missing column, bad
// mapping) throws FeedError with one clear line.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/chat.h"
#include "io/feed.h"

namespace cuifu {

// How a chat CSV (or JSON Lines keys) maps to messages. Loaded from YAML, like the order
// feed's ColumnMapping (see data/sample_chat-mapping.yaml):
//   columns:        {buyer: 买家, time: 时间, sender: 发送方, text: 内容, shop: 店铺, order_id: 订单号}
//   sender_values:  {buyer: [顾客], shop: [小禾, 售前客服], bot: [店小蜜]}
//   delimiter:      ","   (or tab)
struct ChatMapping {
  std::map<std::string, std::string> columns;       // field -> header; buyer, time, sender and text required
  std::map<std::string, ChatSender> sender_values;  // extra words for who wrote, beyond the built-in ones
  char delimiter = ',';
  std::string source;  // the mapping file, for messages
};

// The chat fields a mapping may name.
const std::vector<std::string>& chat_field_names();

// Loads a chat mapping file. Throws FeedError with file:line:column and the key on errors.
ChatMapping load_chat_mapping(const std::string& path);

struct ChatOptions {
  std::string encoding;                // "", "utf-8" or "gb18030"; "" detects
  std::optional<ChatMapping> mapping;  // without one, CSV headers are read by their usual names
};

struct ChatSnapshot {
  ChatLog chat;
  std::vector<RejectedRow> rejected;
  std::string source;
  std::string encoding;  // what was used: "utf-8" or "gb18030"
};

// Parses a chat export (the whole file). `source` names it in messages; a name ending in
// .jsonl / .ndjson, or text starting with '{', is JSON Lines, anything else CSV.
ChatSnapshot parse_chat(std::string_view bytes, const ChatOptions& options, const std::string& source);

// Reads and parses a file. Throws FeedError if it cannot be read.
ChatSnapshot read_chat_file(const std::string& path, const ChatOptions& options);

}  // namespace cuifu
