// `cuifu calls` end to end: the built binary on a state database holding a call task the
// daemon handed out (its phone contact logged), as the call desk uses it: list the day's
// calls with suggested times, record what came of a call, see the planner honour it, and the
// per-agent summary.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "../core/test_rules.h"
#include "io/store.h"
#include "run_cuifu.h"

namespace cuifu {
namespace {

using nlohmann::json;
using testing::at;
using testing::run_cuifu;
using testing::ScratchDir;
using testing::source_path;

constexpr const char* kShop = "青禾家居旗舰店";

// A big-ticket order placed at 09:00; the IM went out at 09:20 and the call task at 12:00.
struct CallDesk {
  ScratchDir dir{"calls-e2e"};
  std::string db = dir.str("state.db");
  std::string feed = dir.str("orders.jsonl");
  std::string key;

  CallDesk() {
    std::ofstream(feed) << R"({"order_id":"A1","buyer":"tb_big","amount":3999.00,"status":"unpaid",)"
                        << R"("created_at":"2026-11-23 09:00:00","receiver_name":"王芳",)"
                        << R"("address":"江苏省 南京市 鼓楼区 中山北路 288号 颐和花园 3幢 502室",)"
                        << R"("phone":"13812345678","item":"北欧实木床头柜","shop":"青禾家居旗舰店"})"
                        << "\n"
                        << R"({"order_id":"B1","buyer":"tb_small","amount":1299.00,"status":"unpaid",)"
                        << R"("created_at":"2026-11-23 09:00:00","receiver_name":"李雷",)"
                        << R"("address":"江苏省 南京市 鼓楼区 中山北路 288号 颐和花园 3幢 502室",)"
                        << R"("phone":"13912345678","item":"北欧实木床头柜","shop":"青禾家居旗舰店"})"
                        << "\n";
    SqliteStore store(db, ShopZone("Asia/Shanghai"));
    Order a = testing::make_order("A1", "tb_big", at("2026-11-23 09:00"));
    a.amount = 399900;
    Order b = testing::make_order("B1", "tb_small", at("2026-11-23 09:00"));
    b.amount = 129900;
    b.phone = "13912345678";
    store.record_orders_seen({a, b}, at("2026-11-23 09:00"));
    for (const Order* o : {&a, &b}) {
      store.add_opt_out({"nobody", Channel::sms, at("2026-11-23 09:00"), "cli", ""});
      PlannedReminder im;
      im.send_at = at("2026-11-23 09:20");
      im.shop = kShop;
      im.buyer = o->buyer;
      im.order_ids = {o->id};
      im.channel = Channel::im;
      im.step = 1;
      im.message = "im";
      im.segment = "big_ticket";
      PlannedReminder call = im;
      call.send_at = at("2026-11-23 12:00");
      call.channel = Channel::phone;
      call.step = 2;
      call.contact = o->phone;
      call.message = "您好，这里是青禾家居";
      for (const PlannedReminder* r : {&im, &call}) {
        store.upsert_planned(*r, at("2026-11-23 09:00"));
      }
      for (const auto& row : store.rows({})) {
        if (row.buyer != o->buyer || row.state != OutboxState::planned) continue;
        store.mark_sending(row.id, row.send_at);
        store.mark_sent(row.id, row.send_at, {row.buyer, row.channel, row.send_at, row.order_ids, row.step, kShop});
        if (row.channel == Channel::phone) {
          CallTask t;
          t.idempotency_key = row.idempotency_key;
          t.buyer = row.buyer;
          t.shop = kShop;
          t.phone = row.contact;
          t.order_ids = row.order_ids;
          t.message = row.message;
          t.due_at = row.send_at;
          t.created_at = row.send_at;
          store.add_call_task(t);
          if (o == &a) key = row.idempotency_key;
        }
      }
    }
  }

