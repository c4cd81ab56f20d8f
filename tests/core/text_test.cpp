#include "core/text.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

namespace cuifu {
namespace {

TEST(Text, CharCountCountsCharactersNotBytes) {
  EXPECT_EQ(char_count(""), 0u);
  EXPECT_EQ(char_count("abc"), 3u);
  EXPECT_EQ(char_count("您好"), 2u);  // 6 bytes
  EXPECT_EQ(char_count("【青禾家居】张伟您好"), 10u);
  EXPECT_EQ(char_count("回T退订"), 4u);
  EXPECT_EQ(char_count("…"), 1u);
}

TEST(Text, DisplayWidthCountsChineseAsTwoColumns) {
  EXPECT_EQ(display_width("abc"), 3);
  EXPECT_EQ(display_width("张伟"), 4);
  EXPECT_EQ(display_width("森林里的鹿"), 10);
  EXPECT_EQ(display_width("tb_小鱼"), 7);
  EXPECT_EQ(display_width("【青禾】"), 8);  // full-width brackets are wide too
  EXPECT_EQ(display_width("１２３"), 6);    // full-width digits
  EXPECT_EQ(display_width("·»…"), 3);       // narrow punctuation used in the table
}

TEST(Text, PadDisplayAlignsMixedChineseAndLatinToTheExactWidth) {
  for (const char* s : {"mike_hk", "森林里的鹿", "小鱼儿~", "tb_陈曦", "", "a"}) {
    const std::string padded = pad_display(s, 16);
    EXPECT_EQ(display_width(padded), 16) << s;
    EXPECT_EQ(padded.rfind(s, 0), 0u) << "text stays at the left: " << s;
  }
  const std::string right = pad_display("3999.00", 10, /*align_right=*/true);
  EXPECT_EQ(right, "   3999.00");
}

TEST(Text, PadDisplayTruncatesWithAnEllipsisAndStillFillsTheWidth) {
  const std::string cut = pad_display("意式极简真皮沙发头层牛皮客厅", 11);
  EXPECT_EQ(display_width(cut), 11);
  EXPECT_NE(cut.find("…"), std::string::npos);
  EXPECT_EQ(cut.rfind("意式极简真", 0), 0u);

  // A wide character that would straddle the edge is dropped, not split.
  const std::string even = pad_display("沙发沙发沙发", 6);
  EXPECT_EQ(display_width(even), 6);
  EXPECT_EQ(even.rfind("沙发", 0), 0u);
  EXPECT_NE(even.find("…"), std::string::npos);

  const std::string latin = pad_display("abcdefghij", 5);
  EXPECT_EQ(latin, "abcd…");
}

TEST(Text, PadDisplayFitsTextWithLineBreaksToTheWidth) {
  // Line breaks are shown as spaces, so they take a column each like any space.
  for (const char* s : {"abc\nde", "Mike您好：\n\n感谢您", "a\tb\r\nc"}) {
    for (int w : {4, 5, 6, 8, 12}) {
      const std::string padded = pad_display(s, w);
      EXPECT_EQ(display_width(padded), w) << s << " in " << w;
      EXPECT_EQ(padded.find('\n'), std::string::npos);
    }
  }
}

TEST(Text, TruncateCharsKeepsAtMostTheLimitEndingWithAnEllipsis) {
  EXPECT_EQ(truncate_chars("北欧实木床头柜", 10), "北欧实木床头柜");
  EXPECT_EQ(truncate_chars("北欧实木床头柜", 7), "北欧实木床头柜");
  EXPECT_EQ(truncate_chars("北欧实木床头柜", 5), "北欧实木…");
  EXPECT_EQ(char_count(truncate_chars("北欧实木床头柜简约现代", 6)), 6u);
  EXPECT_EQ(truncate_chars("abc", 0), "");
}

TEST(Text, MaskPhoneKeepsTheFirstThreeAndLastFourDigits) {
  EXPECT_EQ(mask_phone("13812345678"), "138****5678");
  EXPECT_EQ(mask_phone("'13812345678"), "138****5678");  // Taobao's text-cell apostrophe
  EXPECT_EQ(mask_phone("138-1234-5678"), "138****5678");
  EXPECT_EQ(mask_phone(""), "");
  EXPECT_EQ(mask_phone("0571-8812345"), "057****2345");
  // Not a phone number: only its first and last characters are shown.
  EXPECT_EQ(mask_phone("12345"), "1***5");
  // Never reveals more than 7 digits of anything that looks like a number.
  const std::string landline = mask_phone("02112345678");
  EXPECT_EQ(landline.size(), 11u);
  EXPECT_EQ(landline.find("1234"), std::string::npos);
}

TEST(Text, MaskEmailKeepsTheFirstLetterAndTheDomain) {
  EXPECT_EQ(mask_email("zhang.san@example.com"), "z***@example.com");
  EXPECT_EQ(mask_email("mike.chen@example.com"), "m***@example.com");
  // Not an e-mail address: only its first and last characters are shown.
  EXPECT_EQ(mask_email("notanemail"), "n********l");
  EXPECT_EQ(mask_email("@example.com"), "@**********m");
}

TEST(Text, TrimRemovesAsciiAndFullWidthSpaces) {
  EXPECT_EQ(trim("  张伟 \r\n"), "张伟");
  EXPECT_EQ(trim("\xE3\x80\x80张伟\xE3\x80\x80"), "张伟");
  EXPECT_EQ(trim("   "), "");
}

// trimmed() is trim() as a view into its argument: the same text, for every mix of spaces.
TEST(Text, TrimmedIsTrimAsAView) {
  const std::string ideo = "\xE3\x80\x80";
  for (const std::string& s :
       {std::string(), std::string(" "), ideo, ideo + ideo, " \t" + ideo + "张伟\r\n" + ideo, std::string("a b"),
        ideo + "a" + ideo + "b" + ideo, std::string("\xE3\x80"), std::string("x\xE3\x80"), std::string("\v\fz\f\v")}) {
    const std::string_view v = trimmed(s);
    EXPECT_EQ(v, trim(s)) << s;
    EXPECT_TRUE(v.empty() || (v.data() >= s.data() && v.data() + v.size() <= s.data() + s.size())) << s;
  }
}

TEST(Text, StableHashIsTheSameEveryRun) {
  // FNV-1a 64 of the empty string and of "a": fixed values, so holdout groups never move.
  EXPECT_EQ(stable_hash(""), 0xcbf29ce484222325ULL);
  EXPECT_EQ(stable_hash("a"), 0xaf63dc4c8601ec8cULL);
}

}  // namespace
}  // namespace cuifu

