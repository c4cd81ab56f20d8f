// Polls the order feed: a local file (re-read only when its size or mtime changed, and
// only once its size held still across a settle interval and while it was read, so a half-written export is never
// trusted) or an HTTP(S) URL (conditional GET with ETag / If-Modified-Since). Blocking:
// run it on a worker thread, never on the event loop. Not thread-safe (one poller per thread).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "io/chat_feed.h"
#include "io/feed.h"

namespace cuifu {

struct FeedPoll {
  enum class Kind { fresh, unchanged, settling, error };
  Kind kind = Kind::error;
  std::shared_ptr<const FeedSnapshot> snapshot;  // for fresh
  // For fresh: why the bytes look cut off (io/feed_trust.h truncation_sign), "" when whole.
  std::string truncated;
  // When the feed's content was produced: the file's mtime, the HTTP Last-Modified, or
  // the fetch time when the server says nothing. Set for fresh and unchanged.
  std::optional<std::chrono::system_clock::time_point> produced_at;
  std::string error;
  std::size_t rows_reused = 0;  // for fresh: rows whose order came from the last export's (FeedMemo)
};

// A file's bytes as a poller reads them (SourcePoller::poll with a StreamParse).
class ArrivingFile : public ArrivingBytes {
 public:
  // The file's size when it was opened: the bytes there in the end, unless it shrank meanwhile.
  virtual std::size_t expected() const = 0;
  // fast_hash (io/fast_hash.h) of every byte: waits for them.
  virtual std::uint64_t hash() = 0;
};

// The file / URL half of a poller, shared by the order feed and the chat export: finds new
// content and hands its bytes to `parse`. Only when parse returns is the content remembered
// as seen; when it throws, the poll is an error and the next poll reads the content again.
class SourcePoller {
 public:
  // `hash`: fast_hash(bytes) (io/fast_hash.h), worked out as a file was read.
  using Parse = std::function<void(std::string_view bytes, std::uint64_t hash)>;
  // For a file: a parse of its bytes as they are read (on a thread of the poller's own), instead
  // of `parse` once they all are. The bytes are the poller's until the next poll.
  using StreamParse = std::function<void(ArrivingFile& bytes)>;
  struct Result {
    FeedPoll::Kind kind = FeedPoll::Kind::error;  // fresh: `parse` was called and returned
    std::optional<std::chrono::system_clock::time_point> produced_at;
    std::string error;
  };
  SourcePoller(std::string source, std::chrono::milliseconds timeout, std::chrono::milliseconds settle);
  ~SourcePoller();
  SourcePoller(SourcePoller&&) noexcept;
  SourcePoller& operator=(SourcePoller&&) noexcept;
  // `just_written`: the file's writer was seen closing it or renaming it into place (the
  // daemon's watch): read without waiting for it to settle.
  Result poll(const Parse& parse, bool just_written = false, const StreamParse& stream = {});
  const std::string& source() const { return source_; }

 private:
  Result poll_file(const Parse& parse, bool just_written, const StreamParse& stream);
  Result poll_http(const Parse& parse);

  std::string source_;
  std::chrono::milliseconds timeout_;
  std::chrono::milliseconds settle_;
  // file
  std::optional<std::pair<std::int64_t, std::int64_t>> last_stat_;  // (mtime ns, size) of the last snapshot
  class ReadBuffer;
  std::unique_ptr<ReadBuffer> buffer_;  // the pages a file is read into, kept from read to read
  // http
  std::string etag_;
  std::string last_modified_;
  std::optional<std::chrono::system_clock::time_point> produced_at_;
};

// An export rewritten (or touched) with the same bytes as the last one read is not parsed again:
// the poll is fresh (the feed renewed, everything downstream as for a new export) and carries
// the same snapshot object as the last one.
class FeedPoller {
 public:
  FeedPoller(std::string source, FeedOptions options, std::chrono::milliseconds timeout,
             std::chrono::milliseconds settle = std::chrono::milliseconds{300});
  FeedPoll poll(bool just_written = false);  // see SourcePoller::poll

 private:
  // The poll's snapshot from these bytes: the last one when they are the last bytes, else
  // `parsed` (made of them), or else a parse of them here.
  void take(FeedPoll& p, std::string_view bytes, std::uint64_t hash, std::optional<FeedSnapshot> parsed);

  SourcePoller source_;
  FeedOptions options_;
  // The last bytes parsed (their size and hash) and what they gave.
  std::size_t last_size_ = 0;
  std::uint64_t last_hash_ = 0;
  std::shared_ptr<const FeedSnapshot> last_;
  std::string last_truncated_;
  FeedMemo memo_;  // the rows of the last export parsed
};

// The shop's chat export, polled like the feed (same file settling, same conditional GET).
struct ChatPoll {
  FeedPoll::Kind kind = FeedPoll::Kind::error;
  std::shared_ptr<const ChatSnapshot> snapshot;  // for fresh
  std::optional<std::chrono::system_clock::time_point> produced_at;
  std::string error;
};

class ChatPoller {
 public:
  ChatPoller(std::string source, ChatOptions options, std::chrono::milliseconds timeout,
             std::chrono::milliseconds settle = std::chrono::milliseconds{300});
  ChatPoll poll();

 private:
  SourcePoller source_;
  ChatOptions options_;
};

}  // namespace cuifu
