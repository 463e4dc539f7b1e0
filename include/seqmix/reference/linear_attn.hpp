#pragma once
// Reference (executable spec) of linear_attn: the recurrence step by step, no shape checks.
#include <algorithm>
#include <cmath>
#include <vector>

#include "seqmix/core/check.hpp"
#include "seqmix/ops/args/linear_attn.hpp"

namespace seqmix::reference {

template <class T>
T apply_feature_map(feature_map m, T x) {
  switch (m) {
    case feature_map::identity: return x;
    case feature_map::elu1: return x > T(0) ? x + T(1) : std::exp(x);
    case feature_map::relu: return x > T(0) ? x : T(0);
  }
  return x;
}

template <class T>
void linear_attn(const linear_attn_args<T>& a) {
  const seqmix::detail::sequences seqs("linear_attn", a.q.extent(0), a.q.extent(1), a.cu_seqlens);
  const index_t H = a.q.extent(2), K = a.q.extent(3), V = a.v.extent(3);
  const T scale = a.scale ? T(*a.scale) : T(1) / std::sqrt(T(K));
  std::vector<T> S(K * V), z(K), phq(K), phk(K);
  for (index_t s = 0; s < seqs.count(); ++s) {
    const auto sq = seqs[s];
    for (index_t h = 0; h < H; ++h) {
      for (index_t i = 0; i < K; ++i) {
        for (index_t j = 0; j < V; ++j) S[i * V + j] = a.initial_state.empty() ? T(0) : a.initial_state(sq.state, h, i, j);
        z[i] = a.initial_normalizer.empty() ? T(0) : a.initial_normalizer(sq.state, h, i);
      }
      for (index_t t = sq.begin; t < sq.begin + sq.length; ++t) {
        for (index_t i = 0; i < K; ++i) {
          phq[i] = apply_feature_map(a.map, a.q(sq.batch, t, h, i));
          phk[i] = apply_feature_map(a.map, a.k(sq.batch, t, h, i));
          z[i] += phk[i];
        }
        for (index_t i = 0; i < K; ++i)
          for (index_t j = 0; j < V; ++j) S[i * V + j] += phk[i] * a.v(sq.batch, t, h, j);
        T den = 0;
        for (index_t i = 0; i < K; ++i) den += scale * phq[i] * z[i];
        for (index_t j = 0; j < V; ++j) {
          T acc = 0;
          for (index_t i = 0; i < K; ++i) acc += S[i * V + j] * scale * phq[i];
          a.o(sq.batch, t, h, j) = a.normalize ? acc / (den + T(1e-10)) : acc;
        }
      }
      for (index_t i = 0; i < K; ++i) {
        if (!a.final_state.empty())
          for (index_t j = 0; j < V; ++j) a.final_state(sq.state, h, i, j) = S[i * V + j];
        if (!a.final_normalizer.empty()) a.final_normalizer(sq.state, h, i) = z[i];
      }
    }
  }
}

}  // namespace seqmix::reference
