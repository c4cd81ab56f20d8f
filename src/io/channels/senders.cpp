#include "io/channels/senders.h"

#include <curl/curl.h>
#include <fmt/chrono.h>
#include <fmt/format.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string_view>

#include "io/channels/http_client.h"
#include "io/json_text.h"

namespace cuifu {

using nlohmann::json;

namespace {

std::string base64(const unsigned char* data, std::size_t n) {
  std::string out(4 * ((n + 2) / 3), '\0');
  const int len = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(n));
  out.resize(static_cast<std::size_t>(len));
  return out;
}

std::string base64(const std::string& s) {
  return base64(reinterpret_cast<const unsigned char*>(s.data()), s.size());
}

std::string utc_now_iso() {
  const auto t = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", t);
}

std::string rfc5322_now() {
  const auto t = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  return fmt::format("{:%a, %d %b %Y %H:%M:%S} +0000", t);
}

HttpRequest json_post(const std::string& url, const Outgoing& row, std::string body, const DeliveryPolicy& p,
                      const std::string& bearer) {
  HttpRequest r;
  r.method = "POST";
  r.url = url;
  r.body = std::move(body);
  r.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(p.timeout);
  r.keep_headers = false;  // only the status and the body are read
  r.headers = {"Content-Type: application/json; charset=utf-8", "X-Idempotency-Key: " + row.idempotency_key};
  if (!bearer.empty()) r.headers.push_back("Authorization: Bearer " + bearer);
  return r;
}

AttemptResult perform(HttpSession& session, const HttpRequest& r) {
  const HttpResponse resp = session.perform(r);
  return classify_http(resp.status, resp.error, resp.timed_out, resp.body, resp.request_sent);
}

class WebhookSender final : public ChannelSender {
 public:
  // `keep_alive`: only for a gateway that drops duplicates by key. libcurl sends a request
  // again, once, when a kept-alive connection turns out closed before any answer came, and
  // the first copy may have arrived; a robot keeps every copy, so it gets a fresh connection.
  WebhookSender(std::string url, std::string bearer, DeliveryPolicy p, std::string (*payload)(const Outgoing&),
                bool keep_alive)
      : url_(std::move(url)), bearer_(std::move(bearer)), policy_(p), payload_(payload), keep_alive_(keep_alive) {}
  AttemptResult send(const Outgoing& row) override {
    const HttpRequest r = json_post(url_, row, payload_(row), policy_, bearer_);
    if (!keep_alive_) {
      const HttpResponse resp = http_request(r);
      return classify_http(resp.status, resp.error, resp.timed_out, resp.body, resp.request_sent);
    }
    return perform(session_, r);
  }

 private:
  std::string url_, bearer_;
  DeliveryPolicy policy_;
  std::string (*payload_)(const Outgoing&);
  bool keep_alive_;
  HttpSession session_;  // keep-alive to the webhook
};

class GenericSmsSender final : public ChannelSender {
 public:
  GenericSmsSender(SmsConfig c, DeliveryPolicy p) : c_(std::move(c)), policy_(p), token_(secret(c_.token_env)) {}
  AttemptResult send(const Outgoing& row) override {
    return perform(session_, json_post(c_.url, row, sms_generic_payload(row, c_), policy_, token_));
  }

