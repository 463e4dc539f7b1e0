#pragma once
// Time-parallel two-pass evaluation of any recurrence whose effect over a span of steps is
// an affine map of its state (first-order scans, the selective scan, chunked state
// passing), for when there are too few independent sequences to fill the threads.
//
// Time is cut into chunks; per chunk k:
//   pass 1  summarize: the chunk's map from a zero state (first-order scan: the product of
//           a, and the local end state);
//   carry   the state entering chunk k+1 = map_k(state entering chunk k): published as
//           soon as map_k and the carry into k are known (a chain of n small maps);
//   pass 2  scan chunk k exactly from its carry (the fix-up), writing the outputs.
// Chunks are dealt round-robin to the threads, and a thread runs pass 2 of a chunk right
// after its pass 1 and the carry's arrival, while the chunk's inputs are still in cache
// (the "decoupled look-back" schedule): DRAM traffic stays near one read of the inputs,
// not two. Pass 2 of chunk k waits only for pass 1 of the chunks before it, never for
// their pass 2.
//
// The task supplies the work on one chunk (its own outputs, its own kernels):
//   std::size_t state_size() const;   std::size_t summary_size() const;
//   void scan(index_t begin, index_t len, T* state) const;        // exact, state in/out
//   void summarize(index_t begin, index_t len, T* summary) const; // the chunk's map
//   void apply(index_t begin, index_t len, const T* summary, T* state) const;  // state <- map(state)
// Every chunk is summarised, and scan(k) always runs on the same thread right after
// summarize(k) (and apply), so a task may keep per-chunk work in thread-local scratch
// between the two (the scan ops keep the computed coefficients there).
// Chunks and the carry chain depend only on `chunk`, never on the thread count, so results
// are bitwise identical for any number of threads. Uses the calling thread's workspace
// slot 1.
#include <algorithm>
#include <atomic>
#include <cstring>
#include <new>

#include "seqmix/core/tensor.hpp"
#include "seqmix/core/threading.hpp"
#include "seqmix/core/workspace.hpp"

namespace seqmix::kernels::scan {

template <class T, class Task>
void two_pass(const Task& task, index_t steps, index_t chunk, int threads, T* state) {
  if (steps <= 0) return;
  chunk = std::max<index_t>(chunk, 1);
  const index_t n = (steps + chunk - 1) / chunk;
  const std::size_t S = task.state_size(), M = task.summary_size();
  // workspace: n ready flags (one cache line each), n carries, n summaries
  constexpr std::size_t line = 64;
  const std::size_t flag_bytes = std::size_t(n) * line;
  std::byte* ws = static_cast<std::byte*>(
      thread_workspace(1).reserve(flag_bytes + std::size_t(n) * (S + M) * sizeof(T) + line));
  T* carry = reinterpret_cast<T*>(ws + flag_bytes);
  T* summary = carry + std::size_t(n) * S;
  const auto flag = [&](index_t k) { return reinterpret_cast<std::atomic<int>*>(ws + std::size_t(k) * line); };
  for (index_t k = 0; k < n; ++k) new (flag(k)) std::atomic<int>(0);
  std::memcpy(carry, state, S * sizeof(T));
  flag(0)->store(1, std::memory_order_relaxed);
  const auto len = [&](index_t k) { return std::min(chunk, steps - k * chunk); };

  parallel_region(static_cast<int>(std::min<index_t>(std::max(threads, 1), n)), [&](int tid, int nthr) {
    for (index_t k = tid; k < n; k += nthr) {
      T* mk = summary + std::size_t(k) * M;
      T* ck = carry + std::size_t(k) * S;
      task.summarize(k * chunk, len(k), mk);
      // brief spin, then sleep on the flag (futex): on an oversubscribed machine a
      // spinning or yielding waiter would burn the time slices its producer needs
      for (int spins = 0; flag(k)->load(std::memory_order_acquire) == 0; ++spins)
        if (spins > 256) flag(k)->wait(0, std::memory_order_acquire);
      if (k + 1 < n) {
        T* next = carry + std::size_t(k + 1) * S;
        std::memcpy(next, ck, S * sizeof(T));
        task.apply(k * chunk, len(k), mk, next);
        flag(k + 1)->store(1, std::memory_order_release);
        flag(k + 1)->notify_all();
      }
      task.scan(k * chunk, len(k), ck);
    }
  });
  std::memcpy(state, carry + std::size_t(n - 1) * S, S * sizeof(T));
}

}  // namespace seqmix::kernels::scan
