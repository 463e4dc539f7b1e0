#pragma once
// Arguments of the min_lstm op (OPS.md): f = σ(f_raw), i = σ(i_raw),
// h_t = f/(f+i) ⊙ h_{t-1} + i/(f+i) ⊙ ĝ(h_raw_t); o_t = h_t.
#include <cstdint>
#include <span>

#include "seqmix/core/tensor.hpp"

namespace seqmix {

template <class T>
struct min_lstm_args {
  const_view<T, 3> f_raw;          // [B,T,D] pre-activation forget gate
  const_view<T, 3> i_raw;          // [B,T,D] pre-activation input gate
  const_view<T, 3> h_raw;          // [B,T,D] pre-activation candidate
  tensor_view<T, 3> o;             // [B,T,D]
  const_view<T, 2> initial_state;  // optional [N,D]
  tensor_view<T, 2> final_state;   // optional [N,D]
  std::span<const std::int64_t> cu_seqlens = {};  // optional [N+1], B == 1
};

}  // namespace seqmix
