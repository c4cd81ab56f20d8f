#include "io/feed_poller.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <functional>
#include <mutex>
#include <string_view>
#include <thread>

#include "io/channels/http_client.h"
#include "io/fast_hash.h"
#include "io/feed_fields.h"
#include "io/feed_trust.h"

namespace cuifu {

namespace {

std::optional<std::pair<std::int64_t, std::int64_t>> stat_file(const std::string& path, std::string* error) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    *error = fmt::format("{}: {}", path, std::strerror(errno));
    return std::nullopt;
  }
  const std::int64_t mtime = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  return std::make_pair(mtime, static_cast<std::int64_t>(st.st_size));
}

// XXH3 state, freed when it goes.
struct HashStateFree {
  void operator()(XXH3_state_t* s) const { XXH3_freeState(s); }
};

// The bytes of a file as the thread reading them says they came.
class Arrival : public ArrivingFile {
 public:
  Arrival(const char* data, std::size_t expected) : data_(data), expected_(expected) {}

  std::string_view wait_past(std::size_t have, bool& all) override {
    std::unique_lock lock(mutex_);
    came_.wait(lock, [&] { return done_ > have || all_; });
    all = all_;
    return {data_, done_};
  }
  std::size_t expected() const override { return expected_; }
  std::uint64_t hash() override {
    wait_all();
    const std::lock_guard lock(mutex_);
    if (!error_.empty()) throw FeedError(error_);
    return hash_;
  }

  // The reader's side: `done` bytes are there (all of them, whose hash is `hash`, when `all`).
  void arrived(std::size_t done, bool all, std::uint64_t hash) {
    {
      const std::lock_guard lock(mutex_);
      done_ = done;
      all_ = all;
      hash_ = hash;
    }
    came_.notify_all();
  }
  // The read failed: the bytes there are all there will be.
  void failed(std::string error) {
    {
      const std::lock_guard lock(mutex_);
      error_ = std::move(error);
      all_ = true;
    }
    came_.notify_all();
  }

 private:
  const char* data_;
  std::size_t expected_;
  std::mutex mutex_;
  std::condition_variable came_;
  std::size_t done_ = 0;
  bool all_ = false;
  std::uint64_t hash_ = 0;
  std::string error_;
};

}  // namespace

// A file's bytes, read straight into pages of the poller's own (not through stdio's buffer and
// then appended to a string: a second copy of a 300 MB export), and hashed as they come, a block
// at a time while it is still in the cache (a second pass over a 1M-order export took ~50 ms).
// The pages are kept from one read to the next: a 1M-order export read into fresh pages took
// ~130 ms, into pages already there ~75 ms (the kernel zeroed and mapped 74,000 new pages each
// time). Between reads they are handed back with MADV_FREE: the kernel takes them when it needs
// the memory (they count in the daemon's RSS until then), and the next read refills what is left.
// The size is the file's when opened: a writer still at it is caught by the poll's size check
// after the read. The read runs on a thread of its own, the parse taking the bytes as they come
// (ArrivingBytes): at 1M the read (~110-130 ms, mostly the kernel's copy) then overlaps the parse. (Asked for as
// transparent huge pages, the read of a 1M-order export took 85 instead of 135 ms on a quiet machine, but 1.1-1.2 s
// while the kernel compacted memory for them on a busy one.)
class SourcePoller::ReadBuffer {
 public:
  ReadBuffer() = default;
  ReadBuffer(const ReadBuffer&) = delete;
  ReadBuffer& operator=(const ReadBuffer&) = delete;
  ~ReadBuffer() {
    if (map_) ::munmap(map_, capacity_);
  }

  // The file's bytes (valid until the next read or release()) and their fast_hash.
  std::string_view read(const std::string& path, std::uint64_t& hash) {
    std::string_view bytes;
    read(path, [&](ArrivingFile& in) {
      bytes = in.wait_all();
      hash = in.hash();
    });
    return bytes;
  }

