#pragma once
// Arguments of the long_conv op (OPS.md): a causal depthwise convolution whose filter
// length L is independent of T,
//   o_t = Σ_{i=0..min(t,L-1)} h[:,i] ⊙ u_{t-i} + D ⊙ u_t.
// `history` (an extension for streaming; not in the runner's table) holds inputs that come
// BEFORE u: the convolution runs over [history; u] and o receives the last T rows. Passing
// the last min(L-1, past) inputs of a sequence makes a split call equal one call.
#include "seqmix/core/tensor.hpp"

namespace seqmix {

template <class T>
struct long_conv_args {
  const_view<T, 3> u;        // [B,T,D]
  const_view<T, 2> h;        // [D,L]
  const_view<T, 1> D;        // optional [D] skip
  tensor_view<T, 3> o;       // [B,T,D]
  const_view<T, 3> history;  // optional [B,P,D]: inputs preceding u (P may be 0)
};

}  // namespace seqmix
