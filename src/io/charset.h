// Character set conversion at the io edge: everything past the feed readers is UTF-8.
//
// Shop exports come as UTF-8 (with or without a BOM) or GB18030 (Excel on a Chinese
// Windows). Conversion goes through iconv; UTF-8 input is validated here without iconv.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace cuifu {

// An unsupported encoding name, or bytes that are not valid in the source encoding.
class CharsetError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Lower-cases an encoding name and spells UTF-8 one way: "UTF8" -> "utf-8", "GBK" -> "gbk".
std::string normalize_encoding(std::string_view name);

// Owns one iconv descriptor (iconv_open in the constructor, iconv_close in the destructor).
// Movable, not copyable. Not thread-safe: convert() uses the descriptor's shift state, so
// give each thread its own converter.
class IconvConverter {
 public:
  // Throws CharsetError("unsupported encoding conversion from X to Y") if iconv lacks it.
  IconvConverter(const std::string& to_encoding, const std::string& from_encoding);
  ~IconvConverter();
  IconvConverter(IconvConverter&& other) noexcept;
  IconvConverter& operator=(IconvConverter&& other) noexcept;
  IconvConverter(const IconvConverter&) = delete;
  IconvConverter& operator=(const IconvConverter&) = delete;

  // Converts all of `bytes`. If `bad_offsets` is null, the first invalid or truncated
  // sequence throws CharsetError naming its byte offset. Otherwise each byte that cannot
  // be converted is replaced by `replacement`, its offset appended to *bad_offsets, and
  // conversion goes on.
  std::string convert(std::string_view bytes, std::vector<std::size_t>* bad_offsets = nullptr,
                      std::string_view replacement = "\xEF\xBF\xBD");

 private:
  void* cd_;  // iconv_t, kept opaque so the header stays free of <iconv.h>
  std::string from_;
};

// Decodes GB18030 to UTF-8 without a call into iconv per character: ASCII is copied, the
// two-byte characters (nearly all Chinese text) come from a table built once per process
// through iconv, and the rare four-byte ones go through iconv one at a time. The result is
// what IconvConverter("UTF-8", "gb18030").convert(bytes, &bad_offsets) gives. Thread-safe.
class Gb18030Decoder {
 public:
  // The process-wide decoder (its table is built on first use).
  static const Gb18030Decoder& instance();

  // Appends the UTF-8 of `bytes` to `out`. Each byte that starts no valid character becomes
  // U+FFFD and `base` + its offset in `bytes` is appended to `bad_offsets`.
  void append(std::string_view bytes, std::string& out, std::vector<std::size_t>& bad_offsets,
              std::size_t base = 0) const;

  // Offset in `bytes` of the first byte that starts no valid character, or npos.
  std::size_t first_invalid(std::string_view bytes) const;

 private:
  Gb18030Decoder();
  // Per lead byte 0x81..0xFE and trail byte 0x40..0xFE: the UTF-8 bytes (up to 4, first in
  // the low byte) and their number; 0 for a pair that is not a character.
  std::vector<std::uint32_t> two_byte_;
  std::vector<std::uint8_t> two_byte_length_;
};

// Offset of the first byte of `bytes` that starts no well-formed UTF-8 sequence, or npos.
std::size_t first_invalid_utf8(std::string_view bytes);

// True if `bytes` is well-formed UTF-8 (no overlongs, surrogates or code points past
// U+10FFFF). A BOM is well-formed UTF-8.
bool is_valid_utf8(std::string_view bytes);

// `bytes` without a leading UTF-8 BOM (EF BB BF), if it has one.
std::string_view strip_utf8_bom(std::string_view bytes);

// "utf-8" if `bytes` has a UTF-8 BOM or is valid UTF-8 (so pure ASCII is "utf-8"),
// else "gb18030".
std::string detect_encoding(std::string_view bytes);

// Converts `bytes` from `from_encoding` to UTF-8 and drops a leading BOM (U+FEFF).
// Throws CharsetError naming the encoding and byte offset of the first invalid sequence,
// or the unsupported encoding.
std::string to_utf8(std::string_view bytes, const std::string& from_encoding);

// Like to_utf8, but never throws on bad bytes: each is replaced by U+FFFD and its byte
// offset (in `bytes`) appended to `bad_offsets`. Still throws for an unsupported encoding.
std::string to_utf8_replacing(std::string_view bytes, const std::string& from_encoding,
                              std::vector<std::size_t>& bad_offsets);

// Converts UTF-8 `text` to `to_encoding` (for tests and the data generator).
// Throws CharsetError if the text is not valid UTF-8 or cannot be represented.
std::string from_utf8(std::string_view text, const std::string& to_encoding);

}  // namespace cuifu
