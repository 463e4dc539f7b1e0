#pragma once
// The rwkv5 op: rwkv6 with a fixed log decay per head and channel.
#include <string>

#include "seqmix/core/check.hpp"
#include "seqmix/core/options.hpp"
#include "seqmix/core/threading.hpp"
#include "seqmix/ops/args/rwkv5.hpp"
#include "seqmix/ops/rwkv6.hpp"
#include "seqmix/reference/rwkv5.hpp"

namespace seqmix {

template <class T>
detail::sequences validate(const rwkv5_args<T>& a) {
  constexpr const char* op = "rwkv5";
  detail::check_shape(op, "r", a.r, {-1, -1, -1, -1});
  const index_t B = a.r.extent(0), L = a.r.extent(1), H = a.r.extent(2), K = a.r.extent(3);
  detail::check_same_shape(op, "k", a.k, "r", a.r);
  detail::check_shape(op, "v", a.v, {B, L, H, -1});
  const index_t V = a.v.extent(3);
  detail::check_shape(op, "w", a.w, {H, K});
  detail::check_shape(op, "u", a.u, {H, K});
  detail::check_shape(op, "o", a.o, {B, L, H, V});
  detail::check_positive(op, "head count H (r.shape[2])", H);
  detail::sequences seqs(op, B, L, a.cu_seqlens);
  detail::check_optional_shape(op, "initial_state", a.initial_state, {seqs.count(), H, K, V});
  detail::check_optional_shape(op, "final_state", a.final_state, {seqs.count(), H, K, V});
  return seqs;
}

template <class T>
void rwkv5(const rwkv5_args<T>& a, const run_options& opt = {}) {
  const detail::sequences seqs = validate(a);
  detail::check_chunk_form("rwkv5", opt);
  if (opt.kernel_form == form::chunked || opt.kernel_form == form::parallel) {
    detail::rwkv6_chunk_engine<T>(a, seqs, opt);
    return;
  }
  detail::for_rwkv_groups(seqs, a.r.extent(2), resolve_threads(opt), [&](const auto& q, index_t h0, index_t G) {
    detail::rwkv6_item<T>(a, q, h0, G, kernels::rwkv_detail::rows_view<const T>{a.w.ptr(h0), 0, a.w.stride(0)});
  });
}

}  // namespace seqmix
