#pragma once
// Arguments of the rwkv4 op (OPS.md), per channel d with decay e^{-w[d]} (w > 0) and bonus u:
//   o_t = (Σ_{i<t} e^{-(t-1-i)w + k_i} v_i + e^{u+k_t} v_t) / (Σ_{i<t} e^{-(t-1-i)w + k_i} + e^{u+k_t})
// State (a, b, p) per channel: the past sums are a·e^p (numerator) and b·e^p (denominator).
#include <cstdint>
#include <span>

#include "seqmix/core/tensor.hpp"

namespace seqmix {

template <class T>
struct rwkv4_args {
  const_view<T, 3> k;              // [B,T,D]
  const_view<T, 3> v;              // [B,T,D]
  const_view<T, 1> w;              // [D] decay rate (> 0), decay per step e^{-w}
  const_view<T, 1> u;              // [D] bonus of the current token
  tensor_view<T, 3> o;             // [B,T,D]
  const_view<T, 3> initial_state;  // optional [N,3,D]: rows a (num), b (den), p (max exponent); zeros = empty past
  tensor_view<T, 3> final_state;   // optional [N,3,D]
  std::span<const std::int64_t> cu_seqlens = {};  // optional [N+1], B == 1
};

}  // namespace seqmix
