#pragma once
// The min_lstm op (OPS.md): f = σ(f_raw), i = σ(i_raw),
// h_t = f/(f+i) ⊙ h_{t-1} + i/(f+i) ⊙ ĝ(h_raw_t), o_t = h_t. Forms as min_gru.
#include "seqmix/core/check.hpp"
#include "seqmix/core/options.hpp"
#include "seqmix/kernels/scan/sources.hpp"
#include "seqmix/ops/args/min_lstm.hpp"
#include "seqmix/ops/detail/scan_ops.hpp"
#include "seqmix/reference/min_lstm.hpp"

namespace seqmix {

template <class T>
detail::sequences validate(const min_lstm_args<T>& a) {
  constexpr const char* op = "min_lstm";
  detail::check_shape(op, "f_raw", a.f_raw, {-1, -1, -1});
  detail::check_same_shape(op, "i_raw", a.i_raw, "f_raw", a.f_raw);
  detail::check_same_shape(op, "h_raw", a.h_raw, "f_raw", a.f_raw);
  detail::check_same_shape(op, "o", a.o, "f_raw", a.f_raw);
  detail::sequences seqs(op, a.f_raw.extent(0), a.f_raw.extent(1), a.cu_seqlens);
  detail::check_optional_shape(op, "initial_state", a.initial_state, {seqs.count(), a.f_raw.extent(2)});
  detail::check_optional_shape(op, "final_state", a.final_state, {seqs.count(), a.f_raw.extent(2)});
  return seqs;
}

template <class T, class Arch = xsimd::default_arch>
void min_lstm(const min_lstm_args<T>& a, const run_options& opt = {}) {
  const auto seqs = validate(a);
  detail::run_real_scan<Arch, true>(
      "min_lstm", seqs, a.f_raw.extent(2), 4, opt,
      [&](const detail::sequence_span& q) {
        return kernels::scan::min_lstm_source<T>{a.f_raw.ptr(q.batch, q.begin), a.f_raw.stride(1),
                                                 a.i_raw.ptr(q.batch, q.begin), a.i_raw.stride(1),
                                                 a.h_raw.ptr(q.batch, q.begin), a.h_raw.stride(1)};
      },
      a.o, a.initial_state, a.final_state);
}

}  // namespace seqmix
