#pragma once
// The recurrent form of the delta rule: one k_tᵀS and one rank-1 update per step, SIMD
// across the value columns of S.
//
// Two things make it fast on a CPU:
// - Column blocks: the columns of S evolve independently (k_tᵀS, the update and S_tᵀq_t
//   all act column by column), so S is processed in blocks of NB SIMD widths (K × 32 floats
//   = 16 KiB for K = 128), each resident in L1 for the whole sequence.
// - One fused pass per step with three FMAs per element: with the decay kept aside as a
//   scalar, S_t = c_t R_t, the update is R_t = R_{t-1} + k_t d_tᵀ with
//   d_t = β_t (v_t / c_t - k_tᵀR_{t-1}); the same pass forms S_tᵀq_t and k_{t+1}ᵀR_t for
//   the next step. log c_t is the running sum of g; when it leaves [-16, 16] the pass folds
//   it into R (R ← c·R + k dᵀ, c = 1), so 1/c_t ≤ e^16 and no exp of an unbounded positive
//   number is taken.
#include <algorithm>
#include <cmath>
#include <cstring>

#include <xsimd/xsimd.hpp>

#include "seqmix/config.hpp"
#include "seqmix/core/workspace.hpp"
#include "seqmix/kernels/chunk/delta_types.hpp"
#include "seqmix/simd/math.hpp"

