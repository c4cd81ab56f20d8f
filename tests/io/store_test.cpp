#include "io/store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <thread>

#include <SQLiteCpp/SQLiteCpp.h>
#include <SQLiteCpp/VariadicBind.h>

#include <nlohmann/json.hpp>

#include "io/json_text.h"
#include "io/store_internal.h"

namespace cuifu {
namespace {

namespace fs = std::filesystem;

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / fs::path("cuifu-store-" + std::to_string(::getpid()) + "-" +
                                                ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    path_ = (dir_ / "state.db").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  static LocalTime at(const char* text) { return *parse_local_time(text); }

  static PlannedReminder reminder(const char* send_at, std::string buyer = "buyer1", int step = 1) {
    PlannedReminder r;
    r.send_at = at(send_at);
    r.buyer = std::move(buyer);
    r.order_ids = {"A1", "A2"};
    r.segment = "office";
    r.channel = Channel::sms;
    r.step = step;
    r.template_name = "office";
    r.message = "【店】王先生，您的订单还未付款";
    r.contact = "13812341234";
    r.why = {"segment office"};
    return r;
  }

  fs::path dir_;
  std::string path_;
  ShopZone zone_{"Asia/Shanghai"};
};

TEST_F(StoreTest, CreatesFileWithMode0600AndCurrentSchema) {
  SqliteStore store(path_, zone_);
  struct stat st {};
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(store.schema_version(), SqliteStore::kSchemaVersion);
  SQLite::Database db(path_);
  EXPECT_EQ(db.execAndGet("PRAGMA journal_mode").getString(), "wal");
}

// The tables of schema version 1, as a store of the first release created them.
constexpr const char* kSchema1 =
    "CREATE TABLE opt_outs (buyer TEXT NOT NULL, channel TEXT NOT NULL, at INTEGER NOT NULL, "
    "source TEXT NOT NULL, PRIMARY KEY (buyer, channel));"
    "CREATE TABLE orders_seen (order_id TEXT PRIMARY KEY, buyer TEXT NOT NULL, phone TEXT NOT NULL DEFAULT '', "
    "status TEXT NOT NULL, first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL);"
    "CREATE INDEX orders_seen_phone ON orders_seen(phone);"
    "CREATE TABLE outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, idempotency_key TEXT NOT NULL UNIQUE, "
    "buyer TEXT NOT NULL, order_ids TEXT NOT NULL, channel TEXT NOT NULL, step INTEGER NOT NULL, "
    "segment TEXT NOT NULL, template TEXT NOT NULL, message TEXT NOT NULL, subject TEXT NOT NULL DEFAULT '', "
    "contact TEXT NOT NULL DEFAULT '', receiver_name TEXT NOT NULL DEFAULT '', send_at INTEGER NOT NULL, "
    "state TEXT NOT NULL CHECK (state IN ('planned','sending','sent','failed','cancelled')), attempts INTEGER NOT NULL "
    "DEFAULT 0, last_error TEXT NOT NULL DEFAULT '', "
    "updated_at INTEGER NOT NULL, sent_at INTEGER, why TEXT NOT NULL DEFAULT '[]');"
    "CREATE TABLE contacts (id INTEGER PRIMARY KEY AUTOINCREMENT, buyer TEXT NOT NULL, channel TEXT NOT NULL, "
    "at INTEGER NOT NULL, order_ids TEXT NOT NULL, step INTEGER NOT NULL);";

TEST_F(StoreTest, MigratesAnOlderSchemaAndKeepsItsRows) {
  {
    SQLite::Database db(path_, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    db.exec(
        std::string(kSchema1) +
        "INSERT INTO opt_outs VALUES ('old-buyer', 'sms', 0, 'cli');"
        "INSERT INTO outbox (idempotency_key, buyer, order_ids, channel, step, segment, template, message, send_at, "
        "state, updated_at) VALUES ('cf-old', 'old-buyer', '[\"A\"]', 'sms', 1, 's', 't', 'm', 0, 'sent', 0);"
        "PRAGMA user_version = 1;");
  }
  SqliteStore store(path_, zone_);
  EXPECT_EQ(store.schema_version(), SqliteStore::kSchemaVersion);
  const auto old_rows = store.rows({});
  ASSERT_EQ(old_rows.size(), 1u);
  EXPECT_EQ(old_rows[0].idempotency_key, "cf-old");
  EXPECT_EQ(old_rows[0].state, OutboxState::sent);
  EXPECT_FALSE(old_rows[0].not_before);
  EXPECT_EQ(old_rows[0].shop, "");
  ASSERT_EQ(store.opt_outs().size(), 1u);
  EXPECT_EQ(store.opt_outs()[0].buyer, "old-buyer");
  store.add_call_task({0, "k", "b", "", "138", {"A"}, "call", at("2026-11-24 10:00"), at("2026-11-24 09:00")});
  EXPECT_EQ(store.call_tasks(std::nullopt).size(), 1u);
  // Schema 5: call outcomes can be recorded in the upgraded file.
  store.record_call_outcome({0, "k", CallOutcome::reached, at("2026-11-24 10:05"), "小李", ""});
  ASSERT_EQ(store.call_outcomes({}).size(), 1u);
  EXPECT_EQ(store.call_outcomes({})[0].outcome, CallOutcome::reached);
}

// The call desk's outcomes: found by key or order id, kept in order, and the latest one carried
// on the call's phone contact in history() (what the planner honours), not on other contacts.
TEST_F(StoreTest, RecordsCallOutcomesAndHistoryCarriesTheLatestOnTheCallsContact) {
  SqliteStore store(path_, zone_);
  Order a;
  a.id = "A1";
  a.buyer = "buyer1";
  a.amount = 399900;
  Order b = a;
  b.id = "A2";
  b.amount = 100;
  store.record_orders_seen({a, b}, at("2026-11-24 09:00"));
  PlannedReminder call = reminder("2026-11-24 10:00");
  call.channel = Channel::phone;
  call.step = 2;
  store.upsert_planned(call, at("2026-11-24 09:00"));
  const auto row = store.rows({}).at(0);
  ASSERT_TRUE(store.mark_sending(row.id, at("2026-11-24 10:00")));
  store.mark_sent(row.id, at("2026-11-24 10:00"), {"buyer1", Channel::phone, at("2026-11-24 10:00"), {"A1", "A2"}, 2});
  store.add_call_task({0,
                       row.idempotency_key,
                       "buyer1",
                       "王",
                       "138",
                       {"A1", "A2"},
                       "script",
                       at("2026-11-24 10:00"),
                       at("2026-11-24 10:00")});

  EXPECT_FALSE(store.find_call_task("nope"));
  ASSERT_TRUE(store.find_call_task("A2"));
  EXPECT_EQ(store.find_call_task("A2")->idempotency_key, row.idempotency_key);
  EXPECT_EQ(store.find_call_task(row.idempotency_key)->amount, 400000);  // A1 + A2 as last seen

  store.record_call_outcome({0, row.idempotency_key, CallOutcome::no_answer, at("2026-11-24 10:02"), "小李", ""});
  store.record_call_outcome({0, row.idempotency_key, CallOutcome::will_pay, at("2026-11-24 15:00"), "小王", "发工资"});
  const auto all = store.call_outcomes({row.idempotency_key});
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[1].agent, "小王");
  EXPECT_EQ(all[1].note, "发工资");

  const ContactHistory h = store.history();
  ASSERT_EQ(h.contacts.size(), 1u);
  EXPECT_EQ(h.contacts[0].call_outcome, CallOutcome::will_pay);
  EXPECT_EQ(h.contacts[0].outcome_at, at("2026-11-24 15:00"));
  EXPECT_EQ(h.contacts[0].outcome_by, "小王");
}

// A store of schema 3 (several shops): its rows keep their shop, and a row 'sending' at the
// upgrade can become 'unknown' (a state schema 3 refused).
TEST_F(StoreTest, MigratesASchema3StoreKeepingShopsAndAllowingTheUnknownState) {
  {
    SQLite::Database db(path_, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    db.exec(
        std::string(kSchema1) +
        "CREATE TABLE call_tasks (id INTEGER PRIMARY KEY AUTOINCREMENT, idempotency_key TEXT NOT NULL UNIQUE, "
        "buyer TEXT NOT NULL, receiver_name TEXT NOT NULL DEFAULT '', phone TEXT NOT NULL, order_ids TEXT NOT "
        "NULL, message TEXT NOT NULL, due_at INTEGER NOT NULL, created_at INTEGER NOT NULL, shop TEXT NOT NULL "
        "DEFAULT '');"
        "ALTER TABLE outbox ADD COLUMN shop TEXT NOT NULL DEFAULT '';"
        "ALTER TABLE contacts ADD COLUMN shop TEXT NOT NULL DEFAULT '';"
        "ALTER TABLE orders_seen ADD COLUMN shop TEXT NOT NULL DEFAULT '';"
        "DROP TABLE opt_outs;"
        "CREATE TABLE opt_outs (shop TEXT NOT NULL DEFAULT '', buyer TEXT NOT NULL, channel TEXT NOT NULL, "
        "at INTEGER NOT NULL, source TEXT NOT NULL, PRIMARY KEY (shop, buyer, channel));"
        "INSERT INTO opt_outs VALUES ('青禾家居旗舰店', 'b1', 'sms', 0, 'cli');"
        "INSERT INTO outbox (idempotency_key, buyer, order_ids, channel, step, segment, template, message, send_at, "
        "state, updated_at, shop) VALUES ('cf-v3', 'b1', '[\"A\"]', 'email', 1, 's', 't', 'm', 0, 'sending', 0, "
        "'青禾家居旗舰店');"
        "PRAGMA user_version = 3;");
  }
  SqliteStore store(path_, zone_);
  EXPECT_EQ(store.schema_version(), SqliteStore::kSchemaVersion);
  const auto rows = store.in_state(OutboxState::sending);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].shop, "青禾家居旗舰店");
  store.mark_unknown(rows[0].id, at("2026-11-24 10:00"), "crash",
                     {"b1", Channel::email, at("2026-11-24 10:00"), {"A"}, 1, "青禾家居旗舰店"});
  EXPECT_EQ(store.in_state(OutboxState::unknown).size(), 1u);
  const auto contacts = store.contacts_of({"b1"});
  ASSERT_EQ(contacts.size(), 1u);
  EXPECT_EQ(contacts[0].shop, "青禾家居旗舰店");
  ASSERT_EQ(store.opt_outs().size(), 1u);
  EXPECT_EQ(store.opt_outs()[0].shop, "青禾家居旗舰店");
}

TEST_F(StoreTest, RefusesASchemaNewerThanItKnows) {
  {
    SQLite::Database db(path_, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    db.exec("PRAGMA user_version = 99");
  }
  EXPECT_THROW(SqliteStore(path_, zone_), StoreError);
}

TEST_F(StoreTest, UpsertIsIdempotentByKey) {
  SqliteStore store(path_, zone_);
  const auto r = reminder("2026-11-24 12:00");
  EXPECT_EQ(store.upsert_planned(r, at("2026-11-24 08:00")), UpsertResult::inserted);
  EXPECT_EQ(store.upsert_planned(r, at("2026-11-24 08:05")), UpsertResult::unchanged);
  const auto rows = store.in_state(OutboxState::planned);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].idempotency_key, r.idempotency_key());
  EXPECT_EQ(rows[0].send_at, at("2026-11-24 12:00"));
  EXPECT_EQ(rows[0].order_ids, (std::vector<std::string>{"A1", "A2"}));
  EXPECT_EQ(rows[0].contact, "13812341234");
}

