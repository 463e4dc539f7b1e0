#pragma once
// The rwkv6 op: validates, then dispatches to a kernel form.
#include <algorithm>
#include <string>

#include "seqmix/core/check.hpp"
#include "seqmix/core/options.hpp"
#include "seqmix/core/threading.hpp"
#include "seqmix/kernels/chunk/rwkv6.hpp"
#include "seqmix/ops/detail/chunk_ops.hpp"
#include "seqmix/ops/args/rwkv6.hpp"
#include "seqmix/reference/rwkv6.hpp"

namespace seqmix {

template <class T>
detail::sequences validate(const rwkv6_args<T>& a) {
  constexpr const char* op = "rwkv6";
  detail::check_shape(op, "r", a.r, {-1, -1, -1, -1});
  const index_t B = a.r.extent(0), L = a.r.extent(1), H = a.r.extent(2), K = a.r.extent(3);
  detail::check_same_shape(op, "k", a.k, "r", a.r);
  detail::check_shape(op, "v", a.v, {B, L, H, -1});
  const index_t V = a.v.extent(3);
  detail::check_same_shape(op, "w", a.w, "r", a.r);
  detail::check_shape(op, "u", a.u, {H, K});
  detail::check_shape(op, "o", a.o, {B, L, H, V});
  detail::check_positive(op, "head count H (r.shape[2])", H);
  detail::sequences seqs(op, B, L, a.cu_seqlens);
  detail::check_optional_shape(op, "initial_state", a.initial_state, {seqs.count(), H, K, V});
  detail::check_optional_shape(op, "final_state", a.final_state, {seqs.count(), H, K, V});
  return seqs;
}

namespace detail {
// Heads per work item of the RWKV recurrent kernels (they run in lockstep over chunks of
// steps; the grouping does not change any head's arithmetic).
inline constexpr index_t rwkv_heads_per_item = 8;

template <class T, std::size_t R>
kernels::rwkv_detail::rows_view<T> rows_of(const tensor_view<T, R>& x, const sequence_span& q, index_t h0) {
  return {x.ptr(q.batch, q.begin, h0), x.stride(1), x.stride(2)};
}

// Heads [h0, h0+G) of one sequence of rwkv6 or rwkv5 (w given as rows, ld_t = 0 for rwkv5).
template <class T, class Args>
void rwkv6_item(const Args& a, const sequence_span& q, index_t h0, index_t G,
                kernels::rwkv_detail::rows_view<const T> w) {
  kernels::rwkv6_group_io<T> io{};
  io.r = rows_of(a.r, q, h0);
  io.k = rows_of(a.k, q, h0);
  io.v = rows_of(a.v, q, h0);
  io.o = rows_of(a.o, q, h0);
  io.w = w;
  io.u = {a.u.ptr(h0), 0, a.u.stride(0)};
  if (!a.initial_state.empty()) {
    io.s0 = a.initial_state.ptr(q.state, h0);
    io.s0_ld_h = a.initial_state.stride(1);
    io.s0_ld_r = a.initial_state.stride(2);
  }
  if (!a.final_state.empty()) {
    io.sN = a.final_state.ptr(q.state, h0);
    io.sN_ld_h = a.final_state.stride(1);
    io.sN_ld_r = a.final_state.stride(2);
  }
  kernels::rwkv6_group<xsimd::default_arch, T>(io, std::size_t(q.length), std::size_t(G), std::size_t(a.r.extent(3)),
                                               std::size_t(a.v.extent(3)), a.scale);
}

// f(q, h0, G) over every (sequence, group of heads).
template <class F>
void for_rwkv_groups(const sequences& seqs, index_t H, int threads, F&& f) {
  const index_t per = rwkv_heads_per_item, groups = (H + per - 1) / per;
  parallel_for(seqs.count() * groups, threads, [&](index_t item) {
    const index_t h0 = (item % groups) * per;
    f(seqs[item / groups], h0, std::min(per, H - h0));
  });
}

// rwkv6 is GLA with a strictly causal readout plus the u bonus; the chunked and parallel
// forms run the chunk engine (kernels/chunk/engine.hpp) with its `u` option.
template <class T, class Args>
void rwkv6_chunk_engine(const Args& a, const sequences& seqs, const run_options& opt) {
  const index_t H = a.r.extent(2), K = a.r.extent(3), V = a.v.extent(3);
  run_chunk_op<kernels::chunk::decay_kind::vector, T>(
      seqs, H, K, V, 0, 0, a.initial_state, a.final_state, false, opt,
      [&](kernels::chunk::problem<T>& p, const sequence_span& sq, index_t h, T*) {
        bind_qkvo(p, a.r, a.k, a.v, a.o, sq, h);
        p.scale = a.scale;
        p.u = a.u.ptr(h);
        if constexpr (std::remove_cvref_t<decltype(a.w)>::rank == 2) {  // rwkv5: fixed decay
          p.g = a.w.ptr(h);
          p.ldg = 0;
        } else {
          p.g = a.w.ptr(sq.batch, sq.begin, h);
          p.ldg = a.w.stride(1);
        }
      },
      [](const auto&, const auto&, index_t, T*) {});
}
}  // namespace detail

// Forms: recurrent (SIMD row-scaled state; what auto picks), chunked and parallel (the chunk
// engine). Chunk sizes: multiples of 16 in [16, 256].
template <class T>
void rwkv6(const rwkv6_args<T>& a, const run_options& opt = {}) {
  const detail::sequences seqs = validate(a);
  detail::check_chunk_form("rwkv6", opt);
  if (opt.kernel_form == form::chunked || opt.kernel_form == form::parallel) {
    detail::rwkv6_chunk_engine<T>(a, seqs, opt);
    return;
  }
  detail::for_rwkv_groups(seqs, a.r.extent(2), resolve_threads(opt), [&](const auto& q, index_t h0, index_t G) {
    detail::rwkv6_item<T>(a, q, h0, G, detail::rows_of(a.w, q, h0));
  });
}

}  // namespace seqmix
