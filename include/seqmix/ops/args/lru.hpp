#pragma once
// Arguments of the lru op (OPS.md): λ = exp(-exp(nu_log) + i·exp(theta_log)),
// γ = sqrt(1 - |λ|²), h_t = λ ⊙ h_{t-1} + γ ⊙ x_t (complex); o[B,T,D,2] = (Re h_t, Im h_t).
#include <cstdint>
#include <span>

#include "seqmix/core/tensor.hpp"

namespace seqmix {

template <class T>
struct lru_args {
  const_view<T, 3> x_re;           // [B,T,D] real part of the input B x_t
  const_view<T, 3> x_im;           // [B,T,D] imaginary part
  const_view<T, 1> nu_log;         // [D]
  const_view<T, 1> theta_log;      // [D]
  tensor_view<T, 4> o;             // [B,T,D,2] (re, im)
  const_view<T, 3> initial_state;  // optional [N,D,2]
  tensor_view<T, 3> final_state;   // optional [N,D,2]
  std::span<const std::int64_t> cu_seqlens = {};  // optional [N+1], B == 1
};

}  // namespace seqmix
