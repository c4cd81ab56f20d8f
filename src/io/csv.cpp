#include "io/csv.h"

#include <fmt/format.h>

#include "core/text.h"

namespace cuifu {

namespace {

// Walks the text once; `pos_` and `line_` always describe the next unread character.
class CsvScanner {
 public:
  CsvScanner(std::string_view text, char delimiter) : text_(text), delimiter_(delimiter) {}

  std::vector<CsvRecord> run() {
    std::vector<CsvRecord> records;
    while (pos_ < text_.size()) {
      if (at_newline()) {  // an empty line is not a record
        consume_newline();
        continue;
      }
      records.push_back(read_record());
      if (!records.back().error.empty()) break;  // an open quote swallowed the rest
    }
    return records;
  }

 private:
  bool at_end() const { return pos_ >= text_.size(); }
  bool at_newline() const { return !at_end() && (text_[pos_] == '\n' || text_[pos_] == '\r'); }

  void consume_newline() {
    if (text_[pos_] == '\r' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '\n') ++pos_;
    ++pos_;
    ++line_;
  }

  CsvRecord read_record() {
    CsvRecord record;
    record.line = line_;
    while (true) {
      std::string field;
      if (text_[pos_] == '"' && !read_quoted(field)) {
        record.fields.push_back(std::move(field));
        record.error = fmt::format("unterminated quoted field (opened on line {})", quote_line_);
        record.last_line = line_;
        return record;
      }
      while (!at_end() && !at_newline() && text_[pos_] != delimiter_) field.push_back(text_[pos_++]);
      record.fields.push_back(std::move(field));
      if (!at_end() && text_[pos_] == delimiter_) {
        ++pos_;
        if (at_end() || at_newline()) {  // a delimiter right before the end: one more, empty field
          record.fields.emplace_back();
          break;
        }
        continue;
      }
      break;
    }
    record.last_line = line_;
    if (!at_end()) consume_newline();
    return record;
  }

  // At an opening quote: appends the unquoted content; false if the text ends inside it.
  bool read_quoted(std::string& field) {
    quote_line_ = line_;
    ++pos_;
    while (!at_end()) {
      const char c = text_[pos_];
      if (c == '"') {
        if (pos_ + 1 < text_.size() && text_[pos_ + 1] == '"') {
          field.push_back('"');
          pos_ += 2;
          continue;
        }
        ++pos_;
        return true;
      }
      if (at_newline()) {
        consume_newline();
        field.push_back('\n');
        continue;
      }
      field.push_back(c);
      ++pos_;
    }
    return false;
  }

  std::string_view text_;
  char delimiter_;
  std::size_t pos_ = 0;
  int line_ = 1;
  int quote_line_ = 0;
};

}  // namespace

std::vector<CsvRecord> parse_csv(std::string_view text, char delimiter) {
  return CsvScanner(text, delimiter).run();
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
