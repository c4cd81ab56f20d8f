// The external sorter against std::stable_sort, in memory and spilled to disk.
#include "io/external_sort.h"

#include <gtest/gtest.h>

#include <random>
#include <thread>

namespace cuifu {
namespace {

struct Rec {
  std::string key, line;
  std::size_t part, seq;
};

std::vector<std::string> sorted_lines(std::vector<Rec> recs) {
  std::stable_sort(recs.begin(), recs.end(), [](const Rec& a, const Rec& b) {
    if (a.key != b.key) return a.key < b.key;
    return a.part != b.part ? a.part < b.part : a.seq < b.seq;
  });
  std::vector<std::string> out;
  for (const auto& r : recs) out.push_back(r.line);
  return out;
}

// Many records with few distinct keys (ties decided by part, then the order added), some
// lines far longer than the reader's buffer; added from one thread per part.
void check(std::size_t parts, std::size_t budget, std::size_t n, bool expect_spill) {
  std::mt19937 rng(42);
  std::vector<std::vector<Rec>> by_part(parts);
  std::vector<Rec> all;
  for (std::size_t i = 0; i < n; ++i) {
    Rec r;
    r.part = rng() % parts;
    r.seq = by_part[r.part].size();
    r.key = SortKey()
                .number(static_cast<int>(rng() % 50) - 25)
                .text(std::string(1, static_cast<char>('a' + rng() % 3)))
                .bytes();
    r.line = "line " + std::to_string(i) + (i % 997 == 0 ? std::string(400000, 'x') : std::string(rng() % 40, 'y'));
    by_part[r.part].push_back(r);
    all.push_back(r);
  }
  ExternalSorter sorter(parts, budget);
  std::vector<std::thread> threads;
  for (std::size_t p = 0; p < parts; ++p) {
    threads.emplace_back([&, p] {
      // Lines given whole and lines written straight into the sorter's memory, mixed: the same.
      for (const auto& r : by_part[p]) {
        if (r.seq % 2) {
          sorter.add(p, r.key, r.line);
        } else {
          sorter.add(p, r.key, [&](std::string& out) { out += r.line; });
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(sorter.records(), n);
  EXPECT_EQ(sorter.runs_spilled() > 0, expect_spill);
  std::vector<std::string> got;
  sorter.drain([&](std::string_view line) { got.emplace_back(line); });
  EXPECT_EQ(got, sorted_lines(all));
}

TEST(ExternalSorter, SortsInMemoryWhenEverythingFits) {
  check(3, 64 << 20, 5000, false);
}

TEST(ExternalSorter, SpillsSortedRunsAndMergesThemInTheSameOrder) {
  check(3, 1 << 18, 20000, true);
}

// The sorter compares the first 16 bytes of keys as numbers before their bytes: keys shorter
// than that, keys that differ only after it, zero bytes and bytes over 0x7f must still come out
// in std::string_view order, in memory and through spilled runs.
TEST(ExternalSorter, OrdersKeysByTheirBytesAroundTheFirstSixteen) {
  std::mt19937 rng(7);
  const std::string alphabet{'\0', '\x01', 'a', '\x7f', '\x80', '\xff'};
  const char fills[] = {'\x80', 'a', '\0'};
  std::vector<Rec> all;
  for (std::size_t i = 0; i < 6000; ++i) {
    Rec r;
    r.part = i % 2;
    r.seq = i / 2;
    // Mostly one of a few long shared beginnings, cut anywhere from 0 to 24 bytes, then a tail.
    const std::string stem = std::string(7 + rng() % 3, fills[rng() % 3]) + "0123456789abcdef";
    r.key = stem.substr(0, rng() % 25);
    for (std::size_t n = rng() % 4; n > 0; --n) r.key += alphabet[rng() % alphabet.size()];
    r.line = "line " + std::to_string(i);
    all.push_back(r);
  }
  for (const std::size_t budget : {std::size_t{64} << 20, std::size_t{1} << 16}) {
    ExternalSorter sorter(2, budget);
    for (const auto& r : all) {
      if (r.seq % 3 == 0) {
        sorter.add(r.part, r.key, [&](std::string& out) { out += r.line; });
      } else {
        sorter.add(r.part, r.key, r.line);
      }
    }
    EXPECT_EQ(sorter.runs_spilled() > 0, budget < (1 << 20));
    std::vector<std::string> got;
    sorter.drain([&](std::string_view line) { got.emplace_back(line); });
    EXPECT_EQ(got, sorted_lines(all));
  }
}

TEST(SortKey, PiecesSortLikeATuple) {
  const auto key = [](std::int64_t n, std::string_view s) { return SortKey().number(n).text(s).number(7).bytes(); };
  EXPECT_LT(key(-5, "b"), key(3, "a"));
  EXPECT_LT(key(3, "a"), key(3, "ab"));
  EXPECT_LT(key(3, "ab"), key(3, "b"));
  EXPECT_LT(key(3, "a"), key(3, std::string("a\0b", 3)));
  EXPECT_LT(key(3, std::string("a\0b", 3)), key(3, "a\x01"));
  EXPECT_LT(key(1700000000, "王"), key(1700000060, "阿"));
}

// text() copies a run at a time up to each zero byte: the same bytes as escaping byte by byte.
TEST(SortKey, TextBytesAreEachByteWithZerosEscapedThenTwoZeros) {
  const auto by_byte = [](std::string_view s) {
    std::string out;
    for (char c : s) {
      out += c;
      if (c == '\0') out += '\x01';
    }
    return out + std::string(2, '\0');
  };
  for (const std::string& s :
       {std::string(), std::string("王小明"), std::string(1, '\0'), std::string(3, '\0'), std::string("a\0b", 3),
        std::string("\0ab", 3), std::string("ab\0", 3), std::string("a\0\0b\x01\0", 6)}) {
    EXPECT_EQ(SortKey().text(s).bytes(), by_byte(s)) << s.size();
    EXPECT_EQ(SortKey().text("x").text(s).text(s).bytes(), by_byte("x") + by_byte(s) + by_byte(s));
  }
}

}  // namespace
}  // namespace cuifu
