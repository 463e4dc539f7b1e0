#pragma once
// The linear_scan op: h_t = e^{g_t} ⊙ h_{t-1} + x_t, o_t = h_t. Validates, then dispatches
// to a kernel form (recurrent, chunked two-pass over time, parallel associative scan).
#include "seqmix/core/check.hpp"
#include "seqmix/core/options.hpp"
#include "seqmix/kernels/scan/sources.hpp"
#include "seqmix/ops/args/linear_scan.hpp"
#include "seqmix/ops/detail/scan_ops.hpp"
#include "seqmix/reference/linear_scan.hpp"

namespace seqmix {

template <class T>
detail::sequences validate(const linear_scan_args<T>& a) {
  constexpr const char* op = "linear_scan";
  detail::check_shape(op, "x", a.x, {-1, -1, -1});
  detail::check_same_shape(op, "g", a.g, "x", a.x);
  detail::check_same_shape(op, "o", a.o, "x", a.x);
  detail::sequences seqs(op, a.x.extent(0), a.x.extent(1), a.cu_seqlens);
  detail::check_optional_shape(op, "initial_state", a.initial_state, {seqs.count(), a.x.extent(2)});
  detail::check_optional_shape(op, "final_state", a.final_state, {seqs.count(), a.x.extent(2)});
  return seqs;
}

template <class T, class Arch = xsimd::default_arch>
void linear_scan(const linear_scan_args<T>& a, const run_options& opt = {}) {
  const auto seqs = validate(a);
  detail::run_real_scan<Arch, false>(
      "linear_scan", seqs, a.x.extent(2), 3, opt,
      [&](const detail::sequence_span& q) {
        return kernels::scan::linear_scan_source<T>{a.x.ptr(q.batch, q.begin), a.x.stride(1),
                                                    a.g.ptr(q.batch, q.begin), a.g.stride(1)};
      },
      a.o, a.initial_state, a.final_state);
}

}  // namespace seqmix
