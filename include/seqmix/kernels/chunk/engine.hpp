#pragma once
// The chunked linear-attention engine: one head of
//   S_t = Diag(α_t) S_{t-1} + k_t v_tᵀ,   o_t = S_tᵀ (scale · q_t)
// for decay none (α = 1), scalar (α_t = e^{g_t}, one per step) or vector (α_t = e^{g_t},
// g_t ∈ R^K), in three forms:
//   recurrent  one SIMD rank-1 update per step (vectorised across V),
//   chunked    per chunk of C steps: intra-chunk work as block products (block_gemm.hpp),
//              one state update per chunk, gates as cumulative log sums re-based at the
//              chunk start (process_chunk_fast while the chunk decays by at most e^-40,
//              process_chunk_exact otherwise); heads run in lockstep groups (run_heads),
//   parallel   the chunked algorithm with one chunk of T steps (masked quadratic form).
// Options other ops reuse:
//   v_scale   v_t is multiplied by v_scale[t·ldvs] (Mamba-2 SSD: v = dt·x),
//   u         vector decay only: the RWKV-5/6 readout o_t = (S_{t-1} + Diag(u) k_t v_tᵀ)ᵀ (scale·q_t)
//             (strictly causal + bonus), with the same state recurrence.
// Entry points: `run_head<D, Arch>(problem, form, chunk)` (serial) and
// `chunked_two_pass<D, Arch>(problem, chunk, threads)` (one head, chunks over threads);
// `run_heads` threads over independent heads and picks between them. Results are bitwise
// identical for any thread count: the serial chunked form does exactly the arithmetic of the
// two-pass form (each chunk's state increment dS computed from zero, then S = α⊙S + dS, or
// S = α⊙(S + dS) for the fast form, fused into the increment's product in the serial form).
//
// Stability of the exact form (vector decay, GLA): the intra-chunk score is A[t,s] = Σ_k q_t,k k_s,k e^{b_t,k − b_s,k}
// with b the in-chunk cumulative log gate. Rows are split into sub-blocks of 16 steps; with
// R_i = b at the first row of sub-block i:
//  - off-diagonal sub-blocks (s in an earlier sub-block j ending at e_j):
//    e^{b_t − b_s} = e^{b_t − R_i} · e^{R_i − b_{e_j}} · e^{b_{e_j} − b_s}, every factor <= 1,
//    so one GEMM of (Q ⊙ e^{b − R_i}) against (K ⊙ e^{b_{e_j} − b}) ⊙ e^{R_i − b_{e_j}};
//  - diagonal sub-blocks: the factorisation e^{b_t − R_i} · e^{R_i − b_s} has a factor >= 1
//    bounded by e^{span} (span = the sub-block's largest total log decay); when span <= 40 it
//    is a GEMM (no overflow, no underflow of the paired factor), otherwise the scores are
//    computed elementwise with exp(b_t − b_s) <= 1 (g = -20 per step takes this path).
//  When the whole chunk's span is <= 40 the chunk is one sub-block (one GEMM).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include <xsimd/xsimd.hpp>

#include "seqmix/core/options.hpp"
#include "seqmix/core/tensor.hpp"
#include "seqmix/core/threading.hpp"
#include "seqmix/core/workspace.hpp"
#include "seqmix/kernels/chunk/block_gemm.hpp"
#include "seqmix/kernels/chunk/common.hpp"
#include "seqmix/simd/transpose.hpp"

namespace seqmix::kernels::chunk {

enum class decay_kind { none, scalar, vector };

// One head of one sequence. Rows are time steps `ld*` elements apart.
template <class T>
struct problem {
  index_t steps = 0, K = 0, V = 0;
  const T* q = nullptr;
  index_t ldq = 0;
  const T* k = nullptr;
  index_t ldk = 0;
  const T* v = nullptr;
  index_t ldv = 0;
  T* o = nullptr;
  index_t ldo = 0;
  const T* g = nullptr;  // scalar: g[t·ldg]; vector: K values at g + t·ldg
  index_t ldg = 0;
  T g_const = 0;  // scalar decay used when g == nullptr (retention)
  const T* v_scale = nullptr;
  index_t ldvs = 0;
  const T* u = nullptr;  // [K] bonus (vector decay only); nullptr: plain readout
  T scale = 1;
  T* state = nullptr;  // K×V row-major, in/out
};

// Default chunk (bench/chunk.cpp chunk sweep, B=1 T=2048 H=16, 1 thread): 16 for states of
// up to 64×64 (simple_gla 9.3–9.6 ms against 10.1–10.3 at 32: the per-step work 4KV + C(K+V)
// shrinks and the score block is one 16×16 tile), 32 above (K=V=128: 32 by 3–5%).
inline constexpr index_t default_chunk_for(index_t K, index_t V) noexcept { return K * V <= 64 * 64 ? 16 : 32; }
inline constexpr index_t sub_block = 16;

namespace detail {

template <class T>
constexpr T span_limit = T(40);

// The rows [t0, t0+c) of a head that the chunk after this one reads (q, k, g for vector
// decay, v) and writes (o), prefetched a few lines at a time while this chunk's block
// products run. A chunk touches its rows in one burst and then computes for much longer;
// neither the hardware prefetchers (rows are H·D elements apart, a page each at typical
// shapes) nor a burst of prefetches (it stalls on the miss buffers like the loads would)
// hide that, spreading them over the products does (~20% at H=16, K=V=64, T=2048).
template <decay_kind D, class T>
struct prefetch_plan {
  static constexpr index_t L = 64 / index_t(sizeof(T));  // elements per cache line
  const problem<T>* p = nullptr;
  index_t t0 = 0, c = 0;
  index_t issued = 0, row = 0, col = 0;  // cursor: lines issued; row, line within the row

