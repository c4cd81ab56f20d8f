#include "io/config.h"

#include <fmt/format.h>

#include <cstdlib>
#include <filesystem>

#include "core/text.h"

namespace cuifu {

std::optional<SecondsD> parse_seconds(std::string_view text) {
  return parse_duration_seconds(text, false);
}

std::string secret(const std::string& env_name) {
  if (env_name.empty()) return {};
  const char* v = std::getenv(env_name.c_str());
  return v ? v : "";
}

namespace {

namespace fs = std::filesystem;

// Reads config sections, collecting located errors in the YamlReader.
class ConfigReader {
 public:
  explicit ConfigReader(const std::string& path) : r_(path), base_(fs::path(path).parent_path()) {}

  DaemonConfig read(const YAML::Node& root) {
    DaemonConfig c;
    c.file = r_.file();
    if (!root.IsMap()) {
      r_.error(root, "the config must be a map of settings");
      r_.throw_if_errors();
    }
    r_.check_keys(root,
                  {"feed", "chat", "rules", "templates", "state", "time_zone", "catch_up_limit", "catch_up_spread",
                   "status", "channels", "shutdown_deadline"},
                  "the config");
    read_feed(root, c);
    read_chat(root, c);
    c.rules_dir = required_path(root, "rules", "the rules directory");
    c.templates_dir = required_path(root, "templates", "the templates directory");
    c.state = required_path(root, "state", "the state database");
    if (auto tz = r_.str(root, "time_zone")) c.time_zone = *tz;
    seconds(root, "catch_up_limit", c.catch_up_limit);
    seconds(root, "catch_up_spread", c.catch_up_spread, true);
    seconds(root, "shutdown_deadline", c.shutdown_deadline);
    if (const YAML::Node s = root["status"]; s && !s.IsMap()) {
      r_.error(s, "'status' must be a map: listen, optout_token_env");
    } else if (s) {
      r_.check_keys(s, {"listen", "optout_token_env"}, "status");
      if (auto l = r_.str(s, "listen")) {
        c.listen = *l;
        const auto colon = l->rfind(':');
        if (colon == std::string::npos || colon == 0 || colon + 1 == l->size() ||
            l->find_first_not_of("0123456789", colon + 1) != std::string::npos) {
          r_.error(s["listen"], fmt::format("status.listen '{}' must be HOST:PORT, e.g. 127.0.0.1:9464", *l));
        }
      }
      if (auto t = r_.str(s, "optout_token_env")) c.optout_token_env = *t;
    }
    read_channels(root, c);
    return c;
  }

  YamlReader& reader() { return r_; }

 private:
  std::string resolve(const std::string& p) const {
    if (p.empty() || fs::path(p).is_absolute() || base_.empty()) return p;
    return (base_ / p).lexically_normal().string();
  }

  std::string required_path(const YAML::Node& n, const std::string& key, const std::string& what) {
    const auto v = r_.str(n, key);
    if (!v || v->empty()) {
      r_.error(n, fmt::format("missing '{}': {}", key, what));
      return {};
    }
    return resolve(*v);
  }

  void seconds(const YAML::Node& n, const std::string& key, SecondsD& out, bool allow_zero = false) {
    if (!n.IsMap()) return;
    const YAML::Node v = n[key];
    if (!v) return;
    const auto s = v.IsScalar() ? parse_seconds(v.Scalar()) : std::nullopt;
    if (!s || (!allow_zero && s->count() <= 0)) {
      r_.error(v, fmt::format("'{}' must be a duration with a unit like 30s, 5m, 2h (got '{}')", key,
                              v.IsScalar() ? v.Scalar() : "a list or map"));
      return;
    }
    out = *s;
  }

  void read_feed(const YAML::Node& root, DaemonConfig& c) {
    const YAML::Node f = root["feed"];
    if (!f) {
      r_.error(root, "missing 'feed': the order feed (a file path or an http(s) URL)");
      return;
    }
    if (f.IsScalar()) {
      c.feed = f.Scalar();
    } else {
      r_.check_keys(f, {"source", "mapping", "encoding", "poll_interval", "max_age", "timeout"}, "feed");
      if (auto s = r_.str(f, "source")) c.feed = *s;
      if (c.feed.empty()) r_.error(f, "missing 'feed.source': a file path or an http(s) URL");
      if (auto m = r_.str(f, "mapping")) c.feed_mapping = resolve(*m);
      if (auto e = r_.str(f, "encoding")) {
        c.feed_encoding = *e;
        if (*e != "utf-8" && *e != "gb18030") r_.error(f["encoding"], "feed.encoding must be utf-8 or gb18030");
      }
      seconds(f, "poll_interval", c.poll_interval);
      seconds(f, "max_age", c.max_feed_age);
      seconds(f, "timeout", c.feed_timeout);
    }
    if (!c.feed_is_url()) c.feed = resolve(c.feed);
  }

