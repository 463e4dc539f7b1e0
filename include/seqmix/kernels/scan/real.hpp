#pragma once
// Real first-order scans h_t = a_t ⊙ h_{t-1} + b_t, SIMD across channels, streaming over
// time. The coefficients come from a source object (see sources.hpp):
//   src.template coeffs<V>(t, c, a, b)   a_t, b_t at step t, channels [c, c + lanes(V))
//   src.template log_decay<V>(t, c, a)   log a_t (optional; else log(a) is used)
//   src.shifted(t0)                      the same source starting t0 steps later
// Channel ranges are [c0, c1) and every pointer is indexed by absolute channel:
// o + t*ldo + c, h + c. Stateless, no allocation, no shape checks.
#include "seqmix/kernels/scan/common.hpp"

namespace seqmix::kernels::scan {

// Channels per pass over time: the state of one tile stays in L1 while rows stream by.
template <class T>
inline constexpr std::size_t row_tile = 4096 / sizeof(T);

// Recurrent form: o_t = h_t for t < steps, h in/out. o may be null (state only).
template <class Arch, class Src, class T>
void real_recurrent(const Src& src, T* o, std::ptrdiff_t ldo, T* h, index_t steps, std::size_t c0,
                    std::size_t c1) noexcept {
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

template <class V, class Src>
SEQMIX_INLINE V log_decay_of(const Src& src, index_t t, std::size_t c, const V& a) noexcept {
  if constexpr (requires { src.template log_decay<V>(t, c, a); }) return src.template log_decay<V>(t, c, a);
  else return simd::log(a);
}

// The chunk's affine map from a zero state: h -> exp(log_a) ⊙ h + hloc (both written).
template <class Arch, class Src, class T>
void real_summary(const Src& src, T* hloc, T* log_a, index_t steps, std::size_t c0, std::size_t c1) noexcept {
  std::fill(hloc + c0, hloc + c1, T(0));
  std::fill(log_a + c0, log_a + c1, T(0));
  for (std::size_t b0 = c0; b0 < c1; b0 += row_tile<T>) {
    const std::size_t b1 = std::min(c1, b0 + row_tile<T>);
    for (index_t t = 0; t < steps; ++t)
      for_channels<Arch, T>(b0, b1, [&](auto tag, std::size_t c) SEQMIX_SCAN_LAMBDA {
        using V = typename decltype(tag)::type;
        V a, b;
        src.template coeffs<V>(t, c, a, b);
        store_v(hloc + c, simd::fma(a, load_v<V>(hloc + c), b));
        store_v(log_a + c, load_v<V>(log_a + c) + log_decay_of<V>(src, t, c, a));
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
