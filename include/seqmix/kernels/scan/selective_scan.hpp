#pragma once
// Mamba-1 selective scan, discretisation and scan fused in one pass over time:
//   Δ = softplus(dt + dt_bias),  h[n] = e^{Δ A[n]} h[n] + (Δ x) B_t[n],
//   y = (Σ_n C_t[n] h[n] + D x) · silu(z)
// for one block of channels of one group (they share B_t and C_t). SIMD across the
// channels of the block (one batch: 16 floats / 8 doubles); the state, N batches, stays in
// registers for the whole span (N = 16 is specialised at compile time; any N runs the same
// body over an L1 buffer). B_t[n], C_t[n] are broadcast from memory; A is pre-transposed to
// [N][lanes]. A partial block (fewer channels than lanes, at a group's end) runs the same
// body with scalars, one channel at a time.
//
// Entry points: `selective_scan` (exact, with outputs, state in/out) and, for the two-pass
// chunked form, `selective_scan_summarize` (no outputs, also returns ΣΔ so the span's decay
// is e^{A ΣΔ}) and `selective_scan_apply` (a span's map applied to a state).
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include <xsimd/xsimd.hpp>

#include "seqmix/config.hpp"
#include "seqmix/core/tensor.hpp"
#include "seqmix/simd/math.hpp"

