#pragma once
// Time-parallel two-pass evaluation of any recurrence whose effect over a span of steps is
// an affine map of its state (first-order scans, the selective scan, chunked state
// passing), for when there are too few independent sequences to fill the threads.
//
//   pass 1 (parallel over chunks): chunk 0 is scanned exactly from the initial state;
//          chunks 1..n-2 are summarised as maps from a zero state (for a first-order
//          scan: the product of a, and the local end state);
//   carry (sequential, n small maps): the state entering every chunk;
//   pass 2 (parallel over chunks): chunks 1..n-1 are scanned exactly from their carry.
//
// The task supplies the work on one chunk (its own outputs, its own kernels):
//   std::size_t state_size() const;   std::size_t summary_size() const;
//   void scan(index_t begin, index_t len, T* state) const;        // exact, state in/out
//   void summarize(index_t begin, index_t len, T* summary) const; // the chunk's map
//   void apply(index_t begin, index_t len, const T* summary, T* state) const;  // state <- map(state)
// Chunks depend only on `chunk`, never on the thread count, so results are bitwise
// identical for any number of threads. Uses the calling thread's workspace slot 1.
#include <algorithm>
#include <cstring>

#include "seqmix/core/tensor.hpp"
#include "seqmix/core/threading.hpp"
#include "seqmix/core/workspace.hpp"

namespace seqmix::kernels::scan {

template <class T, class Task>
void two_pass(const Task& task, index_t steps, index_t chunk, int threads, T* state) {
  if (steps <= 0) return;
  chunk = std::max<index_t>(chunk, 1);
  const index_t n = (steps + chunk - 1) / chunk;
  if (n == 1) {
    task.scan(0, steps, state);
    return;
  }
  const std::size_t S = task.state_size(), M = task.summary_size();
  T* carry = thread_workspace(1).template get<T>(static_cast<std::size_t>(n) * (S + M));
  T* summary = carry + static_cast<std::size_t>(n) * S;
  const auto len = [&](index_t k) { return std::min(chunk, steps - k * chunk); };
  std::memcpy(carry + S, state, S * sizeof(T));
  parallel_for(n - 1, threads, [&](index_t k) {
    if (k == 0) task.scan(0, len(0), carry + S);
    else task.summarize(k * chunk, len(k), summary + k * M);
  });
  for (index_t k = 1; k + 1 < n; ++k) {
    std::memcpy(carry + (k + 1) * S, carry + k * S, S * sizeof(T));
    task.apply(k * chunk, len(k), summary + k * M, carry + (k + 1) * S);
  }
  parallel_for(n - 1, threads, [&](index_t j) { task.scan((j + 1) * chunk, len(j + 1), carry + (j + 1) * S); });
  std::memcpy(state, carry + (n - 1) * S, S * sizeof(T));
}

}  // namespace seqmix::kernels::scan
