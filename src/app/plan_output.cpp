#include "app/plan_output.h"

#include <fmt/format.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <charconv>
#include <cstdlib>
#include <map>
#include <sstream>

#include "core/text.h"
#include "io/charset.h"
#include "io/external_sort.h"
#include "io/json_text.h"

namespace cuifu {

using nlohmann::json;

std::string shown_contact(const PlannedReminder& r, bool show_contacts) {
  if (r.contact.empty()) return "-";
  if (show_contacts) return r.contact;
  return r.channel == Channel::email ? mask_email(r.contact) : mask_phone(r.contact);
}

void PlanTally::count(const PlannedReminder& r) {
  ++reminders;
  auto& ch = by_channel[std::string(to_string(r.channel))];
  ++ch.first;
  ch.second += r.cost_milli;
  ++by_segment[r.segment];
  ++by_hour[hour_of_day(r.send_at)];
  cost_milli += r.cost_milli;
}

void PlanTally::merge(const PlanTally& o) {
  reminders += o.reminders;
  skipped += o.skipped;
  for (const auto& [k, v] : o.by_channel) {
    by_channel[k].first += v.first;
    by_channel[k].second += v.second;
  }
  for (const auto& [k, v] : o.by_segment) by_segment[k] += v;
  for (const auto& [k, v] : o.by_hour) by_hour[k] += v;
  cost_milli += o.cost_milli;
}

json PlanTally::to_json() const {
  json channels = json::object(), segments = json::object(), hours = json::object();
  for (Channel c : kAllChannels) channels[std::string(to_string(c))] = {{"reminders", 0}, {"cost", 0.0}};
  for (const auto& [ch, v] : by_channel)
    channels[ch] = {{"reminders", v.first}, {"cost", static_cast<double>(v.second) / 1000.0}};
  for (const auto& [seg, n] : by_segment) segments[seg] = n;
  for (const auto& [hour, n] : by_hour) hours[fmt::format("{:02d}", hour)] = n;
  return {{"reminders", reminders}, {"skipped", skipped}, {"by_channel", channels},
          {"by_segment", segments}, {"by_hour", hours},   {"estimated_cost", static_cast<double>(cost_milli) / 1000.0},
          {"currency", "CNY"}};
}

json plan_summary(const Plan& plan) {
  PlanTally t;
  for (const auto& r : plan.reminders) t.count(r);
  t.skipped = plan.skipped.size();
  return t.to_json();
}

namespace {}  // namespace

void append_json_string(std::string& out, std::string_view s) {
  json_text::append_string(out, s);
}

namespace {

void append_json(std::string& out, std::string_view s) {
  append_json_string(out, s);
}

void append_json(std::string& out, const std::vector<std::string>& list) {
  out += '[';
  for (std::size_t i = 0; i < list.size(); ++i) {
    if (i) out += ',';
    append_json(out, list[i]);
  }
  out += ']';
}

// A key of a JSON object written below: a literal that needs no escaping (checked when it is
// compiled), so it is written as it is, not looked through byte by byte for every line.
struct JsonKey {
  template <std::size_t N>
  consteval JsonKey(const char (&key)[N]) : text(key, N - 1) {  // NOLINT: implicit from a literal
    for (std::size_t i = 0; i + 1 < N; ++i) {
      if (static_cast<unsigned char>(key[i]) < 0x20 || key[i] == '"' || key[i] == '\\') {
        throw "a JSON key written as it is must need no escaping";
      }
    }
  }
  std::string_view text;
};

// `"key":value` pairs of one object, in the order they are added.
class JsonObject {
 public:
  explicit JsonObject(std::string& out) : out_(out) { out_ += '{'; }
  template <typename T>
  JsonObject& add(JsonKey key, const T& value) {
    // `,"key":` as append_json would write the key.
    out_.append(first_ ? "\"" : ",\"", first_ ? 1 : 2);
    first_ = false;
    out_.append(key.text);
    out_.append("\":", 2);
    if constexpr (std::is_integral_v<T>) {
      static_assert(!std::is_same_v<T, bool> && !std::is_same_v<T, char>, "written as a number");
      char digits[24];  // any 64-bit integer
      out_.append(digits,
                  static_cast<std::size_t>(std::to_chars(std::begin(digits), std::end(digits), value).ptr - digits));
    } else {
      append_json(out_, value);
    }
    return *this;
  }
  void close() { out_ += '}'; }

