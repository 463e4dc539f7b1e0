#pragma once
// The rwkv4 op: validates, then dispatches to a kernel form (recurrent).
#include <algorithm>
#include <string>

#include "seqmix/core/check.hpp"
#include "seqmix/core/options.hpp"
#include "seqmix/core/threading.hpp"
#include "seqmix/kernels/scan/rwkv4.hpp"
#include "seqmix/ops/args/rwkv4.hpp"
#include "seqmix/reference/rwkv4.hpp"

namespace seqmix {

template <class T>
detail::sequences validate(const rwkv4_args<T>& a) {
  constexpr const char* op = "rwkv4";
  detail::check_shape(op, "k", a.k, {-1, -1, -1});
  const index_t B = a.k.extent(0), L = a.k.extent(1), D = a.k.extent(2);
  detail::check_same_shape(op, "v", a.v, "k", a.k);
  detail::check_shape(op, "w", a.w, {D});
  detail::check_shape(op, "u", a.u, {D});
  detail::check_same_shape(op, "o", a.o, "k", a.k);
  detail::sequences seqs(op, B, L, a.cu_seqlens);
  detail::check_optional_shape(op, "initial_state", a.initial_state, {seqs.count(), 3, D});
  detail::check_optional_shape(op, "final_state", a.final_state, {seqs.count(), 3, D});
  return seqs;
}

template <class T>
void rwkv4(const rwkv4_args<T>& a, const run_options& opt = {}) {
  const detail::sequences seqs = validate(a);
  switch (opt.kernel_form) {
    case form::auto_:
    case form::recurrent: break;
    default:
      throw option_error("rwkv4: form '" + std::string(to_string(opt.kernel_form)) +
                         "' is not available (forms: recurrent)");
  }
  const index_t D = a.k.extent(2);
  if (a.v.stride(1) != a.k.stride(1) || a.o.stride(1) != a.k.stride(1)) {  // unusual strides: the plain loops
    reference::rwkv4(a);
    return;
  }
  constexpr index_t block = 64;  // channels per work item
  const index_t nblocks = (D + block - 1) / block;
  parallel_for(seqs.count() * nblocks, resolve_threads(opt), [&](index_t item) {
    const auto q = seqs[item / nblocks];
    const index_t c0 = (item % nblocks) * block, width = std::min(block, D - c0);
    T st[3][block];
    for (int r = 0; r < 3; ++r)
      for (index_t c = 0; c < width; ++c) st[r][c] = a.initial_state.empty() ? T(0) : a.initial_state(q.state, r, c0 + c);
    if (q.length > 0)
      kernels::rwkv4<xsimd::default_arch, T>(a.k.ptr(q.batch, q.begin) + c0, a.v.ptr(q.batch, q.begin) + c0,
                                             a.w.data() + c0, a.u.data() + c0, a.o.ptr(q.batch, q.begin) + c0, st[0],
                                             st[1], st[2], std::size_t(q.length), std::size_t(width), a.k.stride(1));
    if (!a.final_state.empty())
      for (int r = 0; r < 3; ++r)
        for (index_t c = 0; c < width; ++c) a.final_state(q.state, r, c0 + c) = st[r][c];
  });
}

}  // namespace seqmix
