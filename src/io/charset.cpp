#include "io/charset.h"

#include <fmt/format.h>
#include <iconv.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace cuifu {

namespace {

constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";
const iconv_t kNoDescriptor = reinterpret_cast<iconv_t>(-1);

iconv_t as_iconv(void* cd) {
  return static_cast<iconv_t>(cd);
}

// Length of the well-formed UTF-8 sequence at s[i], or 0 if there is none (RFC 3629 table).
std::size_t utf8_sequence_length(std::string_view s, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned char c = byte(0);
  if (c < 0x80) return 1;
  std::size_t len = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    if (c == 0xE0) lo = 0xA0;  // no overlongs
    if (c == 0xED) hi = 0x9F;  // no surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;  // nothing past U+10FFFF
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  if (byte(1) < lo || byte(1) > hi) return 0;
  for (std::size_t k = 2; k < len; ++k) {
    if ((byte(k) & 0xC0) != 0x80) return 0;
  }
  return len;
}

std::string hex_bytes(std::string_view s, std::size_t offset, std::size_t count) {
  std::string out;
  for (std::size_t k = offset; k < s.size() && k < offset + count; ++k) {
    out += fmt::format("{}{:02x}", out.empty() ? "" : " ", static_cast<unsigned char>(s[k]));
  }
  return out;
}

std::string invalid_message(std::string_view bytes, std::size_t offset, const std::string& encoding) {
  return fmt::format("invalid {} byte sequence at byte offset {} (bytes {})", encoding, offset,
                     hex_bytes(bytes, offset, 4));
}

std::string drop_bom(std::string text) {
  if (text.starts_with(kUtf8Bom)) text.erase(0, kUtf8Bom.size());
  return text;
}

// UTF-8 source: validate (and repair if asked) without iconv.
std::string utf8_checked(std::string_view bytes, std::vector<std::size_t>* bad_offsets) {
  std::string out;
  out.reserve(bytes.size());
  std::size_t i = 0;
  while (i < bytes.size()) {
    const std::size_t len = utf8_sequence_length(bytes, i);
    if (len == 0) {
      if (bad_offsets == nullptr) throw CharsetError(invalid_message(bytes, i, "utf-8"));
      bad_offsets->push_back(i);
      out += "\xEF\xBF\xBD";
      ++i;
      continue;
    }
    out.append(bytes.substr(i, len));
    i += len;
  }
  return out;
}

}  // namespace

std::string normalize_encoding(std::string_view name) {
  std::string out;
  for (char c : name) {
    if (c != ' ') out.push_back(static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c));
  }
  if (out == "utf8") out = "utf-8";
  return out;
}

IconvConverter::IconvConverter(const std::string& to_encoding, const std::string& from_encoding)
    : cd_(::iconv_open(to_encoding.c_str(), from_encoding.c_str())), from_(from_encoding) {
  if (as_iconv(cd_) == kNoDescriptor) {
    throw CharsetError(fmt::format("unsupported encoding conversion from '{}' to '{}'", from_encoding, to_encoding));
  }
}

IconvConverter::~IconvConverter() {
  if (as_iconv(cd_) != kNoDescriptor) ::iconv_close(as_iconv(cd_));
}

IconvConverter::IconvConverter(IconvConverter&& other) noexcept
    : cd_(std::exchange(other.cd_, reinterpret_cast<void*>(kNoDescriptor))), from_(std::move(other.from_)) {}

IconvConverter& IconvConverter::operator=(IconvConverter&& other) noexcept {
  if (this != &other) {
    if (as_iconv(cd_) != kNoDescriptor) ::iconv_close(as_iconv(cd_));
    cd_ = std::exchange(other.cd_, reinterpret_cast<void*>(kNoDescriptor));
    from_ = std::move(other.from_);
  }
  return *this;
}

