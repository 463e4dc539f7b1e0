#pragma once
// C = A · Bᵀ (C[i,j] = Σ_k A[i,k] B[j,k]) for row-major A [M,K], B [N,K], C [M,N]: the
// shape of every projection `x Wᵀ` with a PyTorch-layout weight W [out, in].
// BLIS-style: B packed into micro-panels of NR = 4 batches of columns, A read in place
// in micro-panels of MR = 6 rows (only a ragged last panel is packed, zero-padded), and a 6 × 4-batch register tile of accumulators (24 vector
// registers) updated by one broadcast and four vector FMAs per A element. Blocking
// (measured on the 2-core Zen-4-like dev machine, 2048×512×1024 fp32): a deep kc (1024;
// the A micro-panel, 24 KiB, stays in L1 while the B micro-panel streams from L2) and
// mc = 120 rows; kc = 96 (B panel in L1) ran at 75 GFLOP/s, kc = 1024 at 100-104. Edge tiles run the same micro-kernel on
// zero-padded panels into a small buffer. Written once for any Arch/T via xsimd.
// Measured against Eigen's GEMM in bench/scan.cpp (bm_gemm_nt_*); the scan mixers use it
// for fp32 where it is faster, Eigen otherwise.
#include <algorithm>
#include <cstddef>

#include <xsimd/xsimd.hpp>

#include "seqmix/config.hpp"
#include "seqmix/core/tensor.hpp"
#include "seqmix/core/threading.hpp"
#include "seqmix/core/workspace.hpp"

