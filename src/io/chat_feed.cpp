#include "io/chat_feed.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>

#include "core/text.h"
#include "io/charset.h"
#include "io/csv.h"
#include "io/feed_fields.h"
#include "io/jsonl_fields.h"

namespace cuifu {

namespace {

enum ChatField : std::size_t {
  kChatBuyer,
  kChatTime,
  kChatSender,
  kChatText,
  kChatShop,
  kChatOrderId,
  kChatFieldCount
};

// Header names a chat CSV uses without a mapping, per field; the first present wins.
const std::array<std::vector<std::string_view>, kChatFieldCount>& usual_headers() {
  static const std::array<std::vector<std::string_view>, kChatFieldCount> headers = {{
      {"buyer", "买家", "买家会员名", "买家昵称", "客户", "顾客"},
      {"time", "时间", "发送时间", "消息时间", "聊天时间"},
      {"sender", "发送方", "发送人", "发送者", "角色"},
      {"text", "内容", "消息内容", "聊天内容", "消息"},
      {"shop", "店铺", "店铺名称"},
      {"order_id", "订单编号", "订单号"},
  }};
  return headers;
}

using ChatRow = std::array<std::optional<std::string>, kChatFieldCount>;

// The text as UTF-8, with the lines that held undecodable bytes (as the order feed does).
struct DecodedChat {
  std::string text;
  std::string encoding;
  std::map<int, std::string> bad_lines;
  const std::string* problem_in(int first, int last) const {
    const auto it = bad_lines.lower_bound(first);
    return it != bad_lines.end() && it->first <= last ? &it->second : nullptr;
  }
};

DecodedChat decode(std::string_view bytes, const std::string& encoding, const std::string& source) {
  DecodedChat out;
  if (!encoding.empty()) {
    out.encoding = normalize_encoding(encoding);
  } else if (detect_encoding(bytes) == "utf-8") {
    out.encoding = "utf-8";
  } else {
    // A file whose first line is non-ASCII UTF-8 stays UTF-8 even if a later row has a bad
    // byte: that row is rejected instead of the whole file misread.
    const std::string_view first = bytes.substr(0, bytes.find_first_of("\r\n"));
    const bool non_ascii = std::any_of(first.begin(), first.end(), [](char c) { return (c & 0x80) != 0; });
    out.encoding = non_ascii && is_valid_utf8(first) ? "utf-8" : "gb18030";
  }
  std::vector<std::size_t> bad_offsets;
  try {
    out.text = to_utf8_replacing(bytes, out.encoding, bad_offsets);
  } catch (const CharsetError& e) {
    throw FeedError(fmt::format("{}: {}", source, e.what()));
  }
  int line = 1;
  std::size_t pos = 0;
  for (const std::size_t offset : bad_offsets) {
    for (; pos < offset; ++pos) {
      if (bytes[pos] == '\n' || (bytes[pos] == '\r' && (pos + 1 >= bytes.size() || bytes[pos + 1] != '\n'))) ++line;
    }
    out.bad_lines.emplace(line, fmt::format("invalid {} byte sequence at byte offset {}", out.encoding, offset));
  }
  return out;
}

class ChatBuilder {
 public:
  ChatBuilder(ChatSnapshot& snapshot, const ChatOptions& options, std::array<std::string, kChatFieldCount> labels)
      : snapshot_(snapshot), options_(options), labels_(std::move(labels)) {}

  void reject(int line, std::string error) { snapshot_.rejected.push_back({line, std::move(error)}); }

  void add(const ChatRow& row, int line) {
    const auto value = [&](ChatField f) { return row[f] ? trim(*row[f]) : std::string(); };
    ChatMessage m;
    m.source_line = line;
    m.buyer = value(kChatBuyer);
    if (m.buyer.empty()) return reject(line, labels_[kChatBuyer] + " missing");
    const std::string time = value(kChatTime);
    if (time.empty()) return reject(line, labels_[kChatTime] + " missing");
    const auto at = parse_local_time(time);
    if (!at) return reject(line, fmt::format("bad time '{}' in {}", time, labels_[kChatTime]));
    m.at = *at;
    const std::string sender = value(kChatSender);
    if (sender.empty()) return reject(line, labels_[kChatSender] + " missing");
    const auto who = sender_of(sender, m.buyer);
    if (!who) {
      return reject(
          line, fmt::format("unknown sender '{}' in {} (expected buyer, shop or bot{})", sender, labels_[kChatSender],
                            options_.mapping ? "; name it under sender_values in the mapping" : ""));
    }
    m.sender = *who;
    m.text = row[kChatText] ? *row[kChatText] : std::string();
    m.shop = value(kChatShop);
    m.order_id = value(kChatOrderId);
    // Excel-proofing on long ids: '398..., ="398..."
    while (!m.order_id.empty() &&
           (m.order_id.front() == '\'' || m.order_id.front() == '=' || m.order_id.front() == '"'))
      m.order_id.erase(0, 1);
    while (!m.order_id.empty() && m.order_id.back() == '"') m.order_id.pop_back();
    snapshot_.chat.add(std::move(m));
  }

 private:
  std::optional<ChatSender> sender_of(const std::string& value, const std::string& buyer) const {
    if (options_.mapping) {
      if (const auto it = options_.mapping->sender_values.find(value); it != options_.mapping->sender_values.end()) {
        return it->second;
      }
    }
    if (value == buyer) return ChatSender::buyer;  // exports that name the writer
    return parse_chat_sender(value);
  }

