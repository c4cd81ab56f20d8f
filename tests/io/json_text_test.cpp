#include "io/json_text.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace cuifu {
namespace {

// append_string looks through 16 bytes at a time (SSE2), then 8, then byte by byte: every byte
// JSON escapes, alone or several in one block, at every offset of a block and across blocks,
// in ASCII and in Chinese text, is written as nlohmann::json's dump() writes it.
TEST(JsonText, AppendStringWritesWhatNlohmannJsonWrites) {
  std::vector<std::string> specials = {"\"", "\\", "\n", "\r", "\t", "\b", "\f", std::string(1, '\0'), "\x01", "\x1f"};
  const std::vector<std::string> plain = {" ", "~", "\x7f", "写", "é", "😀", "a"};
  std::vector<std::string> texts = {""};
  for (const auto& pad : {std::string("a"), std::string("写")}) {
    for (std::size_t before = 0; before <= 40; ++before) {
      for (const auto& sp : specials) {
        std::string t;
        for (std::size_t i = 0; i < before; ++i) t += pad;
        for (const std::string head = t; const auto& tail : {std::string(), std::string(17, 'z'), sp + "x" + sp}) {
          texts.push_back(head + sp + tail);
        }
      }
      std::string t;
      for (std::size_t i = 0; i < before; ++i) t += plain[i % plain.size()];
      texts.push_back(t);  // nothing to escape, of every length
    }
  }
  std::string all;
  for (const auto& sp : specials) all += sp + sp + "写字楼\n";
  texts.push_back(all);
  for (const auto& text : texts) {
    ASSERT_TRUE(json_text::valid_utf8(text));
    std::string out = "prefix";
    json_text::append_string(out, text);
    EXPECT_EQ(out, "prefix" + nlohmann::json(text).dump()) << text.size();
  }
}

TEST(JsonText, FirstEscapedOf16IsTheFirstSuchByte) {
  for (std::size_t at = 0; at <= 16; ++at) {
    for (const char c : {'"', '\\', '\n', '\0', '\x1f'}) {
      std::string block(16, 'a');
      if (at < 16) block[at] = c;
      EXPECT_EQ(json_text::first_escaped_of_16(block.data()), at) << at << " " << int(c);
      if (at < 15) block[15] = '"';  // a later one does not count
      EXPECT_EQ(json_text::first_escaped_of_16(block.data()), at < 15 ? at : (at == 15 ? 15 : 16));
    }
  }
  EXPECT_EQ(json_text::first_escaped_of_16("\xe5\x86\x99\xe5\x86\x99\xe5\x86\x99\xe5\x86\x99\xe5\x86\x99\x7f"), 16u);
  EXPECT_EQ(json_text::first_escaped_of_16("\xe5\x86\x99\xe5\x86\x99\xe5\x86\x99\xe5\x86\x99\xe5\x86\x20\x19"), 15u);
}

}  // namespace
}  // namespace cuifu