namespace seqmix::kernels::chunk {

namespace detail {

// One step over a column block (two SIMD widths) of R, K rows, row stride 2 widths:
//   R_i ← a·R_i + k_i d (Scale) or R_i + k_i d;  oacc = Σ q_i R_i;  nacc = Σ kn_i R_i.
// Written out with scalar locals so the six accumulators stay in registers.
template <class B, bool Scale>
SEQMIX_INLINE void delta_fused_pass(typename B::value_type* SEQMIX_RESTRICT R, index_t K,
                                    const typename B::value_type* SEQMIX_RESTRICT k,
                                    const typename B::value_type* SEQMIX_RESTRICT q,
                                    const typename B::value_type* SEQMIX_RESTRICT kn, typename B::value_type a,
                                    const B* d, B* oacc, B* nacc) noexcept {
  constexpr std::size_t W = B::size;
  B o0(0), o1(0), n0(0), n1(0);
  const B d0 = d[0], d1 = d[1], av(a);
  for (index_t i = 0; i < K; ++i) {
    const B ki(k[i]), qi(q[i]), ni(kn[i]);
    typename B::value_type* row = R + i * 2 * W;
    B r0 = B::load_aligned(row), r1 = B::load_aligned(row + W);
    if constexpr (Scale) {
      r0 = xsimd::fma(ki, d0, av * r0);
      r1 = xsimd::fma(ki, d1, av * r1);
    } else {
      r0 = xsimd::fma(ki, d0, r0);
      r1 = xsimd::fma(ki, d1, r1);
    }
    r0.store_aligned(row);
    r1.store_aligned(row + W);
    o0 = xsimd::fma(qi, r0, o0);
    o1 = xsimd::fma(qi, r1, o1);
    n0 = xsimd::fma(ni, r0, n0);
    n1 = xsimd::fma(ni, r1, n1);
  }
  oacc[0] = o0;
  oacc[1] = o1;
  nacc[0] = n0;
  nacc[1] = n1;
}

}  // namespace detail

// Prefetches the n values at p (one hint per cache line).
template <class T>
SEQMIX_INLINE void prefetch_row(const T* p, index_t n) noexcept {
  constexpr index_t per_line = 64 / sizeof(T);
  for (index_t i = 0; i < n; i += per_line) __builtin_prefetch(p + i);
}

// Runs the head's L steps; S is its K×V state (row-major), read at the start and
// overwritten with the final state. Uses thread_workspace(1).
// Time is walked in tiles of 64 steps; inside a tile every column block runs in turn, so a
// tile's q/k/v rows come from memory once (with software prefetch a few steps ahead: the
// rows of one head are H·K apart, one page or more, where hardware prefetchers stop) and
// from L2 for the other blocks. Each block's R, k_{t}ᵀR and log c persist across tiles.
template <class Arch, class T>
void delta_recurrent(const delta_head<T>& p, T* S) {
  using B = xsimd::batch<T, Arch>;
  constexpr std::size_t W = B::size;
  constexpr int NB = 2;  // delta_fused_pass is written for two widths
  constexpr index_t BW = NB * W;
  constexpr index_t tile = 64, ahead = 4;
  constexpr T bound = T(16);
  const index_t K = p.K, V = p.V;
  if (K == 0 || V == 0 || p.L == 0) {
    if (V > 0)  // o is S_tᵀq = 0 when K == 0
      for (index_t t = 0; t < p.L; ++t) std::fill_n(p.o + t * p.ld_o, V, T(0));
    return;
  }
  const index_t nblk = (V + BW - 1) / BW;
  // workspace: R blocks [nblk][K][BW], acc [nblk][BW], per-step factor and output scale of
  // one tile. log c evolves with g alone, so every block shares it and the tile's factors.
  T* Rall = seqmix::thread_workspace(1).get<T>(static_cast<std::size_t>(nblk * (K + 1) * BW + 2 * tile));
  T* accs = Rall + nblk * K * BW;
  T* fac = accs + nblk * BW;
  T* cscale = fac + tile;
  bool fold[tile];
  T lc = 0;  // log c: S = e^{lc} R
  for (index_t blk = 0; blk < nblk; ++blk) {
    const index_t c0 = blk * BW, w = std::min<index_t>(BW, V - c0);
    T* R = Rall + blk * K * BW;
    for (index_t i = 0; i < K; ++i) {
      std::memcpy(R + i * BW, S + i * V + c0, sizeof(T) * w);
      std::fill(R + i * BW + w, R + (i + 1) * BW, T(0));
    }
    B acc[NB];
    for (int j = 0; j < NB; ++j) acc[j] = B(0);
    for (index_t i = 0; i < K; ++i) {
      const B ki(p.k[i]);
      for (int j = 0; j < NB; ++j) acc[j] = xsimd::fma(ki, B::load_aligned(R + i * BW + j * W), acc[j]);
    }
    for (int j = 0; j < NB; ++j) acc[j].store_aligned(accs + blk * BW + j * W);
  }
  for (index_t t0 = 0; t0 < p.L; t0 += tile) {
    const index_t t1 = std::min(p.L, t0 + tile);
    for (index_t t = t0; t < t1; ++t) {
      const T lnew = lc + (p.g ? p.g[t * p.ld_g] : T(0));
      const index_t r = t - t0;
      fold[r] = !(lnew >= -bound && lnew <= bound);
      if (!fold[r]) {  // fast step: factor 1/c, output scale c
        fac[r] = lnew == T(0) ? T(1) : std::exp(-lnew);
        cscale[r] = p.scale * (lnew == T(0) ? T(1) : std::exp(lnew));
        lc = lnew;
      } else {  // fold c into R: factor c, output scale 1
        fac[r] = std::exp(lnew);
        cscale[r] = p.scale;
        lc = 0;
      }
    }
    for (index_t blk = 0; blk < nblk; ++blk) {
      const index_t c0 = blk * BW, w = std::min<index_t>(BW, V - c0);
      T* R = Rall + blk * K * BW;
      auto load_cols = [&](const T* src, B* dst) {
        for (int j = 0; j < NB; ++j) {
          const index_t off = j * index_t(W);
          if (off + index_t(W) <= w) dst[j] = B::load_unaligned(src + off);
          else if (off < w) dst[j] = simd::load_partial<B>(src + off, std::size_t(w - off));
          else dst[j] = B(0);
        }
      };
      auto store_cols = [&](const B* src, T* dst) {
        for (int j = 0; j < NB; ++j) {
          const index_t off = j * index_t(W);
          if (off + index_t(W) <= w) src[j].store_unaligned(dst + off);
          else if (off < w) simd::store_partial(src[j], dst + off, std::size_t(w - off));
        }
      };
      B acc[NB], oacc[NB], d[NB], vv[NB];
      for (int j = 0; j < NB; ++j) acc[j] = B::load_aligned(accs + blk * BW + j * W);
      for (index_t t = t0; t < t1; ++t) {
        if (blk == 0 && t + ahead < p.L) {
          const index_t ta = t + ahead;
          prefetch_row(p.q + ta * p.ld_q, K);
          prefetch_row(p.k + ta * p.ld_k, K);
          prefetch_row(p.v + ta * p.ld_v, V);
          for (index_t i = 0; i < V; i += 64 / index_t(sizeof(T))) __builtin_prefetch(p.o + ta * p.ld_o + i, 1);
          __builtin_prefetch(p.beta + ta * p.ld_b);
          if (p.g) __builtin_prefetch(p.g + ta * p.ld_g);
        }
        const T* kt = p.k + t * p.ld_k;
        const T* qt = p.q + t * p.ld_q;
        const T* kn = t + 1 < p.L ? kt + p.ld_k : kt;
        const T bt = p.beta[t * p.ld_b];
        const index_t r = t - t0;
        load_cols(p.v + t * p.ld_v + c0, vv);
        if (!fold[r]) {
          // R_t = R_{t-1} + k (β (v/c - acc))ᵀ
          for (int j = 0; j < NB; ++j) d[j] = bt * xsimd::fms(vv[j], B(fac[r]), acc[j]);
          detail::delta_fused_pass<B, false>(R, K, kt, qt, kn, T(1), d, oacc, acc);
        } else {
          // fold the decay into R: R_t = S_t = c R_{t-1} + k (β (v - c acc))ᵀ
          for (int j = 0; j < NB; ++j) d[j] = bt * xsimd::fnma(B(fac[r]), acc[j], vv[j]);
          detail::delta_fused_pass<B, true>(R, K, kt, qt, kn, fac[r], d, oacc, acc);
        }
        const B so(cscale[r]);
        for (int j = 0; j < NB; ++j) oacc[j] *= so;
        store_cols(oacc, p.o + t * p.ld_o + c0);
      }
      for (int j = 0; j < NB; ++j) acc[j].store_aligned(accs + blk * BW + j * W);
    }
  }
  // S = e^{lc} R
  for (index_t blk = 0; blk < nblk; ++blk) {
    const index_t c0 = blk * BW, w = std::min<index_t>(BW, V - c0);
    const T* R = Rall + blk * K * BW;
    const T c = std::exp(lc);
    for (index_t i = 0; i < K; ++i)
      for (index_t j = 0; j < w; ++j) S[i * V + c0 + j] = c * R[i * BW + j];
  }
}

}  // namespace seqmix::kernels::chunk