  // chat: a path or URL, or {source, mapping, encoding}; polled with the feed.
  void read_chat(const YAML::Node& root, DaemonConfig& c) {
    const YAML::Node n = root["chat"];
    if (!n) return;
    if (n.IsScalar()) {
      c.chat = n.Scalar();
      if (c.chat.empty()) r_.error(n, "'chat' is empty: give the chat export's path or URL, or leave chat out");
    } else if (n.IsMap()) {
      r_.check_keys(n, {"source", "mapping", "encoding"}, "chat");
      if (auto s = r_.str(n, "source")) c.chat = *s;
      if (c.chat.empty()) r_.error(n, "missing 'chat.source': the chat export's path or an http(s) URL");
      if (auto m = r_.str(n, "mapping")) c.chat_mapping = resolve(*m);
      if (auto e = r_.str(n, "encoding")) {
        c.chat_encoding = *e;
        if (*e != "utf-8" && *e != "gb18030") r_.error(n["encoding"], "chat.encoding must be utf-8 or gb18030");
      }
    } else {
      r_.error(n, "'chat' must be a path, a URL, or a map with source, mapping and encoding");
    }
    if (!c.chat_is_url()) c.chat = resolve(c.chat);
  }

  void read_policy(const YAML::Node& n, DeliveryPolicy& p) {
    if (auto v = r_.number(n, "rate_per_second")) {
      if (*v <= 0)
        r_.error(n["rate_per_second"], "rate_per_second must be above 0");
      else
        p.rate_per_second = *v;
    }
    if (auto v = r_.integer(n, "burst")) {
      if (*v < 1)
        r_.error(n["burst"], "burst must be at least 1");
      else
        p.burst = *v;
    }
    if (auto v = r_.integer(n, "max_attempts")) {
      if (*v < 1 || *v > 20)
        r_.error(n["max_attempts"], "max_attempts must be 1..20");
      else
        p.max_attempts = *v;
    }
    seconds(n, "backoff_initial", p.backoff_initial);
    seconds(n, "backoff_max", p.backoff_max);
    seconds(n, "timeout", p.timeout);
    seconds(n, "replan_after", p.replan_after);
    if (auto v = r_.boolean(n, "at_least_once")) p.at_least_once = *v;
  }

  std::string url(const YAML::Node& n, const std::string& key, bool required, const std::string& context) {
    const auto v = r_.str(n, key);
    if (!v || v->empty()) {
      if (required) r_.error(n, fmt::format("missing '{}' in {}", key, context));
      return {};
    }
    if (v->rfind("http://", 0) != 0 && v->rfind("https://", 0) != 0 && v->rfind("smtp://", 0) != 0 &&
        v->rfind("smtps://", 0) != 0) {
      r_.error(n[key],
               fmt::format("{}.{} '{}' is not a URL (http://, https://, smtp:// or smtps://)", context, key, *v));
    }
    return *v;
  }

  void env_name(const YAML::Node& n, const std::string& key, std::string& out) {
    if (auto v = r_.str(n, key)) {
      if (v->empty() || v->find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") !=
                            std::string::npos) {
        r_.error(n[key],
                 fmt::format("'{}' must name an environment variable (letters, digits, _), not hold a secret", key));
        return;
      }
      out = *v;
    }
  }

