#pragma once
// Arguments of the min_gru op (OPS.md): z = σ(z_raw), h_t = (1 - z_t) ⊙ h_{t-1} + z_t ⊙ ĝ(h_raw_t),
// ĝ(x) = x + 0.5 (x >= 0), σ(x) (x < 0); o_t = h_t.
#include <cstdint>
#include <span>

#include "seqmix/core/tensor.hpp"

namespace seqmix {

template <class T>
struct min_gru_args {
  const_view<T, 3> z_raw;          // [B,T,D] pre-activation update gate
  const_view<T, 3> h_raw;          // [B,T,D] pre-activation candidate
  tensor_view<T, 3> o;             // [B,T,D]
  const_view<T, 2> initial_state;  // optional [N,D] (N = B, or the number of sequences with cu_seqlens)
  tensor_view<T, 2> final_state;   // optional [N,D]
  std::span<const std::int64_t> cu_seqlens = {};  // optional [N+1], B == 1
};

}  // namespace seqmix
