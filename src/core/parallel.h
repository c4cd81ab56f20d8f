// Work split over threads for plan() and the backtest's replay: buyers are independent, so
// contiguous runs of them go to threads, each into its own part, and the caller joins the
// parts in order (which makes the result the single-threaded one, byte for byte).
// std::jthread, not a pool from a library: core depends on std and fmt only.
#pragma once

#include <algorithm>
#include <cstddef>
#include <exception>
#include <iterator>
#include <thread>
#include <vector>

namespace cuifu {

// How many parts to split `items` into: `requested`, or for 0 one per core but no more than
// one per `per_part` units of `work` (fewer and a thread costs more than it saves); never more
// than there are items, at least one.
inline std::size_t part_count(std::size_t requested, std::size_t work, std::size_t per_part, std::size_t items) {
  std::size_t parts = requested;
  if (parts == 0) {
    parts = std::max(1u, std::thread::hardware_concurrency());
    parts = std::min(parts, std::max<std::size_t>(1, work / per_part));
  }
  return std::max<std::size_t>(1, std::min(parts, items));
}

// Calls work(first, last, part) for `parts` contiguous ranges [first, last) of the items, cut so
// that each holds about the same total of `weights` (one weight per item), each on its own
// thread (on the calling thread when there is one part). Waits for all, then rethrows the first
// exception any of them threw.
template <class Work>
void run_in_parts(const std::vector<std::size_t>& weights, std::size_t parts, Work&& work) {
  const std::size_t items = weights.size();
  if (parts <= 1) {
    work(std::size_t{0}, items, std::size_t{0});
    return;
  }
  std::size_t total = 0;
  for (const std::size_t w : weights) total += w;
  std::vector<std::size_t> cut{0};
  std::size_t seen = 0;
  for (std::size_t i = 0; i < items && cut.size() < parts; ++i) {
    seen += weights[i];
    if (seen * parts >= total * cut.size()) cut.push_back(i + 1);
  }
  while (cut.size() <= parts) cut.push_back(items);
  cut.back() = items;
  std::vector<std::exception_ptr> errors(parts);
  {
    std::vector<std::jthread> workers;
    for (std::size_t p = 0; p < parts; ++p) {
      workers.emplace_back([&, p] {
        try {
          work(cut[p], cut[p + 1], p);
        } catch (...) {
          errors[p] = std::current_exception();
        }
      });
    }
  }
  for (const auto& e : errors) {
    if (e) std::rethrow_exception(e);
  }
}

// Sorts `items` by `less` as std::stable_sort does (equal items keep their order), on `parts`
// threads: each sorts a contiguous slice, then neighbouring slices are merged in rounds, the
// merges of a round on threads of their own. One part sorts on the calling thread.
template <class T, class Less>
void parallel_stable_sort(std::vector<T>& items, std::size_t parts, Less less) {
  parts = std::max<std::size_t>(1, std::min(parts, items.size()));
  if (parts == 1) {
    std::stable_sort(items.begin(), items.end(), less);
    return;
  }
  std::vector<std::size_t> cut;
  for (std::size_t p = 0; p <= parts; ++p) cut.push_back(items.size() * p / parts);
  const auto at = [&](std::size_t i) { return items.begin() + static_cast<std::ptrdiff_t>(i); };
  const std::vector<std::size_t> ones(parts, 1);
  run_in_parts(ones, parts, [&](std::size_t first, std::size_t, std::size_t) {
    std::stable_sort(at(cut[first]), at(cut[first + 1]), less);
  });
  // Slice 2k and 2k+1 merge into one; the first slice's items come first among equals.
  while (cut.size() > 2) {
    std::vector<std::size_t> next;
    for (std::size_t i = 0; i < cut.size(); i += 2) next.push_back(cut[i]);
    if (next.back() != cut.back()) next.push_back(cut.back());
    const std::size_t merges = (cut.size() - 1) / 2;
    const std::vector<std::size_t> each(merges, 1);
    run_in_parts(each, merges, [&](std::size_t first, std::size_t last, std::size_t) {
      for (std::size_t m = first; m < last; ++m) {
        std::inplace_merge(at(cut[2 * m]), at(cut[2 * m + 1]), at(cut[2 * m + 2]), less);
      }
    });
    cut = std::move(next);
  }
}

}  // namespace cuifu
