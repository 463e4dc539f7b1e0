#pragma once
// Arguments of the linear_scan op (OPS.md): h_t = e^{g_t} ⊙ h_{t-1} + x_t, o_t = h_t.
#include <cstdint>
#include <span>

#include "seqmix/core/tensor.hpp"

namespace seqmix {

template <class T>
struct linear_scan_args {
  const_view<T, 3> x;              // [B,T,D]
  const_view<T, 3> g;              // [B,T,D] log decay
  tensor_view<T, 3> o;             // [B,T,D]
  const_view<T, 2> initial_state;  // optional [N,D] (N = B, or the number of sequences with cu_seqlens)
  tensor_view<T, 2> final_state;   // optional [N,D]
  std::span<const std::int64_t> cu_seqlens = {};  // optional [N+1], B == 1
};

}  // namespace seqmix
