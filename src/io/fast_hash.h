// A 64-bit hash of bytes for telling big inputs apart: an export's bytes (is it the one read
// last?) and each of its rows (FeedMemo). XXH3 from Debian's libxxhash: a 300 MB export in a few
// tens of milliseconds, against ~180 ms for std::hash (one multiply chain).
#pragma once

#include <xxhash.h>

#include <cstdint>
#include <string_view>

namespace cuifu {

inline std::uint64_t fast_hash(std::string_view bytes) {
  return XXH3_64bits(bytes.data(), bytes.size());
}

}  // namespace cuifu
