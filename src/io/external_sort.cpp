#include "io/external_sort.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <queue>
#include <stdexcept>

namespace cuifu {

namespace {

// A record: [key length u32][line length u32][sequence u64][key][line].
constexpr std::size_t kHeader = 16;

struct RecordView {
  std::string_view key, line;
  std::uint64_t seq = 0;
};

RecordView read_record(const char* p) {
  std::uint32_t key_len = 0, line_len = 0;
  RecordView r;
  std::memcpy(&key_len, p, 4);
  std::memcpy(&line_len, p + 4, 4);
  std::memcpy(&r.seq, p + 8, 8);
  r.key = {p + kHeader, key_len};
  r.line = {p + kHeader + key_len, line_len};
  return r;
}

void append_record(std::string& out, std::string_view key, std::string_view line, std::uint64_t seq) {
  if (key.size() > UINT32_MAX || line.size() > UINT32_MAX) throw std::runtime_error("sort record over 4 GB");
  const auto key_len = static_cast<std::uint32_t>(key.size());
  const auto line_len = static_cast<std::uint32_t>(line.size());
  char header[kHeader];
  std::memcpy(header, &key_len, 4);
  std::memcpy(header + 4, &line_len, 4);
  std::memcpy(header + 8, &seq, 8);
  out.append(header, kHeader);
  out.append(key);
  out.append(line);
}

bool before(const RecordView& a, std::size_t part_a, const RecordView& b, std::size_t part_b) {
  if (const int c = a.key.compare(b.key); c != 0) return c < 0;
  return part_a != part_b ? part_a < part_b : a.seq < b.seq;
}

// A record to sort, with the first 16 bytes of its key as two big-endian numbers (zeros past
// its end): when they differ they order the keys as std::string_view does (bytes unsigned, a
// key before every longer key it begins), so the bytes are compared only when they are equal.
// Most keys of a plan differ within them (send_at, then the buyer's first 8 bytes).
struct SortEntry {
  std::uint64_t hi = 0, lo = 0;
  std::size_t part = 0, offset = 0;
};

std::uint64_t load_big_endian(const unsigned char* b) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | b[i];
  return v;
}

SortEntry sort_entry(std::string_view key, std::size_t part, std::size_t offset) {
  unsigned char bytes[16] = {};
  std::memcpy(bytes, key.data(), std::min<std::size_t>(key.size(), sizeof bytes));
  return {load_big_endian(bytes), load_big_endian(bytes + 8), part, offset};
}

// Sorts entries of records held in `arena_of(part)`, in the order of before().
template <typename ArenaOf>
void sort_entries(std::vector<SortEntry>& entries, const ArenaOf& arena_of) {
  std::sort(entries.begin(), entries.end(), [&](const SortEntry& a, const SortEntry& b) {
    if (a.hi != b.hi) return a.hi < b.hi;
    if (a.lo != b.lo) return a.lo < b.lo;
    return before(read_record(arena_of(a.part) + a.offset), a.part, read_record(arena_of(b.part) + b.offset), b.part);
  });
}

// Writes the buffers of `batch` in order (write_all for a gather list).
void write_all(int fd, std::vector<iovec>& batch, const std::string& what) {
  std::size_t first = 0;
  while (first < batch.size()) {
    const ssize_t n = ::writev(fd, batch.data() + first, static_cast<int>(batch.size() - first));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw std::runtime_error(fmt::format("cannot write {}: {}", what, std::strerror(errno)));
    auto left = static_cast<std::size_t>(n);
    while (first < batch.size() && left >= batch[first].iov_len) left -= batch[first++].iov_len;
    if (left > 0) {
      batch[first].iov_base = static_cast<char*>(batch[first].iov_base) + left;
      batch[first].iov_len -= left;
    }
  }
}

constexpr std::size_t kIovBatch = 512;  // under IOV_MAX (1024 on Linux)

}  // namespace

struct ExternalSorter::Run {
  std::uint64_t offset = 0, size = 0;
};

struct ExternalSorter::Part {
  std::string arena;                 // records not yet spilled
  std::vector<std::size_t> offsets;  // where each starts in `arena`
  std::uint64_t seq = 0;
  std::size_t records = 0;
  int fd = -1;  // the part's run file, once it spilled
  std::uint64_t file_size = 0;
  std::vector<Run> runs;

