#pragma once
// Arguments of the retention op (OPS.md), per batch entry and head h:
//   S_t = γ_h S_{t-1} + k_t v_tᵀ,  o_t = S_tᵀ (scale · q_t),  γ_h = 1 - 2^(-5-h)
// S is K×V.
#include <cmath>
#include <cstdint>
#include <optional>
#include <span>

#include "seqmix/core/tensor.hpp"

namespace seqmix {

template <class T>
struct retention_args {
  const_view<T, 4> q;                 // [B,T,H,K]
  const_view<T, 4> k;                 // [B,T,H,K]
  const_view<T, 4> v;                 // [B,T,H,V]
  tensor_view<T, 4> o;                // [B,T,H,V]
  const_view<T, 4> initial_state;     // optional [N,H,K,V]
  tensor_view<T, 4> final_state;      // optional [N,H,K,V]; may alias initial_state
  std::span<const std::int64_t> cu_seqlens = {};  // optional [N+1], B == 1
  std::optional<double> scale = {};   // default 1/sqrt(K)
};

// log γ_h = log(1 - 2^(-5-h)), computed in double.
inline double retention_log_decay(std::int64_t h) {
  return std::log1p(-std::exp2(-5.0 - static_cast<double>(h)));
}

}  // namespace seqmix
