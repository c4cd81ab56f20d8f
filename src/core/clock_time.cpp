#include "core/clock_time.h"

#include <fmt/format.h>

#include <charconv>

namespace cuifu {

namespace {

bool read_int(std::string_view s, std::size_t pos, std::size_t len, int& out) {
  if (pos + len > s.size()) return false;
  for (std::size_t i = pos; i < pos + len; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
  }
  return std::from_chars(s.data() + pos, s.data() + pos + len, out).ec == std::errc{};
}

std::optional<std::chrono::local_days> parse_day(std::string_view s) {
  int y = 0, m = 0, d = 0;
  if (s.size() < 10 || !read_int(s, 0, 4, y) || !read_int(s, 5, 2, m) || !read_int(s, 8, 2, d)) {
    return std::nullopt;
  }
  if (!((s[4] == '-' && s[7] == '-') || (s[4] == '/' && s[7] == '/'))) return std::nullopt;
  const std::chrono::year_month_day ymd{std::chrono::year{y}, std::chrono::month{unsigned(m)},
                                        std::chrono::day{unsigned(d)}};
  if (!ymd.ok()) return std::nullopt;
  return std::chrono::local_days{ymd};
}

}  // namespace

std::optional<LocalTime> parse_local_time(std::string_view text) {
  while (!text.empty() && (text.back() == ' ' || text.back() == '\r')) text.remove_suffix(1);
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  const auto day = parse_day(text);
  if (!day || text.size() < 16 || (text[10] != ' ' && text[10] != 'T')) return std::nullopt;
  int h = 0, mi = 0, se = 0;
  if (!read_int(text, 11, 2, h) || text[13] != ':' || !read_int(text, 14, 2, mi)) return std::nullopt;
  std::size_t end = 16;
  if (text.size() > 16) {
    if (text[16] != ':' || !read_int(text, 17, 2, se)) return std::nullopt;
    end = 19;
  }
  if (text.size() != end || h > 23 || mi > 59 || se > 59) return std::nullopt;
  return LocalTime{*day} + std::chrono::hours{h} + std::chrono::minutes{mi} + std::chrono::seconds{se};
}

std::optional<LocalTime> parse_local_date(std::string_view text) {
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  if (text.size() != 10) return std::nullopt;
  const auto day = parse_day(text);
  if (!day) return std::nullopt;
  return LocalTime{*day};
}

LocalTime start_of_day(LocalTime t) { return LocalTime{std::chrono::floor<std::chrono::days>(t)}; }

int minute_of_day(LocalTime t) {
  return static_cast<int>(std::chrono::duration_cast<std::chrono::minutes>(t - start_of_day(t)).count());
}

std::string format_local_date(LocalTime t) {
  const std::chrono::year_month_day ymd{std::chrono::floor<std::chrono::days>(t)};
  return fmt::format("{:04d}-{:02d}-{:02d}", int(ymd.year()), unsigned(ymd.month()),
                     unsigned(ymd.day()));
}

std::string format_local_hm(LocalTime t) {
  const int m = minute_of_day(t);
  return fmt::format("{} {:02d}:{:02d}", format_local_date(t), m / 60, m % 60);
}

std::string format_local_time(LocalTime t) {
  const auto secs = (t - start_of_day(t)).count() % 60;
  return fmt::format("{}:{:02d}", format_local_hm(t), secs);
}

}  // namespace cuifu
