#pragma once
// Tiled FlashAttention on the CPU: one query tile (BQ queries) of one (sequence, head)
// against its visible key tiles (BK keys), with the online softmax (running max and
// denominator, rescaling), never a T×T matrix.
//
// Layout choice: the tile is computed transposed, Sᵀ = K·Qᵀ (keys in rows, the BQ queries
// across SIMD lanes), so the softmax statistics of a query live in one lane: the row max
// and row sum of the usual layout become vertical max/add of vectors (no horizontal
// reductions), and Oᵀ += Vᵀ·Pᵀ accumulates with the same lane layout. Both products run on
// one register-blocked micro-kernel (MR rows × NV vectors, broadcast A, vector B), which
// beats Eigen's GEMM at these sizes (see bench/attention.cpp). K and V are packed once per
// (sequence, kv head) into tiles laid out for the micro-kernel (contiguous, no 4 KiB
// strides between rows). Tiles entirely visible get no mask work; only tiles crossing the
// diagonal or the window edge are masked element-wise; tiles entirely invisible are never
// visited. Scores are in log2 units (scale·log2 e folded into Qᵀ) so the softmax uses exp2.
#include <algorithm>
#include <cstring>
#include <limits>

#include <xsimd/xsimd.hpp>

#include "seqmix/core/workspace.hpp"
#include "seqmix/kernels/attention/common.hpp"

namespace seqmix::kernels::attention {

template <class Arch, class T>
struct flash_shape {
  using batch = xsimd::batch<T, Arch>;
  static constexpr index_t L = index_t(batch::size);
  static constexpr index_t NV = 4;        // vectors of queries per tile row
  static constexpr index_t BQ = L * NV;   // queries per tile
  static constexpr index_t BK = BQ;       // keys per tile
  static constexpr index_t MR = 4;        // micro-kernel rows
  static constexpr index_t vpad(index_t V) noexcept { return (V + MR - 1) / MR * MR; }
  static constexpr index_t tiles(index_t keys) noexcept { return (keys + BK - 1) / BK; }
  // Elements of the packed K and V of `keys` rows.
  static constexpr index_t packed_k(index_t keys, index_t K) noexcept { return tiles(keys) * BK * K; }
  static constexpr index_t packed_v(index_t keys, index_t V) noexcept { return tiles(keys) * BK * vpad(V); }
};

// Packs K and V of one (sequence, kv head) into contiguous zero-padded rows: K as
// [tiles·BK][K], V as [tiles·BK][vpad(V)]. This removes the H·K stride between positions
// (rows 4 KiB apart alias in L1) and pads tiles so the micro-kernel needs no tails. Rows
// [row_begin, row_end) only (default: all), so callers can pack in memory order.
template <class Arch, class T>
void flash_pack(const T* k, index_t ldk, const T* v, index_t ldv, index_t keys, index_t K, index_t V, T* kp,
                T* vp, index_t row_begin = 0, index_t row_end = -1) noexcept {
  using sh = flash_shape<Arch, T>;
  const index_t rows = sh::tiles(keys) * sh::BK, Vp = sh::vpad(V);
  if (row_end < 0 || row_end > rows) row_end = rows;
  for (index_t s = row_begin; s < row_end; ++s) {
    if (s < keys) {
      std::memcpy(kp + s * K, k + s * ldk, sizeof(T) * std::size_t(K));
      std::memcpy(vp + s * Vp, v + s * ldv, sizeof(T) * std::size_t(V));
      for (index_t e = V; e < Vp; ++e) vp[s * Vp + e] = T(0);
    } else {
      std::memset(static_cast<void*>(kp + s * K), 0, sizeof(T) * std::size_t(K));
      std::memset(static_cast<void*>(vp + s * Vp), 0, sizeof(T) * std::size_t(Vp));
    }
  }
}

namespace detail {

// C[r][c·L..] (+)= Σ_k a[r·ars + k·aks] · b[k·ldb + c·L..], k < kc: MR rows × NV vectors
// held in registers. The B vectors are pinned in registers (an empty asm) so that GCC does
// not fold them into every FMA as memory operands: that doubles the loads and costs ~15% on
// Zen 4 (86 -> 104 GFLOP/s from L1). Kept out of line so the accumulators stay in registers.
// With Accumulate, C is first multiplied by the vectors `cscale` (the online-softmax rescale).
template <class B, int MR, int NV, bool Accumulate>
__attribute__((noinline)) void micro_kernel(const typename B::value_type* SEQMIX_RESTRICT a, index_t ars,
                                            index_t aks, const typename B::value_type* SEQMIX_RESTRICT b,
                                            index_t ldb, index_t kc, typename B::value_type* SEQMIX_RESTRICT c,
                                            index_t ldc, const typename B::value_type* cscale = nullptr) noexcept {
  constexpr index_t L = index_t(B::size);
  B acc[MR][NV];
  if constexpr (Accumulate) {
    B sc[NV];
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) sc[v] = B::load_aligned(cscale + v * L);
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r)
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) acc[r][v] = B::load_aligned(c + r * ldc + v * L) * sc[v];
  } else {
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r)
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) acc[r][v] = B(0);
  }
  for (index_t k = 0; k < kc; ++k) {
    B bv[NV];
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) {
      bv[v] = B::load_aligned(b + k * ldb + v * L);
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
      asm("" : "+v"(bv[v].data));
#endif
    }
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
      const B ar(a[r * ars + k * aks]);
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) acc[r][v] = xsimd::fma(ar, bv[v], acc[r][v]);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) acc[r][v].store_aligned(c + r * ldc + v * L);
}

