// Buyers' names as a person would write them in a message.
//
// The receiver field of an export holds more than a name: annotations (张三（公司前台代收）,
// 李四-代收), phone numbers, compound surnames (欧阳娜娜), names with a middle dot
// (阿卜杜拉·买买提) and Latin names (Chan Tai Man). These functions turn it into the name
// and the salutation a shop's staff would write. Pure; no state.
#pragma once

#include <string>
#include <string_view>

#include "core/order.h"
#include "core/rules.h"

namespace cuifu {

// The name without annotations: bracketed notes (（…） (…) 【…】 […]), phone numbers and
// other digits, and what follows a separator (张三/前台, 李四-代收, 王五 代收) or a known
// note word (代收, 转交 …). Latin names keep their spaces (Chan Tai Man); a middle dot is
// written ·. Empty when nothing name-like is left.
std::string clean_receiver_name(std::string_view raw);

// The surname of a Chinese name: a compound surname (欧阳, 司马, 上官, 诸葛 …) when the name
// starts with one and is longer than it, else the first character. Empty for a Latin name
// or a name with a middle dot (no surname is assumed there).
std::string chinese_surname(std::string_view name);

// The salutation for an order's receiver, in this order:
//  - no name left after cleaning: empty (the template then says 您好 without a name);
//  - the receiver already wrote a title (王先生, 李女士): as written;
//  - a Latin name or a name with ·: the full name, as written;
//  - the segment has a name suffix (同学): surname + suffix (欧阳同学);
//  - the rules' names.gender knows the receiver (by name) or the buyer (by nickname):
//    surname + 先生 / 女士;
//  - otherwise the full name (never a guessed gender).
std::string salutation_for(const Order& order, const SegmentRule& segment, const NameRules& names);
// The same, given clean_receiver_name(order.receiver_name) (a caller that needs the clean name
// too cleans it once).
std::string salutation_for(const Order& order, const std::string& clean_name, const SegmentRule& segment,
                           const NameRules& names);

}  // namespace cuifu
