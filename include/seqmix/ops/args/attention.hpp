#pragma once
// Arguments of the attention op (OPS.md): softmax attention of T queries against S >= T
// keys (the queries are the last T positions), causal or not, sliding window, GQA/MQA,
// FoX forget gate and ALiBi biases, varlen packing (queries and keys of a sequence each
// packed along their own axis).
#include <cstdint>
#include <optional>
#include <span>

#include "seqmix/core/tensor.hpp"

namespace seqmix {

template <class T>
struct attention_args {
  const_view<T, 4> q;             // [B,T,HQ,K]
  const_view<T, 4> k;             // [B,S,H,K], S >= T, HQ % H == 0
  const_view<T, 4> v;             // [B,S,H,V]
  tensor_view<T, 4> o;            // [B,T,HQ,V]
  const_view<T, 3> g;             // optional [B,S,HQ]: FoX log forget gate per key position
  const_view<T, 1> alibi_slopes;  // optional [HQ]: ALiBi slope m_h (bias -m_h·|p - s|)
  // Varlen (B == 1): sequence i has the query rows [cu_seqlens[i], cu_seqlens[i+1]) and the
  // key rows [cu_seqlens_k[i], cu_seqlens_k[i+1]); its queries are the last of its key
  // positions (a cache of the earlier ones), so each needs keys >= queries. Without
  // cu_seqlens_k the key rows are the query rows (S == T).
  std::span<const std::int64_t> cu_seqlens = {};    // optional [N+1]: offsets into T
  std::span<const std::int64_t> cu_seqlens_k = {};  // optional [N+1], with cu_seqlens: offsets into S
  std::optional<double> scale = {};  // default 1/sqrt(K)
  bool causal = true;
  index_t window = 0;  // 0: none; else only keys with |p - s| < window
};

}  // namespace seqmix
