#include "io/csv.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace cuifu {
namespace {

using Fields = std::vector<std::string>;

TEST(Csv, SplitsSimpleRecordsAndNumbersLines) {
  const auto records = parse_csv("a,b,c\n1,2,3\n");
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].fields, (Fields{"a", "b", "c"}));
  EXPECT_EQ(records[1].fields, (Fields{"1", "2", "3"}));
  EXPECT_EQ(records[0].line, 1);
  EXPECT_EQ(records[1].line, 2);
  EXPECT_TRUE(records[1].error.empty());
}

TEST(Csv, QuotedFieldsHoldDelimitersDoubledQuotesAndNewlines) {
  const auto records = parse_csv("id,note\n1,\"a, b\"\n2,\"say \"\"hi\"\"\"\n3,\"two\r\nlines\"\n4,x\n");
  ASSERT_EQ(records.size(), 5u);
  EXPECT_EQ(records[1].fields, (Fields{"1", "a, b"}));
  EXPECT_EQ(records[2].fields, (Fields{"2", "say \"hi\""}));
  EXPECT_EQ(records[3].fields, (Fields{"3", "two\nlines"}));
  EXPECT_EQ(records[3].line, 4);
  EXPECT_EQ(records[3].last_line, 5);
  EXPECT_EQ(records[4].line, 6);  // the record after a two-line field
}

TEST(Csv, AcceptsCrlfLfAndLoneCrLineEnds) {
  const auto records = parse_csv("a\r\nb\rc\nd");
  ASSERT_EQ(records.size(), 4u);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(records[i].line, i + 1);
    EXPECT_EQ(records[i].fields.size(), 1u);
  }
  EXPECT_EQ(records[3].fields[0], "d");
}

TEST(Csv, TrailingEmptyLineIsNotARecord) {
  EXPECT_EQ(parse_csv("a,b\r\n1,2\r\n").size(), 2u);
  EXPECT_EQ(parse_csv("a,b\n1,2\n\n").size(), 2u);
  EXPECT_TRUE(parse_csv("").empty());
}

TEST(Csv, EmptyLinesInTheMiddleAreSkippedButStillCounted) {
  const auto records = parse_csv("a\n\nb\n");
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[1].line, 3);
}

TEST(Csv, KeepsLeadingAndTrailingSpacesAndEmptyFields) {
  const auto records = parse_csv(" a , b ,,\n");
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].fields, (Fields{" a ", " b ", "", ""}));
}

TEST(Csv, UsesTheConfiguredDelimiter) {
  const auto records = parse_csv("a;\"b;c\";d,e\n", ';');
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].fields, (Fields{"a", "b;c", "d,e"}));
}

TEST(Csv, UnterminatedQuoteIsAnErrorOnItsRecordOnly) {
  const auto records = parse_csv("h1,h2\n1,ok\n2,\"never closed\n3,lost\n");
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[1].fields, (Fields{"1", "ok"}));
  EXPECT_TRUE(records[1].error.empty());
  EXPECT_EQ(records[2].line, 3);
  EXPECT_NE(records[2].error.find("unterminated"), std::string::npos);
  EXPECT_NE(records[2].error.find("line 3"), std::string::npos) << records[2].error;
}

TEST(Csv, MixedQuotingLikeOlistParses) {
  const auto records = parse_csv("\"id\",\"c\"\nabc,\"def\"\n\"ghi\",jkl\n");
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0].fields, (Fields{"id", "c"}));
  EXPECT_EQ(records[1].fields, (Fields{"abc", "def"}));
  EXPECT_EQ(records[2].fields, (Fields{"ghi", "jkl"}));
}

TEST(Csv, KeepsStrayQuotesLiterally) {
  const auto records = parse_csv("=\"138\",\"ab\"cd,x\"y\n");
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].fields, (Fields{"=\"138\"", "abcd", "x\"y"}));
}

TEST(Csv, HeaderNamesAreTrimmedOfSpacesAndBom) {
  const auto records = parse_csv("\xEF\xBB\xBF订单编号 , 买家会员名\t,x\n");
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(header_names(records[0]), (Fields{"订单编号", "买家会员名", "x"}));
}

