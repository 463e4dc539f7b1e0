#pragma once
// The causal_conv1d op: validates, then runs the SIMD kernel (form `direct`).
#include <string>

#include "seqmix/core/check.hpp"
#include "seqmix/core/options.hpp"
#include "seqmix/core/threading.hpp"
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
  reference::causal_conv1d(a);
}

}  // namespace seqmix
