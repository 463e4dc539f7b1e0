#pragma once
// Register-blocked products on the chunk engine's small blocks (C ≤ 256 rows, K, V ≤ a few
// hundred), already laid out so that no packing is needed:
//   C[m×n] (op)= A1[m×k1] · B1[k1×n] + A2[m×k2(i)] · B2[k2(i)×n]
// A operands row-major with contiguous depth (row stride lda), B operands row-major with
// contiguous columns (row stride ldb). A register tile of MR = 4 rows × NB ≤ 4 vectors of
// accumulators is updated by one broadcast and NB vector FMAs per A element; the B rows
// (≤ 256 values) stream from L1/L2. The second operand pair's depth may depend on the row
// tile (k2 = depth2(end row of the tile)), which lets the causal (lower-triangular) score
// matrix skip its zero columns; likewise the column count (cols(end row)).
// Eigen's GEMM packs both operands on every call, which on 32×64 · 64×64 blocks costs as
// much as the product (bench/chunk.cpp bm_block_product: Eigen vs this kernel).
// Epilogues: store (C = acc), decay (C = fma(dec[i], C, acc)), fold (C = dec[i]·(C + acc));
// C + acc when dec is null. The same arithmetic as chunk::detail::apply_update, so a fused
// state update is bitwise equal to computing the increment first and applying it.
#include <algorithm>
#include <cmath>

#include <xsimd/xsimd.hpp>

#include "seqmix/config.hpp"
#include "seqmix/core/tensor.hpp"

namespace seqmix::kernels::chunk::blk {

enum class epi { store, decay, fold };

template <class T>
struct operand {
  const T* a = nullptr;  // row i at a + i·lda (depth contiguous)
  index_t lda = 0;
  const T* b = nullptr;  // row k at b + k·ldb
  index_t ldb = 0;
};

namespace detail {

// Keeps a loaded vector in a register: without it GCC folds the B loads into the FMAs as
// memory operands, one load per FMA (MR times per B vector), and the tile becomes bound by
// the load ports (~75% of FMA peak instead of ~90% on the Zen-4-like dev machine).
template <class B>
SEQMIX_INLINE B in_register(B v) noexcept {
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
  auto r = static_cast<typename B::register_type>(v);
  asm("" : "+v"(r));
  return B(r);
#else
  return v;
#endif
}

template <int MR, int NB, class Arch, class T>
SEQMIX_INLINE void accumulate(xsimd::batch<T, Arch> (&acc)[MR][NB], const operand<T>& o, index_t kd, index_t i0,
                              index_t j) noexcept {
  using B = xsimd::batch<T, Arch>;
  constexpr index_t W = index_t(B::size);
  const T* SEQMIX_RESTRICT a = o.a + i0 * o.lda;
  const T* SEQMIX_RESTRICT b = o.b + j;
  const index_t lda = o.lda, ldb = o.ldb;
  for (index_t k = 0; k < kd; ++k) {
    B bv[NB];
#pragma GCC unroll 4
    for (int n = 0; n < NB; ++n) bv[n] = in_register(B::load_unaligned(b + k * ldb + n * W));
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) {
      const B av(a[i * lda + k]);
#pragma GCC unroll 4
      for (int n = 0; n < NB; ++n) acc[i][n] = xsimd::fma(av, bv[n], acc[i][n]);
    }
  }
}

template <int MR, int NB, epi E, class Arch, class T>
SEQMIX_INLINE void tile(const operand<T>& o1, index_t k1, const operand<T>& o2, index_t k2, index_t i0, index_t j,
                        T* SEQMIX_RESTRICT c, index_t ldc, const T* dec) noexcept {
  using B = xsimd::batch<T, Arch>;
  constexpr index_t W = index_t(B::size);
  B acc[MR][NB];
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int n = 0; n < NB; ++n) acc[i][n] = B(T(0));
  accumulate<MR, NB, Arch>(acc, o1, k1, i0, j);
  if (k2 > 0) accumulate<MR, NB, Arch>(acc, o2, k2, i0, j);
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int n = 0; n < NB; ++n) {
      T* p = c + (i0 + i) * ldc + j + n * W;
      if constexpr (E == epi::store) {
        acc[i][n].store_unaligned(p);
      } else if constexpr (E == epi::fold) {
        if (dec) (B(dec[i0 + i]) * (B::load_unaligned(p) + acc[i][n])).store_unaligned(p);
        else (B::load_unaligned(p) + acc[i][n]).store_unaligned(p);
      } else {
        if (dec) xsimd::fma(B(dec[i0 + i]), B::load_unaligned(p), acc[i][n]).store_unaligned(p);
        else (B::load_unaligned(p) + acc[i][n]).store_unaligned(p);
      }
    }
}

