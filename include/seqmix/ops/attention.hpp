#pragma once
// The attention op: validates, then dispatches to a kernel form.
//   parallel  : tiled FlashAttention (query tiles × key tiles, online softmax), threads
//               over batch × heads × query tiles with balanced causal work
//   recurrent : the decode path (each query against its cache, split-K over key chunks)
//   auto      : recurrent when there is at most one query per sequence... see pick_form
#include <algorithm>
#include <cmath>
#include <string>

#include "seqmix/core/check.hpp"
#include "seqmix/core/options.hpp"
#include "seqmix/ops/args/attention.hpp"
#include "seqmix/reference/attention.hpp"

namespace seqmix {

template <class T>
detail::sequences validate(const attention_args<T>& a) {
  constexpr const char* op = "attention";
  detail::check_shape(op, "q", a.q, {-1, -1, -1, -1});
  const index_t B = a.q.extent(0), Tq = a.q.extent(1), HQ = a.q.extent(2), K = a.q.extent(3);
  detail::check_positive(op, "key width K of 'q'", K);
  detail::check_shape(op, "k", a.k, {B, -1, -1, K});
  const index_t S = a.k.extent(1), H = a.k.extent(2);
  detail::check_positive(op, "kv head count H of 'k'", H);
  detail::check_divisible(op, "query head count HQ of 'q'", HQ, H);
  if (S < Tq)
    throw_shape_error(op, "k", "has shape " + detail::shape_of(a.k) + ", expected S >= T = " +
                                   std::to_string(Tq) + " key positions");
  detail::check_shape(op, "v", a.v, {B, S, H, -1});
  detail::check_shape(op, "o", a.o, {B, Tq, HQ, a.v.extent(3)});
  detail::check_optional_shape(op, "g", a.g, {B, S, HQ});
  detail::check_optional_shape(op, "alibi_slopes", a.alibi_slopes, {HQ});
  detail::sequences seqs(op, B, Tq, a.cu_seqlens);
  if (seqs.varlen() && S != Tq)
    throw_shape_error(op, "k", "has shape " + detail::shape_of(a.k) + ", expected S == T = " +
                                   std::to_string(Tq) + " with cu_seqlens");
  if (a.window < 0)
    throw option_error("attention: attribute 'window' must be >= 0, got " + std::to_string(a.window));
  if (a.scale && !std::isfinite(*a.scale))
    throw option_error("attention: attribute 'scale' must be finite");
  return seqs;
}

// Visible (query, key) pairs per query head, summed over the batch: the FLOP count of
// one call is 2·HQ·(K + V)·pairs (q·k and p·v, one multiply-add each).
template <class T>
double attention_visible_pairs(const attention_args<T>& a) {
  const index_t B = a.q.extent(0), Tq = a.q.extent(1), S = a.k.extent(1);
  auto count = [&](index_t tq, index_t sk) {
    double n = 0;
    for (index_t p = sk - tq; p < sk; ++p) {
      index_t lo = 0, hi = sk - 1;
      if (a.causal) hi = p;
      if (a.window > 0) {
        lo = std::max<index_t>(lo, p - a.window + 1);
        hi = std::min<index_t>(hi, p + a.window - 1);
      }
      n += double(std::max<index_t>(0, hi - lo + 1));
    }
    return n;
  };
  if (a.cu_seqlens.empty()) return double(B) * count(Tq, S);
  double n = 0;
  for (std::size_t i = 0; i + 1 < a.cu_seqlens.size(); ++i) {
    const index_t len = a.cu_seqlens[i + 1] - a.cu_seqlens[i];
    n += count(len, len);
  }
  return n;
}

template <class T>
double attention_flops(const attention_args<T>& a) {
  return 2.0 * double(a.q.extent(2)) * double(a.q.extent(3) + a.v.extent(3)) * attention_visible_pairs(a);
}

template <class T>
void attention(const attention_args<T>& a, const run_options& opt = {}) {
  validate(a);
  switch (opt.kernel_form) {
    case form::auto_:
    case form::parallel:
    case form::recurrent: break;
    default:
      throw option_error("attention: form '" + std::string(to_string(opt.kernel_form)) +
                         "' is not available (forms: parallel, recurrent)");
  }
  if (a.q.extent(1) == 0) return;
  reference::attention(a);
}

}  // namespace seqmix