 private:
  SmsConfig c_;
  DeliveryPolicy policy_;
  std::string token_;
  HttpSession session_;  // keep-alive to the gateway
};

class AliyunSmsSender final : public ChannelSender {
 public:
  AliyunSmsSender(SmsConfig c, DeliveryPolicy p)
      : c_(std::move(c)), policy_(p), id_(secret(c_.access_key_id_env)), key_(secret(c_.access_key_secret_env)) {}
  AttemptResult send(const Outgoing& row) override {
    const std::string ts = utc_now_iso();
    const auto params = aliyun_sendsms_params(
        row, c_, id_, ts,
        fmt::format("{}-{}", row.idempotency_key, std::chrono::steady_clock::now().time_since_epoch().count()));
    HttpRequest r;
    r.url = c_.url + (c_.url.find('?') == std::string::npos ? "?" : "&") + aliyun_signed_query(params, key_);
    r.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(policy_.timeout);
    r.headers = {"X-Idempotency-Key: " + row.idempotency_key};
    // A fresh connection each time: Aliyun keeps every copy (see WebhookSender).
    const HttpResponse resp = http_request(r);
    AttemptResult a = classify_http(resp.status, resp.error, resp.timed_out, resp.body, resp.request_sent);
    if (a.kind != AttemptResult::Kind::delivered) return a;
    // Aliyun answers HTTP 200 with {"Code":"OK"} on success and a business code otherwise.
    const auto j = json::parse(resp.body, nullptr, false);
    const std::string code =
        j.is_object() && j.contains("Code") && j["Code"].is_string() ? j["Code"].get<std::string>() : "";
    if (code == "OK") return AttemptResult::delivered("Aliyun OK");
    const std::string msg = j.is_object() && j.contains("Message") && j["Message"].is_string()
                                ? j["Message"].get<std::string>()
                                : resp.body;
    if (code.rfind("isv.BUSINESS_LIMIT_CONTROL", 0) == 0 || code == "Throttling" ||
        code.rfind("SignatureNonceUsed", 0) == 0) {
      return AttemptResult::retry(fmt::format("Aliyun {}: {}", code, msg));
    }
    return AttemptResult::permanent(fmt::format("Aliyun {}: {}", code.empty() ? "?" : code, msg));
  }

 private:
  SmsConfig c_;
  DeliveryPolicy policy_;
  std::string id_, key_;
};

struct Upload {
  const std::string* data;
  std::size_t pos = 0;
};

std::size_t read_upload(char* buf, std::size_t size, std::size_t n, void* user) {
  auto* u = static_cast<Upload*>(user);
  const std::size_t len = std::min(size * n, u->data->size() - u->pos);
  std::memcpy(buf, u->data->data() + u->pos, len);
  u->pos += len;
  return len;
}

class EmailSender final : public ChannelSender {
 public:
  EmailSender(EmailConfig c, DeliveryPolicy p)
      : c_(std::move(c)), policy_(p), user_(secret(c_.user_env)), password_(secret(c_.password_env)) {}
  AttemptResult send(const Outgoing& row) override {
    const std::string message = build_email(row, c_.from, rfc5322_now());
    std::unique_ptr<CURL, void (*)(CURL*)> h(curl_easy_init(), curl_easy_cleanup);
    std::unique_ptr<curl_slist, void (*)(curl_slist*)> rcpt(
        curl_slist_append(nullptr, ("<" + row.contact + ">").c_str()), curl_slist_free_all);
    if (!h || !rcpt) return AttemptResult::retry("curl init failed");
    Upload up{&message};
    char err[CURL_ERROR_SIZE] = {};
    const std::string from = "<" + email_address(c_.from) + ">";
    curl_easy_setopt(h.get(), CURLOPT_URL, c_.smtp_url.c_str());
    curl_easy_setopt(h.get(), CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(h.get(), CURLOPT_ERRORBUFFER, err);
    curl_easy_setopt(h.get(), CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h.get(), CURLOPT_TIMEOUT_MS,
                     static_cast<long>(std::chrono::milliseconds(policy_.timeout).count()));
    curl_easy_setopt(h.get(), CURLOPT_MAIL_FROM, from.c_str());
    curl_easy_setopt(h.get(), CURLOPT_MAIL_RCPT, rcpt.get());
    curl_easy_setopt(h.get(), CURLOPT_READFUNCTION, read_upload);
    curl_easy_setopt(h.get(), CURLOPT_READDATA, &up);
    curl_easy_setopt(h.get(), CURLOPT_UPLOAD, 1L);
    if (c_.starttls) curl_easy_setopt(h.get(), CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_ALL));
    if (!user_.empty()) curl_easy_setopt(h.get(), CURLOPT_USERNAME, user_.c_str());
    if (!password_.empty()) curl_easy_setopt(h.get(), CURLOPT_PASSWORD, password_.c_str());
    const CURLcode rc = curl_easy_perform(h.get());
    long code = 0;
    curl_easy_getinfo(h.get(), CURLINFO_RESPONSE_CODE, &code);
    if (rc == CURLE_OK) return AttemptResult::delivered(fmt::format("SMTP {}", code));
    const std::string detail = fmt::format("SMTP {}: {}{}{}", code, curl_easy_strerror(rc), err[0] ? ": " : "", err);
    // SMTP 5xx (and a refused login or recipient) is permanent; 4xx and transport errors are transient.
    if (code >= 500 || rc == CURLE_LOGIN_DENIED) return AttemptResult::permanent(detail);
    // The message was (partly) handed over before the server stopped answering: it may be delivered.
    curl_off_t uploaded = 0;
    curl_easy_getinfo(h.get(), CURLINFO_SIZE_UPLOAD_T, &uploaded);
    if (uploaded > 0) return AttemptResult::retry("no answer after the message was sent (" + detail + ")", true);
    return AttemptResult::retry(detail);
  }

