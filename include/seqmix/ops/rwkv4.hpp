#pragma once
// The rwkv4 op: validates, then dispatches to a kernel form (recurrent).
#include <string>

#include "seqmix/core/check.hpp"
#include "seqmix/core/options.hpp"
#include "seqmix/core/threading.hpp"
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
  validate(a);
  switch (opt.kernel_form) {
    case form::auto_:
    case form::recurrent: break;
    default:
      throw option_error("rwkv4: form '" + std::string(to_string(opt.kernel_form)) +
                         "' is not available (forms: recurrent)");
  }
  reference::rwkv4(a);
}

}  // namespace seqmix