enum bias_mode { bias_none = 0, bias_below = 1, bias_above = 2, bias_mixed = 3 };

}  // namespace detail

template <class Arch, class T>
class flash_tile_kernel {
  using sh = flash_shape<Arch, T>;
  using batch = typename sh::batch;
  static constexpr index_t L = sh::L, NV = sh::NV, BQ = sh::BQ, BK = sh::BK, MR = sh::MR;

 public:
  // Rows [t0, t0 + nq) (nq <= BQ) of head problem h, with its K/V packed by flash_pack.
  // `next_t0`, `next_nq`: the query rows this thread runs next (prefetched into L2 while
  // this tile computes; nq = 0 for none).
  static void run(const head_problem<T>& h, const T* kp, const T* vp, index_t t0, index_t nq,
                  const T* next_q = nullptr, index_t next_ldq = 0, index_t next_nq = 0) {
    tile(h, kp, vp, t0, nq, next_q, next_ldq, next_nq, nullptr);
  }

  // Partial softmax state of query rows carried between calls (ring attention folds one K/V
  // block at a time): running max m (log2 units: scale·log2(e)·q·k; start at
  // std::numeric_limits<T>::lowest()), denominator l (start at 0) and the unnormalised
  // output O (rows of V, start at 0). Pointers address the state of row t0.
  struct partial {
    T* m;
    T* l;
    T* o;
    index_t ldo;
  };

  // Rows [t0, t0 + nq) of h against its keys, merged into `acc` (no normalisation): after
  // the last block, o = O / l (finish). The result equals run() over all the keys at once.
  static void fold(const head_problem<T>& h, const T* kp, const T* vp, index_t t0, index_t nq, const partial& acc) {
    tile(h, kp, vp, t0, nq, nullptr, 0, 0, &acc);
  }

  // o = O / l for `rows` rows of a partial state (rows that saw no key: 0).
  static void finish(const partial& acc, index_t rows, index_t V, T* o, index_t ldo) noexcept {
    for (index_t i = 0; i < rows; ++i) {
      const T inv = acc.l[i] > T(0) ? T(1) / acc.l[i] : T(0);
      for (index_t e = 0; e < V; ++e) o[i * ldo + e] = acc.o[i * acc.ldo + e] * inv;
    }
  }

