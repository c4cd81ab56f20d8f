#include "core/channel.h"

namespace cuifu {

std::string_view to_string(Channel c) {
  switch (c) {
    case Channel::im: return "im";
    case Channel::sms: return "sms";
    case Channel::phone: return "phone";
    case Channel::email: return "email";
  }
  return "?";
}

std::optional<Channel> parse_channel(std::string_view text) {
  for (Channel c : kAllChannels) {
    if (to_string(c) == text) return c;
  }
  return std::nullopt;
}

}  // namespace cuifu
