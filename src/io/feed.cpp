#include "io/feed.h"

#include <date/tz.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <functional>
#include <memory>
#include <thread>
#include <unordered_map>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/parallel.h"
#include "core/text.h"
#include "io/charset.h"
#include "io/csv.h"
#include "io/fast_hash.h"
#include "io/feed_fields.h"
#include "io/jsonl_fields.h"
#include "io/present_pages.h"

namespace cuifu {

namespace {

// Taobao export headers per field; the first one present wins.
constexpr std::array<std::pair<Field, std::string_view>, 24> kTaobaoHeaders = {{
    {kOrderId, "订单编号"},
    {kBuyer, "买家会员名"},
    {kAmount, "买家应付货款"},
    {kAmount, "总金额"},
    {kStatus, "订单状态"},
    {kNote, "买家留言"},
    {kReceiverName, "收货人姓名"},
    {kAddress, "收货地址"},
    {kPhone, "联系手机"},
    {kCreatedAt, "订单创建时间"},
    {kPaidAt, "订单付款时间"},
    {kItem, "宝贝标题"},
    {kShop, "店铺名称"},
    {kClosedAt, "订单关闭时间"},
    {kEmail, "买家邮箱"},
    {kEmail, "邮箱"},
    {kItemCode, "商家编码"},
    {kStock, "库存"},
    // 大促 orders: the order type (预售 / 聚划算 / 秒杀) and a pre-sale order's balance window.
    {kOrderType, "订单类型"},
    {kOrderType, "分阶段订单信息"},
    {kBalanceStarts, "尾款支付开始时间"},
    {kBalanceStarts, "尾款开始时间"},
    {kBalanceEnds, "尾款支付结束时间"},
    {kBalanceEnds, "尾款结束时间"},
}};

// One row's values by field, as views into the feed (or a decoded copy of a field);
// nullopt when the feed has no such column or key.
using RawRow = std::array<std::optional<std::string_view>, kFieldCount>;

// What differs between the feed formats when a row becomes an order.
struct RowRules {
  std::array<std::string, kFieldCount> label;  // how messages name each field
  std::function<std::optional<OrderStatus>(std::string_view)> status_of;
  std::optional<OrderStatus> empty_status;  // for an empty/absent status; nullopt: the row is rejected
  bool paid_at_always_paid = true;          // false: a paid_at only turns unpaid into paid
};

std::string lower_ascii(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// Excel-proofing that shops put on cells so Excel keeps long numbers as text:
// '13887769866, \t138..., ="2938390312379655154" (also seen doubled: =""…""). Applied to
// every field of every feed: an amount or a time may carry it as well as a phone or an id.
// Only ever cuts bytes off both ends: the result is a view into `raw`.
std::string_view clean_excel_text(std::string_view raw) {
  std::string_view s = trimmed(raw);
  while (true) {
    if (s.size() >= 3 && s.starts_with("=\"") && s.ends_with("\"")) {
      s = s.substr(2, s.size() - 3);
      if (s.size() >= 2 && s.starts_with("\"") && s.ends_with("\"")) s = s.substr(1, s.size() - 2);
    } else if (s.starts_with("'") || s.starts_with("\t")) {
      s = s.substr(1);
    } else {
      break;
    }
    s = trimmed(s);
  }
  return s;
}

std::optional<OrderStatus> taobao_status(std::string_view value) {
  // Read without spaces and with full-width commas as ASCII ones; most statuses have neither,
  // and are read as they are.
  std::string spelled;
  std::string_view s = value;
  if (value.find(' ') != std::string_view::npos || value.find("，") != std::string_view::npos) {
    for (std::size_t i = 0; i < value.size(); ++i) {
      if (value.substr(i, 3) == "，") {
        spelled.push_back(',');
        i += 2;
      } else if (value[i] != ' ') {
        spelled.push_back(value[i]);
      }
    }
    s = spelled;
  }
  if (s == "等待买家付款") return OrderStatus::unpaid;
  if (s == "买家已付款,等待卖家发货" || s == "卖家已发货,等待买家确认" || s == "交易成功") {
    return OrderStatus::paid;
  }
  if (s == "交易关闭") return OrderStatus::closed;
  return std::nullopt;
}

std::optional<OrderStatus> jsonl_status(std::string_view value) {
  const std::string s = lower_ascii(value);
  if (s == "unpaid") return OrderStatus::unpaid;
  if (s == "paid") return OrderStatus::paid;
  if (s == "closed") return OrderStatus::closed;
  return taobao_status(value);
}

// Turns a row into `out`; returns why not, or "" on success.
std::string build_order(const RawRow& row, const RowRules& rules, Order& out) {
  // A field's cleaned text, a view into the row: copied only into the order's own strings.
  const auto value = [&](Field f) { return row[f] ? clean_excel_text(*row[f]) : std::string_view(); };
  const auto missing = [&](Field f) { return rules.label[f] + " missing"; };
  const auto read_time = [&](Field f, std::optional<LocalTime>& t) -> std::string {
    const std::string_view v = value(f);
    if (v.empty()) return {};
    t = parse_local_time(v);
    return t ? std::string() : fmt::format("bad time '{}' in {}", v, rules.label[f]);
  };
  Order o;
  o.id = value(kOrderId);
  if (o.id.empty()) return missing(kOrderId);
  std::optional<LocalTime> created;
  if (value(kCreatedAt).empty()) return missing(kCreatedAt);
  for (auto [field, slot] : {std::pair{kCreatedAt, &created},
                             {kPaidAt, &o.paid_at},
                             {kClosedAt, &o.closed_at},
                             {kBalanceStarts, &o.balance_starts},
                             {kBalanceEnds, &o.balance_ends}}) {
    if (auto error = read_time(field, *slot); !error.empty()) return error;
  }
  o.created_at = *created;
  o.type = order_type_from_text(value(kOrderType));
  if (o.balance_starts && o.balance_ends && *o.balance_ends <= *o.balance_starts) {
    return fmt::format("{} must be after {}", rules.label[kBalanceEnds], rules.label[kBalanceStarts]);
  }
  // A pre-sale order still waiting for its balance: a payment time is the deposit's.
  const bool deposit_only = o.type == OrderType::presale && (o.balance_starts || o.balance_ends);
  if (row[kAmount]) {
    const std::string_view v = value(kAmount);
    if (v.empty()) return missing(kAmount);
    const auto amount = parse_yuan(v);
    if (!amount) return fmt::format("bad amount '{}' in {}", v, rules.label[kAmount]);
    o.amount = *amount;
  }
  const std::string_view status = value(kStatus);
  if (status.empty()) {
    if (o.paid_at) {
      o.status = OrderStatus::paid;
    } else if (rules.empty_status) {
      o.status = *rules.empty_status;
    } else {
      return missing(kStatus);
    }
  } else {
    const auto s = rules.status_of(status);
    if (!s) return fmt::format("unknown status '{}' in {}", status, rules.label[kStatus]);
    o.status = *s;
    if (deposit_only && o.status == OrderStatus::unpaid) {
      o.paid_at.reset();
    } else if (o.paid_at && (rules.paid_at_always_paid || o.status == OrderStatus::unpaid)) {
      o.status = OrderStatus::paid;
    }
  }
  o.receiver_name = value(kReceiverName);
  o.buyer = value(kBuyer);
  if (o.buyer.empty()) o.buyer = o.receiver_name;
  if (o.buyer.empty()) return missing(kBuyer);
  o.phone = value(kPhone);
  o.address = value(kAddress);
  o.email = value(kEmail);
  o.note = value(kNote);
  o.item = value(kItem);
  o.shop = value(kShop);
  o.item_code = clean_excel_text(value(kItemCode));
  // Stock that is not a plain count stays unknown: no message then says stock is low.
  if (const std::string_view stock = clean_excel_text(value(kStock));
      !stock.empty() && stock.size() < 9 &&
      std::all_of(stock.begin(), stock.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    o.stock = std::stoi(std::string(stock));
  }
  out = std::move(o);
  return {};
}

// The newest moment a row speaks for: its payment or close time, else its creation.
LocalTime row_time(const Order& o) {
  LocalTime t = o.created_at;
  if (o.paid_at) t = std::max(t, *o.paid_at);
  if (o.closed_at) t = std::max(t, *o.closed_at);
  return t;
}

// True when `row` (read after `kept`) states the order's state better than `kept`. A paid
// or closed row always beats an unpaid one (an order never becomes unpaid again); between
// rows of the same kind the newer row time wins, then the later row.
bool supersedes(const Order& row, const Order& kept) {
  const bool row_final = row.status != OrderStatus::unpaid;
  const bool kept_final = kept.status != OrderStatus::unpaid;
  if (row_final != kept_final) return row_final;
  return row_time(row) >= row_time(kept);
}

// Every field of two orders is the same, but their lines.
bool same_order(const Order& a, const Order& b) {
  return a.id == b.id && a.buyer == b.buyer && a.receiver_name == b.receiver_name && a.address == b.address &&
         a.phone == b.phone && a.email == b.email && a.note == b.note && a.item == b.item && a.shop == b.shop &&
         a.item_code == b.item_code && a.stock == b.stock && a.amount == b.amount && a.status == b.status &&
         a.created_at == b.created_at && a.paid_at == b.paid_at && a.closed_at == b.closed_at && a.type == b.type &&
         a.balance_starts == b.balance_starts && a.balance_ends == b.balance_ends;
}

// Collects orders, rejections and rows superseded by a newer row of the same order.
class SnapshotBuilder {
 public:
  explicit SnapshotBuilder(FeedSnapshot& snapshot) : snapshot_(snapshot) {}

  // The orders of `base` may be shared (keep_shared()) from now on; before any order is kept.
  void share_from(const OrderList& base) {
    const std::size_t reserved = reserve_;
    orders_ = OrderList::Builder(&base);
    orders_.reserve(reserved);
  }
  // `present`: the orders will all be built here (no base to share from), so the memory for
  // them is made present in one go (make_present) rather than a page fault at a time as they
  // are kept: 1M orders are ~420 MB, ~100,000 faults on the thread that keeps them.
  void reserve(std::size_t n, bool present = false) {
    reserve_ = n;
    orders_.reserve(n);
    if (present) {
      const auto [at, bytes] = orders_.reserved();
      make_present(at, bytes);
    }
    if (used_ == 0) {  // the id table at its final size: not grown (rehashed) ten times on the way
      std::size_t capacity = slots_.size();
      while (capacity < n * 2) capacity *= 2;
      slots_.assign(capacity, {});
    }
  }
  // Sets the snapshot's orders; the builder is done.
  void finish() { snapshot_.orders = std::move(orders_).finish(std::move(slots_)); }

  void reject(int line, std::string error) { snapshot_.rejected.push_back({line, std::move(error)}); }

  void add(const RawRow& row, const RowRules& rules, int line) {
    Order order;
    if (auto error = build_order(row, rules, order); !error.empty()) return reject(line, std::move(error));
    keep(std::move(order), line);
  }

  static std::uint64_t hash_of(std::string_view id) { return std::hash<std::string_view>{}(id); }
  std::size_t size() const { return orders_.size(); }
  // The id table's slot of an id of this hash (hash_of), fetched into the cache ahead of keep():
  // a table of a million ids takes a miss of the cache per order kept, ~100 ns each in turn.
  void prefetch(std::uint64_t hash) const { __builtin_prefetch(&slots_[hash & (slots_.size() - 1)]); }

  // Sets the snapshot's `changed` against `base`, whose rows were reused: `seen` the kept rows
  // (their orders' indices), `seen_base` each one's order in `base` + 1 (0: built from its
  // bytes), `rows_of` the rows kept per order (2: two or more). An order is as in the base when
  // a single row gave it and that row was reused.
  void changes_from(const FeedSnapshot& base, const std::vector<FeedMemo::Slot>& seen,
                    const std::vector<std::uint32_t>& seen_base, const std::vector<std::uint8_t>& rows_of) {
    const auto& orders = orders_;
    std::vector<std::uint8_t> same(orders.size(), 0), kept(base.orders.size(), 0);
    for (std::size_t i = 0; i < seen.size(); ++i) {
      if (seen_base[i] == 0 || rows_of[seen[i].order] != 1) continue;
      same[seen[i].order] = 1;
      kept[seen_base[i] - 1] = 1;
    }
    // An order built again (its row changed, or several rows state it) may still be the base's:
    // compared with the base's order of that id among those not kept.
    std::unordered_map<std::string_view, std::uint32_t> unkept;
    for (std::size_t j = 0; j < base.orders.size(); ++j) {
      if (!kept[j]) unkept.emplace(base.orders[j].id, static_cast<std::uint32_t>(j));
    }
    FeedSnapshot::Changes changes;
    std::vector<std::pair<std::string_view, std::string_view>> keys;
    for (std::size_t k = 0; k < orders.size(); ++k) {
      if (same[k]) continue;
      changes.rebuilt.push_back(static_cast<std::uint32_t>(k));
      if (const auto it = unkept.find(orders[k].id);
          it != unkept.end() && same_order(orders[k], base.orders[it->second])) {
        kept[it->second] = 1;
        continue;
      }
      keys.emplace_back(orders[k].shop, orders[k].buyer);
    }
    for (std::size_t j = 0; j < base.orders.size(); ++j) {
      if (kept[j]) continue;
      keys.emplace_back(base.orders[j].shop, base.orders[j].buyer);
      changes.unkept.push_back(static_cast<std::uint32_t>(j));
    }
    std::sort(keys.begin(), keys.end());
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
    changes.base = base.generation;
    changes.buyers.reserve(keys.size());
    for (const auto& [shop, buyer] : keys) changes.buyers.emplace_back(shop, buyer);
    snapshot_.changed = std::move(changes);
  }

  // An order built from the row on `line`; `hash`: hash_of(order.id), worked out beforehand
  // (the feed's threads do it for their rows).
  void keep(Order order, int line) {
    const std::uint64_t hash = hash_of(order.id);
    keep(std::move(order), line, hash);
  }
  // Returns the order's index in the snapshot (new, or the one this row supersedes or not).
  std::uint32_t keep(Order order, int line, std::uint64_t hash) {
    order.source_line = line;
    std::uint32_t& slot = find(order.id, hash);
    if (slot == 0) return added(slot, orders_.add(std::move(order)));
    return settle(slot - 1, std::move(order), line);
  }
  // The order of `base` (share_from()) at `base_index`, on `base_line` there, stated again by the
  // row on `line`; `hash`: hash_of(its id). Shared when it is on the same line and no other row
  // stated it yet, else copied. The order itself is not looked at unless copied (or an order
  // already kept has an id of the same hash).
  std::uint32_t keep_shared(const OrderList& base, std::uint32_t base_index, int base_line, int line,
                            std::uint64_t hash) {
    if (base_line != line) return keep(base[base_index], line, hash);
    std::uint32_t& slot = find_shared(base, base_index, hash);
    if (slot == 0) return added(slot, orders_.add_shared(base_index));
    return settle(slot - 1, base[base_index], line);
  }

 private:
  std::uint32_t added(std::uint32_t& slot, std::uint32_t index) {
    slot = index + 1;  // `slot` moves when the table grows
    if (++used_ * 2 > slots_.size()) grow();
    return index;
  }
  // The row on `line` states the order already kept at `index` again.
  std::uint32_t settle(std::uint32_t index, Order order, int line) {
    order.source_line = line;
    const Order& kept = orders_[index];
    // A payment time seen on any row is kept: a refunded (closed) order that was paid is not
    // a buyer who never paid.
    const std::optional<LocalTime> paid_at = kept.paid_at ? kept.paid_at : order.paid_at;
    if (supersedes(order, kept)) {
      snapshot_.superseded.push_back({kept.source_line, kept.id, line});
      orders_.replace(index, std::move(order));
    } else {
      snapshot_.superseded.push_back({line, kept.id, kept.source_line});
    }
    const Order& now = orders_[index];
    if (!now.paid_at && paid_at && now.status != OrderStatus::unpaid) orders_.edit(index).paid_at = paid_at;
    return index;
  }

  // Order id -> its row in the orders: open addressing over (hash, row + 1) slots, row 0
  // free, at most half full. No copy of an id is kept (a std::unordered_map<std::string> took
  // one allocation per order and most of the main thread's time on a big feed).
  std::uint32_t& find(std::string_view id, std::uint64_t hash) {
    return find_by([id] { return id; }, hash);
  }
  // find(base[base_index].id, hash), looking at that id only when another has the same hash.
  std::uint32_t& find_shared(const OrderList& base, std::uint32_t base_index, std::uint64_t hash) {
    return find_by([&]() -> std::string_view { return base[base_index].id; }, hash);
  }
  // `id()` gives the id looked for; called only for a slot of the same hash.
  template <class Id>
  std::uint32_t& find_by(const Id& id, std::uint64_t hash) {
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t i = hash & mask;; i = (i + 1) & mask) {
      auto& [h, row] = slots_[i];
      if (row == 0) {
        h = hash;
        return row;
      }
      if (h == hash && orders_[row - 1].id == id()) return row;
    }
  }
  void grow() {
    std::vector<std::pair<std::uint64_t, std::uint32_t>> old(slots_.size() * 2);
    old.swap(slots_);
    const std::size_t mask = slots_.size() - 1;
    for (const auto& [h, row] : old) {
      if (row == 0) continue;
      std::size_t i = h & mask;
      while (slots_[i].second != 0) i = (i + 1) & mask;
      slots_[i] = {h, row};
    }
  }

  FeedSnapshot& snapshot_;
  OrderList::Builder orders_;
  std::size_t reserve_ = 0;
  std::vector<std::pair<std::uint64_t, std::uint32_t>> slots_ =
      std::vector<std::pair<std::uint64_t, std::uint32_t>>(1024);
  std::size_t used_ = 0;
};

// The feed as UTF-8, with the lines that held undecodable bytes.
struct DecodedFeed {
  std::string text;
  std::string encoding;
  std::map<int, std::string> bad_lines;  // physical line -> what was wrong

  // The decoding problem inside lines [first, last], or nullptr.
  const std::string* problem_in(int first, int last) const {
    const auto it = bad_lines.lower_bound(first);
    return it != bad_lines.end() && it->first <= last ? &it->second : nullptr;
  }
};

// What detect_feed_encoding() says from the first line alone (`bytes` holding at least it and
// the line end after it): a UTF-8 BOM or a non-ASCII line of valid UTF-8 is UTF-8, a line that
// is not valid UTF-8 is GB18030 (nor is the whole then: CR and LF are never inside a character);
// "" for an ASCII line, which leaves it to the rest of the bytes.
std::string encoding_by_first_line(std::string_view bytes) {
  if (bytes.starts_with("\xEF\xBB\xBF")) return "utf-8";
  const std::string_view first = bytes.substr(0, bytes.find_first_of("\r\n"));
  if (std::all_of(first.begin(), first.end(), [](char c) { return (c & 0x80) == 0; })) return {};
  return is_valid_utf8(first) ? "utf-8" : "gb18030";
}

// Like detect_encoding, but a file whose first line is non-ASCII UTF-8 stays UTF-8 even
// if a later row has a bad byte: that row is then rejected instead of the file misread. Decided
// by the first line when it can be (not a pass over a 300 MB UTF-8 export).
std::string detect_feed_encoding(std::string_view bytes) {
  if (std::string encoding = encoding_by_first_line(bytes); !encoding.empty()) return encoding;
  return detect_encoding(bytes);
}

DecodedFeed decode_feed(std::string_view bytes, const std::string& encoding, const std::string& source) {
  DecodedFeed feed;
  feed.encoding = encoding.empty() ? detect_feed_encoding(bytes) : normalize_encoding(encoding);
  std::vector<std::size_t> bad_offsets;
  try {
    feed.text = to_utf8_replacing(bytes, feed.encoding, bad_offsets);
  } catch (const CharsetError& e) {
    throw FeedError(fmt::format("{}: {}", source, e.what()));
  }
  // Line numbers count LF, CRLF and CR as parse_csv does; none is ever part of a
  // multi-byte UTF-8 or GB18030 character, so raw bytes give the same lines.
  int line = 1;
  std::size_t pos = 0;
  for (const std::size_t offset : bad_offsets) {
    for (; pos < offset; ++pos) {
      if (bytes[pos] == '\n' || (bytes[pos] == '\r' && (pos + 1 >= bytes.size() || bytes[pos + 1] != '\n'))) ++line;
    }
    feed.bad_lines.emplace(line, fmt::format("invalid {} byte sequence at byte offset {}", feed.encoding, offset));
  }
  return feed;
}

// Column index per field (-1: absent) and how messages name it.
struct CsvLayout {
  std::array<int, kFieldCount> column;
  RowRules rules;
};

int find_column(const std::vector<std::string>& names, std::string_view name) {
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (names[i] == name) return static_cast<int>(i);
  }
  return -1;
}

CsvLayout taobao_layout(const std::vector<std::string>& names, const std::string& source, const std::string& encoding) {
  CsvLayout layout;
  layout.column.fill(-1);
  for (const auto& [field, header] : kTaobaoHeaders) {
    const int index = find_column(names, header);
    if (layout.column[field] >= 0 || index < 0) continue;
    layout.column[field] = index;
    layout.rules.label[field] = std::string(header);
  }
  for (const auto& [field, required] : {std::pair{kOrderId, "订单编号"},
                                        {kCreatedAt, "订单创建时间"},
                                        {kStatus, "订单状态"},
                                        {kAmount, "买家应付货款 or 总金额"}}) {
    if (layout.column[field] < 0) {
      throw FeedError(fmt::format("{}: missing required column {} (read as {}; is the encoding right?)", source,
                                  required, encoding));
    }
  }
  if (layout.column[kBuyer] < 0) layout.rules.label[kBuyer] = "买家会员名";
  layout.rules.status_of = taobao_status;
  layout.rules.paid_at_always_paid = false;  // a refunded order (交易关闭) stays closed
  return layout;
}

CsvLayout mapped_layout(const std::vector<std::string>& names, const ColumnMapping& mapping,
                        const std::string& source) {
  CsvLayout layout;
  layout.column.fill(-1);
  for (std::size_t f = 0; f < kFieldCount; ++f) layout.rules.label[f] = std::string(kFieldNames[f]);
  for (const auto& [field, header] : mapping.columns) {
    std::size_t f = 0;
    while (f < kFieldCount && kFieldNames[f] != field) ++f;
    if (f == kFieldCount)
      throw FeedError(fmt::format("{}: unknown field '{}' in the column mapping", mapping.source, field));
    layout.column[f] = find_column(names, header);
    if (layout.column[f] < 0) {
      throw FeedError(fmt::format("{}: missing column {} (mapped to {} by {})", source, header, field, mapping.source));
    }
    layout.rules.label[f] = header;
  }
  for (const Field required : {kOrderId, kCreatedAt}) {
    if (layout.column[required] < 0) {
      throw FeedError(fmt::format("{}: the column mapping has no {}", mapping.source, kFieldNames[required]));
    }
  }
  layout.rules.status_of = [values = mapping.status_values](std::string_view v) -> std::optional<OrderStatus> {
    if (const auto it = values.find(std::string(v)); it != values.end()) return it->second;
    const std::string lower = lower_ascii(v);
    for (const auto& [key, status] : values) {
      if (lower_ascii(key) == lower) return status;
    }
    return std::nullopt;
  };
  layout.rules.empty_status = mapping.default_status;
  return layout;
}

// The bytes a CSV feed is read from, and how its fields become UTF-8. Raw bytes are read
// as they are, without decoding the whole file first: no byte of a multi-byte UTF-8 or
// GB18030 character is a comma, quote, CR or LF, so the record structure is found on the
// raw bytes, each record is checked for bad bytes, and only the fields that are used and
// hold non-ASCII bytes are decoded.
struct CsvSource {
  std::string_view text;                      // what the CSV reader walks
  std::size_t base = 0;                       // offset of `text` in the feed's bytes (a skipped BOM)
  std::string encoding;                       // "utf-8" or "gb18030"
  const Gb18030Decoder* gb = nullptr;         // set: `text` is raw GB18030
  const DecodedFeed* decoded = nullptr;       // set: `text` was decoded in one piece (problems by line)
  std::function<void(std::size_t)> consumed;  // told now and then how far the bytes have been read