 private:
  static void tile(const head_problem<T>& h, const T* kp, const T* vp, index_t t0, index_t nq, const T* next_q,
                   index_t next_ldq, index_t next_nq, const partial* acc) {
    const index_t K = h.K, V = h.V, Vp = sh::vpad(V);
    const index_t P0 = t0 + h.offset(), P1 = P0 + nq - 1;
    const index_t lo = h.vis.lo(P0), hi = h.vis.hi(P1);
    const index_t kt_lo = lo / BK, kt_hi = hi / BK;
    const index_t keys = h.vis.keys;
    const index_t base = kt_lo * BK, span = std::min(keys, (kt_hi + 1) * BK) - base;

    // workspace: Qᵀ [K][BQ], S/P [BK][BQ], Oᵀ [Vp][BQ], cq [BQ], ck [span]
    const index_t n_qt = K * BQ, n_s = BK * BQ, n_o = Vp * BQ, n_ck = (span + L - 1) / L * L;
    T* ws = thread_workspace(0).template get<T>(std::size_t(n_qt + n_s + n_o + BQ + n_ck));
    T* Qt = ws;
    T* Sb = Qt + n_qt;
    T* Ot = Sb + n_s;
    T* cq = Ot + n_o;
    T* ck = cq + BQ;

    // the query rows and output rows are H·K apart in memory: prefetch them all at once
    // (memory-level parallelism) instead of taking one miss after another in the copies
    for (index_t i = 0; i < nq; ++i) {
      const char* qr = reinterpret_cast<const char*>(h.q + (t0 + i) * h.ldq);
      const char* orow = reinterpret_cast<const char*>(h.o + (t0 + i) * h.ldo);
      for (index_t x = 0; x < index_t(sizeof(T)) * K; x += 64) __builtin_prefetch(qr + x, 0, 3);
      for (index_t x = 0; x < index_t(sizeof(T)) * V; x += 64) __builtin_prefetch(orow + x, 1, 2);
    }
    for (index_t i = 0; i < next_nq; ++i) {
      const char* qr = reinterpret_cast<const char*>(next_q + i * next_ldq);
      for (index_t x = 0; x < index_t(sizeof(T)) * K; x += 64) __builtin_prefetch(qr + x, 0, 2);
    }
    const T scale2 = T(h.scale * log2e);
    // Qᵀ: rows copied contiguously first (streaming reads), then transposed inside L1
    // (the Sb buffer is free at this point and holds BK·BQ >= BQ·K... when K <= BK)
    if (nq < BQ) std::memset(static_cast<void*>(Qt), 0, sizeof(T) * std::size_t(n_qt));
    if (K <= BK) {
      for (index_t i = 0; i < nq; ++i) std::memcpy(Sb + i * K, h.q + (t0 + i) * h.ldq, sizeof(T) * std::size_t(K));
      for (index_t d = 0; d < K; ++d) {
        T* dst = Qt + d * BQ;
        for (index_t i = 0; i < nq; ++i) dst[i] = Sb[i * K + d] * scale2;
      }
    } else {
      for (index_t i = 0; i < nq; ++i) {
        const T* src = h.q + (t0 + i) * h.ldq;
        for (index_t d = 0; d < K; ++d) Qt[d * BQ + i] = src[d] * scale2;
      }
    }
    std::memset(static_cast<void*>(Ot), 0, sizeof(T) * std::size_t(n_o));
    if (acc)  // the carried output, transposed into Oᵀ
      for (index_t i = 0; i < nq; ++i)
        for (index_t e = 0; e < V; ++e) Ot[e * BQ + i] = acc->o[i * acc->ldo + e];
    const bool bias = h.has_bias();
    if (bias) {
      const double b0 = h.b(P0);
      for (index_t i = 0; i < BQ; ++i) cq[i] = i < nq ? T(log2e * (h.b(P0 + i) - b0)) : T(0);
      for (index_t s = 0; s < span; ++s) ck[s] = T(log2e * (h.b(base + s) - b0));
    }

    batch m[NV], l[NV];
    for (index_t c = 0; c < NV; ++c) {
      m[c] = batch(std::numeric_limits<T>::lowest());
      l[c] = batch(T(0));
    }
    if (acc) {
      alignas(64) T ms[BQ], ls[BQ];
      for (index_t i = 0; i < BQ; ++i) {
        ms[i] = i < nq ? acc->m[i] : std::numeric_limits<T>::lowest();
        ls[i] = i < nq ? acc->l[i] : T(0);
      }
      for (index_t c = 0; c < NV; ++c) {
        m[c] = batch::load_aligned(ms + c * L);
        l[c] = batch::load_aligned(ls + c * L);
      }
    }
    for (index_t kt = kt_lo; kt <= kt_hi; ++kt) {
      const index_t s0 = kt * BK, nk = std::min(BK, keys - s0), s_last = s0 + nk - 1;
      const bool full = s0 >= h.vis.lo(P1) && s_last <= h.vis.hi(P0);
      int mode = detail::bias_none;
      if (bias) mode = s_last <= P0 ? detail::bias_below : s0 > P1 ? detail::bias_above : detail::bias_mixed;
      batch colmax[NV];
      for (index_t c = 0; c < NV; ++c) colmax[c] = batch(std::numeric_limits<T>::lowest());
      const T* kpt = kp + kt * BK * K;
      const T* ckt = ck + (s0 - base);
      if (full) {
        switch (mode) {
          case detail::bias_none: scores<false, detail::bias_none>(h, kpt, Qt, nk, Sb, colmax, cq, ckt, P0, s0); break;
          case detail::bias_below: scores<false, detail::bias_below>(h, kpt, Qt, nk, Sb, colmax, cq, ckt, P0, s0); break;
          case detail::bias_above: scores<false, detail::bias_above>(h, kpt, Qt, nk, Sb, colmax, cq, ckt, P0, s0); break;
          default: scores<false, detail::bias_mixed>(h, kpt, Qt, nk, Sb, colmax, cq, ckt, P0, s0); break;
        }
      } else {
        switch (mode) {
          case detail::bias_none: scores<true, detail::bias_none>(h, kpt, Qt, nk, Sb, colmax, cq, ckt, P0, s0); break;
          case detail::bias_below: scores<true, detail::bias_below>(h, kpt, Qt, nk, Sb, colmax, cq, ckt, P0, s0); break;
          case detail::bias_above: scores<true, detail::bias_above>(h, kpt, Qt, nk, Sb, colmax, cq, ckt, P0, s0); break;
          default: scores<true, detail::bias_mixed>(h, kpt, Qt, nk, Sb, colmax, cq, ckt, P0, s0); break;
        }
      }
      // online softmax: new max, rescale factor, probabilities in place, denominators
      batch alpha[NV], mn[NV], ls[NV];
      for (index_t c = 0; c < NV; ++c) {
        mn[c] = xsimd::max(m[c], colmax[c]);
        alpha[c] = exp2_nonpos(m[c] - mn[c]);
        m[c] = mn[c];
        ls[c] = batch(T(0));
      }
      for (index_t j = 0; j < nk; ++j) {
        T* row = Sb + j * BQ;
#pragma GCC unroll 8
        for (index_t c = 0; c < NV; ++c) {
          const batch p = exp2_nonpos(batch::load_aligned(row + c * L) - mn[c]);
          ls[c] += p;
          p.store_aligned(row + c * L);
        }
      }
      for (index_t c = 0; c < NV; ++c) l[c] = xsimd::fma(l[c], alpha[c], ls[c]);
      // Oᵀ = alpha ⊙ Oᵀ + Vᵀ Pᵀ
      const T* vpt = vp + kt * BK * Vp;
      alignas(64) T alpha_s[BQ];
      for (index_t c = 0; c < NV; ++c) alpha[c].store_aligned(alpha_s + c * L);
      if (!full && !all_finite(vpt, BK * Vp)) {
        // a masked tile whose V holds a NaN or an infinity: the products below would give
        // masked keys' 0·NaN = NaN to queries that do not see them, so this (rare) tile adds
        // only visible keys, element by element
        for (index_t e = 0; e < Vp; ++e)
          for (index_t c = 0; c < NV; ++c) {
            T* p = Ot + e * BQ + c * L;
            (batch::load_aligned(p) * alpha[c]).store_aligned(p);
          }
        for (index_t j = 0; j < nk; ++j)
          for (index_t i = 0; i < nq; ++i) {
            const index_t pos = P0 + i, s = s0 + j;
            if (s < h.vis.lo(pos) || s > h.vis.hi(pos)) continue;
            const T pij = Sb[j * BQ + i];
            for (index_t e = 0; e < V; ++e) Ot[e * BQ + i] += pij * vpt[j * Vp + e];
          }
      } else if (full || !h.vis.causal) {
        for (index_t vg = 0; vg < Vp / MR; ++vg)
          detail::micro_kernel<batch, MR, NV, true>(vpt + vg * MR, 1, Vp, Sb, BQ, nk, Ot + vg * MR * BQ, BQ, alpha_s);
      } else {
        // a tile crossing the diagonal: query vector c only sees keys j < jend(c); the
        // probabilities beyond are exact zeros, so their products are skipped (triangle)
        alignas(64) T ones[BQ];
        for (index_t i = 0; i < BQ; ++i) ones[i] = T(1);
        for (index_t e = 0; e < Vp; ++e)
          for (index_t c = 0; c < NV; ++c) {
            T* p = Ot + e * BQ + c * L;
            (batch::load_aligned(p) * alpha[c]).store_aligned(p);
          }
        index_t j0 = 0;
        for (index_t c = 0; c < NV; ++c) {
          const index_t jend = std::clamp<index_t>(P0 - s0 + (c + 1) * L, 0, nk);
          if (jend > j0)
            for (index_t vg = 0; vg < Vp / MR; ++vg)
              product_columns(c, vpt + vg * MR + j0 * Vp, 1, Vp, Sb + j0 * BQ, jend - j0, Ot + vg * MR * BQ, ones);
          j0 = std::max(j0, jend);
        }
      }
    }
    if (acc) {  // hand the state back, unnormalised
      alignas(64) T ms[BQ], ls[BQ];
      for (index_t c = 0; c < NV; ++c) {
        m[c].store_aligned(ms + c * L);
        l[c].store_aligned(ls + c * L);
      }
      for (index_t i = 0; i < nq; ++i) {
        acc->m[i] = ms[i];
        acc->l[i] = ls[i];
        for (index_t e = 0; e < V; ++e) acc->o[i * acc->ldo + e] = Ot[e * BQ + i];
      }
      return;
    }
    // o = Oᵀ / l, transposed back
    for (index_t c = 0; c < NV; ++c) {
      const batch inv = batch(T(1)) / l[c];
      for (index_t e = 0; e < V; ++e) {
        T* p = Ot + e * BQ + c * L;
        (batch::load_aligned(p) * inv).store_aligned(p);
      }
    }
    for (index_t i = 0; i < nq; ++i) {
      T* dst = h.o + (t0 + i) * h.ldo;
      for (index_t e = 0; e < V; ++e) dst[e] = Ot[e * BQ + i];
    }
  }

