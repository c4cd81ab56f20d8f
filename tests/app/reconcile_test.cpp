// Reconcile against a real temporary store: the planner's decisions become rows, and rows
// the planner no longer wants are cancelled with the reason.
#include "app/reconcile.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include <SQLiteCpp/SQLiteCpp.h>

#include "../core/test_rules.h"
#include "temp_store.h"

namespace cuifu {
namespace {

using testing::at;

Order unpaid(std::string id, std::string buyer, LocalTime created) {
  Order o;
  o.id = std::move(id);
  o.buyer = std::move(buyer);
  o.created_at = created;
  o.amount = 9900;
  o.receiver_name = "王磊";
  o.address = "湖北省 武汉市 江岸区 香港路 168号 香港路小区 3栋 1单元 502";
  o.phone = "13800000006";
  return o;
}

TEST(Reconcile, PlansNewRemindersOnceAndCancelsThoseOfAPaidOrder) {
  testing::TempStore store("reconcile");
  const RuleSet& rules = testing::default_rule_set();
  const LocalTime now = at("2026-11-24 09:00");
  FeedSnapshot snap;
  std::vector<Order> orders = {unpaid("F1", "frank", at("2026-11-24 08:30"))};
  snap.orders = orders;
  const auto first = reconcile(*store, snap, rules, now);
  EXPECT_GT(first.planned, 0);
  EXPECT_EQ(first.inserted, first.planned);
  const auto again = reconcile(*store, snap, rules, now);
  EXPECT_EQ(again.inserted, 0);
  EXPECT_EQ(again.cancelled, 0);

  orders[0].status = OrderStatus::paid;
  orders[0].paid_at = at("2026-11-24 09:05");
  snap.orders = orders;
  const auto paid = reconcile(*store, snap, rules, at("2026-11-24 09:10"));
  EXPECT_EQ(paid.cancelled, first.planned);
  for (const auto& r : store->rows({})) {
    EXPECT_EQ(r.state, OutboxState::cancelled);
    EXPECT_NE(r.last_error.find("F1 was paid"), std::string::npos) << r.last_error;
  }
}

// The daemon honours the call desk: once a call's outcome `refused` is recorded, the next
// reconcile cancels the planned reminders of that call's orders, naming the call.
TEST(Reconcile, CancelsTheRemindersOfOrdersRefusedOnACall) {
  testing::TempStore store("reconcile-call");
  const RuleSet& rules = testing::default_rule_set();
  FeedSnapshot snap;
  std::vector<Order> orders = {unpaid("G1", "gina", at("2026-11-24 08:30"))};
  orders[0].amount = 399900;  // big ticket: IM, a call after 3 h, an SMS after 24 h
  orders[0].address = testing::kHomeAddress;
  snap.orders = orders;
  reconcile(*store, snap, rules, at("2026-11-24 08:40"));
  std::string call_key;
  for (const auto& row : store->rows({})) {  // the IM and the call went out
    ASSERT_TRUE(store->mark_sending(row.id, row.send_at));
    store->mark_sent(row.id, row.send_at, {row.buyer, row.channel, row.send_at, row.order_ids, row.step, row.shop});
    if (row.channel != Channel::phone) continue;
    call_key = row.idempotency_key;
    store->add_call_task({0, row.idempotency_key, row.buyer, "", row.contact, row.order_ids, row.message, row.send_at,
                          row.send_at, row.shop});
  }
  ASSERT_FALSE(call_key.empty());
  const auto before = reconcile(*store, snap, rules, at("2026-11-24 12:30"));
  ASSERT_EQ(before.inserted, 1);  // the SMS of the next day
  store->record_call_outcome({0, call_key, CallOutcome::refused, at("2026-11-24 12:35"), "小李", ""});
  const auto after = reconcile(*store, snap, rules, at("2026-11-24 12:40"));
  EXPECT_EQ(after.planned, 0);
  EXPECT_EQ(after.cancelled, 1);
  const auto cancelled = store->rows({std::nullopt, OutboxState::cancelled});
  ASSERT_EQ(cancelled.size(), 1u);
  EXPECT_EQ(cancelled[0].channel, Channel::sms);
  EXPECT_NE(cancelled[0].last_error.find("buyer refused on the call of 2026-11-24 11:30 (小李)"), std::string::npos)
      << cancelled[0].last_error;
}

// ---------------------------------------------------------------- incremental

// A feed of many buyers with what makes plans change by themselves: combined orders that close
// at different times, flash sales, a payment within the hour, big tickets (calls), emails.
std::vector<Order> varied_feed(LocalTime now, int buyers) {
  const char* addresses[] = {testing::kOfficeAddress, testing::kStudentAddress, testing::kHomeAddress,
                             testing::kSingaporeAddress};
  std::vector<Order> out;
  for (int b = 0; b < buyers; ++b) {
    const std::string buyer = fmt::format("buyer{:02}", b);
    Order o = unpaid(fmt::format("O{:02}a", b), buyer, now - Minutes{13 * b} - std::chrono::hours{(b * 7) % 70});
    o.address = addresses[b % 4];
    o.phone = fmt::format("138{:08}", b);
    if (b % 4 == 3) o.email = fmt::format("{}@example.com", buyer);
    if (b % 5 == 0) o.amount = 399900;  // a call
    if (b % 6 == 1) o.shop = "二店";
    out.push_back(o);
    if (b % 3 == 0) {  // a second order: a combined group whose first order closes first
      Order second = o;
      second.id = fmt::format("O{:02}b", b);
      second.created_at = now - Minutes{7 * b};
      out.push_back(second);
    }
    if (b % 7 == 2) {  // a flash sale of its own
      Order flash = o;
      flash.id = fmt::format("O{:02}f", b);
      flash.type = OrderType::flash_sale;
      flash.created_at = now - Minutes{b % 25};  // closes within the half hour
      out.push_back(flash);
    }
    if (b % 8 == 5) {  // paid another order 20 minutes ago: left alone for the hour
      Order paid = o;
      paid.id = fmt::format("O{:02}p", b);
      paid.status = OrderStatus::paid;
      paid.paid_at = now - Minutes{20};
      out.push_back(paid);
    }
  }
  return out;
}

// Every column of every row, by idempotency key (ids differ: rows are inserted in another order).
std::map<std::string, std::string> outbox_of(ReminderStore& store) {
  std::map<std::string, std::string> out;
  for (const auto& r : store.rows({})) {
    out[r.idempotency_key] =
        fmt::format("{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}", r.shop, r.buyer,
                    fmt::join(r.order_ids, ","), to_string(r.channel), r.step, r.segment, r.template_name, r.message,
                    r.subject, r.contact, r.receiver_name, format_local_time(r.send_at), to_string(r.state), r.attempts,
                    r.last_error, format_local_time(r.updated_at), r.sent_at ? format_local_time(*r.sent_at) : "-",
                    fmt::join(r.why, "/"), r.not_before ? format_local_time(*r.not_before) : "-");
  }
  return out;
}

void expect_same_outbox(ReminderStore& incremental, ReminderStore& full, const std::string& when) {
  const auto a = outbox_of(incremental), b = outbox_of(full);
  EXPECT_EQ(a.size(), b.size()) << when;
  for (const auto& [key, row] : b) {
    const auto it = a.find(key);
    if (it == a.end()) {
      ADD_FAILURE() << when << ": the incremental outbox lacks " << key << ": " << row;
    } else {
      EXPECT_EQ(it->second, row) << when << ": " << key;
    }
  }
  for (const auto& [key, row] : a) {
    if (!b.count(key)) ADD_FAILURE() << when << ": the incremental outbox has an extra " << key << ": " << row;
  }
}

// The same reminders go out from both stores: what is due at `now` is sent, in the full
// store's order, and the incremental side is told whose rows changed.
void send_due(ReminderStore& incremental, ReminderStore& full, LocalTime now, std::set<BuyerKey>& touched) {
  std::map<std::string, std::int64_t> ids;
  for (const auto& r : incremental.in_state(OutboxState::planned)) ids[r.idempotency_key] = r.id;
  for (const auto& r : full.due(now)) {
    const auto contact = ContactRecord{r.buyer, r.channel, r.send_at, r.order_ids, r.step, r.shop};
    ASSERT_TRUE(full.mark_sending(r.id, now));
    full.mark_sent(r.id, now, contact);
    ASSERT_TRUE(ids.count(r.idempotency_key)) << r.idempotency_key;
    ASSERT_TRUE(incremental.mark_sending(ids[r.idempotency_key], now));
    incremental.mark_sent(ids[r.idempotency_key], now, contact);
    touched.insert({r.shop, r.buyer});
  }
}

// An incremental reconcile leaves the outbox exactly as a full one would, at the same `now`:
// when only some buyers changed (paid, a new order, a new address), when rows moved in the file,
// when a buyer vanished, and as time passes over the moments a plan changes by itself (a
// combined order closes, the hour after a payment ends, a flash sale closes, reminders fall due
// and are sent, new reminders enter the 24 h window).
TEST(Reconcile, IncrementalEqualsFullAsBuyersChangeAndTimePasses) {
  testing::TempStore incremental_store("reconcile-incremental");
  testing::TempStore full_store("reconcile-full");
  const RuleSet& rules = testing::default_rule_set();
  LocalTime now = at("2026-11-24 09:00");
  FeedSnapshot snap;
  std::vector<Order> orders = varied_feed(now, 60);
  Reconciler reconciler;
  std::set<BuyerKey> touched;
  int replanned_at_most = 0, steps = 0;
  for (int step = 0; step < 64; ++step) {
    const std::string when = fmt::format("step {} at {}", step, format_local_time(now));
    if (step == 5) {  // some buyers pay
      for (auto& o : orders) {
        if (o.id == "O03a" || o.id == "O10a" || o.id == "O21b" || o.id == "O33a") {
          o.status = OrderStatus::paid;
          o.paid_at = now - Minutes{2};
        }
      }
    }
    if (step == 8) std::reverse(orders.begin(), orders.end());  // rows moved in the file
    if (step == 11) {                                           // a buyer vanished
      std::erase_if(orders, [](const Order& o) { return o.buyer == "buyer07" || o.buyer == "buyer12"; });
    }
    if (step == 14) {  // a new buyer, a new address
      orders.push_back(unpaid("N1", "newcomer", now - Minutes{3}));
      for (auto& o : orders) {
        if (o.buyer == "buyer20") o.address = testing::kStudentAddress;
      }
    }
    if (step == 17) std::rotate(orders.begin(), orders.begin() + 7, orders.end());
    snap.orders = orders;
    const auto a = reconciler.run(*incremental_store, snap, rules, now, nullptr, touched);
    touched.clear();
    reconcile(*full_store, snap, rules, now);
    expect_same_outbox(*incremental_store, *full_store, when);
    if (step > 0) {
      replanned_at_most = std::max(replanned_at_most, a.buyers_planned);
      ++steps;
    }
    if (::testing::Test::HasFailure()) return;
    now += Minutes{step < 20 ? 7 : 41};  // short steps, then most of two days
    send_due(*incremental_store, *full_store, now, touched);
  }
  // Not everybody each time: unchanged buyers are left alone.
  EXPECT_LT(replanned_at_most, 61);
  EXPECT_GT(steps, 0);
}

// Between two snapshots in which one buyer of many changed, only that buyer is planned again,
// and the others' rows are not touched.
TEST(Reconcile, PlansOnlyTheBuyersWhoseRowsChanged) {
  testing::TempStore store("reconcile-only-changed");
  const RuleSet& rules = testing::default_rule_set();
  const LocalTime now = at("2026-11-24 23:00");  // quiet hours: few reminders are due right now
  FeedSnapshot snap;
  std::vector<Order> orders = varied_feed(now, 40);
  snap.orders = orders;
  Reconciler reconciler;
  const auto first = reconciler.run(*store, snap, rules, now);
  EXPECT_EQ(first.buyers_planned, first.buyers);
  const auto before = store->rows({});
  std::reverse(orders.begin(), orders.end());  // the same rows, elsewhere in the file
  for (auto& o : orders) {
    if (o.id == "O04a") o.address = testing::kStudentAddress;
  }
  snap.orders = orders;
  // Planned again besides: the buyers with a reminder due right now (due rows are re-planned
  // until they go out).
  std::set<BuyerKey> due{{"", "buyer04"}};
  for (const auto& r : store->due(now)) due.insert({r.shop, r.buyer});
  const auto second = reconciler.run(*store, snap, rules, now);
  EXPECT_EQ(second.buyers_planned, static_cast<int>(due.size()));
  EXPECT_LT(second.buyers_planned, first.buyers / 2);
  for (const auto& r : store->rows({})) {
    if (r.buyer == "buyer04") continue;
    const auto it = std::find_if(before.begin(), before.end(), [&](const OutboxRow& b) { return b.id == r.id; });
    ASSERT_NE(it, before.end()) << r.idempotency_key;
    EXPECT_EQ(it->updated_at, r.updated_at) << r.idempotency_key;
  }
}

// Every column of every row as SQLite holds it (NULL apart from ''), by key; the ids apart.
std::map<std::string, std::string> raw_outbox(const SqliteStore& store, std::map<std::string, std::int64_t>& ids) {
  SQLite::Database db(store.path(), SQLite::OPEN_READONLY);
  SQLite::Statement q(db, "SELECT * FROM outbox");
  std::map<std::string, std::string> out;
  ids.clear();
  while (q.executeStep()) {
    std::string row;
    for (int c = 1; c < q.getColumnCount(); ++c) {
      row += fmt::format("{}={}|", q.getColumnName(c), q.getColumn(c).isNull() ? "NULL" : q.getColumn(c).getString());
    }
    const std::string key = q.getColumn("idempotency_key").getString();
    ids[key] = q.getColumn("id").getInt64();
    out[key] = row;
  }
  return out;
}

// Keys in the order of their rows' ids.
std::vector<std::string> by_id(const std::map<std::string, std::int64_t>& ids) {
  std::vector<std::pair<std::int64_t, std::string>> v;
  for (const auto& [key, id] : ids) v.emplace_back(id, key);
  std::sort(v.begin(), v.end());
  std::vector<std::string> out;
  for (auto& e : v) out.push_back(std::move(e.second));
  return out;
}

// The outboxes are the same, column for column. The ids of rows there before are the same, and
// every row's id comes in the same order: a new row's id may differ, as an INSERT that conflicts
// (an upsert of a row already there) still takes an id of the AUTOINCREMENT sequence.
void expect_same_raw_outbox(const SqliteStore& fast, const SqliteStore& slow,
                            const std::map<std::string, std::int64_t>& ids_before, const std::string& when) {
  std::map<std::string, std::int64_t> fast_ids, slow_ids;
  const auto a = raw_outbox(fast, fast_ids), b = raw_outbox(slow, slow_ids);
  EXPECT_EQ(a.size(), b.size()) << when;
  for (const auto& [key, row] : b) {
    if (const auto it = a.find(key); it == a.end()) {
      ADD_FAILURE() << when << ": no row " << key;
    } else {
      EXPECT_EQ(it->second, row) << when << ": " << key;
    }
  }
  for (const auto& [key, id] : ids_before) {
    EXPECT_EQ(fast_ids[key], id) << when << ": " << key;
    EXPECT_EQ(slow_ids[key], id) << when << ": " << key;
  }
  EXPECT_EQ(by_id(fast_ids), by_id(slow_ids)) << when;
}

// A reconcile leaves out the reminders whose row it read planned with the same content (the
// store's content hash), as upsert_planned() would leave them: the outbox after it is the one
// upserting every reminder makes, whatever the rows held: rows the planner makes again as they
// are, rows whose content differs from the plan in each column compared (as another build or a
// hand may have left them), rows in every other state (claimed, sent, failed, in doubt, given up
// with a re-plan come or to come, cancelled, held, waiting for a retry), due rows that keep their
// slot, a paid order's rows, a new buyer's; full (a start) and incremental afterwards.
TEST(Reconcile, LeavingUnchangedRowsOutLeavesTheOutboxOfUpsertingEveryReminder) {
  testing::TempStore fast_store("reconcile-skip-unchanged");
  testing::TempStore slow_store("reconcile-upsert-every");
  const RuleSet& rules = testing::default_rule_set();
  LocalTime now = at("2026-11-24 09:00");
  std::vector<Order> orders = varied_feed(now, 60);
  FeedSnapshot snap;
  snap.orders = orders;
  const auto for_both = [&](const std::function<void(SqliteStore&)>& fn) {
    fn(*fast_store);
    fn(*slow_store);
  };
  for_both([&](SqliteStore& store) { reconcile(store, snap, rules, now); });
  now += Minutes{10};
  for_both([&](SqliteStore& store) {
    auto planned = store.in_state(OutboxState::planned);
    std::sort(planned.begin(), planned.end(),
              [](const OutboxRow& a, const OutboxRow& b) { return a.idempotency_key < b.idempotency_key; });
    ASSERT_GE(planned.size(), 40u);
    std::size_t next = 0;
    {
      SQLite::Database db(store.path(), SQLite::OPEN_READWRITE);
      for (const char* edit :
           {"send_at = send_at + 60", "message = message || '！'", "order_ids = '[\"X1\"]'",
            "channel = CASE channel WHEN 'sms' THEN 'im' ELSE 'sms' END", "contact = contact || '0'", "subject = 'x'",
            "receiver_name = 'x'", "segment = 'x'", "template = 'x'", "step = step + 10", "buyer = buyer || 'x'",
            "why = '[]'", "last_error = 'x', updated_at = updated_at - 5"}) {
        db.exec(fmt::format("UPDATE outbox SET {} WHERE id = {}", edit, planned[next++].id));
      }
    }
    const auto id = [&] { return planned.at(next++).id; };
    const auto claimed = [&] {
      const std::int64_t i = id();
      EXPECT_TRUE(store.mark_sending(i, now));
      return i;
    };
    const auto contact = [&](std::int64_t i) {
      const auto r = *store.find(i);
      return ContactRecord{r.buyer, r.channel, now, r.order_ids, r.step, r.shop};
    };
    claimed();  // sending
    const std::int64_t sent = claimed();
    store.mark_sent(sent, now, contact(sent));
    store.mark_failed(claimed(), now, "refused");
    const std::int64_t unknown = claimed();
    store.mark_unknown(unknown, now, "no answer", contact(unknown));
    store.cancel(id(), now, "by hand");
    store.give_up(claimed(), now, "retries used up", now + Minutes{5});   // re-plan come by then
    store.give_up(claimed(), now, "retries used up", now + Minutes{90});  // re-plan to come
    store.mark_retry(claimed(), now, "busy", now + Minutes{20});
    store.mark_in_doubt(claimed(), now, "restarted while sending");
    store.hold_until(id(), now + Minutes{30}, "spread after an outage");
    store.mark_planned(claimed(), now, "stopped");
  });
  for (auto& o : orders) {
    if (o.id == "O03a" || o.id == "O16a") {
      o.status = OrderStatus::paid;
      o.paid_at = now - Minutes{2};
    }
  }
  orders.push_back(unpaid("N1", "newcomer", now - Minutes{3}));
  snap.orders = orders;
  std::map<std::string, std::int64_t> ids_before, slow_ids;
  raw_outbox(*fast_store, ids_before);
  ASSERT_EQ(raw_outbox(*fast_store, ids_before), raw_outbox(*slow_store, slow_ids));

  // A start (a full reconcile), 40 minutes on: some rows due.
  now += Minutes{40};
  Reconciler fast, slow;
  slow.skip_unchanged(false);
  ReconcileChanges f = fast.prepare(*fast_store, snap, rules, now);
  ReconcileChanges s = slow.prepare(*slow_store, snap, rules, now);
  EXPECT_EQ(f.upserts.size(), s.upserts.size());
  EXPECT_EQ(s.unchanged_left, 0u);
  EXPECT_GT(f.unchanged_left, 0u);                      // unchanged rows left out
  EXPECT_GE(f.upserts.size() - f.unchanged_left, 11u);  // not the changed ones
  EXPECT_EQ(f.rows_left() + f.unchanged_left, s.rows_left());
  while (!apply_some(*fast_store, f, 7)) {
  }
  EXPECT_EQ(f.unchanged_left, 0u);
  while (!apply_some(*slow_store, s, 7)) {
  }
  EXPECT_EQ(f.result.inserted, s.result.inserted);
  EXPECT_GT(f.result.inserted, 0);
  EXPECT_EQ(f.result.revived, s.result.revived);
  EXPECT_GT(f.result.revived, 0);
  EXPECT_EQ(f.result.cancelled, s.result.cancelled);
  EXPECT_GT(f.result.cancelled, 0);
  expect_same_raw_outbox(*fast_store, *slow_store, ids_before, "full");
  if (::testing::Test::HasFailure()) return;

  // Incremental reconciles as time passes, and a start again hours later.
  std::set<BuyerKey> none;
  for (int step = 0; step < 8; ++step) {
    now += Minutes{step < 7 ? 17 : 300};
    if (step == 2) {
      for (auto& o : orders) {
        if (o.buyer == "buyer20") o.address = testing::kStudentAddress;
      }
      snap.orders = orders;
    }
    if (step == 7) fast = Reconciler{}, slow = Reconciler{}, slow.skip_unchanged(false);
    const auto a = fast.run(*fast_store, snap, rules, now, nullptr, none);
    const auto b = slow.run(*slow_store, snap, rules, now, nullptr, none);
    EXPECT_EQ(a.inserted, b.inserted);
    EXPECT_EQ(a.revived, b.revived);
    EXPECT_EQ(a.cancelled, b.cancelled);
    expect_same_raw_outbox(*fast_store, *slow_store, ids_before, fmt::format("step {}", step));
    if (::testing::Test::HasFailure()) return;
  }
}

// A CSV field, quoted.
std::string quoted(const std::string& text) {
  std::string out = "\"";
  for (const char c : text) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

// The orders as a Taobao export (rows in the vector's order), for a parse with a FeedMemo.
std::string export_of(const std::vector<Order>& orders) {
  std::string out =
      "订单编号,买家会员名,买家应付货款,订单状态,买家留言,收货人姓名,收货地址,联系手机,买家邮箱,订单创建时间,"
      "订单付款时间,宝贝标题,店铺名称,订单类型\r\n";
  for (const Order& o : orders) {
    out += fmt::format("{},{},{}.{:02},{},{},{},{},{},{},{},{},{},{},{}\r\n", o.id, o.buyer, o.amount / 100,
                       o.amount % 100, o.status == OrderStatus::paid ? "交易成功" : "等待买家付款", quoted(o.note),
                       quoted(o.receiver_name), quoted(o.address), o.phone, o.email, format_local_time(o.created_at),
                       o.paid_at ? format_local_time(*o.paid_at) : "", o.item, o.shop,
                       o.type == OrderType::flash_sale ? "秒杀" : "");
  }
  return out;
}

// Parsed from an export with the memo of the one before: the snapshot says which buyers changed.
class ExportReader {
 public:
  std::shared_ptr<const FeedSnapshot> read(const std::vector<Order>& orders) {
    auto snap = std::make_shared<const FeedSnapshot>(parse_feed(export_of(orders), {}, "orders.csv", memo_));
    memo_.remember(snap);
    return snap;
  }

 private:
  FeedMemo memo_;
};

// Incremental from what the export says changed: only those buyers are looked at, and the outbox
// is the one a full run leaves, at the same `now`, when some buyers pay or change, when a buyer's
// rows move to other lines (the outbox carries no line: same rows), when an order is stated by a
// second row, a buyer vanishes or comes, an opt-out or a call outcome is recorded (not in the
// export), and as time passes and reminders go out.
TEST(Reconcile, IncrementalFromTheExportsChangesEqualsFull) {
  testing::TempStore incremental_store("reconcile-export-incremental");
  testing::TempStore full_store("reconcile-export-full");
  const RuleSet& rules = testing::default_rule_set();
  LocalTime now = at("2026-11-24 09:00");
  std::vector<Order> orders = varied_feed(now, 60);
  ExportReader reader;
  Reconciler reconciler;
  std::set<BuyerKey> touched;
  bool call_refused = false;
  for (int step = 0; step < 40; ++step) {
    const std::string when = fmt::format("step {} at {}", step, format_local_time(now));
    std::size_t changed_buyers = 0;  // what the export says (the reconciler looks at these and more)
    if (step == 3) {                 // two buyers pay
      for (auto& o : orders) {
        if (o.id == "O03a" || o.id == "O21b") {
          o.status = OrderStatus::paid;
          o.paid_at = now - Minutes{2};
        }
      }
      changed_buyers = 2;
    }
    if (step == 5) {  // a buyer's rows move: to the end of the file, and in another order
      std::vector<Order> moved;
      std::erase_if(orders, [&](const Order& o) {
        if (o.buyer != "buyer06") return false;
        moved.push_back(o);
        return true;
      });
      ASSERT_EQ(moved.size(), 2u);
      orders.insert(orders.end(), moved.rbegin(), moved.rend());
    }
    if (step == 7) std::reverse(orders.begin(), orders.end());  // every row on another line
    if (step == 9) {  // an order stated by a second row, paid; a buyer vanishes
      Order again = *std::find_if(orders.begin(), orders.end(), [](const Order& o) { return o.id == "O09a"; });
      again.status = OrderStatus::paid;
      again.paid_at = now - Minutes{1};
      orders.push_back(again);
      std::erase_if(orders, [](const Order& o) { return o.buyer == "buyer12"; });
      changed_buyers = 2;
    }
    if (step == 11) {  // a newcomer, a new address, in another shop
      orders.push_back(unpaid("N1", "newcomer", now - Minutes{3}));
      for (auto& o : orders) {
        if (o.buyer == "buyer20") o.address = testing::kStudentAddress;
      }
      changed_buyers = 2;
    }
    if (step == 13) {  // not in the export: an opt-out in every shop, one in a shop
      incremental_store->add_opt_out({"buyer24", Channel::im, now, "cli", ""});
      full_store->add_opt_out({"buyer24", Channel::im, now, "cli", ""});
      incremental_store->add_opt_out({"buyer25", Channel::sms, now, "cli", "二店"});
      full_store->add_opt_out({"buyer25", Channel::sms, now, "cli", "二店"});
    }
    if (step >= 13 && !call_refused) {  // not in the export: a call that went out is answered
      for (const auto& row : full_store->rows({std::nullopt, OutboxState::sent})) {
        if (row.channel != Channel::phone) continue;
        for (ReminderStore* store : {&*incremental_store, &*full_store}) {
          store->add_call_task({0, row.idempotency_key, row.buyer, "", row.contact, row.order_ids, row.message,
                                row.send_at, row.send_at, row.shop});
          store->record_call_outcome({0, row.idempotency_key, CallOutcome::refused, now, "小李", ""});
        }
        call_refused = true;
        break;
      }
    }
    const auto snap = reader.read(orders);
    for (const auto& r : snap->rejected) ADD_FAILURE() << when << ": line " << r.line << ": " << r.error;
    if (step > 0) {
      ASSERT_TRUE(snap->changed) << when;
      EXPECT_EQ(snap->changed->buyers.size(), changed_buyers) << when;
    }
    const auto a = reconciler.run(*incremental_store, *snap, rules, now, nullptr, touched);
    touched.clear();
    const auto full = reconcile(*full_store, *snap, rules, now);
    expect_same_outbox(*incremental_store, *full_store, when);
    EXPECT_EQ(a.buyers, full.buyers) << when;
    EXPECT_LE(a.buyers_planned, a.buyers_looked_at) << when;
    if (step == 0) {
      EXPECT_EQ(a.buyers_looked_at, a.buyers) << when;
    }
    // The others were not even hashed (at steps 1 and 18 most buyers' moment had come: reminders
    // of 09:00 and 11:00 had gone out).
    if (step >= 2 && step < 18) {
      EXPECT_LT(a.buyers_looked_at, a.buyers / 4) << when;
    }
    if (step % 4 == 2) {
      // The same rows read again on other lines, at the same moment: only the buyers with a row
      // due right now are looked at (due rows are planned again until they go out).
      std::reverse(orders.begin(), orders.end());
      const auto moved = reader.read(orders);
      ASSERT_TRUE(moved->changed) << when;
      EXPECT_TRUE(moved->changed->buyers.empty()) << when;
      std::set<BuyerKey> due;
      for (const auto& r : incremental_store->due(now)) due.insert({r.shop, r.buyer});
      const auto again = reconciler.run(*incremental_store, *moved, rules, now);
      EXPECT_EQ(again.buyers_looked_at, static_cast<int>(due.size())) << when;
      EXPECT_EQ(again.buyers, a.buyers) << when;
      reconcile(*full_store, *moved, rules, now);
      expect_same_outbox(*incremental_store, *full_store, when + ", moved");
    }
    if (::testing::Test::HasFailure()) return;
    now += Minutes{step < 20 ? 7 : 71};
    send_due(*incremental_store, *full_store, now, touched);
  }
  EXPECT_TRUE(call_refused);
}

// An incremental reconcile finds a changed buyer's orders through the ids of the orders it had
// (and the orders the parse built again), not by reading every order: the outbox stays the one a
// full run leaves when an order passes to another buyer or another shop under the same id, when a
// nickname buys in two shops and its contacts change (an opt-out, reminders sent), when a buyer's
// rows move, a buyer leaves and comes back.
TEST(Reconcile, IncrementalFindsEachBuyersOrdersAsFull) {
  testing::TempStore incremental_store("reconcile-ids-incremental");
  testing::TempStore full_store("reconcile-ids-full");
  const RuleSet& rules = testing::default_rule_set();
  LocalTime now = at("2026-11-24 09:00");
  std::vector<Order> orders = varied_feed(now, 48);
  ExportReader reader;
  Reconciler reconciler;
  std::set<BuyerKey> touched;
  const auto order = [&](const std::string& id) -> Order& {
    return *std::find_if(orders.begin(), orders.end(), [&](const Order& o) { return o.id == id; });
  };
  std::vector<Order> gone;
  for (int step = 0; step < 24; ++step) {
    const std::string when = fmt::format("step {} at {}", step, format_local_time(now));
    if (step == 2) order("O15a").buyer = "buyer16";  // the same order, another buyer
    if (step == 3) {                                 // a nickname buys in a second shop too
      Order second = order("O30a");
      second.id = "O30s";
      second.shop = "二店";
      second.created_at = now - Minutes{4};
      orders.push_back(second);
    }
    if (step == 4) {  // an opt-out of the nickname in every shop (not in the export)
      for (ReminderStore* store : {&*incremental_store, &*full_store}) {
        store->add_opt_out({"buyer30", Channel::im, now, "cli", ""});
      }
    }
    if (step == 5) order("O33a").shop = "二店";  // the same order, another shop
    if (step == 6) {                             // the rows of two buyers move to the end
      std::stable_partition(orders.begin(), orders.end(),
                            [](const Order& o) { return o.buyer != "buyer16" && o.buyer != "buyer30"; });
    }
    if (step == 7) {  // a buyer leaves
      std::erase_if(orders, [&](const Order& o) {
        if (o.buyer != "buyer21") return false;
        gone.push_back(o);
        return true;
      });
    }
    if (step == 9) orders.insert(orders.begin() + 5, gone.begin(), gone.end());  // and comes back
    if (step == 10) {                                                            // an order passes back, paid
      order("O15a").buyer = "buyer15";
      order("O15a").status = OrderStatus::paid;
      order("O15a").paid_at = now - Minutes{1};
    }
    const auto snap = reader.read(orders);
    for (const auto& r : snap->rejected) ADD_FAILURE() << when << ": line " << r.line << ": " << r.error;
    if (step > 0) {
      ASSERT_TRUE(snap->changed) << when;
    }
    const auto a = reconciler.run(*incremental_store, *snap, rules, now, nullptr, touched);
    touched.clear();
    const auto full = reconcile(*full_store, *snap, rules, now);
    expect_same_outbox(*incremental_store, *full_store, when);
    EXPECT_EQ(a.buyers, full.buyers) << when;
    if (::testing::Test::HasFailure()) return;
    now += Minutes{step < 12 ? 9 : 67};
    send_due(*incremental_store, *full_store, now, touched);
  }
}

// A reconcile's reminders are written in the order of their idempotency keys (neighbouring pages
// of the outbox's key index, not one page each all over it), and written a row per slice they
// leave the same outbox as a whole run.
TEST(Reconcile, WritesRemindersInTheOrderTheyFallDueAndSlicesLeaveTheSameOutbox) {
  testing::TempStore sliced_store("reconcile-sliced");
  testing::TempStore whole_store("reconcile-whole");
  const RuleSet& rules = testing::default_rule_set();
  const LocalTime now = at("2026-11-24 09:00");
  FeedSnapshot snap;
  snap.orders = varied_feed(now, 60);
  Reconciler reconciler;
  ReconcileChanges changes = reconciler.prepare(*sliced_store, snap, rules, now);
  ASSERT_GT(changes.upserts.size(), 20u);
  for (std::size_t i = 1; i < changes.upserts.size(); ++i) {
    ASSERT_LE(changes.upserts[i - 1].send_at, changes.upserts[i].send_at) << i;
  }
  ASSERT_LT(changes.upserts.front().send_at, changes.upserts.back().send_at) << "the feed's reminders all due at once";
  int slices = 0;
  while (!apply_some(*sliced_store, changes, 1)) ++slices;
  EXPECT_GT(slices, 20);
  const auto whole = reconcile(*whole_store, snap, rules, now);
  EXPECT_EQ(changes.result.inserted, whole.inserted);
  expect_same_outbox(*sliced_store, *whole_store, "sliced");
  // The orders seen are recorded (what the store keeps of them: status, buyer by phone).
  for (const Order& o : snap.orders) {
    EXPECT_EQ(sliced_store->order_status(o.id), o.status) << o.id;
    EXPECT_EQ(whole_store->order_status(o.id), o.status) << o.id;
  }
  EXPECT_EQ(sliced_store->buyer_by_phone(snap.orders[0].phone), whole_store->buyer_by_phone(snap.orders[0].phone));
  // The ids follow the send times: a burst's claims, by (send_at, id), go down the table in order.
  auto rows = sliced_store->rows({});
  std::sort(rows.begin(), rows.end(), [](const OutboxRow& a, const OutboxRow& b) { return a.id < b.id; });
  for (std::size_t i = 1; i < rows.size(); ++i) EXPECT_LE(rows[i - 1].send_at, rows[i].send_at) << i;
}

// A big snapshot is planned in parts of whole buyers (5,000 orders each), each part's reminders
// kept as soon as it is planned: the reminders to write are those of one plan of the whole
// snapshot that fall within the window, in each part's order, and the rows of buyers who paid
// in any part are cancelled with the reason.
// A big plan's parts handed over as each is planned (prepare()'s on_part: the daemon writes each
// while the next is planned) leave the outbox that the whole plan written after it leaves: the
// same rows with the same ids, the same counts (carried from part to part). On a new export, on a
// start after some orders were paid and a buyer moved (cancellations, rows updated, unchanged rows
// left out part by part), and on a start hours later (due rows, steps that came).
TEST(Reconcile, PartsWrittenAsTheyArePlannedLeaveTheOutboxOfTheWholePlanWrittenAfterIt) {
  testing::TempStore streamed_store("reconcile-streamed");
  testing::TempStore whole_store("reconcile-whole");
  const RuleSet& rules = testing::default_rule_set();
  LocalTime now = at("2026-11-24 09:00");
  std::vector<Order> orders = varied_feed(now, 7000);
  FeedSnapshot snap;
  snap.orders = orders;
  Reconciler streamed, whole;
  streamed.stream_from(0);  // in parts from 5,000 orders (the daemon: from 50,000)
  for (int round = 0; round < 3; ++round) {
    if (round == 1) {
      now += Minutes{10};
      for (std::size_t i = 0; i < orders.size(); i += 10) {
        if (orders[i].status != OrderStatus::unpaid) continue;
        orders[i].status = OrderStatus::paid;
        orders[i].paid_at = now - Minutes{1};
      }
      for (auto& o : orders) {
        if (o.buyer == "buyer20") o.address = testing::kStudentAddress;
      }
      snap.orders = orders;
    }
    if (round == 2) now += std::chrono::hours{3};
    if (round > 0) streamed.invalidate(), whole.invalidate();  // a start: every buyer planned
    std::size_t parts = 0, part_rows = 0, left_out = 0, parts_out_of_order = 0;
    BuyerKey last_of_part_before;
    ReconcileResult written;
    const auto write = [&](ReconcileChanges& part) {
      carry_written(written, part.result);
      while (!apply_some(*streamed_store, part, 97)) {
      }
      carry_written(part.result, written);
    };
    // The orders seen of a full run come from a thread of prepare()'s own while it reads the
    // store: written with the next part (as Reconciler::run does; the daemon hands them to its loop).
    const std::thread::id own = std::this_thread::get_id();
    std::optional<ReconcileChanges> early;
    ReconcileChanges rest =
        streamed.prepare(*streamed_store, snap, rules, now, nullptr, {}, [&](ReconcileChanges&& part) {
          ++parts;
          EXPECT_FALSE(part.last);
          EXPECT_TRUE(part.cancels.empty());
          // The orders seen first, alone (known before the planning), then the reminders.
          EXPECT_EQ(part.orders_seen.size(), parts == 1 ? orders.size() : 0u);
          EXPECT_EQ(part.upserts.empty(), parts == 1);
          part_rows += part.upserts.size();
          left_out += part.unchanged_left;
          // Each part a run of buyers in the order of the outbox's (shop, buyer) index.
          if (!part.upserts.empty()) {
            BuyerKey first{part.upserts[0].shop, part.upserts[0].buyer}, last = first;
            for (const auto& r : part.upserts) {
              first = std::min(first, BuyerKey{r.shop, r.buyer});
              last = std::max(last, BuyerKey{r.shop, r.buyer});
            }
            parts_out_of_order += parts > 2 && !(last_of_part_before < first);
            last_of_part_before = last;
          }
          if (std::this_thread::get_id() != own) {
            early = std::move(part);
            return;
          }
          if (early) write(*early);
          early.reset();
          write(part);
        });
    EXPECT_FALSE(early.has_value()) << "round " << round;  // written with the first part of reminders
    EXPECT_GE(parts, 4u) << "round " << round;
    EXPECT_EQ(parts_out_of_order, 0u) << "round " << round;
    EXPECT_TRUE(rest.last && rest.upserts.empty() && rest.orders_seen.empty());
    EXPECT_EQ(rest.result.planned, static_cast<int>(part_rows));
    carry_written(written, rest.result);
    while (!apply_some(*streamed_store, rest, 97)) {
    }
    ReconcileChanges all = whole.prepare(*whole_store, snap, rules, now);
    EXPECT_EQ(all.upserts.size(), part_rows);
    while (!apply_some(*whole_store, all, 97)) {
    }
    const ReconcileResult &a = rest.result, &b = all.result;
    EXPECT_EQ(std::tie(a.planned, a.inserted, a.revived, a.cancelled, a.buyers_planned),
              std::tie(b.planned, b.inserted, b.revived, b.cancelled, b.buyers_planned))
        << "round " << round;
    if (round == 0) {
      EXPECT_GT(a.inserted, 1000);
    } else {
      EXPECT_GT(left_out, 200u) << "round " << round;  // rows read planned as they are: not written
    }
    if (round == 1) {
      EXPECT_GT(a.cancelled, 100);
    }
    std::map<std::string, std::int64_t> streamed_ids, whole_ids;
    EXPECT_EQ(raw_outbox(*streamed_store, streamed_ids), raw_outbox(*whole_store, whole_ids)) << "round " << round;
    EXPECT_EQ(streamed_ids, whole_ids) << "round " << round;
    if (::testing::Test::HasFailure()) return;
  }
}

// A daemon told to stop abandons a big plan where it is: here as soon as the orders seen are
// handed over (while its store is read), before any reminder is planned or handed over. The
// next run plans every buyer again, and leaves the outbox of a run never stopped.
TEST(Reconcile, AStopAbandonsTheRunAndTheNextPlansEveryBuyer) {
  testing::TempStore stopped_store("reconcile-stopped");
  testing::TempStore whole_store("reconcile-never-stopped");
  const RuleSet& rules = testing::default_rule_set();
  const LocalTime now = at("2026-11-24 09:00");
  FeedSnapshot snap;
  snap.orders = varied_feed(now, 7000);
  std::atomic<bool> stop{false};
  Reconciler stopped;
  stopped.stream_from(0);
  stopped.stop_when(&stop);
  std::size_t parts = 0, reminders_handed = 0;
  const auto on_part = [&](ReconcileChanges&& part) {
    ++parts;
    reminders_handed += part.upserts.size();
    stop = true;  // the first call: the orders seen, from a thread of prepare()'s own
  };
  EXPECT_THROW(stopped.prepare(*stopped_store, snap, rules, now, nullptr, {}, on_part), ReconcileStopped);
  EXPECT_EQ(parts, 1u);
  EXPECT_EQ(reminders_handed, 0u);
  stop = false;
  ReconcileChanges again = stopped.prepare(*stopped_store, snap, rules, now);
  ReconcileChanges whole = Reconciler{}.prepare(*whole_store, snap, rules, now);
  EXPECT_EQ(again.result.buyers_planned, whole.result.buyers_planned);
  EXPECT_EQ(again.upserts.size(), whole.upserts.size());
  EXPECT_GT(whole.upserts.size(), 1000u);
  while (!apply_some(*stopped_store, again, 5000)) {
  }
  while (!apply_some(*whole_store, whole, 5000)) {
  }
  std::map<std::string, std::int64_t> stopped_ids, whole_ids;
  EXPECT_EQ(raw_outbox(*stopped_store, stopped_ids), raw_outbox(*whole_store, whole_ids));
}

TEST(Reconcile, ASnapshotPlannedInPartsWritesTheWholePlansReminders) {
  testing::TempStore store("reconcile-parts");
  const RuleSet& rules = testing::default_rule_set();
  const LocalTime now = at("2026-11-24 09:00");
  std::vector<Order> orders = varied_feed(now, 7000);
  ASSERT_GT(orders.size(), 2u * 5000u) << "three parts or more";
  FeedSnapshot snap;
  snap.orders = orders;
  PlanRequest request{now, now, now + std::chrono::hours{48}, nullptr};
  request.bare_from = now + std::chrono::hours{24};
  request.threads = 1;
  const Plan whole = plan(orders, ContactHistory{}, rules.rules, rules.templates, request);
  std::map<std::string, std::string> expected;
  for (const auto& r : whole.reminders) {
    if (r.send_at >= request.bare_from) continue;
    const PlannedRowText text = PlannedRowText::of(r);
    expected[text.key] = fmt::format("{}|{}|{}|{}|{}", format_local_time(r.send_at), to_string(r.channel), r.message,
                                     text.order_ids, text.why);
  }
  ASSERT_GT(expected.size(), 1000u);
  Reconciler reconciler;
  ReconcileChanges changes = reconciler.prepare(*store, snap, rules, now);
  // Each row with its texts made while planning (its why lines then only there).
  ASSERT_EQ(changes.texts.size(), changes.upserts.size());
  std::map<std::string, std::string> got;
  for (std::size_t i = 0; i < changes.upserts.size(); ++i) {
    const PlannedReminder& r = changes.upserts[i];
    const PlannedRowText& text = changes.texts[i];
    EXPECT_EQ(text.key, r.idempotency_key());
    got[text.key] = fmt::format("{}|{}|{}|{}|{}", format_local_time(r.send_at), to_string(r.channel), r.message,
                                text.order_ids, text.why);
  }
  EXPECT_EQ(got, expected);
  EXPECT_EQ(changes.result.planned, static_cast<int>(expected.size()));
  // Within a part, the order they fall due.
  std::size_t back_in_time = 0;
  for (std::size_t i = 1; i < changes.upserts.size(); ++i)
    back_in_time += changes.upserts[i].send_at < changes.upserts[i - 1].send_at;
  EXPECT_LT(back_in_time, 8u) << "at most one step back where a part begins";
  EXPECT_EQ(changes.orders_seen.size(), orders.size());
  while (!apply_some(*store, changes, 5000)) {
  }
  // Every 10th order paid, wherever its buyer's part: its reminders cancelled, with the reason.
  std::set<std::string> paid;
  for (std::size_t i = 0; i < orders.size(); i += 10) {
    if (orders[i].status != OrderStatus::unpaid) continue;
    orders[i].status = OrderStatus::paid;
    orders[i].paid_at = now;
    paid.insert(orders[i].id);
  }
  FeedSnapshot after;
  after.orders = orders;
  ReconcileChanges again = reconciler.prepare(*store, after, rules, now);
  std::map<std::int64_t, std::string> cancelled;
  for (const auto& [row, reason] : again.cancels) cancelled[row.id] = reason;
  // A row all of whose orders were paid is cancelled, the first of them named (a row that
  // combined a paid order with an unpaid one is planned again, for the unpaid one).
  std::size_t all_paid = 0;
  for (const auto& row : store->in_state(OutboxState::planned)) {
    if (!std::all_of(row.order_ids.begin(), row.order_ids.end(),
                     [&](const std::string& id) { return paid.count(id) > 0; }))
      continue;
    ++all_paid;
    ASSERT_TRUE(cancelled.count(row.id)) << row.idempotency_key;
    EXPECT_EQ(cancelled[row.id], fmt::format("order {} was paid", row.order_ids.front())) << row.idempotency_key;
  }
  EXPECT_GT(all_paid, 100u);
}

// A big reconcile puts the lines of its first kRowLinesAtInfo rows in the log at info and the
// others only at debug (a new export of a million orders would flood the journal); every row is
// still written, and counted in the result, whatever the level.
TEST(Reconcile, LogsTheFirstRowsAtInfoAndTheRestAtDebug) {
  testing::TempStore store("reconcile-log");
  const RuleSet& rules = testing::default_rule_set();
  const LocalTime now = at("2026-11-24 09:00");
  FeedSnapshot snap;
  std::vector<Order> orders = varied_feed(now, 200);
  snap.orders = orders;
  std::ostringstream log;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(log);
  sink->set_pattern("%l %v");
  auto logger = std::make_shared<spdlog::logger>("reconcile-log-test", sink);
  logger->set_level(spdlog::level::debug);
  const auto before = spdlog::default_logger();
  spdlog::set_default_logger(logger);
  const auto result = reconcile(*store, snap, rules, now);
  spdlog::set_default_logger(before);
  ASSERT_GT(result.inserted, kRowLinesAtInfo + 10);
  int info = 0, debug = 0;
  std::istringstream lines(log.str());
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("info planned ", 0) == 0) ++info;
    if (line.rfind("debug planned ", 0) == 0) ++debug;
  }
  EXPECT_EQ(info, kRowLinesAtInfo);
  EXPECT_EQ(debug, result.inserted - kRowLinesAtInfo);
  EXPECT_EQ(result.rows_logged_at_debug, debug);
  EXPECT_EQ(static_cast<int>(store->rows({}).size()), result.inserted);