  ~Part() {
    if (fd >= 0) ::close(fd);
  }
  // The unspilled records, sorted.
  std::vector<SortEntry> sorted() const {
    std::vector<SortEntry> order;
    order.reserve(offsets.size());
    for (std::size_t at : offsets) order.push_back(sort_entry(read_record(arena.data() + at).key, 0, at));
    sort_entries(order, [&](std::size_t) { return arena.data(); });
    return order;
  }
};

ExternalSorter::ExternalSorter(std::size_t parts, std::size_t memory_budget, std::string temp_dir)
    : part_budget_(std::max<std::size_t>(memory_budget / std::max<std::size_t>(parts, 1), 1 << 16)),
      temp_dir_(std::move(temp_dir)) {
  if (temp_dir_.empty()) {
    const char* env = std::getenv("TMPDIR");
    temp_dir_ = env && *env ? env : "/tmp";
  }
  for (std::size_t i = 0; i < std::max<std::size_t>(parts, 1); ++i) parts_.push_back(std::make_unique<Part>());
}

ExternalSorter::~ExternalSorter() = default;

void ExternalSorter::add(std::size_t part_index, std::string_view key, std::string_view line) {
  add(part_index, key, [line](std::string& out) { out.append(line); });
}

void ExternalSorter::add(std::size_t part_index, std::string_view key,
                         const std::function<void(std::string&)>& write_line) {
  Part& part = *parts_.at(part_index);
  // The whole share at once: growing by doubling would hold two copies while it copies, and
  // pages not yet written take no memory.
  if (part.arena.capacity() < part_budget_) part.arena.reserve(part_budget_ + (1 << 16));
  const std::size_t at = part.arena.size();
  append_record(part.arena, key, {}, part.seq++);
  const std::size_t line_at = part.arena.size();
  write_line(part.arena);
  const std::size_t line_size = part.arena.size() - line_at;
  if (line_size > UINT32_MAX) throw std::runtime_error("sort record over 4 GB");
  const auto line_len = static_cast<std::uint32_t>(line_size);
  std::memcpy(part.arena.data() + at + 4, &line_len, 4);
  part.offsets.push_back(at);
  ++part.records;
  if (part.arena.size() >= part_budget_) spill(part);
}

void ExternalSorter::spill(Part& part) {
  if (part.offsets.empty()) return;
  if (part.fd < 0) {
    std::string path = temp_dir_ + "/cuifu-sort-XXXXXX";
    part.fd = ::mkstemp(path.data());
    if (part.fd < 0) {
      throw std::runtime_error(
          fmt::format("cannot create a temporary file in {} (set TMPDIR): {}", temp_dir_, std::strerror(errno)));
    }
    ::unlink(path.c_str());  // gone when closed, even after a crash
  }
  // The records are written as they lie in memory (their sequence numbers with them), in sorted
  // order, a batch of them per system call: no copy of the run.
  std::uint64_t written = 0;
  std::vector<iovec> batch;
  batch.reserve(kIovBatch);
  const auto flush = [&] {
    write_all(part.fd, batch, temp_dir_ + " (temporary sort file)");
    batch.clear();
  };
  for (const SortEntry& e : part.sorted()) {
    char* p = part.arena.data() + e.offset;
    const RecordView r = read_record(p);
    const std::size_t size = kHeader + r.key.size() + r.line.size();
    written += size;
    if (!batch.empty() && static_cast<char*>(batch.back().iov_base) + batch.back().iov_len == p) {
      batch.back().iov_len += size;
    } else {
      if (batch.size() == kIovBatch) flush();
      batch.push_back({p, size});
    }
  }
  flush();
  part.runs.push_back({part.file_size, written});
  part.file_size += written;
  part.arena.clear();
  part.offsets.clear();
}

std::size_t ExternalSorter::records() const {
  std::size_t n = 0;
  for (const auto& p : parts_) n += p->records;
  return n;
}

std::size_t ExternalSorter::runs_spilled() const {
  std::size_t n = 0;
  for (const auto& p : parts_) n += p->runs.size();
  return n;
}

namespace {

// Reads one sorted run front to back through a buffer.
class RunReader {
 public:
  RunReader(int fd, std::uint64_t offset, std::uint64_t size, std::size_t part)
      : fd_(fd), next_(offset), end_(offset + size), part_(part) {}

  std::size_t part() const { return part_; }
  const RecordView& record() const { return record_; }

