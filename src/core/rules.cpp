#include "core/rules.h"

#include <fmt/compile.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "core/format_text.h"

namespace cuifu {

std::string SourceRef::str() const {
  if (file.empty()) return "<rules>";
  return line > 0 ? format_text(FMT_COMPILE("{}:{}"), file, line) : file;
}

std::string SourceRef::located() const {
  if (line <= 0 || column <= 0) return str();
  return format_text(FMT_COMPILE("{}:{}:{}"), file, line, column);
}

bool DailyWindow::contains(int m) const {
  if (start == end) return true;  // "00:00-24:00" style: all day
  if (start < end) return m >= start && m < end;
  return m >= start || m < end;  // wraps over midnight
}

std::string DailyWindow::str() const {
  return format_text(FMT_COMPILE("{:02d}:{:02d}-{:02d}:{:02d}"), start / 60, start % 60, end / 60, end % 60);
}

std::optional<DailyWindow> parse_daily_window(std::string_view text) {
  auto hm = [](std::string_view s) -> std::optional<int> {
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
    if (s.size() != 5 || s[2] != ':') return std::nullopt;
    for (std::size_t i : {0u, 1u, 3u, 4u}) {
      if (s[i] < '0' || s[i] > '9') return std::nullopt;
    }
    const int h = (s[0] - '0') * 10 + (s[1] - '0');
    const int m = (s[3] - '0') * 10 + (s[4] - '0');
    if (m > 59 || h > 24 || (h == 24 && m != 0)) return std::nullopt;
    return h * 60 + m;
  };
  const auto dash = text.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  const auto a = hm(text.substr(0, dash));
  const auto b = hm(text.substr(dash + 1));
  if (!a || !b) return std::nullopt;
  return DailyWindow{*a % 1440, *b % 1440};
}

bool SegmentCondition::empty() const {
  return address_any.empty() && address_none.empty() && !min_amount && !max_amount && !overseas && note_any.empty() &&
         !min_closed_unpaid && occupation.empty() && !order_type;
}

const ChannelRule* Rules::channel(Channel c) const {
  const auto it = channels.find(c);
  return it == channels.end() ? nullptr : &it->second;
}

const SegmentRule* Rules::segment(std::string_view name) const {
  for (const auto& s : segments) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

std::vector<ClaimRule> default_claims() {
  return {
      {"promotion_ends", {"活动价", "优惠价", "优惠保留", "限时", "促销", "折扣"}, {}},
      {"low_stock", {"库存", "仅剩", "最后几件", "快抢完"}, {}},
      {"shipping", {"当天发货", "当日发货", "小时内发货", "包邮", "顺丰"}, {}},
      {"delivery", {"送货上门", "上门", "安装", "专线物流"}, {}},
  };
}

namespace {

// Whether some minute of the day is inside every non-empty window list and outside quiet hours.
bool any_minute_allowed(const std::vector<DailyWindow>& a, const std::vector<DailyWindow>& b,
                        const std::vector<DailyWindow>& quiet) {
  const auto in_any = [](const std::vector<DailyWindow>& ws, int m) {
    return ws.empty() || std::any_of(ws.begin(), ws.end(), [m](const DailyWindow& w) { return w.contains(m); });
  };
  for (int m = 0; m < 1440; ++m) {
    if (in_any(a, m) && in_any(b, m) &&
        std::none_of(quiet.begin(), quiet.end(), [m](const DailyWindow& q) { return q.contains(m); })) {
      return true;
    }
  }
  return false;
}

std::string windows_str(const std::vector<DailyWindow>& ws) {
  std::vector<std::string> out;
  for (const auto& w : ws) out.push_back(w.str());
  return format_text(FMT_COMPILE("{}"), fmt::join(out, ", "));
}

}  // namespace

ShopSettings Rules::for_shop(std::string_view shop) const {
  ShopSettings s;
  s.shop = std::string(shop);
  s.caps = &caps;
  s.holdout_percent = holdout_percent;
  const bool main_shop = shop.empty() || shop == shop_name;
  s.display_name = shop.empty() ? shop_name : std::string(shop);
  if (const ChannelRule* sms = channel(Channel::sms); sms && main_shop) s.sms_signature = sms->sms_signature;
  if (const auto it = shops.find(shop); it != shops.end()) {
    const ShopRule& r = it->second;
    s.rule = &r;
    if (!r.display_name.empty()) s.display_name = r.display_name;
    if (!r.sms_signature.empty()) s.sms_signature = r.sms_signature;
    if (r.caps) s.caps = &*r.caps;
    if (r.holdout_percent) s.holdout_percent = *r.holdout_percent;
  }
  return s;
}

const Caps& Rules::caps_for(std::string_view shop) const {
  const auto it = shops.find(shop);
  return it != shops.end() && it->second.caps ? *it->second.caps : caps;
}

int Rules::holdout_percent_for(std::string_view shop) const {
  const auto it = shops.find(shop);
  return it != shops.end() && it->second.holdout_percent ? *it->second.holdout_percent : holdout_percent;
}

std::vector<std::string> validate(const Rules& rules) {
  std::vector<std::string> errors;
  auto err = [&](const SourceRef& at, std::string msg) {
    errors.push_back(format_text(FMT_COMPILE("{}: {}"), at.located(), msg));
  };
  if (rules.segments.empty()) {
    err(rules.segments_source, "no segments defined: nobody would ever be reminded (add at least a catch-all)");
  }
  const bool all_day_quiet = !rules.quiet_hours.empty() && !any_minute_allowed({}, {}, rules.quiet_hours);
  if (all_day_quiet) {
    err(rules.quiet_hours_source,
        format_text(FMT_COMPILE("quiet hours {} cover the whole day: no reminder could ever be sent"),
                    windows_str(rules.quiet_hours)));
  }
  if (!rules.segments.empty() && !rules.segments.back().when.empty()) {
    err(rules.segments.back().source,
        fmt::format("the last segment '{}' has conditions; the last segment must match every order "
                    "(a catch-all default)",
                    rules.segments.back().name));
  }
  for (std::size_t i = 0; i + 1 < rules.segments.size(); ++i) {
    if (rules.segments[i].when.empty()) {
      err(rules.segments[i].source,
          format_text(FMT_COMPILE("segment '{}' has no conditions, so the segments after it never match"),
                      rules.segments[i].name));
    }
  }
  for (const auto& seg : rules.segments) {
    for (const auto& other : rules.segments) {
      if (&other != &seg && other.name == seg.name && &other < &seg) {
        err(seg.source, format_text(FMT_COMPILE("segment '{}' is defined twice"), seg.name));
      }
    }
    Minutes last{-1};
    bool before_close_seen = false;
    for (const auto& step : seg.steps) {
      const ChannelRule* ch = rules.channel(step.channel);
      if (!ch) {
        err(step.source, format_text(FMT_COMPILE("step uses channel '{}' which is not defined under channels"),
                                     to_string(step.channel)));
      }
      if (step.fallback && !rules.channel(*step.fallback)) {
        err(step.source,
            format_text(FMT_COMPILE("fallback channel '{}' is not defined under channels"), to_string(*step.fallback)));
      }
      if (step.before_close) {
        before_close_seen = true;
      } else if (before_close_seen) {
        err(step.source, "steps timed by 'after' must come before the steps timed by 'before_close'");
      } else if (step.delay < last) {
        err(step.source, "steps must be in order of their delay");
      }
      if (!step.before_close) last = step.delay;
      if (step.template_name.empty()) err(step.source, "step has no template");
      if (ch && !all_day_quiet && !any_minute_allowed(ch->windows, step.windows, rules.quiet_hours)) {
        err(step.source,
            fmt::format("step {} window {} lies wholly inside quiet hours {} (or outside the channel's windows {}): "
                        "it could never be sent",
                        to_string(step.channel), step.windows.empty() ? "(the channel's)" : windows_str(step.windows),
                        windows_str(rules.quiet_hours), ch->windows.empty() ? "all day" : windows_str(ch->windows)));
      }
    }
    if (!seg.when.occupation.empty() && rules.address.occupation.empty()) {
      err(seg.source, fmt::format("segment '{}' uses 'occupation' but no rules file defines the occupation cues "
                                  "(the 'address' section, see rules/address.yaml)",
                                  seg.name));
    }
    if (seg.when.min_amount && seg.when.max_amount && *seg.when.min_amount >= *seg.when.max_amount) {
      err(seg.source, "min_amount must be below max_amount");
    }
  }
  if (rules.caps.max_per_order < 1) err(rules.caps_source, "caps.max_per_order must be at least 1");
  if (rules.caps.max_per_buyer_per_day < 1) err(rules.caps_source, "caps.max_per_buyer_per_day must be at least 1");
  if (rules.caps.min_gap.count() < 0) err(rules.caps_source, "caps.min_gap must not be negative");
  if (rules.auto_close.count() <= 0) err({}, "auto_close must be positive");
  if (rules.flash_sale_close.count() <= 0) err({}, "flash_sale_close must be positive");
  if (rules.holdout_percent < 0 || rules.holdout_percent > 100) {
    err({}, "holdout must be between 0 and 100 percent");
  }
  for (const auto& [name, shop] : rules.shops) {
    if (shop.caps && (shop.caps->max_per_order < 1 || shop.caps->max_per_buyer_per_day < 1)) {
      err(shop.source,
          format_text(FMT_COMPILE("shop {}: caps.max_per_order and caps.max_per_buyer_per_day must be at least 1"),
                      name));
    }
    if (shop.caps && shop.caps->min_gap.count() < 0)
      err(shop.source, format_text(FMT_COMPILE("shop {}: caps.min_gap must not be negative"), name));
    if (shop.holdout_percent && (*shop.holdout_percent < 0 || *shop.holdout_percent > 100)) {
      err(shop.source, format_text(FMT_COMPILE("shop {}: holdout must be between 0 and 100 percent"), name));
    }
  }
  for (const auto& [c, ch] : rules.channels) {
    if (ch.cost_milli < 0) {
      err(ch.source,
          format_text(FMT_COMPILE("{} cost is negative ({:.3f} yuan): a cost is what a message costs the shop, >= 0"),
                      to_string(c), static_cast<double>(ch.cost_milli) / 1000.0));
    }
    if (!all_day_quiet && !ch.windows.empty() && !any_minute_allowed(ch.windows, {}, rules.quiet_hours)) {
      err(ch.source, format_text(FMT_COMPILE("{} windows {} lie wholly inside quiet hours {}"), to_string(c),
                                 windows_str(ch.windows), windows_str(rules.quiet_hours)));
    }
    if (c == Channel::sms && ch.sms_signature.empty()) {
      err(ch.source, "sms needs a signature (the shop name shown as 【...】)");
    }
    if (c == Channel::sms && ch.sms_opt_out.empty()) {
      err(ch.source, "sms needs opt-out text (e.g. 回T退订)");
    }
  }
  return errors;
}

}  // namespace cuifu