  index_t lines_per_row() const noexcept {
    const index_t kl = (p->K + L - 1) / L, vl = (p->V + L - 1) / L;
    return (D == decay_kind::vector ? 3 : 2) * kl + 2 * vl;
  }
  index_t total() const noexcept { return p ? c * lines_per_row() : 0; }
  // Issues lines until `upto` of total() have been issued; the lines of a row in the order
  // q, k, g (vector decay), v, o.
  void issue(index_t upto) noexcept {
    if (!p || issued >= upto) return;
    constexpr index_t gk = D == decay_kind::vector ? 1 : 0;  // g's lines (vector decay)
    const index_t kl = (p->K + L - 1) / L, vl = (p->V + L - 1) / L, per = lines_per_row();
    upto = std::min(upto, total());
    for (; issued < upto; ++issued) {
      const index_t r = t0 + row, x = col;
      if (x < kl) __builtin_prefetch(p->q + r * p->ldq + x * L, 0, 3);
      else if (x < 2 * kl) __builtin_prefetch(p->k + r * p->ldk + (x - kl) * L, 0, 3);
      else if (x < (2 + gk) * kl) __builtin_prefetch(p->g + r * p->ldg + (x - 2 * kl) * L, 0, 3);
      else if (x < (2 + gk) * kl + vl) __builtin_prefetch(p->v + r * p->ldv + (x - (2 + gk) * kl) * L, 0, 3);
      else __builtin_prefetch(p->o + r * p->ldo + (x - (2 + gk) * kl - vl) * L, 1, 3);
      if (++col == per) {
        col = 0;
        ++row;
      }
    }
  }
};

template <class T>
SEQMIX_INLINE T gate_at(const problem<T>& p, index_t t) noexcept {
  return p.g ? p.g[t * p.ldg] : p.g_const;
}

// y[i] = exp(x[i]) for n values.
template <class Arch, class T>
SEQMIX_INLINE void exp_n(T* SEQMIX_RESTRICT y, const T* SEQMIX_RESTRICT x, index_t n) noexcept {
  using B = xsimd::batch<T, Arch>;
  index_t i = 0;
  for (; i + index_t(B::size) <= n; i += B::size) xsimd::exp(B::load_unaligned(x + i)).store_unaligned(y + i);
  for (; i < n; ++i) y[i] = std::exp(x[i]);
}

// y[i] = a[i] · b[i] and y[i] = a[i] / b[i] for n values (y may alias a).
template <class Arch, class T>
SEQMIX_INLINE void mul_n(T* y, const T* a, const T* b, index_t n) noexcept {
  using B = xsimd::batch<T, Arch>;
  index_t i = 0;
  for (; i + index_t(B::size) <= n; i += B::size) (B::load_unaligned(a + i) * B::load_unaligned(b + i)).store_unaligned(y + i);
  for (; i < n; ++i) y[i] = a[i] * b[i];
}
template <class Arch, class T>
SEQMIX_INLINE void div_n(T* y, const T* a, const T* b, index_t n) noexcept {
  using B = xsimd::batch<T, Arch>;
  index_t i = 0;
  for (; i + index_t(B::size) <= n; i += B::size) (B::load_unaligned(a + i) / B::load_unaligned(b + i)).store_unaligned(y + i);
  for (; i < n; ++i) y[i] = a[i] / b[i];
}
// y[i] = a[i] · c for n values.
template <class Arch, class T>
SEQMIX_INLINE void scale_n(T* y, const T* a, T c, index_t n) noexcept {
  using B = xsimd::batch<T, Arch>;
  const B cb(c);
  index_t i = 0;
  for (; i + index_t(B::size) <= n; i += B::size) (B::load_unaligned(a + i) * cb).store_unaligned(y + i);
  for (; i < n; ++i) y[i] = a[i] * c;
}

// y[i] *= exp(c − b[i]) for n values.
template <class Arch, class T>
SEQMIX_INLINE void mul_exp_from(T* y, T c, const T* b, index_t n) noexcept {
  using B = xsimd::batch<T, Arch>;
  const B cb(c);
  index_t i = 0;
  for (; i + index_t(B::size) <= n; i += B::size)
    (B::load_unaligned(y + i) * xsimd::exp(cb - B::load_unaligned(b + i))).store_unaligned(y + i);
  for (; i < n; ++i) y[i] *= std::exp(c - b[i]);
}

// y[i] = x[i] · exp(a[i] − c[i]) for n values (c may be nullptr: 0).
template <class Arch, class T>
SEQMIX_INLINE void mul_exp_diff(T* SEQMIX_RESTRICT y, const T* x, const T* a, const T* c, index_t n) noexcept {
  using B = xsimd::batch<T, Arch>;
  index_t i = 0;
  if (c) {
    for (; i + index_t(B::size) <= n; i += B::size)
      (B::load_unaligned(x + i) * xsimd::exp(B::load_unaligned(a + i) - B::load_unaligned(c + i))).store_unaligned(y + i);
    for (; i < n; ++i) y[i] = x[i] * std::exp(a[i] - c[i]);
  } else {
    for (; i + index_t(B::size) <= n; i += B::size)
      (B::load_unaligned(x + i) * xsimd::exp(B::load_unaligned(a + i))).store_unaligned(y + i);
    for (; i < n; ++i) y[i] = x[i] * std::exp(a[i]);
  }
}

// S = Diag(dec) S + dS, or when `folded` S = Diag(dec) (S + dS) (dec: K values; nullptr
// means 1) — the state update of the two-pass chunked form; the serial form fuses the same
// arithmetic into the increment's product (blk::epi::decay / blk::epi::fold).
template <class Arch, class T>
void apply_update(T* SEQMIX_RESTRICT S, const T* SEQMIX_RESTRICT dS, const T* dec, index_t K, index_t V,
                  bool folded = false) noexcept {
  using B = xsimd::batch<T, Arch>;
  for (index_t i = 0; i < K; ++i) {
    T* s = S + i * V;
    const T* d = dS + i * V;
    index_t j = 0;
    if (dec && folded) {
      const B a(dec[i]);
      for (; j + index_t(B::size) <= V; j += B::size)
        (a * (B::load_unaligned(s + j) + B::load_unaligned(d + j))).store_unaligned(s + j);
      for (; j < V; ++j) s[j] = dec[i] * (s[j] + d[j]);
    } else if (dec) {
      const B a(dec[i]);
      for (; j + index_t(B::size) <= V; j += B::size)
        xsimd::fma(a, B::load_unaligned(s + j), B::load_unaligned(d + j)).store_unaligned(s + j);
      for (; j < V; ++j) s[j] = std::fma(dec[i], s[j], d[j]);
    } else {
      for (; j + index_t(B::size) <= V; j += B::size)
        (B::load_unaligned(s + j) + B::load_unaligned(d + j)).store_unaligned(s + j);
      for (; j < V; ++j) s[j] = s[j] + d[j];
    }
  }
}

}  // namespace detail

// ---------------------------------------------------------------------------------------
// recurrent form
// ---------------------------------------------------------------------------------------

namespace detail {

// One step on columns [j, j + NB·W) of S (NB batches), v/o/S rows contiguous.
template <decay_kind D, int NB, bool Bonus, class Arch, class T>
SEQMIX_INLINE void step_block(T* SEQMIX_RESTRICT S, const T* SEQMIX_RESTRICT qs, const T* SEQMIX_RESTRICT kk,
                              const T* SEQMIX_RESTRICT a, T as, const T* SEQMIX_RESTRICT v, T* SEQMIX_RESTRICT o,
                              T bonus, index_t K, index_t V, index_t j) noexcept {
  using B = xsimd::batch<T, Arch>;
  constexpr index_t W = B::size;
  B vb[NB], acc[NB];
  for (int n = 0; n < NB; ++n) {
    vb[n] = B::load_unaligned(v + j + n * W);
    acc[n] = Bonus ? vb[n] * B(bonus) : B(T(0));
  }
  const B asb(as);
  for (index_t i = 0; i < K; ++i) {
    T* srow = S + i * V + j;
    const B ki(kk[i]), qi(qs[i]);
    B ai;
    if constexpr (D == decay_kind::vector) ai = B(a[i]);
    else ai = asb;
    for (int n = 0; n < NB; ++n) {
      B s = B::load_unaligned(srow + n * W);
      if constexpr (Bonus) acc[n] = xsimd::fma(qi, s, acc[n]);
      if constexpr (D == decay_kind::none) s = xsimd::fma(ki, vb[n], s);
      else s = xsimd::fma(ai, s, ki * vb[n]);
      if constexpr (!Bonus) acc[n] = xsimd::fma(qi, s, acc[n]);
      s.store_unaligned(srow + n * W);
    }
  }
  for (int n = 0; n < NB; ++n) acc[n].store_unaligned(o + j + n * W);
}

// Two consecutive steps on columns [j, j + NB·W): S is loaded and stored once for both
// (the same arithmetic as two single steps, so results do not depend on the pairing).
template <decay_kind D, int NB, bool Bonus, class Arch, class T>
SEQMIX_INLINE void step_block2(T* SEQMIX_RESTRICT S, const T* SEQMIX_RESTRICT qs, const T* SEQMIX_RESTRICT kk,
                               const T* SEQMIX_RESTRICT a, const T* as, const T* SEQMIX_RESTRICT v0,
                               const T* SEQMIX_RESTRICT v1, T* SEQMIX_RESTRICT o0, T* SEQMIX_RESTRICT o1,
                               const T* bonus, index_t K, index_t V, index_t j) noexcept {
  using B = xsimd::batch<T, Arch>;
  constexpr index_t W = B::size;
  B va[NB], vb[NB], acc0[NB], acc1[NB];
  for (int n = 0; n < NB; ++n) {
    va[n] = B::load_unaligned(v0 + j + n * W);
    vb[n] = B::load_unaligned(v1 + j + n * W);
    acc0[n] = Bonus ? va[n] * B(bonus[0]) : B(T(0));
    acc1[n] = Bonus ? vb[n] * B(bonus[1]) : B(T(0));
  }
  const B as0(as[0]), as1(as[1]);
  for (index_t i = 0; i < K; ++i) {
    T* srow = S + i * V + j;
    const B k0(kk[i]), q0(qs[i]), k1(kk[K + i]), q1(qs[K + i]);
    B a0, a1;
    if constexpr (D == decay_kind::vector) {
      a0 = B(a[i]);
      a1 = B(a[K + i]);
    } else {
      a0 = as0;
      a1 = as1;
    }
    for (int n = 0; n < NB; ++n) {
      B s = B::load_unaligned(srow + n * W);
      if constexpr (Bonus) acc0[n] = xsimd::fma(q0, s, acc0[n]);
      if constexpr (D == decay_kind::none) s = xsimd::fma(k0, va[n], s);
      else s = xsimd::fma(a0, s, k0 * va[n]);
      if constexpr (Bonus) acc1[n] = xsimd::fma(q1, s, acc1[n]);
      else acc0[n] = xsimd::fma(q0, s, acc0[n]);
      if constexpr (D == decay_kind::none) s = xsimd::fma(k1, vb[n], s);
      else s = xsimd::fma(a1, s, k1 * vb[n]);
      if constexpr (!Bonus) acc1[n] = xsimd::fma(q1, s, acc1[n]);
      s.store_unaligned(srow + n * W);
    }
  }
  for (int n = 0; n < NB; ++n) {
    acc0[n].store_unaligned(o0 + j + n * W);
    acc1[n].store_unaligned(o1 + j + n * W);
  }
}

template <decay_kind D, bool Bonus, class Arch, class T>
void recurrent_impl(const problem<T>& p) {
  using B = xsimd::batch<T, Arch>;
  constexpr index_t W = B::size;
  const index_t K = p.K, V = p.V;
  // Time blocks of TB steps: scale·q, k·v_scale, e^{g} of the block are prepared first; then
  // each column strip of S (NB batches wide, sized to stay in L1) runs through the block's
  // steps two at a time. Columns are independent, so the strip order does not change any
  // result.
  constexpr index_t TB = 32;
  // v and o rows of the block go through contiguous buffers: heads of a [B,T,H,D] tensor are
  // H·D apart, often a multiple of 4 KiB, which would put a block's rows in one L1 set.
  T* ws = thread_workspace(0).template get<T>(std::size_t(3 * TB * K + 2 * TB + 2 * TB * V + 64));
  T *qs = ws, *kk = ws + TB * K, *a = ws + 2 * TB * K, *as = ws + 3 * TB * K, *bonus = as + TB;
  T *vbuf = bonus + TB, *obuf = vbuf + TB * V;
  T* S = p.state;
  const index_t strip_bytes = K * index_t(sizeof(T)) * W;
  const int NBsel = strip_bytes * 4 <= 32768 ? 4 : strip_bytes * 2 <= 32768 ? 2 : 1;
  for (index_t t0 = 0; t0 < p.steps; t0 += TB) {
    const index_t tb = std::min(TB, p.steps - t0);
    for (index_t r = 0; r < tb; ++r) {
      const index_t t = t0 + r;
      const T* q = p.q + t * p.ldq;
      const T* k = p.k + t * p.ldk;
      const T vs = p.v_scale ? p.v_scale[t * p.ldvs] : T(1);
      T* qd = qs + r * K;
      T* kd = kk + r * K;
      scale_n<Arch>(qd, q, p.scale, K);
      scale_n<Arch>(kd, k, vs, K);
      if constexpr (D == decay_kind::vector) exp_n<Arch>(a + r * K, p.g + t * p.ldg, K);
      else if constexpr (D == decay_kind::scalar) as[r] = std::exp(gate_at(p, t));
      else as[r] = T(1);
      if constexpr (Bonus) {
        T b = 0;
        for (index_t i = 0; i < K; ++i) b += qd[i] * p.u[i] * kd[i];
        bonus[r] = b;
      }
    }
    load_rows(vbuf, p.v + t0 * p.ldv, tb, V, p.ldv);
    auto strip = [&](auto nb, index_t j) {
      constexpr int NB = decltype(nb)::value;
      index_t r = 0;
      for (; r + 2 <= tb; r += 2) {
        const T* v0 = vbuf + r * V;
        T* o0 = obuf + r * V;
        step_block2<D, NB, Bonus, Arch>(S, qs + r * K, kk + r * K, a + r * K, as + r, v0, v0 + V, o0, o0 + V,
                                        bonus + r, K, V, j);
      }
      if (r < tb)
        step_block<D, NB, Bonus, Arch>(S, qs + r * K, kk + r * K, a + r * K, as[r], vbuf + r * V, obuf + r * V,
                                       bonus[r], K, V, j);
    };
    index_t j = 0;
    if (NBsel == 4)
      for (; j + 4 * W <= V; j += 4 * W) strip(std::integral_constant<int, 4>{}, j);
    if (NBsel >= 2)
      for (; j + 2 * W <= V; j += 2 * W) strip(std::integral_constant<int, 2>{}, j);
    for (; j + W <= V; j += W) strip(std::integral_constant<int, 1>{}, j);
    for (; j < V; ++j)  // scalar tail columns: the same arithmetic
      for (index_t r = 0; r < tb; ++r) {
        const T* v = vbuf + r * V;
        const T *qd = qs + r * K, *kd = kk + r * K, *ad = a + r * K;
        T acc = Bonus ? bonus[r] * v[j] : T(0);
        for (index_t i = 0; i < K; ++i) {
          T s = S[i * V + j];
          if constexpr (Bonus) acc = std::fma(qd[i], s, acc);
          if constexpr (D == decay_kind::none) s = std::fma(kd[i], v[j], s);
          else s = std::fma(D == decay_kind::vector ? ad[i] : as[r], s, kd[i] * v[j]);
          if constexpr (!Bonus) acc = std::fma(qd[i], s, acc);
          S[i * V + j] = s;
        }
        obuf[r * V + j] = acc;
      }
    store_rows(p.o + t0 * p.ldo, obuf, tb, V, p.ldo);
  }
}

}  // namespace detail

template <decay_kind D, class Arch = xsimd::default_arch, class T>
void recurrent(const problem<T>& p) {
  if constexpr (D == decay_kind::vector) {
    if (p.u) return detail::recurrent_impl<D, true, Arch>(p);
  }
  detail::recurrent_impl<D, false, Arch>(p);
}

// ---------------------------------------------------------------------------------------
// chunked form
// ---------------------------------------------------------------------------------------

namespace detail {

// Scratch of one chunk of up to C rows (row-major blocks; the transposed K blocks and the
// score matrix A have row stride ld = C rounded up to 16, their pad columns kept finite).
//   Q   Q·scale [C×K]           Kc  K [C×K]            Vc  V·v_scale [C×V]
//   b   cumulative log gate, (C+1) rows (row 0 = 0)   E   e^{b} [C×K] (vector decay)
//   Qe  the query side of the inter-chunk term, Q ⊙ e^{b_t} [C×K]
//   KT  the key side of the scores, transposed [K×ld]   KlT the key side of the state
//   increment, transposed [K×ld]   A   scores [C×ld]    Kt, Kh, Qh, vec: temporaries.
template <class T>
struct chunk_buffers {
  T *Q, *Kc, *Vc, *b, *E, *Qe, *Qh, *Kt, *Kh, *KT, *KlT, *A, *vec;
  index_t lda;
  static index_t ld(index_t C) { return (C + 15) / 16 * 16; }
  static std::size_t size(index_t C, index_t K, index_t V) {
    return std::size_t(8 * C * K + K + C * V + 2 * K * ld(C) + C * ld(C) + 4 * K + 2 * ld(C) + 64);
  }
  chunk_buffers(T* p, index_t C, index_t K, index_t V) {
    lda = ld(C);
    Q = p;
    Kc = Q + C * K;
    b = Kc + C * K;  // (C+1)·K: row 0 is the zero row (b_{-1}), rows 1.. are b_0..b_{C-1}
    E = b + (C + 1) * K;
    Qe = E + C * K;
    Qh = Qe + C * K;
    Kt = Qh + C * K;
    Kh = Kt + C * K;
    Vc = Kh + C * K;
    KT = Vc + C * V;
    KlT = KT + K * lda;
    A = KlT + K * lda;
    vec = A + C * lda;
  }
};

// dst[i·ld + r] = src[r·cols + i] (r < rows, i < cols); pad columns [rows, round16(rows)) = 0.
template <class T>
SEQMIX_INLINE void transpose_to(T* SEQMIX_RESTRICT dst, index_t ld, const T* SEQMIX_RESTRICT src, index_t rows,
                                index_t cols) noexcept {
  const index_t pad = (rows + 15) / 16 * 16;
  for (index_t i = 0; i < cols; ++i) {
    T* d = dst + i * ld;
    for (index_t r = 0; r < rows; ++r) d[r] = src[r * cols + i];
    for (index_t r = rows; r < pad; ++r) d[r] = T(0);
  }
}

// Loads rows [t0, t0+c): Q·scale, K, V·v_scale, and the cumulative log gate.
template <decay_kind D, class Arch, class T>
void load_chunk(const problem<T>& p, index_t t0, index_t c, chunk_buffers<T>& w) {
  const index_t K = p.K, V = p.V;
  for (index_t r = 0; r < c; ++r) scale_n<Arch>(w.Q + r * K, p.q + (t0 + r) * p.ldq, p.scale, K);
  load_rows(w.Kc, p.k + t0 * p.ldk, c, K, p.ldk);
  if (p.v_scale)
    for (index_t r = 0; r < c; ++r) scale_n<Arch>(w.Vc + r * V, p.v + (t0 + r) * p.ldv, p.v_scale[(t0 + r) * p.ldvs], V);
  else
    load_rows(w.Vc, p.v + t0 * p.ldv, c, V, p.ldv);
  if constexpr (D == decay_kind::vector) {
    std::fill_n(w.b, K, T(0));
    cumsum_vector_gate(w.b + K, p.g + t0 * p.ldg, c, K, p.ldg);
  } else if constexpr (D == decay_kind::scalar) {
    w.b[0] = 0;
    T acc = 0;
    for (index_t r = 0; r < c; ++r) w.b[r + 1] = acc += gate_at(p, t0 + r);
  }
}

// The intra-chunk score matrix A [c×c] (row stride c), lower triangular (strictly lower
// plus the u-bonus diagonal when p.u), for vector decay. See the header comment.
template <class Arch, class T>
void intra_vector(const problem<T>& p, index_t c, chunk_buffers<T>& w) {
  const index_t K = p.K;
  const bool strict = p.u != nullptr;
  const T* bs = w.b + K;                    // b_s, row s
  const T* bq = strict ? w.b : w.b + K;     // the q-side exponent row t (b_{t-1} or b_t)
  T* A = w.A;
  const index_t lda = w.lda;
  const T lim = span_limit<T>;
  // whole-chunk span: R = bq_0, smallest b at the last row
  T span = 0;
  for (index_t i = 0; i < K; ++i) span = std::max(span, bq[i] - bs[(c - 1) * K + i]);
  const index_t sub = span <= lim ? c : std::min(sub_block, c);
  // K̂ rows: K_s ⊙ e^{b_{e_j} − b_s} with e_j the last row of s's sub-block (off-diagonal use)
  if (sub < c)
    for (index_t s = 0; s < c; ++s) {
      const index_t e = std::min(c, (s / sub + 1) * sub) - 1;
      mul_exp_diff<Arch>(w.Kh + s * K, w.Kc + s * K, bs + e * K, bs + s * K, K);
    }
  T* wv = w.vec;
  for (index_t f = 0; f < c; f += sub) {
    const index_t len = std::min(sub, c - f);
    const T* R = bq + f * K;
    // Q̂ rows: Q_t ⊙ e^{bq_t − R} (<= 1)
    for (index_t t = f; t < f + len; ++t) mul_exp_diff<Arch>(w.Qh + t * K, w.Q + t * K, bq + t * K, R, K);
    if (f > 0) {  // off-diagonal: K̃ rows s < f = K̂_s ⊙ e^{R − b_{e_j}}
      for (index_t j0 = 0; j0 < f; j0 += sub) {
        const index_t e = j0 + sub - 1;
        for (index_t i = 0; i < K; ++i) wv[i] = std::exp(R[i] - bs[e * K + i]);
        for (index_t s = j0; s <= e; ++s)
          for (index_t i = 0; i < K; ++i) w.Kt[s * K + i] = w.Kh[s * K + i] * wv[i];
      }
      gemm<false, true>(len, f, K, w.Qh + f * K, K, w.Kt, K, A + f * lda, lda);
    }
    // diagonal sub-block
    T dspan = 0;
    for (index_t i = 0; i < K; ++i) dspan = std::max(dspan, R[i] - bs[(f + len - 1) * K + i]);
    T* Ad = A + f * lda + f;
    if (dspan <= lim) {
      for (index_t s = f; s < f + len; ++s) mul_exp_diff<Arch>(w.Kt + s * K, w.Kc + s * K, R, bs + s * K, K);
      gemm<false, true>(len, len, K, w.Qh + f * K, K, w.Kt + f * K, K, Ad, lda);
    } else {
      for (index_t t = f; t < f + len; ++t)
        for (index_t s = f; s <= t; ++s) {
          T acc = 0;
          for (index_t i = 0; i < K; ++i)
            acc += w.Q[t * K + i] * w.Kc[s * K + i] * std::exp(bq[t * K + i] - bs[s * K + i]);
          Ad[(t - f) * lda + (s - f)] = acc;
        }
    }
    // mask: zero above the diagonal (and the diagonal itself when strict, replaced by the bonus)
    for (index_t t = f; t < f + len; ++t) {
      T* row = A + t * lda;
      const index_t from = strict ? t : t + 1;
      std::fill(row + from, row + c, T(0));
      if (strict) {
        T acc = 0;
        for (index_t i = 0; i < K; ++i) acc += w.Q[t * K + i] * p.u[i] * w.Kc[t * K + i];
        row[t] = acc;
      }
    }
  }
}

// One chunk: rows [t0, t0+c), every exponent computed as a difference <= 0 (any gates).
//  want_out: writes the outputs O = Qe · S_in + A · V (inter- plus intra-chunk term; row tiles
//            of A stop at the diagonal).
//  dS:       dS = KlT · V with KlT[i, s] = k_s,i e^{b_last,i − b_s,i}, and dec = e^{b_last}
//            (vector: K values; scalar: K copies; none: dec untouched).
//  S_upd:    instead of dS, the state update S_upd = Diag(dec) S_upd + KlT · V fused into the
//            product's epilogue (the same arithmetic as dS then apply_update). S_upd may be
//            S_in (the outputs are computed first).
template <decay_kind D, class Arch, class T>
void process_chunk_exact(const problem<T>& p, index_t t0, index_t c, index_t C, const T* S_in, bool want_out, T* dS,
                         T* dec, T* scratch, T* S_upd) {
  using B = xsimd::batch<T, Arch>;
  constexpr index_t W = index_t(B::size);
  const index_t K = p.K, V = p.V;
  chunk_buffers<T> w(scratch, C, K, V);
  const index_t ld = w.lda;
  load_chunk<D, Arch>(p, t0, c, w);
  const bool strict = D == decay_kind::vector && p.u != nullptr;
  const bool update = dS != nullptr || S_upd != nullptr;
  const T* Qe = w.Q;   // query side of the inter-chunk term
  const T* Qs = w.Q;   // query side of the scores
  bool scores_done = false;
  if constexpr (D == decay_kind::vector) {
    // Fast path: when the chunk's total log decay is <= 40 in every channel, E = e^{b}
    // (>= e^-40) once per chunk gives Q ⊙ e^{bq} = Q ⊙ E, K ⊙ e^{-b} = K / E (<= e^40),
    // scores (Q ⊙ E)(K / E)ᵀ in one product, and K ⊙ e^{b_last − b} = (K / E) ⊙ E_last: one
    // exp per element instead of four. Otherwise the sub-block scheme of intra_vector.
    const T* last = w.b + c * K;
    T span = 0;
    for (index_t i = 0; i < K; ++i) span = std::max(span, -last[i]);
    if (span <= span_limit<T>) {
      exp_n<Arch>(w.E, w.b + K, c * K);
      div_n<Arch>(w.Kt, w.Kc, w.E, c * K);
      transpose_to(w.KT, ld, w.Kt, c, K);
      if (want_out) {
        for (index_t t = 0; t < c; ++t) {
          if (strict && t == 0) std::memcpy(w.Qe, w.Q, sizeof(T) * K);
          else mul_n<Arch>(w.Qe + t * K, w.Q + t * K, w.E + (strict ? t - 1 : t) * K, K);
        }
      }
      if (update) {
        const T* El = w.E + (c - 1) * K;
        for (index_t i = 0; i < K; ++i) scale_n<Arch>(w.KlT + i * ld, w.KT + i * ld, El[i], c);
        std::memcpy(dec, El, sizeof(T) * K);
      }
    } else {
      if (want_out) {
        const T* bq = strict ? w.b : w.b + K;
        for (index_t t = 0; t < c; ++t) mul_exp_diff<Arch>(w.Qe + t * K, w.Q + t * K, bq + t * K, (const T*)nullptr, K);
        intra_vector<Arch>(p, c, w);
        scores_done = true;
      }
      if (update) {
        for (index_t s = 0; s < c; ++s) mul_exp_diff<Arch>(w.Kt + s * K, w.Kc + s * K, last, w.b + (s + 1) * K, K);
        transpose_to(w.KlT, ld, w.Kt, c, K);
        exp_n<Arch>(dec, last, K);
      }
    }
    Qe = w.Qe;
    Qs = w.Qe;
  } else {
    transpose_to(w.KT, ld, w.Kc, c, K);
    if constexpr (D == decay_kind::scalar) {
      if (want_out) {
        for (index_t t = 0; t < c; ++t) scale_n<Arch>(w.Qe + t * K, w.Q + t * K, std::exp(w.b[t + 1]), K);
        Qe = w.Qe;
      }
      if (update) {
        const T last = w.b[c];
        T* ws = w.vec + w.lda;  // e^{b_last − b_s}
        for (index_t s = 0; s < c; ++s) w.vec[s] = last - w.b[s + 1];
        exp_n<Arch>(ws, w.vec, c);
        for (index_t i = 0; i < K; ++i) mul_n<Arch>(w.KlT + i * ld, w.KT + i * ld, ws, c);
        std::fill_n(dec, K, std::exp(last));
      }
    }
  }
  const T* KlT = D == decay_kind::none ? w.KT : w.KlT;
  if (want_out) {
    T* A = w.A;
    if (!scores_done) {
      // scores: row tile ending at e needs columns [0, e) only
      blk::product<blk::epi::store, Arch>(
          c, A, ld, (const T*)nullptr, blk::operand<T>{Qs, K, w.KT, ld}, K, blk::operand<T>{},
          [](index_t) { return index_t(0); }, [](index_t e) { return (e + W - 1) / W * W; });
      for (index_t t = 0; t < c; ++t) {
        T* row = A + t * ld;
        if constexpr (D == decay_kind::scalar) mul_exp_from<Arch>(row, w.b[t + 1], w.b + 1, t + 1);
        std::fill(row + (strict ? t : t + 1), row + c, T(0));
        if (strict) {
          T acc = 0;
          for (index_t i = 0; i < K; ++i) acc += w.Q[t * K + i] * p.u[i] * w.Kc[t * K + i];
          row[t] = acc;
        }
      }
    }
    // O = Qe · S_in + A · V, the row tile ending at e with depth e in A
    blk::product<blk::epi::store, Arch>(
        c, p.o + t0 * p.ldo, p.ldo, (const T*)nullptr, blk::operand<T>{Qe, K, S_in, V}, K,
        blk::operand<T>{A, ld, w.Vc, V}, [](index_t e) { return e; }, [V](index_t) { return V; });
  }
  if (update) {
    const T* d = D == decay_kind::none ? (const T*)nullptr : dec;
    if (S_upd) blk::product<blk::epi::decay, Arch>(K, V, S_upd, V, d, blk::operand<T>{KlT, ld, w.Vc, V}, c);
    else blk::product<blk::epi::store, Arch>(K, V, dS, V, d, blk::operand<T>{KlT, ld, w.Vc, V}, c);
  }
}

// KT[i·ld + r] = Kt[r·K + i] (r < rows), pad columns [rows, round16(rows)) = 0; full W×W
// blocks transposed in registers (simd/transpose.hpp).
template <class Arch, class T>
SEQMIX_INLINE void transpose_rows(T* SEQMIX_RESTRICT dst, index_t ld, const T* SEQMIX_RESTRICT src, index_t rows,
                                  index_t K) noexcept {
  constexpr index_t W = index_t(xsimd::batch<T, Arch>::size);
  const index_t full_r = rows / W * W, full_k = K / W * W;
  for (index_t r = 0; r < full_r; r += W)
    for (index_t i = 0; i < full_k; i += W) simd::transpose_square<Arch>(src + r * K + i, K, dst + i * ld + r, ld);
  for (index_t i = 0; i < K; ++i) {
    T* d = dst + i * ld;
    for (index_t r = i < full_k ? full_r : 0; r < rows; ++r) d[r] = src[r * K + i];
    for (index_t r = rows; r < (rows + 15) / 16 * 16; ++r) d[r] = T(0);
  }
}

// One chunk, fast form: when the chunk's total log decay is <= 40 (every channel), with
// e_t = e^{b_t} (>= e^-40; b the in-chunk cumulative log gate):
//   Qe_t = scale·q_t ⊙ e_t,  K̃_s = k_s ⊘ e_s (<= e^40 |k_s|),
//   scores A = mask(Qe K̃ᵀ),  O = Qe S_in + A V,
//   state:  S ← Diag(e_last) (S + K̃ᵀ V)
// (one exp per gate value, no per-score exps). One pass over the chunk's rows reads q, k and
// g straight from the input (no copies), V is read in place unless v_scale is set. The state
// update is "folded" (apply_update(..., folded = true)). Returns false, doing nothing, when the
// chunk's decay is too large (then process_chunk_exact runs).
template <decay_kind D, class Arch, class T>
bool process_chunk_fast(const problem<T>& p, index_t t0, index_t c, index_t C, const T* S_in, bool want_out, T* dS,
                        T* dec, T* scratch, T* S_upd, prefetch_plan<D, T>* pf = nullptr) {
  using B = xsimd::batch<T, Arch>;
  constexpr index_t W = index_t(B::size);
  const index_t K = p.K, V = p.V;
  const bool strict = D == decay_kind::vector && p.u != nullptr;
  const bool update = dS != nullptr || S_upd != nullptr;
  chunk_buffers<T> w(scratch, C, K, V);
  const index_t ld = w.lda;
  T *bv = w.vec, *Ecur = bv + K, *Eprev = Ecur + K, *bonus = Eprev + K;
  T bs = 0;
  // the chunk's total log decay
  if constexpr (D == decay_kind::vector) {
    std::fill_n(bv, K, T(0));
    for (index_t s = 0; s < c; ++s) {
      const T* g = p.g + (t0 + s) * p.ldg;
      index_t i = 0;
      for (; i + W <= K; i += W) (B::load_unaligned(bv + i) + B::load_unaligned(g + i)).store_unaligned(bv + i);
      for (; i < K; ++i) bv[i] += g[i];
    }
    T span = 0;
    for (index_t i = 0; i < K; ++i) span = std::max(span, -bv[i]);
    if (!(span <= span_limit<T>)) return false;
    std::fill_n(bv, K, T(0));
    std::fill_n(Eprev, K, T(1));
  } else if constexpr (D == decay_kind::scalar) {
    T last = 0;
    for (index_t s = 0; s < c; ++s) last += gate_at(p, t0 + s);
    if (!(-last <= span_limit<T>)) return false;
  }
  // scalar decay: e^{b_s} and e^{-b_s} of every row, vectorised
  [[maybe_unused]] T *ep = w.vec, *en = w.vec + ld;
  if constexpr (D == decay_kind::scalar) {
    for (index_t s = 0; s < c; ++s) en[s] = bs += gate_at(p, t0 + s);
    index_t s = 0;
    for (; s + W <= c; s += W) {
      const B b = B::load_unaligned(en + s);
      xsimd::exp(b).store_unaligned(ep + s);
      xsimd::exp(-b).store_unaligned(en + s);
    }
    for (; s < c; ++s) {
      ep[s] = std::exp(en[s]);
      en[s] = std::exp(-en[s]);
    }
  }
  // the row pass: Qe, K̃ (row-major into Kt), the bonus
  const B sc(p.scale);
  for (index_t s = 0; s < c; ++s) {
    const T* q = p.q + (t0 + s) * p.ldq;
    const T* k = p.k + (t0 + s) * p.ldk;
    T* qe = w.Qe + s * K;
    T* kt = w.Kt + s * K;
    if constexpr (D == decay_kind::vector) {
      const T* g = p.g + (t0 + s) * p.ldg;
      index_t i = 0;
      for (; i + W <= K; i += W) {
        const B b = B::load_unaligned(bv + i) + B::load_unaligned(g + i);
        b.store_unaligned(bv + i);
        const B e = xsimd::exp(b);
        e.store_unaligned(Ecur + i);
        (B::load_unaligned(q + i) * sc * (strict ? B::load_unaligned(Eprev + i) : e)).store_unaligned(qe + i);
        (B::load_unaligned(k + i) / e).store_unaligned(kt + i);
      }
      for (; i < K; ++i) {
        bv[i] += g[i];
        Ecur[i] = std::exp(bv[i]);
        qe[i] = q[i] * p.scale * (strict ? Eprev[i] : Ecur[i]);
        kt[i] = k[i] / Ecur[i];
      }
      if (strict) {
        T acc = 0;
        for (index_t j = 0; j < K; ++j) acc += q[j] * p.scale * p.u[j] * k[j];
        bonus[s] = acc;
        std::swap(Ecur, Eprev);  // Eprev = e_s for the next row
      }
    } else if constexpr (D == decay_kind::scalar) {
      scale_n<Arch>(qe, q, p.scale * ep[s], K);
      scale_n<Arch>(kt, k, en[s], K);
    } else {
      scale_n<Arch>(qe, q, p.scale, K);
      std::memcpy(kt, k, sizeof(T) * K);
    }
  }
  transpose_rows<Arch>(w.KT, ld, w.Kt, c, K);
  const T* Vp = p.v + t0 * p.ldv;
  index_t ldv = p.ldv;
  if (p.v_scale) {
    for (index_t r = 0; r < c; ++r)
      scale_n<Arch>(w.Vc + r * V, p.v + (t0 + r) * p.ldv, p.v_scale[(t0 + r) * p.ldvs], V);
    Vp = w.Vc;
    ldv = V;
  }
  // the next chunk's prefetches, spread evenly over the row tiles of the products below
  const index_t pf_tiles = (want_out ? c / 4 : 0) + (update ? K / 4 : 0);
  const index_t pf_total = pf ? pf->total() : 0;
  index_t pf_tile = 0;
  auto pf_hook = [&] {
    if (pf) pf->issue(++pf_tile * pf_total / std::max<index_t>(pf_tiles, 1));
  };
  if (want_out) {
    T* A = w.A;
    blk::product<blk::epi::store, Arch>(
        c, A, ld, (const T*)nullptr, blk::operand<T>{w.Qe, K, w.KT, ld}, K, blk::operand<T>{},
        [](index_t) { return index_t(0); }, [](index_t e) { return (e + W - 1) / W * W; });
    for (index_t t = 0; t < c; ++t) {
      T* row = A + t * ld;
      std::fill(row + (strict ? t : t + 1), row + c, T(0));
      if (strict) row[t] = bonus[t];
    }
    blk::product<blk::epi::store, Arch>(
        c, p.o + t0 * p.ldo, p.ldo, (const T*)nullptr, blk::operand<T>{w.Qe, K, S_in, V}, K,
        blk::operand<T>{A, ld, Vp, ldv}, [](index_t e) { return e; }, [V](index_t) { return V; }, pf_hook);
  }
  if (update) {
    const T* d = nullptr;
    if constexpr (D == decay_kind::vector) {
      std::memcpy(dec, strict ? Eprev : Ecur, sizeof(T) * K);
      d = dec;
    } else if constexpr (D == decay_kind::scalar) {
      std::fill_n(dec, K, std::exp(bs));
      d = dec;
    }
    if (S_upd) blk::product<blk::epi::fold, Arch>(K, V, S_upd, V, d, blk::operand<T>{w.KT, ld, Vp, ldv}, c, pf_hook);
    else blk::product<blk::epi::store, Arch>(K, V, dS, V, d, blk::operand<T>{w.KT, ld, Vp, ldv}, c, pf_hook);
  }
  if (pf) pf->issue(pf_total);
  return true;
}

// One chunk (see process_chunk_fast and process_chunk_exact). Returns whether the state
// update is folded (S = Diag(dec)(S + dS)) rather than S = Diag(dec) S + dS.
template <decay_kind D, class Arch, class T>
bool process_chunk(const problem<T>& p, index_t t0, index_t c, index_t C, const T* S_in, bool want_out, T* dS,
                   T* dec, T* scratch, T* S_upd = nullptr, prefetch_plan<D, T>* pf = nullptr) {
  if (process_chunk_fast<D, Arch>(p, t0, c, C, S_in, want_out, dS, dec, scratch, S_upd, pf)) return true;
  process_chunk_exact<D, Arch>(p, t0, c, C, S_in, want_out, dS, dec, scratch, S_upd);
  return false;
}

}  // namespace detail

// Serial chunked form (chunk C; the parallel form is C = steps).
template <decay_kind D, class Arch = xsimd::default_arch, class T>
void chunked(const problem<T>& p, index_t C) {
  if (p.steps <= 0) return;
  const index_t K = p.K;
  const std::size_t bufs = detail::chunk_buffers<T>::size(C, K, p.V);
  T* mem = thread_workspace(0).template get<T>(bufs + std::size_t(K + 16));
  T* dec = mem + bufs;
  for (index_t t0 = 0; t0 < p.steps; t0 += C) {
    const index_t c = std::min(C, p.steps - t0);
    detail::prefetch_plan<D, T> pf{t0 + C < p.steps ? &p : nullptr, t0 + C, std::min(C, p.steps - t0 - C)};
    detail::process_chunk<D, Arch>(p, t0, c, C, p.state, true, (T*)nullptr, dec, mem, p.state, &pf);
  }
}

// One head with its chunks spread over threads: (1) every chunk's dS and decay in parallel,
// (2) the chunk-boundary states by a serial scan, (3) every chunk's outputs in parallel.
template <decay_kind D, class Arch = xsimd::default_arch, class T>
void chunked_two_pass(const problem<T>& p, index_t C, int threads) {
  if (p.steps <= 0) return;
  const index_t K = p.K, V = p.V, n = (p.steps + C - 1) / C;
  // per chunk: the state entering it (K·V) and its dS (K·V), dec (K)
  T* mem = thread_workspace(2).template get<T>(std::size_t(n * (2 * K * V + K + 1) + 16));
  T *Sin = mem, *dSs = mem + n * K * V, *decs = dSs + n * K * V, *folded = decs + n * K;
  parallel_for(n, threads, [&](index_t ci) {
    const index_t t0 = ci * C, c = std::min(C, p.steps - t0);
    T* scratch = thread_workspace(0).template get<T>(detail::chunk_buffers<T>::size(C, K, V));
    folded[ci] = detail::process_chunk<D, Arch>(p, t0, c, C, (const T*)nullptr, false, dSs + ci * K * V,
                                                decs + ci * K, scratch)
                     ? T(1)
                     : T(0);
  });
  for (index_t ci = 0; ci < n; ++ci) {
    std::memcpy(Sin + ci * K * V, p.state, sizeof(T) * K * V);
    detail::apply_update<Arch>(p.state, dSs + ci * K * V, D == decay_kind::none ? (const T*)nullptr : decs + ci * K,
                               K, V, folded[ci] != T(0));
  }
  parallel_for(n, threads, [&](index_t ci) {
    const index_t t0 = ci * C, c = std::min(C, p.steps - t0);
    T* scratch = thread_workspace(0).template get<T>(detail::chunk_buffers<T>::size(C, K, V));
    detail::process_chunk<D, Arch>(p, t0, c, C, (const T*)(Sin + ci * K * V), true, (T*)nullptr, (T*)nullptr, scratch);
  });
}

// The form `auto` picks for a head of `steps` steps (one thread per head): the recurrent
// form for decode-sized calls (<= 16 steps) and for small states (under 32×32: the block
// products' register tiles are mostly empty there); otherwise the chunked form, which does
// about 4·K·V + C·(K+V) FLOPs per step (C = 16 or 32) in block products at ~90% of FMA peak against
// the recurrent form's 5·K·V in rank-1 updates bound by loads and stores of S (measured in
// bench/chunk.cpp: the chunked form wins from T = 64 on at K = V = 64). A chunked call with
// fewer heads than threads spreads each head's chunks over the threads (two-pass).
inline form pick_form(index_t steps, index_t K, index_t V) {
  if (steps <= 16 || K * V < 32 * 32) return form::recurrent;
  return form::chunked;
}

// Runs one head in the requested form (auto resolved by pick_form), serially.
template <decay_kind D, class Arch = xsimd::default_arch, class T>
void run_head(const problem<T>& p, form f, index_t C) {
  if (f == form::auto_) f = pick_form(p.steps, p.K, p.V);
  switch (f) {
    case form::recurrent: recurrent<D, Arch>(p); break;
    case form::parallel: chunked<D, Arch>(p, std::max<index_t>(p.steps, 1)); break;
    default: chunked<D, Arch>(p, C > 0 ? C : default_chunk_for(p.K, p.V)); break;
  }
}

// Serial chunked form over n heads in lockstep: chunk 0 of every head, then chunk 1, ...
// The rows of one time step of a [B,T,H,D] tensor hold every head (each row of one head is
// H·D elements from the next, typically a page of its own), so walking the heads chunk by
// chunk touches each page (and its TLB entry) once for all of them instead of once per
// head. Each head's arithmetic is exactly that of `chunked` (same results bitwise).
template <decay_kind D, class Arch = xsimd::default_arch, class T>
void chunked_lockstep(const problem<T>* ps, index_t n, index_t C) {
  if (n <= 0) return;
  const index_t K = ps[0].K;
  index_t steps = 0;
  for (index_t j = 0; j < n; ++j) steps = std::max(steps, ps[j].steps);
  const std::size_t bufs = detail::chunk_buffers<T>::size(C, K, ps[0].V);
  T* mem = thread_workspace(0).template get<T>(bufs + std::size_t(K + 16));
  T* dec = mem + bufs;
  for (index_t t0 = 0; t0 < steps; t0 += C)
    for (index_t j = 0; j < n; ++j) {
      const problem<T>& p = ps[j];
      if (t0 >= p.steps) continue;
      // prefetches for the next head of this chunk, or the first head of the next chunk
      const index_t nj = j + 1 < n ? j + 1 : 0, nt = j + 1 < n ? t0 : t0 + C;
      detail::prefetch_plan<D, T> pf{nt < ps[nj].steps ? &ps[nj] : nullptr, nt, std::min(C, ps[nj].steps - nt)};
      detail::process_chunk<D, Arch>(p, t0, std::min(C, p.steps - t0), C, p.state, true, (T*)nullptr, dec, mem,
                                     p.state, &pf);
    }
}

// Heads per lockstep group: their states stay in L2 (<= 512 KiB together), at most 16, and
// enough groups for every thread.
inline index_t lockstep_group(index_t items, int threads, index_t K, index_t V, std::size_t elem) {
  const index_t by_cache = std::max<index_t>(1, index_t((std::size_t(512) << 10) / (std::size_t(K * V) * elem)));
  const index_t per_thread = (items + std::max(threads, 1) - 1) / std::max(threads, 1);
  return std::max<index_t>(1, std::min<index_t>({index_t(16), by_cache, per_thread}));
}
inline constexpr index_t max_lockstep = 16;

// Workspace slots: the engine uses 0 (chunk scratch) and 2 (two-pass chunk states); callers
// may use 1 and 3 for per-item buffers.
// Runs `items` independent heads. setup(item, slot, slots) returns the problem of that item;
// up to `slots` items (slot 0..slots-1) are live at once on a thread, so per-item buffers
// (e.g. in thread_workspace(1) or (3)) must be distinct per slot and requested with the same
// size for every slot. finish(item, problem) runs after it. Heads are spread over threads in
// groups run in lockstep (chunked form); when there are fewer heads than threads and the form
// is chunked, each head's chunks are spread over threads instead (two-pass; same results
// bitwise).
template <decay_kind D, class Arch = xsimd::default_arch, class Setup, class Finish>
void run_heads(index_t items, index_t steps, index_t K, index_t V, const run_options& opt, int threads, Setup&& setup,
               Finish&& finish) {
  using P = decltype(setup(index_t(0), index_t(0), index_t(1)));
  using T = std::remove_cv_t<std::remove_pointer_t<decltype(P{}.state)>>;
  // auto is resolved per head from its own length (so packed and separate calls agree)
  const form f = opt.kernel_form;
  const index_t C = opt.chunk > 0 ? opt.chunk : default_chunk_for(K, V);
  // tiny calls (decode steps, short prompts) are not worth waking a thread team
  if (double(items) * double(steps) * double(K) * double(V) < double(1 << 18)) threads = 1;
  // (auto depends on the shape only, never on the thread count, so results stay bitwise equal)
  const bool chunky = f == form::chunked || (f == form::auto_ && pick_form(steps, K, V) == form::chunked);
  auto resolved = [&](const P& p) { return f == form::auto_ ? pick_form(p.steps, p.K, p.V) : f; };
  if (chunky && items < threads && threads > 1 && steps > C) {
    for (index_t it = 0; it < items; ++it) {
      auto p = setup(it, 0, 1);
      if (resolved(p) == form::chunked) chunked_two_pass<D, Arch>(p, C, threads);
      else run_head<D, Arch>(p, f, C);
      finish(it, p);
    }
    return;
  }
  const index_t G = chunky ? lockstep_group(items, threads, K, V, sizeof(T)) : 1;
  const index_t groups = (items + G - 1) / G;
  parallel_for(groups, threads, [&](index_t gi) {
    const index_t i0 = gi * G, n = std::min(G, items - i0);
    P ps[max_lockstep], lockstep[max_lockstep];
    index_t lock = 0;
    for (index_t j = 0; j < n; ++j) {
      ps[j] = setup(i0 + j, j, G);
      if (resolved(ps[j]) == form::chunked) lockstep[lock++] = ps[j];
      else run_head<D, Arch>(ps[j], f, C);
    }
    chunked_lockstep<D, Arch>(lockstep, lock, C);
    for (index_t j = 0; j < n; ++j) finish(i0 + j, ps[j]);
  });
}

}  // namespace seqmix::kernels::chunk