// Scalar column j (tails of widths that are not a multiple of the vector width).
template <epi E, class T>
inline void column(const operand<T>& o1, index_t k1, const operand<T>& o2, index_t k2, index_t i0, index_t mr,
                   index_t j, T* c, index_t ldc, const T* dec) noexcept {
  for (index_t i = i0; i < i0 + mr; ++i) {
    T acc = 0;
    for (index_t k = 0; k < k1; ++k) acc += o1.a[i * o1.lda + k] * o1.b[k * o1.ldb + j];
    for (index_t k = 0; k < k2; ++k) acc += o2.a[i * o2.lda + k] * o2.b[k * o2.ldb + j];
    T& r = c[i * ldc + j];
    if constexpr (E == epi::store) r = acc;
    else if constexpr (E == epi::fold) r = dec ? dec[i] * (r + acc) : r + acc;
    else r = dec ? std::fma(dec[i], r, acc) : r + acc;
  }
}

template <int MR, epi E, class Arch, class T>
SEQMIX_INLINE void row_tile(const operand<T>& o1, index_t k1, const operand<T>& o2, index_t k2, index_t i0, index_t n,
                            T* c, index_t ldc, const T* dec) noexcept {
  constexpr index_t W = index_t(xsimd::batch<T, Arch>::size);
  index_t j = 0;
  for (; j + 4 * W <= n; j += 4 * W) tile<MR, 4, E, Arch>(o1, k1, o2, k2, i0, j, c, ldc, dec);
  if (j + 2 * W <= n) {
    tile<MR, 2, E, Arch>(o1, k1, o2, k2, i0, j, c, ldc, dec);
    j += 2 * W;
  }
  if (j + W <= n) {
    tile<MR, 1, E, Arch>(o1, k1, o2, k2, i0, j, c, ldc, dec);
    j += W;
  }
  for (; j < n; ++j) column<E>(o1, k1, o2, k2, i0, MR, j, c, ldc, dec);
}

}  // namespace detail

struct no_hook {
  SEQMIX_INLINE void operator()() const noexcept {}
};

// C rows [0, m): for the row tile ending at row e (exclusive), columns [0, cols(e)) of
//   A1 · B1 (depth k1) + A2 · B2 (depth depth2(e)).
// after_tile() runs after every full tile of MR rows (callers spread prefetches over the
// product with it).
template <epi E, class Arch, class T, class Depth2, class Cols, class Hook = no_hook>
void product(index_t m, T* c, index_t ldc, const T* dec, const operand<T>& o1, index_t k1, const operand<T>& o2,
             Depth2&& depth2, Cols&& cols, Hook&& after_tile = {}) {
  constexpr index_t MR = 4;
  index_t i0 = 0;
  for (; i0 + MR <= m; i0 += MR) {
    detail::row_tile<4, E, Arch>(o1, k1, o2, depth2(i0 + MR), i0, cols(i0 + MR), c, ldc, dec);
    after_tile();
  }
  switch (m - i0) {
    case 3: detail::row_tile<3, E, Arch>(o1, k1, o2, depth2(m), i0, cols(m), c, ldc, dec); break;
    case 2: detail::row_tile<2, E, Arch>(o1, k1, o2, depth2(m), i0, cols(m), c, ldc, dec); break;
    case 1: detail::row_tile<1, E, Arch>(o1, k1, o2, depth2(m), i0, cols(m), c, ldc, dec); break;
    default: break;
  }
}

// Plain C[m×n] (op)= A · B of depth kd.
template <epi E, class Arch, class T, class Hook = no_hook>
void product(index_t m, index_t n, T* c, index_t ldc, const T* dec, const operand<T>& o, index_t kd,
             Hook&& after_tile = {}) {
  product<E, Arch>(m, c, ldc, dec, o, kd, o, [](index_t) { return index_t(0); }, [n](index_t) { return n; },
                   after_tile);
}

}  // namespace seqmix::kernels::chunk::blk
