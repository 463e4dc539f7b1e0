#pragma once
// A complex FFT of power-of-two size M, vectorised ACROSS signals ("vertical"): element k of
// the buffer is one complex number per SIMD lane, stored as a batch of real parts followed
// by a batch of imaginary parts (2·W scalars, W = batch::size). Every lane is an independent
// transform, so the butterflies are plain batch arithmetic with broadcast twiddles: no
// shuffles, no transposes, full SIMD width at every stage (also the last ones).
//
// Algorithm: radix-2² (two radix-2 stages fused into one radix-4 pass with 3 twiddles),
//   forward  = decimation in frequency: natural order in, BIT-REVERSED order out;
//   inverse  = decimation in time: bit-reversed in, natural order out, unnormalised (×M).
// A convolution never needs the bit-reversal permutation: the pointwise product is done
// in bit-reversed order. Large transforms recurse depth first (one radix-4 pass over the
// whole block, then the four quarters one after another), so once a quarter fits in
// cache every later pass stays there; small blocks run stage by stage.
//
// Real signals: two real W-lane signals a, b are packed as z = a + i·b (see
// kernels/conv/long_conv.hpp); the spectra of a and b are separated with the bit-reversed
// mirror rule: frequency M-k of the one at position j (2^m <= j < 2^{m+1}) sits at
// position 3·2^m - 1 - j.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <numbers>
#include <type_traits>
#include <vector>

#include <xsimd/xsimd.hpp>
#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "seqmix/config.hpp"