  // Reads the file on a thread of its own while `consume` (here) takes its bytes as they come;
  // their fast_hash is worked out as they come too. Returns when both are done.
  void read(const std::string& path, const StreamParse& consume) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw FeedError(fmt::format("cannot read {}: {}", path, std::strerror(errno)));
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || !reserve(static_cast<std::size_t>(st.st_size))) {
      ::close(fd);
      bytes_ = read_file_bytes(path);  // not a regular file (or no memory to map): as before
      Arrival whole(bytes_.data(), bytes_.size());
      whole.arrived(bytes_.size(), true, fast_hash(bytes_));
      consume(whole);
      return;
    }
    bytes_.clear();
    const std::unique_ptr<XXH3_state_t, HashStateFree> state(XXH3_createState());
    if (!state || XXH3_64bits_reset(state.get()) != XXH_OK) {
      ::close(fd);
      throw FeedError(fmt::format("cannot read {}: out of memory", path));
    }
    const std::size_t size = static_cast<std::size_t>(st.st_size);
    Arrival arrival(map_, size);
    std::atomic<bool> stop{false};  // the parse gave up: stop reading
    std::exception_ptr error;       // why
    const auto t0 = std::chrono::steady_clock::now();
    {
      // Joined before anything else goes: the pages it writes, the file it reads.
      const std::jthread reader([&] {
        constexpr std::size_t kBlock = std::size_t{1} << 20;
        std::size_t done = 0;
        while (done < size && !stop.load(std::memory_order_relaxed)) {
          const ssize_t n = ::read(fd, map_ + done, std::min(kBlock, size - done));
          if (n < 0 && errno == EINTR) continue;
          if (n < 0) {
            arrival.failed(fmt::format("cannot read {}: {}", path, std::strerror(errno)));
            return;
          }
          if (n == 0) break;  // shorter than when opened: the size check after the read says so
          XXH3_64bits_update(state.get(), map_ + done, static_cast<std::size_t>(n));
          done += static_cast<std::size_t>(n);
          if (done < size) arrival.arrived(done, false, 0);
        }
        spdlog::debug(
            "{}: {} bytes read in {} ms", path, done,
            std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count());
        arrival.arrived(done, true, XXH3_64bits_digest(state.get()));
      });
      try {
        consume(arrival);
      } catch (...) {
        error = std::current_exception();
        stop = true;
      }
    }
    ::close(fd);
    if (error) std::rethrow_exception(error);
    arrival.hash();  // throws what the read met
  }

  // The bytes read are no longer needed: their pages go back to the kernel when it wants them.
  void release() {
    bytes_ = std::string();
    if (map_ && ::madvise(map_, capacity_, MADV_FREE) != 0) ::madvise(map_, capacity_, MADV_DONTNEED);
  }

 private:
  // Pages for `size` bytes: those there, or new ones (an eighth more, for an export that grows).
  bool reserve(std::size_t size) {
    if (map_ && size <= capacity_) return true;
    if (map_) ::munmap(map_, capacity_);
    map_ = nullptr;
    capacity_ = std::max<std::size_t>(size + size / 8, std::size_t{1} << 20);
    void* p = ::mmap(nullptr, capacity_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
      capacity_ = 0;
      return false;
    }
    map_ = static_cast<char*>(p);
    return true;
  }

  char* map_ = nullptr;
  std::size_t capacity_ = 0;
  std::string bytes_;  // not a regular file
};

namespace {

std::chrono::system_clock::time_point from_ns(std::int64_t ns) {
  return std::chrono::system_clock::time_point{
      std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::nanoseconds{ns})};
}

}  // namespace

FeedPoller::FeedPoller(std::string source, FeedOptions options, std::chrono::milliseconds timeout,
                       std::chrono::milliseconds settle)
    : source_(std::move(source), timeout, settle), options_(std::move(options)) {}

void FeedPoller::take(FeedPoll& p, std::string_view bytes, std::uint64_t hash, std::optional<FeedSnapshot> parsed) {
  if (last_ && bytes.size() == last_size_ && hash == last_hash_) {
    p.snapshot = last_;  // a parse made all the same (`parsed`) is dropped, the memo as it was
    p.truncated = last_truncated_;
    return;
  }
  // The rows the last export had are not built again (FeedMemo).
  auto snapshot = std::make_shared<FeedSnapshot>(parsed ? std::move(*parsed)
                                                        : parse_feed(bytes, options_, source_.source(), memo_));
  memo_.remember(snapshot);
  p.rows_reused = memo_.reused();
  p.truncated = truncation_sign(bytes, *snapshot);
  p.snapshot = std::move(snapshot);
  last_size_ = bytes.size();
  last_hash_ = hash;
  last_ = p.snapshot;
  last_truncated_ = p.truncated;
}

FeedPoll FeedPoller::poll(bool just_written) {
  FeedPoll p;
  SourcePoller::Result r = source_.poll(
      [&](std::string_view bytes, std::uint64_t hash) { take(p, bytes, hash, std::nullopt); }, just_written,
      [&](ArrivingFile& in) {
        // An export of the last one's size may be its bytes again: not parsed before that is known.
        // Another is parsed as it is read (in the end the hash is looked at all the same: it may
        // have shrunk to the last one's bytes on the way).
        std::optional<FeedSnapshot> parsed;
        if (!last_ || in.expected() != last_size_) parsed = parse_feed(in, options_, source_.source(), memo_);
        const std::string_view bytes = in.wait_all();
        take(p, bytes, in.hash(), std::move(parsed));
      });
  p.kind = r.kind;
  p.produced_at = r.produced_at;
  p.error = std::move(r.error);
  if (p.kind != FeedPoll::Kind::fresh) {
    p.snapshot.reset();
    p.truncated.clear();
  }
  return p;
}

ChatPoller::ChatPoller(std::string source, ChatOptions options, std::chrono::milliseconds timeout,
                       std::chrono::milliseconds settle)
    : source_(std::move(source), timeout, settle), options_(std::move(options)) {}

