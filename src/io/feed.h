// Order feed readers: the Taobao/Tmall order export (订单报表), a generic CSV with a
// YAML column mapping, and JSON Lines.
//
// A malformed row is rejected with its line number and reason and every other row is
// still used. A fatal problem (unreadable file, missing required column, bad mapping)
// throws FeedError with one clear line.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/order.h"
#include "io/order_list.h"

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
  // One per order id: its newest state (see parse_feed). A parse with a memo shares the orders
  // its rows reused with the memo's snapshot (io/order_list.h).
  OrderList orders;
  std::vector<RejectedRow> rejected;
  std::vector<SupersededRow> superseded;
  std::string source;
  std::string encoding;  // what was used: "utf-8" or "gb18030"

  // Which parse made this snapshot (parse_feed with a FeedMemo; unique in the process), 0 for
  // any other (made by hand, overlaid, parsed without a memo). A snapshot changed after its
  // parse must be given 0: `changed` would no longer tell the truth.
  std::uint64_t generation = 0;
  // What changed since the snapshot whose rows the parse reused (generation `base`): every
  // (shop, buyer) with an order not in the base as it is here (new, or changed in any field
  // other than its line), or with an order of the base that is not here; sorted, each once.
  // Found from the rows reused (their orders are the base's) and, for the orders built again,
  // a comparison with the base's order of the same id: work in proportion to what changed.
  // A buyer not listed has exactly the orders of the base (perhaps on other lines). Set only
  // when the parse reused a memo's snapshot.
  struct Changes {
    std::uint64_t base = 0;
    std::vector<std::pair<std::string, std::string>> buyers;
    // Indices, increasing. `rebuilt`: the orders here not copied from a single row of the base;
    // `unkept`: the orders of the base not here as they were (changed, gone, or only stated
    // again by rows built anew). An order of the base whose id is here is in `unkept` only if
    // that id's order here is in `rebuilt` (feed_trust's shrink_sign relies on it).
    std::vector<std::uint32_t> rebuilt;
    std::vector<std::uint32_t> unkept;
  };
  std::optional<Changes> changed;
};

// Parses feed bytes (the whole file). `source` names it in messages. When an order appears
// in several rows the newest state wins: a paid or closed row is never overridden by an
// unpaid one; otherwise the row with the newer payment/close/creation time wins, and on a tie
// the later row. Every other row of it is listed in `superseded`, none is silently dropped.
FeedSnapshot parse_feed(std::string_view bytes, const FeedOptions& options, const std::string& source);

// What parsing an export remembers for the next export of the same feed: each row's bytes (a
// 64-bit hash, io/fast_hash.h, and the length) and the order the row gave, in the snapshot it made. Given the
// memo of the last parse, parse_feed() builds only the rows whose bytes it has not seen and
// shares the others' orders with the memo's snapshot (an export rewritten every minute mostly
// repeats itself, in any row order; an order on another line than before is copied, with its
// new line); the snapshot is the one a parse without memo gives, line numbers and messages included
// (tests/io/feed_test.cpp). Only orders read from one row each are remembered (not a rejected row,
// nor an order that several rows state), and only when the header row, the encoding and the
// options are the same. Raw CSV reading only (a Taobao export, a mapped CSV in UTF-8 or GB18030);
// JSON Lines are read whole. Two different rows of the same length taking the same orders would
// need a 64-bit hash collision (~1 in 10^7 for two million-row exports). Not thread-safe.
class FeedMemo {
 public:
  // `snapshot` is what the last parse_feed() given this memo returned: the next one reuses it.
  // Until this is called, the next parse reuses the snapshot remembered before (or none).
  void remember(std::shared_ptr<const FeedSnapshot> snapshot);
  // Rows of the last parse whose order was reused (shared or copied) instead of built.
  std::size_t reused() const { return reused_; }
  void clear() { *this = FeedMemo{}; }

  // For parse_feed (io/feed.cpp): the rows remembered, in their order in the export, each one's
  // bytes (hash, length) and its order's index in `snapshot_` + 1, found by their bytes through an
  // open addressing table (index in `rows` + 1; 0 free); and what the parse now under way found.
  // A row is first looked for right after the row found before it (an export mostly keeps its
  // order): read in sequence, not a cache miss per row in a table of a million.
  struct Slot {
    std::uint64_t hash = 0;
    std::uint32_t size = 0;
    std::uint32_t order = 0;
    // The order's id hashed (std::hash) and its line: a row found here is kept without a look at
    // the order itself (a cache miss or two per row of a million).
    std::uint64_t id_hash = 0;
    std::int32_t line = 0;
    std::int32_t lines = 0;  // line ends in the row's bytes (they end where the next record starts)
  };
  struct Table {
    std::string layout;  // header row bytes, encoding, options: reuse only when equal
    std::vector<Slot> rows;
    std::vector<std::uint32_t> slots;
  };
  // The row with these bytes (its order: `snapshot_`'s order - 1), or nullptr; tried first: the
  // row after `last` (the one found before), when given.
  const Slot* find(const Table& in, std::uint64_t hash, std::size_t size, const Slot* last = nullptr) const;
  // `s` is the row with these bytes, its order in `snapshot_`.
  bool fits(const Slot& s, std::uint64_t hash, std::size_t size) const {
    return s.hash == hash && s.size == size && s.order != 0 && s.order <= snapshot_->orders.size();
  }
  Table current_;
  Table next_;  // the rows of the parse under way, until remember()
  std::shared_ptr<const FeedSnapshot> snapshot_;
  std::size_t reused_ = 0;
};

// parse_feed, reusing the orders of unchanged rows from `memo` and filling it for the next call
// (then call memo.remember() with the snapshot).
FeedSnapshot parse_feed(std::string_view bytes, const FeedOptions& options, const std::string& source, FeedMemo& memo);

// The bytes of an export still being read (io/feed_poller.cpp reads a file into them on a thread
// of its own): a prefix of them that grows until they are all there. Its views stay valid (the
// bytes do not move) until the reading is over.
class ArrivingBytes {
 public:
  virtual ~ArrivingBytes() = default;
  // The bytes there now, after waiting until there are more than `have` or all are there (then
  // `all` is set).
  virtual std::string_view wait_past(std::size_t have, bool& all) = 0;
  // Every byte (waits for them).
  std::string_view wait_all() {
    bool all = false;
    std::string_view bytes;
    while (!all) bytes = wait_past(bytes.size(), all);
    return bytes;
  }
};

// parse_feed(bytes, ..., memo) on bytes still arriving: a raw CSV feed (as FeedMemo reads them)
// whose header shows its format and encoding is parsed as its bytes come, its records taken only
// once their ends are there; any other is parsed once all its bytes are there. The same snapshot
// as parse_feed() of all the bytes (tests/io/feed_test.cpp).
FeedSnapshot parse_feed(ArrivingBytes& bytes, const FeedOptions& options, const std::string& source, FeedMemo& memo);

// Reads and parses a file. Throws FeedError if it cannot be read.
FeedSnapshot read_feed_file(const std::string& path, const FeedOptions& options);

// Parses a yuan amount as shop exports write it: "59.9", "1,299.00", "￥59.90", "¥8".
// At most two decimals; thousands separators must group by three. Returns fen, or
// nullopt for anything else, including negative amounts.
std::optional<Money> parse_yuan(std::string_view text);

}  // namespace cuifu