  // No NaN or infinity among the n (a multiple of L) elements at x: x·0 is 0 for finite x.
  static bool all_finite(const T* x, index_t n) noexcept {
    batch acc(T(0));
    const batch zero(T(0));
    for (index_t i = 0; i < n; i += L) acc = xsimd::fma(batch::load_unaligned(x + i), zero, acc);
    return xsimd::hadd(acc) == T(0);
  }

  // C[MR rows][vectors c0..NV) (+)= A·B[.., vectors c0..NV): the micro-kernel on the
  // trailing NV - c0 vectors. cscale == nullptr: overwrite C; else accumulate after scaling.
  static void product_columns(index_t c0, const T* a, index_t ars, index_t aks, const T* b, index_t kc, T* c,
                              const T* cscale) noexcept {
    const index_t off = c0 * L;
    switch (NV - c0) {
      case 4:
        if (cscale) detail::micro_kernel<batch, MR, 4, true>(a, ars, aks, b + off, BQ, kc, c + off, BQ, cscale + off);
        else detail::micro_kernel<batch, MR, 4, false>(a, ars, aks, b + off, BQ, kc, c + off, BQ);
        break;
      case 3:
        if (cscale) detail::micro_kernel<batch, MR, 3, true>(a, ars, aks, b + off, BQ, kc, c + off, BQ, cscale + off);
        else detail::micro_kernel<batch, MR, 3, false>(a, ars, aks, b + off, BQ, kc, c + off, BQ);
        break;
      case 2:
        if (cscale) detail::micro_kernel<batch, MR, 2, true>(a, ars, aks, b + off, BQ, kc, c + off, BQ, cscale + off);
        else detail::micro_kernel<batch, MR, 2, false>(a, ars, aks, b + off, BQ, kc, c + off, BQ);
        break;
      default:
        if (cscale) detail::micro_kernel<batch, MR, 1, true>(a, ars, aks, b + off, BQ, kc, c + off, BQ, cscale + off);
        else detail::micro_kernel<batch, MR, 1, false>(a, ars, aks, b + off, BQ, kc, c + off, BQ);
        break;
    }
  }

