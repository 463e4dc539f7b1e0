#pragma once
// Arguments of the selective_scan op (OPS.md, Mamba-1):
//   Δ = softplus(dt + dt_bias) (no softplus when dt_softplus is false),
//   h_t[d,n] = e^{Δ_t[d] A[d,n]} h_{t-1}[d,n] + Δ_t[d] B_t[g,n] x_t[d],  g = d / (D/G),
//   o_t[d] = (Σ_n C_t[g,n] h_t[d,n] + D[d] x_t[d]) · silu(z_t[d]).
#include <cstdint>
#include <span>

#include "seqmix/core/tensor.hpp"

namespace seqmix {

template <class T>
struct selective_scan_args {
  const_view<T, 3> x;              // [B,T,D]
  const_view<T, 3> dt;             // [B,T,D] (raw when dt_softplus, else already positive)
  const_view<T, 2> A;              // [D,N] (negative: A = -exp(A_log))
  const_view<T, 4> B;              // [B,T,G,N]
  const_view<T, 4> C;              // [B,T,G,N]
  tensor_view<T, 3> o;             // [B,T,D]
  const_view<T, 3> z;              // optional [B,T,D] gate (o *= silu(z))
  const_view<T, 1> D;              // optional [D] skip
  const_view<T, 1> dt_bias;        // optional [D]
  const_view<T, 3> initial_state;  // optional [N_seq,D,N]
  tensor_view<T, 3> final_state;   // optional [N_seq,D,N]; may alias initial_state
  std::span<const std::int64_t> cu_seqlens = {};  // optional [N_seq+1], B == 1
  bool dt_softplus = true;
};

}  // namespace seqmix