namespace cuifu {
namespace {

// utf8_decode as it was written before utf8_next: the reference for both.
std::u32string reference_decode(std::string_view s) {
  std::u32string out;
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    int len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (len == 0 || i + static_cast<std::size_t>(len) > s.size()) {
      out.push_back(U'\uFFFD');
      ++i;
      continue;
    }
    char32_t cp = len == 1 ? c : len == 2 ? (c & 0x1F) : len == 3 ? (c & 0x0F) : (c & 0x07);
    bool ok = true;
    for (int k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + static_cast<std::size_t>(k)]);
      if ((cc & 0xC0) != 0x80) {
        ok = false;
        break;
      }
      cp = (cp << 6) | (cc & 0x3F);
    }
    if (!ok) {
      out.push_back(U'\uFFFD');
      ++i;
      continue;
    }
    out.push_back(cp);
    i += static_cast<std::size_t>(len);
  }
  return out;
}

// utf8_any_of reads the code points utf8_decode gives (invalid, cut and overlong bytes
// included), so the address parser's "any CJK" test needs no decoded copy.
TEST(Text, Utf8AnyOfAndDecodeReadTheCodePointsOfTheReferenceDecoder) {
  const auto cjk = [](char32_t c) {
    return (c >= 0x3400 && c <= 0x9FFF) || (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x20000 && c <= 0x2FFFF);
  };
  const auto replacement = [](char32_t c) { return c == U'\uFFFD'; };
  const auto nul = [](char32_t c) { return c == 0; };
  std::vector<std::string> texts = {"",
                                    "abc",
                                    "湖北省武汉市",
                                    "\xE4\xB8",          // 中 cut short
                                    "\xE4\xB8\x41",      // a bad continuation
                                    "\xC0\x80",          // overlong NUL: decoded, not refused
                                    "\xFF\xFE",          // no lead byte
                                    "\xF0\xA0\x80\x80",  // U+20000
                                    "\xF0\xAF\xBF\xBF",  // U+2FFFF
                                    "\xE3\x90\x80",      // U+3400
                                    "\xE9\xBF\xBF",      // U+9FFF
                                    "\xEF\xA4\x80",      // U+F900
                                    "\xEF\xAB\xBF",      // U+FAFF
                                    "\xE3\x8F\xBF",      // U+33FF
                                    "\xEF\xAC\x80",      // U+FB00
                                    "Flat 8\x80 中"};
  std::mt19937 rng(11);
  for (int n = 0; n < 2000; ++n) {
    std::string s(rng() % 12, '\0');
    for (auto& c : s) c = static_cast<char>(rng() % 4 == 0 ? 0xE0 + rng() % 32 : 0x80 + rng() % 128);
    texts.push_back(s);
  }
  for (const auto& s : texts) {
    const std::u32string want = reference_decode(s);
    ASSERT_EQ(utf8_decode(s), want) << s;
    EXPECT_EQ(utf8_any_of(s, cjk), std::any_of(want.begin(), want.end(), cjk)) << s;
    EXPECT_EQ(utf8_any_of(s, replacement), std::any_of(want.begin(), want.end(), replacement)) << s;
    EXPECT_EQ(utf8_any_of(s, nul), std::any_of(want.begin(), want.end(), nul)) << s;
  }
}

}  // namespace
}  // namespace cuifu