  template <bool Mask, int Bias>
  static void scores(const head_problem<T>& h, const T* kpt, const T* Qt, index_t nk, T* Sb, batch (&colmax)[NV],
                     const T* cq, const T* ckt, index_t P0, index_t s0) noexcept {
    const index_t K = h.K;
    batch cqv[NV], pv[NV];
    if constexpr (Bias != detail::bias_none)
      for (index_t c = 0; c < NV; ++c) cqv[c] = batch::load_aligned(cq + c * L);
    if constexpr (Mask || Bias == detail::bias_mixed) {
      alignas(64) T lane[L];
      for (index_t i = 0; i < L; ++i) lane[i] = T(i);
      const batch iota = batch::load_aligned(lane);
      for (index_t c = 0; c < NV; ++c) pv[c] = iota + batch(T(P0 + c * L));
    }
    const T win = T(h.vis.window);
    const bool causal = h.vis.causal, windowed = h.vis.window > 0;
    const batch neg_inf(-std::numeric_limits<T>::infinity());
    for (index_t g = 0; g * MR < nk; ++g) {
      // causal tiles crossing the diagonal: query vectors before c0 cannot see these keys
      // (their scores are masked below), so only vectors c0.. are computed
      index_t c0 = 0;
      if (Mask && causal) {
        const index_t k_lo = s0 + g * MR;
        c0 = std::max<index_t>(0, (k_lo - P0 - L + 1 + L - 1) / L);
        if (k_lo - P0 - L + 1 <= 0) c0 = 0;
      }
      if (c0 >= NV) continue;
      product_columns(c0, kpt + g * MR * K, K, 1, Qt, K, Sb + g * MR * BQ, nullptr);
    }
    for (index_t j = 0; j < nk; ++j) {
      T* row = Sb + j * BQ;
      batch x[NV];
#pragma GCC unroll 8
      for (index_t c = 0; c < NV; ++c) x[c] = batch::load_aligned(row + c * L);
      if constexpr (Bias != detail::bias_none || Mask) {
        const batch sv(T(s0 + j));
        if constexpr (Bias != detail::bias_none) {
          const batch ckv(ckt[j]);
          for (index_t c = 0; c < NV; ++c) {
            if constexpr (Bias == detail::bias_below) x[c] += cqv[c] - ckv;
            else if constexpr (Bias == detail::bias_above) x[c] += ckv - cqv[c];
            else x[c] += xsimd::select(sv <= pv[c], cqv[c] - ckv, ckv - cqv[c]);
          }
        }
        if constexpr (Mask) {
          for (index_t c = 0; c < NV; ++c) {
            auto vis = causal ? (sv <= pv[c]) : (sv == sv);
            if (windowed) {
              vis = vis && (pv[c] - sv < batch(win));
              if (!causal) vis = vis && (sv - pv[c] < batch(win));
            }
            x[c] = xsimd::select(vis, x[c], neg_inf);
          }
        }
        for (index_t c = 0; c < NV; ++c) x[c].store_aligned(row + c * L);
      }
#pragma GCC unroll 8
      for (index_t c = 0; c < NV; ++c) colmax[c] = xsimd::max(colmax[c], x[c]);
    }
  }
};

}  // namespace seqmix::kernels::attention
