#pragma once
// The delta_rule op: validates, then dispatches to a kernel form.
#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

#include "seqmix/core/check.hpp"
#include "seqmix/core/options.hpp"
#include "seqmix/core/threading.hpp"
#include "seqmix/core/workspace.hpp"
#include "seqmix/kernels/chunk/delta_chunked.hpp"
#include "seqmix/kernels/chunk/delta_recurrent.hpp"
#include "seqmix/ops/args/delta_rule.hpp"
#include "seqmix/reference/delta_rule.hpp"

namespace seqmix {
namespace detail {

// Shapes shared by delta_rule and gated_delta_rule (g checked by the caller).
template <class T>
sequences validate_delta(const char* op, const const_view<T, 4>& q, const const_view<T, 4>& k,
                         const const_view<T, 4>& v, const const_view<T, 3>& beta, const tensor_view<T, 4>& o,
                         const const_view<T, 4>& initial_state, const tensor_view<T, 4>& final_state,
                         std::span<const std::int64_t> cu_seqlens) {
  check_shape(op, "q", q, {-1, -1, -1, -1});
  check_same_shape(op, "k", k, "q", q);
  const index_t B = q.extent(0), L = q.extent(1), H = q.extent(2), K = q.extent(3);
  check_shape(op, "v", v, {B, L, H, -1});
  const index_t V = v.extent(3);
  check_shape(op, "beta", beta, {B, L, H});
  check_same_shape(op, "o", o, "v", v);
  check_positive(op, "head count H (q.shape[2])", H);
  sequences seqs(op, B, L, cu_seqlens);
  check_optional_shape(op, "initial_state", initial_state, {seqs.count(), H, K, V});
  check_optional_shape(op, "final_state", final_state, {seqs.count(), H, K, V});
  // each head's K×V state is copied as one block: its rows must be contiguous
  if (!initial_state.empty() && K * V > 0 && initial_state.stride(2) != V)
    throw_shape_error(op, "initial_state", "must have contiguous K×V blocks");
  if (!final_state.empty() && K * V > 0 && final_state.stride(2) != V)
    throw_shape_error(op, "final_state", "must have contiguous K×V blocks");
  return seqs;
}

// Forms: recurrent, chunked (C in {16, 32, 64, 128}). Returns the form and chunk to run.
// auto: recurrent. On a CPU the chunked form does at least the recurrence's work per token
// (6KV for Q·S_0, W·S_0, KᵀU against 3 FMAs per state element) plus O(C·(K+V)), while the
// column-blocked recurrent kernel runs from L1 at 80-97% of FMA peak; measured, the
// recurrent form is 2-4x faster than chunked<C> at every shape benchmarked (README).
inline std::pair<form, index_t> pick_delta_form(const char* op, const run_options& opt) {
  index_t C = opt.chunk;
  if (C != 0 && C != 16 && C != 32 && C != 64 && C != 128)
    throw option_error(std::string(op) + ": chunk size " + std::to_string(C) +
                       " is not supported (16, 32, 64 or 128)");
  if (C == 0) C = 64;
  switch (opt.kernel_form) {
    case form::auto_: return {form::recurrent, C};
    case form::recurrent:
    case form::chunked: return {opt.kernel_form, C};
    default:
      throw option_error(std::string(op) + ": form '" + std::string(to_string(opt.kernel_form)) +
                         "' is not available (forms: recurrent, chunked)");
  }
}

// Runs every (sequence, head) item on the chosen kernel, threads over items. g may be
// absent. initial_state and final_state may alias: each item reads its initial state into
// a private buffer before anything writes its final state.
template <class T>
void run_delta(const char* op, const sequences& seqs, const const_view<T, 4>& q, const const_view<T, 4>& k,
               const const_view<T, 4>& v, const const_view<T, 3>& beta, const const_view<T, 3>& g,
               const tensor_view<T, 4>& o, const const_view<T, 4>& s0, const tensor_view<T, 4>& s1,
               std::optional<double> scale, const run_options& opt) {
  const index_t H = q.extent(2), K = q.extent(3), V = v.extent(3);
  const index_t n = seqs.count();
  const auto [f, C] = pick_delta_form(op, opt);
  const T sc = static_cast<T>(scale.value_or(K > 0 ? 1.0 / std::sqrt(double(K)) : 1.0));
  parallel_for(n * H, resolve_threads(opt), [&, f = f, C = C](index_t item) {
    const index_t s = item / H, h = item % H;
    const auto sq = seqs[s];
    T* S = thread_workspace(0).get<T>(static_cast<std::size_t>(std::max<index_t>(K * V, 1)));
    if (s0.empty()) std::fill_n(S, K * V, T(0));
    else std::copy_n(s0.ptr(sq.state, h), K * V, S);
    if (sq.length > 0) {
      kernels::chunk::delta_head<T> p{q.ptr(sq.batch, sq.begin, h), k.ptr(sq.batch, sq.begin, h),
                                      v.ptr(sq.batch, sq.begin, h), beta.ptr(sq.batch, sq.begin, h),
                                      g.empty() ? nullptr : g.ptr(sq.batch, sq.begin, h),
                                      o.ptr(sq.batch, sq.begin, h), q.stride(1), k.stride(1), v.stride(1),
                                      o.stride(1), beta.stride(1), g.empty() ? 0 : g.stride(1), sq.length, K, V,
                                      sc};
      if (f == form::chunked) kernels::chunk::delta_chunked<xsimd::default_arch, T>(p, S, C);
      else kernels::chunk::delta_recurrent<xsimd::default_arch, T>(p, S);
    }
    if (!s1.empty()) std::copy_n(S, K * V, s1.ptr(sq.state, h));
  });
}

}  // namespace detail

template <class T>
detail::sequences validate(const delta_rule_args<T>& a) {
  return detail::validate_delta<T>("delta_rule", a.q, a.k, a.v, a.beta, a.o, a.initial_state, a.final_state,
                                   a.cu_seqlens);
}

template <class T>
void delta_rule(const delta_rule_args<T>& a, const run_options& opt = {}) {
  const auto seqs = validate(a);
  detail::run_delta<T>("delta_rule", seqs, a.q, a.k, a.v, a.beta, {}, a.o, a.initial_state, a.final_state, a.scale,
                       opt);
}

}  // namespace seqmix
