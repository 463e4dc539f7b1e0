#pragma once
// Long causal depthwise convolution kernels (o_t = Σ_i h_i ⊙ x_{t-i}, per channel), three
// forms, all vectorised ACROSS channels (the contiguous dimension of [T, D] rows):
//   direct  — register-blocked FMA loops over a lane block of W channels (W = batch size),
//             taps tiled so the filter tile and the input window stay in L1;
//   fft     — one zero-padded FFT of size M >= n + L - 1 per pair of lane blocks: the two
//             real blocks a, b are packed as z = a + i·b, transformed together with the
//             vertical radix-2² FFT (kernels/conv/fft.hpp), multiplied in bit-reversed order
//             with the separated filter spectra, and transformed back;
//   blocked — overlap-add: blocks of K inputs, FFT size M >= K + L - 1, the tail of each
//             block carried into the next (memory O(M + L) per pair, streams any T).
// The input is the virtual sequence x = [history; u] of one batch entry (conv_source);
// only rows from `start` (= max(0, P - (L-1))) are read, and outputs for rows >= P are
// written. The skip term D is folded into tap 0. Kernels allocate nothing: scratch comes
// from seqmix::thread_workspace (slots 0..2).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include <xsimd/xsimd.hpp>
#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "seqmix/simd/transpose.hpp"
#include "seqmix/core/tensor.hpp"
#include "seqmix/core/workspace.hpp"
#include "seqmix/kernels/conv/fft.hpp"
#include "seqmix/simd/math.hpp"

