#pragma once
// Real first-order scans h_t = a_t ⊙ h_{t-1} + b_t, SIMD across channels, streaming over
// time. The coefficients come from a source object (see sources.hpp):
//   src.template coeffs<V>(t, c, a, b)   a_t, b_t at step t, channels [c, c + lanes(V))
//   src.shifted(t0)                      the same source starting t0 steps later
// Channel ranges are [c0, c1) and every pointer is indexed by absolute channel:
// o + t*ldo + c, h + c. Stateless, no allocation, no shape checks.
#include <limits>

#include "seqmix/kernels/scan/common.hpp"

namespace seqmix::kernels::scan {

// Channels per pass over time (16 KiB of state): the state stays in L1 while rows stream
// by, and each row is one long contiguous run for the prefetchers (4 KiB tiles measured
// 2.5x slower at D=4096: every row segment then starts a new page).
template <class T>
inline constexpr std::size_t row_tile = 16384 / sizeof(T);

// Narrow rows (at most `K` batches): the state lives in registers for the whole sweep
// over time instead of round-tripping through memory every step.
template <class Arch, int K, class Src, class T, class Step>
SEQMIX_INLINE void register_sweep(std::size_t c, index_t steps, Step&& step) noexcept {
  using B = xsimd::batch<T, Arch>;
  for (index_t t = 0; t < steps; ++t)
#pragma GCC unroll 8
    for (int k = 0; k < K; ++k) step(t, k, c + k * B::size);
}

// Recurrent form: o_t = h_t for t < steps, h in/out. o may be null (state only).
template <class Arch, class Src, class T>
void real_recurrent(const Src& src, T* o, std::ptrdiff_t ldo, T* h, index_t steps, std::size_t c0,
                    std::size_t c1) noexcept {
  using B = xsimd::batch<T, Arch>;
  constexpr int K = 8;
  if (c1 - c0 <= K * B::size) {  // narrow: full batches in registers, tail in memory
    const std::size_t nb = (c1 - c0) / B::size;
    B hv[K];
    for (std::size_t k = 0; k < nb; ++k) hv[k] = B::load_unaligned(h + c0 + k * B::size);
    const auto body = [&](index_t t, int k, std::size_t c) SEQMIX_SCAN_LAMBDA {
      if (std::size_t(k) >= nb) return;
      B a, b;
      src.template coeffs<B>(t, c, a, b);
      hv[k] = simd::fma(a, hv[k], b);
      if (o) hv[k].store_unaligned(o + t * ldo + c);
    };
    register_sweep<Arch, K, Src, T>(c0, steps, body);
    for (std::size_t k = 0; k < nb; ++k) hv[k].store_unaligned(h + c0 + k * B::size);
    c0 += nb * B::size;
    if (c0 == c1) return;
  }
  for (std::size_t b0 = c0; b0 < c1; b0 += row_tile<T>) {
    const std::size_t b1 = std::min(c1, b0 + row_tile<T>);
    for (index_t t = 0; t < steps; ++t) {
      T* ot = o ? o + t * ldo : nullptr;
      for_channels<Arch, T>(b0, b1, [&](auto tag, std::size_t c) SEQMIX_SCAN_LAMBDA {
        using V = typename decltype(tag)::type;
        V a, b;
        src.template coeffs<V>(t, c, a, b);
        const V hv = simd::fma(a, load_v<V>(h + c), b);
        store_v(h + c, hv);
        if (ot) store_v(ot + c, hv);
      });
    }
  }
}

// Precomputed coefficients: rows of a and b, `ld` elements apart.
template <class T>
struct coeff_source {
  const T* a;
  const T* b;
  std::ptrdiff_t ld;
  coeff_source shifted(index_t t0) const noexcept { return {a + t0 * ld, b + t0 * ld, ld}; }
  template <class V>
  SEQMIX_INLINE void coeffs(index_t t, std::size_t c, V& av, V& bv) const noexcept {
    av = load_v<V>(a + t * ld + c);
    bv = load_v<V>(b + t * ld + c);
  }
};

// Pass 1 of the two-pass form: the chunk's affine map h -> prod ⊙ h + hloc from a zero
// state (prod = Π a, flushed to 0 once below the smallest normal number, so at most a
// few steps ever multiply denormals: the register path checks every 16 steps), and, when a_out is not null, the coefficients themselves (rows `ldc`
// apart) so that pass 2 is one fma per element on cached data.
template <class Arch, class Src, class T>
void real_summary(const Src& src, T* a_out, T* b_out, std::ptrdiff_t ldc, T* hloc, T* prod, index_t steps,
                  std::size_t c0, std::size_t c1) noexcept {
  using B = xsimd::batch<T, Arch>;
  constexpr int K = 8;
  const B tiny(std::numeric_limits<T>::min());
  if (c1 - c0 <= K * B::size) {  // narrow: map in registers
    const std::size_t nb = (c1 - c0) / B::size;
    B hv[K], pv[K];
    for (int k = 0; k < K; ++k) {
      hv[k] = B(0);
      pv[k] = B(1);
    }
    const auto body = [&](index_t t, int k, std::size_t c) SEQMIX_SCAN_LAMBDA {
      if (std::size_t(k) >= nb) return;
      B a, b;
      src.template coeffs<B>(t, c, a, b);
      if (a_out) {
        a.store_unaligned(a_out + t * ldc + c);
        b.store_unaligned(b_out + t * ldc + c);
      }
      hv[k] = simd::fma(a, hv[k], b);
      pv[k] = pv[k] * a;
      if ((t & 15) == 15) pv[k] = xsimd::select(pv[k] < tiny, B(0), pv[k]);
    };
    register_sweep<Arch, K, Src, T>(c0, steps, body);
    for (std::size_t k = 0; k < nb; ++k) {
      hv[k].store_unaligned(hloc + c0 + k * B::size);
      xsimd::select(pv[k] < tiny, B(0), pv[k]).store_unaligned(prod + c0 + k * B::size);
    }
    c0 += nb * B::size;
    if (c0 == c1) return;
  }
  std::fill(hloc + c0, hloc + c1, T(0));
  std::fill(prod + c0, prod + c1, T(1));
  for (std::size_t b0 = c0; b0 < c1; b0 += row_tile<T>) {
    const std::size_t b1 = std::min(c1, b0 + row_tile<T>);
    for (index_t t = 0; t < steps; ++t)
      for_channels<Arch, T>(b0, b1, [&](auto tag, std::size_t c) SEQMIX_SCAN_LAMBDA {
        using V = typename decltype(tag)::type;
        V a, b;
        src.template coeffs<V>(t, c, a, b);
        if (a_out) {
          store_v(a_out + t * ldc + c, a);
          store_v(b_out + t * ldc + c, b);
        }
        store_v(hloc + c, simd::fma(a, load_v<V>(hloc + c), b));
        const V p = load_v<V>(prod + c) * a;
        store_v(prod + c, sel(p < V(std::numeric_limits<T>::min()), V(0), p));
      });
  }
}

// Workspace (elements of T) the associative form needs.
template <class Arch, class T>
constexpr std::size_t associative_tile_width() { return 2 * xsimd::batch<T, Arch>::size; }
inline constexpr index_t associative_tile_steps = 256;
template <class Arch, class T>
constexpr std::size_t real_associative_workspace() {
  return 2 * associative_tile_steps * associative_tile_width<Arch, T>();
}

// Associative (parallel) form: per tile of steps, the pairs (a_t, b_t) are combined by a
// Brent–Kung scan with (a1,b1)∘(a2,b2) = (a1 a2, a2 b1 + b2); then o_t = A_t h + B_t.
template <class Arch, class Src, class T>
void real_associative(const Src& src, T* o, std::ptrdiff_t ldo, T* h, index_t steps, std::size_t c0,
                      std::size_t c1, T* work) noexcept {
  constexpr std::size_t W = associative_tile_width<Arch, T>();
  constexpr index_t L = associative_tile_steps;
  T* A = work;
  T* Bv = work + L * W;
  for (std::size_t w0 = c0; w0 < c1; w0 += W) {
    const std::size_t w1 = std::min(c1, w0 + W);
    for (index_t t0 = 0; t0 < steps; t0 += L) {
      const index_t n = std::min(L, steps - t0);
      // local coordinates: channel c -> column c - w0
      for (index_t i = 0; i < n; ++i)
        for_channels<Arch, T>(w0, w1, [&](auto tag, std::size_t c) SEQMIX_SCAN_LAMBDA {
          using V = typename decltype(tag)::type;
          V a, b;
          src.template coeffs<V>(t0 + i, c, a, b);
          store_v(A + i * W + (c - w0), a);
          store_v(Bv + i * W + (c - w0), b);
        });
      brent_kung(n, [&](index_t l, index_t r) {
        for_channels<Arch, T>(0, w1 - w0, [&](auto tag, std::size_t j) SEQMIX_SCAN_LAMBDA {
          using V = typename decltype(tag)::type;
          const V ar = load_v<V>(A + r * W + j);
          store_v(Bv + r * W + j, simd::fma(ar, load_v<V>(Bv + l * W + j), load_v<V>(Bv + r * W + j)));
          store_v(A + r * W + j, load_v<V>(A + l * W + j) * ar);
        });
      });
      for (index_t i = 0; i < n; ++i)
        for_channels<Arch, T>(w0, w1, [&](auto tag, std::size_t c) SEQMIX_SCAN_LAMBDA {
          using V = typename decltype(tag)::type;
          const V v = simd::fma(load_v<V>(A + i * W + (c - w0)), load_v<V>(h + c), load_v<V>(Bv + i * W + (c - w0)));
          store_v(o + (t0 + i) * ldo + c, v);
          if (i == n - 1) store_v(h + c, v);
        });
    }
  }
}

}  // namespace seqmix::kernels::scan