 private:
  std::string& out_;
  bool first_ = true;
};

void reminder_json(std::string& line, const PlanReport& r, const PlannedReminder& p) {
  JsonObject j(line);
  j.add("send_at", r.zone->iso(p.send_at))
      .add("shop", p.shop)
      .add("buyer", p.buyer)
      .add("order_ids", p.order_ids)
      .add("segment", p.segment)
      .add("channel", to_string(p.channel))
      .add("step", p.step)
      .add("template", p.template_name)
      .add("message", p.message)
      .add("contact", shown_contact(p, r.show_contacts))
      .add("amount", format_money(p.amount))
      .add("pay_by", r.zone->iso(p.pay_by))
      .add("idempotency_key", p.idempotency_key())
      .add("why", p.why);
  if (!p.subject.empty()) j.add("subject", p.subject);
  j.close();
}

// Writes `"key": [` then one compact element per line, so a plan of 100,000 reminders never
// exists as one JSON document in memory.
template <typename Range, typename ToJson>
void write_array(std::ostream& out, std::string_view key, const Range& items, ToJson to_json, bool last = false) {
  std::string line;
  append_json(line, key);
  out << "  " << line << ": [";
  bool first = true;
  for (const auto& item : items) {
    line.assign(first ? "\n    " : ",\n    ");
    to_json(line, item);
    out << line;
    first = false;
  }
  out << (first ? "]" : "\n  ]") << (last ? "\n" : ",\n");
}

}  // namespace

namespace {

// Memory for the reminders' and skipped orders' lines of a streamed plan before they go to a
// temporary file (sorted runs, merged at the end): a plan of any size stays within it.
constexpr std::size_t kReminderLinesInMemory = std::size_t{64} << 20;
constexpr std::size_t kSkippedLinesInMemory = std::size_t{16} << 20;

// Takes each buyer's plan as it is made: tallies it and renders its reminders and skipped
// orders into sorted lines (reminders by send_at, buyer, shop; skipped orders by order id).
class LinesSink : public PlanSink {
 public:
  using Render = std::function<void(std::string&, const PlannedReminder&)>;
  LinesSink(Render reminder, bool skipped_lines) : render_(std::move(reminder)), skipped_lines_(skipped_lines) {}

  void start(std::size_t parts) override {
    reminders_ = std::make_unique<ExternalSorter>(parts, kReminderLinesInMemory);
    skipped_ = std::make_unique<ExternalSorter>(parts, kSkippedLinesInMemory);
    scratch_.resize(parts);
  }
  void add(std::size_t part, Plan& buyer) override {
    Scratch& s = scratch_[part];
    for (const auto& r : buyer.reminders) {
      s.tally.count(r);
      s.key.clear();
      s.key.number(r.send_at.time_since_epoch().count()).text(r.buyer).text(r.shop);
      reminders_->add(part, s.key.bytes(), [&](std::string& line) { render_(line, r); });
    }
    s.tally.skipped += buyer.skipped.size();
    if (!skipped_lines_) return;
    for (const auto& k : buyer.skipped) {
      s.key.clear();
      s.key.text(k.order_id);
      skipped_->add(part, s.key.bytes(), [&](std::string& line) {
        JsonObject(line)
            .add("order_id", k.order_id)
            .add("shop", k.shop)
            .add("buyer", k.buyer)
            .add("reason", k.reason)
            .close();
      });
    }
  }

  PlanTally tally() const {
    PlanTally t;
    for (const auto& s : scratch_) t.merge(s.tally);
    return t;
  }
  ExternalSorter& reminders() { return *reminders_; }
  ExternalSorter& skipped() { return *skipped_; }

