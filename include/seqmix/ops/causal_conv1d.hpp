#pragma once
// The causal_conv1d op: validates, then runs the SIMD kernel (form `direct`).
#include <algorithm>
#include <string>

#include "seqmix/core/check.hpp"
#include "seqmix/core/options.hpp"
#include "seqmix/core/threading.hpp"
#include "seqmix/core/workspace.hpp"
#include "seqmix/kernels/conv/causal_conv1d.hpp"
#include "seqmix/ops/args/causal_conv1d.hpp"
#include "seqmix/reference/causal_conv1d.hpp"

namespace seqmix {

template <class T>
detail::sequences validate(const causal_conv1d_args<T>& a) {
  constexpr const char* op = "causal_conv1d";
  detail::check_shape(op, "x", a.x, {-1, -1, -1});
  const index_t D = a.x.extent(2);
  detail::check_shape(op, "weight", a.weight, {D, -1});
  const index_t W = a.weight.extent(1);
  detail::check_positive(op, "width W of 'weight'", W);
  detail::check_optional_shape(op, "bias", a.bias, {D});
  detail::check_same_shape(op, "o", a.o, "x", a.x);
  detail::sequences seqs(op, a.x.extent(0), a.x.extent(1), a.cu_seqlens);
  if (W > 1) {
    detail::check_optional_shape(op, "initial_state", a.initial_state, {seqs.count(), D, W - 1});
    detail::check_optional_shape(op, "final_state", a.final_state, {seqs.count(), D, W - 1});
  }
  return seqs;
}

template <class T>
void causal_conv1d(const causal_conv1d_args<T>& a, const run_options& opt = {}) {
  validate(a);
  switch (opt.kernel_form) {
    case form::auto_:
    case form::direct: break;
    default:
      throw option_error("causal_conv1d: form '" + std::string(to_string(opt.kernel_form)) +
                         "' is not available (forms: direct)");
  }
  const detail::sequences seqs("causal_conv1d", a.x.extent(0), a.x.extent(1), a.cu_seqlens);
  const index_t D = a.x.extent(2), W = a.weight.extent(1), S = W - 1;
  if (W > kernels::causal_conv1d_max_width) {  // very wide filters: long_conv's territory
    reference::causal_conv1d(a);
    return;
  }
  // Transposed weights [W][D] and, per sequence, the S inputs before its start [S][D],
  // in the calling thread's workspace (slot 1); copied before any output is written, so
  // the states may alias.
  const index_t nseq = seqs.count();
  const std::size_t floats = static_cast<std::size_t>((W + nseq * S) * D + 15) / 16 * 16;
  auto* ws = static_cast<unsigned char*>(
      thread_workspace(1).reserve(floats * sizeof(T) + static_cast<std::size_t>(nseq + 1) * sizeof(index_t)));
  T* wt = reinterpret_cast<T*>(ws);
  T* hist = wt + W * D;
  index_t* first = reinterpret_cast<index_t*>(ws + floats * sizeof(T));  // first item of each sequence
  for (index_t c = 0; c < D; ++c)
    for (index_t i = 0; i < W; ++i) wt[i * D + c] = a.weight(c, i);
  for (index_t s = 0; s < nseq; ++s)
    for (index_t c = 0; c < D; ++c)
      for (index_t j = 0; j < S; ++j)
        hist[(s * S + j) * D + c] = a.initial_state.empty() ? T(0) : a.initial_state(s, c, j);
  // Work items: (sequence, block of time steps), all channels, time outermost so x and o
  // stream through memory once. Every output element is computed by the same code
  // whatever the partition: bitwise identical results for any thread count.
  constexpr index_t block = 128;
  first[0] = 0;
  for (index_t s = 0; s < nseq; ++s) first[s + 1] = first[s] + std::max<index_t>(1, (seqs[s].length + block - 1) / block);
  const T* bias = a.bias.empty() ? nullptr : a.bias.data();
  parallel_for(first[nseq], resolve_threads(opt), [&](index_t item) {
    const index_t s = static_cast<index_t>(std::upper_bound(first, first + nseq + 1, item) - first) - 1;
    const auto q = seqs[s];
    const index_t t0 = (item - first[s]) * block, t1 = std::min(q.length, t0 + block);
    const T* x = a.x.ptr(q.batch, q.begin);
    const T* h = hist + s * S * D;
    kernels::causal_conv1d(x, a.x.stride(1), a.o.ptr(q.batch, q.begin), a.o.stride(1), t0, t1, wt, bias, h,
                           static_cast<std::size_t>(D), static_cast<int>(W), a.activation);
    if (t1 == q.length && !a.final_state.empty())  // the last S inputs of the sequence
      for (index_t c = 0; c < D; ++c)
        for (index_t j = 0; j < S; ++j) {
          const index_t r = q.length - S + j;
          a.final_state(q.state, c, j) = r < 0 ? h[(r + S) * D + c] : x[r * a.x.stride(1) + c];
        }
  });
}

}  // namespace seqmix