TEST_F(StoreTest, ADueRowKeepsItsSlotWhenReplanned) {
  SqliteStore store(path_, zone_);
  store.upsert_planned(reminder("2026-11-24 12:00"), at("2026-11-24 08:00"));
  // Re-planned later: the planner now says 12:01, but the row is due and keeps 12:00.
  EXPECT_EQ(store.upsert_planned(reminder("2026-11-24 12:01"), at("2026-11-24 12:00:30")), UpsertResult::updated);
  EXPECT_EQ(store.in_state(OutboxState::planned)[0].send_at, at("2026-11-24 12:00"));
  // A row not yet due follows the planner.
  store.upsert_planned(reminder("2026-11-24 17:00", "buyer2"), at("2026-11-24 08:00"));
  store.upsert_planned(reminder("2026-11-24 17:30", "buyer2"), at("2026-11-24 09:00"));
  EXPECT_EQ(store.due(at("2026-11-24 17:10")).size(), 1u);
  EXPECT_EQ(store.next_due(), at("2026-11-24 12:00"));
}

// Re-planning with the same message and slot but a new phone number (the buyer changed
// it in the feed), a fallback channel or a new subject must update the row: it is what
// the daemon sends.
TEST_F(StoreTest, ReplanWithANewContactOrChannelUpdatesTheRow) {
  SqliteStore store(path_, zone_);
  store.upsert_planned(reminder("2026-11-24 12:00"), at("2026-11-24 08:00"));
  auto r = reminder("2026-11-24 12:00");
  r.contact = "13900009999";
  EXPECT_EQ(store.upsert_planned(r, at("2026-11-24 09:00")), UpsertResult::updated);
  EXPECT_EQ(store.in_state(OutboxState::planned).at(0).contact, "13900009999");
  r.channel = Channel::im;
  r.contact.clear();
  EXPECT_EQ(store.upsert_planned(r, at("2026-11-24 09:05")), UpsertResult::updated);
  EXPECT_EQ(store.in_state(OutboxState::planned).at(0).channel, Channel::im);
  EXPECT_EQ(store.in_state(OutboxState::planned).at(0).contact, "");
  r.subject = "new subject";
  EXPECT_EQ(store.upsert_planned(r, at("2026-11-24 09:10")), UpsertResult::updated);
  EXPECT_EQ(store.in_state(OutboxState::planned).at(0).subject, "new subject");
}

TEST_F(StoreTest, SentAndContactAreRecordedTogether) {
  SqliteStore store(path_, zone_);
  store.upsert_planned(reminder("2026-11-24 12:00"), at("2026-11-24 08:00"));
  const auto row = store.due(at("2026-11-24 12:00")).at(0);
  EXPECT_TRUE(store.mark_sending(row.id, at("2026-11-24 12:00")));
  EXPECT_FALSE(store.mark_sending(row.id, at("2026-11-24 12:00")));  // not planned any more
  store.mark_sent(row.id, at("2026-11-24 12:00:02"), {"buyer1", Channel::sms, at("2026-11-24 12:00"), {"A1", "A2"}, 1});
  const auto sent = store.find(row.id);
  ASSERT_TRUE(sent);
  EXPECT_EQ(sent->state, OutboxState::sent);
  EXPECT_EQ(sent->attempts, 1);
  const auto h = store.history();
  ASSERT_EQ(h.contacts.size(), 1u);
  EXPECT_EQ(h.contacts[0].at, at("2026-11-24 12:00"));
  EXPECT_EQ(h.contacts[0].step, 1);
  // A sent row is never re-planned.
  EXPECT_EQ(store.upsert_planned(reminder("2026-11-24 13:00"), at("2026-11-24 12:30")), UpsertResult::kept);
}

// The daemon records a round of outcomes and the next claims in one transaction (batch()): a
// round that fails is rolled back whole (no row 'sent' without its contact, no claim), and one
// that commits is on disk, every outcome with its contact, when the store is opened again.
TEST_F(StoreTest, ARoundOfOutcomesAndClaimsIsRecordedWholeOrNotAtAll) {
  std::int64_t first = 0, second = 0;
  {
    SqliteStore store(path_, zone_);
    store.upsert_planned(reminder("2026-11-24 12:00", "buyer1"), at("2026-11-24 08:00"));
    store.upsert_planned(reminder("2026-11-24 12:00", "buyer2"), at("2026-11-24 08:00"));
    const auto due = store.due(at("2026-11-24 12:00"));
    ASSERT_EQ(due.size(), 2u);
    first = due[0].id;
    second = due[1].id;
    ASSERT_TRUE(store.mark_sending(first, at("2026-11-24 12:00")));
    EXPECT_THROW(store.batch([&] {
      store.mark_sent(first, at("2026-11-24 12:00:02"),
                      {due[0].buyer, Channel::sms, at("2026-11-24 12:00"), {"A1"}, 1});
      ASSERT_TRUE(store.mark_sending(second, at("2026-11-24 12:00:02")));
      throw StoreError("the disk is full");
    }),
                 StoreError);
    EXPECT_EQ(store.find(first)->state, OutboxState::sending);  // still in doubt, as before the round
    EXPECT_EQ(store.find(second)->state, OutboxState::planned);
    EXPECT_TRUE(store.history().contacts.empty());
    store.batch([&] {
      store.mark_sent(first, at("2026-11-24 12:00:03"),
                      {due[0].buyer, Channel::sms, at("2026-11-24 12:00"), {"A1"}, 1});
      ASSERT_TRUE(store.mark_sending(second, at("2026-11-24 12:00:03")));
    });
  }
  SqliteStore reopened(path_, zone_);
  EXPECT_EQ(reopened.find(first)->state, OutboxState::sent);
  EXPECT_EQ(reopened.find(second)->state, OutboxState::sending);
  ASSERT_EQ(reopened.history().contacts.size(), 1u);
  EXPECT_EQ(reopened.history().contacts[0].buyer, reopened.find(first)->buyer);
}

// Every send logs a contact; the log is read by buyer (contacts_of, for the caps right before a
// send) and whole (history). Version 7 dropped a second index that begins with the buyer, which
// every contact was written into and no query read.
TEST_F(StoreTest, TheContactLogHasOneIndexByBuyerAndContactsOfUsesIt) {
  const auto indexes = [&] {
    SQLite::Database db(path_);
    SQLite::Statement q(
        db, "SELECT name FROM sqlite_master WHERE type='index' AND tbl_name='contacts' AND sql IS NOT NULL");
    std::set<std::string> out;
    while (q.executeStep()) out.insert(q.getColumn(0).getString());
    return out;
  };
  { SqliteStore store(path_, zone_); }
  EXPECT_EQ(indexes(), std::set<std::string>{"contacts_buyer_at"});
  {
    SQLite::Database db(path_, SQLite::OPEN_READWRITE);
    SQLite::Statement plan(db,
                           "EXPLAIN QUERY PLAN SELECT buyer, channel, at, order_ids, step, shop FROM contacts "
                           "WHERE buyer = ? ORDER BY at, id");
    ASSERT_TRUE(plan.executeStep());
    EXPECT_NE(plan.getColumn(3).getString().find("contacts_buyer_at"), std::string::npos)
        << plan.getColumn(3).getString();
    // A version 6 store, as the previous release left it.
    db.exec("CREATE INDEX contacts_shop_buyer ON contacts(shop, buyer, at); PRAGMA user_version = 6;");
  }
  SqliteStore store(path_, zone_);
  EXPECT_EQ(store.schema_version(), SqliteStore::kSchemaVersion);
  EXPECT_EQ(indexes(), std::set<std::string>{"contacts_buyer_at"});
}

