#pragma once
// Shared validation and form handling of the chunk-engine ops (linear_attn, retention,
// simple_gla, gla, ssd).
#include <string>
#include <string_view>

#include "seqmix/core/check.hpp"
#include "seqmix/core/options.hpp"
#include "seqmix/core/tensor.hpp"

namespace seqmix::detail {

// q,k [B,T,H,K], v,o [B,T,H,V], states [N,H,K,V]; returns the sequence layout.
template <class T>
sequences validate_qkv(std::string_view op, const const_view<T, 4>& q, const const_view<T, 4>& k,
                       const const_view<T, 4>& v, const tensor_view<T, 4>& o, const const_view<T, 4>& s0,
                       const tensor_view<T, 4>& s1, std::span<const std::int64_t> cu) {
  check_shape(op, "q", q, {-1, -1, -1, -1});
  const index_t B = q.extent(0), L = q.extent(1), H = q.extent(2), K = q.extent(3);
  check_same_shape(op, "k", k, "q", q);
  check_shape(op, "v", v, {B, L, H, -1});
  check_same_shape(op, "o", o, "v", v);
  check_positive(op, "K (q.shape[3])", K);
  check_positive(op, "V (v.shape[3])", v.extent(3));
  sequences seqs(op, B, L, cu);
  check_optional_shape(op, "initial_state", s0, {seqs.count(), H, K, v.extent(3)});
  check_optional_shape(op, "final_state", s1, {seqs.count(), H, K, v.extent(3)});
  return seqs;
}

// The chunk ops have the forms recurrent, chunked, parallel; chunk sizes 16..256.
inline void check_chunk_form(std::string_view op, const run_options& opt) {
  switch (opt.kernel_form) {
    case form::auto_:
    case form::recurrent:
    case form::chunked:
    case form::parallel: break;
    default:
      throw option_error(std::string(op) + ": form '" + std::string(to_string(opt.kernel_form)) +
                         "' is not available (forms: recurrent, chunked, parallel)");
  }
  if (opt.chunk != 0 && (opt.chunk < 16 || opt.chunk > 256 || opt.chunk % 16 != 0))
    throw option_error(std::string(op) + ": chunk size " + std::to_string(opt.chunk) +
                       " is not supported (a multiple of 16 in [16, 256])");
}

}  // namespace seqmix::detail
