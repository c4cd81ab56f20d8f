// Test helpers shared by the core, io and app tests: the repository's default rule set
// (rules/ and templates/, loaded once), a small rule set built in code, times, and orders.
//
// Header-only; every function is inline so each test executable can include it.
#pragma once

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock_time.h"
#include "core/order.h"
#include "core/planner.h"
#include "core/rules.h"
#include "core/templates.h"
#include "io/rules_loader.h"

#ifndef CUIFU_SOURCE_DIR
#error "CUIFU_SOURCE_DIR must name the repository root"
#endif

namespace cuifu::testing {

inline std::string source_path(std::string_view relative) {
  return std::string(CUIFU_SOURCE_DIR) + "/" + std::string(relative);
}

// The shop's default rules and templates as shipped in the repository (loaded once).
inline const RuleSet& default_rule_set() {
  static const RuleSet set = load_rule_set(source_path("rules"), source_path("templates"));
  return set;
}
inline const Rules& default_rules() {
  return default_rule_set().rules;
}
inline const TemplateSet& default_templates() {
  return default_rule_set().templates;
}

// "2026-11-23 21:00" -> LocalTime; throws on a typo so a test never runs on a wrong time.
inline LocalTime at(std::string_view text) {
  const auto t = parse_local_time(text);
  if (!t) throw std::invalid_argument("bad test time: " + std::string(text));
  return *t;
}

// A template compiled from text; throws if it does not compile.
inline MessageTemplate make_template(Channel channel, std::string name, std::string_view body,
                                     std::string_view subject = {}) {
  MessageTemplate t;
  t.channel = channel;
  t.name = std::move(name);
  t.body_source = std::string(body);
  std::string error;
  const auto compiled = compile_text(body, &error);
  if (!compiled) throw std::invalid_argument("bad test template: " + error);
  t.body = *compiled;
  if (!subject.empty()) {
    const auto s = compile_text(subject, &error);
    if (!s) throw std::invalid_argument("bad test subject: " + error);
    t.subject = *s;
  }
  t.source = SourceRef{"<test>", 1};
  return t;
}

inline ReminderStep make_step(int delay_minutes, Channel channel, std::string template_name,
                              std::optional<Channel> fallback = std::nullopt) {
  ReminderStep s;
  s.delay = Minutes{delay_minutes};
  s.channel = channel;
  s.fallback = fallback;
  s.template_name = std::move(template_name);
  s.source = SourceRef{"<test>", 1};
  return s;
}

// A small rule set built in code: IM and SMS usable 08:00-22:00, quiet hours 22:00-08:00,
// the default caps, one catch-all segment "everyone" with the given steps (template "t"); the
// main shop is make_order()'s 青禾家居旗舰店.
struct CodeRuleSet {
  Rules rules;
  TemplateSet templates;
};

inline CodeRuleSet code_rule_set(std::vector<ReminderStep> steps) {
  CodeRuleSet set;
  Rules& r = set.rules;
  r.quiet_hours = {DailyWindow{22 * 60, 8 * 60}};
  r.shop_name = "青禾家居旗舰店";  // the shop make_order() uses: its SMS carry sms_signature
  ChannelRule im;
  im.channel = Channel::im;
  im.windows = {DailyWindow{8 * 60, 22 * 60}};
  r.channels[Channel::im] = im;
  ChannelRule sms;
  sms.channel = Channel::sms;
  sms.windows = {DailyWindow{8 * 60, 22 * 60}};
  sms.cost_milli = 45;
  sms.sms_signature = "测试小店";
  sms.sms_opt_out = "回T退订";
  r.channels[Channel::sms] = sms;
  SegmentRule everyone;
  everyone.name = "everyone";
  everyone.steps = std::move(steps);
  everyone.source = SourceRef{"<test>", 1};
  r.segments.push_back(std::move(everyone));
  set.templates.add(make_template(Channel::im, "t", "{salutation}您好，您拍下的「{item}」还未付款。"));
  set.templates.add(make_template(Channel::sms, "t", "{salutation}您好，您在{shop}拍下的{item}还未付款。"));
  return set;
}

// An unpaid order of a buyer living in a residential compound (the default segment),
// with a phone, a Chinese receiver name and an ordinary amount. Tests change what matters.
inline Order make_order(std::string id, std::string buyer, LocalTime created) {
  Order o;
  o.id = std::move(id);
  o.buyer = std::move(buyer);
  o.receiver_name = "王芳";
  o.address = "浙江省 杭州市 西湖区 文一路 100号 翠苑小区 3幢 201";
  o.phone = "13812345678";
  o.item = "北欧实木床头柜简约现代卧室小型储物柜";
  o.shop = "青禾家居旗舰店";
  o.amount = 19900;
  o.status = OrderStatus::unpaid;
  o.created_at = created;
  return o;
}

// Addresses that put a buyer in each default segment.
inline constexpr const char* kOfficeAddress = "浙江省 杭州市 西湖区 文三路 478号 华星科技大厦 12楼";
inline constexpr const char* kStudentAddress =
    "湖北省 武汉市 洪山区 珞喻路1037号 华中科技大学 紫菘学生公寓 8栋 宿舍312";
inline constexpr const char* kHomeAddress = "江苏省 南京市 鼓楼区 中山北路 288号 颐和花园 3幢 502室";
inline constexpr const char* kHongKongAddress = "香港特别行政区 九龙 油尖旺区 弥敦道132号 3楼B室";
inline constexpr const char* kSingaporeAddress = "Singapore 238801, 8 Orchard Road, #12-01";

// A scratch directory under the system temp dir, removed with everything in it on
// destruction. Holds copies of the repository's rules/ and templates/ for tests that break
// them on purpose.
class ScratchDir {
 public:
  explicit ScratchDir(std::string_view tag) {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("cuifu-" + std::string(tag) + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::string str(std::string_view relative = {}) const {
    return relative.empty() ? path_.string() : (path_ / std::string(relative)).string();
  }

  // Copies the repository's rules/ and templates/ into this directory, and the gazetteer
  // that rules/address.yaml names (../data/gazetteer.tsv).
  void copy_default_rule_set() const {
    for (const char* d : {"rules", "templates"}) {
      std::filesystem::copy(source_path(d), path_ / d, std::filesystem::copy_options::recursive);
    }
    std::filesystem::create_directories(path_ / "data");
    std::filesystem::copy(source_path("data/gazetteer.tsv"), path_ / "data" / "gazetteer.tsv");
  }

  void write(std::string_view relative, std::string_view text) const {
    const auto p = path_ / std::string(relative);
    std::filesystem::create_directories(p.parent_path());
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out << text;
  }
  std::string read(std::string_view relative) const {
    std::ifstream in(path_ / std::string(relative), std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  // Replaces the one occurrence of `from` in a file; throws if it is not there exactly once,
  // so a changed default file cannot silently turn a test into a no-op.
  void replace(std::string_view relative, std::string_view from, std::string_view to) const {
    std::string text = read(relative);
    const auto pos = text.find(from);
    if (pos == std::string::npos || text.find(from, pos + 1) != std::string::npos) {
      throw std::invalid_argument("'" + std::string(from) + "' is not in " + std::string(relative) + " exactly once");
    }
    text.replace(pos, from.size(), to);
    write(relative, text);
  }
  // "line:column" (1-based) where `needle` first occurs in a file.
  std::string position_of(std::string_view relative, std::string_view needle) const {
    const std::string text = read(relative);
    const auto pos = text.find(needle);
    if (pos == std::string::npos) throw std::invalid_argument("'" + std::string(needle) + "' not found");
    const auto line_start = text.rfind('\n', pos);
    int line = 1;
    for (std::size_t i = 0; i < pos; ++i) line += text[i] == '\n';
    const std::size_t col = pos - (line_start == std::string::npos ? 0 : line_start + 1) + 1;
    return std::to_string(line) + ":" + std::to_string(col);
  }
  int line_of(std::string_view relative, std::string_view needle) const {
    const std::string p = position_of(relative, needle);
    return std::stoi(p.substr(0, p.find(':')));
  }

 private:
  std::filesystem::path path_;
};

}  // namespace cuifu::testing