// The outbox's id lists (order ids, why lines) are written and split by hand on the send path;
// the text and what is read back are nlohmann::json's, whatever the ids hold.
TEST(StoreIdLists, AreWrittenAndReadAsNlohmannJsonWritesAndReadsThem) {
  using store_detail::ids_from_json;
  using store_detail::ids_json;
  const std::vector<std::vector<std::string>> lists = {
      {},
      {"A1"},
      {"A1", "A2", ""},
      {"segment office: 写字楼", "SMS 12:00–13:30, 回T退订"},
      {"say \"hi\"", "back\\slash", std::string("nul") + std::string(1, '\0') + "\x01\ttab\nnl", "😀 \x7f"}};
  for (const auto& ids : lists) {
    const std::string text = ids_json(ids);
    EXPECT_EQ(text, nlohmann::json(ids).dump());
    EXPECT_EQ(ids_from_json(text), ids) << text;
  }
  const auto reference = [](const std::string& text) {
    std::vector<std::string> out;
    const auto j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_array()) {
      for (const auto& v : j) {
        if (v.is_string()) out.push_back(v.get<std::string>());
      }
    }
    return out;
  };
  for (const std::string text : {"[]",
                                 "[\"a\"]",
                                 "[\"a\",\"b\"]",
                                 "[ \"a\" , \"b\" ]",
                                 "[\"a\",]",
                                 "[\"a\"]]",
                                 "[[\"a\"]]",
                                 "[1,\"a\"]",
                                 "[\"a\"",
                                 "\"a\"",
                                 "",
                                 "[\"a\\\"b\"]",
                                 "[\"\\u00e9\"]",
                                 "[\"\x01\"]",
                                 "[\"\xff\"]",
                                 "[\"\xe4\xb8\"]",
                                 "[\"\",\"\"]",
                                 "[,]",
                                 "[\"a\"\"b\"]",
                                 "{\"a\":1}",
                                 "[\"写\",\"字\"]"}) {
    EXPECT_EQ(ids_from_json(text), reference(text)) << text;
  }
  // valid_utf8 skips ASCII 8 bytes at a time: a bad or cut-short sequence at every position
  // around those words is still refused as nlohmann::json refuses it, a good one accepted.
  for (const std::string bad :
       {"\xff", "\xe4\xb8", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\x80", "\xe5\x86\x99"}) {
    for (std::size_t before = 0; before <= 17; ++before) {
      for (std::size_t after = 0; after <= 9; ++after) {
        const std::string text = std::string(before, 'a') + bad + std::string(after, 'b');
        bool accepted = true;
        try {
          (void)nlohmann::json(text).dump();
        } catch (const nlohmann::json::exception&) {
          accepted = false;
        }
        EXPECT_EQ(json_text::valid_utf8(text), accepted) << before << " " << after;
        if (accepted) {
          EXPECT_EQ(ids_json({text, "x"}), nlohmann::json(std::vector<std::string>{text, "x"}).dump());
        }
      }
    }
  }
}

// ids_json copies text of 1-3 byte characters with nothing to escape as it is (plain_json_text,
// a why line of Chinese in one pass) and sends the rest through valid_utf8 and append_string:
// every kind of sequence, good or bad, cut short or escaped, at every position around the 8-byte
// ASCII words, is written as nlohmann::json writes it, or refused as it refuses it.
TEST(StoreIdLists, PlainTextIsCopiedAsItIsAndEverythingElseAsNlohmannJsonWritesIt) {
  using store_detail::ids_json;
  using store_detail::plain_json_text;
  const std::vector<std::string> sequences = {"\xe5\x86\x99",
                                              "\xe1\x80\x80",
                                              "\xec\xbf\xbf",
                                              "\xee\x80\x80",
                                              "\xef\xbf\xbf",
                                              "\xe0\xa0\x80",
                                              "\xed\x9f\xbf",
                                              "\xc2\x80",
                                              "\xdf\xbf",
                                              "\xf0\x9f\x98\x80",
                                              "\xf4\x8f\xbf\xbf",
                                              "\x7f",
                                              "\"",
                                              "\\",
                                              "\n",
                                              std::string(1, '\0'),
                                              "\x1f",
                                              "\xe0\x80\x80",
                                              "\xed\xa0\x80",
                                              "\xc0\xaf",
                                              "\xc1\xbf",
                                              "\xe5\x86",
                                              "\xe5",
                                              "\xe5\x86\x41",
                                              "\xe5\x41\x99",
                                              "\xc2\x41",
                                              "\x80",
                                              "\xbf",
                                              "\xf5\x80\x80\x80",
                                              "\xff",
                                              "\xf4\x90\x80\x80"};
  const auto reference = [](const std::vector<std::string>& ids) -> std::optional<std::string> {
    try {
      return nlohmann::json(ids).dump();
    } catch (const nlohmann::json::exception&) {
      return std::nullopt;
    }
  };
  const auto written = [](const std::vector<std::string>& ids) -> std::optional<std::string> {
    try {
      return ids_json(ids);
    } catch (const nlohmann::json::exception&) {
      return std::nullopt;
    }
  };
  int plain = 0;
  for (const auto& seq : sequences) {
    // Past two blocks of 16 ASCII bytes (looked at 16 at a time) and around them.
    for (std::size_t before = 0; before <= 35; ++before) {
      for (std::size_t after = 0; after <= 9; ++after) {
        for (const std::string& pad : {std::string("a"), std::string("\xe5\x86\x99")}) {
          std::string text;
          for (std::size_t i = 0; i < before; ++i) text += pad;
          text += seq;
          text += std::string(after, 'b');
          const std::vector<std::string> ids = {text, "x", "写字楼"};
          EXPECT_EQ(written(ids), reference(ids)) << before << " " << after << " " << seq.size();
          if (plain_json_text(text)) {
            ++plain;
            EXPECT_EQ(reference({text}), "[\"" + text + "\"]");
          }
        }
      }
    }
  }
  EXPECT_GT(plain, 0);
  EXPECT_TRUE(plain_json_text("segment office: 写字楼 12:00–13:30, 回T退订 \x7f"));
  EXPECT_FALSE(plain_json_text("say \"hi\""));
  EXPECT_FALSE(plain_json_text("😀"));  // 4 bytes: valid, but looked at again
}

TEST_F(StoreTest, CancelledRowIsRevivedWhenPlannedAgain) {
  SqliteStore store(path_, zone_);
  store.upsert_planned(reminder("2026-11-24 12:00"), at("2026-11-24 08:00"));
  const auto id = store.in_state(OutboxState::planned).at(0).id;
  EXPECT_TRUE(store.cancel(id, at("2026-11-24 14:00"), "missed its slot"));
  EXPECT_EQ(store.find(id)->last_error, "missed its slot");
  EXPECT_EQ(store.upsert_planned(reminder("2026-11-24 17:00"), at("2026-11-24 14:00")), UpsertResult::revived);
  EXPECT_EQ(store.find(id)->state, OutboxState::planned);
  EXPECT_EQ(store.find(id)->send_at, at("2026-11-24 17:00"));
}

// A reconcile's cancellation (cancel_planned, without reading the row first) leaves a row
// claimed since alone, cancels a planned one, and turns a planned row in doubt into 'unknown' with
// its contact, as cancel() does.
TEST_F(StoreTest, CancelPlannedLeavesAClaimedRowAloneAndKeepsADoubtfulOneAContact) {
  SqliteStore store(path_, zone_);
  const LocalTime now = at("2026-11-24 08:00");
  store.upsert_planned(reminder("2026-11-24 12:00", "b1"), now);
  store.upsert_planned(reminder("2026-11-24 12:00", "b2"), now);
  store.upsert_planned(reminder("2026-11-24 12:00", "b3"), now);
  std::map<std::string, std::int64_t> id;
  for (const auto& r : store.in_state(OutboxState::planned)) id[r.buyer] = r.id;
  ASSERT_EQ(id.size(), 3u);
  ASSERT_TRUE(store.mark_sending(id["b2"], now));
  ASSERT_TRUE(store.mark_sending(id["b3"], now));
  store.mark_in_doubt(id["b3"], now, "restart");  // planned again, in doubt
  ASSERT_EQ(store.find(id["b3"])->state, OutboxState::planned);
  const LocalTime later = at("2026-11-24 09:00");
  const auto contacts = store.history().contacts.size();

  EXPECT_TRUE(store.cancel_planned(id["b1"], later, "order paid"));
  EXPECT_EQ(store.find(id["b1"])->state, OutboxState::cancelled);
  EXPECT_EQ(store.find(id["b1"])->last_error, "order paid");
  EXPECT_FALSE(store.cancel_planned(id["b2"], later, "order paid"));  // claimed: its outcome decides
  EXPECT_EQ(store.find(id["b2"])->state, OutboxState::sending);
  EXPECT_EQ(store.history().contacts.size(), contacts);
  EXPECT_TRUE(store.cancel_planned(id["b3"], later, "order paid"));
  EXPECT_EQ(store.find(id["b3"])->state, OutboxState::unknown);
  EXPECT_EQ(store.history().contacts.size(), contacts + 1);
  EXPECT_FALSE(store.cancel_planned(id["b1"], later, "again"));  // no longer planned
  EXPECT_TRUE(store.cancel(id["b2"], later, "order paid"));      // cancel() takes a claimed row too
}

TEST_F(StoreTest, OptOutsFeedTheHistory) {
  SqliteStore store(path_, zone_);
  store.add_opt_out({"buyer1", Channel::sms, at("2026-11-24 08:00"), "cli"});
  store.add_opt_out({"buyer1", Channel::sms, at("2026-11-24 09:00"), "sms-reply"});
  EXPECT_TRUE(store.history().is_opted_out("buyer1", Channel::sms));
  EXPECT_FALSE(store.history().is_opted_out("buyer1", Channel::im));
  EXPECT_EQ(store.opt_outs().size(), 1u);
  EXPECT_TRUE(store.remove_opt_out("buyer1", Channel::sms));
  EXPECT_FALSE(store.remove_opt_out("buyer1", std::nullopt));
}

TEST_F(StoreTest, FindsBuyerByPhoneFromOrdersSeen) {
  SqliteStore store(path_, zone_);
  Order o;
  o.id = "A1";
  o.buyer = "buyer1";
  o.phone = "13812341234";
  store.record_orders_seen({o}, at("2026-11-24 08:00"));
  store.record_orders_seen({o}, at("2026-11-24 09:00"));
  EXPECT_EQ(store.buyer_by_phone("13812341234"), "buyer1");
  EXPECT_EQ(store.buyer_by_phone("000"), std::nullopt);
}

TEST_F(StoreTest, KnowsTheNewestStatusOfAnOrderSoPaidCallTasksAreNotCalled) {
  SqliteStore store(path_, zone_);
  Order o;
  o.id = "A1";
  o.buyer = "buyer1";
  store.record_orders_seen({o}, at("2026-11-24 08:00"));
  EXPECT_EQ(store.order_status("A1"), OrderStatus::unpaid);
  o.status = OrderStatus::paid;
  store.record_orders_seen({o}, at("2026-11-24 10:00"));
  EXPECT_EQ(store.order_status("A1"), OrderStatus::paid);
  EXPECT_EQ(store.order_status("never-seen"), std::nullopt);
}

TEST_F(StoreTest, TimesAreStoredAsUtcEpochSeconds) {
  SqliteStore store(path_, zone_);
  store.upsert_planned(reminder("2026-11-24 12:00"), at("2026-11-24 08:00"));
  SQLite::Database db(path_);
  // 2026-11-24 12:00 in Shanghai is 04:00 UTC.
  EXPECT_EQ(db.execAndGet("SELECT send_at FROM outbox").getInt64(), 1795492800);
}

