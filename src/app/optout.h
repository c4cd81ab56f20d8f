// Inbound SMS replies that mean "stop": 退订, TD, T, N, R (any case, with or without
// punctuation or surrounding spaces; 退订 also inside a longer reply).
#pragma once

#include <string_view>

namespace cuifu {

bool is_opt_out_reply(std::string_view text);

}  // namespace cuifu
