#pragma once
// The min_gru op (OPS.md): z = σ(z_raw), h_t = (1 - z_t) ⊙ h_{t-1} + z_t ⊙ ĝ(h_raw_t),
// o_t = h_t. Forms: recurrent, chunked (two-pass over time), parallel (log-space
// associative scan, the paper's parallel form in its stable pairwise variant).
#include "seqmix/core/check.hpp"
#include "seqmix/core/options.hpp"
#include "seqmix/kernels/scan/sources.hpp"
#include "seqmix/ops/args/min_gru.hpp"
#include "seqmix/ops/detail/scan_ops.hpp"
#include "seqmix/reference/min_gru.hpp"

namespace seqmix {

template <class T>
detail::sequences validate(const min_gru_args<T>& a) {
  constexpr const char* op = "min_gru";
  detail::check_shape(op, "z_raw", a.z_raw, {-1, -1, -1});
  detail::check_same_shape(op, "h_raw", a.h_raw, "z_raw", a.z_raw);
  detail::check_same_shape(op, "o", a.o, "z_raw", a.z_raw);
  detail::sequences seqs(op, a.z_raw.extent(0), a.z_raw.extent(1), a.cu_seqlens);
  detail::check_optional_shape(op, "initial_state", a.initial_state, {seqs.count(), a.z_raw.extent(2)});
  detail::check_optional_shape(op, "final_state", a.final_state, {seqs.count(), a.z_raw.extent(2)});
  return seqs;
}

template <class T, class Arch = xsimd::default_arch>
void min_gru(const min_gru_args<T>& a, const run_options& opt = {}) {
  const auto seqs = validate(a);
  detail::run_real_scan<Arch, true>(
      "min_gru", seqs, a.z_raw.extent(2), 3, opt,
      [&](const detail::sequence_span& q) {
        return kernels::scan::min_gru_source<T>{a.z_raw.ptr(q.batch, q.begin), a.z_raw.stride(1),
                                                a.h_raw.ptr(q.batch, q.begin), a.h_raw.stride(1)};
      },
      a.o, a.initial_state, a.final_state);
}

}  // namespace seqmix
