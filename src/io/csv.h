// A pure RFC 4180 CSV parser: text in, records out; no I/O, no charset work (give it
// UTF-8, see io/charset.h).
#pragma once

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