namespace seqmix::kernels::fft {

// exp(-2πi k/M) for k < 3M/4 + 1, interleaved (re, im), cached per size (thread safe;
// the returned pointer stays valid for the life of the program).
template <class T>
const T* twiddles(std::size_t M) {
  static std::mutex mu;
  static std::map<std::size_t, std::unique_ptr<T[]>> cache;
  std::lock_guard<std::mutex> lock(mu);
  auto& slot = cache[M];
  if (!slot) {
    const std::size_t n = 3 * M / 4 + 1;
    slot.reset(new T[2 * n]);
    for (std::size_t k = 0; k < n; ++k) {
      const double a = 2.0 * std::numbers::pi * double(k) / double(M);
      slot[2 * k] = static_cast<T>(std::cos(a));
      slot[2 * k + 1] = static_cast<T>(-std::sin(a));
    }
  }
  return slot.get();
}

inline std::size_t next_pow2(std::size_t n) noexcept {
  std::size_t m = 1;
  while (m < n) m <<= 1;
  return m;
}

template <class B>
struct cvec {
  B re, im;
};

template <class B>
SEQMIX_INLINE cvec<B> load(const typename B::value_type* p) noexcept {
  return {B::load_aligned(p), B::load_aligned(p + B::size)};
}
template <class B>
SEQMIX_INLINE void store(typename B::value_type* p, const cvec<B>& v) noexcept {
  v.re.store_aligned(p);
  v.im.store_aligned(p + B::size);
}
// Non-temporal store of a 64-byte batch (write-combined, no read for ownership) where
// AVX-512 is available; a plain aligned store otherwise. Callers end a run of them with
// stream_fence().
template <class B>
SEQMIX_INLINE void store_stream(typename B::value_type* p, const B& v) noexcept {
#if defined(__AVX512F__)
  if constexpr (sizeof(typename B::register_type) == 64) {
    if constexpr (std::is_same_v<typename B::value_type, float>) return _mm512_stream_ps(p, v);
    else return _mm512_stream_pd(p, v);
  }
#endif
  v.store_aligned(p);
}
inline void stream_fence() noexcept {
#if defined(__AVX512F__)
  _mm_sfence();
#endif
}

template <class B>
SEQMIX_INLINE cvec<B> operator+(const cvec<B>& a, const cvec<B>& b) noexcept { return {a.re + b.re, a.im + b.im}; }
template <class B>
SEQMIX_INLINE cvec<B> operator-(const cvec<B>& a, const cvec<B>& b) noexcept { return {a.re - b.re, a.im - b.im}; }
// a · (wr + i wi), w a broadcast scalar
template <class B>
SEQMIX_INLINE cvec<B> mul(const cvec<B>& a, const B& wr, const B& wi) noexcept {
  return {xsimd::fms(a.re, wr, a.im * wi), xsimd::fma(a.re, wi, a.im * wr)};
}
// a · conj(wr + i wi)
template <class B>
SEQMIX_INLINE cvec<B> mulc(const cvec<B>& a, const B& wr, const B& wi) noexcept {
  return {xsimd::fma(a.re, wr, a.im * wi), xsimd::fms(a.im, wr, a.re * wi)};
}
// a · b (both vectors)
template <class B>
SEQMIX_INLINE cvec<B> cmul(const cvec<B>& a, const cvec<B>& b) noexcept {
  return {xsimd::fms(a.re, b.re, a.im * b.im), xsimd::fma(a.re, b.im, a.im * b.re)};
}
// conj(a) · b
template <class B>
SEQMIX_INLINE cvec<B> cmul_conj_a(const cvec<B>& a, const cvec<B>& b) noexcept {
  return {xsimd::fma(a.re, b.re, a.im * b.im), xsimd::fms(a.re, b.im, a.im * b.re)};
}

// Forward radix-2² butterfly on x[j], x[j+q], x[j+2q], x[j+3q] (element stride 2W).
template <class B, bool Unit>
SEQMIX_INLINE void dif4(typename B::value_type* x, std::size_t q, const typename B::value_type* w1,
                        const typename B::value_type* w2, const typename B::value_type* w3) noexcept {
  constexpr std::size_t e = 2 * B::size;
  const auto a0 = load<B>(x), a1 = load<B>(x + q * e), a2 = load<B>(x + 2 * q * e), a3 = load<B>(x + 3 * q * e);
  const auto b0 = a0 + a2, b1 = a1 + a3, d02 = a0 - a2, d13 = a1 - a3;
  auto y0 = b0 + b1, y1 = b0 - b1;
  cvec<B> y2{d02.re + d13.im, d02.im - d13.re};  // d02 - i·d13
  cvec<B> y3{d02.re - d13.im, d02.im + d13.re};  // d02 + i·d13
  if constexpr (!Unit) {
    y1 = mul(y1, B(w2[0]), B(w2[1]));
    y2 = mul(y2, B(w1[0]), B(w1[1]));
    y3 = mul(y3, B(w3[0]), B(w3[1]));
  }
  store(x, y0);
  store(x + q * e, y1);
  store(x + 2 * q * e, y2);
  store(x + 3 * q * e, y3);
}

// Inverse (DIT) butterfly, the transpose of dif4 with conjugate twiddles (scales by 4).
template <class B, bool Unit>
SEQMIX_INLINE void dit4(typename B::value_type* x, std::size_t q, const typename B::value_type* w1,
                        const typename B::value_type* w2, const typename B::value_type* w3) noexcept {
  constexpr std::size_t e = 2 * B::size;
  auto y0 = load<B>(x), y1 = load<B>(x + q * e), y2 = load<B>(x + 2 * q * e), y3 = load<B>(x + 3 * q * e);
  if constexpr (!Unit) {
    y1 = mulc(y1, B(w2[0]), B(w2[1]));
    y2 = mulc(y2, B(w1[0]), B(w1[1]));
    y3 = mulc(y3, B(w3[0]), B(w3[1]));
  }
  const auto b0 = y0 + y1, b1 = y0 - y1;
  const auto d02 = y2 + y3;
  const auto v = y3 - y2;
  const cvec<B> d13{v.im, -v.re};  // (y3 - y2)·(-i)
  store(x, b0 + d02);
  store(x + 2 * q * e, b0 - d02);
  store(x + q * e, b1 + d13);
  store(x + 3 * q * e, b1 - d13);
}


// Value-level butterflies (the in-memory dif4/dit4 above, on registers).
template <class B, bool Unit>
SEQMIX_INLINE void dif4v(cvec<B>& a0, cvec<B>& a1, cvec<B>& a2, cvec<B>& a3, const typename B::value_type* w1,
                         const typename B::value_type* w2, const typename B::value_type* w3) noexcept {
  const auto b0 = a0 + a2, b1 = a1 + a3, d02 = a0 - a2, d13 = a1 - a3;
  a0 = b0 + b1;
  a1 = b0 - b1;
  a2 = {d02.re + d13.im, d02.im - d13.re};
  a3 = {d02.re - d13.im, d02.im + d13.re};
  if constexpr (!Unit) {
    a1 = mul(a1, B(w2[0]), B(w2[1]));
    a2 = mul(a2, B(w1[0]), B(w1[1]));
    a3 = mul(a3, B(w3[0]), B(w3[1]));
  }
}
template <class B, bool Unit>
SEQMIX_INLINE void dit4v(cvec<B>& y0, cvec<B>& y1, cvec<B>& y2, cvec<B>& y3, const typename B::value_type* w1,
                         const typename B::value_type* w2, const typename B::value_type* w3) noexcept {
  if constexpr (!Unit) {
    y1 = mulc(y1, B(w2[0]), B(w2[1]));
    y2 = mulc(y2, B(w1[0]), B(w1[1]));
    y3 = mulc(y3, B(w3[0]), B(w3[1]));
  }
  const auto b0 = y0 + y1, b1 = y0 - y1, d02 = y2 + y3, v = y3 - y2;
  const cvec<B> d13{v.im, -v.re};
  y0 = b0 + d02;
  y2 = b0 - d02;
  y1 = b1 + d13;
  y3 = b1 - d13;
}

template <class B>
SEQMIX_INLINE void radix2(typename B::value_type* x) noexcept {
  constexpr std::size_t e = 2 * B::size;
  const auto a = load<B>(x), b = load<B>(x + e);
  store(x, a + b);
  store(x + e, a - b);
}

// Blocks of at most this many elements run stage by stage (16 KiB for float: they stay in
// L1; measured 1.5x faster than L2-sized blocks of 2048).
#ifndef SEQMIX_FFT_ITERATIVE_LIMIT
#define SEQMIX_FFT_ITERATIVE_LIMIT 128
#endif
inline constexpr std::size_t iterative_limit = SEQMIX_FFT_ITERATIVE_LIMIT;

// Stage-by-stage forward transform of the block x[0, n); tw/ts: the size-M table and
// stride M/n (so w_n^j = tw[j·ts]).
template <class B>
void forward_block(typename B::value_type* x, std::size_t n, const typename B::value_type* tw, std::size_t ts) noexcept {
  constexpr std::size_t e = 2 * B::size;
  std::size_t len = n;
  for (; len >= 4; len /= 4, ts *= 4) {
    const std::size_t q = len / 4;
    for (std::size_t blk = 0; blk < n; blk += len) dif4<B, true>(x + blk * e, q, nullptr, nullptr, nullptr);
    for (std::size_t j = 1; j < q; ++j) {
      const auto *w1 = tw + 2 * j * ts, *w2 = tw + 4 * j * ts, *w3 = tw + 6 * j * ts;
      for (std::size_t blk = 0; blk < n; blk += len) dif4<B, false>(x + (blk + j) * e, q, w1, w2, w3);
    }
  }
  if (len == 2)
    for (std::size_t blk = 0; blk < n; blk += 2) radix2<B>(x + blk * e);
}

template <class B>
void inverse_block(typename B::value_type* x, std::size_t n, const typename B::value_type* tw, std::size_t ts) noexcept {
  constexpr std::size_t e = 2 * B::size;
  // the stages of forward_block in reverse: first the radix-2 one if log2(n) is odd
  std::size_t len = n, levels = 0;
  while (len >= 4) len /= 4, ++levels;
  if (len == 2)
    for (std::size_t blk = 0; blk < n; blk += 2) radix2<B>(x + blk * e);
  len = len == 2 ? 8 : 4;
  std::size_t s = ts;
  for (std::size_t l = 1; l < levels; ++l) s *= 4;
  for (std::size_t l = 0; l < levels; ++l, len *= 4, s /= 4) {
    const std::size_t q = len / 4;
    for (std::size_t blk = 0; blk < n; blk += len) dit4<B, true>(x + blk * e, q, nullptr, nullptr, nullptr);
    for (std::size_t j = 1; j < q; ++j) {
      const auto *w1 = tw + 2 * j * s, *w2 = tw + 4 * j * s, *w3 = tw + 6 * j * s;
      for (std::size_t blk = 0; blk < n; blk += len) dit4<B, false>(x + (blk + j) * e, q, w1, w2, w3);
    }
  }
}


template <class B>
void forward_rec(typename B::value_type* x, std::size_t n, const typename B::value_type* tw, std::size_t ts) noexcept {
  if (n <= iterative_limit) return forward_block<B>(x, n, tw, ts);
  constexpr std::size_t e = 2 * B::size;
  const std::size_t q = n / 4;
  dif4<B, true>(x, q, nullptr, nullptr, nullptr);
  for (std::size_t j = 1; j < q; ++j) dif4<B, false>(x + j * e, q, tw + 2 * j * ts, tw + 4 * j * ts, tw + 6 * j * ts);
  for (int k = 0; k < 4; ++k) forward_rec<B>(x + k * q * e, q, tw, ts * 4);
}

template <class B>
void inverse_rec(typename B::value_type* x, std::size_t n, const typename B::value_type* tw, std::size_t ts) noexcept {
  if (n <= iterative_limit) return inverse_block<B>(x, n, tw, ts);
  constexpr std::size_t e = 2 * B::size;
  const std::size_t q = n / 4;
  for (int k = 0; k < 4; ++k) inverse_rec<B>(x + k * q * e, q, tw, ts * 4);
  dit4<B, true>(x, q, nullptr, nullptr, nullptr);
  for (std::size_t j = 1; j < q; ++j) dit4<B, false>(x + j * e, q, tw + 2 * j * ts, tw + 4 * j * ts, tw + 6 * j * ts);
}

// In-place forward transform of M elements (natural order in, bit-reversed out).
// x: 64-byte aligned, M·2W scalars; tw = twiddles<T>(M).
template <class B>
void forward(typename B::value_type* x, std::size_t M, const typename B::value_type* tw) noexcept {
  if (M > 1) forward_rec<B>(x, M, tw, 1);
}
// In-place inverse transform (bit-reversed in, natural out), unnormalised: result × M.
template <class B>
void inverse(typename B::value_type* x, std::size_t M, const typename B::value_type* tw) noexcept {
  if (M > 1) inverse_rec<B>(x, M, tw, 1);
}

// ---- four-step (Bailey) split for large transforms ---------------------------------------
// Beyond L2 the depth-first recursion streams the whole buffer through L3/DRAM once per
// radix-4 level, and its twiddles (a table of M entries read at large strides) miss the
// caches. For M >= four_step_min: view x as N1 rows of N2 elements, N1·N2 = M, N1 a power
// of 4, N2 <= four_step_row_max. With j = r + N2·m (column r, row m):
//   1. columns: for each column r, an N1-point DIF transform over m (natural in, bit-reversed
//      out, twiddles of size N1), then position p of column r times w_M^(r·bitrev_N1(p));
//      column groups of c adjacent columns are gathered into a scratch of about L2's size
//      (1 MiB), transformed and scattered back (one sweep over memory; non-temporal
//      stores for buffers >= four_step_stream_bytes);
//   2. rows: each row p an N2-point DIF transform (twiddles of size N2) while it is cached.
// Measured on the 2-core AVX-512 machine (README, Hyena): 0.7-0.95x the time of the plain
// recursion for M = 2^17 ... 2^21, 1.2-1.3x slower for M = 2^14 ... 2^16 (the copies to and
// from the scratch cost more than the L3 passes they save), hence four_step_min. With
// N1 = 4 the result is bitwise that of the plain recursion; otherwise it differs by rounding.
// Output position p·N2 + q holds frequency bitrev_N2(q)·N1 + bitrev_N1(p) = bitrev_M(p·N2+q):
// the same bit-reversed order as forward(). The inverse runs the transposed steps: rows
// (DIT), conj twiddles, columns (DIT). All tables are computed once per size (plan cache).
#ifndef SEQMIX_FFT_FOUR_STEP_MIN
#define SEQMIX_FFT_FOUR_STEP_MIN 131072
#endif
inline constexpr std::size_t four_step_min = SEQMIX_FFT_FOUR_STEP_MIN;
#ifndef SEQMIX_FFT_FOUR_STEP_ROW_MAX
#define SEQMIX_FFT_FOUR_STEP_ROW_MAX 8192
#endif
#ifndef SEQMIX_FFT_FOUR_STEP_COLUMN_ELEMS
#define SEQMIX_FFT_FOUR_STEP_COLUMN_ELEMS 8192
#endif
#ifndef SEQMIX_FFT_FOUR_STEP_STREAM_BYTES
#define SEQMIX_FFT_FOUR_STEP_STREAM_BYTES (std::size_t(16) << 20)
#endif
inline constexpr std::size_t four_step_stream_bytes = SEQMIX_FFT_FOUR_STEP_STREAM_BYTES;  // buffers beyond L3's share
inline constexpr std::size_t four_step_row_max = SEQMIX_FFT_FOUR_STEP_ROW_MAX;          // rows of <= 1 MiB
inline constexpr std::size_t four_step_column_elems = SEQMIX_FFT_FOUR_STEP_COLUMN_ELEMS;  // 1 MiB column scratch

template <class T>
struct four_step_plan {
  std::size_t M = 0, N1 = 1, N2 = 0, c = 0;  // N1 rows of N2; column groups of c columns
  bool stream = false;                        // column phase writes bypass the caches
  const T* tw1 = nullptr;   // twiddles<T>(N1)
  const T* tw2 = nullptr;   // twiddles<T>(N2)
  const T* colw = nullptr;  // [r][p]: w_M^(r·bitrev_N1(p)) as (re, im), r < N2, p < N1
  bool active() const noexcept { return N1 > 1; }
  std::size_t scratch_elems() const noexcept { return std::max(N1 * c, 2 * N2); }
};

inline std::size_t bit_reverse(std::size_t v, std::size_t n) noexcept {
  std::size_t r = 0;
  for (std::size_t b = 1; b < n; b <<= 1, v >>= 1) r = (r << 1) | (v & 1);
  return r;
}

// The plan for size M (inactive below min_size); cached per size, thread safe, valid for the
// life of the program.
template <class T>
const four_step_plan<T>& make_four_step(std::size_t M, std::size_t min_size = four_step_min) {
  static const four_step_plan<T> inactive{};
  if (M < min_size || M < 16) return inactive;
  static std::mutex mu;
  static std::map<std::size_t, std::pair<four_step_plan<T>, std::unique_ptr<T[]>>> cache;
  std::lock_guard<std::mutex> lock(mu);
  auto& slot = cache[M];
  if (!slot.second) {
    four_step_plan<T> p;
    p.M = M;
    p.N2 = M;
    while (p.N2 > four_step_row_max) p.N2 /= 4, p.N1 *= 4;
    if (p.N1 == 1) p.N2 /= 4, p.N1 = 4;
    p.c = std::max<std::size_t>(1, std::min(p.N2, four_step_column_elems / p.N1));
    p.stream = M * 2 * xsimd::batch<T>::size * sizeof(T) >= four_step_stream_bytes;
    std::unique_ptr<T[]> w(new T[2 * M]);
    for (std::size_t r = 0; r < p.N2; ++r)
      for (std::size_t q = 0; q < p.N1; ++q) {
        const std::size_t k = (r * bit_reverse(q, p.N1)) % M;
        const double a = 2.0 * std::numbers::pi * double(k) / double(M);
        w[2 * (r * p.N1 + q)] = static_cast<T>(std::cos(a));
        w[2 * (r * p.N1 + q) + 1] = static_cast<T>(-std::sin(a));
      }
    p.colw = w.get();
    p.tw1 = twiddles<T>(p.N1);
    p.tw2 = twiddles<T>(p.N2);
    slot.first = p;
    slot.second = std::move(w);
  }
  return slot.first;
}

// N1-point DIF / DIT transforms of the cc columns held in S = [n][cc] (elements); every
// column uses the same broadcast twiddles (table of the N1 size, stride ts).
template <class B>
void column_forward_rec(typename B::value_type* S, std::size_t n, std::size_t cc, const typename B::value_type* tw,
                        std::size_t ts) noexcept {
  if (n == 1) return;
  constexpr std::size_t e = 2 * B::size;
  const std::size_t q = n / 4, qs = q * cc;
  for (std::size_t i = 0; i < cc; ++i) dif4<B, true>(S + i * e, qs, nullptr, nullptr, nullptr);
  for (std::size_t mm = 1; mm < q; ++mm) {
    const auto *w1 = tw + 2 * mm * ts, *w2 = tw + 4 * mm * ts, *w3 = tw + 6 * mm * ts;
    for (std::size_t i = 0; i < cc; ++i) dif4<B, false>(S + (mm * cc + i) * e, qs, w1, w2, w3);
  }
  for (std::size_t k = 0; k < 4; ++k) column_forward_rec<B>(S + k * qs * e, q, cc, tw, ts * 4);
}

template <class B>
void column_inverse_rec(typename B::value_type* S, std::size_t n, std::size_t cc, const typename B::value_type* tw,
                        std::size_t ts) noexcept {
  if (n == 1) return;
  constexpr std::size_t e = 2 * B::size;
  const std::size_t q = n / 4, qs = q * cc;
  for (std::size_t k = 0; k < 4; ++k) column_inverse_rec<B>(S + k * qs * e, q, cc, tw, ts * 4);
  for (std::size_t i = 0; i < cc; ++i) dit4<B, true>(S + i * e, qs, nullptr, nullptr, nullptr);
  for (std::size_t mm = 1; mm < q; ++mm) {
    const auto *w1 = tw + 2 * mm * ts, *w2 = tw + 4 * mm * ts, *w3 = tw + 6 * mm * ts;
    for (std::size_t i = 0; i < cc; ++i) dit4<B, false>(S + (mm * cc + i) * e, qs, w1, w2, w3);
  }
}

// Column phase of the forward transform of x (M = N1·N2 elements): gather(k0, cnt, dst)
// writes input elements k0..k0+cnt-1 (contiguous) to dst (it may prefetch k0 + c...);
// the result goes to x. S: scratch of plan.scratch_elems() elements.
template <class B, class Gather>
void four_step_columns_forward(typename B::value_type* x, const four_step_plan<typename B::value_type>& p,
                               typename B::value_type* S, Gather&& gather) {
  constexpr std::size_t e = 2 * B::size;
  for (std::size_t r0 = 0; r0 < p.N2; r0 += p.c) {
    const std::size_t cc = std::min(p.c, p.N2 - r0);
    for (std::size_t m = 0; m < p.N1; ++m) gather(r0 + m * p.N2, cc, S + m * cc * e);
    column_forward_rec<B>(S, p.N1, cc, p.tw1, 1);
    for (std::size_t m = 0; m < p.N1; ++m) {
      auto* d = x + (r0 + m * p.N2) * e;
      for (std::size_t i = 0; i < cc; ++i) {
        const auto* w = p.colw + 2 * ((r0 + i) * p.N1 + m);
        const auto v = mul(load<B>(S + (m * cc + i) * e), B(w[0]), B(w[1]));
        if (p.stream) {
          store_stream(d + i * e, v.re);
          store_stream(d + i * e + B::size, v.im);
        } else {
          store(d + i * e, v);
        }
      }
    }
  }
  if (p.stream) stream_fence();
}

// Row phase: row b (N2 contiguous elements) of the forward / inverse transform.
template <class B>
void four_step_row_forward(typename B::value_type* x, const four_step_plan<typename B::value_type>& p,
                           std::size_t b) noexcept {
  forward_rec<B>(x + b * p.N2 * 2 * B::size, p.N2, p.tw2, 1);
}
template <class B>
void four_step_row_inverse(typename B::value_type* x, const four_step_plan<typename B::value_type>& p,
                           std::size_t b) noexcept {
  inverse_rec<B>(x + b * p.N2 * 2 * B::size, p.N2, p.tw2, 1);
}

// Column phase of the inverse transform (after every row's inverse), unnormalised: output
// element k goes to put(k, value).
template <class B, class Put>
void four_step_columns_inverse(typename B::value_type* x, const four_step_plan<typename B::value_type>& p,
                               typename B::value_type* S, Put&& put) {
  constexpr std::size_t e = 2 * B::size;
  for (std::size_t r0 = 0; r0 < p.N2; r0 += p.c) {
    const std::size_t cc = std::min(p.c, p.N2 - r0);
    for (std::size_t m = 0; m < p.N1; ++m) {
      const auto* s = x + (r0 + m * p.N2) * e;
      if (r0 + p.c < p.N2)
        for (std::size_t t = 0; t < cc * e; t += 64 / sizeof(typename B::value_type))
          __builtin_prefetch(s + p.c * e + t, 0, 2);
      for (std::size_t i = 0; i < cc; ++i) {
        const auto* w = p.colw + 2 * ((r0 + i) * p.N1 + m);
        store(S + (m * cc + i) * e, mulc(load<B>(s + i * e), B(w[0]), B(w[1])));
      }
    }
    column_inverse_rec<B>(S, p.N1, cc, p.tw1, 1);
    for (std::size_t m = 0; m < p.N1; ++m)
      for (std::size_t i = 0; i < cc; ++i) put(r0 + i + m * p.N2, load<B>(S + (m * cc + i) * e));
  }
}

// Order of the rows for a pass that pairs mirror positions (bit-reversed spectra): rows 0
// and 1 pair with themselves, row b >= 2 (2^s <= b < 1.5·2^s) with 3·2^s - 1 - b.
// f(b, b2, m): m = the power of two of the positions' mirror rule (0 for row 0).
template <class P, class F>
void for_mirror_rows(const P& p, F&& f) {
  f(std::size_t(0), std::size_t(0), std::size_t(0));
  if (p.N1 > 1) f(std::size_t(1), std::size_t(1), p.N2);
  for (std::size_t mb = 2; mb < p.N1; mb *= 2)
    for (std::size_t b = mb; b < mb + mb / 2; ++b) f(b, 3 * mb - 1 - b, mb * p.N2);
}

// Forward transform whose input element k is produced by load(k) (a cvec<B>): the first
// radix-4 pass reads the source directly (no separate copy / zero-fill pass over x).
template <class B, class Load>
void forward_load(typename B::value_type* x, std::size_t M, const typename B::value_type* tw, Load&& load) {
  constexpr std::size_t e = 2 * B::size;
  if (M < 4) {
    for (std::size_t k = 0; k < M; ++k) store(x + k * e, load(k));
    forward<B>(x, M, tw);
    return;
  }
  const std::size_t q = M / 4;
  for (std::size_t j = 0; j < q; ++j) {
    auto a0 = load(j), a1 = load(j + q), a2 = load(j + 2 * q), a3 = load(j + 3 * q);
    if (j == 0) dif4v<B, true>(a0, a1, a2, a3, nullptr, nullptr, nullptr);
    else dif4v<B, false>(a0, a1, a2, a3, tw + 2 * j, tw + 4 * j, tw + 6 * j);
    store(x + j * e, a0);
    store(x + (j + q) * e, a1);
    store(x + (j + 2 * q) * e, a2);
    store(x + (j + 3 * q) * e, a3);
  }
  for (int k = 0; k < 4; ++k) forward_rec<B>(x + k * q * e, q, tw, 4);
}

// Inverse transform (unnormalised) whose output element k goes to put(k, value) instead of
// back into x: the last radix-4 pass writes straight to the destination.
template <class B, class Put>
void inverse_put(typename B::value_type* x, std::size_t M, const typename B::value_type* tw, Put&& put) {
  constexpr std::size_t e = 2 * B::size;
  if (M < 4) {
    inverse<B>(x, M, tw);
    for (std::size_t k = 0; k < M; ++k) put(k, load<B>(x + k * e));
    return;
  }
  const std::size_t q = M / 4;
  for (int k = 0; k < 4; ++k) inverse_rec<B>(x + k * q * e, q, tw, 4);
  for (std::size_t j = 0; j < q; ++j) {
    auto y0 = load<B>(x + j * e), y1 = load<B>(x + (j + q) * e), y2 = load<B>(x + (j + 2 * q) * e),
         y3 = load<B>(x + (j + 3 * q) * e);
    if (j == 0) dit4v<B, true>(y0, y1, y2, y3, nullptr, nullptr, nullptr);
    else dit4v<B, false>(y0, y1, y2, y3, tw + 2 * j, tw + 4 * j, tw + 6 * j);
    put(j, y0);
    put(j + q, y1);
    put(j + 2 * q, y2);
    put(j + 3 * q, y3);
  }
}

}  // namespace seqmix::kernels::fft
