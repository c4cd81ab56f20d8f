// `cuifu plan` end to end: the built binary on the bundled GB18030 Taobao export
// (tests/data/taobao_small_gb18030.csv, described in taobao_small_expected.md).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <regex>
#include <set>

#include "../core/test_rules.h"
#include "core/text.h"
#include "io/charset.h"
#include "run_cuifu.h"

namespace cuifu {
namespace {

using nlohmann::json;
using testing::ScratchDir;
using testing::source_path;

using testing::run_cuifu;
using testing::RunResult;

const std::string kFeed = source_path("tests/data/taobao_small_gb18030.csv");

std::vector<std::string> plan_args(std::string format, std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {"plan",
                                   "--feed",
                                   kFeed,
                                   "--now",
                                   "2026-11-23 21:00",
                                   "--format",
                                   format,
                                   "--rules",
                                   source_path("rules"),
                                   "--templates",
                                   source_path("templates")};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

// The JSON plan of the sample export, run once for all tests that only read it.
const RunResult& json_run() {
  static const RunResult r = run_cuifu(plan_args("json"));
  return r;
}
const json& plan_json() {
  static const json j = json::parse(json_run().out);
  return j;
}

std::vector<json> reminders_of(std::string_view buyer) {
  std::vector<json> out;
  for (const auto& r : plan_json()["reminders"]) {
    if (r["buyer"] == buyer) out.push_back(r);
  }
  return out;
}

const json* skip_of(std::string_view order_id) {
  for (const auto& s : plan_json()["skipped"]) {
    if (s["order_id"] == order_id) return &s;
  }
  return nullptr;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    const auto end = text.find('\n', start);
    lines.push_back(text.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return lines;
}

// Lengths of the maximal runs of ASCII digits: an 11-digit run is an unmasked mobile number
// (order ids have 19 digits, amounts and times are short). Idempotency keys are hex, and
// left out.
std::set<std::size_t> digit_run_lengths(const std::string& text) {
  const std::string scanned = std::regex_replace(text, std::regex("cf-[0-9a-f]{16}"), "cf-key");
  std::set<std::size_t> lengths;
  std::size_t run = 0;
  for (char c : scanned + " ") {
    if (c >= '0' && c <= '9') {
      ++run;
    } else if (run) {
      lengths.insert(run);
      run = 0;
    }
  }
  return lengths;
}

TEST(PlanE2e, JsonPlanOfTheSampleExportSucceeds) {
  ASSERT_EQ(json_run().exit_code, 0) << json_run().err;
  ASSERT_NO_THROW(json::parse(json_run().out)) << json_run().out;
}

TEST(PlanE2e, JsonPlanHasEveryTopLevelKeyAndCoversTomorrow) {
  const json& j = plan_json();
  for (const char* key : {"now", "from", "to", "reminders", "skipped", "rejected_rows", "summary"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  EXPECT_EQ(j["now"], "2026-11-23T21:00:00+08:00");
  EXPECT_EQ(j["from"], "2026-11-24T00:00:00+08:00");
  EXPECT_EQ(j["to"], "2026-11-25T00:00:00+08:00");
  EXPECT_EQ(j["summary"]["reminders"], j["reminders"].size());
  EXPECT_EQ(j["summary"]["skipped"], j["skipped"].size());
}

TEST(PlanE2e, EveryReminderSaysWhenWhereWhichOrdersAndWhy) {
  const json& j = plan_json();
  ASSERT_FALSE(j["reminders"].empty());
  const std::set<std::string> channels = {"im", "sms", "phone", "email"};
  for (const auto& r : j["reminders"]) {
    SCOPED_TRACE(r.dump());
    const std::string send_at = r["send_at"];
    EXPECT_EQ(send_at.size(), 25u);
    EXPECT_EQ(send_at.substr(19), "+08:00");
    EXPECT_GE(send_at, j["from"].get<std::string>());
    EXPECT_LT(send_at, j["to"].get<std::string>());
    const int hour = std::stoi(send_at.substr(11, 2));
    EXPECT_GE(hour, 8) << "nothing in quiet hours";
    EXPECT_LT(hour, 22) << "nothing in quiet hours";
    EXPECT_TRUE(channels.count(r["channel"].get<std::string>()));
    ASSERT_TRUE(r["order_ids"].is_array());
    EXPECT_FALSE(r["order_ids"].empty());
    ASSERT_TRUE(r["why"].is_array());
    EXPECT_FALSE(r["why"].empty());
    for (const auto& w : r["why"]) EXPECT_FALSE(w.get<std::string>().empty());
    EXPECT_FALSE(r["message"].get<std::string>().empty());
    EXPECT_FALSE(r["idempotency_key"].get<std::string>().empty());
    if (r["channel"] == "sms") {
      EXPECT_LE(char_count(r["message"].get<std::string>()), 70u);
    }
  }
}

TEST(PlanE2e, CombinedBuyerGetsOneReminderNamingBothOrders) {
  const auto rs = reminders_of("tb_combo");
  ASSERT_FALSE(rs.empty());
  std::set<int> steps;
  for (const auto& r : rs) {
    EXPECT_EQ(r["order_ids"], json::array({"3984217650000000002", "3984217650000000007"})) << r.dump();
    EXPECT_EQ(r["amount"], "338.90");
    EXPECT_TRUE(steps.insert(r["step"].get<int>()).second) << "one reminder per step, not one per order";
  }
  for (const auto& r : plan_json()["reminders"]) {
    if (r["buyer"] != "tb_combo") {
      for (const auto& id : r["order_ids"]) {
        EXPECT_NE(id, "3984217650000000002");
        EXPECT_NE(id, "3984217650000000007");
      }
    }
  }
  // The buyer note asked for a lower price: the SMS names the offer.
  for (const auto& r : rs) {
    if (r["channel"] == "sms") {
      EXPECT_EQ(r["template"], "default.price");
    }
  }
}

TEST(PlanE2e, MalformedRowIsRejectedWithItsExactLineAndTheRestIsUsed) {
  const json& j = plan_json();
  ASSERT_EQ(j["rejected_rows"].size(), 1u) << j["rejected_rows"].dump();
  EXPECT_EQ(j["rejected_rows"][0]["line"], 8);
  EXPECT_NE(j["rejected_rows"][0]["error"].get<std::string>().find("12x.00"), std::string::npos);
  EXPECT_EQ(j["orders_read"], 13);
  EXPECT_NE(json_run().err.find(":8:"), std::string::npos) << json_run().err;
  EXPECT_TRUE(reminders_of("tb_badrow").empty());
}

TEST(PlanE2e, PhoneNumbersAndEmailsAreMaskedUnlessAsked) {
  const std::string& out = json_run().out;
  EXPECT_EQ(digit_run_lengths(out).count(11), 0u) << "an unmasked 11-digit number in the plan";
  for (const char* phone : {"13812345678", "13905171234", "17786401234", "13501234567", "18955123456"}) {
    EXPECT_EQ(out.find(phone), std::string::npos) << phone;
  }
  EXPECT_EQ(out.find("mike.chen@example.com"), std::string::npos);
  EXPECT_NE(out.find("m***@example.com"), std::string::npos);
  for (const auto& r : plan_json()["reminders"]) {
    if (r["channel"] == "sms" || r["channel"] == "phone") {
      EXPECT_EQ(r["contact"].get<std::string>().size(), 11u) << r["contact"];
      EXPECT_NE(r["contact"].get<std::string>().find("****"), std::string::npos) << r["contact"];
    }
  }

  const RunResult shown = run_cuifu(plan_args("json", {"--show-contacts"}));
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_NE(shown.out.find("13812345678"), std::string::npos);
  EXPECT_NE(shown.out.find("mike.chen@example.com"), std::string::npos);
}

TEST(PlanE2e, TableAndCsvMaskContactsToo) {
  for (const char* format : {"table", "csv"}) {
    const RunResult r = run_cuifu(plan_args(format));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(digit_run_lengths(r.out).count(11), 0u) << format << ":\n" << r.out;
  }
}

TEST(PlanE2e, BuyerWhoPaidTwentyMinutesAgoIsRemindedOnlyOnceTheHourIsOver) {
  // Paid 3984217650000000004 at 20:40: nothing before 21:40 (tonight's IM goes out then, before
  // tomorrow's plan begins); tomorrow shows the rest of the sequence, and says why it waited.
  const auto rs = reminders_of("悠悠的猫");
  ASSERT_FALSE(rs.empty()) << plan_json()["skipped"].dump(1);
  EXPECT_EQ(rs.front()["send_at"].get<std::string>().substr(0, 10), "2026-11-24") << rs.front().dump(1);
  const std::string why = rs.front()["why"].dump();
  EXPECT_NE(why.find("paid order 3984217650000000004 at 11-23 20:40"), std::string::npos) << why;
  EXPECT_EQ(skip_of("3984217650000000003"), nullptr);
  // Tonight's plan: the first reminder goes out at 21:40, not at 21:00 when the IM was due.
  const auto tonight = run_cuifu(plan_args("json", {"--date", "2026-11-23"}));
  ASSERT_EQ(tonight.exit_code, 0) << tonight.err;
  bool first = true;
  const json tonight_plan = json::parse(tonight.out);
  for (const auto& r : tonight_plan["reminders"]) {
    if (r["buyer"] != "悠悠的猫" || !first) continue;
    first = false;
    EXPECT_EQ(r["send_at"].get<std::string>().substr(0, 16), "2026-11-23T21:40") << r.dump(1);
  }
  EXPECT_FALSE(first) << tonight.out;
}

TEST(PlanE2e, PaidClosedAndExpiredOrdersAreSkippedWithReasons) {
  ASSERT_NE(skip_of("3984217650000000004"), nullptr);    // paid
  ASSERT_NE(skip_of("3984217650000000008"), nullptr);    // closed
  const json* expired = skip_of("3984217650000000013");  // placed 72 h 30 min ago
  ASSERT_NE(expired, nullptr);
  EXPECT_NE((*expired)["reason"].get<std::string>().find("auto-closed"), std::string::npos) << expired->dump();
  EXPECT_TRUE(reminders_of("tb_lazyfox").empty());
  EXPECT_TRUE(reminders_of("jack_wu1990").empty());
  for (const auto& s : plan_json()["skipped"]) EXPECT_FALSE(s["reason"].get<std::string>().empty());
}

TEST(PlanE2e, EachBuyerGetsTheChannelAndTimeTheirSegmentCallsFor) {
  // Office worker: SMS at the next lunch break.
  bool office_sms = false;
  for (const auto& r : reminders_of("tb_xiaoming88")) {
    EXPECT_EQ(r["segment"], "office_worker");
    if (r["channel"] == "sms") {
      office_sms = true;
      EXPECT_EQ(r["send_at"], "2026-11-24T12:00:00+08:00");
    }
  }
  EXPECT_TRUE(office_sms);

  // Big-ticket, hesitating: a call task in staff hours that reassures.
  bool call = false;
  for (const auto& r : reminders_of("森林里的鹿")) {
    EXPECT_EQ(r["segment"], "big_ticket");
    if (r["channel"] == "phone") {
      call = true;
      const int hour = std::stoi(r["send_at"].get<std::string>().substr(11, 2));
      EXPECT_GE(hour, 9);
      EXPECT_LT(hour, 18);
    }
  }
  EXPECT_TRUE(call);

  // Hong Kong buyer without a phone: e-mail, never SMS or a call.
  bool email = false;
  for (const auto& r : reminders_of("mike_hk")) {
    EXPECT_EQ(r["segment"], "foreign");
    EXPECT_NE(r["channel"], "sms");
    EXPECT_NE(r["channel"], "phone");
    email = email || r["channel"] == "email";
  }
  EXPECT_TRUE(email);

  // Student who is short of money: an evening SMS with the gentle variant.
  bool student_sms = false;
  for (const auto& r : reminders_of("tb_chenxi_2005")) {
    EXPECT_EQ(r["segment"], "student");
    if (r["channel"] == "sms") {
      student_sms = true;
      EXPECT_EQ(r["template"], "student.balance");
      EXPECT_GE(std::stoi(r["send_at"].get<std::string>().substr(11, 2)), 18);
      EXPECT_EQ(r["message"].get<std::string>().find("【青禾家居】陈同学"), 0u) << r["message"];
    }
  }
  EXPECT_TRUE(student_sms);

  // No phone number: never an SMS or a call.
  for (const auto& r : reminders_of("lily_2019")) {
    EXPECT_NE(r["channel"], "sms");
    EXPECT_NE(r["channel"], "phone");
  }
  // The order placed ten minutes before now is not given up on.
  EXPECT_EQ(skip_of("3984217650000000012"), nullptr);
}

TEST(PlanE2e, SamePlanEveryRun) {
  const RunResult again = run_cuifu(plan_args("json"));
  ASSERT_EQ(again.exit_code, 0);
  EXPECT_EQ(again.out, json_run().out);
}

TEST(PlanE2e, MissingFeedFileExitsWithTwoAndOneLineOnStderr) {
  const RunResult r = run_cuifu({"plan", "--feed", "/nonexistent/orders.csv", "--now", "2026-11-23 21:00", "--rules",
                                 source_path("rules"), "--templates", source_path("templates")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(lines_of(r.err).size(), 1u) << r.err;
  EXPECT_NE(r.err.find("/nonexistent/orders.csv"), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
}

TEST(PlanE2e, FeedWithoutARequiredColumnExitsWithTwo) {
  ScratchDir dir("plan-e2e-col");
  dir.write("orders.csv", "订单编号,买家会员名,买家应付货款,订单状态\n1001,tb_a,59.00,等待买家付款\n");
  const RunResult r = run_cuifu({"plan", "--feed", dir.str("orders.csv"), "--now", "2026-11-23 21:00", "--rules",
                                 source_path("rules"), "--templates", source_path("templates")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(lines_of(r.err).size(), 1u) << r.err;
  EXPECT_NE(r.err.find("订单创建时间"), std::string::npos) << r.err;
}

TEST(PlanE2e, BadNowOrBadRulesExitWithTwo) {
  RunResult r = run_cuifu({"plan", "--feed", kFeed, "--now", "2026-02-30 21:00", "--rules", source_path("rules"),
                           "--templates", source_path("templates")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("2026-02-30"), std::string::npos) << r.err;

  ScratchDir dir("plan-e2e-rules");
  dir.copy_default_rule_set();
  dir.replace("rules/policy.yaml", "min_gap: 2h ", "min_gap: soon ");
  r = run_cuifu({"plan", "--feed", kFeed, "--now", "2026-11-23 21:00", "--rules", dir.str("rules"), "--templates",
                 dir.str("templates")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("policy.yaml:"), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty());
}

// The words of a line with the display columns they occupy, [start, end).
struct Cell {
  int start = 0;
  int end = 0;
  std::string text;
};
std::vector<Cell> cells_of(const std::string& line) {
  std::vector<Cell> cells;
  int col = 0;
  for (char32_t cp : utf8_decode(line)) {
    const std::string ch = utf8_encode(std::u32string(1, cp));
    const int w = display_width(ch);
    if (cp == U' ') {
      col += w;
      continue;
    }
    if (cells.empty() || cells.back().end != col) cells.push_back({col, col, {}});
    cells.back().text += ch;
    cells.back().end = col + w;
    col += w;
  }
  return cells;
}

TEST(PlanE2e, TableShowsTheSummaryAndAlignsEveryReminderRow) {
  const RunResult r = run_cuifu(plan_args("table"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto lines = lines_of(r.out);
  EXPECT_NE(r.out.find("Summary: " + std::to_string(plan_json()["reminders"].size()) + " reminders"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("by channel:"), std::string::npos);
  EXPECT_NE(r.out.find("by segment:"), std::string::npos);
  EXPECT_NE(r.out.find("Rejected feed rows: 1"), std::string::npos);

  // The reminders section: the header, a rule, rows (flush left) with indented details, a rule.
  std::size_t header = lines.size();
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].rfind("SEND AT", 0) == 0) {
      header = i;
      break;
    }
  }
  ASSERT_LT(header + 1, lines.size()) << r.out;
  const std::string& rule = lines[header + 1];
  ASSERT_EQ(rule.find_first_not_of('-'), std::string::npos) << rule;
  EXPECT_GE(display_width(rule), display_width(lines[header]));

  // Header words: SEND AT BUYER SEGMENT CH STEP ORDERS AMOUNT CONTACT.
  const auto head = cells_of(lines[header]);
  ASSERT_EQ(head.size(), 9u) << lines[header];
  int rows = 0;
  std::size_t i = header + 2;
  for (; i < lines.size() && lines[i] != rule; ++i) {
    const std::string& line = lines[i];
    if (line.empty() || line[0] == ' ') continue;  // message and why lines
    ++rows;
    auto cells = cells_of(line);
    if (cells.size() == 9) {  // "11-25 08:00": a send time on another day takes two words
      cells[0].text += " " + cells[1].text;
      cells[0].end = cells[1].end;
      cells.erase(cells.begin() + 1);
    }
    ASSERT_EQ(cells.size(), 8u) << line;
    SCOPED_TRACE("\n" + lines[header] + "\n" + line);
    EXPECT_EQ(cells[0].start, head[0].start);  // send at, left-aligned
    EXPECT_EQ(cells[1].start, head[2].start);  // buyer
    EXPECT_EQ(cells[2].start, head[3].start);  // segment
    EXPECT_EQ(cells[3].start, head[4].start);  // channel
    EXPECT_EQ(cells[4].start, head[5].start);  // step
    EXPECT_EQ(cells[5].end, head[6].end);      // orders, right-aligned
    EXPECT_EQ(cells[6].end, head[7].end);      // amount, right-aligned
    EXPECT_EQ(cells[7].start, head[8].start);  // contact
    EXPECT_LE(display_width(line), display_width(rule));
  }
  EXPECT_LT(i, lines.size()) << "the reminders section ends with a rule";
  EXPECT_EQ(rows, static_cast<int>(plan_json()["reminders"].size()));
  // Chinese nicknames are in the rows, aligned like the Latin ones.
  EXPECT_NE(r.out.find("森林里的鹿"), std::string::npos);
  EXPECT_NE(r.out.find("小鱼儿~"), std::string::npos);
}

TEST(PlanE2e, CsvHasOneLinePerReminder) {
  const RunResult r = run_cuifu(plan_args("csv"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_FALSE(r.out.empty());
  EXPECT_EQ(r.out.rfind("\xEF\xBB\xBFsend_at,buyer,order_ids,", 0), 0u);
  // Messages and whys may hold line breaks inside quotes; count records by their timestamps.
  int records = 0;
  for (const auto& line : lines_of(r.out)) records += line.rfind("2026-11-24T", 0) == 0;
  EXPECT_EQ(records, static_cast<int>(plan_json()["reminders"].size()));
}

// Excel on a Chinese Windows reads a CSV without a BOM as GBK and shows mojibake, and turns
// a 19-digit order id into 1.93E+18: the CSV carries a BOM (or is GB18030 when asked), keeps
// ids as text, and has the columns staff need (pay by, subject).
TEST(PlanE2e, CsvOpensInExcelOnAChineseWindows) {
  const RunResult bom = run_cuifu(plan_args("csv"));
  ASSERT_EQ(bom.exit_code, 0) << bom.err;
  ASSERT_EQ(bom.out.rfind("\xEF\xBB\xBF", 0), 0u) << "no UTF-8 BOM";
  const auto lines = lines_of(bom.out.substr(3));
  EXPECT_EQ(lines[0],
            "send_at,buyer,order_ids,segment,channel,step,template,contact,amount,pay_by,subject,message,why");
  // Every reminder's order ids are text for Excel, and its pay-by time is there.
  const auto& first = plan_json()["reminders"][0];
  const std::string id = first["order_ids"][0];
  ASSERT_GT(id.size(), 11u);
  EXPECT_NE(bom.out.find("\"=\"\"" + id), std::string::npos) << bom.out.substr(0, 600);
  EXPECT_NE(bom.out.find("," + first["pay_by"].get<std::string>() + ","), std::string::npos);
  bool has_subject = false;
  for (const auto& r : plan_json()["reminders"]) {
    if (r.contains("subject")) {
      has_subject = true;
      EXPECT_NE(bom.out.find(r["subject"].get<std::string>()), std::string::npos);
    }
  }
  EXPECT_TRUE(has_subject) << "the sample plan has an e-mail";

  const RunResult plain = run_cuifu(plan_args("csv", {"--csv-encoding", "utf-8"}));
  EXPECT_EQ(plain.out, bom.out.substr(3));
  const RunResult gb = run_cuifu(plan_args("csv", {"--csv-encoding", "gb18030"}));
  ASSERT_EQ(gb.exit_code, 0) << gb.err;
  EXPECT_FALSE(is_valid_utf8(gb.out));  // Chinese text in GB18030 bytes
  EXPECT_EQ(to_utf8(gb.out, "gb18030"), plain.out);
  EXPECT_EQ(run_cuifu(plan_args("csv", {"--csv-encoding", "latin1"})).exit_code, 2);
}

// The table is as wide as $COLUMNS says, between 80 and 120 columns, whatever the text: long
// Chinese nicknames, a long Chinese file name in the heading, rejected rows' errors.
TEST(PlanE2e, TableFitsTheColumnsItIsGiven) {
  ScratchDir dir("plan-columns");
  std::ifstream in(kFeed, std::ios::binary);
  std::string feed((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  feed =
      std::regex_replace(to_utf8(feed, "gb18030"), std::regex("森林里的鹿"), "森林里的鹿与远方的山谷和湖泊边的小木屋");
  const std::string path = "青禾家居旗舰店双十一大促期间全部未付款订单导出第一批次含预售与秒杀订单明细表格.csv";
  dir.write(path, feed);
  const char* saved = std::getenv("COLUMNS");
  const std::string saved_value = saved ? saved : "";
  for (const int columns : {80, 100, 120, 200}) {
    SCOPED_TRACE(columns);
    ::setenv("COLUMNS", std::to_string(columns).c_str(), 1);
    std::vector<std::string> args = plan_args("table");
    args[2] = dir.str(path);
    const RunResult r = run_cuifu(args);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    ASSERT_NE(r.out.find("森林里的鹿与远方"), std::string::npos) << r.out;
    const int limit = std::min(columns, 120);
    int rule = 0;
    for (const auto& line : lines_of(r.out)) {
      EXPECT_LE(display_width(line), limit) << line;
      if (!line.empty() && line.find_first_not_of('-') == std::string::npos) rule = display_width(line);
    }
    EXPECT_EQ(rule, limit) << r.out;
  }
  if (saved) {
    ::setenv("COLUMNS", saved_value.c_str(), 1);
  } else {
    ::unsetenv("COLUMNS");
  }
}

}  // namespace
}  // namespace cuifu

// ---- Real shops' exports: several shops, repeated rows, Excel-protected cells ----------

namespace cuifu {
namespace {

const std::string kShopHeader =
    "订单编号,买家会员名,买家应付货款,订单状态,买家留言,收货人姓名,收货地址,联系手机,订单创建时间,"
    "订单付款时间,宝贝标题,店铺名称\n";
const std::string kHome = "江苏省 南京市 鼓楼区 中山北路 288号 颐和花园 3幢 502室";

json plan_of(const testing::ScratchDir& dir, const std::string& csv, std::vector<std::string> extra = {}) {
  dir.write("orders.csv", csv);
  std::vector<std::string> args = {"plan",
                                   "--feed",
                                   dir.str("orders.csv"),
                                   "--now",
                                   "2026-11-23 21:00",
                                   "--rules",
                                   source_path("rules"),
                                   "--templates",
                                   source_path("templates"),
                                   "--format",
                                   "json"};
  args.insert(args.end(), extra.begin(), extra.end());
  const RunResult r = run_cuifu(args);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return json::parse(r.out);
}

TEST(PlanE2eShops, ATwoShopExportKeepsOneBuyersShopsApartAndSignsEachSmsWithItsShop) {
  // The case: 罗诺晶 has an unpaid order in each shop. Before, both were combined into
  // one reminder signed 【青禾家居】 that named 木森家具专营店.
  const testing::ScratchDir dir("two-shops");
  const json plan =
      plan_of(dir, kShopHeader + "1001,罗诺晶,59.00,等待买家付款,,罗诺晶," + kHome +
                       ",'13800000001,2026-11-23 20:30:00,,北欧风格简约现代陶瓷花瓶客厅插花摆件,青禾家居旗舰店\n"
                       "2001,罗诺晶,89.00,等待买家付款,,罗诺晶," +
                       kHome + ",'13800000001,2026-11-23 20:40:00,,实木小圆凳家用客厅矮凳,木森家具专营店\n");
  int sms_main = 0, sms_other = 0;
  ASSERT_FALSE(plan["reminders"].empty());
  for (const auto& r : plan["reminders"]) {
    ASSERT_EQ(r["order_ids"].size(), 1u) << r.dump();
    const std::string message = r["message"];
    if (r["order_ids"][0] == "1001") {
      EXPECT_EQ(r["shop"], "青禾家居旗舰店");
      EXPECT_EQ(message.find("木森"), std::string::npos) << message;
      if (r["channel"] == "sms") {
        ++sms_main;
        EXPECT_TRUE(message.starts_with("【青禾家居】")) << message;
      }
    } else {
      EXPECT_EQ(r["order_ids"][0], "2001");
      EXPECT_EQ(r["shop"], "木森家具专营店");
      EXPECT_EQ(message.find("青禾"), std::string::npos) << message;
      if (r["channel"] == "sms") {
        ++sms_other;
        EXPECT_TRUE(message.starts_with("【木森家具】")) << message;
        EXPECT_NE(message.find("木森家具专营店"), std::string::npos) << message;
      }
    }
  }
  EXPECT_EQ(sms_main, 1);
  EXPECT_EQ(sms_other, 1);
}

TEST(PlanE2eShops, AnExportWithRepeatedAndExcelProtectedRowsRemindsNobodyWhoPaid) {
  // Two exports concatenated: order 2938390312379655154 unpaid, then 交易成功. Cells are
  // Excel-protected (='…', '…). Before, the paid row was rejected as a duplicate (the buyer
  // who paid was reminded) and the protected amount rejected its row.
  const testing::ScratchDir dir("repeated");
  const std::string paid_later =
      "=\"2938390312379655154\",tb_paid,59.00,等待买家付款,,王芳," + kHome +
      ",'13800000002,2026-11-23 20:00:00,,北欧风格简约现代陶瓷花瓶客厅插花摆件,青禾家居旗舰店\n";
  const std::string protected_row = "=\"2938390312379655155\",tb_open,\"=\"\"1,299.00\"\"\",等待买家付款,,李雷," +
                                    kHome +
                                    ",'13887769866,=\"2026-11-23 20:30:00\",,北欧风格实木餐桌一桌四椅,青禾家居旗舰店\n";
  const std::string csv = kShopHeader + paid_later + protected_row +
                          "=\"2938390312379655154\",tb_paid,59.00,交易成功,,王芳," + kHome +
                          ",'13800000002,2026-11-23 20:00:00,2026-11-23 20:45:00,北欧风格简约现代陶瓷花瓶客厅插花摆件,"
                          "青禾家居旗舰店\n";
  const json plan = plan_of(dir, csv, {"--show-contacts"});
  EXPECT_TRUE(plan["rejected_rows"].empty()) << plan["rejected_rows"].dump();
  EXPECT_EQ(plan["rows_superseded"], 1);
  ASSERT_EQ(plan["superseded_rows"].size(), 1u);
  EXPECT_EQ(plan["superseded_rows"][0]["line"], 2);
  EXPECT_EQ(plan["superseded_rows"][0]["kept_line"], 4);
  bool open_reminded = false;
  for (const auto& r : plan["reminders"]) {
    EXPECT_NE(r["buyer"], "tb_paid") << r.dump();
    if (r["buyer"] == "tb_open") {
      open_reminded = true;
      EXPECT_EQ(r["order_ids"][0], "2938390312379655155");
      EXPECT_EQ(r["amount"], "1299.00");
      if (r["channel"] != "im") {
        EXPECT_EQ(r["contact"], "13887769866");
      }
    }
  }
  EXPECT_TRUE(open_reminded);
  const json* skip = nullptr;
  for (const auto& s : plan["skipped"]) {
    if (s["order_id"] == "2938390312379655154") skip = &s;
  }
  ASSERT_NE(skip, nullptr);
  EXPECT_NE((*skip)["reason"].get<std::string>().find("paid"), std::string::npos);
}

}  // namespace
}  // namespace cuifu

// ---- 大促 orders: pre-sale and flash sale from the export's columns ----------------------

namespace cuifu {
namespace {

TEST(PlanE2ePromo, APresaleAndFlashSaleExportIsTimedByTheSaleNotByCreation) {
  const testing::ScratchDir dir("promo");
  const std::string header =
      "订单编号,买家会员名,买家应付货款,订单状态,买家留言,收货人姓名,收货地址,联系手机,订单创建时间,"
      "订单付款时间,宝贝标题,店铺名称,订单类型,尾款支付开始时间,尾款支付结束时间\n";
  const std::string home = "江苏省 南京市 鼓楼区 中山北路 288号 颐和花园 3幢 502室";
  // P1: deposit paid on 11-19 (its payment time is the deposit's), balance window 11-24 20:00
  // to 11-26 23:59. F1: 聚划算 placed 20:55 tonight; F2: 秒杀 placed 20:20, closed at 20:50.
  dir.write("orders.csv", header + "3001,tb_yushou,199.00,等待买家付款,,周杰," + home +
                              ",'13800000003,2026-11-19 20:00:00,2026-11-19 20:05:00,北欧风格实木床头柜简约现代卧室,"
                              "青禾家居旗舰店,预售订单,2026-11-24 20:00:00,2026-11-26 23:59:59\n"
                              "3002,tb_jhs,39.90,等待买家付款,,吴敏," +
                              home +
                              ",'13800000004,2026-11-23 20:55:00,,加厚珊瑚绒毛毯冬季午睡盖毯,青禾家居旗舰店,聚划算,,\n"
                              "3003,tb_ms,29.90,等待买家付款,,郑爽," +
                              home + ",'13800000005,2026-11-23 20:20:00,,简约陶瓷马克杯带盖勺,青禾家居旗舰店,秒杀,,\n");
  const auto run = [&](const std::string& date) {
    const RunResult r =
        run_cuifu({"plan", "--feed", dir.str("orders.csv"), "--now", "2026-11-23 21:00", "--date", date, "--rules",
                   source_path("rules"), "--templates", source_path("templates"), "--format", "json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return json::parse(r.out);
  };
  const json tonight = run("2026-11-23");
  const json tomorrow = run("2026-11-24");

  // The flash sale: one IM at once (due 20:58), nothing after it closes at 21:25.
  int flash = 0;
  for (const auto& plan : {tonight, tomorrow}) {
    for (const auto& r : plan["reminders"]) {
      if (r["order_ids"][0] != "3002") continue;
      ++flash;
      EXPECT_EQ(r["channel"], "im");
      EXPECT_EQ(r["segment"], "flash_sale");
      EXPECT_EQ(r["send_at"].get<std::string>().substr(0, 16), "2026-11-23T21:00");
    }
    for (const auto& r : plan["reminders"]) EXPECT_NE(r["order_ids"][0], "3003") << r.dump();
  }
  EXPECT_EQ(flash, 1);
  bool expired_said = false;
  for (const auto& s : tonight["skipped"]) {
    if (s["order_id"] == "3003")
      expired_said = s["reason"].get<std::string>().find("flash sale closed") != std::string::npos;
  }
  EXPECT_TRUE(expired_said) << tonight["skipped"].dump();

  // The pre-sale order: not auto-closed (placed > 72 h ago), not paid (the deposit's time);
  // its first IM when the balance window opens tomorrow at 20:00.
  const json* first = nullptr;
  for (const auto& r : tomorrow["reminders"]) {
    if (r["order_ids"][0] == "3001") first = &r;
  }
  ASSERT_NE(first, nullptr) << tomorrow["skipped"].dump();
  EXPECT_EQ((*first)["send_at"].get<std::string>().substr(0, 16), "2026-11-24T20:00");
  EXPECT_EQ((*first)["template"], "presale_open");
  EXPECT_EQ((*first)["pay_by"].get<std::string>().substr(0, 16), "2026-11-26T23:59");
  EXPECT_NE((*first)["message"].get<std::string>().find("尾款"), std::string::npos);
}

}  // namespace
}  // namespace cuifu
