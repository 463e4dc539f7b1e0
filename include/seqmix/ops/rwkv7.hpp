#pragma once
// The rwkv7 op: validates, then dispatches to a kernel form.
#include <string>

#include "seqmix/core/check.hpp"
#include "seqmix/core/options.hpp"
#include "seqmix/core/threading.hpp"
#include "seqmix/kernels/chunk/rwkv7.hpp"
#include "seqmix/ops/args/rwkv7.hpp"
#include "seqmix/ops/rwkv6.hpp"  // detail::for_rwkv_groups, rows_of
#include "seqmix/reference/rwkv7.hpp"

namespace seqmix {

template <class T>
detail::sequences validate(const rwkv7_args<T>& a) {
  constexpr const char* op = "rwkv7";
  detail::check_shape(op, "r", a.r, {-1, -1, -1, -1});
  const index_t B = a.r.extent(0), L = a.r.extent(1), H = a.r.extent(2);
  detail::check_same_shape(op, "w", a.w, "r", a.r);
  detail::check_same_shape(op, "k", a.k, "r", a.r);
  detail::check_same_shape(op, "a", a.a, "r", a.r);
  detail::check_same_shape(op, "b", a.b, "r", a.r);
  detail::check_shape(op, "v", a.v, {B, L, H, -1});
  const index_t K = a.r.extent(3), V = a.v.extent(3);
  detail::check_shape(op, "o", a.o, {B, L, H, V});
  detail::check_positive(op, "head count H (r.shape[2])", H);
  detail::sequences seqs(op, B, L, a.cu_seqlens);
  detail::check_optional_shape(op, "initial_state", a.initial_state, {seqs.count(), H, K, V});
  detail::check_optional_shape(op, "final_state", a.final_state, {seqs.count(), H, K, V});
  return seqs;
}

template <class T>
void rwkv7(const rwkv7_args<T>& a, const run_options& opt = {}) {
  const detail::sequences seqs = validate(a);
  switch (opt.kernel_form) {
    case form::auto_:
    case form::recurrent: break;
    default:
      throw option_error("rwkv7: form '" + std::string(to_string(opt.kernel_form)) +
                         "' is not available (forms: recurrent)");
  }
  const T scale = a.resolved_scale();
  detail::for_rwkv_groups(seqs, a.r.extent(2), resolve_threads(opt), [&](const auto& q, index_t h0, index_t G) {
    kernels::rwkv7_group_io<T> io{};
    io.r = detail::rows_of(a.r, q, h0);
    io.w = detail::rows_of(a.w, q, h0);
    io.k = detail::rows_of(a.k, q, h0);
    io.a = detail::rows_of(a.a, q, h0);
    io.b = detail::rows_of(a.b, q, h0);
    io.v = detail::rows_of(a.v, q, h0);
    io.o = detail::rows_of(a.o, q, h0);
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
    kernels::rwkv7_group<xsimd::default_arch, T>(io, std::size_t(q.length), std::size_t(G),
                                                 std::size_t(a.r.extent(3)), std::size_t(a.v.extent(3)), scale);
  });
}

}  // namespace seqmix
