#pragma once
// Arguments of the rwkv5 op (OPS.md): rwkv6 with a fixed log decay per head and channel,
//   o_t = (S_{t-1} + Diag(u) k_t v_tᵀ)ᵀ (scale·r_t),  S_t = Diag(e^{w}) S_{t-1} + k_t v_tᵀ.
#include <cstdint>
#include <span>

#include "seqmix/core/tensor.hpp"

namespace seqmix {

template <class T>
struct rwkv5_args {
  const_view<T, 4> r;              // [B,T,H,K] receptance
  const_view<T, 4> k;              // [B,T,H,K]
  const_view<T, 4> v;              // [B,T,H,V]
  const_view<T, 2> w;              // [H,K] log decay (<= 0), fixed over time
  const_view<T, 2> u;              // [H,K] bonus
  tensor_view<T, 4> o;             // [B,T,H,V]
  const_view<T, 4> initial_state;  // optional [N,H,K,V]
  tensor_view<T, 4> final_state;   // optional [N,H,K,V]
  std::span<const std::int64_t> cu_seqlens = {};  // optional [N+1], B == 1
  T scale = T(1);
};

}  // namespace seqmix
