#include "io/charset.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace cuifu {
namespace {

const std::string kOrderId = "订单编号";  // GB18030: b6 a9 b5 a5 b1 e0 ba c5

TEST(Charset, ConvertsGb18030ToUtf8) {
  const std::string gb = "\xB6\xA9\xB5\xA5\xB1\xE0\xBA\xC5";
  EXPECT_EQ(to_utf8(gb, "gb18030"), kOrderId);
  EXPECT_EQ(to_utf8(gb, "GB18030"), kOrderId);
}

TEST(Charset, RoundTripsChineseTextThroughGb18030) {
  const std::string text = "买家已付款，等待卖家发货 ￥1,299.00 张三 𠮷";
  const std::string gb = from_utf8(text, "gb18030");
  EXPECT_NE(gb, text);
  EXPECT_EQ(to_utf8(gb, "gb18030"), text);
}

TEST(Charset, NamesTheByteOffsetOfAnInvalidGb18030Sequence) {
  const std::string bytes = "ab\xB6\xA9\xFF\x20zz";  // 0xFF is never a GB18030 lead byte
  try {
    to_utf8(bytes, "gb18030");
    FAIL() << "expected CharsetError";
  } catch (const CharsetError& e) {
    EXPECT_NE(std::string(e.what()).find("byte offset 4"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("gb18030"), std::string::npos) << e.what();
  }
}

TEST(Charset, NamesTheByteOffsetOfInvalidUtf8) {
  try {
    to_utf8("abc\xE4\xB8", "utf-8");  // truncated three-byte sequence
    FAIL() << "expected CharsetError";
  } catch (const CharsetError& e) {
    EXPECT_NE(std::string(e.what()).find("byte offset 3"), std::string::npos) << e.what();
  }
}

TEST(Charset, StripsAUtf8Bom) {
  EXPECT_EQ(to_utf8("\xEF\xBB\xBF"
                    "abc",
                    "utf-8"),
            "abc");
  EXPECT_EQ(to_utf8("\xEF\xBB\xBF"
                    "abc",
                    "UTF8"),
            "abc");
  EXPECT_EQ(strip_utf8_bom("\xEF\xBB\xBFx"), "x");
  EXPECT_EQ(strip_utf8_bom("x"), "x");
}

TEST(Charset, StripsAGb18030Bom) {
  EXPECT_EQ(to_utf8("\x84\x31\x95\x33"
                    "abc",
                    "gb18030"),
            "abc");
}

TEST(Charset, ReplacesBadBytesAndReportsEachOffset) {
  std::vector<std::size_t> bad;
  const std::string out = to_utf8_replacing(
      "a\xFF"
      "b\xFE",
      "utf-8", bad);
  EXPECT_EQ(out,
            "a\xEF\xBF\xBD"
            "b\xEF\xBF\xBD");
  EXPECT_EQ(bad, (std::vector<std::size_t>{1, 3}));

  bad.clear();
  const std::string gb = "\xB6\xA9\xFF\xB5\xA5";
  EXPECT_EQ(to_utf8_replacing(gb, "gb18030", bad), "订\xEF\xBF\xBD单");
  EXPECT_EQ(bad, (std::vector<std::size_t>{2}));
}

TEST(Charset, DetectsUtf8AsciiAndGb18030) {
  EXPECT_EQ(detect_encoding("order_id,amount\n1,2\n"), "utf-8");
  EXPECT_EQ(detect_encoding(kOrderId), "utf-8");
  EXPECT_EQ(detect_encoding("\xEF\xBB\xBF"
                            "abc\xFF"),
            "utf-8");  // a BOM decides
  EXPECT_EQ(detect_encoding(from_utf8("订单编号,买家会员名", "gb18030")), "gb18030");
}

TEST(Charset, ValidUtf8RejectsOverlongsAndSurrogates) {
  EXPECT_TRUE(is_valid_utf8("ok 订单 𠮷"));
  EXPECT_FALSE(is_valid_utf8("\xC0\xAF"));          // overlong '/'
  EXPECT_FALSE(is_valid_utf8("\xED\xA0\x80"));      // surrogate D800
  EXPECT_FALSE(is_valid_utf8("\xF4\x90\x80\x80"));  // past U+10FFFF
}

TEST(Charset, RejectsAnUnknownEncodingByName) {
  try {
    to_utf8("abc", "klingon-8");
    FAIL() << "expected CharsetError";
  } catch (const CharsetError& e) {
    EXPECT_NE(std::string(e.what()).find("klingon-8"), std::string::npos) << e.what();
  }
}

TEST(Charset, ConverterCanBeMovedAndReused) {
  IconvConverter a("UTF-8", "GB18030");
  IconvConverter b = std::move(a);
  EXPECT_EQ(b.convert("\xB6\xA9"), "订");
  EXPECT_EQ(b.convert("\xB5\xA5"), "单");
  EXPECT_THROW(b.convert("\xFF"), CharsetError);
  EXPECT_EQ(b.convert("\xB6\xA9"), "订");  // state reset after an error
}

TEST(Charset, FromUtf8RefusesTextTheTargetCannotHold) {
  EXPECT_THROW(from_utf8("订单", "latin1"), CharsetError);
  EXPECT_EQ(normalize_encoding("UTF8"), "utf-8");
  EXPECT_EQ(normalize_encoding("GB18030"), "gb18030");
}

TEST(Gb18030Decoder, DecodesEveryTwoByteCharacterAsIconvDoes) {
  std::string all;  // every lead byte with every trail byte, ASCII between them
  for (int lead = 0x81; lead <= 0xFE; ++lead) {
    for (int trail = 0x40; trail <= 0xFE; ++trail) {
      if (trail == 0x7F) continue;
      all += static_cast<char>(lead);
      all += static_cast<char>(trail);
      if (trail % 16 == 0) all += 'a';
    }
  }
  std::vector<std::size_t> want_bad, got_bad;
  const std::string want = IconvConverter("UTF-8", "gb18030").convert(all, &want_bad);
  std::string got;
  Gb18030Decoder::instance().append(all, got, got_bad);
  EXPECT_TRUE(got == want) << "the decodings differ";
  EXPECT_EQ(got_bad, want_bad);
  EXPECT_EQ(Gb18030Decoder::instance().first_invalid(all), want_bad.empty() ? std::string::npos : want_bad.front());
}

TEST(Gb18030Decoder, DecodesFourByteCharactersAndReportsBadBytesWithTheirOffsets) {
  // 𠮷 (U+20BB7) is four bytes in GB18030; \xFF, a lone lead byte and a lead byte
  // before a comma are not characters.
  const std::string gb =
      "A\x95\x34\xB2\x35"
      "B\xB6\xA9\xFF,\x81,\x81";
  std::vector<std::size_t> want_bad, got_bad;
  const std::string want = IconvConverter("UTF-8", "gb18030").convert(gb, &want_bad);
  std::string got = "x";
  Gb18030Decoder::instance().append(gb, got, got_bad, 100);
  EXPECT_EQ(got, "x" + want);
  EXPECT_EQ(got, "xA\U00020BB7B订\uFFFD,\uFFFD,\uFFFD");
  EXPECT_EQ(got_bad, (std::vector<std::size_t>{108, 110, 112}));
  EXPECT_EQ(Gb18030Decoder::instance().first_invalid(gb), 8u);
  EXPECT_EQ(Gb18030Decoder::instance().first_invalid("\xB6\xA9"
                                                     "abc"),
            std::string::npos);
}

// The decoder skips ASCII eight bytes at a time and writes in place: on random mixes of ASCII
// runs (short and long, at every alignment), two-byte and four-byte characters and bad bytes
// it gives what iconv gives, bad offsets included, appended to what `out` already held; a text
// of bad bytes only (three output bytes for each) fits too.
TEST(Gb18030Decoder, DecodesRandomMixesAsIconvDoes) {
  std::uint32_t seed = 2026;
  const auto rnd = [&seed](std::uint32_t n) {
    seed = seed * 1664525u + 1013904223u;
    return (seed >> 8) % n;
  };
  IconvConverter iconv("UTF-8", "gb18030");
  for (int round = 0; round < 2000; ++round) {
    std::string gb;
    const std::uint32_t pieces = rnd(12);
    for (std::uint32_t k = 0; k < pieces; ++k) {
      switch (rnd(5)) {
        case 0: gb.append(rnd(20), static_cast<char>('a' + rnd(26))); break;  // an ASCII run
        case 1: gb += "\xB6\xA9"; break;                                      // 订
        case 2: gb += "\x95\x34\xB2\x35"; break;                              // U+20BB7
        case 3: gb += static_cast<char>(0x80 + rnd(128)); break;              // maybe a lead byte alone
        default: gb += static_cast<char>(0x81 + rnd(126)), gb += static_cast<char>(0x30 + rnd(0xCF)); break;
      }
    }
    std::vector<std::size_t> want_bad, got_bad;
    const std::string want = iconv.convert(gb, &want_bad);
    std::string got = "prefix";
    Gb18030Decoder::instance().append(gb, got, got_bad);
    ASSERT_EQ(got, "prefix" + want) << "round " << round;
    ASSERT_EQ(got_bad, want_bad) << "round " << round;
    ASSERT_EQ(Gb18030Decoder::instance().first_invalid(gb), want_bad.empty() ? std::string::npos : want_bad.front())
        << "round " << round;
  }
  const std::string all_bad(1000, '\xFF');
  std::string out;
  std::vector<std::size_t> bad;
  Gb18030Decoder::instance().append(all_bad, out, bad);
  EXPECT_EQ(bad.size(), 1000u);
  EXPECT_EQ(out.size(), 3000u);
  EXPECT_EQ(out.substr(2997), "\uFFFD");
}

TEST(Charset, FirstInvalidUtf8NamesTheOffset) {
  EXPECT_EQ(first_invalid_utf8("订单 ok"), std::string::npos);
  EXPECT_EQ(first_invalid_utf8("ab\xE8\xAE"), 2u);
  EXPECT_EQ(first_invalid_utf8("订\xFF"), 3u);
}

}  // namespace
}  // namespace cuifu