  // The decoding problem in a record, or "".
  std::string problem(const CsvRecordView& r) const {
    if (decoded) {
      const auto* p = decoded->problem_in(r.line, r.last_line);
      return p ? *p : std::string();
    }
    const std::string_view bytes = text.substr(r.begin, r.end - r.begin);
    const std::size_t bad = gb ? gb->first_invalid(bytes) : first_invalid_utf8(bytes);
    if (bad == std::string_view::npos) return {};
    return fmt::format("invalid {} byte sequence at byte offset {}", encoding, base + r.begin + bad);
  }

  // A field as UTF-8: the view itself, or its decoding in `scratch`. REQUIRES: the record
  // has no problem().
  std::string_view field(std::string_view raw, std::string& scratch) const {
    if (!gb || std::all_of(raw.begin(), raw.end(), [](char c) { return (c & 0x80) == 0; })) return raw;
    scratch.clear();
    std::vector<std::size_t> bad;
    gb->append(raw, scratch, bad);
    return scratch;
  }
};

// A delimiter that can be the second byte of a GB18030 character makes raw reading unsafe.
bool raw_safe(const std::string& encoding, char delimiter) {
  const auto d = static_cast<unsigned char>(delimiter);
  return encoding == "utf-8" ||
         !(d >= 0x30 && d != 0x3A && d != 0x3B && d != 0x3C && d != 0x3D && d != 0x3E && d != 0x3F);
}

// Rows one thread turns into orders per round; a round holds this many per thread.
constexpr std::size_t kRowsPerThreadAndRound = 8192;
constexpr std::size_t kMaxFeedThreads = 8;
// How many entries ahead a loop over a big random-access table asks for the one it will need.
constexpr std::size_t kPrefetchAhead = 8;

// A raw CSV feed's bytes as they arrive (ArrivingBytes), past the feed's `base` (a BOM).
struct Arrival {
  ArrivingBytes* in = nullptr;
  std::size_t base = 0;
  std::string_view text;  // the bytes there now, past `base`
  bool all = false;       // `text` is every byte
  // Waits for more bytes (or for the last of them).
  void more() {
    if (all) return;
    const std::string_view bytes = in->wait_past(base + text.size(), all);
    text = bytes.substr(std::min(base, bytes.size()));
  }
};

// `memo` (raw bytes only): rows seen by the last parse are not built again (FeedMemo).
// `arriving`: the bytes are still arriving (feed.text is not used); a record is read once the
// byte after its line end is there (the LF of a CR LF cut between two reads, a quote closing a
// field or the next line, an empty line that follows), so the records and their lines are the
// ones read from all the bytes.
void parse_csv_feed(const CsvSource& feed, const FeedOptions& options, const std::string& source, SnapshotBuilder& out,
                    FeedMemo* memo = nullptr, Arrival* arriving = nullptr) {
  const bool mapped = options.format == FeedFormat::csv;
  if (mapped && !options.mapping) throw FeedError(fmt::format("{}: a generic CSV feed needs a column mapping", source));
  const char delimiter = mapped ? options.mapping->delimiter : ',';
  // The record at the reader is all there (or the bytes are).
  const auto there = [&](const CsvReader& at) {
    if (!arriving || arriving->all) return true;
    CsvReader probe = at;
    std::size_t begin = 0;
    int line = 0;
    return probe.skip(begin, line) && probe.offset() < arriving->text.size();
  };
  if (arriving) {
    while (!there(CsvReader(arriving->text, delimiter))) arriving->more();
  }
  CsvSource head = feed;  // the text as far as it is known here (feed.text unless arriving)
  if (arriving) head.text = arriving->text;
  CsvReader reader(head.text, delimiter);
  CsvRecordView record;
  if (!reader.next(record)) throw FeedError(fmt::format("{}: no header row", source));
  if (!record.error.empty()) throw FeedError(fmt::format("{}:{}: header: {}", source, record.line, record.error));
  if (const std::string problem = head.problem(record); !problem.empty()) {
    throw FeedError(fmt::format("{}:{}: header: {} (is the encoding right?)", source, record.line, problem));
  }
  CsvRecord header;
  std::string scratch;
  for (const auto field : record.fields) header.fields.emplace_back(head.field(field, scratch));
  const auto names = header_names(header);
  const CsvLayout layout =
      mapped ? mapped_layout(names, *options.mapping, source) : taobao_layout(names, source, feed.encoding);
  // Rows are reused only under the same header, encoding and options.
  const FeedMemo::Table* reuse = nullptr;
  std::vector<FeedMemo::Slot> seen;      // each kept row: its bytes and its order's index
  std::vector<std::uint32_t> seen_base;  // with `reuse`: each kept row's order in the base + 1, 0 if built
  if (memo) {
    memo->next_.layout =
        fmt::format("{}\n{}\n{}\n{}", head.text.substr(record.begin, record.end - record.begin), feed.encoding,
                    static_cast<int>(options.format), mapped ? options.mapping->source : "");
    const std::size_t before = memo->current_.rows.size();
    seen.reserve(before + before / 16);
    if (memo->snapshot_ && memo->current_.layout == memo->next_.layout) {
      reuse = &memo->current_;
      seen_base.reserve(before + before / 16);
      out.share_from(memo->snapshot_->orders);
    }
  }
  std::size_t reused = 0;
  // Rows become orders in rounds. Each round the reader finds where the next records start
  // (cheap: memchr for line ends, nothing split or decoded), threads turn contiguous runs of them into orders, each
  // with its own reader sought to its first record, and the orders are then kept or rejected
  // here in row order: the snapshot is the one a single thread makes.
  // A row's result is small (40 bytes), read in turn by the merge; a row built or rejected has
  // its order or error beside it, in `built` or `errors` at the same index. (With the order and
  // the error inside, 504 bytes a row, the merge of a 1M export read ~0.5 GB of them.)
  struct RowResult {
    std::uint64_t id_hash = 0;   // SnapshotBuilder::hash_of(order.id)
    std::uint64_t row_hash = 0;  // with a memo: the row's bytes
    std::uint32_t row_size = 0;
    int line = 0;
    std::int32_t lines = 0;  // with a memo: line ends in the row's bytes
    std::uint32_t base = 0;  // reused: the order's index in the memo's snapshot
    int base_line = 0;       // reused: that order's line
    bool rejected = false;   // why: errors[i]
    bool reused = false;     // the order is the memo's snapshot's (`base`), not built (else: built[i])
  };
  // A record found, and with a memo its row's bytes: from its start to the next record's (the
  // line end and any empty lines after it), hashed, and the memo's row of those bytes if any.
  struct RecordStart {
    std::size_t offset = 0;
    int line = 0;
    std::int32_t lines = 0;  // line ends in the row's bytes
    std::uint32_t row_size = 0;
    std::uint64_t row_hash = 0;
    const FeedMemo::Slot* slot = nullptr;
  };
  // `text`: the feed's bytes, as far as they had come when the round's records were found.
  const auto read_rows = [&](std::string_view text, const std::vector<RecordStart>& starts, std::size_t first,
                             std::size_t last, std::vector<RowResult>& results, std::vector<Order>& built,
                             std::vector<std::string>& errors) {
    if (first == last) return;
    CsvSource part = feed;
    part.text = text;
    CsvReader rows(text, delimiter);
    bool placed = false;  // `rows` is at record i
    CsvRecordView rec;
    std::string field_scratch;
    std::array<std::string, kFieldCount> decoded;  // fields that needed decoding, reused row after row
    for (std::size_t i = first; i < last; ++i) {
      RowResult& result = results[i];
      result.reused = false;
      if (memo) {
        result.row_hash = starts[i].row_hash;
        result.row_size = starts[i].row_size;
        result.lines = starts[i].lines;
        if (const FeedMemo::Slot* s = starts[i].slot) {
          result.line = starts[i].line;
          result.rejected = false;
          result.id_hash = s->id_hash;
          result.base_line = s->line;
          result.reused = true;
          result.base = s->order - 1;
          placed = false;
          continue;
        }
      }
      if (!placed) {
        rows.seek(starts[i].offset, starts[i].line);
        placed = true;
      }
      if (!rows.next(rec)) break;
      result.line = rec.line;
      result.rejected = true;
      std::string& error = errors[i];
      if (!rec.error.empty()) {
        error = rec.error;
        continue;
      }
      if (std::string problem = part.problem(rec); !problem.empty()) {
        error = std::move(problem);
        continue;
      }
      const auto& fields = rec.fields;
      bool extra = false;  // extra empty fields (a trailing delimiter) are harmless
      for (std::size_t f = names.size(); f < fields.size(); ++f)
        extra = extra || !trimmed(part.field(fields[f], field_scratch)).empty();
      if (fields.size() < names.size() || extra) {
        error = fmt::format("expected {} fields, found {}", names.size(), fields.size());
        continue;
      }
      RawRow row;
      for (std::size_t f = 0; f < kFieldCount; ++f) {
        if (layout.column[f] >= 0) row[f] = part.field(fields[static_cast<std::size_t>(layout.column[f])], decoded[f]);
      }
      error = build_order(row, layout.rules, built[i]);
      result.rejected = !error.empty();
      if (!result.rejected) result.id_hash = SnapshotBuilder::hash_of(built[i].id);
    }
  };
  // At most kMaxFeedThreads: past that the merge here is the bottleneck, and a round's orders
  // in flight (about 6 MB per thread) would grow with the machine.
  const std::size_t threads = std::min<std::size_t>(
      kMaxFeedThreads, options.threads > 0 ? options.threads : std::max(1u, std::thread::hardware_concurrency()));
  const std::size_t round_rows = kRowsPerThreadAndRound * threads;
  // A round: where its records start and end, and what the threads made of its rows.
  struct Round {
    std::vector<RecordStart> starts;
    std::size_t end = 0;       // where its last record ends
    std::string_view text;     // the bytes there when they were found
    std::size_t to_build = 0;  // rows not found in the memo
    std::vector<RowResult> results;
    std::vector<Order> built;
    std::vector<std::string> errors;
  };
  // Finds where the next round's records start (false: none left) and, with a memo, their rows'
  // bytes and the memo's rows of the same bytes. The reader stays at a record's start (empty
  // lines are stepped over with the record before them). A row is first taken to be the memo's
  // row after the one found last (an export mostly keeps its order): when the bytes there are
  // those of that row, line end and empty lines included, the record ends where that row did and
  // is not looked for (memchr for its line end and quotes); a record is otherwise read here and
  // its row looked for in the memo's table.
  const FeedMemo::Slot* found = nullptr;  // the memo's row found last
  std::uint32_t missed = 0;               // rows since then not found (changed): the memo has theirs
  // The memo's row `next` if the bytes at `offset` are its own (line end and empty lines after it
  // included) and end where a reader would end the record (not a CR whose LF may follow, not
  // before an empty line), else nullptr.
  const auto same_row = [&](const FeedMemo::Slot* next, std::string_view text, bool all, std::size_t offset,
                            std::uint64_t& hash) -> const FeedMemo::Slot* {
    if (next >= reuse->rows.data() + reuse->rows.size() || next->size == 0 || offset + next->size > text.size())
      return nullptr;
    const std::size_t end = offset + next->size;
    if (text[end - 1] != '\n' || (end < text.size() ? text[end] == '\n' || text[end] == '\r' : !all)) return nullptr;
    hash = fast_hash(text.substr(offset, next->size));
    return memo->fits(*next, hash, next->size) ? next : nullptr;
  };
  const auto find_starts = [&](Round& r) {
    r.starts.clear();
    while (r.starts.size() < round_rows) {
      const bool all = !arriving || arriving->all;
      const std::string_view text = arriving ? arriving->text : feed.text;
      const std::size_t offset = reader.offset();
      const int line = reader.line();
      RecordStart start;
      if (reuse) {
        // The row after the one found last, or after the changed ones since then.
        const FeedMemo::Slot* next = found ? found + 1 : reuse->rows.data();
        std::uint64_t hash = 0;
        const FeedMemo::Slot* same = same_row(next, text, all, offset, hash);
        if (!same && missed > 0 && missed < reuse->rows.data() + reuse->rows.size() - next)
          same = same_row(next + missed, text, all, offset, hash);
        if (same) {
          r.starts.push_back({offset, line, same->lines, same->size, hash, same});
          found = same;
          missed = 0;
          reader.seek(offset + same->size, line + same->lines);
          continue;
        }
      }
      if (!reader.skip(start.offset, start.line)) {
        if (all) break;
        reader.seek(offset, line);
        arriving->more();
        reader.extend(arriving->text);
        continue;
      }
      reader.skip_empty_lines();
      // Still arriving: a record whose end is not there yet (its line end, the empty lines
      // after it, the byte that tells) is read again once more bytes are.
      if (!all && reader.offset() >= text.size()) {
        reader.seek(offset, line);
        arriving->more();
        reader.extend(arriving->text);
        continue;
      }
      if (memo) {
        const std::string_view bytes = text.substr(start.offset, reader.offset() - start.offset);
        start.row_hash = fast_hash(bytes);
        start.row_size = static_cast<std::uint32_t>(bytes.size());
        start.lines = reader.line() - start.line;
        if (reuse) {
          start.slot = memo->find(*reuse, start.row_hash, bytes.size(), found);
          if (start.slot) {
            found = start.slot;
            missed = 0;
          } else {
            ++missed;
          }
        }
      }
      r.starts.push_back(start);
    }
    r.end = reader.offset();
    r.text = arriving ? arriving->text : feed.text;
    r.to_build = 0;
    for (const RecordStart& start : r.starts) r.to_build += start.slot == nullptr;
    return !r.starts.empty();
  };
  // The threads' part: the round's rows turned into orders (or found in the memo).
  const auto turn = [&](Round& r) {
    r.results.resize(r.starts.size());
    r.built.resize(r.starts.size());
    r.errors.resize(r.starts.size());
    // A thread for each 2,048 rows to build at most: fewer and it costs more than it saves. A row
    // found in the memo is next to nothing (its result copied).
    const std::size_t parts = std::clamp<std::size_t>(r.to_build / (kRowsPerThreadAndRound / 4), 1, threads);
    std::vector<std::size_t> weights(r.starts.size(), 1);
    for (std::size_t i = 0; i < weights.size(); ++i) weights[i] = r.starts[i].slot ? 1 : 32;
    run_in_parts(weights, parts, [&](std::size_t first, std::size_t last, std::size_t) {
      read_rows(r.text, r.starts, first, last, r.results, r.built, r.errors);
    });
  };
  std::size_t reported = 0;
  // The round's orders kept or rejected, in row order.
  const auto merge = [&](Round& r) {
    const auto& results = r.results;
    // The rows' id slots are fetched a few rows ahead: kept one after the other, each row waited
    // for its slot (~100 ms of this thread at 1M).
    for (std::size_t i = 0; i < results.size(); ++i) {
      if (i + kPrefetchAhead < results.size() && !results[i + kPrefetchAhead].rejected)
        out.prefetch(results[i + kPrefetchAhead].id_hash);
      const RowResult& result = results[i];
      if (result.rejected) {
        out.reject(result.line, std::move(r.errors[i]));
      } else {
        const std::uint32_t index = result.reused ? out.keep_shared(memo->snapshot_->orders, result.base,
                                                                    result.base_line, result.line, result.id_hash)
                                                  : out.keep(std::move(r.built[i]), result.line, result.id_hash);
        if (memo) seen.push_back({result.row_hash, result.row_size, index, result.id_hash, result.line, result.lines});
        if (reuse) seen_base.push_back(result.reused ? result.base + 1 : 0);
        reused += result.reused;
      }
    }
    if (feed.consumed && r.end - reported >= (std::size_t{32} << 20)) {
      reported = r.end;
      feed.consumed(feed.base + reported);  // the rounds still read start past it
    }
  };
  std::array<Round, 2> rounds;
  if (threads == 1) {
    while (find_starts(rounds[0])) {
      turn(rounds[0]);
      merge(rounds[0]);
    }
  } else {
    // The rounds overlap: while the threads turn round k's rows into orders, this thread merges
    // round k - 1 and finds where round k + 1's records start (one after the other, each side
    // waited for the other: at 1M with a memo, finding the starts ~60 ms, the rows ~85 ms, the
    // merge ~55 ms). Round k is in rounds[k % 2].
    std::size_t k = 0;
    bool more = find_starts(rounds[0]);
    bool merge_other = false;  // rounds[(k + 1) % 2] holds round k - 1, turned
    while (more) {
      Round& now = rounds[k % 2];
      Round& other = rounds[(k + 1) % 2];
      if (now.to_build < kRowsPerThreadAndRound / 4) {
        // Next to nothing to build (an export much like the last): no thread of its own.
        turn(now);
        if (merge_other) merge(other);
        more = find_starts(other);
        merge_other = true;
        ++k;
        continue;
      }
      std::exception_ptr error;
      {
        const std::jthread worker([&] {
          try {
            turn(now);
          } catch (...) {
            error = std::current_exception();
          }
        });
        if (merge_other) merge(other);
        more = find_starts(other);
      }
      if (error) std::rethrow_exception(error);
      merge_other = true;
      ++k;
    }
    if (merge_other) merge(rounds[(k + 1) % 2]);
  }
  if (memo) {
    memo->reused_ = reused;
    // Remembered: the rows whose order no other row states (an order's rows merged or
    // superseded make an order no single row gives).
    std::vector<std::uint8_t> rows_of(out.size(), 0);
    for (const auto& s : seen) rows_of[s.order] = static_cast<std::uint8_t>(std::min(2, rows_of[s.order] + 1));
    auto& rows = memo->next_.rows;
    rows.reserve(seen.size());
    for (const auto& s : seen) {
      if (rows_of[s.order] == 1) rows.push_back({s.hash, s.size, s.order + 1, s.id_hash, s.line, s.lines});
    }
    std::size_t capacity = 16;
    while (capacity < rows.size() * 2) capacity *= 2;
    auto& slots = memo->next_.slots;
    slots.assign(capacity, 0);
    for (std::size_t k = 0; k < rows.size(); ++k) {
      if (k + kPrefetchAhead < rows.size()) __builtin_prefetch(&slots[rows[k + kPrefetchAhead].hash & (capacity - 1)]);
      std::size_t i = rows[k].hash & (capacity - 1);
      while (slots[i] != 0) i = (i + 1) & (capacity - 1);
      slots[i] = static_cast<std::uint32_t>(k + 1);
    }
    if (reuse) out.changes_from(*memo->snapshot_, seen, seen_base, rows_of);
  }
}

void parse_jsonl_feed(const DecodedFeed& feed, SnapshotBuilder& out) {
  RowRules rules;
  for (std::size_t f = 0; f < kFieldCount; ++f) rules.label[f] = std::string(kFieldNames[f]);
  rules.status_of = jsonl_status;
  const std::string_view text = feed.text;
  int line = 0;
  for (std::size_t start = 0; start < text.size();) {
    const std::size_t end = std::min(text.find('\n', start), text.size());
    const std::string_view content = text.substr(start, end - start);
    start = end + 1;
    ++line;
    if (trimmed(content).empty()) continue;
    if (const auto* problem = feed.problem_in(line, line)) {
      out.reject(line, *problem);
      continue;
    }
    std::array<std::optional<std::string>, kFieldCount> values;
    if (std::string error = read_jsonl_fields(content, kFieldNames, values); !error.empty()) {
      out.reject(line, std::move(error));
      continue;
    }
    RawRow row;
    for (std::size_t f = 0; f < kFieldCount; ++f) {
      if (values[f]) row[f] = *values[f];
    }
    out.add(row, rules, line);
  }
}

FeedFormat resolve_format(std::string_view bytes, const FeedOptions& options, const std::string& source) {
  if (options.format != FeedFormat::detect) return options.format;
  const std::string name = lower_ascii(source);
  if (name.ends_with(".jsonl") || name.ends_with(".ndjson")) return FeedFormat::jsonl;
  const std::string_view body = strip_utf8_bom(bytes);
  const std::size_t first = body.find_first_not_of(" \t\r\n");
  if (first != std::string_view::npos && body[first] == '{') return FeedFormat::jsonl;
  return options.mapping ? FeedFormat::csv : FeedFormat::taobao;
}

}  // namespace

std::string read_file_bytes(const std::string& path) {
  const std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!file) throw FeedError(fmt::format("cannot read {}: {}", path, std::strerror(errno)));
  std::string bytes;
  // Sized once: a 300 MB export grown by appending is reallocated (mremap) again and again,
  // each time holding the process's memory map, which stalls the other threads' page faults
  // (the status server's answers among them).
  if (struct stat st{}; ::fstat(::fileno(file.get()), &st) == 0 && S_ISREG(st.st_mode)) {
    bytes.reserve(static_cast<std::size_t>(st.st_size));
  }
  char buffer[65536];
  std::size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof buffer, file.get())) > 0) bytes.append(buffer, n);
  if (std::ferror(file.get())) throw FeedError(fmt::format("cannot read {}: {}", path, std::strerror(errno)));
  return bytes;
}