namespace seqmix::kernels {

// Pointers of one (sequence, channel block) at t = 0 of the sequence, channel c0 of the block.
template <class T>
struct selective_scan_block {
  const T* x;            // row stride ld
  const T* dt;           // row stride ld_dt
  const T* z;            // row stride ld_z, or null
  T* o;                  // row stride ld_o
  const T* B;            // the group's N values, row stride ld_b
  const T* C;            // row stride ld_c
  const T* At;           // [N][lanes]: A·log2(e) (lane j = channel c0 + j), see decay()
  const T* Dskip;        // [width] or null
  const T* dt_bias;      // [width] or null
  std::ptrdiff_t ld, ld_dt, ld_z, ld_o, ld_b, ld_c;
  std::size_t width;     // channels in the block (<= lanes)
  std::size_t N;
  bool softplus;
};

namespace ss_detail {

// Software prefetch distance into L1, in steps. Measured at T=2048, D=1536 (1 thread, CPU
// time): none 54 ms, 4 steps 20 ms; 2-3 steps are close, 6-16 lose half the gain (a block's
// rows sit kB apart and map to few L1 sets, so lines fetched too early are evicted), an L2
// prefetch 16-32 steps ahead adds nothing.
inline constexpr index_t kAhead = 4;  // software prefetch distance, in steps

template <class V, class T>
SEQMIX_INLINE V load(const T* p) noexcept {
  if constexpr (std::is_arithmetic_v<V>) return *p;
  else return V::load_unaligned(p);
}
template <class V, class T>
SEQMIX_INLINE void store(T* p, const V& v) noexcept {
  if constexpr (std::is_arithmetic_v<V>) *p = v;
  else v.store_unaligned(p);
}

// e^{Δ A} = 2^{Δ A log2 e} for Δ A <= 0, with a2 = A log2 e pre-scaled. Float batches (the
// hot path: one per state element and step) use a short exp2: 2^u = 2^k · p(u - k), k the
// nearest integer, p of degree 6 (least-squares fit on [-1/2, 1/2], relative error 2e-8).
// The scaling by 2^k is one vscalefps on AVX-512 (exact, 0 for very negative u); other ISAs
// add k to the exponent bits after clamping u >= -125 (the result is then ~2e-38, not 0).
// NaN propagates. Everything else (double, scalar tails) uses xsimd's exp2.
template <class V>
struct is_float_batch : std::false_type {};
template <class A>
struct is_float_batch<xsimd::batch<float, A>> : std::true_type {};

template <class V>
SEQMIX_INLINE V exp2_poly(const V& f) noexcept {
  V p = xsimd::fma(V(1.533758477307856e-4f), f, V(1.3399870367720723e-3f));
  p = xsimd::fma(p, f, V(9.618519805371761e-3f));
  p = xsimd::fma(p, f, V(5.550329014658928e-2f));
  p = xsimd::fma(p, f, V(2.4022646248340607e-1f));
  p = xsimd::fma(p, f, V(6.931471824645996e-1f));
  return xsimd::fma(p, f, V(1.0f));
}

template <class V>
SEQMIX_INLINE V decay(const V& delta, const V& a2) noexcept {
  if constexpr (is_float_batch<V>::value) {
    using A = typename V::arch_type;
#if defined(__AVX512F__)
    if constexpr (std::is_base_of_v<xsimd::avx512f, A>) {
      const V u = delta * a2;
      const V k = xsimd::nearbyint(u);
      return V(_mm512_scalef_ps(exp2_poly(u - k), k));
    }
#endif
    using I = xsimd::batch<std::int32_t, A>;
    const V u = xsimd::max(V(-125.0f), delta * a2);  // max(c, NaN) is NaN
    const V k = xsimd::nearbyint(u);
    const I bits = xsimd::bitwise_cast<I>(exp2_poly(u - k)) + (xsimd::to_int(k) << 23);
    return xsimd::bitwise_cast<V>(bits);
  } else {
    return xsimd::exp2(delta * a2);
  }
}

// Steps [t0, t1) for `lanes`-wide V (or one scalar channel: V = T, pointers offset by the
// channel, At/h strided by `hs`). h: N values of V at stride hs (hs = lanes for batches).
// Outputs when `Out`; Δ summed into *dsum when `Sum`.
template <class V, int NC, bool Out, bool Sum, class T>
SEQMIX_INLINE void span(const selective_scan_block<T>& p, std::size_t c, index_t t0, index_t t1, T* hbuf,
                        std::size_t hs, T* dsum) noexcept {
  const std::size_t N = NC > 0 ? std::size_t(NC) : p.N;
  constexpr std::size_t kRegs = NC > 0 ? std::size_t(NC) : 1;
  V hreg[kRegs];
  if constexpr (NC > 0)
    for (std::size_t n = 0; n < N; ++n) hreg[n] = load<V>(hbuf + n * hs + c);
  const V bias = p.dt_bias ? load<V>(p.dt_bias + c) : V(T(0));
  const V dsk = p.Dskip ? load<V>(p.Dskip + c) : V(T(0));
  V acc_dt = V(T(0));
  const T* At = p.At + c;
  for (index_t t = t0; t < t1; ++t) {
    // A block reads one cache line per row of each stream, rows kB apart (a new page every
    // row), which hardware prefetchers do not follow: prefetch kAhead rows ahead.
    if (t + kAhead < t1) {
      __builtin_prefetch(p.dt + (t + kAhead) * p.ld_dt + c);
      __builtin_prefetch(p.x + (t + kAhead) * p.ld + c);
      if (p.z) __builtin_prefetch(p.z + (t + kAhead) * p.ld_z + c);
      if constexpr (Out) __builtin_prefetch(p.o + (t + kAhead) * p.ld_o + c, 1);
    }
    V delta = load<V>(p.dt + t * p.ld_dt + c) + bias;
    if (p.softplus) delta = simd::softplus(delta);
    if constexpr (Sum) acc_dt += delta;
    const V xv = load<V>(p.x + t * p.ld + c);
    const V dx = delta * xv;
    const T* Bt = p.B + t * p.ld_b;
    const T* Ct = p.C + t * p.ld_c;
    V y0 = dsk * xv, y1 = V(T(0));
    if constexpr (NC > 0) {
#pragma GCC unroll 32
      for (std::size_t n = 0; n < N; n += 2) {
        const V a0 = decay(delta, load<V>(At + n * hs));
        hreg[n] = xsimd::fma(a0, hreg[n], dx * V(Bt[n]));
        if constexpr (Out) y0 = xsimd::fma(V(Ct[n]), hreg[n], y0);
        const V a1 = decay(delta, load<V>(At + (n + 1) * hs));
        hreg[n + 1] = xsimd::fma(a1, hreg[n + 1], dx * V(Bt[n + 1]));
        if constexpr (Out) y1 = xsimd::fma(V(Ct[n + 1]), hreg[n + 1], y1);
      }
    } else {
      for (std::size_t n = 0; n < N; ++n) {
        const V a = decay(delta, load<V>(At + n * hs));
        const V h = xsimd::fma(a, load<V>(hbuf + n * hs + c), dx * V(Bt[n]));
        store<V>(hbuf + n * hs + c, h);
        if constexpr (Out) y0 = xsimd::fma(V(Ct[n]), h, y0);
      }
    }
    if constexpr (Out) {
      V y = y0 + y1;
      if (p.z) y *= simd::silu(load<V>(p.z + t * p.ld_z + c));
      store<V>(p.o + t * p.ld_o + c, y);
    }
  }
  if constexpr (NC > 0)
    for (std::size_t n = 0; n < N; ++n) store<V>(hbuf + n * hs + c, hreg[n]);
  if constexpr (Sum) store<V>(dsum + c, acc_dt);
}

template <class Arch, int NC, bool Out, bool Sum, class T>
void block(const selective_scan_block<T>& p, index_t t0, index_t t1, T* h, T* dsum) noexcept {
  using Bt = xsimd::batch<T, Arch>;
  if (p.width == Bt::size) {
    span<Bt, NC, Out, Sum>(p, 0, t0, t1, h, Bt::size, dsum);
  } else {
    for (std::size_t c = 0; c < p.width; ++c) span<T, NC, Out, Sum>(p, c, t0, t1, h, Bt::size, dsum);
  }
}

template <class Arch, bool Out, bool Sum, class T>
void dispatch(const selective_scan_block<T>& p, index_t t0, index_t t1, T* h, T* dsum) noexcept {
  if (p.N == 16) block<Arch, 16, Out, Sum>(p, t0, t1, h, dsum);
  else block<Arch, 0, Out, Sum>(p, t0, t1, h, dsum);
}

}  // namespace ss_detail

// Lanes of a channel block (the batch width of T on Arch).
template <class T, class Arch = xsimd::default_arch>
inline constexpr std::size_t selective_scan_lanes = xsimd::batch<T, Arch>::size;

// Exact scan of steps [t0, t1) with outputs; h: the state, [N][lanes] (lane j = channel
// c0 + j), in/out. No allocation.
template <class Arch = xsimd::default_arch, class T>
void selective_scan(const selective_scan_block<T>& p, index_t t0, index_t t1, T* h) noexcept {
  ss_detail::dispatch<Arch, true, false>(p, t0, t1, h, static_cast<T*>(nullptr));
}

// The map of steps [t0, t1) on the state: h <- local end state from h (pass zeros for the
// summary of a chunk), dsum[lanes] <- ΣΔ (the span's decay is e^{A[n] ΣΔ}). No outputs.
template <class Arch = xsimd::default_arch, class T>
void selective_scan_summarize(const selective_scan_block<T>& p, index_t t0, index_t t1, T* h, T* dsum) noexcept {
  ss_detail::dispatch<Arch, false, true>(p, t0, t1, h, dsum);
}

// state h[N][lanes] <- e^{A ΣΔ} ⊙ h + hloc (At pre-scaled by log2 e) (applying a chunk's summary), for `width` lanes.
template <class Arch = xsimd::default_arch, class T>
void selective_scan_apply(const T* At, const T* hloc, const T* dsum, T* h, std::size_t N,
                          std::size_t width) noexcept {
  constexpr std::size_t L = xsimd::batch<T, Arch>::size;
  for (std::size_t n = 0; n < N; ++n)
    for (std::size_t c = 0; c < width; ++c)
      h[n * L + c] = std::exp2(At[n * L + c] * dsum[c]) * h[n * L + c] + hloc[n * L + c];
}

}  // namespace seqmix::kernels