  void read_channels(const YAML::Node& root, DaemonConfig& c) {
    const YAML::Node chs = root["channels"];
    if (!chs) return;
    if (!chs.IsMap()) {
      r_.error(chs, "'channels' must be a map: im, sms, email, phone");
      return;
    }
    const std::vector<std::string> policy_keys = {"rate_per_second", "burst",   "max_attempts",  "backoff_initial",
                                                  "backoff_max",     "timeout", "at_least_once", "replan_after"};
    auto keys = [&](std::vector<std::string> own) {
      own.insert(own.end(), policy_keys.begin(), policy_keys.end());
      return own;
    };
    r_.check_keys(chs, {"im", "sms", "email", "phone"}, "channels");
    for (const char* name : {"im", "sms", "email", "phone"}) {
      if (const YAML::Node n = chs[name]; n && !n.IsMap()) {
        r_.error(n, fmt::format("channels.{} must be a map of settings", name));
      }
    }
    if (const YAML::Node n = chs["im"]; n && n.IsMap()) {
      r_.check_keys(n, keys({"webhook", "token_env"}), "channels.im");
      c.im.webhook = url(n, "webhook", true, "channels.im");
      env_name(n, "token_env", c.im.token_env);
      read_policy(n, c.channels[Channel::im].policy);
      c.channels[Channel::im].configured = true;
    }
    if (const YAML::Node n = chs["sms"]; n && n.IsMap()) {
      r_.check_keys(n,
                    keys({"provider", "url", "token_env", "fields", "extra", "access_key_id_env",
                          "access_key_secret_env", "sign_name", "template_code", "template_param", "region"}),
                    "channels.sms");
      auto& s = c.sms;
      const std::string provider = r_.str(n, "provider").value_or("generic_json");
      if (provider == "aliyun") {
        s.provider = SmsProvider::aliyun;
        s.url = url(n, "url", false, "channels.sms");
        if (s.url.empty()) s.url = "https://dysmsapi.aliyuncs.com/";
        env_name(n, "access_key_id_env", s.access_key_id_env);
        env_name(n, "access_key_secret_env", s.access_key_secret_env);
        if (s.access_key_id_env.empty()) r_.error(n, "aliyun SMS needs 'access_key_id_env'");
        if (s.access_key_secret_env.empty()) r_.error(n, "aliyun SMS needs 'access_key_secret_env'");
        s.sign_name = r_.str(n, "sign_name").value_or("");
        s.template_code = r_.str(n, "template_code").value_or("");
        if (s.sign_name.empty()) r_.error(n, "aliyun SMS needs 'sign_name' (the approved 签名)");
        if (s.template_code.empty()) r_.error(n, "aliyun SMS needs 'template_code' (e.g. SMS_123456789)");
        if (auto p = r_.str(n, "template_param")) s.template_param = *p;
        if (auto p = r_.str(n, "region")) s.region = *p;
      } else if (provider == "generic_json") {
        s.provider = SmsProvider::generic_json;
        s.url = url(n, "url", true, "channels.sms");
        env_name(n, "token_env", s.token_env);
        if (const YAML::Node f = n["fields"]) {
          r_.check_keys(f, {"phone", "message", "key", "buyer", "sign"}, "channels.sms.fields");
          for (const auto& kv : f) {
            if (kv.second.IsScalar()) s.fields[kv.first.as<std::string>()] = kv.second.Scalar();
          }
        }
        if (const YAML::Node e = n["extra"]) {
          if (!e.IsMap())
            r_.error(e, "channels.sms.extra must be a map of constant fields");
          else
            for (const auto& kv : e) s.extra[kv.first.as<std::string>()] = kv.second.as<std::string>("");
        }
      } else {
        r_.error(n["provider"], fmt::format("unknown SMS provider '{}' (generic_json or aliyun)", provider));
      }
      read_policy(n, c.channels[Channel::sms].policy);
      c.channels[Channel::sms].configured = true;
    }
    if (const YAML::Node n = chs["email"]; n && n.IsMap()) {
      r_.check_keys(n, keys({"smtp_url", "from", "starttls", "user_env", "password_env"}), "channels.email");
      c.email.smtp_url = url(n, "smtp_url", true, "channels.email");
      c.email.from = r_.str(n, "from").value_or("");
      if (c.email.from.find('@') == std::string::npos) r_.error(n, "channels.email needs 'from' with an address");
      c.email.starttls = r_.boolean(n, "starttls").value_or(false);
      env_name(n, "user_env", c.email.user_env);
      env_name(n, "password_env", c.email.password_env);
      read_policy(n, c.channels[Channel::email].policy);
      c.channels[Channel::email].configured = true;
    }
    if (const YAML::Node n = chs["phone"]; n && n.IsMap()) {
      r_.check_keys(n, keys({"robot", "robot_webhook"}), "channels.phone");
      const std::string robot = r_.str(n, "robot").value_or("none");
      if (robot == "wecom")
        c.phone.robot = RobotKind::wecom;
      else if (robot == "dingtalk")
        c.phone.robot = RobotKind::dingtalk;
      else if (robot != "none")
        r_.error(n["robot"], fmt::format("unknown robot '{}' (wecom, dingtalk or none)", robot));
      if (c.phone.robot != RobotKind::none) c.phone.robot_webhook = url(n, "robot_webhook", true, "channels.phone");
      read_policy(n, c.channels[Channel::phone].policy);
      c.channels[Channel::phone].configured = true;
    }
  }

  YamlReader r_;
  fs::path base_;
};

}  // namespace

DaemonConfig load_daemon_config(const std::string& path) {
  const YAML::Node root = load_yaml_file(path);
  ConfigReader reader(path);
  DaemonConfig c;
  try {
    c = reader.read(root);
  } catch (const YAML::Exception& e) {
    reader.reader().error(root, fmt::format("invalid config: {}", e.what()));
  }
  reader.reader().throw_if_errors();
  return c;
}

std::vector<std::string> missing_secrets(const DaemonConfig& c) {
  std::vector<std::string> names = {c.optout_token_env, c.im.token_env, c.email.user_env, c.email.password_env};
  if (c.channels.count(Channel::sms)) {
    names.push_back(c.sms.token_env);
    names.push_back(c.sms.access_key_id_env);
    names.push_back(c.sms.access_key_secret_env);
  }
  std::vector<std::string> missing;
  for (const auto& n : names) {
    if (!n.empty() && secret(n).empty()) missing.push_back(n);
  }
  return missing;
}

}  // namespace cuifu
