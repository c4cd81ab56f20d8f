#include "io/csv.h"

#include <fmt/format.h>

#include <cstring>

#include "core/text.h"

namespace cuifu {

bool CsvReader::next(CsvRecordView& record) {
  record.fields.clear();
  record.error.clear();
  scratch_used_ = 0;
  const std::size_t size = text_.size();
  const char* const t = text_.data();
  while (!failed_ && pos_ < size && (t[pos_] == '\n' || t[pos_] == '\r')) {  // an empty line is not a record
    if (t[pos_] == '\r' && pos_ + 1 < size && t[pos_ + 1] == '\n') ++pos_;
    ++pos_;
    ++line_;
  }
  if (failed_ || pos_ >= size) return false;
  record.line = line_;
  record.begin = pos_;
  while (true) {
    if (t[pos_] == '"') {
      if (!read_quoted(record)) {
        failed_ = true;
        record.last_line = line_;
        record.end = pos_;
        return true;
      }
    } else {
      const std::size_t begin = pos_;
      while (pos_ < size) {
        const char c = t[pos_];
        if (c == delimiter_ || c == '\n' || c == '\r') break;
        ++pos_;
      }
      record.fields.emplace_back(t + begin, pos_ - begin);
    }
    if (pos_ < size && t[pos_] == delimiter_) {
      ++pos_;
      if (pos_ >= size || t[pos_] == '\n' ||
          t[pos_] == '\r') {  // a delimiter right before the end: one more, empty field
        record.fields.emplace_back();
        break;
      }
      continue;
    }
    break;
  }
  record.last_line = line_;
  record.end = pos_;
  if (pos_ < size) {  // at a line end
    if (t[pos_] == '\r' && pos_ + 1 < size && t[pos_ + 1] == '\n') ++pos_;
    ++pos_;
    ++line_;
  }
  return true;
}

void CsvReader::skip_empty_lines() {
  const std::size_t size = text_.size();
  const char* const t = text_.data();
  while (!failed_ && pos_ < size && (t[pos_] == '\n' || t[pos_] == '\r')) {  // as in next()
    if (t[pos_] == '\r' && pos_ + 1 < size && t[pos_ + 1] == '\n') ++pos_;
    ++pos_;
    ++line_;
  }
}

bool CsvReader::skip(std::size_t& begin, int& line) {
  skip_empty_lines();
  const std::size_t size = text_.size();
  const char* const t = text_.data();
  if (failed_ || pos_ >= size) return false;
  begin = pos_;
  line = line_;
  const auto find = [&](char c, std::size_t from, std::size_t to) {
    const void* at = std::memchr(t + from, c, to - from);
    return at ? static_cast<std::size_t>(static_cast<const char*>(at) - t) : to;
  };
  while (true) {
    // The record ends at the first CR or LF outside quotes; a quote opens a quoted field only
    // where a field starts (elsewhere it is a character like any other).
    const std::size_t lf = find('\n', pos_, size);
    const std::size_t cr = find('\r', pos_, lf);
    const std::size_t end = std::min(lf, cr);
    std::size_t quote = find('"', pos_, end);
    while (quote < end && quote != begin && t[quote - 1] != delimiter_) quote = find('"', quote + 1, end);
    if (quote == end) {
      pos_ = end;
      if (pos_ < size) {
        if (t[pos_] == '\r' && pos_ + 1 < size && t[pos_ + 1] == '\n') ++pos_;
        ++pos_;
        ++line_;
      }
      return true;
    }
    // A quoted field: up to the quote not followed by another, counting the lines inside.
    std::size_t i = quote + 1;
    while (true) {
      if (i >= size) {  // still open at the end: the last record, with an error in next()
        pos_ = size;
        failed_ = true;
        return true;
      }
      const char c = t[i];
      if (c == '"') {
        if (i + 1 < size && t[i + 1] == '"') {
          i += 2;
          continue;
        }
        ++i;
        break;
      }
      if (c == '\n' || c == '\r') {
        if (c == '\r' && i + 1 < size && t[i + 1] == '\n') ++i;
        ++line_;
      }
      ++i;
    }
    pos_ = i;  // what follows the closing quote up to the delimiter belongs to the field
  }
}

// At an opening quote: appends the field (the unquoted content, then any text up to the
// next delimiter or line end); false if the text ends inside the quotes.
bool CsvReader::read_quoted(CsvRecordView& record) {
  const std::size_t size = text_.size();
  const char* const t = text_.data();
  const int quote_line = line_;
  const std::size_t begin = ++pos_;
  // The common case: no doubled quote, no CR, the closing quote ends the field. A view.
  std::size_t i = begin;
  while (i < size && t[i] != '"' && t[i] != '\r') {
    if (t[i] == '\n') ++line_;
    ++i;
  }
  if (i < size && t[i] == '"' && (i + 1 >= size || t[i + 1] == delimiter_ || t[i + 1] == '\n' || t[i + 1] == '\r')) {
    record.fields.emplace_back(t + begin, i - begin);
    pos_ = i + 1;
    return true;
  }
  // Otherwise rewrite it into a scratch string.
  line_ = quote_line;
  if (scratch_used_ == scratch_.size()) scratch_.emplace_back();
  std::string& field = scratch_[scratch_used_++];
  field.clear();
  bool closed = false;
  while (pos_ < size) {
    const char c = t[pos_];
    if (c == '"') {
      if (pos_ + 1 < size && t[pos_ + 1] == '"') {
        field.push_back('"');
        pos_ += 2;
        continue;
      }
      ++pos_;
      closed = true;
      break;
    }
    if (c == '\n' || c == '\r') {
      if (c == '\r' && pos_ + 1 < size && t[pos_ + 1] == '\n') ++pos_;
      ++pos_;
      ++line_;
      field.push_back('\n');
      continue;
    }
    field.push_back(c);
    ++pos_;
  }
  if (!closed) {
    record.fields.emplace_back(field);
    record.error = fmt::format("unterminated quoted field (opened on line {})", quote_line);
    return false;
  }
  while (pos_ < size && t[pos_] != delimiter_ && t[pos_] != '\n' && t[pos_] != '\r') field.push_back(t[pos_++]);
  record.fields.emplace_back(field);
  return true;
}

std::vector<CsvRecord> parse_csv(std::string_view text, char delimiter) {
  std::vector<CsvRecord> records;
  CsvReader reader(text, delimiter);
  CsvRecordView view;
  while (reader.next(view)) {
    CsvRecord& r = records.emplace_back();
    r.line = view.line;
    r.last_line = view.last_line;
    r.fields.assign(view.fields.begin(), view.fields.end());
    r.error = view.error;
  }
  return records;
}

std::vector<std::string> header_names(const CsvRecord& header) {
  constexpr std::string_view kBom = "\xEF\xBB\xBF";
  std::vector<std::string> names;
  names.reserve(header.fields.size());
  for (const auto& field : header.fields) {
    std::string name = trim(field);
    while (name.starts_with(kBom)) name = trim(std::string_view(name).substr(kBom.size()));
    names.push_back(std::move(name));
  }
  return names;
}

}  // namespace cuifu
