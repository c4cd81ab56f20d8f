// Polls the order feed: a local file (re-read only when its size or mtime changed, and
// only once its size held still across a settle interval and while it was read, so a half-written export is never
// trusted) or an HTTP(S) URL (conditional GET with ETag / If-Modified-Since). Blocking:
// run it on a worker thread, never on the event loop. Not thread-safe (one poller per thread).
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "io/feed.h"

namespace cuifu {

struct FeedPoll {
  enum class Kind { fresh, unchanged, settling, error };
  Kind kind = Kind::error;
  std::shared_ptr<const FeedSnapshot> snapshot;  // for fresh
  // When the feed's content was produced: the file's mtime, the HTTP Last-Modified, or
  // the fetch time when the server says nothing. Set for fresh and unchanged.
  std::optional<std::chrono::system_clock::time_point> produced_at;
  std::string error;
};

class FeedPoller {
 public:
  FeedPoller(std::string source, FeedOptions options, std::chrono::milliseconds timeout,
             std::chrono::milliseconds settle = std::chrono::milliseconds{300});
  FeedPoll poll();

 private:
  FeedPoll poll_file();
  FeedPoll poll_http();

  std::string source_;
  FeedOptions options_;
  std::chrono::milliseconds timeout_;
  std::chrono::milliseconds settle_;
  // file
  std::optional<std::pair<std::int64_t, std::int64_t>> last_stat_;  // (mtime ns, size) of the last snapshot
  // http
  std::string etag_;
  std::string last_modified_;
  std::optional<std::chrono::system_clock::time_point> produced_at_;
};

}  // namespace cuifu
