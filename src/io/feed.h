// Order feed readers: the Taobao/Tmall order export (订单报表), a generic CSV with a
// YAML column mapping, and JSON Lines.
//
// A malformed row is rejected with its line number and reason and every other row is
// still used. A fatal problem (unreadable file, missing required column, bad mapping)
// throws FeedError with one clear line.
#pragma once

#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "core/order.h"

namespace cuifu {

class FeedError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class FeedFormat { detect, taobao, csv, jsonl };

// How a generic CSV maps to orders. Loaded from YAML (see data/olist-mapping.yaml).
struct ColumnMapping {
  // canonical field -> column header. Fields: order_id, buyer, amount, status, created_at,
  // paid_at, closed_at, note, receiver_name, address, phone, email, item, shop, item_code,
  // stock, order_type (预售/聚划算/秒杀/presale/flash_sale), balance_starts, balance_ends.
  std::map<std::string, std::string> columns;
  // status column value -> unpaid|paid|closed. A non-empty paid_at always means paid.
  std::map<std::string, OrderStatus> status_values;
  OrderStatus default_status = OrderStatus::unpaid;
  char delimiter = ',';
  std::string timezone;  // IANA name of the times in the file, e.g. America/Sao_Paulo
  std::string source;    // the mapping file, for messages
};

// Loads a mapping file. Throws FeedError with file:line:column and the key on errors.
ColumnMapping load_column_mapping(const std::string& path);

struct FeedOptions {
  FeedFormat format = FeedFormat::detect;  // detect: .jsonl/.ndjson -> jsonl, mapping -> csv, else taobao
  std::string encoding;                    // "", "utf-8" or "gb18030"; "" detects
  std::optional<ColumnMapping> mapping;    // required for FeedFormat::csv
  // Threads that turn CSV rows into orders (at most 8); 0: one per core for a feed big enough
  // to be worth it. The snapshot is the same for any number.
  unsigned threads = 0;
};

// A row of an order that appears more than once (concatenated exports, a JSONL feed of
// updates), replaced by another row of the same order that states its newest state.
struct SupersededRow {
  int line = 0;
  std::string order_id;
  int kept_line = 0;  // the row that was used instead
};

struct FeedSnapshot {
  std::vector<Order> orders;  // one per order id: its newest state (see parse_feed)
  std::vector<RejectedRow> rejected;
  std::vector<SupersededRow> superseded;
  std::string source;
  std::string encoding;  // what was used: "utf-8" or "gb18030"
};

// Parses feed bytes (the whole file). `source` names it in messages. When an order appears
// in several rows the newest state wins: a paid or closed row is never overridden by an
// unpaid one; otherwise the row with the newer payment/close/creation time wins, and on a tie
// the later row. Every other row of it is listed in `superseded`, none is silently dropped.
FeedSnapshot parse_feed(std::string_view bytes, const FeedOptions& options, const std::string& source);

// Reads and parses a file. Throws FeedError if it cannot be read.
FeedSnapshot read_feed_file(const std::string& path, const FeedOptions& options);

// Parses a yuan amount as shop exports write it: "59.9", "1,299.00", "￥59.90", "¥8".
// At most two decimals; thousands separators must group by three. Returns fen, or
// nullopt for anything else, including negative amounts.
std::optional<Money> parse_yuan(std::string_view text);

}  // namespace cuifu
