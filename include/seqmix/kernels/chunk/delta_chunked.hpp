#pragma once
// The chunked form of the delta rule (Yang et al., "Parallelizing Linear Transformers with
// the Delta Rule over Sequence Length"): within a chunk of c steps the product of the
// Householder-like factors is kept in WY form, obtained with the UT transform (a unit
// lower-triangular solve); everything else is block products (Eigen's serial GEMM).
//
// Per chunk, with G_i = Σ_{j<=i} g_j (re-based at the chunk start, so e^{G_i} <= 1 and
// e^{G_i - G_j} <= 1 for i >= j when g <= 0), S_0 the state at the chunk start:
//   M   = I + StrictLower(β_i e^{G_i - G_j} k_i·k_j)             (c×c, unit lower)
//   W   = M⁻¹ Diag(β e^G) K,   Ũ = M⁻¹ Diag(β) V                 (the UT transform)
//   U   = Ũ - W S_0                                              ("pseudo values")
//   O   = scale · (Diag(e^G) Q S_0 + (Q Kᵀ ⊙ Γ) U),  Γ_ij = e^{G_i - G_j} for j <= i
//   S_c = e^{G_c} S_0 + (Diag(e^{G_c - G}) K)ᵀ U
// (derivation: S_t = e^{G_t} S_0 + Σ_{i<=t} e^{G_t - G_i} k_i u_iᵀ solves the recurrence
// exactly when u_t = β_t (v_t - e^{G_t} S_0ᵀk_t - Σ_{i<t} e^{G_t - G_i}(k_t·k_i) u_i).)
// FLOPs per chunk: 2c²K (KKᵀ) + 2c²K (QKᵀ) + c²(K+V) (solve) + 4cKV ([Q;W] S_0) +
// 2c²V ((QKᵀ⊙Γ)U) + 2cKV (state update) = 6cKV + c²(5K + 3V).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>

#include <Eigen/Core>

#include "seqmix/config.hpp"
#include "seqmix/core/workspace.hpp"
#include "seqmix/kernels/chunk/common.hpp"
#include "seqmix/kernels/chunk/delta_types.hpp"
#include "seqmix/simd/math.hpp"

