// End to end: the cuifu binary backtests a generated log (and, when ../shared is there,
// the Olist sample) and its JSON carries the stable keys with consistent figures.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>

#include <unistd.h>

#include "run_cuifu.h"

namespace {

namespace fs = std::filesystem;

// rules/address.yaml names the gazetteer as ../data/gazetteer.tsv: a copied rule set needs it beside.
void copy_gazetteer_beside(const fs::path& rules_copy) {
  const fs::path data = rules_copy.parent_path() / "data";
  fs::create_directories(data);
  fs::copy_file(fs::path(CUIFU_SOURCE_DIR) / "data" / "gazetteer.tsv", data / "gazetteer.tsv",
                fs::copy_options::overwrite_existing);
}
using nlohmann::json;

struct Result {
  int exit_code = -1;
  std::string out;
};

Result run(const std::string& args) {
  const std::string cmd = std::string(CUIFU_BINARY) + " " + args + " 2>/dev/null";
  Result r;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  char buf[4096];
  for (std::size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) r.out.append(buf, n);
  const int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

class BacktestE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("cuifu-bt-e2e-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    std::ofstream(dir_ / "mapping.yaml") << "columns:\n"
                                            "  order_id: order_id\n"
                                            "  buyer: buyer\n"
                                            "  receiver_name: name\n"
                                            "  address: address\n"
                                            "  phone: phone\n"
                                            "  amount: amount\n"
                                            "  status: status\n"
                                            "  created_at: created_at\n"
                                            "  paid_at: paid_at\n"
                                            "status_values:\n"
                                            "  unpaid: [unpaid]\n"
                                            "  paid: [paid]\n"
                                            "  closed: [closed]\n"
                                            "timezone: Asia/Shanghai\n";
  }
  void TearDown() override { fs::remove_all(dir_); }

  // A deterministic log of `buyers` buyers over three days: quick payers, late payers,
  // orders that close unpaid and orders never paid; every fourth buyer held out, the
  // others reminded (by SMS or IM) — the columns a shop running cuifu would export.
  // Held-out buyers pay less often, so there is a lift to find. One malformed row.
  fs::path write_log(int buyers, bool with_contact_columns) {
    const fs::path path = dir_ / (with_contact_columns ? "log.csv" : "log_plain.csv");
    std::ofstream out(path);
    out << "order_id,buyer,name,address,phone,amount,status,created_at,paid_at";
    if (with_contact_columns) out << ",reminded,holdout";
    out << "\n";
    const char* addresses[] = {"浙江省 杭州市 西湖区 文三路 创业大厦 8楼", "江苏省 南京市 鼓楼区 南京大学 宿舍 3栋",
                               "北京市 朝阳区 建国路 88号", "香港 九龙 弥敦道 100号"};
    std::uint32_t seed = 12345;
    const auto rnd = [&seed](std::uint32_t n) {
      seed = seed * 1664525u + 1013904223u;
      return (seed >> 8) % n;
    };
    for (int b = 0; b < buyers; ++b) {
      const bool holdout = b % 4 == 0;
      const int day = 2 + static_cast<int>(rnd(3));
      const int minute = static_cast<int>(rnd(24 * 60));
      const std::string created = fmt(day, minute);
      const std::uint32_t kind = rnd(100);
      std::string status = "unpaid", paid_at;
      const int pay_threshold = holdout ? 45 : 70;
      if (kind < 30) {
        status = "paid", paid_at = fmt(day, minute + 5 + static_cast<int>(rnd(20)));  // before any reminder
      } else if (static_cast<int>(kind) < pay_threshold) {
        status = "paid", paid_at = fmt(day, minute + 40 + static_cast<int>(rnd(30 * 60)));
      } else if (kind < 85) {
        status = "closed";
      }
      const bool big = rnd(10) == 0;
      out << "T" << b << ",buyer" << b << ",王芳" << b % 7 << "," << addresses[b % 4] << ",1380000" << 1000 + b << ","
          << (big ? "1299.00" : "59.90") << "," << status << "," << created << "," << paid_at;
      if (with_contact_columns) out << "," << (holdout ? "" : (b % 3 ? "sms" : "im")) << "," << (holdout ? "1" : "0");
      out << "\n";
    }
    out << "broken,buyerX,王五,北京,1380000,not-money,unpaid,2026-11-03 10:00,\n";  // rejected: bad amount
    return path;
  }

  static std::string fmt(int day, int minute) {
    day += minute / (24 * 60);
    minute %= 24 * 60;
    char buf[32];
    std::snprintf(buf, sizeof buf, "2026-11-%02d %02d:%02d:00", day, minute / 60, minute % 60);
    return buf;
  }

  std::string common() const {
    return " --mapping " + (dir_ / "mapping.yaml").string() + " --rules " + CUIFU_SOURCE_DIR + "/rules --templates " +
           CUIFU_SOURCE_DIR + "/templates";
  }

  fs::path dir_;
};

TEST_F(BacktestE2E, JsonCarriesTheStableKeysWithConsistentFigures) {
  const fs::path log = write_log(240, true);
  const fs::path html = dir_ / "report.html";
  const Result r = run("backtest --log " + log.string() + common() + " --format json --report " + html.string());
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const json j = json::parse(r.out);
  EXPECT_EQ(j["log"], log.string());
  EXPECT_EQ(j["from"].get<std::string>().substr(0, 8), "2026-11-");
  EXPECT_EQ(j["to"].get<std::string>().substr(0, 8), "2026-11-");
  ASSERT_EQ(j["rejected_rows"].size(), 1u);
  EXPECT_EQ(j["rejected_rows"][0]["line"], 242);
  ASSERT_EQ(j["rule_sets"].size(), 1u);
  const json& s = j["rule_sets"][0];
  EXPECT_EQ(s["name"], "rules");
  EXPECT_EQ(s["orders"], 240);
  for (const char* key : {"reminded_orders", "reminders", "cost", "reminders_per_buyer", "paid_after_reminder",
                          "missed", "avoided", "violations", "by_segment", "by_channel", "by_hour", "uplift"}) {
    EXPECT_TRUE(s.contains(key)) << key;
  }
  int by_channel = 0;
  for (const auto& [ch, n] : s["reminders"]["by_channel"].items()) by_channel += n.get<int>();
  EXPECT_EQ(s["reminders"]["total"].get<int>(), by_channel);
  EXPECT_GT(s["reminders"]["total"].get<int>(), 100);
  EXPECT_GT(s["reminders"]["by_channel"]["sms"].get<int>(), 0);
  EXPECT_GT(s["cost"].get<double>(), 0.0);
  EXPECT_LE(s["reminded_orders"].get<int>(), 240);
  EXPECT_LE(s["reminders_per_buyer"]["max"].get<int>(), 3);
  EXPECT_LE(s["reminders_per_buyer"]["p95"].get<int>(), s["reminders_per_buyer"]["max"].get<int>());
  EXPECT_GT(s["paid_after_reminder"]["orders"].get<int>(), 0);
  EXPECT_GT(s["paid_after_reminder"]["amount"].get<double>(), 0.0);
  EXPECT_GT(s["avoided"].get<int>(), 0);  // the quick payers
  for (const char* v : {"quiet_hours", "windows", "caps"}) EXPECT_EQ(s["violations"][v], 0) << v;
  ASSERT_EQ(s["by_hour"].size(), 24u);
  int hours = 0;
  for (const auto& h : s["by_hour"]) hours += h["reminders"].get<int>();
  EXPECT_EQ(hours, by_channel);
  for (int h : {0, 1, 2, 3, 4, 5, 6, 7, 22, 23}) EXPECT_EQ(s["by_hour"][h]["reminders"], 0) << h;  // quiet hours
  int segment_orders = 0;
  for (const auto& [name, seg] : s["by_segment"].items()) segment_orders += seg["orders"].get<int>();
  EXPECT_EQ(segment_orders, 240);

  // The log says who was reminded and who held out: uplift is measured, with its interval.
  const json& u = s["uplift"];
  ASSERT_TRUE(u["measurable"].get<bool>()) << u.dump();
  EXPECT_EQ(u["holdout_orders"], 60);
  EXPECT_EQ(u["reminded_orders"], 180);
  const double lift = u["uplift"].get<double>();
  EXPECT_NEAR(lift, u["reminded_paid_rate"].get<double>() - u["holdout_paid_rate"].get<double>(), 1e-12);
  ASSERT_EQ(u["ci95"].size(), 2u);
  EXPECT_LT(u["ci95"][0].get<double>(), lift);
  EXPECT_GT(u["ci95"][1].get<double>(), lift);
  EXPECT_GT(lift, 0.0);
  EXPECT_TRUE(u.contains("recovered_amount"));
  EXPECT_TRUE(u["by_segment"].is_object());
  EXPECT_TRUE(u["by_channel"].contains("sms"));

  ASSERT_TRUE(fs::exists(html));
  std::ifstream in(html);
  const std::string page((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(page.find("<svg id=\"chart-hour\""), std::string::npos);
  EXPECT_EQ(page.find("http://"), std::string::npos);  // self-contained: nothing fetched
  EXPECT_EQ(page.find("https://"), std::string::npos);
  EXPECT_EQ(page.find("<script"), std::string::npos);
}

// The phone reminders of a replay counted as the call desk's tasks: as many as the phone
// reminders, and how many would find no slot at the rules' calls.per_hour.
TEST_F(BacktestE2E, CountsThePhoneRemindersAsTheCallDesksTasks) {
  const fs::path log = write_log(240, true);
  const Result r = run("backtest --log " + log.string() + common() + " --format json");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const json s = json::parse(r.out)["rule_sets"][0];
  const json& desk = s["call_desk"];
  ASSERT_TRUE(desk.is_object()) << s.dump();
  EXPECT_GT(desk["tasks"].get<int>(), 0);
  EXPECT_EQ(desk["tasks"], s["reminders"]["by_channel"]["phone"]);
  EXPECT_EQ(desk["per_hour"], 6);
  EXPECT_LE(desk["busiest_day_tasks"].get<int>(), desk["tasks"].get<int>());
  EXPECT_GE(desk["without_slot"].get<int>(), 0);
  const Result table = run("backtest --log " + log.string() + common());
  EXPECT_NE(table.out.find("call tasks: busiest day"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("paid after a call"), std::string::npos) << table.out;
}

TEST_F(BacktestE2E, WithoutSendAndHoldoutDataUpliftIsNotMeasurable) {
  const fs::path log = write_log(80, false);
  const Result r = run("backtest --log " + log.string() + common() + " --format json");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const json u = json::parse(r.out)["rule_sets"][0]["uplift"];
  EXPECT_FALSE(u["measurable"].get<bool>());
  EXPECT_NE(u["reason"].get<std::string>().find("holdout"), std::string::npos);
  EXPECT_FALSE(u.contains("uplift"));
}

TEST_F(BacktestE2E, CompareShowsTwoRuleSetsWithTheDifferencesMarked) {
  const fs::path log = write_log(120, false);
  // Rule set B: one reminder per order at most.
  const fs::path b = dir_ / "one-touch";
  fs::copy(fs::path(CUIFU_SOURCE_DIR) / "rules", b);
  copy_gazetteer_beside(b);
  std::ifstream in(b / "policy.yaml");
  std::string policy((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  in.close();
  policy = std::regex_replace(policy, std::regex("max_per_order: *[0-9]+"), "max_per_order: 1");
  std::ofstream(b / "policy.yaml") << policy;

  const Result r = run("backtest --log " + log.string() + common() + " --compare " + b.string() + " --format json");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const json j = json::parse(r.out);
  ASSERT_EQ(j["rule_sets"].size(), 2u);
  EXPECT_EQ(j["rule_sets"][0]["name"], "rules");
  EXPECT_EQ(j["rule_sets"][1]["name"], "one-touch");
  EXPECT_EQ(j["rule_sets"][1]["reminders_per_buyer"]["max"], 1);
  EXPECT_LT(j["rule_sets"][1]["reminders"]["total"].get<int>(), j["rule_sets"][0]["reminders"]["total"].get<int>());
  EXPECT_EQ(j["rule_sets"][1]["orders"], j["rule_sets"][0]["orders"]);

  const Result table = run("backtest --log " + log.string() + common() + " --compare " + b.string());
  ASSERT_EQ(table.exit_code, 0) << table.out;
  EXPECT_NE(table.out.find("difference"), std::string::npos) << table.out;
  EXPECT_TRUE(std::regex_search(table.out, std::regex(R"(\n\* reminders +\d+ +\d+ +-\d+)"))) << table.out;
  EXPECT_TRUE(std::regex_search(table.out, std::regex(R"(\n  orders +120 +120\n)"))) << table.out;
}

// What an analyst opens: the HTML report of a compare shows the difference column, money
// with two decimals and shares as percentages, per-step and per-template figures, and says
// whose uplift it shows (the live rules', from the log, the same for both rule sets).
TEST_F(BacktestE2E, CompareReportShowsDifferencesFormattedFiguresAndPerTemplateResults) {
  const fs::path log = write_log(240, true);
  const fs::path b = dir_ / "one-touch";
  fs::copy(fs::path(CUIFU_SOURCE_DIR) / "rules", b);
  copy_gazetteer_beside(b);
  std::ifstream in(b / "policy.yaml");
  std::string policy((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  in.close();
  std::ofstream(b / "policy.yaml") << std::regex_replace(policy, std::regex("max_per_order: *[0-9]+"),
                                                         "max_per_order: 1");
  const fs::path html = dir_ / "report.html";
  const Result r =
      run("backtest --log " + log.string() + common() + " --compare " + b.string() + " --report " + html.string());
  ASSERT_EQ(r.exit_code, 0) << r.out;
  std::ifstream h(html);
  const std::string page((std::istreambuf_iterator<char>(h)), std::istreambuf_iterator<char>());

  // The figures table: a difference column, and the reminders row with its signed difference.
  EXPECT_NE(page.find("<th>rules</th><th>one-touch</th><th>difference</th>"), std::string::npos);
  EXPECT_TRUE(std::regex_search(page, std::regex(R"(<tr class="diff"><th>reminders</th><td>\d+</td><td>\d+</td>)"
                                                 R"(<td class="d">-\d+</td></tr>)")))
      << page.substr(0, 3000);
  // Money with two decimals (never 1.2000000000000002), shares as percentages.
  EXPECT_TRUE(std::regex_search(page, std::regex(R"(<th>cost \(CNY\)</th><td>\d+\.\d\d</td><td>\d+\.\d\d</td>)")));
  EXPECT_TRUE(std::regex_search(page, std::regex(R"(<th class="sub">share of reminded orders</th><td>\d+\.\d%</td>)")));
  EXPECT_TRUE(std::regex_search(page, std::regex(R"(cost per paid order \(CNY\)</th><td>\d+\.\d\d</td>)")));
  EXPECT_EQ(page.find("0000000"), std::string::npos);  // no unformatted doubles
  EXPECT_EQ(page.find(">true<"), std::string::npos);
  // Per step and per template: paid after a reminder and cost per paid order.
  EXPECT_NE(page.find("<table class=\"summary kinds\" id=\"by-step\">"), std::string::npos);
  EXPECT_NE(page.find("<table class=\"summary kinds\" id=\"by-template\">"), std::string::npos);
  EXPECT_NE(page.find("<th>cost per paid order (CNY)</th>"), std::string::npos);
  EXPECT_TRUE(
      std::regex_search(page, std::regex(R"(<tr><th>sms [a-z_.]+</th><td class="set">rules</td><td>\d+</td>)")));
  // Whose uplift: the rules live when the log was recorded; the same whichever set is replayed.
  EXPECT_NE(page.find("Uplift of the rules that were live when the log was recorded, not of rules or one-touch"),
            std::string::npos);
  EXPECT_NE(page.find("the same for every rule set replayed over this log"), std::string::npos);

  // The terminal says it once, not once per rule set as if each had earned it.
  EXPECT_EQ(r.out.find("rules: paid rate"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Uplift of the rules that were live when the log was recorded, not of rules or one-touch"),
            std::string::npos)
      << r.out;
  EXPECT_TRUE(std::regex_search(
      r.out, std::regex(R"(\n\* +cost per paid order \(CNY\) +\d+\.\d\d +\d+\.\d\d +[-+]\d+\.\d\d\n)")))
      << r.out;

  const json j = json::parse(run("backtest --log " + log.string() + common() + " --format json").out);
  const json& s = j["rule_sets"][0];
  EXPECT_EQ(s["uplift"]["source"], "log");
  ASSERT_TRUE(s["by_template"].is_array());
  int paid_after = 0;
  for (const auto& t : s["by_template"]) paid_after += t["paid_after_reminder"]["orders"].get<int>();
  EXPECT_EQ(paid_after, s["paid_after_reminder"]["orders"].get<int>());  // each credited to one template
  int step_reminders = 0;
  for (const auto& [n, st] : s["by_step"].items()) step_reminders += st["reminders"].get<int>();
  EXPECT_EQ(step_reminders, s["reminders"]["total"].get<int>());
  EXPECT_NEAR(s["cost_per_paid_order"].get<double>(),
              s["cost"].get<double>() / s["paid_after_reminder"]["orders"].get<double>(), 1e-9);
}

// The log's last row is its end: orders unpaid then are open, not replayed into later days.
TEST_F(BacktestE2E, OrdersOpenWhenTheLogEndsAreCountedOpen) {
  const fs::path log = write_log(240, false);
  const json j = json::parse(run("backtest --log " + log.string() + common() + " --format json").out);
  const json& s = j["rule_sets"][0];
  EXPECT_GE(j["log_end"].get<std::string>(), "2026-11-04");  // the latest payment in the log
  EXPECT_LE(j["log_end"].get<std::string>(), "2026-11-07");
  EXPECT_GT(s["open_at_end"].get<int>(), 0);
  // Every order is paid, closed or open at the end, never two of them.
  EXPECT_LE(s["open_at_end"].get<int>() + s["paid_orders"].get<int>(), 240);
}

TEST_F(BacktestE2E, FromAndToSelectOrdersByDay) {
  const fs::path log = write_log(120, false);
  const Result all = run("backtest --log " + log.string() + common() + " --format json");
  const Result day =
      run("backtest --log " + log.string() + common() + " --from 2026-11-03 --to 2026-11-03 --format json");
  ASSERT_EQ(day.exit_code, 0);
  const json j = json::parse(day.out);
  EXPECT_EQ(j["from"], "2026-11-03T00:00:00+08:00");
  EXPECT_EQ(j["to"], "2026-11-04T00:00:00+08:00");
  EXPECT_GT(j["rule_sets"][0]["orders"].get<int>(), 0);
  EXPECT_LT(j["rule_sets"][0]["orders"].get<int>(), json::parse(all.out)["rule_sets"][0]["orders"].get<int>());
}

// --timings tells an analyst (and tools/bench) where a long backtest's time went, the replay's
// orders/s apart from reading the log; without it stderr stays quiet, and the output is the same.
TEST_F(BacktestE2E, TimingsSayWhereTheTimeWentAndChangeNothingElse) {
  const fs::path log = write_log(240, false);
  const std::vector<std::string> args = {"backtest",
                                         "--log",
                                         log.string(),
                                         "--mapping",
                                         (dir_ / "mapping.yaml").string(),
                                         "--rules",
                                         std::string(CUIFU_SOURCE_DIR) + "/rules",
                                         "--templates",
                                         std::string(CUIFU_SOURCE_DIR) + "/templates",
                                         "--format",
                                         "json"};
  const auto plain = cuifu::testing::run_cuifu(args);
  auto timed_args = args;
  timed_args.push_back("--timings");
  const auto timed = cuifu::testing::run_cuifu(timed_args);
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  ASSERT_EQ(timed.exit_code, 0) << timed.err;
  EXPECT_EQ(timed.out, plain.out);
  EXPECT_EQ(plain.err.find("timings:"), std::string::npos) << plain.err;
  const int orders = json::parse(plain.out)["rule_sets"][0]["orders"].get<int>();
  ASSERT_GT(orders, 0);
  // 240 orders and the malformed row.
  EXPECT_TRUE(
      std::regex_search(timed.err, std::regex(R"(timings: read the log: \d+\.\d\d s \(CPU \d+\.\d\d s\), 241 rows\n)")))
      << timed.err;
  EXPECT_TRUE(std::regex_search(timed.err,
                                std::regex("timings: replay \\(rules\\): \\d+\\.\\d\\d s \\(CPU \\d+\\.\\d\\d s\\), " +
                                           std::to_string(orders) + " orders, \\d+ orders/s\n")))
      << timed.err;
  EXPECT_TRUE(
      std::regex_search(timed.err, std::regex(R"(timings: figures \(rules\): \d+\.\d\d s \(CPU \d+\.\d\d s\)\n)")))
      << timed.err;
  EXPECT_TRUE(
      std::regex_search(timed.err, std::regex(R"(timings: report and output: \d+\.\d\d s \(CPU \d+\.\d\d s\)\n)")))
      << timed.err;
}

TEST_F(BacktestE2E, MissingLogIsAnInputError) {
  EXPECT_EQ(run("backtest --log " + (dir_ / "nope.csv").string() + common()).exit_code, 2);
  EXPECT_EQ(run("backtest --log x.csv --format yaml").exit_code, 2);
}

// The worked example of docs/analyst.md, on the real Olist sample in ../shared.
TEST(BacktestOlist, EightThousandOrdersReplayInSecondsWithoutViolations) {
  const fs::path data = fs::path(CUIFU_SOURCE_DIR) / "../shared/data/real/olist-8k/olist_orders_dataset.csv";
  if (!fs::exists(data)) GTEST_SKIP() << "no ../shared data: " << data;
  const auto start = std::chrono::steady_clock::now();
  const Result r =
      run("backtest --log " + data.string() + " --mapping " + CUIFU_SOURCE_DIR + "/data/olist-mapping.yaml --rules " +
          CUIFU_SOURCE_DIR + "/rules --templates " + CUIFU_SOURCE_DIR + "/templates --format json");
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_EQ(r.exit_code, 0) << r.out.substr(0, 2000);
  const json j = json::parse(r.out);
  EXPECT_EQ(j["rejected_rows"].size(), 0u);
  const json& s = j["rule_sets"][0];
  EXPECT_EQ(s["orders"], 8135);
  EXPECT_EQ(j["time_zone"], "America/Sao_Paulo");
  for (const char* v : {"quiet_hours", "windows", "caps", "paid_or_closed"}) EXPECT_EQ(s["violations"][v], 0) << v;
  EXPECT_GT(s["reminders"]["total"].get<int>(), 0);
  EXPECT_FALSE(s["uplift"]["measurable"].get<bool>());
  // The figures add up: a paid order is paid after a reminder, avoided, or paid before any
  // reminder was planned; nothing is replayed past the log's last recorded time.
  const int paid = s["paid_orders"], avoided = s["avoided"], after = s["paid_after_reminder"]["orders"];
  EXPECT_LE(avoided + after, paid);
  EXPECT_GT(avoided, paid / 3);  // most Olist payments come within minutes
  EXPECT_EQ(j["log_end"].get<std::string>().substr(0, 10), "2018-10-17");
  int paid_by_template = 0;
  for (const auto& t : s["by_template"]) paid_by_template += t["paid_after_reminder"]["orders"].get<int>();
  EXPECT_EQ(paid_by_template, after);
  EXPECT_LT(secs, 60.0);  // seconds, even in a Debug build on a slow machine
}

}  // namespace
