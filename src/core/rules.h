// The shop's reminding rules as plain data: segments, channels, steps, caps.
//
// Loaded from YAML by io/rules_loader; built directly in tests. The planner only
// reads a Rules value, so one Rules object may be shared by any number of threads.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/address.h"
#include "core/channel.h"
#include "core/clock_time.h"
#include "core/occupation.h"
#include "core/order.h"
#include "core/source_ref.h"

namespace cuifu {

// A span of local time of day, [start, end) in minutes since midnight.
// end < start wraps over midnight (22:00-08:00). Written "HH:MM-HH:MM".
struct DailyWindow {
  int start = 0;
  int end = 0;
  bool contains(int minute_of_day) const;
  std::string str() const;  // "12:00-13:30"
};

std::optional<DailyWindow> parse_daily_window(std::string_view text);

// Why a buyer did not pay, read off the buyer's chat messages and the buyer note (买家留言).
struct ReasonRule {
  std::string name;                   // balance, price, delivery, payment_failed, ...
  std::vector<std::string> keywords;  // any one present in a message selects it
  std::vector<std::string> except;    // ... unless the message contains one of these
  SourceRef source;
};

// A buyer's words that mean "do not remind": will not buy, cancel, complaint.
struct StopRule {
  std::string name;                   // will_not_buy, cancel, complaint
  std::vector<std::string> keywords;  // any one present in a buyer message or note stops
  std::vector<std::string> except;    // ... unless the message contains one of these
  // false: stops the orders placed before the message (or the one it names), so a later
  // order is reminded again; true: stops all the buyer's open orders (a complaint).
  bool covers_all = false;
  SourceRef source;
};

// How the chat export is read (rules `chat:` section).
struct ChatRules {
  // Buyer messages from this long before the buyer's oldest open order count.
  Minutes look_back{3 * 24 * 60};
  // The shop (a person, not a bot) answered the buyer within this: the IM reminder waits
  // until that long after the shop's last answer, so it never lands in a live conversation.
  Minutes recently_answered{30};
  std::size_t quote_chars = 40;  // a quoted message is cut to this many characters
  SourceRef look_back_source, recently_answered_source;
};

// How the call desk works phone reminders (rules `calls:` section).
struct CallRules {
  // A buyer who promised on a call to pay hears nothing more for this long after the call.
  Minutes will_pay_grace{24 * 60};
  // Calls the desk makes in a clock hour: `cuifu calls` spreads the day's call tasks over the
  // phone window at this rate, the biggest orders first.
  int per_hour = 6;
  SourceRef will_pay_grace_source, per_hour_source;
};

// Conditions for a segment; every condition that is set must hold.
struct SegmentCondition {
  std::vector<std::string> address_any;   // address contains one of these
  std::vector<std::string> address_none;  // address contains none of these
  std::optional<Money> min_amount;        // combined unpaid amount >= this
  std::optional<Money> max_amount;        // combined unpaid amount < this
  std::optional<bool> overseas;           // address outside mainland China (true) or inside (false)
  std::vector<std::string> note_any;      // buyer note contains one of these
  std::optional<int> min_closed_unpaid;   // buyer's earlier orders that closed unpaid >= this
  std::vector<std::string> occupation;    // the address reads as one of these (office, student, home)
  std::optional<OrderType> order_type;    // the orders are of this type (presale, flash_sale, normal)
  bool empty() const;
};

// One reminder in a segment's sequence.
struct ReminderStep {
  // After the buyer's oldest unpaid order was placed (a pre-sale order: after its balance
  // window opened); or, when before_close is set, that long before the orders close.
  Minutes delay{0};
  Channel channel = Channel::im;
  std::optional<Channel> fallback;   // used when `channel` is unusable for this buyer
  std::vector<DailyWindow> windows;  // empty: the channel's own windows
  std::string template_name;         // base name; the reason picks a variant
  SourceRef source;
  std::optional<Minutes> before_close;  // set: due this long before the orders close, not `delay` after
};

// How a segment addresses its buyers: 您 (formal, the default) or 你 (informal, e.g.
// students). Every template a segment's steps use must keep to it.
enum class Register { formal, informal };

struct SegmentRule {
  std::string name;
  std::string description;
  SegmentCondition when;  // empty() matches every order (the default segment)
  std::vector<ReminderStep> steps;
  std::string name_suffix;  // salutation = surname + this (同学); empty: see NameRules
  Register address = Register::formal;
  SourceRef source;
};

struct ChannelRule {
  Channel channel = Channel::im;
  bool enabled = true;
  std::int64_t cost_milli = 0;       // per message, in thousandths of a yuan (SMS 0.045 = 45)
  std::vector<DailyWindow> windows;  // allowed send windows; empty: all day (quiet hours still apply)
  std::string sms_signature;         // 【店铺名】 without the brackets
  std::string sms_opt_out;           // "回T退订"
  SourceRef source;
};

// Per-buyer and per-order limits. Defaults are the shop's training rules.
struct Caps {
  int max_per_order = 3;
  int max_per_buyer_per_day = 2;
  Minutes min_gap{120};
  // Never the same channel twice in a row within one reminder sequence: the previous
  // contact counts when it was about one of the buyer's orders being reminded now, or
  // (whatever it was about) when it lies within this look-back.
  bool no_repeat_channel = true;
  Minutes repeat_channel_lookback{240};
  Minutes skip_if_paid_within{60};
};

// What the shop knows and lets a message say (rules `facts`). A message states an offer's
// end, a shipping promise or low stock only from here or from the feed; otherwise the
// template's neutral wording is used.
struct ShopFacts {
  std::optional<LocalTime> promotion_ends;  // {promotion_ends} while it is still ahead
  std::string shipping;                     // {shipping}: "48小时内发货"; empty: no promise
  int low_stock_at = 0;                     // feed stock at or below this: {low_stock}; 0: never
};

// Claim phrases a template may use only inside {#field}…{/field}, i.e. only when the fact
// behind them is known (rules `claims`: field -> phrases).
struct ClaimRule {
  std::string field;  // a template field: promotion_ends, low_stock, shipping, delivery
  std::vector<std::string> phrases;
  SourceRef source;
};
std::vector<ClaimRule> default_claims();

// An item category recognised from title keywords (rules `items.categories`); the
// delivery wording (送货上门并安装) is said only for items of a category that has it.
struct ItemCategory {
  std::string name;
  std::vector<std::string> title_any;   // title contains one of these
  std::vector<std::string> title_none;  // ... and none of these (床上四件套 is no bed)
  std::string delivery;                 // {delivery}; empty: nothing said about delivery
  SourceRef source;
};

// A short name for an item (rules `items.short_names`), by the shop's item code (商家编码)
// or a keyword of the title; the first match wins.
struct ItemShortName {
  std::string code;
  std::string title_keyword;
  std::string short_name;
  SourceRef source;
};

enum class Gender { male, female };

// Names the shop knows (rules `names`): the gender of a receiver or buyer, so that a
// salutation says 王先生 / 王女士 only when the shop's own data says which.
struct NameRules {
  std::map<std::string, Gender> gender;  // receiver name or buyer nickname -> gender
};

// How addresses are read (rules/address.yaml): the places, and the occupation cues.
struct AddressRules {
  std::shared_ptr<const Gazetteer> gazetteer;  // null: no places known (every Chinese address is mainland)
  SourceRef gazetteer_source;                  // where the rules name the gazetteer file
  OccupationRules occupation;
};

// One shop of a multi-shop export (agencies and sellers with several shops export them
// together), under `shops:` in the rules. A buyer is (shop, buyer): contacts, caps and
// opt-outs never cross shops. Unset settings inherit the rules' own.
struct ShopRule {
  std::string name;                    // as the feed's 店铺名称 writes it
  std::string display_name;            // how messages name the shop ({shop}); empty: name
  std::string sms_signature;           // 【…】 without brackets; empty: the SMS channel's, only for the main shop
  std::optional<Caps> caps;            // the shop's caps in full (rules' caps with its overrides)
  std::optional<int> holdout_percent;  // 0..100
  SourceRef source;
};

// What the rules say for the orders of one shop: its name in messages, caps, holdout and
// SMS signature, resolved from `shops:` and the shop-wide settings. A view into the Rules
// it came from (which must outlive it).
struct ShopSettings {
  std::string shop;          // the feed's 店铺名称, "" when the feed has none
  std::string display_name;  // for {shop} in messages
  const Caps* caps = nullptr;
  int holdout_percent = 0;
  // The SMS signature for this shop; empty when none is known: a shop other than the main
  // one (`shop:`) never borrows the main shop's signature, so SMS cannot be used for it.
  std::string sms_signature;
  const ShopRule* rule = nullptr;  // its `shops:` entry, if any
};

struct Rules {
  std::vector<SegmentRule> segments;  // in priority order: the first that matches wins
  std::map<Channel, ChannelRule> channels;
  std::vector<DailyWindow> quiet_hours;  // no channel sends inside these
  ShopFacts facts;
  std::vector<ClaimRule> claims = default_claims();
  std::vector<ItemCategory> item_categories;
  std::vector<ItemShortName> item_short_names;
  NameRules names;
  std::vector<std::string> lint_allow;  // lint finding kinds allowed for every template
  // Where sections were defined, for errors about the whole section.
  SourceRef segments_source;
  SourceRef quiet_hours_source;
  SourceRef caps_source;
  Minutes auto_close{72 * 60};
  Minutes flash_sale_close{30};  // a flash-sale order without a close time closes this long after it was placed
  Caps caps;
  std::vector<ReasonRule> reasons;  // in priority order
  std::vector<StopRule> stops;      // in priority order
  ChatRules chat;
  int holdout_percent = 0;  // 0..100 of buyers, by stable hash, never reminded
  std::string holdout_salt = "cuifu";
  std::string shop_name;  // the main shop; used when the feed has no 店铺名称
  AddressRules address;
  std::map<std::string, ShopRule, std::less<>> shops;  // by the feed's 店铺名称
  CallRules calls;

  const ChannelRule* channel(Channel c) const;
  // The settings for orders of `shop` (the feed's 店铺名称, "" when it has none).
  ShopSettings for_shop(std::string_view shop) const;
  // for_shop(shop).caps and .holdout_percent without building the rest (no string copied).
  const Caps& caps_for(std::string_view shop) const;
  int holdout_percent_for(std::string_view shop) const;
  const SegmentRule* segment(std::string_view name) const;
};

// Checks a Rules value for internal consistency (a step's channel is defined, windows
// are sane, there is a catch-all segment, caps are positive). Returns one message per
// problem, each prefixed with its SourceRef; empty when valid.
std::vector<std::string> validate(const Rules& rules);

}  // namespace cuifu
