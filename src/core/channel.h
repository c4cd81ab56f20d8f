// The four reminder channels.
#pragma once

#include <array>
#include <optional>
#include <string_view>

namespace cuifu {

enum class Channel { im, sms, phone, email };

inline constexpr std::array<Channel, 4> kAllChannels = {Channel::im, Channel::sms, Channel::phone, Channel::email};

// "im", "sms", "phone", "email".
std::string_view to_string(Channel c);
std::optional<Channel> parse_channel(std::string_view text);

}  // namespace cuifu
