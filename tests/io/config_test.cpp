#include "io/config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace cuifu {
namespace {

namespace fs = std::filesystem;

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("cuifu-config-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string write(const std::string& text) {
    const auto p = (dir_ / "cuifu.yaml").string();
    std::ofstream(p) << text;
    return p;
  }
  fs::path dir_;
};

TEST_F(ConfigTest, LoadsTheExampleConfig) {
  const auto c = load_daemon_config(std::string(CUIFU_SOURCE_DIR) + "/packaging/cuifu.example.yaml");
  EXPECT_EQ(c.feed, "/var/lib/cuifu/orders.csv");
  EXPECT_EQ(c.poll_interval, std::chrono::seconds{60});
  EXPECT_EQ(c.max_feed_age, std::chrono::seconds{1800});
  EXPECT_EQ(c.catch_up_limit, std::chrono::seconds{3600});
  EXPECT_EQ(c.listen, "127.0.0.1:9464");
  EXPECT_EQ(c.sms.fields.at("phone"), "mobile");
  EXPECT_EQ(c.sms.extra.at("sign"), "青禾家居");
  EXPECT_TRUE(c.email.starttls);
  EXPECT_EQ(c.channels.size(), 4u);
  EXPECT_EQ(c.channels.at(Channel::sms).policy.backoff_initial, std::chrono::seconds{2});
}

TEST_F(ConfigTest, DefaultsAndRelativePaths) {
  const auto c = load_daemon_config(write("feed: orders.csv\nrules: r\ntemplates: t\nstate: s.db\n"));
  EXPECT_EQ(c.feed, (dir_ / "orders.csv").string());
  EXPECT_EQ(c.state, (dir_ / "s.db").string());
  EXPECT_EQ(c.time_zone, "Asia/Shanghai");
  EXPECT_EQ(c.catch_up_limit, std::chrono::seconds{3600});
  EXPECT_EQ(c.listen, "127.0.0.1:9464");
  EXPECT_TRUE(c.channels.empty());
}

TEST_F(ConfigTest, ErrorsAreLocatedAndAllReported) {
  const auto p = write(
      "feed:\n  source: orders.csv\n  poll_interval: 5\nrules: r\ntemplates: t\nstate: s.db\n"
      "channels:\n  sms:\n    provider: aliyun\n    access_key_id_env: \"sk-123 secret\"\n  fax: {}\n");
  try {
    load_daemon_config(p);
    FAIL() << "expected LoadError";
  } catch (const LoadError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find(p + ":3:18: 'poll_interval' must be a duration"), std::string::npos) << m;
    EXPECT_NE(m.find("unknown key 'fax' in channels"), std::string::npos) << m;
    EXPECT_NE(m.find("must name an environment variable"), std::string::npos) << m;
    EXPECT_NE(m.find("aliyun SMS needs 'sign_name'"), std::string::npos) << m;
  }
}

TEST_F(ConfigTest, TheChatExportIsAPathAURLOrASourceWithAMapping) {
  const auto none = load_daemon_config(write("feed: f\nrules: r\ntemplates: t\nstate: s\n"));
  EXPECT_TRUE(none.chat.empty());
  const auto plain = load_daemon_config(write("feed: f\nchat: chat.csv\nrules: r\ntemplates: t\nstate: s\n"));
  EXPECT_EQ(plain.chat, (dir_ / "chat.csv").string());
  const auto url =
      load_daemon_config(write("feed: f\nchat: https://shop.example/chat.jsonl\nrules: r\ntemplates: t\nstate: s\n"));
  EXPECT_EQ(url.chat, "https://shop.example/chat.jsonl");
  EXPECT_TRUE(url.chat_is_url());
  const auto full = load_daemon_config(
      write("feed: f\nchat:\n  source: c.csv\n  mapping: m.yaml\n  encoding: gb18030\nrules: r\ntemplates: t\n"
            "state: s\n"));
  EXPECT_EQ(full.chat, (dir_ / "c.csv").string());
  EXPECT_EQ(full.chat_mapping, (dir_ / "m.yaml").string());
  EXPECT_EQ(full.chat_encoding, "gb18030");
  const auto p = write(
      "feed: f\nchat:\n  source: c.csv\n  encoding: big5\n  mapin: m.yaml\nrules: r\n"
      "templates: t\nstate: s\n");
  try {
    load_daemon_config(p);
    FAIL() << "expected LoadError";
  } catch (const LoadError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find(p + ":4:13: chat.encoding must be utf-8 or gb18030"), std::string::npos) << m;
    EXPECT_NE(m.find(p + ":5:3: unknown key 'mapin' in chat"), std::string::npos) << m;
  }
}

// Scalars where maps belong used to escape as yaml-cpp's BadSubscript (found by fuzz/config).
TEST_F(ConfigTest, AScalarWhereAMapBelongsIsALocatedError) {
  const auto p = write(
      "feed: orders.csv\nrules: r\ntemplates: t\nstate: s.db\nstatus: on\n"
      "channels:\n  sms: yes\n  email: mail\n");
  try {
    load_daemon_config(p);
    FAIL() << "expected LoadError";
  } catch (const LoadError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find(p + ":5:9: 'status' must be a map"), std::string::npos) << m;
    EXPECT_NE(m.find(p + ":7:8: channels.sms must be a map of settings"), std::string::npos) << m;
    EXPECT_NE(m.find(p + ":8:10: channels.email must be a map of settings"), std::string::npos) << m;
  }
}

TEST_F(ConfigTest, MissingRequiredSettingsAreNamed) {
  try {
    load_daemon_config(write("rules: r\n"));
    FAIL();
  } catch (const LoadError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("missing 'feed'"), std::string::npos) << m;
    EXPECT_NE(m.find("missing 'state'"), std::string::npos) << m;
  }
}

TEST_F(ConfigTest, ReportsSecretsThatAreNotSet) {
  const auto c =
      load_daemon_config(write("feed: f\nrules: r\ntemplates: t\nstate: s\n"
                               "status: {optout_token_env: CUIFU_TEST_UNSET_TOKEN_XYZ}\n"));
  ::unsetenv("CUIFU_TEST_UNSET_TOKEN_XYZ");
  EXPECT_EQ(missing_secrets(c), std::vector<std::string>{"CUIFU_TEST_UNSET_TOKEN_XYZ"});
  ::setenv("CUIFU_TEST_UNSET_TOKEN_XYZ", "t0ken", 1);
  EXPECT_TRUE(missing_secrets(c).empty());
  EXPECT_EQ(secret("CUIFU_TEST_UNSET_TOKEN_XYZ"), "t0ken");
}

TEST(ParseSeconds, NeedsAUnit) {
  EXPECT_EQ(parse_seconds("30s"), std::chrono::seconds{30});
  EXPECT_EQ(parse_seconds("1h30m"), std::chrono::seconds{5400});
  EXPECT_EQ(parse_seconds("2d"), std::chrono::seconds{172800});
  EXPECT_EQ(parse_seconds("90"), std::nullopt);
  EXPECT_EQ(parse_seconds("m"), std::nullopt);
}

}  // namespace
}  // namespace cuifu