  // Moves to the next record; false at the end of the run.
  bool advance() {
    pos_ += record_size_;
    record_size_ = 0;
    if (!fill(kHeader)) return false;
    std::uint32_t key_len = 0, line_len = 0;
    std::memcpy(&key_len, buffer_.data() + pos_, 4);
    std::memcpy(&line_len, buffer_.data() + pos_ + 4, 4);
    const std::size_t size = kHeader + key_len + line_len;
    if (!fill(size)) throw std::runtime_error("temporary sort file ends inside a record");
    record_size_ = size;
    record_ = read_record(buffer_.data() + pos_);
    return true;
  }

 private:
  // Makes `n` bytes from pos_ available; false if the run has none left at all.
  bool fill(std::size_t n) {
    if (buffer_.size() - pos_ >= n) return true;
    buffer_.erase(0, pos_);
    pos_ = 0;
    while (buffer_.size() < n && next_ < end_) {
      const std::size_t want = static_cast<std::size_t>(
          std::min<std::uint64_t>(end_ - next_, std::max<std::size_t>(kChunk, n - buffer_.size())));
      const std::size_t old = buffer_.size();
      buffer_.resize(old + want);
      const ssize_t got = ::pread(fd_, buffer_.data() + old, want, static_cast<off_t>(next_));
      if (got <= 0) {
        if (got < 0 && errno == EINTR) {
          buffer_.resize(old);
          continue;
        }
        throw std::runtime_error(fmt::format("cannot read the temporary sort file: {}", std::strerror(errno)));
      }
      buffer_.resize(old + static_cast<std::size_t>(got));
      next_ += static_cast<std::uint64_t>(got);
    }
    return buffer_.size() >= n;
  }

  static constexpr std::size_t kChunk = 1 << 18;
  int fd_;
  std::uint64_t next_, end_;
  std::size_t part_;
  std::string buffer_;
  std::size_t pos_ = 0, record_size_ = 0;
  RecordView record_;
};

}  // namespace

void ExternalSorter::drain(const std::function<void(std::string_view line)>& out) {
  if (runs_spilled() == 0) {
    // Everything is in memory: one sort over all parts.
    std::vector<SortEntry> refs;
    refs.reserve(records());
    for (std::size_t p = 0; p < parts_.size(); ++p) {
      const char* arena = parts_[p]->arena.data();
      for (std::size_t at : parts_[p]->offsets) refs.push_back(sort_entry(read_record(arena + at).key, p, at));
    }
    sort_entries(refs, [&](std::size_t p) { return parts_[p]->arena.data(); });
    for (const SortEntry& r : refs) out(read_record(parts_[r.part]->arena.data() + r.offset).line);
  } else {
    for (auto& p : parts_) spill(*p);
    for (auto& p : parts_) std::string().swap(p->arena);
    std::vector<RunReader> readers;
    for (std::size_t p = 0; p < parts_.size(); ++p) {
      for (const Run& run : parts_[p]->runs) readers.emplace_back(parts_[p]->fd, run.offset, run.size, p);
    }
    const auto later = [&](std::size_t a, std::size_t b) {
      return before(readers[b].record(), readers[b].part(), readers[a].record(), readers[a].part());
    };
    std::priority_queue<std::size_t, std::vector<std::size_t>, decltype(later)> heap(later);
    for (std::size_t i = 0; i < readers.size(); ++i) {
      if (readers[i].advance()) heap.push(i);
    }
    while (!heap.empty()) {
      const std::size_t i = heap.top();
      heap.pop();
      out(readers[i].record().line);
      if (readers[i].advance()) heap.push(i);
    }
  }
  for (auto& p : parts_) p = std::make_unique<Part>();
}

SortKey& SortKey::text(std::string_view s) {
  // Copied a run at a time up to each zero byte, which is escaped: an escaped zero sorts after
  // the terminator.
  for (std::size_t zero; (zero = s.find('\0')) != std::string_view::npos; s.remove_prefix(zero + 1)) {
    bytes_.append(s.data(), zero + 1);
    bytes_ += '\x01';
  }
  bytes_.append(s);
  bytes_.append("\0\0", 2);
  return *this;
}

SortKey& SortKey::number(std::int64_t n) {
  const auto u = static_cast<std::uint64_t>(n) ^ (std::uint64_t{1} << 63);  // signed order as unsigned
  for (int shift = 56; shift >= 0; shift -= 8) bytes_ += static_cast<char>((u >> shift) & 0xFF);
  return *this;
}

}  // namespace cuifu