std::string IconvConverter::convert(std::string_view bytes, std::vector<std::size_t>* bad_offsets,
                                    std::string_view replacement) {
  const iconv_t cd = as_iconv(cd_);
  ::iconv(cd, nullptr, nullptr, nullptr, nullptr);  // back to the initial shift state
  std::string out;
  char buffer[4096];
  // iconv's interface is not const-correct; it never writes through the input pointer.
  char* in = const_cast<char*>(bytes.data());
  std::size_t in_left = bytes.size();
  while (in_left > 0) {
    char* dst = buffer;
    std::size_t dst_left = sizeof buffer;
    const std::size_t rc = ::iconv(cd, &in, &in_left, &dst, &dst_left);
    const int err = errno;
    out.append(buffer, static_cast<std::size_t>(dst - buffer));
    if (rc != static_cast<std::size_t>(-1) || err == E2BIG) continue;
    const std::size_t offset = bytes.size() - in_left;
    if (err != EILSEQ && err != EINVAL) {
      throw CharsetError(fmt::format("{} conversion failed at byte offset {}: {}", from_, offset, std::strerror(err)));
    }
    if (bad_offsets == nullptr) throw CharsetError(invalid_message(bytes, offset, from_));
    bad_offsets->push_back(offset);
    out.append(replacement);
    ++in;
    --in_left;
    ::iconv(cd, nullptr, nullptr, nullptr, nullptr);
  }
  char* dst = buffer;  // flush a stateful encoding's closing shift sequence
  std::size_t dst_left = sizeof buffer;
  ::iconv(cd, nullptr, nullptr, &dst, &dst_left);
  out.append(buffer, static_cast<std::size_t>(dst - buffer));
  return out;
}

namespace {

constexpr std::size_t kTrailFirst = 0x40, kTrailCount = 0xFF - 0x40;  // trail bytes 0x40..0xFE

std::size_t two_byte_index(unsigned char lead, unsigned char trail) {
  return (lead - 0x81u) * kTrailCount + (trail - kTrailFirst);
}

}  // namespace

const Gb18030Decoder& Gb18030Decoder::instance() {
  static const Gb18030Decoder decoder;
  return decoder;
}

Gb18030Decoder::Gb18030Decoder() : two_byte_(126 * kTrailCount, 0), two_byte_length_(126 * kTrailCount, 0) {
  IconvConverter converter("UTF-8", "gb18030");
  for (unsigned lead = 0x81; lead <= 0xFE; ++lead) {
    for (unsigned trail = kTrailFirst; trail <= 0xFE; ++trail) {
      if (trail == 0x7F) continue;
      const char pair[2] = {static_cast<char>(lead), static_cast<char>(trail)};
      std::vector<std::size_t> bad;
      const std::string utf8 = converter.convert(std::string_view(pair, 2), &bad);
      if (!bad.empty() || utf8.empty() || utf8.size() > 4) continue;
      std::uint32_t packed = 0;
      for (std::size_t k = 0; k < utf8.size(); ++k) {
        packed |= static_cast<std::uint32_t>(static_cast<unsigned char>(utf8[k])) << (8 * k);
      }
      const std::size_t index = two_byte_index(static_cast<unsigned char>(lead), static_cast<unsigned char>(trail));
      two_byte_[index] = packed;
      two_byte_length_[index] = static_cast<std::uint8_t>(utf8.size());
    }
  }
}

namespace {

// Bytes from `i` on that are ASCII, up to `n`: eight at a time while there are eight.
std::size_t ascii_run_end(const unsigned char* b, std::size_t i, std::size_t n) {
  constexpr std::uint64_t kHighBits = 0x8080808080808080ULL;
  for (std::uint64_t word; i + 8 <= n; i += 8) {
    std::memcpy(&word, b + i, 8);
    if (word & kHighBits) break;
  }
  while (i < n && b[i] < 0x80) ++i;
  return i;
}

}  // namespace