TEST(CsvReader, StreamsRecordsWithFieldsAsViewsIntoTheText) {
  const std::string text = "id,note\r\n1,\"a, b\"\r\n\r\n2,\"say \"\"hi\"\"\"x,\"two\nlines\"\n";
  CsvReader reader(text);
  CsvRecordView r;
  ASSERT_TRUE(reader.next(r));
  EXPECT_EQ(r.line, 1);
  ASSERT_TRUE(reader.next(r));
  EXPECT_EQ(r.line, 2);
  ASSERT_EQ(r.fields.size(), 2u);
  EXPECT_EQ(r.fields[1], "a, b");
  // A plain quoted field is a view into the text; one with doubled quotes is rewritten.
  EXPECT_GE(r.fields[1].data(), text.data());
  EXPECT_LT(r.fields[1].data(), text.data() + text.size());
  EXPECT_EQ(text.substr(r.begin, r.end - r.begin), "1,\"a, b\"");
  ASSERT_TRUE(reader.next(r));
  EXPECT_EQ(r.line, 4);
  EXPECT_EQ(r.last_line, 5);
  ASSERT_EQ(r.fields.size(), 3u);
  EXPECT_EQ(r.fields[1], "say \"hi\"x");
  EXPECT_EQ(r.fields[2], "two\nlines");
  EXPECT_FALSE(reader.next(r));
}

TEST(CsvReader, GivesTheSameRecordsAsParseCsvOnGb18030Bytes) {
  // 订单 in GB18030, a quoted field with CRLF inside, an unterminated quote at the end.
  const std::string text = "\xB6\xA9,\xB5\xA5\r\n\"\xB6\xA9\r\n\xB5\xA5\",x\r\ny,\"open\n";
  CsvReader reader(text);
  CsvRecordView r;
  std::vector<CsvRecordView> views;
  while (reader.next(r)) views.push_back(r);
  const auto records = parse_csv(text);
  ASSERT_EQ(views.size(), 3u);
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[1].fields, (Fields{"\xB6\xA9\n\xB5\xA5", "x"}));
  EXPECT_EQ(records[2].error, "unterminated quoted field (opened on line 4)");
  EXPECT_EQ(views[2].error, records[2].error);
}

// Where each record starts, as next() finds it and as skip() does.
std::vector<std::pair<std::size_t, int>> starts(std::string_view text, char delimiter, bool skipping) {
  CsvReader reader(text, delimiter);
  std::vector<std::pair<std::size_t, int>> out;
  CsvRecordView record;
  std::size_t begin = 0;
  int line = 0;
  while (skipping ? reader.skip(begin, line) : reader.next(record)) {
    out.emplace_back(skipping ? begin : record.begin, skipping ? line : record.line);
  }
  out.emplace_back(reader.offset(), -1);  // and where each stopped
  return out;
}

TEST(CsvReader, SkipFindsTheRecordsNextReadsWhateverTheQuotesAndLineEnds) {
  // Hand-picked: quotes that open a field and quotes that do not, doubled quotes, line ends
  // of every kind inside quotes and between records, empty lines, text after a closing quote,
  // a quote open at the end.
  const std::vector<std::string> cases{
      "a,b\n1,2\n",
      "a,\"b,\nc\"\r\n\r\n\n\"x\"\"\ny\",z\rq",
      "\"ab\"cd\"ef\",\"g\"\n2",
      "x\"y,\"z\n\"\n,\"\"\"\"\r\n",
      "a,\"b\r\nc\rd\ne\"\"\"\r\n1",
      "a,\"open\nnever closed",
      "\n\r\n\r",
      "",
      "a;\"b;c\";d\n\"e\"",
  };
  for (const auto& text : cases) {
    for (const char delimiter : {',', ';'}) {
      EXPECT_EQ(starts(text, delimiter, true), starts(text, delimiter, false))
          << "delimiter " << delimiter << " text: " << text;
    }
  }
  // Random texts of the characters that matter.
  std::uint32_t state = 12345;
  const auto random = [&] { return state = state * 1664525u + 1013904223u; };
  const std::string alphabet = "\"\",,\n\r\"ab \xe6\x99";
  for (int n = 0; n < 20000; ++n) {
    std::string text;
    const std::size_t length = random() % 40;
    for (std::size_t i = 0; i < length; ++i) text.push_back(alphabet[(random() >> 8) % alphabet.size()]);
    ASSERT_EQ(starts(text, ',', true), starts(text, ',', false)) << "text: " << text;
  }
}

}  // namespace
}  // namespace cuifu