  // A small one (the same buyers, the first paid) logs every row at info.
  orders[0].status = OrderStatus::paid;
  orders[0].paid_at = at("2026-11-24 09:05");
  snap.orders = orders;
  log.str("");
  spdlog::set_default_logger(logger);
  const auto paid = reconcile(*store, snap, rules, at("2026-11-24 09:10"));
  spdlog::set_default_logger(before);
  ASSERT_GT(paid.cancelled, 0);
  EXPECT_EQ(paid.rows_logged_at_debug, 0);
  EXPECT_NE(log.str().find("info cancelled "), std::string::npos) << log.str();
}

// sort_by_order_id() sorts by the ids' first 16 bytes and compares whole ids only on a tie: the same
// order as sorting by the ids themselves, whatever their lengths, bytes and ties.
TEST(Reconcile, OrdersByIdAreInTheOrderOfTheirIds) {
  std::vector<std::string> ids = {"",
                                  "a",
                                  std::string("a\0", 2),
                                  std::string("a\0\0", 3),
                                  "0996200890807767224",
                                  "0996200890807767225",
                                  "09962008908077672",
                                  "0996200890807767",
                                  "099620089080776",
                                  "1234567890abcdefX",
                                  "1234567890abcdef",
                                  "1234567890abcdefA",
                                  "\xff\xfe",
                                  "\x80",
                                  "订单123",
                                  "z",
                                  "0996200890807767224"};  // the same id twice
  std::uint64_t x = 7;
  for (int i = 0; i < 2000; ++i) {  // random ids of random lengths over a few bytes: many ties
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    std::string id(static_cast<std::size_t>(x >> 59), '0');
    for (std::size_t k = 0; k < id.size(); ++k) id[k] = "09a\xff"[(x >> (k % 60)) & 3];
    ids.push_back(id);
  }
  std::vector<Order> orders;
  for (const auto& id : ids) orders.push_back(unpaid(id, "b", at("2026-11-24 09:00")));
  std::vector<const Order*> sorted;
  for (const auto& o : orders) sorted.push_back(&o);
  std::reverse(sorted.begin(), sorted.end());
  sort_by_order_id(sorted);
  ASSERT_EQ(sorted.size(), orders.size());
  std::sort(ids.begin(), ids.end());
  for (std::size_t i = 0; i < ids.size(); ++i) EXPECT_EQ(sorted[i]->id, ids[i]) << i;
  std::set<const Order*> each(sorted.begin(), sorted.end());
  EXPECT_EQ(each.size(), orders.size());  // every order once
}

}  // namespace
}  // namespace cuifu
