#pragma once
// Reference (executable spec) of attention: plain loops, one query at a time, an explicit
// softmax over the visible keys. No shape checks (the op did them); T may be float or
// double (double is the test oracle).
//
// Query t of a sequence with Tq queries and Sk keys sits at position p = t + Sk - Tq.
// Key s is visible when (causal: s <= p) and (window > 0: |p - s| < window). Logit:
//   scale·q_t·k_s + bias(p, s),  bias = Σ_{j between s and p, excluding the earlier one} g_j
//                                       - m_h·|p - s|            (FoX gate, ALiBi)
// i.e. for s <= p the FoX term is Σ_{j=s+1..p} g_j (OPS.md); for s > p (non-causal only)
// it is the mirror image Σ_{j=p+1..s} g_j.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "seqmix/core/check.hpp"
#include "seqmix/ops/args/attention.hpp"

namespace seqmix::reference {

template <class T>
void attention(const attention_args<T>& a) {
  const index_t B = a.q.extent(0), Tq_all = a.q.extent(1), HQ = a.q.extent(2), K = a.q.extent(3);
  const index_t S_all = a.k.extent(1), H = a.k.extent(2), V = a.v.extent(3);
  const index_t group = HQ / H;
  const double scale = a.scale ? *a.scale : 1.0 / std::sqrt(double(K));
  // sequences: (batch, first query row, first key row, query count, key count)
  struct seq { index_t b, q0, k0, tq, sk; };
  std::vector<seq> seqs;
  if (a.cu_seqlens.empty()) {
    for (index_t b = 0; b < B; ++b) seqs.push_back({b, 0, 0, Tq_all, S_all});
  } else {
    for (std::size_t i = 0; i + 1 < a.cu_seqlens.size(); ++i) {
      const index_t lo = a.cu_seqlens[i], n = a.cu_seqlens[i + 1] - lo;
      if (a.cu_seqlens_k.empty()) seqs.push_back({0, lo, lo, n, n});
      else seqs.push_back({0, lo, a.cu_seqlens_k[i], n, a.cu_seqlens_k[i + 1] - a.cu_seqlens_k[i]});
    }
  }
  std::vector<double> logits, cum;
  for (const auto& sq : seqs)
    for (index_t h = 0; h < HQ; ++h) {
      const index_t kh = h / group;
      // cum[x] = Σ_{0<j<=x} g_j over this sequence's key rows (0 without a gate; g_0 never
      // enters a bias Σ_{j=s+1..p}, so it is left out: a NaN there changes nothing)
      cum.assign(static_cast<std::size_t>(sq.sk), 0.0);
      double run = 0;
      for (index_t x = 0; x < sq.sk; ++x) {
        if (!a.g.empty() && x > 0) run += double(a.g(sq.b, sq.k0 + x, h));
        cum[x] = run;
      }
      const double slope = a.alibi_slopes.empty() ? 0.0 : double(a.alibi_slopes(h));
      for (index_t t = 0; t < sq.tq; ++t) {
        const index_t p = t + sq.sk - sq.tq;
        logits.assign(static_cast<std::size_t>(sq.sk), -std::numeric_limits<double>::infinity());
        double mx = -std::numeric_limits<double>::infinity();
        for (index_t s = 0; s < sq.sk; ++s) {
          if (a.causal && s > p) continue;
          if (a.window > 0 && std::abs(p - s) >= a.window) continue;
          double dot = 0;
          for (index_t d = 0; d < K; ++d)
            dot += double(a.q(sq.b, sq.q0 + t, h, d)) * double(a.k(sq.b, sq.k0 + s, kh, d));
          const double fox = s <= p ? cum[p] - cum[s] : cum[s] - cum[p];
          logits[s] = scale * dot + fox - slope * double(std::abs(p - s));
          mx = std::max(mx, logits[s]);
        }
        double den = 0;
        for (index_t s = 0; s < sq.sk; ++s) {
          logits[s] = std::isinf(logits[s]) && logits[s] < 0 ? 0.0 : std::exp(logits[s] - mx);
          den += logits[s];
        }
        for (index_t e = 0; e < V; ++e) {
          double acc = 0;
          for (index_t s = 0; s < sq.sk; ++s)
            if (logits[s] != 0) acc += logits[s] * double(a.v(sq.b, sq.k0 + s, kh, e));
          a.o(sq.b, sq.q0 + t, h, e) = static_cast<T>(acc / den);
        }
      }
    }
}

}  // namespace seqmix::reference