 private:
  EmailConfig c_;
  DeliveryPolicy policy_;
  std::string user_, password_;
};

}  // namespace

std::string im_payload(const Outgoing& row) {
  // Written directly (it is built for every IM sent: a JSON object of std::map nodes cost more
  // than the request's own bookkeeping), keys in the order nlohmann::json sorts them, so the
  // bytes are the same as json{...}.dump()'s. Text that is not valid UTF-8 goes through
  // nlohmann::json, which refuses it as before.
  const std::string_view texts[] = {row.idempotency_key, row.buyer, row.segment, row.template_name, row.message};
  const bool valid = std::all_of(std::begin(texts), std::end(texts), json_text::valid_utf8) &&
                     std::all_of(row.order_ids.begin(), row.order_ids.end(),
                                 [](const std::string& id) { return json_text::valid_utf8(id); });
  if (!valid) {
    return json{{"idempotency_key", row.idempotency_key},
                {"buyer", row.buyer},
                {"order_ids", row.order_ids},
                {"step", row.step},
                {"segment", row.segment},
                {"template", row.template_name},
                {"message", row.message}}
        .dump();
  }
  std::string out;
  out.reserve(128 + row.message.size() + row.idempotency_key.size() + row.buyer.size() + 24 * row.order_ids.size());
  out += "{\"buyer\":";
  json_text::append_string(out, row.buyer);
  out += ",\"idempotency_key\":";
  json_text::append_string(out, row.idempotency_key);
  out += ",\"message\":";
  json_text::append_string(out, row.message);
  out += ",\"order_ids\":[";
  for (std::size_t i = 0; i < row.order_ids.size(); ++i) {
    if (i) out += ',';
    json_text::append_string(out, row.order_ids[i]);
  }
  out += "],\"segment\":";
  json_text::append_string(out, row.segment);
  out += ",\"step\":";
  out += std::to_string(row.step);
  out += ",\"template\":";
  json_text::append_string(out, row.template_name);
  out += '}';
  return out;
}

std::string sms_generic_payload(const Outgoing& row, const SmsConfig& c) {
  json j = json::object();
  for (const auto& [k, v] : c.extra) j[k] = v;
  const auto field = [&](const std::string& name) {
    const auto it = c.fields.find(name);
    return it == c.fields.end() ? std::string{} : it->second;
  };
  if (auto f = field("phone"); !f.empty()) j[f] = row.contact;
  if (auto f = field("message"); !f.empty()) j[f] = row.message;
  if (auto f = field("key"); !f.empty()) j[f] = row.idempotency_key;
  if (auto f = field("buyer"); !f.empty()) j[f] = row.buyer;
  return j.dump();
}

std::map<std::string, std::string> aliyun_sendsms_params(const Outgoing& row, const SmsConfig& c,
                                                         const std::string& access_key_id, const std::string& timestamp,
                                                         const std::string& nonce) {
  return {{"AccessKeyId", access_key_id},
          {"Action", "SendSms"},
          {"Format", "JSON"},
          {"OutId", row.idempotency_key},
          {"PhoneNumbers", row.contact},
          {"RegionId", c.region},
          {"SignName", c.sign_name},
          {"SignatureMethod", "HMAC-SHA1"},
          {"SignatureNonce", nonce},
          {"SignatureVersion", "1.0"},
          {"TemplateCode", c.template_code},
          {"TemplateParam", json{{c.template_param, row.message}}.dump()},
          {"Timestamp", timestamp},
          {"Version", "2017-05-25"}};
}

