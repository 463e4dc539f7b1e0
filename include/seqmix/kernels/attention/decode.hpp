#pragma once
// Decode attention: one query row (all query heads at one position) against a contiguous
// range of visible keys of its cache, producing the partial softmax state (running max m,
// denominator l, unnormalised output acc) of that range, so that a long cache can be split
// over threads (split-K) and the parts merged exactly. Memory-bound by design: the cache is
// streamed once, position by position, every kv head of a position in one contiguous read;
// the query heads of a GQA group share the keys they read.
#include <algorithm>
#include <limits>
#include <vector>

#include <xsimd/xsimd.hpp>

#include "seqmix/core/workspace.hpp"
#include "seqmix/kernels/attention/common.hpp"
#include "seqmix/simd/math.hpp"

namespace seqmix::kernels::attention {

template <class T>
struct row_problem {
  const T* q = nullptr;  // query head h: q + h·ldq_h
  index_t ldq_h = 0;
  const T* k = nullptr;  // key at position s, kv head kh: k + s·ldk_s + kh·ldk_h
  index_t ldk_s = 0, ldk_h = 0;
  const T* v = nullptr;
  index_t ldv_s = 0, ldv_h = 0;
  index_t HQ = 0, H = 0, K = 0, V = 0;
  double scale = 1;
  const double* cum = nullptr;  // optional: cum[h·ld_cum + x] = Σ_{j<=x} g_j of query head h
  index_t ld_cum = 0;
  const T* slopes = nullptr;    // optional [HQ]
  index_t p = 0;                // the query's position
  bool has_bias() const noexcept { return cum != nullptr || slopes != nullptr; }
  double b(index_t h, index_t x) const noexcept {
    return (cum ? cum[h * ld_cum + x] : 0.0) - (slopes ? double(slopes[h]) * double(x) : 0.0);
  }
};

template <class Arch, class T>
struct decode_kernel {
  using batch = xsimd::batch<T, Arch>;
  static constexpr index_t L = index_t(batch::size);

  // Keys [s_begin, s_end), all visible. m, l: [HQ]; acc: [HQ][V] (row stride V). Starts
  // from the state given (m = lowest, l = 0, acc = 0 for an empty one).
  static void run(const row_problem<T>& r, index_t s_begin, index_t s_end, T* m, T* l, T* acc) {
    const index_t HQ = r.HQ, K = r.K, V = r.V, group = HQ / r.H;
    const index_t Kp = (K + L - 1) / L * L;
    T* ws = thread_workspace(0).template get<T>(std::size_t(HQ * Kp + HQ * L));
    T* qs = ws;            // [HQ][Kp] scaled queries (zero padded)
    T* sc = ws + HQ * Kp;  // [HQ][L] scores, then probabilities, of one block
    const T scale2 = T(r.scale * log2e);
    for (index_t h = 0; h < HQ; ++h)
      for (index_t d = 0; d < Kp; ++d) qs[h * Kp + d] = d < K ? r.q[h * r.ldq_h + d] * scale2 : T(0);
    const bool bias = r.has_bias();
    std::vector<double> bp;
    double bq_buf[64];
    double* bq = HQ <= 64 ? bq_buf : (bp.resize(std::size_t(HQ)), bp.data());
    if (bias)
      for (index_t h = 0; h < HQ; ++h) bq[h] = r.b(h, r.p);
    const index_t KV = K / L * L, VV = V / L * L;

    for (index_t s = s_begin; s < s_end; s += L) {
      const index_t nb = std::min(L, s_end - s);
      for (index_t j = 0; j < L; ++j) {
        if (j >= nb) {
          for (index_t h = 0; h < HQ; ++h) sc[h * L + j] = -std::numeric_limits<T>::infinity();
          continue;
        }
        const index_t pos = s + j;
        const T* krow = r.k + pos * r.ldk_s;
        for (index_t kh = 0; kh < r.H; ++kh) {
          const T* kk = krow + kh * r.ldk_h;
          for (index_t h = kh * group; h < (kh + 1) * group; ++h) {
            const T* qq = qs + h * Kp;
            batch a0(T(0)), a1(T(0));
            index_t d = 0;
            for (; d + 2 * L <= KV; d += 2 * L) {
              a0 = xsimd::fma(batch::load_unaligned(kk + d), batch::load_aligned(qq + d), a0);
              a1 = xsimd::fma(batch::load_unaligned(kk + d + L), batch::load_aligned(qq + d + L), a1);
            }
            for (; d < KV; d += L) a0 = xsimd::fma(batch::load_unaligned(kk + d), batch::load_aligned(qq + d), a0);
            T dot = xsimd::hadd(a0 + a1);
            for (; d < K; ++d) dot += kk[d] * qq[d];
            if (bias) {
              const double bs = r.b(h, pos);
              dot += T(log2e * (pos <= r.p ? bq[h] - bs : bs - bq[h]));
            }
            sc[h * L + j] = dot;
          }
        }
      }
      for (index_t h = 0; h < HQ; ++h) {
        const batch sv = batch::load_aligned(sc + h * L);
        const T mn = std::max(m[h], simd::reduce_max(sv));
        const T alpha = exp2_nonpos(m[h] - mn);
        const batch pv = exp2_nonpos(sv - batch(mn));
        pv.store_aligned(sc + h * L);
        l[h] = l[h] * alpha + xsimd::hadd(pv);
        m[h] = mn;
        if (alpha != T(1)) {
          T* a = acc + h * V;
          for (index_t e = 0; e < V; ++e) a[e] *= alpha;
        }
      }
      // acc[h] += Σ_j p_j v_j: per head and chunk of up to 8 vectors, the accumulators stay in
      // registers across the block's keys
      for (index_t kh = 0; kh < r.H; ++kh)
        for (index_t h = kh * group; h < (kh + 1) * group; ++h) {
          T* a = acc + h * V;
          const T* vv = r.v + s * r.ldv_s + kh * r.ldv_h;
          const T* ph = sc + h * L;
          index_t e = 0;
          for (; e + 8 * L <= VV; e += 8 * L) {
            batch c[8];
            for (int u = 0; u < 8; ++u) c[u] = batch::load_unaligned(a + e + u * L);
            for (index_t j = 0; j < nb; ++j) {
              const batch pb(ph[j]);
              const T* vr = vv + j * r.ldv_s + e;
              for (int u = 0; u < 8; ++u) c[u] = xsimd::fma(pb, batch::load_unaligned(vr + u * L), c[u]);
            }
            for (int u = 0; u < 8; ++u) c[u].store_unaligned(a + e + u * L);
          }
          for (; e < VV; e += L) {
            batch c = batch::load_unaligned(a + e);
            for (index_t j = 0; j < nb; ++j) c = xsimd::fma(batch(ph[j]), batch::load_unaligned(vv + j * r.ldv_s + e), c);
            c.store_unaligned(a + e);
          }
          for (; e < V; ++e)
            for (index_t j = 0; j < nb; ++j) a[e] += ph[j] * vv[j * r.ldv_s + e];
        }
    }
  }
};

}  // namespace seqmix::kernels::attention