std::optional<Money> parse_yuan(std::string_view text) {
  std::string_view s = trimmed(text);
  for (const std::string_view sign : {"￥", "¥"}) {
    if (s.starts_with(sign)) s = trimmed(s.substr(sign.size()));
  }
  const std::size_t dot = s.find('.');
  const std::string_view whole = s.substr(0, dot);
  const std::string_view frac = dot == std::string_view::npos ? std::string_view() : s.substr(dot + 1);
  if (whole.empty() || (dot != std::string_view::npos && (frac.empty() || frac.size() > 2))) return std::nullopt;
  Money yuan = 0;
  int digits = 0;
  int group = -1;  // digits since the last thousands separator; -1 before the first one
  for (const char c : whole) {
    if (c == ',') {
      if (digits == 0 || (group >= 0 && group != 3) || (group < 0 && digits > 3)) return std::nullopt;
      group = 0;
      continue;
    }
    if (c < '0' || c > '9' || ++digits > 13) return std::nullopt;
    if (group >= 0) ++group;
    yuan = yuan * 10 + (c - '0');
  }
  if (group >= 0 && group != 3) return std::nullopt;
  Money fen = 0;
  for (std::size_t i = 0; i < 2; ++i) {
    const char c = i < frac.size() ? frac[i] : '0';
    if (c < '0' || c > '9') return std::nullopt;
    fen = fen * 10 + (c - '0');
  }
  return yuan * 100 + fen;
}

