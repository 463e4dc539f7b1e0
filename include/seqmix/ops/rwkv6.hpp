#pragma once
// The rwkv6 op: validates, then dispatches to a kernel form.
#include <string>

#include "seqmix/core/check.hpp"
#include "seqmix/core/options.hpp"
#include "seqmix/core/threading.hpp"
#include "seqmix/ops/args/rwkv6.hpp"
#include "seqmix/reference/rwkv6.hpp"

namespace seqmix {

template <class T>
detail::sequences validate(const rwkv6_args<T>& a) {
  constexpr const char* op = "rwkv6";
  detail::check_shape(op, "r", a.r, {-1, -1, -1, -1});
  const index_t B = a.r.extent(0), L = a.r.extent(1), H = a.r.extent(2), K = a.r.extent(3);
  detail::check_same_shape(op, "k", a.k, "r", a.r);
  detail::check_shape(op, "v", a.v, {B, L, H, -1});
  const index_t V = a.v.extent(3);
  detail::check_same_shape(op, "w", a.w, "r", a.r);
  detail::check_shape(op, "u", a.u, {H, K});
  detail::check_shape(op, "o", a.o, {B, L, H, V});
  detail::sequences seqs(op, B, L, a.cu_seqlens);
  detail::check_optional_shape(op, "initial_state", a.initial_state, {seqs.count(), H, K, V});
  detail::check_optional_shape(op, "final_state", a.final_state, {seqs.count(), H, K, V});
  return seqs;
}

template <class T>
void rwkv6(const rwkv6_args<T>& a, const run_options& opt = {}) {
  validate(a);
  switch (opt.kernel_form) {
    case form::auto_:
    case form::recurrent: break;
    default:
      throw option_error("rwkv6: form '" + std::string(to_string(opt.kernel_form)) +
                         "' is not available (forms: recurrent, chunked)");
  }
  reference::rwkv6(a);
}

}  // namespace seqmix