  ChatSnapshot& snapshot_;
  const ChatOptions& options_;
  std::array<std::string, kChatFieldCount> labels_;
};

std::size_t field_index(std::string_view name) {
  const auto& names = chat_field_names();
  return static_cast<std::size_t>(std::find(names.begin(), names.end(), name) - names.begin());
}

void parse_chat_csv(const DecodedChat& decoded, const ChatOptions& options, const std::string& source,
                    ChatSnapshot& out) {
  const auto records = parse_csv(decoded.text, options.mapping ? options.mapping->delimiter : ',');
  if (records.empty()) throw FeedError(fmt::format("{}: no header row", source));
  const CsvRecord& header = records.front();
  if (!header.error.empty()) throw FeedError(fmt::format("{}:{}: header: {}", source, header.line, header.error));
  if (const auto* problem = decoded.problem_in(header.line, header.last_line)) {
    throw FeedError(fmt::format("{}:{}: header: {} (is the encoding right?)", source, header.line, *problem));
  }
  const auto names = header_names(header);
  const auto find = [&](std::string_view name) {
    const auto it = std::find(names.begin(), names.end(), name);
    return it == names.end() ? -1 : static_cast<int>(it - names.begin());
  };
  std::array<int, kChatFieldCount> column;
  column.fill(-1);
  std::array<std::string, kChatFieldCount> labels;
  for (std::size_t f = 0; f < kChatFieldCount; ++f) labels[f] = chat_field_names()[f];
  if (options.mapping) {
    for (const auto& [field, name] : options.mapping->columns) {
      const std::size_t f = field_index(field);
      if (f >= kChatFieldCount) continue;  // the loader rejects unknown fields
      column[f] = find(name);
      if (column[f] < 0) {
        throw FeedError(
            fmt::format("{}: missing column {} (mapped to {} by {})", source, name, field, options.mapping->source));
      }
      labels[f] = name;
    }
  } else {
    for (std::size_t f = 0; f < kChatFieldCount; ++f) {
      for (const auto name : usual_headers()[f]) {
        if (column[f] >= 0) break;
        column[f] = find(name);
        if (column[f] >= 0) labels[f] = std::string(name);
      }
    }
  }
  for (const ChatField required : {kChatBuyer, kChatTime, kChatSender, kChatText}) {
    if (column[required] < 0) {
      throw FeedError(fmt::format("{}: missing required column {} (one of: {}; read as {}; or give a --chat-mapping)",
                                  source, chat_field_names()[required], fmt::join(usual_headers()[required], ", "),
                                  decoded.encoding));
    }
  }
  ChatBuilder builder(out, options, labels);
  for (std::size_t r = 1; r < records.size(); ++r) {
    const CsvRecord& record = records[r];
    if (!record.error.empty()) {
      builder.reject(record.line, record.error);
      continue;
    }
    if (const auto* problem = decoded.problem_in(record.line, record.last_line)) {
      builder.reject(record.line, *problem);
      continue;
    }
    bool extra = false;  // extra empty fields (a trailing delimiter) are harmless
    for (std::size_t i = names.size(); i < record.fields.size(); ++i) extra = extra || !trim(record.fields[i]).empty();
    if (record.fields.size() < names.size() || extra) {
      builder.reject(record.line, fmt::format("expected {} fields, found {}", names.size(), record.fields.size()));
      continue;
    }
    ChatRow row;
    for (std::size_t f = 0; f < kChatFieldCount; ++f) {
      if (column[f] >= 0) row[f] = record.fields[static_cast<std::size_t>(column[f])];
    }
    builder.add(row, record.line);
  }
}

void parse_chat_jsonl(const DecodedChat& decoded, const ChatOptions& options, ChatSnapshot& out) {
  std::array<std::string, kChatFieldCount> keys;
  for (std::size_t f = 0; f < kChatFieldCount; ++f) keys[f] = chat_field_names()[f];
  if (options.mapping) {
    for (const auto& [field, name] : options.mapping->columns) {
      if (const std::size_t f = field_index(field); f < kChatFieldCount) keys[f] = name;
    }
  }
  ChatBuilder builder(out, options, keys);
  const std::string_view text = decoded.text;
  int line = 0;
  for (std::size_t start = 0; start < text.size();) {
    const std::size_t end = std::min(text.find('\n', start), text.size());
    const std::string_view content = text.substr(start, end - start);
    start = end + 1;
    ++line;
    if (trim(content).empty()) continue;
    if (const auto* problem = decoded.problem_in(line, line)) {
      builder.reject(line, *problem);
      continue;
    }
    ChatRow row;
    if (std::string error = read_jsonl_fields(content, keys, row); !error.empty()) {
      builder.reject(line, std::move(error));
      continue;
    }
    builder.add(row, line);
  }
}

}  // namespace

const std::vector<std::string>& chat_field_names() {
  static const std::vector<std::string> names = {"buyer", "time", "sender", "text", "shop", "order_id"};
  return names;
}

ChatSnapshot parse_chat(std::string_view bytes, const ChatOptions& options, const std::string& source) {
  ChatSnapshot snapshot;
  snapshot.source = source;
  const DecodedChat decoded = decode(bytes, options.encoding, source);
  snapshot.encoding = decoded.encoding;
  std::string name = source;
  for (char& c : name) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  const std::size_t first = decoded.text.find_first_not_of(" \t\r\n");
  const bool jsonl = name.ends_with(".jsonl") || name.ends_with(".ndjson") ||
                     (first != std::string::npos && decoded.text[first] == '{');
  if (jsonl) {
    parse_chat_jsonl(decoded, options, snapshot);
  } else {
    parse_chat_csv(decoded, options, source, snapshot);
  }
  return snapshot;
}

ChatSnapshot read_chat_file(const std::string& path, const ChatOptions& options) {
  return parse_chat(read_file_bytes(path), options, path);
}

}  // namespace cuifu
