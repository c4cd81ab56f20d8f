// Sorting more text than should be held in memory: records (a key and a line of text) are
// added by several threads at once, each into its own part; a part sorts what it holds once
// it passes its share of the memory budget and writes it to a temporary file as a sorted run.
// At the end the runs are merged, reading each file front to back. `cuifu plan` uses it to
// write a plan of millions of reminders in time order while planning buyer by buyer.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace cuifu {

class ExternalSorter {
 public:
  // `parts`: how many threads add at once (part i only from one thread at a time).
  // `memory_budget`: bytes of records held in memory by all parts together before they spill.
  // `temp_dir`: where the runs go (default: $TMPDIR, else /tmp); files are unlinked at once.
  ExternalSorter(std::size_t parts, std::size_t memory_budget, std::string temp_dir = {});
  ~ExternalSorter();
  ExternalSorter(const ExternalSorter&) = delete;
  ExternalSorter& operator=(const ExternalSorter&) = delete;

  // Records compare by their key bytes (std::string_view order), then by part, then by the
  // order they were added to their part. Throws std::runtime_error if a run cannot be written.
  void add(std::size_t part, std::string_view key, std::string_view line);
  // The same, with the line appended by `write_line` to the string it is given (straight into
  // the part's memory: no copy of the line); it must only append.
  void add(std::size_t part, std::string_view key, const std::function<void(std::string&)>& write_line);

  // Hands every line to `out` in key order, then forgets them all. Call once, after every add.
  void drain(const std::function<void(std::string_view line)>& out);

  std::size_t records() const;
  std::size_t runs_spilled() const;  // sorted runs written to disk (0: everything fit in memory)

 private:
  struct Part;
  struct Run;
  void spill(Part& part);

  std::vector<std::unique_ptr<Part>> parts_;
  std::size_t part_budget_;
  std::string temp_dir_;
};

// A key that sorts like the tuple of its pieces: each string piece is written with its zero
// bytes escaped and a terminator, each number big-endian.
class SortKey {
 public:
  SortKey& text(std::string_view s);
  SortKey& number(std::int64_t n);  // orders as signed
  const std::string& bytes() const { return bytes_; }
  void clear() { bytes_.clear(); }

 private:
  std::string bytes_;
};

}  // namespace cuifu