void Gb18030Decoder::append(std::string_view bytes, std::string& out, std::vector<std::size_t>& bad_offsets,
                            std::size_t base) const {
  const auto* b = reinterpret_cast<const unsigned char*>(bytes.data());
  const std::size_t n = bytes.size();
  // Written in place: no input byte gives more than 3 output bytes (a bad byte gives U+FFFD, a
  // pair at most 4 for 2, a four-byte character 4), and a pair's packed bytes are written 4 at
  // a time, hence the slack.
  const std::size_t start = out.size();
  out.resize(start + 3 * n + 4);
  char* const first = out.data();
  char* w = first + start;
  const auto bad = [&](std::size_t i) {
    bad_offsets.push_back(base + i);
    std::memcpy(w, "\xEF\xBF\xBD", 3);
    w += 3;
  };
  for (std::size_t i = 0; i < n;) {
    const unsigned char c = b[i];
    if (c < 0x80) {
      const std::size_t e = ascii_run_end(b, i + 1, n);
      std::memcpy(w, b + i, e - i);
      w += e - i;
      i = e;
      continue;
    }
    if (c == 0x80 || c == 0xFF || i + 1 >= n) {
      bad(i++);
      continue;
    }
    const unsigned char t = b[i + 1];
    if (t >= 0x30 && t <= 0x39) {  // four bytes: rare, through iconv
      if (i + 3 < n && b[i + 2] >= 0x81 && b[i + 2] <= 0xFE && b[i + 3] >= 0x30 && b[i + 3] <= 0x39) {
        thread_local IconvConverter converter("UTF-8", "gb18030");
        std::vector<std::size_t> four_bad;
        const std::string utf8 = converter.convert(bytes.substr(i, 4), &four_bad);
        if (four_bad.empty() && utf8.size() <= 4) {
          std::memcpy(w, utf8.data(), utf8.size());
          w += utf8.size();
          i += 4;
          continue;
        }
      }
      bad(i++);
      continue;
    }
    const bool trail_ok = t >= kTrailFirst && t != 0x7F && t != 0xFF;
    const std::size_t index = trail_ok ? two_byte_index(c, t) : 0;
    const std::size_t len = trail_ok ? two_byte_length_[index] : 0;
    if (len == 0) {
      bad(i++);
      continue;
    }
    const std::uint32_t packed = two_byte_[index];  // first byte in the low byte
    const unsigned char four[4] = {static_cast<unsigned char>(packed), static_cast<unsigned char>(packed >> 8),
                                   static_cast<unsigned char>(packed >> 16), static_cast<unsigned char>(packed >> 24)};
    std::memcpy(w, four, 4);
    w += len;
    i += 2;
  }
  out.resize(static_cast<std::size_t>(w - first));
}

std::size_t Gb18030Decoder::first_invalid(std::string_view bytes) const {
  const auto* b = reinterpret_cast<const unsigned char*>(bytes.data());
  const std::size_t n = bytes.size();
  for (std::size_t i = 0; i < n;) {
    const unsigned char c = b[i];
    if (c < 0x80) {
      i = ascii_run_end(b, i + 1, n);
      continue;
    }
    if (c == 0x80 || c == 0xFF || i + 1 >= n) return i;
    const unsigned char t = b[i + 1];
    if (t >= 0x30 && t <= 0x39) {
      std::string utf8;
      std::vector<std::size_t> bad;
      append(bytes.substr(i, 4), utf8, bad);
      if (i + 3 >= n || !bad.empty()) return i;
      i += 4;
      continue;
    }
    if (t < kTrailFirst || t == 0x7F || t == 0xFF || two_byte_length_[two_byte_index(c, t)] == 0) return i;
    i += 2;
  }
  return std::string_view::npos;
}

std::size_t first_invalid_utf8(std::string_view bytes) {
  const auto* b = reinterpret_cast<const unsigned char*>(bytes.data());
  for (std::size_t i = 0; i < bytes.size();) {
    if (b[i] < 0x80) {
      ++i;
      continue;
    }
    const std::size_t len = utf8_sequence_length(bytes, i);
    if (len == 0) return i;
    i += len;
  }
  return std::string_view::npos;
}

bool is_valid_utf8(std::string_view bytes) {
  for (std::size_t i = 0; i < bytes.size();) {
    const std::size_t len = utf8_sequence_length(bytes, i);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

std::string_view strip_utf8_bom(std::string_view bytes) {
  if (bytes.starts_with(kUtf8Bom)) bytes.remove_prefix(kUtf8Bom.size());
  return bytes;
}

std::string detect_encoding(std::string_view bytes) {
  return bytes.starts_with(kUtf8Bom) || is_valid_utf8(bytes) ? "utf-8" : "gb18030";
}

std::string to_utf8(std::string_view bytes, const std::string& from_encoding) {
  const std::string from = normalize_encoding(from_encoding);
  if (from == "utf-8") return drop_bom(utf8_checked(bytes, nullptr));
  return drop_bom(IconvConverter("UTF-8", from).convert(bytes));
}

std::string to_utf8_replacing(std::string_view bytes, const std::string& from_encoding,
                              std::vector<std::size_t>& bad_offsets) {
  const std::string from = normalize_encoding(from_encoding);
  if (from == "utf-8") return drop_bom(utf8_checked(bytes, &bad_offsets));
  return drop_bom(IconvConverter("UTF-8", from).convert(bytes, &bad_offsets));
}

std::string from_utf8(std::string_view text, const std::string& to_encoding) {
  const std::string to = normalize_encoding(to_encoding);
  if (to == "utf-8") return utf8_checked(text, nullptr);
  IconvConverter converter(to, "UTF-8");
  try {
    return converter.convert(text);
  } catch (const CharsetError& e) {
    throw CharsetError(fmt::format("cannot convert UTF-8 text to {}: {}", to, e.what()));
  }
}

}  // namespace cuifu