namespace {

// parse_feed, telling `consumed` now and then how far into `bytes` it has read. `arriving`: the
// bytes are still arriving, `bytes` is what is there so far (from which parse_feed(ArrivingBytes&)
// saw that the feed is a raw CSV of a known encoding).
FeedSnapshot parse_feed_bytes(std::string_view bytes, const FeedOptions& options, const std::string& source,
                              const std::function<void(std::size_t)>& consumed, FeedMemo* memo = nullptr,
                              ArrivingBytes* arriving = nullptr) {
  FeedSnapshot snapshot;
  if (memo) {
    memo->next_ = {};
    memo->reused_ = 0;
    static std::atomic<std::uint64_t> parses{0};
    snapshot.generation = ++parses;
  }
  snapshot.source = source;
  // As many orders as lines at most: the vector is allocated once, not grown by doubling with
  // two copies alive (1,000,000 orders: 430 MB, not 650 MB at the last doubling).
  std::size_t reserve = 0;
  if (memo && memo->snapshot_) {
    // About as many as the export before it had rows, without counting the lines (~30 ms at 1M):
    // a bigger export grows the vectors as it goes.
    const FeedSnapshot& before = *memo->snapshot_;
    const std::size_t rows = before.orders.size() + before.superseded.size() + before.rejected.size();
    reserve = rows + rows / 16;
  } else if (bytes.size() > (std::size_t{16} << 20)) {
    std::size_t lines = 0;
    for (const char* p = bytes.data(); (p = static_cast<const char*>(std::memchr(
                                            p, '\n', static_cast<std::size_t>(bytes.data() + bytes.size() - p))));
         ++p) {
      ++lines;
    }
    reserve = lines + 1;
  }
  FeedOptions resolved = options;
  resolved.format = resolve_format(bytes, options, source);
  SnapshotBuilder builder(snapshot);
  builder.reserve(reserve, !(memo && memo->snapshot_));
  const std::string encoding =
      options.encoding.empty() ? detect_feed_encoding(bytes) : normalize_encoding(options.encoding);
  const char delimiter = resolved.format == FeedFormat::csv && resolved.mapping ? resolved.mapping->delimiter : ',';
  if (resolved.format != FeedFormat::jsonl && (encoding == "utf-8" || encoding == "gb18030") &&
      raw_safe(encoding, delimiter)) {
    CsvSource feed;
    feed.encoding = encoding;
    feed.text = bytes;
    constexpr std::string_view kGbBom = "\x84\x31\x95\x33";
    if (encoding == "gb18030") {
      feed.gb = &Gb18030Decoder::instance();
      if (bytes.starts_with(kGbBom)) feed.base = kGbBom.size();
    } else {
      feed.base = bytes.size() - strip_utf8_bom(bytes).size();
    }
    feed.text.remove_prefix(feed.base);
    feed.consumed = consumed;
    snapshot.encoding = encoding;
    if (arriving) {
      Arrival arrival{arriving, feed.base, feed.text, false};
      parse_csv_feed(feed, resolved, source, builder, memo, &arrival);
    } else {
      parse_csv_feed(feed, resolved, source, builder, memo);
    }
    builder.finish();
    return snapshot;
  }
  if (arriving) bytes = arriving->wait_all();  // not so (parse_feed(ArrivingBytes&) saw to it)
  const DecodedFeed decoded = decode_feed(bytes, encoding, source);
  snapshot.encoding = decoded.encoding;
  if (resolved.format == FeedFormat::jsonl) {
    parse_jsonl_feed(decoded, builder);
  } else {
    CsvSource feed;
    feed.text = decoded.text;
    feed.encoding = decoded.encoding;
    feed.decoded = &decoded;
    parse_csv_feed(feed, resolved, source, builder);
  }
  builder.finish();
  return snapshot;
}

// A regular file mapped into memory, read once from start to end (RAII: unmapped and closed in the
// destructor). Pages already read are handed back, so a big feed never sits in memory whole.
class MappedFile {
 public:
  explicit MappedFile(const std::string& path) {
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) throw FeedError(fmt::format("cannot read {}: {}", path, std::strerror(errno)));
    struct stat st {};
    if (::fstat(fd_, &st) != 0) {
      const int err = errno;
      ::close(fd_);
      throw FeedError(fmt::format("cannot read {}: {}", path, std::strerror(err)));
    }
    size_ = static_cast<std::size_t>(st.st_size);
    if (size_ == 0) return;
    void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd_, 0);
    if (p == MAP_FAILED) {
      const int err = errno;
      ::close(fd_);
      throw FeedError(fmt::format("cannot read {}: {}", path, std::strerror(err)));
    }
    data_ = static_cast<const char*>(p);
    ::madvise(p, size_, MADV_SEQUENTIAL);
  }
  ~MappedFile() {
    if (data_) ::munmap(const_cast<char*>(data_), size_);
    if (fd_ >= 0) ::close(fd_);
  }
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  std::string_view bytes() const { return {data_, size_}; }

  // The bytes before `offset` will not be read again.
  void release_before(std::size_t offset) {
    const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    const std::size_t end = offset / page * page;
    if (data_ && end > released_) {
      ::madvise(const_cast<char*>(data_) + released_, end - released_, MADV_DONTNEED);
      released_ = end;
    }
  }

 private:
  int fd_ = -1;
  const char* data_ = nullptr;
  std::size_t size_ = 0;
  std::size_t released_ = 0;
};

}  // namespace