std::string aliyun_signed_query(std::map<std::string, std::string> params, const std::string& access_key_secret) {
  params.erase("Signature");
  std::string canonical;
  for (const auto& [k, v] : params) {  // std::map: sorted by name, byte order
    if (!canonical.empty()) canonical += '&';
    canonical += url_encode(k) + "=" + url_encode(v);
  }
  const std::string to_sign = "GET&" + url_encode("/") + "&" + url_encode(canonical);
  const std::string key = access_key_secret + "&";
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  HMAC(EVP_sha1(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(to_sign.data()),
       to_sign.size(), mac, &mac_len);
  return "Signature=" + url_encode(base64(mac, mac_len)) + "&" + canonical;
}

std::string rfc2047(const std::string& utf8) {
  const bool ascii = std::all_of(utf8.begin(), utf8.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
  if (ascii) return utf8;
  return "=?UTF-8?B?" + base64(utf8) + "?=";
}

std::string email_address(const std::string& from) {
  const auto lt = from.find('<');
  const auto gt = from.find('>', lt == std::string::npos ? 0 : lt);
  if (lt != std::string::npos && gt != std::string::npos) return from.substr(lt + 1, gt - lt - 1);
  return from;
}

std::string build_email(const Outgoing& row, const std::string& from, const std::string& date_rfc5322) {
  const std::string addr = email_address(from);
  const auto at = addr.find('@');
  const std::string domain = at == std::string::npos ? "cuifu.local" : addr.substr(at + 1);
  std::string display;
  if (const auto lt = from.find('<'); lt != std::string::npos) {
    std::string name = from.substr(0, lt);
    while (!name.empty() && name.back() == ' ') name.pop_back();
    if (!name.empty()) display = rfc2047(name) + " ";
  }
  std::string body64 = base64(row.message);
  std::string wrapped;
  for (std::size_t i = 0; i < body64.size(); i += 76) wrapped += body64.substr(i, 76) + "\r\n";
  return fmt::format(
      "From: {}<{}>\r\nTo: <{}>\r\nSubject: {}\r\nDate: {}\r\nMessage-ID: <{}@{}>\r\nX-Idempotency-Key: {}\r\n"
      "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: base64\r\n\r\n{}",
      display, addr, row.contact, rfc2047(row.subject.empty() ? "订单提醒" : row.subject), date_rfc5322,
      row.idempotency_key, domain, row.idempotency_key, wrapped);
}

std::string robot_payload(const Outgoing& row) {
  const std::string text =
      fmt::format("[cuifu 催付电话任务] {} 于 {} 前致电 {} ({})，订单 {}：{}",
                  row.receiver_name.empty() ? row.buyer : row.receiver_name, format_local_hm(row.send_at), row.buyer,
                  row.contact, fmt::join(row.order_ids, "、"), row.message);
  return json{{"msgtype", "text"}, {"text", {{"content", text}}}}.dump();
}

bool drops_duplicates_by_key(Channel c, const DaemonConfig& config) {
  switch (c) {
    case Channel::im: return true;
    case Channel::sms: return config.sms.provider == SmsProvider::generic_json;
    case Channel::email: return false;
    case Channel::phone: return config.phone.robot == RobotKind::none;
  }
  return false;
}

std::unique_ptr<ChannelSender> make_sender(Channel c, const DaemonConfig& config) {
  const auto it = config.channels.find(c);
  if (it == config.channels.end()) return nullptr;
  const DeliveryPolicy& p = it->second.policy;
  switch (c) {
    case Channel::im:
      return std::make_unique<WebhookSender>(config.im.webhook, secret(config.im.token_env), p, &im_payload,
                                             drops_duplicates_by_key(c, config));
    case Channel::sms:
      if (config.sms.provider == SmsProvider::aliyun) return std::make_unique<AliyunSmsSender>(config.sms, p);
      return std::make_unique<GenericSmsSender>(config.sms, p);
    case Channel::email: return std::make_unique<EmailSender>(config.email, p);
    case Channel::phone:
      if (config.phone.robot == RobotKind::none) return nullptr;
      return std::make_unique<WebhookSender>(config.phone.robot_webhook, std::string{}, p, &robot_payload,
                                             drops_duplicates_by_key(c, config));
  }
  return nullptr;
}

}  // namespace cuifu