 private:
  struct Scratch {  // one per part: touched by that part's thread only
    SortKey key;
    PlanTally tally;
  };
  Render render_;
  bool skipped_lines_;
  std::unique_ptr<ExternalSorter> reminders_, skipped_;
  std::vector<Scratch> scratch_;
};

// `"key": [` then one line per element, then `]`.
void write_lines(std::ostream& out, std::string_view key, ExternalSorter& lines) {
  std::string head;
  append_json_string(head, key);
  out << "  " << head << ": [";
  // Handed on in blocks of about a megabyte: a stream takes a big block in one write, where
  // each line would go through its small buffer.
  bool first = true;
  std::string block;
  lines.drain([&](std::string_view line) {
    block += first ? "\n    " : ",\n    ";
    block += line;
    first = false;
    if (block.size() >= (std::size_t{1} << 20)) {
      out.write(block.data(), static_cast<std::streamsize>(block.size()));
      block.clear();
    }
  });
  out.write(block.data(), static_cast<std::streamsize>(block.size()));
  out << (first ? "]" : "\n  ]") << ",\n";
}

// Hands an already made plan to a sink, as one buyer.
PlanRun replay_plan(const Plan& plan) {
  return [&plan](PlanSink& sink) {
    Plan copy = plan;
    sink.start(1);
    sink.add(0, copy);
  };
}

}  // namespace

void write_plan_json(std::ostream& out, const PlanReport& r) {
  write_plan_json(out, r, replay_plan(*r.plan));
}

void write_plan_json(std::ostream& out, const PlanReport& r, const PlanRun& run) {
  LinesSink sink([&](std::string& line, const PlannedReminder& p) { reminder_json(line, r, p); }, true);
  run(sink);
  static const std::vector<RejectedRow> kNoRows;
  out << "{\n";
  const auto field = [&](std::string_view key, const json& value) {
    out << "  " << json(key).dump() << ": " << value.dump() << ",\n";
  };
  field("now", r.zone->iso(r.now));
  field("from", r.zone->iso(r.from));
  field("to", r.zone->iso(r.to));
  field("time_zone", r.zone->name());
  field("feed", r.feed);
  field("orders_read", r.orders);
  field("rows_superseded", r.superseded ? r.superseded->size() : 0);
  write_lines(out, "reminders", sink.reminders());
  write_lines(out, "skipped", sink.skipped());
  write_array(out, "rejected_rows", r.rejected ? *r.rejected : kNoRows, [](std::string& line, const RejectedRow& row) {
    JsonObject(line).add("line", row.line).add("error", row.error).close();
  });
  static const std::vector<SupersededRow> kNoSuperseded;
  write_array(
      out, "superseded_rows", r.superseded ? *r.superseded : kNoSuperseded,
      [](std::string& line, const SupersededRow& row) {
        JsonObject(line).add("line", row.line).add("order_id", row.order_id).add("kept_line", row.kept_line).close();
      });
  out << "  \"summary\": " << sink.tally().to_json().dump() << "\n}\n";
}

namespace {

// A reason without its particulars (times, ids), to count skipped orders by kind.
std::string reason_kind(const std::string& reason) {
  auto starts = [&](std::string_view p) { return reason.rfind(p, 0) == 0; };
  if (starts("paid")) return "paid";
  if (starts("closed")) return "closed";
  if (starts("auto-closed")) return "auto-closed unpaid";
  if (starts("buyer paid order")) return "buyer paid another order within the last hour";
  if (starts("holdout")) return "holdout group";
  if (starts("reminded")) return "reminder cap per order reached";
  if (starts("all ")) return "all steps of the segment done";
  if (starts("next reminder falls outside")) return "next reminder after this window";
  const auto lo = reason.find("left out: ");
  const std::string rest = lo == std::string::npos ? reason : reason.substr(lo + 10);
  if (contains(rest, "auto-closes")) return "no allowed time before the order auto-closes";
  if (contains(rest, "previous contact")) return "only channel left was the previous one (never twice in a row)";
  if (contains(rest, "no phone")) return "no phone number";
  if (contains(rest, "no e-mail")) return "no e-mail address";
  if (contains(rest, "opted out")) return "buyer opted out";
  return rest.substr(0, rest.find_first_of("0123456789"));
}

std::string csv_field(std::string_view s) {
  if (s.find_first_of(",\"\n\r") == std::string_view::npos) return std::string(s);
  std::string q = "\"";
  for (char c : s) {
    if (c == '"') q += '"';
    q += c;
  }
  return q + "\"";
}

// A run of digits Excel would turn into a number and mangle: more than 11 digits (shown as
// 1.93E+18, digits past the 15th lost) or a leading zero (dropped) becomes ="…", text.
std::string excel_text(std::string s) {
  const bool digits = !s.empty() && s.find_first_not_of("0123456789") == std::string::npos;
  if (digits && (s.size() > 11 || (s.size() > 1 && s[0] == '0'))) return "=\"" + s + "\"";
  return s;
}

}  // namespace

void write_plan_csv(std::ostream& out, const PlanReport& r, const std::string& encoding) {
  write_plan_csv(out, r, replay_plan(*r.plan), encoding);
}

void write_plan_csv(std::ostream& out, const PlanReport& r, const PlanRun& run, const std::string& encoding) {
  LinesSink sink(
      [&](std::string& line, const PlannedReminder& p) {
        fmt::format_to(
            std::back_inserter(line), "{},{},{},{},{},{},{},{},{},{},{},{},{}\n", r.zone->iso(p.send_at),
            csv_field(excel_text(p.buyer)), csv_field(excel_text(fmt::format("{}", fmt::join(p.order_ids, " ")))),
            csv_field(p.segment), to_string(p.channel), p.step, csv_field(p.template_name),
            csv_field(excel_text(shown_contact(p, r.show_contacts))), format_money(p.amount), r.zone->iso(p.pay_by),
            csv_field(p.subject), csv_field(p.message), csv_field(fmt::format("{}", fmt::join(p.why, "; "))));
      },
      false);
  run(sink);
  // Encoded a block of whole lines at a time: a GB18030 file is written as it goes.
  std::string block =
      "send_at,buyer,order_ids,segment,channel,step,template,contact,amount,pay_by,subject,message,why\n";
  const std::string e = normalize_encoding(encoding);
  const std::string after_first = e == "utf-8-bom" || e == "utf-8-sig" ? "utf-8" : encoding;  // one BOM
  bool first_block = true;
  const auto flush = [&] {
    out << encode_csv(block, first_block ? encoding : after_first);
    first_block = false;
    block.clear();
  };
  sink.reminders().drain([&](std::string_view line) {
    block += line;
    if (block.size() >= (std::size_t{1} << 20)) flush();
  });
  flush();
}

std::string encode_csv(std::string utf8_text, const std::string& encoding) {
  const std::string e = normalize_encoding(encoding);
  if (e == "utf-8-bom" || e == "utf-8-sig") return "\xEF\xBB\xBF" + utf8_text;
  if (e == "utf-8") return utf8_text;
  return from_utf8(utf8_text, e);
}

int table_width_from_environment() {
  if (const char* columns = std::getenv("COLUMNS")) {
    char* end = nullptr;
    const long n = std::strtol(columns, &end, 10);
    if (end != columns && *end == '\0' && n > 0 && n < 10000) return static_cast<int>(n);
  }
  winsize ws{};
  if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  return 100;
}

namespace {

void write_plan_table_padded(std::ostream& out, const PlanReport& r);

int table_width(const PlanReport& r) {
  return std::clamp(r.width, 80, 120);
}

// Writes `line` in pieces of at most `width` columns; the pieces after the first are
// indented one step more than the line.
void write_wrapped(std::ostream& out, const std::string& line, int width) {
  const auto cps = utf8_decode(line);
  std::size_t lead = 0;
  while (lead < cps.size() && cps[lead] == U' ') ++lead;
  const std::u32string indent(std::min<std::size_t>(lead + 4, static_cast<std::size_t>(width) / 2), U' ');
  std::u32string piece;
  int w = 0;
  for (std::size_t i = 0; i < cps.size(); ++i) {
    const int cw = display_width(utf8_encode(std::u32string(1, cps[i])));
    if (w + cw > width) {
      // Break after the last space in the piece when what follows it is short enough to move.
      const auto space = piece.find_last_of(U' ');
      std::u32string rest;
      if (space != std::u32string::npos && space > indent.size() &&
          display_width(utf8_encode(piece.substr(space + 1))) <= width / 3) {
        rest = piece.substr(space + 1);
        piece.erase(space);
      }
      while (!piece.empty() && piece.back() == U' ') piece.pop_back();
      out << utf8_encode(piece) << "\n";
      piece = indent + rest;
      w = display_width(utf8_encode(piece));
    }
    piece.push_back(cps[i]);
    w += cw;
  }
  out << utf8_encode(piece) << "\n";
}

}  // namespace

void write_plan_table(std::ostream& out, const PlanReport& r) {
  // Columns are padded to align; trailing padding is dropped so lines end cleanly, and a
  // line of free text (a long feed path, a rejected row's error) wraps to fit.
  const int width = table_width(r);
  std::ostringstream buf;
  write_plan_table_padded(buf, r);
  std::istringstream in(buf.str());
  for (std::string line; std::getline(in, line);) {
    while (!line.empty() && line.back() == ' ') line.pop_back();
    if (display_width(line) <= width) {
      out << line << "\n";
    } else {
      write_wrapped(out, line, width);
    }
  }
}

namespace {

void write_plan_table_padded(std::ostream& out, const PlanReport& r) {
  const Plan& plan = *r.plan;
  const int width = table_width(r);
  const std::string rule(static_cast<std::size_t>(width), '-');
  out << fmt::format("Reminder plan {} .. {} ({})\n", format_local_hm(r.from), format_local_hm(r.to), r.zone->name());
  const std::size_t rejected = r.rejected ? r.rejected->size() : 0;
  const std::size_t superseded = r.superseded ? r.superseded->size() : 0;
  out << fmt::format("now {} · feed {}: {} orders read, {} row{} rejected{}\n\n", format_local_hm(r.now), r.feed,
                     r.orders, rejected, rejected == 1 ? "" : "s",
                     superseded == 0 ? std::string()
                                     : fmt::format(", {} row{} superseded by a newer row of the same order", superseded,
                                                   superseded == 1 ? "" : "s"));

  // Columns: time, buyer, segment, channel, step, orders, amount, contact (the rest). A narrow
  // terminal (80 columns) gets tighter ones, so the masked phone number still fits.
  const bool narrow = width < 100;
  const int w_buyer = narrow ? 14 : 16, w_seg = narrow ? 13 : 17, w_ch = narrow ? 5 : 6, w_step = narrow ? 4 : 5,
            w_orders = narrow ? 6 : 7, w_amount = narrow ? 9 : 10;
  const int contact_w = std::max(8, width - (11 + w_buyer + w_seg + w_ch + w_step + w_orders + w_amount) - 7);
  auto row = [&](std::string_view a, std::string_view b, std::string_view c, std::string_view d, std::string_view e,
                 std::string_view f, std::string_view g, std::string_view h) {
    out << pad_display(a, 11) << ' ' << pad_display(b, w_buyer) << ' ' << pad_display(c, w_seg) << ' '
        << pad_display(d, w_ch) << ' ' << pad_display(e, w_step) << ' ' << pad_display(f, w_orders, true) << ' '
        << pad_display(g, w_amount, true) << ' ' << pad_display(h, contact_w) << "\n";
  };
  row("SEND AT", "BUYER", "SEGMENT", "CH", "STEP", "ORDERS", "AMOUNT", "CONTACT");
  out << rule << "\n";
  const LocalTime first_day = start_of_day(r.from);
  for (const auto& p : plan.reminders) {
    const std::string when = start_of_day(p.send_at) == first_day ? format_local_hm(p.send_at).substr(11)
                                                                  : format_local_hm(p.send_at).substr(5);
    row(when, p.buyer, p.segment, std::string(to_string(p.channel)), fmt::format("{}", p.step),
        fmt::format("{}", p.order_ids.size()), format_money(p.amount), shown_contact(p, r.show_contacts));
    const std::string indent = "    ";
    if (!p.subject.empty()) out << indent << pad_display("subject: " + p.subject, width - 4) << "\n";
    std::string message = p.message;
    for (auto& c : message) {
      if (c == '\n') c = ' ';
    }
    // Messages wrap over at most three lines so a staff member can read them whole.
    auto cps = utf8_decode(message);
    for (int line = 0; line < 3 && !cps.empty(); ++line) {
      std::u32string part;
      int w = 0;
      std::size_t i = 0;
      for (; i < cps.size(); ++i) {
        const int cw = display_width(utf8_encode(std::u32string(1, cps[i])));
        if (w + cw > width - 6) break;
        part.push_back(cps[i]);
        w += cw;
      }
      cps.erase(0, i);
      if (line == 2 && !cps.empty()) part += U"…";
      out << indent << (line == 0 ? "» " : "  ") << utf8_encode(part) << "\n";
    }
    // The why, compact: the segment reason and the timing.
    for (const auto& why : p.why) {
      if (why.rfind("segment ", 0) == 0 || why.rfind("reason ", 0) == 0 || why.rfind("moved to", 0) == 0 ||
          why.rfind("combines", 0) == 0 || why.find("instead of") != std::string::npos ||
          why.find("left out") != std::string::npos) {
        out << indent << "  " << pad_display("· " + why, width - 6) << "\n";
      }
    }
  }
  if (plan.reminders.empty()) out << "(no reminders in this window)\n";
  out << rule << "\n\n";

  // Summary: per channel, segment and hour, with cost.
  const json s = plan_summary(plan);
  out << fmt::format("Summary: {} reminders, estimated cost {:.2f} CNY\n", plan.reminders.size(),
                     s["estimated_cost"].get<double>());
  out << "  by channel: ";
  std::vector<std::string> parts;
  for (Channel c : kAllChannels) {
    const auto& j = s["by_channel"][std::string(to_string(c))];
    parts.push_back(
        fmt::format("{} {} ({:.2f} CNY)", to_string(c), j["reminders"].get<int>(), j["cost"].get<double>()));
  }
  out << fmt::format("{}\n", fmt::join(parts, " · "));
  parts.clear();
  for (const auto& [seg, n] : s["by_segment"].items()) parts.push_back(fmt::format("{} {}", seg, n.get<int>()));
  out << fmt::format("  by segment: {}\n", parts.empty() ? "-" : fmt::format("{}", fmt::join(parts, " · ")));
  out << "  by hour:\n";
  for (const auto& [hour, n] : s["by_hour"].items()) {
    out << fmt::format("    {}:00 {:>4} {}\n", hour, n.get<int>(),
                       std::string(static_cast<std::size_t>(std::min(60, n.get<int>())), '#'));
  }

  // Skipped orders: counts by kind, then the unpaid ones individually.
  std::map<std::string, int> kinds;
  std::vector<const SkippedOrder*> notable;
  for (const auto& sk : plan.skipped) {
    kinds[reason_kind(sk.reason)]++;
    if (sk.reason.rfind("paid at", 0) != 0 && sk.reason != "paid" && sk.reason != "closed") notable.push_back(&sk);
  }
  out << fmt::format("\nNot reminded in this window: {} orders\n", plan.skipped.size());
  for (const auto& [k, n] : kinds) out << fmt::format("  {:>4}  {}\n", n, k);
  if (!notable.empty()) {
    out << "\n";
    for (const auto* sk : notable) {
      out << "  " << pad_display(sk->order_id, 20) << ' ' << pad_display(sk->buyer, 16) << ' '
          << pad_display(sk->reason, width - 40) << "\n";
    }
  }
  if (r.rejected && !r.rejected->empty()) {
    out << fmt::format("\nRejected feed rows: {}\n", r.rejected->size());
    for (const auto& row : *r.rejected) out << fmt::format("  line {}: {}\n", row.line, row.error);
  }
}

}  // namespace

}  // namespace cuifu