TEST_F(StoreTest, OutboxFiltersByDayAndState) {
  SqliteStore store(path_, zone_);
  store.upsert_planned(reminder("2026-11-24 12:00"), at("2026-11-24 08:00"));
  store.upsert_planned(reminder("2026-11-25 12:00", "buyer2"), at("2026-11-24 08:00"));
  EXPECT_EQ(store.rows({at("2026-11-24 00:00"), std::nullopt}).size(), 1u);
  EXPECT_EQ(store.rows({std::nullopt, OutboxState::planned}).size(), 2u);
  EXPECT_EQ(store.rows({std::nullopt, OutboxState::sent}).size(), 0u);
  EXPECT_EQ(store.counts()[std::make_pair(Channel::sms, OutboxState::planned)], 2);
}

TEST_F(StoreTest, DueSkipsARowWaitingForItsRetryAndFiltersByChannel) {
  SqliteStore store(path_, zone_);
  const LocalTime now = at("2026-11-24 12:00");
  auto im = reminder("2026-11-24 11:00", "b1");
  im.channel = Channel::im;
  store.upsert_planned(im, now);
  store.upsert_planned(reminder("2026-11-24 11:30", "b2"), now);
  EXPECT_EQ(store.due(now).size(), 2u);
  EXPECT_EQ(store.due(now, Channel::sms).size(), 1u);
  EXPECT_EQ(store.due(now, std::nullopt, 1).size(), 1u);
  auto row = store.due(now, Channel::sms)[0];
  ASSERT_TRUE(store.mark_sending(row.id, now));
  store.mark_retry(row.id, now, "HTTP 503", now + std::chrono::minutes{10});
  EXPECT_TRUE(store.due(now, Channel::sms).empty());
  EXPECT_EQ(store.due(now + std::chrono::minutes{10}, Channel::sms).size(), 1u);
  EXPECT_EQ(store.find(row.id)->state, OutboxState::planned);
  EXPECT_EQ(store.find(row.id)->attempts, 1);
}

// A full reconcile (the daemon's first after it starts) reads every planned row's head, as an
// incremental one reads a few buyers' (planned_of): the same heads in_state() reads, without the
// texts, and no row in another state.
TEST_F(StoreTest, AllPlannedReadsEveryPlannedRowsHeadAsInStateDoesWithoutItsTexts) {
  const LocalTime now = at("2026-11-24 12:00");
  SqliteStore store(path_, zone_);
  auto shop = reminder("2026-11-24 12:30", "b1");
  shop.shop = "旗舰店";
  store.upsert_planned(shop, now);
  store.upsert_planned(reminder("2026-11-24 12:40", "b2"), now);
  store.upsert_planned(reminder("2026-11-24 12:50", "b3"), now);
  store.upsert_planned(reminder("2026-11-24 11:50", "b4"), now);
  store.upsert_planned(reminder("2026-11-24 11:55", "b5"), now);
  const auto by_buyer = [&](const std::string& buyer) {
    for (const auto& r : store.in_state(OutboxState::planned)) {
      if (r.buyer == buyer) return r;
    }
    ADD_FAILURE() << "no planned row of " << buyer;
    return OutboxRow{};
  };
  ASSERT_TRUE(store.cancel(by_buyer("b3").id, now, "paid"));
  store.hold_until(by_buyer("b2").id, at("2026-11-24 13:00"), "spread after an outage");
  const auto claimed = by_buyer("b4").id;
  ASSERT_TRUE(store.mark_sending(claimed, now));
  const auto doubted = by_buyer("b5").id;
  ASSERT_TRUE(store.mark_sending(doubted, now));
  store.mark_in_doubt(doubted, now, "restarted while sending");

  auto heads = store.all_planned();
  auto full = store.in_state(OutboxState::planned);
  ASSERT_EQ(heads.size(), 3u);  // b1, b2 and b5 (planned again, in doubt); not b3 (cancelled) nor b4 (sending)
  ASSERT_EQ(full.size(), heads.size());
  const auto by_id = [](const auto& a, const auto& b) { return a.id < b.id; };
  std::sort(heads.begin(), heads.end(), by_id);
  std::sort(full.begin(), full.end(), by_id);
  for (std::size_t i = 0; i < heads.size(); ++i) {
    const PlannedHead& h = heads[i];
    const OutboxRow& f = full[i];
    EXPECT_EQ(h.id, f.id);
    EXPECT_EQ(h.idempotency_key, f.idempotency_key);
    EXPECT_EQ(h.buyer, f.buyer);
    EXPECT_EQ(h.shop, f.shop);
    EXPECT_EQ(h.order_ids, f.order_ids);
    EXPECT_EQ(h.channel, f.channel);
    EXPECT_EQ(h.step, f.step);
    EXPECT_EQ(h.send_at, f.send_at);
    EXPECT_EQ(h.not_before, f.not_before);
    EXPECT_EQ(h.in_doubt_since, f.in_doubt_since);
    EXPECT_NE(h.content_hash, 0u) << h.buyer;
    // The same as an incremental reconcile reads of that buyer.
    const auto of = store.planned_of({{h.shop, h.buyer}});
    ASSERT_EQ(of.size(), 1u) << h.buyer;
    EXPECT_EQ(of[0].id, h.id);
    EXPECT_EQ(of[0].shop, h.shop);
  }
  EXPECT_EQ(heads[0].shop, "旗舰店");
  EXPECT_TRUE(heads[1].not_before.has_value());
  EXPECT_TRUE(heads[2].in_doubt_since.has_value());
}

// content_hash(r) is what planned_of() and all_planned() give a row holding what upsert_planned(r)
// compares: equal exactly when upsert_planned(r) leaves the planned row unchanged. Each compared
// value changed alone changes it (and the row is updated); a value not compared (why, shop, the
// state's own columns) does not; a due row that kept its slot differs from the reminder re-planned
// into another, whatever wrote the row.
TEST_F(StoreTest, ContentHashIsEqualExactlyWhenUpsertPlannedLeavesThePlannedRowUnchanged) {
  const LocalTime now = at("2026-11-24 08:00");
  SqliteStore store(path_, zone_);
  const auto head_of = [&](const PlannedReminder& r) -> std::optional<std::uint64_t> {
    std::optional<std::uint64_t> all, of;
    for (const auto& h : store.all_planned()) {
      if (h.idempotency_key == r.idempotency_key()) all = h.content_hash;
    }
    for (const auto& h : store.planned_of({{r.shop, r.buyer}})) {
      if (h.idempotency_key == r.idempotency_key()) of = h.content_hash;
    }
    EXPECT_EQ(all, of);
    return all;
  };
  const PlannedReminder base = reminder("2026-11-24 12:00");
  ASSERT_EQ(store.upsert_planned(base, now), UpsertResult::inserted);
  ASSERT_TRUE(head_of(base).has_value());
  EXPECT_EQ(head_of(base), store.content_hash(base));
  std::vector<std::pair<const char*, std::function<void(PlannedReminder&)>>> changes = {
      {"send_at", [&](PlannedReminder& r) { r.send_at = at("2026-11-24 12:01"); }},
      {"message", [](PlannedReminder& r) { r.message += "。"; }},
      {"order_ids", [](PlannedReminder& r) { r.order_ids.push_back("A3"); }},
      {"order_ids fewer", [](PlannedReminder& r) { r.order_ids = {"A1"}; }},
      {"channel", [](PlannedReminder& r) { r.channel = Channel::im; }},
      {"contact", [](PlannedReminder& r) { r.contact = "13900000000"; }},
      {"subject", [](PlannedReminder& r) { r.subject = "订单"; }},
      {"receiver_name", [](PlannedReminder& r) { r.receiver_name = "王磊"; }},
      {"segment", [](PlannedReminder& r) { r.segment = "student"; }},
      {"template", [](PlannedReminder& r) { r.template_name = "office.price"; }},
      {"message and subject split elsewhere",
       [](PlannedReminder& r) {
         r.subject = r.message.substr(0, 3);
         r.message = r.message.substr(3);
       }},
  };
  PlannedReminder current = base;
  for (const auto& [what, change] : changes) {
    PlannedReminder r = base;
    change(r);
    ASSERT_EQ(r.idempotency_key(), base.idempotency_key()) << what;
    EXPECT_NE(store.content_hash(r), head_of(current)) << what;
    EXPECT_EQ(store.upsert_planned(r, now), UpsertResult::updated) << what;
    EXPECT_EQ(head_of(r), store.content_hash(r)) << what;
    EXPECT_EQ(store.upsert_planned(r, now), UpsertResult::unchanged) << what;
    current = r;
  }
  // The step and the buyer are part of the key: another row, its own hash.
  PlannedReminder step2 = base;
  step2.step = 2;
  PlannedReminder other = base;
  other.buyer = "buyer2";
  EXPECT_NE(store.content_hash(step2), store.content_hash(base));
  EXPECT_NE(store.content_hash(other), store.content_hash(base));
  ASSERT_EQ(store.upsert_planned(base, now), UpsertResult::updated);
  // Not compared, not hashed: the row stays as it is.
  PlannedReminder why = base;
  why.why = {"another reason"};
  EXPECT_EQ(store.content_hash(why), head_of(base));
  EXPECT_EQ(store.upsert_planned(why, now), UpsertResult::unchanged);
  // The send path's own columns (a hold, a retry's error) leave it as it is too.
  const std::int64_t id = store.all_planned().at(0).id;
  store.hold_until(id, at("2026-11-24 12:30"), "spread after an outage");
  EXPECT_EQ(head_of(base), store.content_hash(base));
  EXPECT_EQ(store.upsert_planned(base, now), UpsertResult::unchanged);
  // Written by something else than upsert_planned (an older build, by hand): read as it is.
  {
    SQLite::Database db(path_, SQLite::OPEN_READWRITE);
    db.exec("UPDATE outbox SET message = message || '!'");
  }
  EXPECT_NE(head_of(base), store.content_hash(base));
  EXPECT_EQ(store.upsert_planned(base, now), UpsertResult::updated);
  EXPECT_EQ(head_of(base), store.content_hash(base));
  // Due, re-planned into another slot: the row keeps its slot, and its hash is that of the
  // reminder at the slot kept, not of the one re-planned.
  PlannedReminder later = base;
  later.send_at = at("2026-11-24 12:05");
  EXPECT_EQ(store.upsert_planned(later, at("2026-11-24 12:00:30")), UpsertResult::updated);
  EXPECT_NE(head_of(base), store.content_hash(later));
  EXPECT_EQ(head_of(base), store.content_hash(base));
}

