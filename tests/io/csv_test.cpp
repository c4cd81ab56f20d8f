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

}  // namespace
}  // namespace cuifu