  std::vector<std::string> calls(std::vector<std::string> extra) const {
    std::vector<std::string> args = {"calls", "--db", db, "--rules", source_path("rules")};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }
  json plan_at(const char* now) const {
    const auto r = run_cuifu({"plan", "--feed", feed, "--state", db, "--now", now, "--date", "2026-11-24", "--format",
                              "json", "--rules", source_path("rules"), "--templates", source_path("templates")});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return json::parse(r.out);
  }
};

std::string skip_reason(const json& plan, const std::string& order_id) {
  for (const auto& s : plan["skipped"]) {
    if (s["order_id"] == order_id) return s["reason"];
  }
  return {};
}

TEST(CallsE2e, ListsTheDaysCallsBiggestOrderFirstInsideThePhoneWindow) {
  CallDesk desk;
  const auto r = run_cuifu(desk.calls({"--date", "2026-11-23", "--format", "json"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json j = json::parse(r.out);
  ASSERT_EQ(j.size(), 2u);
  std::map<std::string, std::string> call_at;
  for (const auto& t : j) call_at[t["buyer"]] = t["call_at"];
  // Both due at 12:00, 6 calls an hour (rules/policy.yaml calls.per_hour): the 3,999 order first.
  EXPECT_EQ(call_at["tb_big"], "2026-11-23 12:00:00");
  EXPECT_EQ(call_at["tb_small"], "2026-11-23 12:10:00");
  EXPECT_EQ(j[0]["amount"], "3999.00");
  EXPECT_FALSE(j[0].contains("outcome"));
}

TEST(CallsE2e, RejectsAnUnknownTaskOrOutcomeWithAClearError) {
  CallDesk desk;
  auto r = run_cuifu({"calls", "record", "--db", desk.db, "--key", "Z9", "--outcome", "reached"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("--key 'Z9': no call task with this idempotency key or order id"), std::string::npos) << r.err;
  r = run_cuifu({"calls", "record", "--db", desk.db, "--key", "A1", "--outcome", "maybe"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("--outcome 'maybe' is not one of reached, no_answer, will_pay, refused"), std::string::npos)
      << r.err;
  r = run_cuifu({"calls", "record", "--db", desk.db, "--key", "A1", "--outcome", "reached", "--at", "noon"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("--at 'noon'"), std::string::npos) << r.err;
  // Nothing was recorded by the failed attempts.
  SqliteStore store(desk.db, ShopZone("Asia/Shanghai"));
  EXPECT_TRUE(store.call_outcomes({}).empty());
}

TEST(CallsE2e, ARecordedRefusalShowsInTheListAndStopsThePlan) {
  CallDesk desk;
  // Before: the buyer's SMS step is planned for the next day.
  EXPECT_EQ(skip_reason(desk.plan_at("2026-11-23 13:00"), "A1"), "");
  const auto r = run_cuifu({"calls", "record", "--db", desk.db, "--key", "A1", "--outcome", "refused", "--by", "小李",
                            "--note", "不想要了", "--at", "2026-11-23 12:05"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("orders A1 get no more reminders"), std::string::npos) << r.out;

  const auto list = run_cuifu(desk.calls({"--date", "2026-11-23"}));
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_NE(list.out.find("outcome: refused at 2026-11-23 12:05 by 小李 (不想要了)"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("outcome: not called yet"), std::string::npos) << list.out;

  const json plan = desk.plan_at("2026-11-23 13:00");
  EXPECT_NE(skip_reason(plan, "A1").find("buyer refused on the call of 2026-11-23 12:00 (小李)"), std::string::npos)
      << plan.dump(1);
  for (const auto& rem : plan["reminders"]) EXPECT_NE(rem["buyer"], "tb_big");
}

TEST(CallsE2e, APromiseToPayHoldsTheNextReminderForTheGracePeriod) {
  CallDesk desk;
  const auto r = run_cuifu({"calls", "record", "--db", desk.db, "--key", desk.key, "--outcome", "will_pay", "--by",
                            "小王", "--at", "2026-11-23 12:30"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json plan = desk.plan_at("2026-11-23 13:00");
  bool found = false;
  for (const auto& rem : plan["reminders"]) {
    if (rem["buyer"] != "tb_big") continue;
    found = true;
    EXPECT_GE(rem["send_at"].get<std::string>(), "2026-11-24 12:30") << rem.dump(1);
  }
  EXPECT_TRUE(found) << plan.dump(1);
}

TEST(CallsE2e, SummaryCountsOutcomesPerAgentAndTheReachedOrdersPaidSince) {
  CallDesk desk;
  ASSERT_EQ(run_cuifu({"calls", "record", "--db", desk.db, "--key", "A1", "--outcome", "no_answer", "--by", "小李",
                       "--at", "2026-11-23 12:01"})
                .exit_code,
            0);
  ASSERT_EQ(run_cuifu({"calls", "record", "--db", desk.db, "--key", "A1", "--outcome", "will_pay", "--by", "小李",
                       "--at", "2026-11-23 15:00"})
                .exit_code,
            0);
  ASSERT_EQ(run_cuifu({"calls", "record", "--db", desk.db, "--key", "B1", "--outcome", "no_answer", "--by", "小王",
                       "--at", "2026-11-23 12:11"})
                .exit_code,
            0);
  {  // A1 is paid in the next snapshot.
    SqliteStore store(desk.db, ShopZone("Asia/Shanghai"));
    Order a = testing::make_order("A1", "tb_big", at("2026-11-23 09:00"));
    a.status = OrderStatus::paid;
    a.paid_at = at("2026-11-23 16:00");
    store.record_orders_seen({a}, at("2026-11-23 16:05"));
  }
  const auto r = run_cuifu(desk.calls({"--summary", "--format", "json"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json j = json::parse(r.out);
  std::map<std::string, json> by_agent;
  for (const auto& row : j) by_agent[row["agent"]] = row;
  ASSERT_TRUE(by_agent.count("小李")) << j.dump(1);
  EXPECT_EQ(by_agent["小李"]["tasks"], 1);
  EXPECT_EQ(by_agent["小李"]["will_pay"], 1);  // the latest outcome of the task counts
  EXPECT_EQ(by_agent["小李"]["no_answer"], 0);
  EXPECT_EQ(by_agent["小李"]["reached"], 1);
  EXPECT_EQ(by_agent["小李"]["paid_after_reached"], 1);
  EXPECT_EQ(by_agent["小王"]["no_answer"], 1);
  EXPECT_EQ(by_agent["小王"]["reached"], 0);
  EXPECT_EQ(by_agent[""]["tasks"], 2);  // the total row
  const auto table = run_cuifu(desk.calls({"--summary"}));
  EXPECT_NE(table.out.find("100%"), std::string::npos) << table.out;
}

}  // namespace
}  // namespace cuifu
