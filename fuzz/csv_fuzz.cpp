// Fuzzes the CSV reader: parse_csv, header_names, and CsvReader::skip against next. Input:
// one byte choosing the delimiter, then the text.
#include <cstdint>

#include "fuzz_util.h"
#include "io/csv.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace cuifu;
  using fuzz::check;
  if (size == 0) return 0;
  static constexpr char kDelimiters[] = {',', ';', '\t', '|'};
  const char delimiter = kDelimiters[data[0] % sizeof kDelimiters];
  const std::string_view text = fuzz::as_text(data + 1, size - 1);
  const auto records = parse_csv(text, delimiter);
  int previous_last = 0;
  for (std::size_t i = 0; i < records.size(); ++i) {
    const CsvRecord& r = records[i];
    check(r.line > previous_last, "records start after the previous one ends");
    check(r.last_line >= r.line, "a record ends on or after its first line");
    check(!r.fields.empty(), "a record has a field");
    check(r.error.empty() || i + 1 == records.size(), "only the last record can be malformed");
    previous_last = r.last_line;
    const auto names = header_names(r);
    check(names.size() == r.fields.size(), "one header name per field");
  }
  // skip() finds the records next() reads, where next() finds them.
  CsvReader reading(text, delimiter), skipping(text, delimiter);
  CsvRecordView record;
  std::size_t begin = 0;
  int line = 0;
  while (reading.next(record)) {
    check(skipping.skip(begin, line), "skip finds every record");
    check(begin == record.begin && line == record.line, "skip finds a record where next does");
  }
  check(!skipping.skip(begin, line), "skip finds no record after the last");
  check(skipping.offset() == reading.offset(), "skip stops where next does");
  return 0;
}