// Every send moves its row planned -> sending -> sent. Since version 8 the outbox's indexes by
// state hold only the rows their queries look for (planned; failed), so a claim only takes the
// row out of them and its outcome touches none: the queries still find what they did, through them.
TEST_F(StoreTest, TheOutboxIndexesByStateHoldOnlyTheRowsLookedUp) {
  const LocalTime now = at("2026-11-24 12:00");
  {
    SqliteStore store(path_, zone_);
    auto im = reminder("2026-11-24 11:50", "b1");
    im.channel = Channel::im;
    store.upsert_planned(im, now);
    store.upsert_planned(reminder("2026-11-24 11:40", "b2"), now);
    store.upsert_planned(reminder("2026-11-24 12:30", "b3"), now);
    // The earliest planned row of any channel, whichever channel it is on.
    EXPECT_EQ(store.next_due(), at("2026-11-24 11:40"));
    const auto sms = store.due(now, Channel::sms);
    ASSERT_EQ(sms.size(), 1u);
    ASSERT_TRUE(store.mark_sending(sms[0].id, now));
    EXPECT_EQ(store.next_due(), at("2026-11-24 11:50"));  // the claimed row is no longer due
    store.mark_sent(sms[0].id, now, {"b2", Channel::sms, now, {"A1"}, 1});
    EXPECT_EQ(store.due(now).size(), 1u);
    EXPECT_EQ(store.planned_of({{"", "b2"}}).size(), 0u);
    EXPECT_EQ(store.planned_of({{"", "b3"}}).size(), 1u);
    store.mark_failed(store.due(now, Channel::im)[0].id, now, "HTTP 400");
    EXPECT_EQ(store.next_due(), at("2026-11-24 12:30"));
    EXPECT_EQ(store.history().contacts.size(), 2u);  // the send and the failed step
  }
  SQLite::Database db(path_);
  const auto plan = [&](const std::string& sql) {
    SQLite::Statement q(db, "EXPLAIN QUERY PLAN " + sql);
    std::string out;
    while (q.executeStep()) out += q.getColumn(3).getString() + "; ";
    return out;
  };
  const auto uses = [&](const std::string& sql, const std::string& index) {
    const std::string p = plan(sql);
    EXPECT_NE(p.find(index), std::string::npos) << sql << ": " << p;
    EXPECT_EQ(p.find("SCAN outbox; "), std::string::npos) << sql << ": " << p;  // not the whole table
  };
  uses("SELECT id FROM outbox WHERE state='planned' AND send_at <= 1 AND channel = 'sms' ORDER BY send_at, id LIMIT 5",
       "outbox_due");
  uses(
      "SELECT send_at FROM outbox WHERE state='planned' AND channel='im' AND not_before IS NULL ORDER BY send_at "
      "LIMIT 1",
      "outbox_due");
  uses("SELECT id FROM outbox WHERE shop = 's' AND buyer = 'b' AND state = 'planned'", "outbox_buyer_planned");
  uses("SELECT id FROM outbox WHERE state='failed'", "outbox_failed");
  uses("SELECT MIN(not_before) FROM outbox WHERE state='cancelled' AND not_before IS NOT NULL", "INDEX outbox_");
  // The sent and the failed rows are in no index of planned rows; the planned one is in both.
  EXPECT_EQ(db.execAndGet("SELECT COUNT(*) FROM outbox INDEXED BY outbox_due WHERE state='planned'").getInt(), 1);
  EXPECT_EQ(db.execAndGet("SELECT COUNT(*) FROM outbox INDEXED BY outbox_buyer_planned WHERE state='planned'").getInt(),
            1);
  // No index of the outbox begins with its state but the held rows' (partial: not_before set).
  SQLite::Statement q(db,
                      "SELECT name, sql FROM sqlite_master WHERE type='index' AND tbl_name='outbox' AND sql NOT NULL");
  while (q.executeStep()) {
    const std::string sql = q.getColumn(1).getString();
    if (q.getColumn(0).getString() != "outbox_held") {
      EXPECT_EQ(sql.find("(state"), std::string::npos) << sql;
    }
  }
}

TEST_F(StoreTest, AnUnknownOutcomeIsLoggedAsAContactAndNeverRevived) {
  SqliteStore store(path_, zone_);
  const LocalTime now = at("2026-11-24 12:00");
  store.upsert_planned(reminder("2026-11-24 12:00", "b1"), now);
  auto row = store.due(now)[0];
  ASSERT_TRUE(store.mark_sending(row.id, now));
  store.mark_unknown(row.id, now, "outcome unknown", {"b1", Channel::sms, now, {"A1", "A2"}, 1});
  EXPECT_EQ(store.find(row.id)->state, OutboxState::unknown);
  EXPECT_EQ(store.contacts_of({"b1"}).size(), 1u);
  EXPECT_EQ(store.upsert_planned(reminder("2026-11-24 12:00", "b1"), now), UpsertResult::kept);
  EXPECT_EQ(parse_outbox_state("unknown"), OutboxState::unknown);
}

}  // namespace
}  // namespace cuifu

namespace cuifu {
namespace {

// ---- Several shops: a buyer is (shop, buyer) in every table ------------------------

TEST_F(StoreTest, KeepsShopsApartInTheOutboxContactLogAndOptOuts) {
  SqliteStore store(path_, zone_);
  PlannedReminder a = reminder("2026-11-24 17:00");
  a.shop = "青禾家居旗舰店";
  PlannedReminder b = a;
  b.shop = "木森家具专营店";
  ASSERT_NE(a.idempotency_key(), b.idempotency_key());
  EXPECT_EQ(store.upsert_planned(a, at("2026-11-24 14:00")), UpsertResult::inserted);
  EXPECT_EQ(store.upsert_planned(b, at("2026-11-24 14:00")), UpsertResult::inserted);
  const auto rows = store.rows({});
  ASSERT_EQ(rows.size(), 2u);
  std::set<std::string> shops;
  for (const auto& r : rows) shops.insert(r.shop);
  EXPECT_EQ(shops, (std::set<std::string>{"青禾家居旗舰店", "木森家具专营店"}));

  const auto id = rows[0].id;
  ASSERT_TRUE(store.mark_sending(id, at("2026-11-24 17:00")));
  store.mark_sent(id, at("2026-11-24 17:00"),
                  {rows[0].buyer, rows[0].channel, at("2026-11-24 17:00"), rows[0].order_ids, 1, rows[0].shop});
  const auto h = store.history();
  ASSERT_EQ(h.contacts.size(), 1u);
  EXPECT_EQ(h.contacts[0].shop, rows[0].shop);

  store.add_opt_out({"buyer1", Channel::sms, at("2026-11-24 08:00"), "cli", "木森家具专营店"});
  EXPECT_TRUE(store.history().is_opted_out("木森家具专营店", "buyer1", Channel::sms));
  EXPECT_FALSE(store.history().is_opted_out("青禾家居旗舰店", "buyer1", Channel::sms));
  store.add_opt_out({"buyer1", Channel::im, at("2026-11-24 08:00"), "cli", ""});  // every shop
  EXPECT_TRUE(store.history().is_opted_out("青禾家居旗舰店", "buyer1", Channel::im));
  EXPECT_TRUE(store.history().is_opted_out("木森家具专营店", "buyer1", Channel::im));
  EXPECT_FALSE(store.remove_opt_out("buyer1", Channel::sms, std::string("青禾家居旗舰店")));
  EXPECT_TRUE(store.remove_opt_out("buyer1", Channel::sms, std::string("木森家具专营店")));
  EXPECT_TRUE(store.remove_opt_out("buyer1", std::nullopt));
  EXPECT_TRUE(store.opt_outs().empty());
}

TEST_F(StoreTest, MigratesAVersionTwoDatabaseKeepingItsOptOutsForEveryShop) {
  {
    SQLite::Database db(path_, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    db.exec(R"sql(
CREATE TABLE orders_seen (order_id TEXT PRIMARY KEY, buyer TEXT NOT NULL, phone TEXT NOT NULL DEFAULT '',
  status TEXT NOT NULL, first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL);
CREATE INDEX orders_seen_phone ON orders_seen(phone);
CREATE TABLE outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, idempotency_key TEXT NOT NULL UNIQUE,
  buyer TEXT NOT NULL, order_ids TEXT NOT NULL, channel TEXT NOT NULL, step INTEGER NOT NULL,
  segment TEXT NOT NULL, template TEXT NOT NULL, message TEXT NOT NULL, subject TEXT NOT NULL DEFAULT '',
  contact TEXT NOT NULL DEFAULT '', receiver_name TEXT NOT NULL DEFAULT '', send_at INTEGER NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('planned','sending','sent','failed','cancelled')),
  attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT NOT NULL DEFAULT '', updated_at INTEGER NOT NULL,
  sent_at INTEGER, why TEXT NOT NULL DEFAULT '[]');
CREATE INDEX outbox_state_send_at ON outbox(state, send_at);
CREATE TABLE contacts (id INTEGER PRIMARY KEY AUTOINCREMENT, buyer TEXT NOT NULL, channel TEXT NOT NULL,
  at INTEGER NOT NULL, order_ids TEXT NOT NULL, step INTEGER NOT NULL);
CREATE INDEX contacts_buyer ON contacts(buyer, at);
CREATE TABLE opt_outs (buyer TEXT NOT NULL, channel TEXT NOT NULL, at INTEGER NOT NULL, source TEXT NOT NULL,
  PRIMARY KEY (buyer, channel));
CREATE TABLE call_tasks (id INTEGER PRIMARY KEY AUTOINCREMENT, idempotency_key TEXT NOT NULL UNIQUE,
  buyer TEXT NOT NULL, receiver_name TEXT NOT NULL DEFAULT '', phone TEXT NOT NULL, order_ids TEXT NOT NULL,
  message TEXT NOT NULL, due_at INTEGER NOT NULL, created_at INTEGER NOT NULL);
CREATE INDEX call_tasks_due ON call_tasks(due_at);
INSERT INTO opt_outs VALUES ('buyer1', 'sms', 1764000000, 'cli');
INSERT INTO contacts (buyer, channel, at, order_ids, step) VALUES ('buyer1', 'im', 1764000000, '["A1"]', 1);
PRAGMA user_version = 2;
)sql");
  }
  SqliteStore store(path_, zone_);
  EXPECT_EQ(store.schema_version(), SqliteStore::kSchemaVersion);
  EXPECT_TRUE(store.history().is_opted_out("木森家具专营店", "buyer1", Channel::sms));
  ASSERT_EQ(store.history().contacts.size(), 1u);
  EXPECT_EQ(store.history().contacts[0].shop, "");
  store.add_opt_out({"buyer1", Channel::sms, at("2026-11-24 08:00"), "cli", "木森家具专营店"});
  EXPECT_EQ(store.opt_outs().size(), 2u);
}

}  // namespace
}  // namespace cuifu

