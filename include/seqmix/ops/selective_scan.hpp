#pragma once
// The selective_scan op (Mamba-1): validates, then dispatches to a kernel form.
#include <string>

#include "seqmix/core/check.hpp"
#include "seqmix/core/options.hpp"
#include "seqmix/core/threading.hpp"
#include "seqmix/ops/args/selective_scan.hpp"
#include "seqmix/reference/selective_scan.hpp"

namespace seqmix {

template <class T>
detail::sequences validate(const selective_scan_args<T>& a) {
  constexpr const char* op = "selective_scan";
  detail::check_shape(op, "x", a.x, {-1, -1, -1});
  const index_t Bt = a.x.extent(0), L = a.x.extent(1), D = a.x.extent(2);
  detail::check_same_shape(op, "dt", a.dt, "x", a.x);
  detail::check_shape(op, "A", a.A, {D, -1});
  const index_t N = a.A.extent(1);
  detail::check_shape(op, "B", a.B, {Bt, L, -1, N});
  const index_t G = a.B.extent(2);
  detail::check_positive(op, "number of groups G of 'B'", G);
  detail::check_divisible(op, "channels D of 'x'", D, G);
  detail::check_shape(op, "C", a.C, {Bt, L, G, N});
  detail::check_same_shape(op, "o", a.o, "x", a.x);
  if (!a.z.empty()) detail::check_same_shape(op, "z", a.z, "x", a.x);
  detail::check_optional_shape(op, "D", a.D, {D});
  detail::check_optional_shape(op, "dt_bias", a.dt_bias, {D});
  detail::sequences seqs(op, Bt, L, a.cu_seqlens);
  detail::check_optional_shape(op, "initial_state", a.initial_state, {seqs.count(), D, N});
  detail::check_optional_shape(op, "final_state", a.final_state, {seqs.count(), D, N});
  return seqs;
}

template <class T>
void selective_scan(const selective_scan_args<T>& a, const run_options& opt = {}) {
  validate(a);
  switch (opt.kernel_form) {
    case form::auto_:
    case form::recurrent:
    case form::chunked: break;
    default:
      throw option_error("selective_scan: form '" + std::string(to_string(opt.kernel_form)) +
                         "' is not available (forms: recurrent, chunked)");
  }
  if (opt.chunk < 0) throw option_error("selective_scan: chunk size must be positive");
  reference::selective_scan(a);
}

}  // namespace seqmix
