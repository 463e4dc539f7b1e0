#pragma once
// Shared pieces of the chunked linear-attention engine (also used by the delta-rule and
// RWKV kernels): loading strided [T,H,D] slices into contiguous chunk buffers, per-chunk
// cumulative log-gate sums, state copies, and the serial Eigen GEMM used on blocks.
//
// Layout conventions: a "slice" is one head of a [B,T,H,D] tensor: `rows` time steps of
// `width` contiguous values, consecutive steps `ld` elements apart (ld = H·D for a
// contiguous tensor). Chunk buffers are contiguous row-major [rows, width].
#include <algorithm>
#include <cstddef>
#include <cstring>

#include <Eigen/Core>
#include <xsimd/xsimd.hpp>

#include "seqmix/config.hpp"
#include "seqmix/core/tensor.hpp"

namespace seqmix::kernels::chunk {

// dst[r, :] = src[r·ld, :] for r < rows (width values each).
template <class T>
SEQMIX_INLINE void load_rows(T* SEQMIX_RESTRICT dst, const T* SEQMIX_RESTRICT src, index_t rows, index_t width,
                             index_t ld) noexcept {
  for (index_t r = 0; r < rows; ++r) std::memcpy(dst + r * width, src + r * ld, sizeof(T) * width);
}

// dst[r·ld, :] = src[r, :].
template <class T>
SEQMIX_INLINE void store_rows(T* SEQMIX_RESTRICT dst, const T* SEQMIX_RESTRICT src, index_t rows, index_t width,
                              index_t ld) noexcept {
  for (index_t r = 0; r < rows; ++r) std::memcpy(dst + r * ld, src + r * width, sizeof(T) * width);
}

// Inclusive cumulative sum of a scalar log gate inside one chunk, re-based at the chunk
// start: b[r] = Σ_{j<=r} g[j·ld]. All b <= 0 for g <= 0, so e^{b} never overflows and
// e^{b_t - b_s} (t >= s) is <= 1.
template <class T>
SEQMIX_INLINE void cumsum_scalar_gate(T* SEQMIX_RESTRICT b, const T* SEQMIX_RESTRICT g, index_t rows,
                                      index_t ld) noexcept {
  T acc = 0;
  for (index_t r = 0; r < rows; ++r) b[r] = acc += g[r * ld];
}

// As above for a vector gate (K channels per step): b[r, :] = Σ_{j<=r} g[j·ld, :], contiguous
// [rows, K] output.
template <class T, class Arch = xsimd::default_arch>
SEQMIX_INLINE void cumsum_vector_gate(T* SEQMIX_RESTRICT b, const T* SEQMIX_RESTRICT g, index_t rows, index_t K,
                                      index_t ld) noexcept {
  if (rows <= 0) return;
  using B = xsimd::batch<T, Arch>;
  std::memcpy(b, g, sizeof(T) * K);
  for (index_t r = 1; r < rows; ++r) {
    index_t i = 0;
    for (; i + index_t(B::size) <= K; i += B::size)
      (B::load_unaligned(b + (r - 1) * K + i) + B::load_unaligned(g + r * ld + i)).store_unaligned(b + r * K + i);
    for (; i < K; ++i) b[r * K + i] = b[(r - 1) * K + i] + g[r * ld + i];
  }
}

// C[M×N] (row-major, ldc) = (accumulate ? C : 0) + alpha · op(A) · op(B), where op(A) is
// [M×Kd]: A row-major with leading dimension lda (TransA: A stored [Kd×M]), likewise B.
// Eigen's serial GEMM kernel (packing + micro-kernel) without its OpenMP parallelizer: the
// engine threads over heads/chunks itself, and results must not depend on thread counts.
template <bool TransA, bool TransB, class T>
void gemm(index_t M, index_t N, index_t Kd, const T* A, index_t lda, const T* B, index_t ldb, T* C, index_t ldc,
          T alpha = T(1), bool accumulate = false) {
  if (M <= 0 || N <= 0) return;
  if (!accumulate)
    for (index_t r = 0; r < M; ++r) std::fill_n(C + r * ldc, N, T(0));
  if (Kd <= 0) return;
  using Eigen::ColMajor;
  using Eigen::RowMajor;
  using gemm_t = Eigen::internal::general_matrix_matrix_product<
      Eigen::Index, T, TransA ? ColMajor : RowMajor, false, T, TransB ? ColMajor : RowMajor, false, RowMajor, 1>;
  Eigen::internal::gemm_blocking_space<RowMajor, T, T, Eigen::Dynamic, Eigen::Dynamic, Eigen::Dynamic> blocking(
      M, N, Kd, 1, true);
  gemm_t::run(M, N, Kd, A, lda, B, ldb, C, 1, ldc, alpha, blocking, nullptr);
}

// Copies a K×V state (row-major, contiguous) — the working copy the engine updates.
template <class T>
SEQMIX_INLINE void copy_state(T* SEQMIX_RESTRICT dst, const T* SEQMIX_RESTRICT src, index_t n) noexcept {
  std::memcpy(dst, src, sizeof(T) * n);
}

// dst[j, i] = src[i, j] for a rows×cols row-major src (state layout changes, e.g. SSD's
// [P,N] state against the engine's [K=N, V=P]).
template <class T>
SEQMIX_INLINE void transpose(T* SEQMIX_RESTRICT dst, const T* SEQMIX_RESTRICT src, index_t rows, index_t cols) noexcept {
  for (index_t i = 0; i < rows; ++i)
    for (index_t j = 0; j < cols; ++j) dst[j * rows + i] = src[i * cols + j];
}

}  // namespace seqmix::kernels::chunk
