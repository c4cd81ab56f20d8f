// A pure RFC 4180 CSV parser: text in, records out; no I/O, no charset work (give it
// UTF-8, see io/charset.h).
#pragma once

#include <deque>
#include <string>
#include <string_view>
#include <vector>

namespace cuifu {

// One CSV record (row) and where it sits in the text.
struct CsvRecord {
  int line = 0;       // 1-based physical line where the record starts
  int last_line = 0;  // physical line where it ends (later than `line` when a quoted field holds newlines)
  std::vector<std::string> fields;
  std::string error;  // non-empty if malformed (an unterminated quote); `fields` then holds what was read
};

// One record as views: `fields` point into the text, or into the reader's own buffer for
// a quoted field it had to rewrite (doubled quotes, CRLF inside, text after the closing
// quote). Valid until the reader's next call to next().
struct CsvRecordView {
  int line = 0;
  int last_line = 0;
  std::size_t begin = 0;  // byte range of the record in the text, without its line end
  std::size_t end = 0;
  std::vector<std::string_view> fields;
  std::string error;
};

// Streams the records of `text` one at a time, by the rules of parse_csv below, without a
// string per field. Works on raw bytes: give it UTF-8, or any encoding in which no byte of
// a multi-byte character equals the delimiter, a quote, CR or LF (GB18030 with , ; or tab).
// Not thread-safe; cheap to construct.
class CsvReader {
 public:
  CsvReader(std::string_view text, char delimiter = ',') : text_(text), delimiter_(delimiter) {}

  // Reads the next record into `record`; false at the end of the text. After a record with
  // an error (an unterminated quote) there is none.
  bool next(CsvRecordView& record);

  // Steps over the next record as next() would read it, without splitting it into fields:
  // `begin` and `line` get its CsvRecordView::begin and ::line. False at the end of the text.
  // After a record with an unterminated quote there is none. Several times faster than next()
  // (the line is searched for with memchr): for finding where records start.
  bool skip(std::size_t& begin, int& line);

  // Byte offset of the next unread character, and its physical line.
  std::size_t offset() const { return pos_; }
  int line() const { return line_; }

  // Steps over empty lines (as next() and skip() do before a record).
  void skip_empty_lines();

  // The text read is now `text`, which starts with the one before (more of the same bytes came).
  void extend(std::string_view text) { text_ = text; }

  // Continues from a record that an earlier reader of the same text found at byte `offset`,
  // on physical line `line` (its CsvRecordView::begin and ::line): the records read from there
  // are the ones that reader read. Lets several readers take turns of one text.
  void seek(std::size_t offset, int line) {
    pos_ = offset;
    line_ = line;
    failed_ = false;
  }

 private:
  bool read_quoted(CsvRecordView& record);

  std::string_view text_;
  char delimiter_;
  std::size_t pos_ = 0;
  int line_ = 1;
  bool failed_ = false;
  std::deque<std::string> scratch_;  // rewritten quoted fields of the current record (stable addresses)
  std::size_t scratch_used_ = 0;
};

// Splits `text` into records.
//  - Records end at LF, CRLF or CR; each counts as one physical line.
//  - A field that starts with a quote may hold the delimiter, newlines and doubled
//    quotes (""); newlines inside it come out as "\n". Text after its closing quote
//    is kept as is, as is a quote inside an unquoted field (lenient, like Excel).
//  - Fields keep their leading and trailing spaces.
//  - Empty physical lines (including a trailing one) are not records.
//  - A quote still open at the end of the text makes a last record with `error` set;
//    every record before it is intact.
std::vector<CsvRecord> parse_csv(std::string_view text, char delimiter = ',');

// Column names from a header record: each field trimmed of spaces, tabs and a BOM.
std::vector<std::string> header_names(const CsvRecord& header);

}  // namespace cuifu