FeedSnapshot parse_feed(std::string_view bytes, const FeedOptions& options, const std::string& source) {
  return parse_feed_bytes(bytes, options, source, {});
}

FeedSnapshot parse_feed(std::string_view bytes, const FeedOptions& options, const std::string& source, FeedMemo& memo) {
  return parse_feed_bytes(bytes, options, source, {}, &memo);
}

FeedSnapshot parse_feed(ArrivingBytes& bytes, const FeedOptions& options, const std::string& source, FeedMemo& memo) {
  // Parsed as the bytes come when their first line (and its line end) tell what parse_feed() of
  // all of them would: the format (no JSON Lines), the encoding (not an ASCII line, which leaves
  // it to every byte) and a delimiter read raw; and when there is an export before whose rows
  // size the vectors (else the lines are counted first).
  bool all = false;
  std::string_view head = bytes.wait_past(0, all);
  while (!all && head.find_first_of("\r\n") == std::string_view::npos) head = bytes.wait_past(head.size(), all);
  const std::string_view first_line = head.substr(0, head.find_first_of("\r\n"));
  const std::string encoding =
      options.encoding.empty() ? encoding_by_first_line(head) : normalize_encoding(options.encoding);
  bool streamed = !all && memo.snapshot_ && !encoding.empty() &&
                  strip_utf8_bom(first_line).find_first_not_of(" \t") != std::string_view::npos;
  if (streamed) {
    const FeedFormat format = resolve_format(head, options, source);
    const char delimiter = format == FeedFormat::csv && options.mapping ? options.mapping->delimiter : ',';
    streamed =
        format != FeedFormat::jsonl && (encoding == "utf-8" || encoding == "gb18030") && raw_safe(encoding, delimiter);
  }
  if (!streamed) return parse_feed_bytes(bytes.wait_all(), options, source, {}, &memo);
  return parse_feed_bytes(head, options, source, {}, &memo, &bytes);
}

void FeedMemo::remember(std::shared_ptr<const FeedSnapshot> snapshot) {
  current_ = std::move(next_);
  next_ = {};
  snapshot_ = current_.layout.empty() ? nullptr : std::move(snapshot);
}

const FeedMemo::Slot* FeedMemo::find(const Table& in, std::uint64_t hash, std::size_t size, const Slot* last) const {
  const auto fits = [&](const Slot& s) { return this->fits(s, hash, size); };
  if (last && last + 1 < in.rows.data() + in.rows.size() && fits(last[1])) return last + 1;
  if (in.slots.empty()) return nullptr;
  const std::size_t mask = in.slots.size() - 1;
  for (std::size_t i = hash & mask;; i = (i + 1) & mask) {
    if (in.slots[i] == 0) return nullptr;
    const Slot& s = in.rows[in.slots[i] - 1];
    if (fits(s)) return &s;
  }
}

FeedSnapshot read_feed_file(const std::string& path, const FeedOptions& options) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {  // a pipe, a directory, or nothing
    return parse_feed(read_file_bytes(path), options, path);
  }
  MappedFile file(path);
  return parse_feed_bytes(file.bytes(), options, path, [&file](std::size_t offset) { file.release_before(offset); });
}

}  // namespace cuifu