ChatPoll ChatPoller::poll() {
  ChatPoll p;
  SourcePoller::Result r = source_.poll([&](std::string_view bytes, std::uint64_t) {
    p.snapshot = std::make_shared<ChatSnapshot>(parse_chat(bytes, options_, source_.source()));
  });
  p.kind = r.kind;
  p.produced_at = r.produced_at;
  p.error = std::move(r.error);
  if (p.kind != FeedPoll::Kind::fresh) p.snapshot.reset();
  return p;
}

SourcePoller::SourcePoller(std::string source, std::chrono::milliseconds timeout, std::chrono::milliseconds settle)
    : source_(std::move(source)), timeout_(timeout), settle_(settle), buffer_(std::make_unique<ReadBuffer>()) {}
SourcePoller::~SourcePoller() = default;
SourcePoller::SourcePoller(SourcePoller&&) noexcept = default;
SourcePoller& SourcePoller::operator=(SourcePoller&&) noexcept = default;

SourcePoller::Result SourcePoller::poll(const Parse& parse, bool just_written, const StreamParse& stream) {
  try {
    const bool url = source_.rfind("http://", 0) == 0 || source_.rfind("https://", 0) == 0;
    return url ? poll_http(parse) : poll_file(parse, just_written, stream);
  } catch (const std::exception& e) {
    Result p;
    p.kind = FeedPoll::Kind::error;
    p.error = e.what();
    return p;
  }
}

SourcePoller::Result SourcePoller::poll_file(const Parse& parse, bool just_written, const StreamParse& stream) {
  Result p;
  const auto before = stat_file(source_, &p.error);
  if (!before) return p;
  if (last_stat_ && *before == *last_stat_) {
    p.kind = FeedPoll::Kind::unchanged;
    p.produced_at = from_ns(before->first);
    return p;
  }
  // Changed: only trust it once it held still for the settle interval (at once when it was
  // last modified longer ago than that, or when its writer was seen closing it or renaming it
  // into place). A writer still at it is caught by the size check after the read.
  if (!just_written && std::chrono::system_clock::now() - from_ns(before->first) < settle_) {
    std::this_thread::sleep_for(settle_);
  }
  const auto settled = stat_file(source_, &p.error);
  if (!settled) return p;
  // Size, not mtime: a writer still appending changes the size; an exporter that merely
  // touches the file (or rewrites it atomically by rename) must not be read as unsettled.
  if (settled->second != before->second) {
    p.kind = FeedPoll::Kind::settling;
    return p;
  }
  try {
    if (stream) {
      buffer_->read(source_, stream);
    } else {
      std::uint64_t hash = 0;
      const std::string_view bytes = buffer_->read(source_, hash);
      parse(bytes, hash);
    }
  } catch (...) {
    buffer_->release();
    throw;
  }
  buffer_->release();
  const auto after = stat_file(source_, &p.error);
  if (!after) return p;
  if (after->second != settled->second) {  // written to while we read it
    p.kind = FeedPoll::Kind::settling;
    return p;
  }
  last_stat_ = after;
  p.kind = FeedPoll::Kind::fresh;
  p.produced_at = from_ns(after->first);
  return p;
}

SourcePoller::Result SourcePoller::poll_http(const Parse& parse) {
  Result p;
  HttpRequest req;
  req.url = source_;
  req.timeout = timeout_;
  if (!etag_.empty()) req.headers.push_back("If-None-Match: " + etag_);
  if (!last_modified_.empty()) req.headers.push_back("If-Modified-Since: " + last_modified_);
  const HttpResponse resp = http_request(req);
  const auto now = std::chrono::system_clock::now();
  const auto produced = [&]() -> std::chrono::system_clock::time_point {
    const auto it = resp.headers.find("last-modified");
    if (it != resp.headers.end()) {
      const time_t t = curl_getdate(it->second.c_str(), nullptr);
      if (t > 0) return std::chrono::system_clock::from_time_t(t);
    }
    return now;
  };
  if (resp.status == 304) {
    p.kind = FeedPoll::Kind::unchanged;
    if (resp.headers.count("last-modified") || !produced_at_) produced_at_ = produced();
    p.produced_at = produced_at_;
    return p;
  }
  if (resp.status != 200) {
    p.error = resp.status == 0 ? fmt::format("{}: {}", source_, resp.error)
                               : fmt::format("{}: HTTP {}", source_, resp.status);
    return p;
  }
  parse(resp.body, fast_hash(resp.body));
  etag_ = resp.headers.count("etag") ? resp.headers.at("etag") : "";
  last_modified_ = resp.headers.count("last-modified") ? resp.headers.at("last-modified") : "";
  produced_at_ = produced();
  p.kind = FeedPoll::Kind::fresh;
  p.produced_at = produced_at_;
  return p;
}

}  // namespace cuifu
