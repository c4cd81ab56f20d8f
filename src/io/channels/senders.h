// The channel senders: IM webhook, SMS (generic JSON gateway or Aliyun SendSms), e-mail
// over SMTP, and the phone channel's optional group-robot post. Each makes ONE attempt;
// ChannelWorker adds rate limits and retries. The request builders are pure functions so
// they can be tested without a network.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "io/channels/delivery.h"
#include "io/config.h"

namespace cuifu {

// JSON body of the IM webhook post: key, buyer, order_ids, step, segment, message.
std::string im_payload(const Outgoing& row);

// JSON body of a generic SMS gateway request, field names from the config.
std::string sms_generic_payload(const Outgoing& row, const SmsConfig& c);

// The Aliyun RPC-style SendSms query string, signed: parameters sorted by name, each
// percent-encoded (RFC 3986), joined as the canonicalized query; StringToSign =
// "GET&%2F&" + encode(canonicalized); Signature = base64(HMAC-SHA1(secret + "&", it)).
// `timestamp` is UTC "YYYY-MM-DDTHH:MM:SSZ"; `nonce` unique per request (the
// idempotency key plus the attempt time).
std::string aliyun_signed_query(std::map<std::string, std::string> params, const std::string& access_key_secret);
std::map<std::string, std::string> aliyun_sendsms_params(const Outgoing& row, const SmsConfig& c,
                                                         const std::string& access_key_id, const std::string& timestamp,
                                                         const std::string& nonce);

// An RFC 5322 message: UTF-8 body (base64), the subject RFC 2047-encoded, Message-ID
// <idempotency-key@from-domain> so receivers and our logs can match duplicates.
std::string build_email(const Outgoing& row, const std::string& from, const std::string& date_rfc5322);
std::string rfc2047(const std::string& utf8);
// The bare address inside "Name <a@b>" (or the text itself).
std::string email_address(const std::string& from);

// WeCom / DingTalk group-robot text message announcing a call task.
std::string robot_payload(const Outgoing& row);

// True when the channel's gateway drops a second request with the same idempotency key
// (the IM webhook and a generic JSON SMS gateway receive the key; a phone channel without a
// robot sends nothing). SMTP, Aliyun SendSms and the group robots keep every copy.
bool drops_duplicates_by_key(Channel c, const DaemonConfig& config);

// The sender for a configured channel. Secrets are read from the environment here.
// For phone without a robot there is no sender (nullptr): the call task row is the delivery.
std::unique_ptr<ChannelSender> make_sender(Channel c, const DaemonConfig& config);

}  // namespace cuifu
