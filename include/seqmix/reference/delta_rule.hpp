#pragma once
// Reference (executable spec) of delta_rule and, through delta_impl::delta_rule_reference,
// gated_delta_rule: the recurrence step by step, S kept as a K×V array. No shape checks.
#include <cmath>
#include <vector>

#include "seqmix/core/check.hpp"
#include "seqmix/ops/args/delta_rule.hpp"

namespace seqmix::reference {
namespace delta_impl {

// g may be absent (delta_rule: e^{g} = 1).
template <class T>
void delta_rule_reference(const char* op, const_view<T, 4> q, const_view<T, 4> k, const_view<T, 4> v,
                          const_view<T, 3> beta, const_view<T, 3> g, tensor_view<T, 4> o,
                          const_view<T, 4> initial_state, tensor_view<T, 4> final_state,
                          std::span<const std::int64_t> cu_seqlens, std::optional<double> scale_opt) {
  const seqmix::detail::sequences seqs(op, q.extent(0), q.extent(1), cu_seqlens);
  const index_t H = q.extent(2), K = q.extent(3), V = v.extent(3);
  const T scale = static_cast<T>(scale_opt.value_or(1.0 / std::sqrt(double(K))));
  std::vector<T> S(static_cast<std::size_t>(K * V)), kS(static_cast<std::size_t>(V));
  for (index_t s = 0; s < seqs.count(); ++s) {
    const auto sq = seqs[s];
    for (index_t h = 0; h < H; ++h) {
      for (index_t i = 0; i < K; ++i)
        for (index_t j = 0; j < V; ++j)
          S[i * V + j] = initial_state.empty() ? T(0) : initial_state(sq.state, h, i, j);
      for (index_t t = sq.begin; t < sq.begin + sq.length; ++t) {
        const index_t b = sq.batch;
        const T decay = g.empty() ? T(1) : std::exp(g(b, t, h));
        const T bt = beta(b, t, h);
        // kS = k_tᵀ S_{t-1}
        for (index_t j = 0; j < V; ++j) {
          T acc = 0;
          for (index_t i = 0; i < K; ++i) acc += k(b, t, h, i) * S[i * V + j];
          kS[j] = acc;
        }
        // S_t = e^g (S - β k kS) + β k vᵀ
        for (index_t i = 0; i < K; ++i)
          for (index_t j = 0; j < V; ++j)
            S[i * V + j] = decay * (S[i * V + j] - bt * k(b, t, h, i) * kS[j]) + bt * k(b, t, h, i) * v(b, t, h, j);
        // o_t = S_tᵀ (scale q_t)
        for (index_t j = 0; j < V; ++j) {
          T acc = 0;
          for (index_t i = 0; i < K; ++i) acc += scale * q(b, t, h, i) * S[i * V + j];
          o(b, t, h, j) = acc;
        }
      }
      if (!final_state.empty())
        for (index_t i = 0; i < K; ++i)
          for (index_t j = 0; j < V; ++j) final_state(sq.state, h, i, j) = S[i * V + j];
    }
  }
}

}  // namespace delta_impl

template <class T>
void delta_rule(const delta_rule_args<T>& a) {
  delta_impl::delta_rule_reference<T>("delta_rule", a.q, a.k, a.v, a.beta, {}, a.o, a.initial_state, a.final_state,
                                  a.cu_seqlens, a.scale);
}

}  // namespace seqmix::reference
