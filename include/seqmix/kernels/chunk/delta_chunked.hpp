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

#include <Eigen/Core>

#include "seqmix/config.hpp"
#include "seqmix/core/workspace.hpp"
#include "seqmix/kernels/chunk/common.hpp"
#include "seqmix/kernels/chunk/delta_types.hpp"

namespace seqmix::kernels::chunk {

// Runs the head's L steps in chunks of C (the last may be shorter); S is its K×V state
// (row-major), read at the start and overwritten with the final state. Uses
// thread_workspace(1).
template <class Arch, class T>
void delta_chunked(const delta_head<T>& p, T* S, index_t C) {
  const index_t K = p.K, V = p.V;
  if (p.L == 0) return;
  using mat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  // workspace: G, eG, bt [C]; Gram, P [C×C]; Y [2C×K] (rows: Q, W); U [C×V]; QS [2C×V];
  // Ob [C×V]; Kd [C×K]
  auto pad = [](index_t n) { return (n + 15) / 16 * 16; };
  const index_t nG = pad(C), nCC = pad(C * C), nY = pad(2 * C * K), nU = pad(C * V), nQS = pad(2 * C * V),
                nKd = pad(C * K);
  T* base = seqmix::thread_workspace(1).get<T>(static_cast<std::size_t>(3 * nG + 2 * nCC + nY + 2 * nU + nQS + nKd));
  T* G = base;
  T* eG = G + nG;
  T* bt = eG + nG;
  T* Gram = bt + nG;
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
      for (index_t j = 0; j < i; ++j) {
        const T gij = std::exp(G[i] - G[j]);
        Gram[i * c + j] *= bt[i] * gij;
        P[i * c + j] *= gij;
      }
      std::fill(P + i * c + i + 1, P + (i + 1) * c, T(0));
    }
    // Y = [Q; Diag(β e^G) K], U = Diag(β) V, then the UT transform on W and U
    T* W = Y + c * K;
    for (index_t i = 0; i < c; ++i) {
      const T* qi = q + i * p.ld_q;
      const T* ki = k + i * p.ld_k;
      const T* vi = v + i * p.ld_v;
      const T sw = bt[i] * eG[i], su = bt[i];
      for (index_t j = 0; j < K; ++j) {
        Y[i * K + j] = qi[j];
        W[i * K + j] = sw * ki[j];
      }
      for (index_t j = 0; j < V; ++j) U[i * V + j] = su * vi[j];
    }
    {
      Eigen::Map<const mat> M(Gram, c, c);
      Eigen::Map<mat> Wm(W, c, K), Um(U, c, V);
      M.template triangularView<Eigen::UnitLower>().solveInPlace(Wm);
      M.template triangularView<Eigen::UnitLower>().solveInPlace(Um);
    }
    // QS = [Q; W] S_0;  U ← U - W S_0
    gemm<false, false>(2 * c, V, K, Y, K, S, V, QS, V);
    const T* WS = QS + c * V;
    for (index_t i = 0; i < c * V; ++i) U[i] -= WS[i];
    // O = scale (Diag(e^G) Q S_0 + (P ⊙ Γ) U)
    gemm<false, false>(c, V, c, P, c, U, V, Ob, V);
    for (index_t i = 0; i < c; ++i) {
      const T e = eG[i];
      T* oi = o + i * p.ld_o;
      const T* a = Ob + i * V;
      const T* b = QS + i * V;
      for (index_t j = 0; j < V; ++j) oi[j] = p.scale * (a[j] + e * b[j]);
    }
    // S ← e^{G_c} S + (Diag(e^{G_c - G}) K)ᵀ U
    const T Gc = G[c - 1];
    for (index_t i = 0; i < c; ++i) {
      const T s = std::exp(Gc - G[i]);
      const T* ki = k + i * p.ld_k;
      for (index_t j = 0; j < K; ++j) Kd[i * K + j] = s * ki[j];
    }
    const T eGc = eG[c - 1];
    if (eGc != T(1))
      for (index_t i = 0; i < K * V; ++i) S[i] *= eGc;
    gemm<true, false>(K, V, c, Kd, K, U, V, S, V, T(1), true);
  }
}

}  // namespace seqmix::kernels::chunk
