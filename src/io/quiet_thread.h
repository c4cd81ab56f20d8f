#pragma once
// Threads and the daemon's signals (SIGHUP, SIGINT, SIGTERM).
//
// The daemon waits for its signals on the event loop (asio::signal_set), whose handler only
// notes the signal for the loop. The kernel hands a signal sent to the process (systemctl
// reload, kill -HUP, Ctrl-C) to any one of its threads that does not block it. Two rules keep
// that simple and safe:
// - every other thread the daemon starts (channel workers, the planning runner, the status
//   server) blocks these signals from its first instruction, and the threads those start (the
//   planner's pool, the feed reader's, curl's resolver) inherit the mask: only the loop's
//   thread takes them;
// - the loop's thread holds them while it joins a thread. Under ThreadSanitizer a SIGHUP that
//   landed while the loop joined a retired channel worker deadlocked the daemon: glibc frees
//   the thread's memory inside pthread_join, the sanitizer runs the handler at once because
//   the thread is in a blocking call, and the handler waits for a lock that free holds. Held,
//   the signal is taken a few microseconds later, when the join is over.
#include <pthread.h>

#include <csignal>
#include <thread>
#include <utility>

namespace cuifu {

// The signals the daemon handles.
inline sigset_t daemon_signals() {
  sigset_t set;
  sigemptyset(&set);
  for (const int s : {SIGHUP, SIGINT, SIGTERM}) sigaddset(&set, s);
  return set;
}

// Blocks daemon_signals() in the calling thread for its lifetime, then restores the mask it
// found: a signal that came meanwhile is taken then, not lost.
class SignalsHeld {
 public:
  SignalsHeld() {
    const sigset_t held = daemon_signals();
    pthread_sigmask(SIG_BLOCK, &held, &old_);
  }
  ~SignalsHeld() { pthread_sigmask(SIG_SETMASK, &old_, nullptr); }
  SignalsHeld(const SignalsHeld&) = delete;
  SignalsHeld& operator=(const SignalsHeld&) = delete;

 private:
  sigset_t old_;
};

// std::thread(f), started with daemon_signals() blocked (a new thread starts with its
// creator's mask); the caller's own mask is left as it was.
template <class F>
std::thread thread_without_signals(F&& f) {
  const SignalsHeld held;
  return std::thread(std::forward<F>(f));
}

// t.join(), with daemon_signals() held meanwhile.
inline void join_holding_signals(std::thread& t) {
  const SignalsHeld held;
  t.join();
}

}  // namespace cuifu