namespace seqmix::kernels {

// Rows of [history; u] for one batch entry.
template <class T>
struct conv_source {
  const T* hist = nullptr;
  index_t P = 0, ldh = 0;
  const T* u = nullptr;
  index_t ldu = 0;
  const T* row(index_t s) const noexcept { return s < P ? hist + s * ldh : u + (s - P) * ldu; }
};

// Output rows (time of u) with stride ldo.
template <class T>
struct conv_sink {
  T* o = nullptr;
  index_t ldo = 0;
  T* row(index_t t) const noexcept { return o + t * ldo; }
};

// The effective filter: taps h[c, i] for i < L (row stride ldh), plus D[c] on tap 0.
template <class T>
struct conv_filter {
  const T* h = nullptr;
  index_t ldh = 0, L = 0;
  const T* D = nullptr;
  T tap(index_t c, index_t i) const noexcept {
    T v = i < L ? h[c * ldh + i] : T(0);
    if (i == 0 && D) v += D[c];
    return v;
  }
};

// Which rows are read and written: the segment [start, P+T) of the virtual sequence, of
// n rows; outputs are segment rows [rmin, n); Le taps matter.
struct conv_geometry {
  index_t P = 0, T = 0, Le = 1, start = 0, n = 0, rmin = 0;
};

inline conv_geometry make_conv_geometry(index_t P, index_t T, index_t L) noexcept {
  conv_geometry g;
  g.P = P;
  g.T = T;
  g.Le = std::max<index_t>(1, std::min(std::max<index_t>(L, 1), P + T));
  g.start = std::max<index_t>(0, P - (g.Le - 1));
  g.n = P + T - g.start;
  g.rmin = P - g.start;
  return g;
}

// Channels [c0, c0 + count) of a row as one batch (count <= W; missing lanes are zero).
template <class B>
SEQMIX_INLINE B load_lanes(const typename B::value_type* p, std::size_t count) noexcept {
  return count == B::size ? B::load_unaligned(p) : simd::load_partial<B>(p, count);
}
template <class B>
SEQMIX_INLINE void store_lanes(const B& v, typename B::value_type* p, std::size_t count) noexcept {
  if (count == B::size) v.store_unaligned(p);
  else simd::store_partial(v, p, count);
}

struct lane_block {
  index_t c0 = 0, count = 0;  // count == 0: an absent block (zeros)
};

// ---------------------------------------------------------------------------------------
// direct
// ---------------------------------------------------------------------------------------

namespace detail {
inline constexpr index_t direct_rows = 8;    // outputs per register block
inline constexpr index_t direct_taps = 256;  // taps per L1 tile

// acc[k] (+)= Σ_{i in [i0,i1)} ht[i] · xp[t + k - i], k < R, for rows t..t+R-1.
template <class B, int R>
SEQMIX_INLINE void direct_tile(const typename B::value_type* ht, const typename B::value_type* xp,
                               typename B::value_type* ob, index_t t, index_t i0, index_t i1, bool first) noexcept {
  constexpr index_t W = B::size;
  B acc[R];
  for (int k = 0; k < R; ++k) acc[k] = first ? B(0) : B::load_aligned(ob + (t + k) * W);
  for (index_t i = i0; i < i1; ++i) {
    const B hv = B::load_aligned(ht + i * W);
    const auto* xr = xp + (t - i) * W;
    for (int k = 0; k < R; ++k) acc[k] = xsimd::fma(hv, B::load_aligned(xr + k * W), acc[k]);
  }
  for (int k = 0; k < R; ++k) acc[k].store_aligned(ob + (t + k) * W);
}
}  // namespace detail

// Direct form for one lane block over one batch entry.
template <class Arch, class T>
void long_conv_direct(const conv_filter<T>& f, lane_block lanes, const conv_source<T>& src, const conv_sink<T>& dst,
                      const conv_geometry& g) {
  using B = xsimd::batch<T, Arch>;
  constexpr index_t W = B::size, R = detail::direct_rows, pad = R;
  const index_t n = g.n, Le = g.Le, nout = n - g.rmin;
  if (nout <= 0) return;
  const std::size_t cnt = static_cast<std::size_t>(lanes.count);
  // transposed taps [Le][W]
  T* ht = thread_workspace(1).get<T>(static_cast<std::size_t>(Le * W));
  {
    const index_t Lh = std::min(Le, f.L);
    std::memset(ht, 0, sizeof(T) * static_cast<std::size_t>(Le * W));
    for (index_t i0 = 0; i0 < Lh; i0 += 64) {  // 64 taps at a time: the 64 rows of ht stay in L1
      const index_t i1 = std::min(Lh, i0 + 64);
      for (index_t l = 0; l < lanes.count; ++l) {
        const T* hr = f.h + (lanes.c0 + l) * f.ldh;
        for (index_t i = i0; i < i1; ++i) ht[i * W + l] = hr[i];
      }
    }
    if (f.D)
      for (index_t l = 0; l < lanes.count; ++l) ht[l] += f.D[lanes.c0 + l];
  }
  if (nout <= R) {  // a few rows (decode): straight from the source rows, no copies
    for (index_t r = g.rmin; r < n; ++r) {
      B acc(T(0));
      const index_t taps = std::min(Le, r + 1);
      for (index_t i = 0; i < taps; ++i)
        acc = xsimd::fma(B::load_aligned(ht + i * W), load_lanes<B>(src.row(g.start + r - i) + lanes.c0, cnt), acc);
      store_lanes(acc, dst.row(g.start + r - g.P) + lanes.c0, cnt);
    }
    return;
  }
  // input rows with `pad` zero rows before and R after: xp[r] = segment row r
  const index_t rows = pad + n + R;
  T* xb = thread_workspace(0).get<T>(static_cast<std::size_t>(rows * W));
  std::memset(xb, 0, sizeof(T) * static_cast<std::size_t>(pad * W));
  std::memset(xb + (pad + n) * W, 0, sizeof(T) * static_cast<std::size_t>(R * W));
  for (index_t r = 0; r < n; ++r)
    load_lanes<B>(src.row(g.start + r) + lanes.c0, cnt).store_aligned(xb + (pad + r) * W);
  const T* xp = xb + pad * W;
  // accumulators for output rows [rmin, n) rounded up to R, indexed by segment row - rmin
  const index_t nblk = (nout + R - 1) / R;
  T* ob = thread_workspace(2).get<T>(static_cast<std::size_t>(nblk * R * W));
  const T* xo = xp + g.rmin * W;  // so that row t of ob reads xo[(t - i)]
  for (index_t i0 = 0; i0 < Le; i0 += detail::direct_taps) {
    const index_t i1t = std::min(Le, i0 + detail::direct_taps);
    for (index_t b = 0; b < nblk; ++b) {
      const index_t t = b * R;
      // taps beyond the last row of the block only meet zeros: segment row of output t+R-1
      // is rmin + t + R - 1
      const index_t i1 = std::min(i1t, g.rmin + t + R);
      if (i1 <= i0) {
        if (i0 == 0) detail::direct_tile<B, R>(ht, xo, ob, t, 0, 0, true);
        continue;
      }
      detail::direct_tile<B, R>(ht, xo, ob, t, i0, i1, i0 == 0);
    }
  }
  for (index_t t = 0; t < nout; ++t)
    store_lanes(B::load_aligned(ob + t * W), dst.row(g.start + g.rmin + t - g.P) + lanes.c0, cnt);
}

// ---------------------------------------------------------------------------------------
// spectra (shared by fft and blocked)
// ---------------------------------------------------------------------------------------

// The separation of the filter spectra (see conv_filter_spectrum) for the positions 0, 1
// (real frequencies 0 and M/2; `upto` = 1 or 2 of them exist) and for the mirror pairs
// (j, 3m-1-j), j in [j0, j1) subset of [m, 1.5m).
template <class Arch, class T>
void conv_filter_separate_first(T* H, std::size_t M, std::size_t upto) noexcept {
  using B = xsimd::batch<T, Arch>;
  constexpr std::size_t e = 2 * B::size;
  const B s(T(1) / T(M)), half(T(0.5));
  for (std::size_t k = 0; k < std::min<std::size_t>(upto, 2); ++k) {
    const auto g = fft::load<B>(H + k * e);
    fft::store<B>(H + k * e, {(g.re + g.im) * half * s, (g.re - g.im) * half * s});
  }
}
// Position j lives at Hj + (j - bj)·2W, its mirror jm at Hm + (jm - bm)·2W (rows held apart).
template <class Arch, class T>
void conv_filter_separate_range(T* Hj, std::size_t bj, T* Hm, std::size_t bm, std::size_t M, std::size_t m,
                                std::size_t j0, std::size_t j1) noexcept {
  using B = xsimd::batch<T, Arch>;
  constexpr std::size_t e = 2 * B::size;
  const B s(T(1) / T(M)), quarter(T(0.25));
  for (std::size_t j = j0; j < j1; ++j) {
    const std::size_t jm = 3 * m - 1 - j;
    T* pj = Hj + (j - bj) * e;
    T* pm = Hm + (jm - bm) * e;
    const auto gk = fft::load<B>(pj), gm = fft::load<B>(pm);
    const fft::cvec<B> S{gk.re + gm.re, gk.im - gm.im};  // Gk + conj(Gm)
    const fft::cvec<B> Dn{gk.im + gm.im, gm.re - gk.re};  // -i (Gk - conj(Gm))
    fft::store<B>(pj, {(S.re + Dn.re) * quarter * s, (S.im + Dn.im) * quarter * s});
    fft::store<B>(pm, {(S.re - Dn.re) * quarter * s, (S.im - Dn.im) * quarter * s});
  }
}
template <class Arch, class T>
void conv_filter_separate_range(T* H, std::size_t M, std::size_t m, std::size_t j0, std::size_t j1) noexcept {
  conv_filter_separate_range<Arch>(H, 0, H, 0, M, m, j0, j1);
}

namespace detail {
// dst[(k - base)·2W + half·W + l] = rows[l][k] for k in [k0, k1) and the W rows l of one
// half; rows[l] may be null (zeros).
template <class Arch, class T>
void transpose_half(const T* const* rows, index_t k0, index_t k1, T* dst, std::size_t half, index_t base = 0,
                    bool stream = false) noexcept {
  using B = xsimd::batch<T, Arch>;
  constexpr std::size_t W = B::size, e = 2 * W;
  index_t k = k0;
#if defined(__AVX512F__)
  constexpr bool simd = W * sizeof(T) == 64;
  if constexpr (simd) {
    bool all = true;
    for (std::size_t l = 0; l < W; ++l) all = all && rows[l];
    if (all)
      for (; k + index_t(W) <= k1; k += index_t(W)) {
        if constexpr (std::is_same_v<T, float>) {
          __m512 r[16];
          for (std::size_t l = 0; l < 16; ++l) r[l] = _mm512_loadu_ps(rows[l] + k);
          simd::transpose16(r);
          for (std::size_t i = 0; i < 16; ++i) {
            T* d = dst + (std::size_t(k - base) + i) * e + half * W;
            if (stream) _mm512_stream_ps(d, r[i]);
            else _mm512_store_ps(d, r[i]);
          }
        } else {
          __m512d r[8];
          for (std::size_t l = 0; l < 8; ++l) r[l] = _mm512_loadu_pd(rows[l] + k);
          simd::transpose8(r);
          for (std::size_t i = 0; i < 8; ++i) {
            T* d = dst + (std::size_t(k - base) + i) * e + half * W;
            if (stream) _mm512_stream_pd(d, r[i]);
            else _mm512_store_pd(d, r[i]);
          }
        }
      }
  }
#endif
  for (index_t k2 = k; k2 < k1; k2 += 64) {  // the rest: 64 taps of W rows at a time
    const index_t k3 = std::min(k1, k2 + 64);
    for (std::size_t l = 0; l < W; ++l) {
      const T* r = rows[l];
      for (index_t i = k2; i < k3; ++i) dst[std::size_t(i - base) * e + half * W + l] = r ? r[i] : T(0);
    }
  }
}
}  // namespace detail

// Taps [0, Lh) (Lh = min(Le, L), returned) of lane blocks a (re) and b (im) transposed to
// H[k·2W + lane]; missing lanes are zero; the skip D (and tap 0 when L == 0 < Le) joins
// tap 0, which is then always written.
template <class Arch, class T>
index_t conv_transpose_taps(const conv_filter<T>& f, lane_block a, lane_block b, index_t Le, T* H,
                            bool stream = false) noexcept {
  using B = xsimd::batch<T, Arch>;
  constexpr std::size_t W = B::size, e = 2 * W;
  const index_t Lh = std::min(Le, f.L);
  const T* rows[2 * W];
  for (std::size_t l = 0; l < 2 * W; ++l) {
    const lane_block& blk = l < W ? a : b;
    const index_t lane = index_t(l % W);
    rows[l] = lane < blk.count ? f.h + (blk.c0 + lane) * f.ldh : nullptr;
  }
  for (index_t k0 = 0; k0 < Lh; k0 += 256) {  // 256 taps of both halves at a time
    const index_t k1 = std::min(Lh, k0 + 256);
    detail::transpose_half<Arch>(rows, k0, k1, H, 0, 0, stream);
    detail::transpose_half<Arch>(rows + W, k0, k1, H, 1, 0, stream);
  }
  if (stream) fft::stream_fence();
  if (Lh == 0)
    for (std::size_t l = 0; l < e; ++l) H[l] = T(0);
  if (Le > f.L || f.D) {  // tap 0 when L == 0, and the skip
    for (std::size_t l = 0; l < 2 * W; ++l) {
      const lane_block& blk = l < W ? a : b;
      const index_t lane = index_t(l % W);
      if (lane < blk.count) H[l] = f.tap(blk.c0 + lane, 0);
    }
  }
  return std::max<index_t>(Lh, 1);
}

// Filter spectra of lane blocks a and b for size M, stored in bit-reversed order as the
// pair (P, Q) = ((Ha + Hb)/2, (Ha - Hb)/2) / M: slot 0 and 1 hold the real (P, Q) of
// frequencies 0 and M/2 as (re, im); for a mirror pair j < j' slot j holds P[j] and slot
// j' holds Q[j]. H: M·2W scalars.
template <class Arch, class T>
void conv_filter_spectrum(const conv_filter<T>& f, lane_block a, lane_block b, index_t Le, std::size_t M,
                          const T* tw, T* H) {
  using B = xsimd::batch<T, Arch>;
  constexpr std::size_t W = B::size, e = 2 * W;
  const index_t Lh = conv_transpose_taps<Arch>(f, a, b, Le, H);
  std::memset(H + std::size_t(Lh) * e, 0, sizeof(T) * (M - std::size_t(Lh)) * e);
  fft::forward<B>(H, M, tw);
  conv_filter_separate_first<Arch>(H, M, M);
  for (std::size_t m = 2; m < M; m <<= 1) conv_filter_separate_range<Arch>(H, M, m, m, m + m / 2);
}

// Z (the bit-reversed spectrum of z = a + i·b) ← spectrum of (a*ha) + i·(b*hb).
// Positions 0 and 1 (`upto` of them) and the mirror pairs (j, 3m-1-j), j in [j0, j1).
template <class Arch, class T>
void conv_spectral_product_first(T* Z, const T* H, std::size_t upto) noexcept {
  using B = xsimd::batch<T, Arch>;
  constexpr std::size_t e = 2 * B::size;
  for (std::size_t k = 0; k < std::min<std::size_t>(upto, 2); ++k) {
    const auto z = fft::load<B>(Z + k * e), pq = fft::load<B>(H + k * e);
    fft::store<B>(Z + k * e, {z.re * (pq.re + pq.im), z.im * (pq.re - pq.im)});
  }
}
// The filter side of position j at Hj + (j - bj)·2W, of its mirror jm at Hm + (jm - bm)·2W.
template <class Arch, class T>
void conv_spectral_product_range(T* Z, const T* Hj, std::size_t bj, const T* Hm, std::size_t bm, std::size_t m,
                                 std::size_t j0, std::size_t j1) noexcept {
  using B = xsimd::batch<T, Arch>;
  constexpr std::size_t e = 2 * B::size;
  for (std::size_t j = j0; j < j1; ++j) {
    const std::size_t jm = 3 * m - 1 - j;
    const auto A = fft::load<B>(Z + j * e), C = fft::load<B>(Z + jm * e);
    const auto P = fft::load<B>(Hj + (j - bj) * e), Q = fft::load<B>(Hm + (jm - bm) * e);
    const auto yj = fft::cmul(A, P) + fft::cmul_conj_a(C, Q);
    const auto t = fft::cmul_conj_a(C, P) + fft::cmul(A, Q);
    fft::store<B>(Z + j * e, yj);
    fft::store<B>(Z + jm * e, {t.re, -t.im});
  }
}
template <class Arch, class T>
void conv_spectral_product_range(T* Z, const T* H, std::size_t m, std::size_t j0, std::size_t j1) noexcept {
  conv_spectral_product_range<Arch>(Z, H, 0, H, 0, m, j0, j1);
}
template <class Arch, class T>
void conv_spectral_product(T* Z, const T* H, std::size_t M) noexcept {
  conv_spectral_product_first<Arch>(Z, H, M);
  for (std::size_t m = 2; m < M; m <<= 1) conv_spectral_product_range<Arch>(Z, H, m, m, m + m / 2);
}

// Loads segment rows [r0, r0 + count) of lane blocks a (re) and b (im) into Z, zero-padded
// to M elements.
template <class Arch, class T>
void conv_load_pair(T* Z, std::size_t M, const conv_source<T>& src, index_t first_row, index_t count, lane_block a,
                    lane_block b) noexcept {
  using B = xsimd::batch<T, Arch>;
  constexpr std::size_t e = 2 * B::size;
  const std::size_t ca = std::size_t(a.count), cb = std::size_t(b.count);
  for (index_t r = 0; r < count; ++r) {
    const T* row = src.row(first_row + r);
    const B re = load_lanes<B>(row + a.c0, ca);
    const B im = cb ? load_lanes<B>(row + b.c0, cb) : B(0);
    fft::store<B>(Z + std::size_t(r) * e, {re, im});
  }
  std::memset(Z + std::size_t(count) * e, 0, sizeof(T) * (M - std::size_t(count)) * e);
}

// ---------------------------------------------------------------------------------------
// fft
// ---------------------------------------------------------------------------------------

inline std::size_t long_conv_fft_size(const conv_geometry& g) noexcept {
  return fft::next_pow2(std::size_t(std::max<index_t>(1, g.n + g.Le - 1 - g.rmin)));
}

// The fft form for large M (fft::four_step_plan): the column phases of the filter and the
// input transforms read h and the source directly (gathered into an L2 scratch); then, row
// pair by mirror row pair, the filter rows are finished and separated, the input rows
// transformed, multiplied and transformed back while they are in L2; the inverse column
// phase writes the output. Bitwise the same results as the plain path.
template <class Arch, class T, class SourceOf, class SinkOf>
void long_conv_fft_four_step(const conv_filter<T>& f, lane_block a, lane_block b, index_t batches,
                             SourceOf&& source_of, SinkOf&& sink_of, const conv_geometry& g, std::size_t M,
                             const fft::four_step_plan<T>& plan) {
  using B = xsimd::batch<T, Arch>;
  constexpr std::size_t W = B::size, e = 2 * W;
  T* H = thread_workspace(1).get<T>(M * e);
  T* Z = thread_workspace(0).get<T>(M * e);
  T* S = thread_workspace(2).get<T>(plan.scratch_elems() * e);
  const std::size_t ca = std::size_t(a.count), cb = std::size_t(b.count);
  // the filter taps transposed into H (natural order, taps [0, Lh) only; non-temporal
  // stores for large buffers), then its column phase (zeros beyond Lh produced, not read).
  // Gathering the taps straight from h in the column phase was measured slower: its reads
  // are short runs at two power-of-two strides.
  const index_t Lh = conv_transpose_taps<Arch>(f, a, b, g.Le, H, plan.stream);
  fft::four_step_columns_forward<B>(H, plan, S, [&](std::size_t k0, std::size_t cnt, T* out) {
    const std::size_t nz = k0 < std::size_t(Lh) ? std::min(cnt, std::size_t(Lh) - k0) : 0;
    for (std::size_t t = 0; t < nz * e; t += W) B::load_aligned(H + k0 * e + t).store_aligned(out + t);
    if (k0 + plan.c < std::size_t(Lh))
      for (std::size_t t = 0; t < nz * e; t += 64 / sizeof(T)) __builtin_prefetch(H + (k0 + plan.c) * e + t, 0, 2);
    if (nz < cnt) std::memset(out + nz * e, 0, sizeof(T) * (cnt - nz) * e);
  });
  const std::size_t N2 = plan.N2;
  for (index_t bi = 0; bi < batches; ++bi) {
    const conv_source<T> src = source_of(bi);
    const conv_sink<T> dst = sink_of(bi);
    fft::four_step_columns_forward<B>(Z, plan, S, [&](std::size_t k0, std::size_t cnt, T* out) {
      for (std::size_t i = 0; i < cnt; ++i) {
        const index_t k = index_t(k0 + i);
        if (k >= g.n) {
          std::memset(out + i * e, 0, sizeof(T) * (cnt - i) * e);
          return;
        }
        const T* row = src.row(g.start + k);
        fft::store<B>(out + i * e, {load_lanes<B>(row + a.c0, ca), cb ? load_lanes<B>(row + b.c0, cb) : B(0)});
        if (k + index_t(plan.c) < g.n) {  // the same row of the next column group
          const T* next = src.row(g.start + k + index_t(plan.c));
          __builtin_prefetch(next + a.c0, 0, 2);
          if (cb) __builtin_prefetch(next + b.c0, 0, 2);
        }
      }
    });
    // with one batch entry the filter rows are finished in the scratch (S, free during the
    // row phase) and never written back; otherwise in H, for the next entries
    const bool local_h = batches == 1;
    fft::for_mirror_rows(plan, [&](std::size_t r, std::size_t r2, std::size_t m) {
      T* Hr = local_h ? S : H + r * N2 * e;
      T* Hr2 = r2 == r ? Hr : local_h ? S + N2 * e : H + r2 * N2 * e;
      if (bi == 0) {  // finish the filter spectrum of these rows
        if (local_h) {
          std::memcpy(Hr, H + r * N2 * e, sizeof(T) * N2 * e);
          if (r2 != r) std::memcpy(Hr2, H + r2 * N2 * e, sizeof(T) * N2 * e);
        }
        fft::forward_rec<B>(Hr, N2, plan.tw2, 1);
        if (r2 != r) fft::forward_rec<B>(Hr2, N2, plan.tw2, 1);
        if (r == 0) {
          conv_filter_separate_first<Arch>(Hr, M, M);
          for (std::size_t mm = 2; mm < N2; mm <<= 1) conv_filter_separate_range<Arch>(Hr, M, mm, mm, mm + mm / 2);
        } else {
          conv_filter_separate_range<Arch>(Hr, r * N2, Hr2, r2 * N2, M, m, r * N2,
                                           r == r2 ? r * N2 + N2 / 2 : (r + 1) * N2);
        }
      }
      fft::four_step_row_forward<B>(Z, plan, r);
      if (r2 != r) fft::four_step_row_forward<B>(Z, plan, r2);
      if (r == 0) {
        conv_spectral_product_first<Arch>(Z, Hr, M);
        for (std::size_t mm = 2; mm < N2; mm <<= 1) conv_spectral_product_range<Arch>(Z, Hr, mm, mm, mm + mm / 2);
      } else {
        conv_spectral_product_range<Arch>(Z, Hr, r * N2, Hr2, r2 * N2, m, r * N2,
                                          r == r2 ? r * N2 + N2 / 2 : (r + 1) * N2);
      }
      fft::four_step_row_inverse<B>(Z, plan, r);
      if (r2 != r) fft::four_step_row_inverse<B>(Z, plan, r2);
    });
    // large outputs bypass the caches where a lane block is whole and 64-byte aligned
    auto aligned = [](const T* p) { return reinterpret_cast<std::uintptr_t>(p) % 64 == 0; };
    const bool stream_o = plan.stream && sizeof(B) == 64 && ca == W && (cb == 0 || cb == W) &&
                          aligned(dst.o + a.c0) && (cb == 0 || aligned(dst.o + b.c0)) &&
                          (dst.ldo * index_t(sizeof(T))) % 64 == 0;
    fft::four_step_columns_inverse<B>(Z, plan, S, [&](std::size_t k, const fft::cvec<B>& y) {
      const index_t r = index_t(k);
      if (r < g.rmin || r >= g.n) return;
      T* out = dst.row(g.start + r - g.P);
      if (stream_o) {
        fft::store_stream(out + a.c0, y.re);
        if (cb) fft::store_stream(out + b.c0, y.im);
        return;
      }
      store_lanes(y.re, out + a.c0, ca);
      if (cb) store_lanes(y.im, out + b.c0, cb);
    });
    if (stream_o) fft::stream_fence();
  }
}

// FFT form for a pair of lane blocks over `batches` batch entries (filter spectrum once).
template <class Arch, class T, class SourceOf, class SinkOf>
void long_conv_fft(const conv_filter<T>& f, lane_block a, lane_block b, index_t batches, SourceOf&& source_of,
                   SinkOf&& sink_of, const conv_geometry& g) {
  using B = xsimd::batch<T, Arch>;
  constexpr std::size_t W = B::size, e = 2 * W;
  if (g.n - g.rmin <= 0) return;
  const std::size_t M = long_conv_fft_size(g);
  const T* tw = fft::twiddles<T>(M);
  if (const auto& plan = fft::make_four_step<T>(M); plan.active())
    return long_conv_fft_four_step<Arch>(f, a, b, batches, source_of, sink_of, g, M, plan);
  T* H = thread_workspace(1).get<T>(M * e);
  conv_filter_spectrum<Arch>(f, a, b, g.Le, M, tw, H);
  T* Z = thread_workspace(0).get<T>(M * e);
  for (index_t bi = 0; bi < batches; ++bi) {
    const conv_source<T> src = source_of(bi);
    const conv_sink<T> dst = sink_of(bi);
    const std::size_t ca = std::size_t(a.count), cb = std::size_t(b.count);
    fft::forward_load<B>(Z, M, tw, [&](std::size_t k) -> fft::cvec<B> {
      if (index_t(k) >= g.n) return {B(0), B(0)};
      const T* row = src.row(g.start + index_t(k));
      return {load_lanes<B>(row + a.c0, ca), cb ? load_lanes<B>(row + b.c0, cb) : B(0)};
    });
    conv_spectral_product<Arch>(Z, H, M);
    fft::inverse_put<B>(Z, M, tw, [&](std::size_t k, const fft::cvec<B>& y) {
      const index_t r = index_t(k);
      if (r < g.rmin || r >= g.n) return;
      T* out = dst.row(g.start + r - g.P);
      store_lanes(y.re, out + a.c0, ca);
      if (cb) store_lanes(y.im, out + b.c0, cb);
    });
  }
}

// ---------------------------------------------------------------------------------------
// blocked (overlap-add)
// ---------------------------------------------------------------------------------------

// FFT size for blocks of K inputs.
inline std::size_t long_conv_block_fft_size(index_t K, index_t Le) noexcept {
  return fft::next_pow2(std::size_t(K + Le - 1));
}

// Default block length: an FFT of about 4·Le (at least 256) points, never larger than the
// single FFT of the whole segment.
inline index_t long_conv_default_block(const conv_geometry& g) noexcept {
  const std::size_t whole = long_conv_fft_size(g);
  const std::size_t M = std::min(whole, std::max<std::size_t>(256, fft::next_pow2(std::size_t(4 * g.Le))));
  return std::max<index_t>(1, index_t(M) - g.Le + 1);
}

template <class Arch, class T, class SourceOf, class SinkOf>
void long_conv_blocked(const conv_filter<T>& f, lane_block a, lane_block b, index_t batches, SourceOf&& source_of,
                       SinkOf&& sink_of, const conv_geometry& g, index_t K) {
  using B = xsimd::batch<T, Arch>;
  constexpr std::size_t W = B::size, e = 2 * W;
  if (g.n - g.rmin <= 0) return;
  const index_t Le = g.Le;
  const std::size_t M = long_conv_block_fft_size(K, Le);
  const T* tw = fft::twiddles<T>(M);
  T* H = thread_workspace(1).get<T>(M * e);
  conv_filter_spectrum<Arch>(f, a, b, Le, M, tw, H);
  T* Z = thread_workspace(0).get<T>(M * e);
  T* carry = thread_workspace(2).get<T>(std::size_t(std::max<index_t>(Le - 1, 1)) * e);
  for (index_t bi = 0; bi < batches; ++bi) {
    const conv_source<T> src = source_of(bi);
    const conv_sink<T> dst = sink_of(bi);
    std::memset(carry, 0, sizeof(T) * std::size_t(Le - 1) * e);
    for (index_t bs = 0; bs < g.n; bs += K) {
      const index_t cnt = std::min(K, g.n - bs);
      conv_load_pair<Arch>(Z, M, src, g.start + bs, cnt, a, b);
      fft::forward<B>(Z, M, tw);
      conv_spectral_product<Arch>(Z, H, M);
      fft::inverse<B>(Z, M, tw);
      for (index_t q = 0; q < cnt; ++q) {
        const index_t r = bs + q;
        if (r < g.rmin) continue;
        auto y = fft::load<B>(Z + std::size_t(q) * e);
        if (q < Le - 1) y = y + fft::load<B>(carry + std::size_t(q) * e);
        T* out = dst.row(g.start + r - g.P);
        store_lanes(y.re, out + a.c0, std::size_t(a.count));
        if (b.count) store_lanes(y.im, out + b.c0, std::size_t(b.count));
      }
      // carry for the next block: y[K + q] + old carry[K + q]
      for (index_t q = 0; q + 1 < Le; ++q) {
        auto y = fft::load<B>(Z + std::size_t(K + q) * e);
        if (K + q < Le - 1) y = y + fft::load<B>(carry + std::size_t(K + q) * e);
        fft::store<B>(carry + std::size_t(q) * e, y);
      }
    }
  }
}

}  // namespace seqmix::kernels
