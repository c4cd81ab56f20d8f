#include "core/clock_time.h"

#include <fmt/format.h>

#include <charconv>

namespace cuifu {

namespace {

// Reads 1..max_digits digits at pos; advances pos.
bool read_num(std::string_view s, std::size_t& pos, std::size_t min_digits, std::size_t max_digits, int& out) {
  std::size_t n = 0;
  while (pos + n < s.size() && n < max_digits && s[pos + n] >= '0' && s[pos + n] <= '9') ++n;
  if (n < min_digits) return false;
  std::from_chars(s.data() + pos, s.data() + pos + n, out);
  pos += n;
  return true;
}

std::string_view strip(std::string_view text) {
  while (!text.empty() && (text.back() == ' ' || text.back() == '\r' || text.back() == '\t')) text.remove_suffix(1);
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  return text;
}

// "YYYY-MM-DD" or "YYYY/M/D" (spreadsheets re-save exports with single digits).
std::optional<std::chrono::local_days> parse_day(std::string_view s, std::size_t& pos) {
  int y = 0, m = 0, d = 0;
  if (!read_num(s, pos, 4, 4, y) || pos >= s.size() || (s[pos] != '-' && s[pos] != '/')) return std::nullopt;
  const char sep = s[pos++];
  if (!read_num(s, pos, 1, 2, m) || pos >= s.size() || s[pos] != sep) return std::nullopt;
  ++pos;
  if (!read_num(s, pos, 1, 2, d)) return std::nullopt;
  const std::chrono::year_month_day ymd{std::chrono::year{y}, std::chrono::month{unsigned(m)},
                                        std::chrono::day{unsigned(d)}};
  if (!ymd.ok()) return std::nullopt;
  return std::chrono::local_days{ymd};
}

}  // namespace

std::optional<LocalTime> parse_local_time(std::string_view text) {
  text = strip(text);
  std::size_t pos = 0;
  const auto day = parse_day(text, pos);
  if (!day || pos >= text.size() || (text[pos] != ' ' && text[pos] != 'T')) return std::nullopt;
  ++pos;
  int h = 0, mi = 0, se = 0;
  if (!read_num(text, pos, 1, 2, h) || pos >= text.size() || text[pos] != ':') return std::nullopt;
  ++pos;
  if (!read_num(text, pos, 2, 2, mi)) return std::nullopt;
  if (pos < text.size()) {
    if (text[pos] != ':') return std::nullopt;
    ++pos;
    if (!read_num(text, pos, 2, 2, se)) return std::nullopt;
  }
  if (pos != text.size() || h > 23 || mi > 59 || se > 59) return std::nullopt;
  return LocalTime{*day} + std::chrono::hours{h} + std::chrono::minutes{mi} + std::chrono::seconds{se};
}

std::optional<LocalTime> parse_local_date(std::string_view text) {
  text = strip(text);
  std::size_t pos = 0;
  const auto day = parse_day(text, pos);
  if (!day || pos != text.size()) return std::nullopt;
  return LocalTime{*day};
}

LocalTime start_of_day(LocalTime t) {
  return LocalTime{std::chrono::floor<std::chrono::days>(t)};
}

int minute_of_day(LocalTime t) {
  return static_cast<int>(std::chrono::duration_cast<std::chrono::minutes>(t - start_of_day(t)).count());
}

namespace {

// Two digits, zero-padded. REQUIRES: n < 100.
void put2(char* at, unsigned n) {
  at[0] = static_cast<char>('0' + n / 10);
  at[1] = static_cast<char>('0' + n % 10);
}

}  // namespace

// Written digit by digit: the planner formats a time into nearly every why line.
std::string format_local_date(LocalTime t) {
  const std::chrono::year_month_day ymd{std::chrono::floor<std::chrono::days>(t)};
  const int year = int(ymd.year());
  if (year < 0 || year > 9999) {
    return fmt::format("{:04d}-{:02d}-{:02d}", year, unsigned(ymd.month()), unsigned(ymd.day()));
  }
  std::string out(10, '-');
  put2(out.data(), static_cast<unsigned>(year) / 100);
  put2(out.data() + 2, static_cast<unsigned>(year) % 100);
  put2(out.data() + 5, unsigned(ymd.month()));
  put2(out.data() + 8, unsigned(ymd.day()));
  return out;
}

std::string format_local_hm(LocalTime t) {
  const int m = minute_of_day(t);
  std::string out = format_local_date(t);
  const std::size_t at = out.size();
  out.resize(at + 6);
  out[at] = ' ';
  put2(out.data() + at + 1, static_cast<unsigned>(m / 60));
  out[at + 3] = ':';
  put2(out.data() + at + 4, static_cast<unsigned>(m % 60));
  return out;
}

std::string format_local_time(LocalTime t) {
  const auto secs = (t - start_of_day(t)).count() % 60;
  if (secs < 0) return fmt::format("{}:{:02d}", format_local_hm(t), secs);
  std::string out = format_local_hm(t);
  out += ':';
  out.resize(out.size() + 2);
  put2(out.data() + out.size() - 2, static_cast<unsigned>(secs));
  return out;
}

}  // namespace cuifu
