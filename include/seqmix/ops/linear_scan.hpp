#pragma once
// The linear_scan op: validates, then dispatches to a kernel form.
#include "seqmix/core/check.hpp"
#include "seqmix/core/options.hpp"
#include "seqmix/ops/args/linear_scan.hpp"
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

template <class T>
void linear_scan(const linear_scan_args<T>& a, const run_options& opt = {}) {
  validate(a);
  switch (opt.kernel_form) {
    case form::auto_:
    case form::recurrent: break;
    default: throw option_error("linear_scan: form '" + std::string(to_string(opt.kernel_form)) +
                                "' is not available (forms: recurrent)");
  }
  reference::linear_scan(a);
}

}  // namespace seqmix
