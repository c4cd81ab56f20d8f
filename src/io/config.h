// The daemon's configuration file (cuifu.yaml): where the feed, rules, templates and state
// are, how to reach each channel, and the daemon's timing.
//
// Credentials are never in the file: the config NAMES environment variables, which are
// read when the daemon starts (resolve_secrets). Every error is located (file:line:column)
// and all of a file's errors are reported together, as LoadError.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/channel.h"
#include "io/yaml_util.h"

namespace cuifu {

using SecondsD = std::chrono::seconds;

// Rate limit, retries and timeout shared by every channel.
struct DeliveryPolicy {
  double rate_per_second = 5;  // token bucket refill
  int burst = 5;               // token bucket size
  int max_attempts = 4;        // first try included
  SecondsD backoff_initial{1};
  SecondsD backoff_max{60};
  SecondsD timeout{10};
  // When the retries are used up (the gateway or SMTP server is down longer than they last),
  // the reminder is re-planned into its next allowed slot no sooner than this after the last
  // attempt (daemon time), instead of being given up.
  SecondsD replan_after{30 * 60};
  // After a crash while a request may have left: resend it (same key) even though the
  // channel's gateway does not drop duplicates by key (SMTP, Aliyun SendSms, group robots).
  // Off by default: the row's outcome is then 'unknown' and nothing is resent.
  bool at_least_once = false;
};

struct ImConfig {
  std::string webhook;    // JSON POST per reminder
  std::string token_env;  // optional: bearer token for the webhook
};

enum class SmsProvider { generic_json, aliyun };

struct SmsConfig {
  SmsProvider provider = SmsProvider::generic_json;
  std::string url;        // generic_json: the gateway; aliyun: the endpoint (default https://dysmsapi.aliyuncs.com/)
  std::string token_env;  // generic_json: optional bearer token
  // generic_json: request field name for each value (phone, message, key, buyer, sign).
  std::map<std::string, std::string> fields = {
      {"phone", "phone"}, {"message", "message"}, {"key", "idempotency_key"}, {"buyer", "buyer"}};
  std::map<std::string, std::string> extra;  // constant fields added to every request
  // aliyun
  std::string access_key_id_env;
  std::string access_key_secret_env;
  std::string sign_name;
  std::string template_code;
  std::string template_param = "content";  // the template variable that receives the message
  std::string region = "cn-hangzhou";
};

struct EmailConfig {
  std::string smtp_url;  // smtp://host:587 or smtps://host:465
  std::string from;      // "青禾家居 <service@example.com>"
  bool starttls = false;
  std::string user_env;
  std::string password_env;
};

enum class RobotKind { none, wecom, dingtalk };

struct PhoneConfig {
  RobotKind robot = RobotKind::none;  // also post each call task to a group robot
  std::string robot_webhook;
};

struct ChannelConfig {
  bool configured = false;
  DeliveryPolicy policy;
};

struct DaemonConfig {
  std::string file;  // where it was loaded from

  std::string feed;  // file path or http(s) URL
  std::string feed_mapping;
  std::string feed_encoding;
  // The shop's chat export (file path or http(s) URL), polled with the feed; empty: none.
  std::string chat;
  std::string chat_mapping;
  std::string chat_encoding;
  std::string rules_dir;
  std::string templates_dir;
  std::string state;
  std::string time_zone = "Asia/Shanghai";

  SecondsD poll_interval{60};
  SecondsD max_feed_age{30 * 60};
  SecondsD catch_up_limit{60 * 60};
  // After an outage, the reminders that fell due meanwhile are spread over this much time
  // (each still within catch_up_limit of its slot) instead of sent at once.
  SecondsD catch_up_spread{30 * 60};
  SecondsD feed_timeout{20};
  SecondsD shutdown_deadline{10};  // real seconds in-flight sends get on SIGTERM

  std::string listen = "127.0.0.1:9464";
  std::string optout_token_env;  // bearer token for POST /optout; unset: the endpoint is off

  std::map<Channel, ChannelConfig> channels;  // only the configured ones
  ImConfig im;
  SmsConfig sms;
  EmailConfig email;
  PhoneConfig phone;

  bool feed_is_url() const { return feed.rfind("http://", 0) == 0 || feed.rfind("https://", 0) == 0; }
  bool chat_is_url() const { return chat.rfind("http://", 0) == 0 || chat.rfind("https://", 0) == 0; }
};

// Loads and validates a config file. Relative paths are resolved against the file's
// directory. Throws LoadError listing every problem with file:line:column.
DaemonConfig load_daemon_config(const std::string& path);

// Every environment variable the config names and whether it is set; names of unset
// ones are returned (the daemon refuses to start without them).
std::vector<std::string> missing_secrets(const DaemonConfig& c);

// The value of a named environment variable, or "" when the name is empty or unset.
std::string secret(const std::string& env_name);

// "30s", "5m", "2h", "1d", "1h30m". A unit is required: a bare number is rejected.
std::optional<SecondsD> parse_seconds(std::string_view text);

}  // namespace cuifu