namespace seqmix::kernels::chunk {

namespace detail {

// X ← M⁻¹ X for M unit lower triangular (c×c, row-major, only the strict lower part is
// read); X is c×n row-major. Forward substitution, SIMD across columns, a tile of up to
// eight SIMD widths kept in registers while row i subtracts M_ij X_j for all j < i.
template <class Arch, class T>
void unit_lower_solve(const T* SEQMIX_RESTRICT M, index_t c, T* SEQMIX_RESTRICT X, index_t n) noexcept {
  using B = xsimd::batch<T, Arch>;
  constexpr index_t W = B::size;
  index_t c0 = 0;
  for (; c0 + 8 * W <= n; c0 += 8 * W) {
    for (index_t i = 1; i < c; ++i) {
      T* xi = X + i * n + c0;
      B a0 = B::load_unaligned(xi), a1 = B::load_unaligned(xi + W), a2 = B::load_unaligned(xi + 2 * W),
        a3 = B::load_unaligned(xi + 3 * W), a4 = B::load_unaligned(xi + 4 * W), a5 = B::load_unaligned(xi + 5 * W),
        a6 = B::load_unaligned(xi + 6 * W), a7 = B::load_unaligned(xi + 7 * W);
      for (index_t j = 0; j < i; ++j) {
        const B m(M[i * c + j]);
        const T* xj = X + j * n + c0;
        a0 = xsimd::fnma(m, B::load_unaligned(xj), a0);
        a1 = xsimd::fnma(m, B::load_unaligned(xj + W), a1);
        a2 = xsimd::fnma(m, B::load_unaligned(xj + 2 * W), a2);
        a3 = xsimd::fnma(m, B::load_unaligned(xj + 3 * W), a3);
        a4 = xsimd::fnma(m, B::load_unaligned(xj + 4 * W), a4);
        a5 = xsimd::fnma(m, B::load_unaligned(xj + 5 * W), a5);
        a6 = xsimd::fnma(m, B::load_unaligned(xj + 6 * W), a6);
        a7 = xsimd::fnma(m, B::load_unaligned(xj + 7 * W), a7);
      }
      a0.store_unaligned(xi);
      a1.store_unaligned(xi + W);
      a2.store_unaligned(xi + 2 * W);
      a3.store_unaligned(xi + 3 * W);
      a4.store_unaligned(xi + 4 * W);
      a5.store_unaligned(xi + 5 * W);
      a6.store_unaligned(xi + 6 * W);
      a7.store_unaligned(xi + 7 * W);
    }
  }
  for (; c0 + W <= n; c0 += W)
    for (index_t i = 1; i < c; ++i) {
      B a = B::load_unaligned(X + i * n + c0);
      for (index_t j = 0; j < i; ++j) a = xsimd::fnma(B(M[i * c + j]), B::load_unaligned(X + j * n + c0), a);
      a.store_unaligned(X + i * n + c0);
    }
  for (; c0 < n; ++c0)
    for (index_t i = 1; i < c; ++i) {
      T a = X[i * n + c0];
      for (index_t j = 0; j < i; ++j) a -= M[i * c + j] * X[j * n + c0];
      X[i * n + c0] = a;
    }
}

// out[j] = e^{G_i - G_j} for j < i (each <= 1 when the gates are <= 0), SIMD exp.
template <class Arch, class T>
SEQMIX_INLINE void decay_row(T* SEQMIX_RESTRICT out, const T* SEQMIX_RESTRICT G, index_t i) noexcept {
  using B = xsimd::batch<T, Arch>;
  constexpr index_t W = B::size;
  const B gi(G[i]);
  index_t j = 0;
  for (; j + W <= i; j += W) xsimd::exp(gi - B::load_unaligned(G + j)).store_unaligned(out + j);
  if (j < i) simd::store_partial(xsimd::exp(gi - simd::load_partial<B>(G + j, std::size_t(i - j))), out + j, std::size_t(i - j));
}

// Element-wise row helpers, explicit SIMD (GCC's -O2 does not vectorise these loops):
// f(batch or scalar, j) over j < n, SIMD body and scalar tail the same expression.
template <class Arch, class T, class F>
SEQMIX_INLINE void for_each_lane(index_t n, F&& f) noexcept {
  using B = xsimd::batch<T, Arch>;
  constexpr index_t W = B::size;
  index_t j = 0;
  for (; j + W <= n; j += W) f(B(), j);
  for (; j < n; ++j) f(T(), j);
}
template <class V, class T>
SEQMIX_INLINE V load_as(const T* p) noexcept {
  if constexpr (std::is_same_v<V, T>) return *p;
  else return V::load_unaligned(p);
}
template <class V, class T>
SEQMIX_INLINE void store_as(const V& v, T* p) noexcept {
  if constexpr (std::is_same_v<V, T>) *p = v;
  else v.store_unaligned(p);
}
// dst = s · src
template <class Arch, class T>
SEQMIX_INLINE void scaled_copy(T* SEQMIX_RESTRICT dst, const T* SEQMIX_RESTRICT src, T s, index_t n) noexcept {
  for_each_lane<Arch, T>(n, [&](auto v, index_t j) {
    using V = decltype(v);
    store_as(V(s) * load_as<V>(src + j), dst + j);
  });
}
// dst ⊙= s · f
template <class Arch, class T>
SEQMIX_INLINE void scale_by(T* SEQMIX_RESTRICT dst, const T* SEQMIX_RESTRICT f, T s, index_t n) noexcept {
  for_each_lane<Arch, T>(n, [&](auto v, index_t j) {
    using V = decltype(v);
    store_as(load_as<V>(dst + j) * (V(s) * load_as<V>(f + j)), dst + j);
  });
}
// dst -= src
template <class Arch, class T>
SEQMIX_INLINE void subtract(T* SEQMIX_RESTRICT dst, const T* SEQMIX_RESTRICT src, index_t n) noexcept {
  for_each_lane<Arch, T>(n, [&](auto v, index_t j) {
    using V = decltype(v);
    store_as(load_as<V>(dst + j) - load_as<V>(src + j), dst + j);
  });
}
// dst = s · (a + e · b)
template <class Arch, class T>
SEQMIX_INLINE void output_row(T* SEQMIX_RESTRICT dst, const T* SEQMIX_RESTRICT a, const T* SEQMIX_RESTRICT b, T e,
                              T s, index_t n) noexcept {
  for_each_lane<Arch, T>(n, [&](auto v, index_t j) {
    using V = decltype(v);
    store_as(V(s) * (load_as<V>(a + j) + V(e) * load_as<V>(b + j)), dst + j);
  });
}
// dst *= s
template <class Arch, class T>
SEQMIX_INLINE void scale_in_place(T* SEQMIX_RESTRICT dst, T s, index_t n) noexcept {
  for_each_lane<Arch, T>(n, [&](auto v, index_t j) {
    using V = decltype(v);
    store_as(V(s) * load_as<V>(dst + j), dst + j);
  });
}

}  // namespace detail

// Runs the head's L steps in chunks of C (the last may be shorter); S is its K×V state
// (row-major), read at the start and overwritten with the final state. Uses
// thread_workspace(1).
template <class Arch, class T>
void delta_chunked(const delta_head<T>& p, T* S, index_t C) {
  const index_t K = p.K, V = p.V;
  if (p.L == 0) return;
  // workspace: G, eG, bt [C]; Gram, P [C×C]; Y [2C×K] (rows: Q, W); U [C×V]; QS [2C×V];
  // Ob [C×V]; Kd [C×K]
  auto pad = [](index_t n) { return (n + 15) / 16 * 16; };
  const index_t nG = pad(C), nCC = pad(C * C), nY = pad(2 * C * K), nU = pad(C * V), nQS = pad(2 * C * V),
                nKd = pad(C * K);
  T* base = seqmix::thread_workspace(1).get<T>(static_cast<std::size_t>(4 * nG + 2 * nCC + nY + 2 * nU + nQS + nKd));
  T* G = base;
  T* eG = G + nG;
  T* bt = eG + nG;
  T* gam = bt + nG;
  T* Gram = gam + nG;
  T* P = Gram + nCC;
  T* Y = P + nCC;
  T* U = Y + nY;
  T* QS = U + nU;
  T* Ob = QS + nQS;
  T* Kd = Ob + nU;

  for (index_t t0 = 0; t0 < p.L; t0 += C) {
    const index_t c = std::min(C, p.L - t0);
    const T* q = p.q + t0 * p.ld_q;
    const T* k = p.k + t0 * p.ld_k;
    const T* v = p.v + t0 * p.ld_v;
    T* o = p.o + t0 * p.ld_o;
    if (p.g) cumsum_scalar_gate(G, p.g + t0 * p.ld_g, c, p.ld_g);
    else std::fill_n(G, c, T(0));
    for (index_t i = 0; i < c; ++i) {
      eG[i] = std::exp(G[i]);
      bt[i] = p.beta[(t0 + i) * p.ld_b];
    }
    // Gram = K Kᵀ, P = Q Kᵀ (rows strided in the input)
    gemm<false, true>(c, c, K, k, p.ld_k, k, p.ld_k, Gram, c);
    gemm<false, true>(c, c, K, q, p.ld_q, k, p.ld_k, P, c);
    // M (strict lower part of Gram, unit diagonal implied); P ⊙ Γ, zero above the diagonal
    for (index_t i = 0; i < c; ++i) {
      detail::decay_row<Arch>(gam, G, i);
      const T b = bt[i];
      T* pi = P + i * c;
      detail::scale_by<Arch>(Gram + i * c, gam, b, i);
      detail::scale_by<Arch>(pi, gam, T(1), i);
      std::fill(pi + i + 1, pi + c, T(0));
    }
    // Y = [Q; Diag(β e^G) K], U = Diag(β) V, then the UT transform on W and U
    T* W = Y + c * K;
    for (index_t i = 0; i < c; ++i) {
      const T* qi = q + i * p.ld_q;
      const T* ki = k + i * p.ld_k;
      const T* vi = v + i * p.ld_v;
      std::memcpy(Y + i * K, qi, sizeof(T) * K);
      detail::scaled_copy<Arch>(W + i * K, ki, bt[i] * eG[i], K);
      detail::scaled_copy<Arch>(U + i * V, vi, bt[i], V);
    }
    detail::unit_lower_solve<Arch>(Gram, c, W, K);
    detail::unit_lower_solve<Arch>(Gram, c, U, V);
    // QS = [Q; W] S_0;  U ← U - W S_0
    gemm<false, false>(2 * c, V, K, Y, K, S, V, QS, V);
    const T* WS = QS + c * V;
    detail::subtract<Arch>(U, WS, c * V);
    // O = scale (Diag(e^G) Q S_0 + (P ⊙ Γ) U)
    gemm<false, false>(c, V, c, P, c, U, V, Ob, V);
    for (index_t i = 0; i < c; ++i) detail::output_row<Arch>(o + i * p.ld_o, Ob + i * V, QS + i * V, eG[i], p.scale, V);
    // S ← e^{G_c} S + (Diag(e^{G_c - G}) K)ᵀ U
    const T Gc = G[c - 1];
    for (index_t i = 0; i < c; ++i) detail::scaled_copy<Arch>(Kd + i * K, k + i * p.ld_k, std::exp(Gc - G[i]), K);
    const T eGc = eG[c - 1];
    if (eGc != T(1)) detail::scale_in_place<Arch>(S, eGc, K * V);
    gemm<true, false>(K, V, c, Kd, K, U, V, S, V, T(1), true);
  }
}

}  // namespace seqmix::kernels::chunk