namespace seqmix::kernels::dense {

template <class Arch, class T>
struct gemm_nt_blocking {
  using B = xsimd::batch<T, Arch>;
#ifndef SEQMIX_GEMM_MR
#define SEQMIX_GEMM_MR 6
#define SEQMIX_GEMM_NB 4
#endif
  static constexpr index_t MR = SEQMIX_GEMM_MR;
  static constexpr index_t NB = SEQMIX_GEMM_NB;  // batches per row of the register tile
  static constexpr index_t NR = NB * index_t(B::size);
// Tuning knobs (bytes of one B micro-panel row block; rows per A block; the register tile).
#ifndef SEQMIX_GEMM_KC_BYTES
#define SEQMIX_GEMM_KC_BYTES 262144
#endif
#ifndef SEQMIX_GEMM_MC
#define SEQMIX_GEMM_MC 120
#endif
  static constexpr index_t KC = index_t(SEQMIX_GEMM_KC_BYTES / (NR * sizeof(T)));
  static constexpr index_t MC = SEQMIX_GEMM_MC;
};

namespace detail {

// acc (MR × NR) = Σ_k a(i, k) ⊗ b[k][0..NR), a(i, k) = a[i·as + k·ks] (a packed panel:
// as = 1, ks = MR; rows of A read in place: as = lda, ks = 1); then C tile = acc (+ C).
template <class Arch, class T>
SEQMIX_INLINE void gemm_nt_micro(index_t kc, const T* SEQMIX_RESTRICT a, index_t as, index_t ks,
                                 const T* SEQMIX_RESTRICT b, T* c, index_t ldc, bool accumulate) noexcept {
  using P = gemm_nt_blocking<Arch, T>;
  using B = typename P::B;
  constexpr index_t MR = P::MR, NB = P::NB, L = index_t(B::size);
  B acc[MR][NB];
#pragma GCC unroll 8
  for (index_t i = 0; i < MR; ++i)
#pragma GCC unroll 8
    for (index_t j = 0; j < NB; ++j) acc[i][j] = B(T(0));
  for (index_t k = 0; k < kc; ++k) {
    B bv[NB];
#pragma GCC unroll 8
    for (index_t j = 0; j < NB; ++j) bv[j] = B::load_aligned(b + k * P::NR + j * L);
#pragma GCC unroll 8
    for (index_t i = 0; i < MR; ++i) {
      const B av(a[i * as + k * ks]);
#pragma GCC unroll 8
      for (index_t j = 0; j < NB; ++j) acc[i][j] = xsimd::fma(av, bv[j], acc[i][j]);
    }
  }
#pragma GCC unroll 8
  for (index_t i = 0; i < MR; ++i)
#pragma GCC unroll 8
    for (index_t j = 0; j < NB; ++j) {
      T* p = c + i * ldc + j * L;
      (accumulate ? acc[i][j] + B::load_unaligned(p) : acc[i][j]).store_unaligned(p);
    }
}

}  // namespace detail

// Single-threaded C = A Bᵀ on rows [0, M). lda/ldb/ldc: row strides in elements.
template <class Arch, class T>
void gemm_nt_serial(index_t M, index_t N, index_t K, const T* A, index_t lda, const T* Bm, index_t ldb, T* C,
                    index_t ldc) {
  using P = gemm_nt_blocking<Arch, T>;
  constexpr index_t MR = P::MR, NR = P::NR, KC = P::KC, MC = P::MC;
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    for (index_t i = 0; i < M; ++i) std::fill(C + i * ldc, C + i * ldc + N, T(0));
    return;
  }
  const index_t npan = (N + NR - 1) / NR;
  const index_t mc_max = std::min<index_t>(MC, (M + MR - 1) / MR * MR);
  // workspace slot 1: packed B (npan·NR·KC), packed A (MC·KC), an edge tile (MR·NR)
  T* bp = thread_workspace(1).template get<T>(std::size_t(npan * NR * KC + mc_max * KC + MR * NR));
  T* ap = bp + npan * NR * KC;
  T* edge = ap + mc_max * KC;
  for (index_t pc = 0; pc < K; pc += KC) {
    const index_t kc = std::min(KC, K - pc);
    const bool acc = pc > 0;
    for (index_t jp = 0; jp < npan; ++jp) {  // pack B: panel jp, [k][NR], zero-padded
      T* dst = bp + jp * NR * kc;
      const index_t j0 = jp * NR, nj = std::min(NR, N - j0);
      for (index_t jj = 0; jj < NR; ++jj) {
        if (jj < nj) {
          const T* src = Bm + (j0 + jj) * ldb + pc;
          for (index_t k = 0; k < kc; ++k) dst[k * NR + jj] = src[k];
        } else {
          for (index_t k = 0; k < kc; ++k) dst[k * NR + jj] = T(0);
        }
      }
    }
    for (index_t ic = 0; ic < M; ic += MC) {
      const index_t mc = std::min(MC, M - ic);
      const index_t mpan = (mc + MR - 1) / MR;
      for (index_t ip = 0; ip < mpan; ++ip) {  // pack A edge panel: [k][MR], zero-padded
        T* dst = ap + ip * MR * kc;
        const index_t i0 = ic + ip * MR, ni = std::min(MR, M - i0);
        if (ni == MR) continue;  // full panels are read in place (6 rows of kc stay in L1)
        for (index_t ii = 0; ii < MR; ++ii) {
          if (ii < ni) {
            const T* src = A + (i0 + ii) * lda + pc;
            for (index_t k = 0; k < kc; ++k) dst[k * MR + ii] = src[k];
          } else {
            for (index_t k = 0; k < kc; ++k) dst[k * MR + ii] = T(0);
          }
        }
      }
      for (index_t jp = 0; jp < npan; ++jp) {
        const index_t j0 = jp * NR, nj = std::min(NR, N - j0);
        const T* bpan = bp + jp * NR * kc;
        for (index_t ip = 0; ip < mpan; ++ip) {
          const index_t i0 = ic + ip * MR, ni = std::min(MR, M - i0);
          const T* apan = ni == MR ? A + i0 * lda + pc : ap + ip * MR * kc;
          const index_t as = ni == MR ? lda : 1, ks = ni == MR ? 1 : MR;
          if (ni == MR && nj == NR) {
            detail::gemm_nt_micro<Arch, T>(kc, apan, as, ks, bpan, C + i0 * ldc + j0, ldc, acc);
          } else {
            detail::gemm_nt_micro<Arch, T>(kc, apan, as, ks, bpan, edge, NR, false);
            for (index_t i = 0; i < ni; ++i)
              for (index_t j = 0; j < nj; ++j) {
                T& cij = C[(i0 + i) * ldc + j0 + j];
                cij = acc ? cij + edge[i * NR + j] : edge[i * NR + j];
              }
          }
        }
      }
    }
  }
}

// C = A Bᵀ with rows of C split over `threads` (each thread packs its own panels).
template <class Arch = xsimd::default_arch, class T>
void gemm_nt(index_t M, index_t N, index_t K, const T* A, index_t lda, const T* Bm, index_t ldb, T* C, index_t ldc,
             int threads = 1) {
  constexpr index_t MR = gemm_nt_blocking<Arch, T>::MR;
  const index_t parts = std::max<index_t>(1, std::min<index_t>(threads, M / (8 * MR)));
  if (parts == 1) return gemm_nt_serial<Arch, T>(M, N, K, A, lda, Bm, ldb, C, ldc);
  const index_t rows = (M / parts + MR - 1) / MR * MR;
  parallel_for(parts, int(parts), [&](index_t p) {
    const index_t r0 = p * rows, r1 = std::min(M, r0 + rows);
    if (r0 < r1) gemm_nt_serial<Arch, T>(r1 - r0, N, K, A + r0 * lda, lda, Bm, ldb, C + r0 * ldc, ldc);
  });
}

}  // namespace seqmix::kernels::dense
