#pragma once
// Arguments of the rwkv7 op (OPS.md), per batch and head (S is K×V):
//   S_t = (Diag(e^{w_t}) + b_t a_tᵀ) S_{t-1} + k_t v_tᵀ,  o_t = S_tᵀ (scale·r_t).
// In the RWKV-7 model a = -κ̂ and b = κ̂ ⊙ a_gate, and scale = 1 (the mixer passes it).
#include <cmath>
#include <cstdint>
#include <optional>
#include <span>

#include "seqmix/core/tensor.hpp"

namespace seqmix {

template <class T>
struct rwkv7_args {
  const_view<T, 4> r;              // [B,T,H,K] receptance (the query)
  const_view<T, 4> w;              // [B,T,H,K] log decay (<= 0)
  const_view<T, 4> k;              // [B,T,H,K]
  const_view<T, 4> a;              // [B,T,H,K] the "in-context learning rate" direction read from S
  const_view<T, 4> b;              // [B,T,H,K] the direction it is written back along
  const_view<T, 4> v;              // [B,T,H,V]
  tensor_view<T, 4> o;             // [B,T,H,V]
  const_view<T, 4> initial_state;  // optional [N,H,K,V]
  tensor_view<T, 4> final_state;   // optional [N,H,K,V]
  std::span<const std::int64_t> cu_seqlens = {};  // optional [N+1], B == 1
  std::optional<T> scale = {};     // default 1/sqrt(K) (MIXERS.md convention); the model uses 1

  T resolved_scale() const { return scale ? *scale : T(1) / std::sqrt(T(r.extent(3))); }
};

}  // namespace seqmix
