#pragma once
// Arguments of the ssd op (Mamba-2 state space duality, OPS.md), per batch entry and head h
// (group gi = h / (H/G)):
//   S_t = e^{dt_t A_h} S_{t-1} + (dt_t x_t) B_tᵀ  (S is P×N),   o_t = S_t C_t + D_h x_t
// On the chunk engine this is k = B, q = C, v = dt·x, scalar log decay dt·A, scale 1.
#include <cstdint>
#include <span>

#include "seqmix/core/tensor.hpp"

namespace seqmix {

template <class T>
struct ssd_args {
  const_view<T, 4> x;                 // [B,T,H,P]
  const_view<T, 3> dt;                // [B,T,H] (already positive)
  const_view<T, 1> A;                 // [H] (negative)
  const_view<T, 4> B;                 // [B,T,G,N]
  const_view<T, 4> C;                 // [B,T,G,N]
  const_view<T, 1> D;                 // optional [H]
  tensor_view<T, 4> o;                // [B,T,H,P]
  const_view<T, 4> initial_state;     // optional [Nseq,H,P,N]
  tensor_view<T, 4> final_state;      // optional [Nseq,H,P,N]; may alias initial_state
  std::span<const std::int64_t> cu_seqlens = {};  // optional [Nseq+1], B == 1
};

}  // namespace seqmix
