#pragma once
// Arguments of the gated_delta_rule op (OPS.md), per batch entry and head:
//   S_t = e^{g_t} (I - β_t k_t k_tᵀ) S_{t-1} + β_t k_t v_tᵀ,   o_t = S_tᵀ (scale · q_t)
// g is a log decay (g <= 0 in the models; any finite g is computed as written).
#include <cstdint>
#include <optional>
#include <span>

#include "seqmix/core/tensor.hpp"

namespace seqmix {

template <class T>
struct gated_delta_rule_args {
  const_view<T, 4> q;                 // [B,T,H,K]
  const_view<T, 4> k;                 // [B,T,H,K]
  const_view<T, 4> v;                 // [B,T,H,V]
  const_view<T, 3> beta;              // [B,T,H]
  const_view<T, 3> g;                 // [B,T,H] log decay
  tensor_view<T, 4> o;                // [B,T,H,V]
  const_view<T, 4> initial_state;     // optional [N,H,K,V]
  tensor_view<T, 4> final_state;      // optional [N,H,K,V]; may alias initial_state
  std::span<const std::int64_t> cu_seqlens = {};  // optional [N+1], B == 1
  std::optional<double> scale = {};   // default 1/sqrt(K)
};

}  // namespace seqmix