namespace cuifu {
namespace {

// ---- Counts per (channel, state): kept as rows change, not counted on each request ---------

// What counting the outbox itself says (another connection, as `sqlite3` would).
std::map<std::pair<Channel, OutboxState>, std::int64_t> recount(const std::string& path) {
  SQLite::Database db(path);
  SQLite::Statement q(db, "SELECT channel, state, COUNT(*) FROM outbox GROUP BY channel, state");
  std::map<std::pair<Channel, OutboxState>, std::int64_t> out;
  while (q.executeStep()) {
    out[{*parse_channel(q.getColumn(0).getString()), *parse_outbox_state(q.getColumn(1).getString())}] =
        q.getColumn(2).getInt64();
  }
  return out;
}

// unflushed(): one transaction from call to call, committed when its fn is done, by any other
// write of the store (a claim's commit carries the rows with it), or rolled back when fn throws.
// A read of the store meanwhile sees the rows and commits nothing.
TEST_F(StoreTest, UnflushedWritesStayOpenUntilDoneOrAnotherWriteAndRollBackWhenTheyThrow) {
  SqliteStore store(path_, zone_);
  SqliteStore other(path_, zone_);  // what another connection (the status server's) sees
  const LocalTime now = at("2026-11-24 09:00");
  const auto seen = [&] { return other.rows({}).size(); };
  store.unflushed([&] {
    store.upsert_planned(reminder("2026-11-24 12:00", "b1"), now);
    return false;
  });
  store.unflushed([&] {
    store.batch([&] { store.upsert_planned(reminder("2026-11-24 12:00", "b2"), now); });  // part of it
    store.record_orders_seen({Order{}}, now);
    return false;
  });
  EXPECT_EQ(seen(), 0u);
  ASSERT_EQ(store.rows({}).size(), 2u);  // a read: through the transaction, still open
  EXPECT_EQ(store.due(at("2026-11-24 12:00")).size(), 2u);
  EXPECT_TRUE(store.next_due().has_value());
  EXPECT_FALSE(store.next_replan().has_value());
  EXPECT_EQ(store.counts().at({Channel::sms, OutboxState::planned}), 2);
  store.history();
  store.opt_outs();
  EXPECT_EQ(seen(), 0u);
  store.add_opt_out({"nobody", Channel::sms, now, "cli", ""});  // a write: committed first
  EXPECT_EQ(seen(), 2u);

  store.unflushed([&] {
    store.upsert_planned(reminder("2026-11-24 12:00", "b3"), now);
    return false;
  });
  EXPECT_EQ(seen(), 2u);
  // A claim of a row written meanwhile: the row and the claim are both committed.
  const auto mine = store.due(at("2026-11-24 12:00"));
  ASSERT_EQ(mine.size(), 3u);
  EXPECT_TRUE(store.mark_sending(mine.back().id, now));
  EXPECT_EQ(other.in_state(OutboxState::sending).size(), 1u);

  store.unflushed([&] {
    store.upsert_planned(reminder("2026-11-24 12:00", "b4"), now);
    return true;  // done: committed now
  });
  EXPECT_EQ(seen(), 4u);

  store.unflushed([&] {
    store.upsert_planned(reminder("2026-11-24 12:00", "b5"), now);
    return false;
  });
  EXPECT_THROW(store.unflushed([&]() -> bool {
    store.upsert_planned(reminder("2026-11-24 12:00", "b6"), now);
    throw StoreError("disk full");
  }),
               StoreError);
  EXPECT_EQ(store.rows({}).size(), 4u);  // b5 and b6 rolled back together
  EXPECT_EQ(seen(), 4u);
  // Ordinary commits afterwards, and another unflushed run.
  store.upsert_planned(reminder("2026-11-24 12:00", "b7"), now);
  store.unflushed([&] {
    store.upsert_planned(reminder("2026-11-24 12:00", "b8"), now);
    return true;
  });
  EXPECT_EQ(seen(), 6u);
}

// After unflushed() the WAL is copied into the database by a thread of the store's, not by the
// connection that commits: the database file grows while the store stays open.
TEST_F(StoreTest, TheWalIsCopiedIntoTheDatabaseInTheBackground) {
  SqliteStore store(path_, zone_);
  store.unflushed([] { return true; });
  const auto size = [&] { return fs::file_size(path_); };
  const auto before = size();
  const LocalTime now = at("2026-11-24 09:00");
  store.batch([&] {  // ~1,500 pages of WAL in an ordinary commit (the wake-up is at 1,000)
    for (int i = 0; i < 1500; ++i) {
      auto r = reminder("2026-11-24 12:00", "buyer" + std::to_string(i));
      r.message = std::string(3000, 'x');
      store.upsert_planned(r, now);
    }
  });
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds{20};
  while (size() < before + 4'000'000 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
  }
  EXPECT_GE(size(), before + 4'000'000);
}

TEST_F(StoreTest, CountsStayRightThroughSendsCancellationsRetriesAndRevivals) {
  SqliteStore store(path_, zone_);
  const LocalTime now = at("2026-11-24 12:00");
  const auto same = [&](const char* after) {
    SCOPED_TRACE(after);
    EXPECT_EQ(store.counts(), recount(path_));
  };
  auto im = reminder("2026-11-24 11:00", "b1");
  im.channel = Channel::im;
  store.batch([&] {
    store.upsert_planned(im, now);
    store.upsert_planned(reminder("2026-11-24 11:30", "b2"), now);
    store.upsert_planned(reminder("2026-11-24 11:40", "b3"), now);
    store.upsert_planned(reminder("2026-11-24 11:50", "b4"), now);
  });
  same("planned in one batch");
  EXPECT_EQ((store.counts()[{Channel::sms, OutboxState::planned}]), 3);
  EXPECT_EQ((store.counts()[{Channel::im, OutboxState::planned}]), 1);
  // Planned again with the same content or a new text: no change in the counts.
  EXPECT_EQ(store.upsert_planned(reminder("2026-11-24 11:30", "b2"), now), UpsertResult::unchanged);
  auto changed = reminder("2026-11-24 11:40", "b3");
  changed.message = "新的文案";
  EXPECT_EQ(store.upsert_planned(changed, now), UpsertResult::updated);
  same("re-planned");

  const auto due = store.due(now);
  ASSERT_EQ(due.size(), 4u);
  ASSERT_TRUE(store.mark_sending(due[0].id, now));
  same("sending");
  store.mark_sent(due[0].id, now, {"b1", Channel::im, now, {"A1", "A2"}, 1});
  same("sent");
  ASSERT_TRUE(store.mark_sending(due[1].id, now));
  store.mark_retry(due[1].id, now, "timeout", now + std::chrono::minutes{5});
  same("retry");
  ASSERT_TRUE(store.mark_sending(due[1].id, now + std::chrono::minutes{5}));
  store.give_up(due[1].id, now, "retries used up", now + std::chrono::hours{1});
  same("given up");
  EXPECT_EQ(store.upsert_planned(reminder("2026-11-24 11:30", "b2"), now + std::chrono::hours{2}),
            UpsertResult::revived);
  same("revived");
  EXPECT_TRUE(store.cancel(due[2].id, now, "order paid"));
  same("cancelled");
  ASSERT_TRUE(store.mark_sending(due[3].id, now));
  store.mark_failed(due[3].id, now, "refused");
  same("failed");
  EXPECT_EQ((store.counts()[{Channel::im, OutboxState::sent}]), 1);
  EXPECT_EQ((store.counts()[{Channel::sms, OutboxState::planned}]), 1);
  EXPECT_EQ((store.counts()[{Channel::sms, OutboxState::cancelled}]), 1);
  EXPECT_EQ((store.counts()[{Channel::sms, OutboxState::failed}]), 1);
  EXPECT_EQ(store.counts().count({Channel::im, OutboxState::planned}), 0u);  // none left: not listed

  // A batch that throws writes nothing, its counts included.
  EXPECT_THROW(store.batch([&] {
    store.upsert_planned(reminder("2026-11-24 18:00", "b9"), now);
    throw StoreError("stop");
  }),
               StoreError);
  same("rolled back");
  // Another connection (another process: `cuifu state`, a second daemon) changes them too.
  {
    SqliteStore other(path_, zone_);
    other.upsert_planned(reminder("2026-11-24 19:00", "b8"), now);
  }
  same("written by another connection");
  EXPECT_EQ((store.counts()[{Channel::sms, OutboxState::planned}]), 2);
}

// Every other kind of write, one at a time, the counts compared with counting the outbox after
// each (the test that fails when a writer forgets to count what it changed): a re-plan onto
// another channel, a crash's rows in 'sending' recovered (resent or unknown), a send not
// started, a cancellation of a row in doubt, retries and holds, the call desk and opt-outs
// (which do not touch the outbox), a savepoint rolled back inside a round, and a reconcile's
// unflushed transaction, which another connection never sees half-counted.
TEST_F(StoreTest, CountsStayRightThroughEveryOtherWriteAndRollback) {
  SqliteStore store(path_, zone_);
  SqliteStore other(path_, zone_);  // the status server's connection
  const LocalTime now = at("2026-11-24 12:00");
  const auto same = [&](const char* after) {
    SCOPED_TRACE(after);
    EXPECT_EQ(store.counts(), recount(path_));
    EXPECT_EQ(other.counts(), recount(path_));
  };
  for (int i = 1; i <= 8; ++i) store.upsert_planned(reminder("2026-11-24 11:00", "b" + std::to_string(i)), now);
  same("planned");
  // Re-planned onto another channel (the planner's fallback): the row moves between channels.
  auto email = reminder("2026-11-24 11:00", "b1");
  email.channel = Channel::email;
  EXPECT_EQ(store.upsert_planned(email, now), UpsertResult::updated);
  same("re-planned onto another channel");
  EXPECT_EQ((store.counts()[{Channel::email, OutboxState::planned}]), 1);
  EXPECT_EQ((store.counts()[{Channel::sms, OutboxState::planned}]), 7);

  std::map<std::string, std::int64_t> id;
  for (const auto& r : store.in_state(OutboxState::planned)) id[r.buyer] = r.id;
  // A crash with rows in 'sending': one resent later (planned, in doubt), one unknown.
  ASSERT_TRUE(store.mark_sending(id["b1"], now));
  ASSERT_TRUE(store.mark_sending(id["b2"], now));
  ASSERT_TRUE(store.mark_sending(id["b3"], now));
  same("claimed");
  EXPECT_FALSE(store.mark_sending(id["b1"], now));  // claimed already: nothing changes
  store.mark_in_doubt(id["b1"], now, "restart");
  same("in doubt after a restart");
  store.mark_unknown(id["b2"], now, "restart", {"b2", Channel::sms, now, {"A1", "A2"}, 1});
  same("unknown after a restart");
  store.mark_unknown(id["b2"], now, "again", {"b2", Channel::sms, now, {"A1", "A2"}, 1});  // not sending: nothing
  store.mark_in_doubt(id["b2"], now, "again");
  store.mark_retry(id["b2"], now, "again", now);
  same("outcomes of a row not sending");
  // A send interrupted before it started: planned again.
  store.mark_planned(id["b3"], now, "not sent: shutdown");
  same("released");
  // The row in doubt cancelled: 'unknown', not 'cancelled'.
  EXPECT_TRUE(store.cancel(id["b1"], now, "order paid"));
  same("a row in doubt cancelled");
  EXPECT_EQ((store.counts()[{Channel::email, OutboxState::unknown}]), 1);
  // Failed from 'planned' (mark_failed takes any state) and from 'sending'.
  store.mark_failed(id["b4"], now, "refused");
  ASSERT_TRUE(store.mark_sending(id["b5"], now));
  store.mark_failed(id["b5"], now, "refused");
  same("failed");
  store.hold_until(id["b6"], now + std::chrono::hours{1}, "catching up");
  store.close_replans(now, "closed");
  same("held, re-plans closed");
  store.add_call_task({0, "k", "b7", "", "138", {"A1"}, "call", now, now});
  store.record_call_outcome({0, "k", CallOutcome::reached, now, "小李", ""});
  store.add_opt_out({"b7", Channel::sms, now, "cli", ""});
  store.record_orders_seen({Order{}}, now);
  same("call desk, opt-outs, orders seen");

  // A round in which a give-up fails half-way (its savepoint rolled back: the row is 'sending'
  // again, its count with it) and the round goes on: only what the round kept is counted.
  ASSERT_TRUE(store.mark_sending(id["b6"], now));
  ASSERT_TRUE(store.mark_sending(id["b7"], now));
  {
    SQLite::Database db(path_, SQLite::OPEN_READWRITE);
    db.exec(
        "CREATE TRIGGER fail_give_up BEFORE UPDATE OF not_before ON outbox WHEN NEW.buyer = 'b6' "
        "BEGIN SELECT RAISE(ABORT, 'disk full'); END");
  }
  store.batch([&] {
    store.mark_sent(id["b7"], now, {"b7", Channel::sms, now, {"A1", "A2"}, 1});
    EXPECT_THROW(store.give_up(id["b6"], now, "retries used up", now + std::chrono::hours{1}), StoreError);
  });
  {
    SQLite::Database db(path_, SQLite::OPEN_READWRITE);
    db.exec("DROP TRIGGER fail_give_up");
  }
  same("a round with a give-up rolled back");
  EXPECT_EQ(store.find(id["b6"])->state, OutboxState::sending);
  EXPECT_EQ(store.find(id["b7"])->state, OutboxState::sent);
  // A round that fails half-way writes nothing, its counts included.
  EXPECT_THROW(store.batch([&] {
    store.mark_sent(id["b6"], now, {"b6", Channel::sms, now, {"A1", "A2"}, 1});
    store.upsert_planned(reminder("2026-11-24 18:00", "b9"), now);
    throw StoreError("disk full");
  }),
               StoreError);
  same("a round rolled back");
  EXPECT_EQ((store.counts()[{Channel::sms, OutboxState::sending}]), 1);

  // A reconcile's unflushed transaction: its own connection reads its counts through it, another
  // sees the counts of what is committed, both agree with the rows each sees.
  store.unflushed([&] {
    store.upsert_planned(reminder("2026-11-24 18:00", "b10"), now);
    EXPECT_TRUE(store.cancel_planned(id["b8"], now, "order paid"));
    return false;
  });
  EXPECT_EQ((store.counts()[{Channel::sms, OutboxState::cancelled}]), 1);
  EXPECT_EQ((other.counts()[{Channel::sms, OutboxState::cancelled}]), 0);
  EXPECT_EQ(other.counts(), recount(path_));
  EXPECT_THROW(store.unflushed([&]() -> bool {
    store.upsert_planned(reminder("2026-11-24 18:00", "b11"), now);
    throw StoreError("stop");
  }),
               StoreError);
  same("an unflushed transaction rolled back");
  EXPECT_EQ((store.counts()[{Channel::sms, OutboxState::cancelled}]), 0);
  store.unflushed([&] {
    store.upsert_planned(reminder("2026-11-24 18:00", "b12"), now);
    EXPECT_TRUE(store.cancel_planned(id["b8"], now, "order paid"));
    return false;
  });
  ASSERT_TRUE(store.mark_sending(id["b3"], now));  // another write commits it, counts with it
  same("unflushed, committed by a claim");
  store.give_up(id["b3"], now, "retries used up", now + std::chrono::hours{1});
  same("given up alone");
}

// The triggers that kept the counts up to schema 8 are dropped by the upgrade and the counts
// made again from the outbox (here wrong on purpose: whatever an older build left is not
// trusted); from then on the store's writers keep them, without the triggers. Triggers found
// in a file of the current schema are dropped too (they would count every row twice).
TEST_F(StoreTest, UpgradingFromTheCountTriggersDropsThemAndCountsTheOutboxAgain) {
  const LocalTime now = at("2026-11-24 08:00");
  const char* const triggers =
      "CREATE TABLE IF NOT EXISTS outbox_counts (channel TEXT NOT NULL, state TEXT NOT NULL, n INTEGER NOT NULL, "
      "PRIMARY KEY (channel, state)) WITHOUT ROWID;"
      "CREATE TRIGGER outbox_count_insert AFTER INSERT ON outbox BEGIN "
      "INSERT INTO outbox_counts (channel, state, n) VALUES (NEW.channel, NEW.state, 1) "
      "ON CONFLICT (channel, state) DO UPDATE SET n = n + 1; END;"
      "CREATE TRIGGER outbox_count_delete AFTER DELETE ON outbox BEGIN "
      "UPDATE outbox_counts SET n = n - 1 WHERE channel = OLD.channel AND state = OLD.state; END;"
      "CREATE TRIGGER outbox_count_update AFTER UPDATE OF channel, state ON outbox "
      "WHEN OLD.channel IS NOT NEW.channel OR OLD.state IS NOT NEW.state BEGIN "
      "UPDATE outbox_counts SET n = n - 1 WHERE channel = OLD.channel AND state = OLD.state; "
      "INSERT INTO outbox_counts (channel, state, n) VALUES (NEW.channel, NEW.state, 1) "
      "ON CONFLICT (channel, state) DO UPDATE SET n = n + 1; END;";
  const auto trigger_count = [&] {
    SQLite::Database db(path_);
    return db.execAndGet("SELECT COUNT(*) FROM sqlite_master WHERE type='trigger'").getInt();
  };
  {
    SqliteStore store(path_, zone_);
    store.upsert_planned(reminder("2026-11-24 11:30", "b1"), now);
    store.upsert_planned(reminder("2026-11-24 11:40", "b2"), now);
  }
  {
    // As a build of schema 8 left it: the triggers, rows written through them, and counts that
    // went wrong anyway (rows written while a trigger was missing).
    SQLite::Database db(path_, SQLite::OPEN_READWRITE);
    db.exec(std::string(triggers) +
            "UPDATE outbox SET state='sent' WHERE buyer='b1';"
            "UPDATE outbox_counts SET n = n + 5 WHERE state = 'planned';"
            "PRAGMA user_version = 8;");
  }
  ASSERT_EQ(trigger_count(), 3);
  {
    SqliteStore store(path_, zone_);
    EXPECT_EQ(store.schema_version(), SqliteStore::kSchemaVersion);
    EXPECT_EQ(trigger_count(), 0);
    EXPECT_EQ(store.counts(), recount(path_));
    EXPECT_EQ((store.counts()[{Channel::sms, OutboxState::sent}]), 1);
    store.upsert_planned(reminder("2026-11-24 11:50", "b3"), now);
    EXPECT_EQ((store.counts()[{Channel::sms, OutboxState::planned}]), 2);
    EXPECT_EQ(store.counts(), recount(path_));
  }
  {
    // A file of schema 8 without the counts at all (before they were kept).
    SQLite::Database db(path_, SQLite::OPEN_READWRITE);
    db.exec("DROP TABLE outbox_counts; UPDATE outbox SET state='cancelled' WHERE buyer='b2'; PRAGMA user_version = 8;");
  }
  {
    SqliteStore store(path_, zone_);
    EXPECT_EQ(store.counts(), recount(path_));
    EXPECT_EQ((store.counts()[{Channel::sms, OutboxState::cancelled}]), 1);
  }
  {
    // Triggers put back into a file of schema 9, and rows written through them.
    SQLite::Database db(path_, SQLite::OPEN_READWRITE);
    db.exec(std::string(triggers) + "UPDATE outbox SET state='failed' WHERE buyer='b3';");
  }
  SqliteStore store(path_, zone_);
  EXPECT_EQ(trigger_count(), 0);
  EXPECT_EQ(store.counts(), recount(path_));
  store.upsert_planned(reminder("2026-11-24 11:55", "b4"), now);
  EXPECT_EQ(store.counts(), recount(path_));
  // A build of schema 8 refuses the upgraded file (its writes would not be counted).
  SQLite::Database db(path_);
  EXPECT_EQ(db.execAndGet("PRAGMA user_version").getInt(), 9);
}

// What a daemon of an older build writes after a newer cuifu upgraded the file is not counted:
// recount_outbox() (the daemon, when it starts) puts the outbox's own counts in place, and says
// whether they were off.
TEST_F(StoreTest, RecountingTheOutboxPutsItsRowsCountsInPlaceOfWrongOnes) {
  const LocalTime now = at("2026-11-24 08:00");
  SqliteStore store(path_, zone_);
  EXPECT_FALSE(store.recount_outbox());  // empty and right
  store.upsert_planned(reminder("2026-11-24 11:30", "b1"), now);
  store.upsert_planned(reminder("2026-11-24 11:40", "b2"), now);
  EXPECT_FALSE(store.recount_outbox());
  {
    // Rows written without their counts, and a count of rows no longer there.
    SQLite::Database db(path_, SQLite::OPEN_READWRITE);
    db.exec(
        "UPDATE outbox SET state='sent' WHERE buyer='b1';"
        "INSERT INTO outbox_counts (channel, state, n) VALUES ('im', 'failed', 3);");
  }
  EXPECT_NE(store.counts(), recount(path_));
  EXPECT_TRUE(store.recount_outbox());
  EXPECT_EQ(store.counts(), recount(path_));
  EXPECT_EQ((store.counts()[{Channel::sms, OutboxState::sent}]), 1);
  EXPECT_EQ(store.counts().count({Channel::im, OutboxState::failed}), 0u);
  EXPECT_FALSE(store.recount_outbox());
  // And the writers keep them from there.
  store.upsert_planned(reminder("2026-11-24 11:50", "b3"), now);
  EXPECT_EQ(store.counts(), recount(path_));
  SqliteStore other(path_, zone_);
  EXPECT_EQ(other.counts(), recount(path_));
}

// Every column of every row of `table`, in id order (another connection, as `sqlite3` would).
std::string table_text(const std::string& path, const char* table) {
  SQLite::Database db(path);
  SQLite::Statement q(db, fmt::format("SELECT * FROM {} ORDER BY 1", table));
  std::string out;
  while (q.executeStep()) {
    for (int c = 0; c < q.getColumnCount(); ++c) {
      out += q.getColumn(c).isNull() ? std::string("NULL") : q.getColumn(c).getString();
      out += '|';
    }
    out += '\n';
  }
  return out;
}

// A reconcile cancels the rows as it read them when it made the plan (cancel_planned_as_read):
// whatever happened to a row since (claimed, sent, put in doubt, moved to another channel,
// cancelled already), and whether it was read in doubt, the outbox, the contact log and the
// counts come out exactly as through cancel_planned(id), in a transaction or not.
TEST_F(StoreTest, CancelPlannedAsReadEqualsCancelPlannedWhateverHappenedSinceTheRead) {
  for (const bool in_batch : {false, true}) {
    SCOPED_TRACE(in_batch ? "in a transaction" : "alone");
    const std::string paths[2] = {(dir_ / (std::string("as-read-") + (in_batch ? "b" : "a") + ".db")).string(),
                                  (dir_ / (std::string("by-id-") + (in_batch ? "b" : "a") + ".db")).string()};
    std::vector<bool> results[2];
    for (int way = 0; way < 2; ++way) {
      SqliteStore store(paths[way], zone_);
      const LocalTime now = at("2026-11-24 08:00");
      for (int i = 1; i <= 8; ++i) store.upsert_planned(reminder("2026-11-24 12:00", "b" + std::to_string(i)), now);
      std::map<std::string, std::int64_t> id;
      for (const auto& r : store.in_state(OutboxState::planned)) id[r.buyer] = r.id;
      // b8 was in doubt already when the plan was made (read with its doubt).
      ASSERT_TRUE(store.mark_sending(id["b8"], now));
      store.mark_in_doubt(id["b8"], now, "restart");
      const std::vector<PlannedHead> read = store.all_planned();  // the plan's read
      ASSERT_EQ(read.size(), 8u);
      // Since the read: b2 claimed, b3 claimed and in doubt (planned again), b4 moved to another
      // channel, b5 sent, b6 cancelled, b7 claimed and given up for a re-plan; b1 and b8 as read.
      ASSERT_TRUE(store.mark_sending(id["b2"], now));
      ASSERT_TRUE(store.mark_sending(id["b3"], now));
      store.mark_in_doubt(id["b3"], now, "restart");
      auto email = reminder("2026-11-24 12:00", "b4");
      email.channel = Channel::email;
      ASSERT_EQ(store.upsert_planned(email, now), UpsertResult::updated);
      ASSERT_TRUE(store.mark_sending(id["b5"], now));
      store.mark_sent(id["b5"], now, {"b5", Channel::sms, now, {"A1", "A2"}, 1});
      ASSERT_TRUE(store.cancel(id["b6"], now, "closed"));
      ASSERT_TRUE(store.mark_sending(id["b7"], now));
      store.give_up(id["b7"], now, "retries used up", at("2026-11-24 10:00"));

      const LocalTime later = at("2026-11-24 09:00");
      const auto cancel_all = [&] {
        for (const auto& row : read) {
          results[way].push_back(way == 0 ? store.cancel_planned_as_read(row, later, "order paid")
                                          : store.cancel_planned(row.id, later, "order paid"));
        }
      };
      if (in_batch) {
        store.batch(cancel_all);
      } else {
        cancel_all();
      }
      EXPECT_EQ(store.counts(), recount(paths[way]));
      EXPECT_EQ(store.find(id["b1"])->state, OutboxState::cancelled);
      EXPECT_EQ(store.find(id["b2"])->state, OutboxState::sending);  // claimed: its outcome decides
      EXPECT_EQ(store.find(id["b3"])->state, OutboxState::unknown);  // in doubt: a contact
      EXPECT_EQ(store.find(id["b4"])->state, OutboxState::cancelled);
      EXPECT_EQ(store.find(id["b4"])->channel, Channel::email);
      EXPECT_EQ(store.find(id["b5"])->state, OutboxState::sent);
      EXPECT_EQ(store.find(id["b8"])->state, OutboxState::unknown);
    }
    EXPECT_EQ(results[0], results[1]);
    EXPECT_EQ(results[0], (std::vector<bool>{true, false, true, true, false, false, false, true}));
    for (const char* table : {"outbox", "contacts", "outbox_counts"}) {
      SCOPED_TRACE(table);
      EXPECT_EQ(table_text(paths[0], table), table_text(paths[1], table));
    }
  }
}

// An order seen again is written with the upsert that leaves its phone (and the phone's index)
// alone when the phone is the same, and with the one that sets every column when it changed:
// the rows are those of setting every column each time, and the phone is found by its index.
TEST_F(StoreTest, OrdersSeenAgainAreWrittenWholeWhetherTheirPhoneChangedOrNot) {
  const std::string paths[2] = {path_, (dir_ / "all-columns.db").string()};
  SqliteStore store(paths[0], zone_);
  SqliteStore reference(paths[1], zone_);
  SQLite::Database ref(paths[1], SQLite::OPEN_READWRITE);
  const auto write_both = [&](const std::vector<Order>& orders, LocalTime now) {
    store.record_orders_seen({orders.begin(), orders.end()}, now);
    // What record_orders_seen wrote before: every column set, the phone included.
    for (const auto& o : orders) {
      SQLite::Statement q(ref,
                          "INSERT INTO orders_seen (order_id, buyer, phone, status, first_seen, last_seen, shop, "
                          "amount) VALUES (?,?,?,?,?,?,?,?) ON CONFLICT(order_id) DO UPDATE SET buyer=excluded.buyer, "
                          "phone=excluded.phone, status=excluded.status, last_seen=excluded.last_seen, "
                          "shop=excluded.shop, amount=excluded.amount");
      const std::int64_t t = store_detail::epoch(zone_, now);
      SQLite::bind(q, o.id, o.buyer, o.phone, std::string(to_string(o.status)), t, t, o.shop,
                   static_cast<std::int64_t>(o.amount));
      q.exec();
    }
    EXPECT_EQ(table_text(paths[0], "orders_seen"), table_text(paths[1], "orders_seen"));
  };
  Order a;
  a.id = "A1";
  a.buyer = "buyer1";
  a.phone = "13812341234";
  a.amount = 9900;
  Order b = a;
  b.id = "B1";
  b.phone = "13900000000";
  write_both({a, b}, at("2026-11-24 08:00"));
  // The same phone, everything else changed.
  a.status = OrderStatus::paid;
  a.buyer = "buyer2";
  a.shop = "店";
  a.amount = 100;
  write_both({a}, at("2026-11-24 09:00"));
  EXPECT_EQ(store.buyer_by_phone("13812341234"), "buyer2");
  EXPECT_EQ(store.order_status("A1"), OrderStatus::paid);
  // Another phone (and status), then back, then the phone emptied, beside an order new and one the same.
  a.phone = "13700000000";
  a.status = OrderStatus::closed;
  Order c = a;
  c.id = "C1";
  write_both({a, b, c}, at("2026-11-24 10:00"));
  EXPECT_EQ(store.buyer_by_phone("13812341234"), std::nullopt);
  EXPECT_EQ(store.buyer_by_phone("13700000000"), "buyer2");
  EXPECT_EQ(store.order_status("A1"), OrderStatus::closed);
  a.phone = "13812341234";
  write_both({a}, at("2026-11-24 11:00"));
  a.phone.clear();
  write_both({a}, at("2026-11-24 12:00"));
  EXPECT_EQ(store.buyer_by_phone("13812341234"), std::nullopt);
  EXPECT_EQ(store.buyer_by_phone("13900000000"), "buyer1");
  SQLite::Database db(path_);
  EXPECT_EQ(db.execAndGet("PRAGMA integrity_check").getString(), "ok");
}

}  // namespace
}  // namespace cuifu
