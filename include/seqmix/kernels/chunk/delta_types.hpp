#pragma once
// One (sequence, head) problem of the delta-rule kernels: pointers to the first time step
// of the head's slices and the strides between steps (in elements).
//   S_t = e^{g_t} (I - β_t k_t k_tᵀ) S_{t-1} + β_t k_t v_tᵀ,   o_t = S_tᵀ (scale · q_t)
#include "seqmix/core/tensor.hpp"

namespace seqmix::kernels::chunk {

template <class T>
struct delta_head {
  const T* q;     // [L, K], rows ld_q apart
  const T* k;     // [L, K], rows ld_k apart
  const T* v;     // [L, V], rows ld_v apart
  const T* beta;  // [L], ld_b apart
  const T* g;     // [L], ld_g apart; nullptr: no decay (delta_rule)
  T* o;           // [L, V], rows ld_o apart
  index_t ld_q, ld_k, ld_v, ld_o, ld_b, ld_g;
  index_t L, K, V;
  T scale;
};

}  // namespace seqmix::kernels::chunk
