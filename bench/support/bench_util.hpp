#pragma once
// Shared benchmark fixture: deterministic inputs, the standard counters (tokens/s, GFLOP/s,
// GB/s), and a run_options argument for thread counts. Every kernel benchmark reports
// tokens/s and GFLOP/s so figures can be compared with the machine's FMA peak.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>
#include <vector>

#include "seqmix/core.hpp"

namespace seqmix::bench {

template <class T>
tensor<T> uniform(std::vector<index_t> shape, double lo, double hi, unsigned seed = 1) {
  tensor<T> t(std::move(shape));
  std::mt19937_64 g(seed);
  std::uniform_real_distribution<double> u(lo, hi);
  for (auto& v : t.values()) v = static_cast<T>(u(g));
  return t;
}

// Counters per iteration: tokens/s, GFLOP/s, and optionally GB/s of compulsory traffic.
inline void report(benchmark::State& st, double tokens, double flops, double bytes = 0) {
  using benchmark::Counter;
  st.counters["tokens/s"] = Counter(tokens, Counter::kIsIterationInvariantRate);
  st.counters["GFLOP/s"] = Counter(flops * 1e-9, Counter::kIsIterationInvariantRate);
  if (bytes > 0) st.counters["GB/s"] = Counter(bytes * 1e-9, Counter::kIsIterationInvariantRate);
}

inline run_options threads_option(int threads, form f = form::auto_, int chunk = 0) {
  run_options o;
  o.kernel_form = f;
  o.chunk = chunk;
  o.threads = threads;
  return o;
}

}  // namespace seqmix::bench
