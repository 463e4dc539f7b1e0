#pragma once
// Arguments of the linear_attn op (OPS.md), per batch entry and head:
//   S_t = S_{t-1} + φ(k_t) v_tᵀ,   o_t = S_tᵀ (scale · φ(q_t))
// and, with `normalize`, o_t /= scale·φ(q_t)·z_t + eps where z_t = z_{t-1} + φ(k_t) (the
// fla convention, eps = 1e-10). S is K×V, z is K. Defaults give the OPS.md semantics
// (identity feature map, no normaliser).
#include <cstdint>
#include <optional>
#include <span>

#include "seqmix/core/tensor.hpp"

namespace seqmix {

enum class feature_map { identity, elu1, relu };  // φ(x) = x | elu(x)+1 | max(x,0)

template <class T>
struct linear_attn_args {
  const_view<T, 4> q;                 // [B,T,H,K]
  const_view<T, 4> k;                 // [B,T,H,K]
  const_view<T, 4> v;                 // [B,T,H,V]
  tensor_view<T, 4> o;                // [B,T,H,V]
  const_view<T, 4> initial_state;     // optional [N,H,K,V] (N = B, or the number of sequences)
  tensor_view<T, 4> final_state;      // optional [N,H,K,V]; may alias initial_state
  std::span<const std::int64_t> cu_seqlens = {};  // optional [N+1], B == 1
  std::optional<double> scale = {};   // default 1/sqrt(K)
  feature_map map = feature_map::identity;
  bool normalize = false;
  const_view<T, 3> initial_normalizer = {};  // optional [N,H,K] running Σ φ(k) (normalize only)
  tensor_view<T, 3> final_normalizer = {};    // optional [N,H,K]; may alias initial_normalizer
};

}  // namespace seqmix
