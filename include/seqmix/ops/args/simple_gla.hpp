#pragma once
// Arguments of the simple_gla op (OPS.md), per batch entry and head:
//   S_t = e^{g_t} S_{t-1} + k_t v_tᵀ,  o_t = S_tᵀ (scale · q_t),  g_t a scalar log decay
// S is K×V.
#include <cstdint>
#include <optional>
#include <span>

#include "seqmix/core/tensor.hpp"

namespace seqmix {

template <class T>
struct simple_gla_args {
  const_view<T, 4> q;                 // [B,T,H,K]
  const_view<T, 4> k;                 // [B,T,H,K]
  const_view<T, 4> v;                 // [B,T,H,V]
  const_view<T, 3> g;                 // [B,T,H] log decay (<= 0)
  tensor_view<T, 4> o;                // [B,T,H,V]
  const_view<T, 4> initial_state;     // optional [N,H,K,V]
  tensor_view<T, 4> final_state;      // optional [N,H,K,V]; may alias initial_state
  std::span<const std::int64_t> cu_seqlens = {};  // optional [N+1], B == 1
  std::optional<double> scale = {};   // default 1/sqrt(K)
};

}  // namespace seqmix
