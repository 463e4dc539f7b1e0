#pragma once
// Threading: OpenMP when the consumer compiles with it (SEQMIX_OPENMP in CMake), serial
// otherwise. Work is split statically so results never depend on scheduling: the same
// item always runs the same code on the same data, whatever the thread count.
#include <algorithm>
#include <atomic>
#include <cstdint>

#include "seqmix/config.hpp"
#include "seqmix/core/options.hpp"
#include "seqmix/core/tensor.hpp"

#if SEQMIX_HAS_OPENMP
#include <omp.h>
#endif

namespace seqmix {

namespace detail {
inline std::atomic<int>& thread_setting() noexcept {
  static std::atomic<int> n{0};  // 0: all the runtime offers
  return n;
}
}  // namespace detail

// Threads ops use when run_options::threads is 0. n <= 0 restores the default.
inline void set_num_threads(int n) noexcept { detail::thread_setting() = n > 0 ? n : 0; }

inline int num_threads() noexcept {
  const int n = detail::thread_setting();
  if (n > 0) return n;
#if SEQMIX_HAS_OPENMP
  return std::max(1, omp_get_max_threads());
#else
  return 1;
#endif
}

inline int resolve_threads(const run_options& opt) noexcept {
#if SEQMIX_HAS_OPENMP
  return opt.threads > 0 ? opt.threads : num_threads();
#else
  (void)opt;
  return 1;
#endif
}

// f(i) for i in [0, n), statically partitioned over `threads` threads.
template <class F>
void parallel_for(index_t n, int threads, F&& f) {
  if (n <= 0) return;
#if SEQMIX_HAS_OPENMP
  const int nt = static_cast<int>(std::min<index_t>(std::max(threads, 1), n));
  if (nt > 1 && !omp_in_parallel()) {
#pragma omp parallel for schedule(static) num_threads(nt)
    for (index_t i = 0; i < n; ++i) f(i);
    return;
  }
#else
  (void)threads;
#endif
  for (index_t i = 0; i < n; ++i) f(i);
}

// f(thread_id, nthreads): one call per thread, for kernels that partition work themselves.
template <class F>
void parallel_region(int threads, F&& f) {
#if SEQMIX_HAS_OPENMP
  const int nt = std::max(threads, 1);
  if (nt > 1 && !omp_in_parallel()) {
#pragma omp parallel num_threads(nt)
    f(omp_get_thread_num(), omp_get_num_threads());
    return;
  }
#else
  (void)threads;
#endif
  f(0, 1);
}

}  // namespace seqmix
