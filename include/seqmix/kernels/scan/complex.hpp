#pragma once
// Complex diagonal scans (LRU): h_t = λ_t ⊙ h_{t-1} + b_t with complex λ, b, SIMD across
// channels. The state is kept split (hre[c], him[c]); the output is interleaved as
// o[t][c][2] = (Re, Im) (row stride ldo elements, channel c at o + t*ldo + 2c).
// Source: src.template coeffs<V>(t, c, ar, ai, br, bi), src.shifted(t0).
#include "seqmix/kernels/scan/common.hpp"

namespace seqmix::kernels::scan {

template <class V, class T>
SEQMIX_INLINE void store_interleaved(T* p, const V& re, const V& im) noexcept {
  if constexpr (std::is_arithmetic_v<V>) {
    p[0] = re;
    p[1] = im;
  } else {
    alignas(64) T r[V::size], i[V::size];
    re.store_aligned(r);
    im.store_aligned(i);
    for (std::size_t k = 0; k < V::size; ++k) {
      p[2 * k] = r[k];
      p[2 * k + 1] = i[k];
    }
  }
}

// Recurrent form; o may be null (state only).
template <class Arch, class Src, class T>
void complex_recurrent(const Src& src, T* o, std::ptrdiff_t ldo, T* hre, T* him, index_t steps, std::size_t c0,
                       std::size_t c1) noexcept {
  constexpr std::size_t tile = 8192 / sizeof(T);
  for (std::size_t b0 = c0; b0 < c1; b0 += tile) {
    const std::size_t b1 = std::min(c1, b0 + tile);
    for (index_t t = 0; t < steps; ++t) {
      T* ot = o ? o + t * ldo : nullptr;
      for_channels<Arch, T>(b0, b1, [&](auto tag, std::size_t c) SEQMIX_SCAN_LAMBDA {
        using V = typename decltype(tag)::type;
        V ar, ai, br, bi;
        src.template coeffs<V>(t, c, ar, ai, br, bi);
        const V hr = load_v<V>(hre + c), hi = load_v<V>(him + c);
        const V nr = simd::fma(ar, hr, simd::fma(-ai, hi, br));
        const V ni = simd::fma(ar, hi, simd::fma(ai, hr, bi));
        store_v(hre + c, nr);
        store_v(him + c, ni);
        if (ot) store_interleaved(ot + 2 * c, nr, ni);
      });
    }
  }
}

template <class Arch, class T>
constexpr std::size_t complex_associative_workspace() {
  return 4 * 256 * 2 * xsimd::batch<T, Arch>::size;
}

// Associative (parallel) form over complex pairs: (A1,B1)∘(A2,B2) = (A1 A2, A2 B1 + B2).
template <class Arch, class Src, class T>
void complex_associative(const Src& src, T* o, std::ptrdiff_t ldo, T* hre, T* him, index_t steps,
                         std::size_t c0, std::size_t c1, T* work) noexcept {
  constexpr std::size_t W = 2 * xsimd::batch<T, Arch>::size;
  constexpr index_t L = 256;
  T* Ar = work;
  T* Ai = Ar + L * W;
  T* Br = Ai + L * W;
  T* Bi = Br + L * W;
  for (std::size_t w0 = c0; w0 < c1; w0 += W) {
    const std::size_t w1 = std::min(c1, w0 + W);
    for (index_t t0 = 0; t0 < steps; t0 += L) {
      const index_t n = std::min(L, steps - t0);
      for (index_t i = 0; i < n; ++i)
        for_channels<Arch, T>(w0, w1, [&](auto tag, std::size_t c) SEQMIX_SCAN_LAMBDA {
          using V = typename decltype(tag)::type;
          V ar, ai, br, bi;
          src.template coeffs<V>(t0 + i, c, ar, ai, br, bi);
          const std::size_t k = i * W + (c - w0);
          store_v(Ar + k, ar);
          store_v(Ai + k, ai);
          store_v(Br + k, br);
          store_v(Bi + k, bi);
        });
      brent_kung(n, [&](index_t l, index_t r) {
        for_channels<Arch, T>(0, w1 - w0, [&](auto tag, std::size_t j) SEQMIX_SCAN_LAMBDA {
          using V = typename decltype(tag)::type;
          const std::size_t kl = l * W + j, kr = r * W + j;
          const V ar = load_v<V>(Ar + kr), ai = load_v<V>(Ai + kr);
          const V blr = load_v<V>(Br + kl), bli = load_v<V>(Bi + kl);
          store_v(Br + kr, simd::fma(ar, blr, simd::fma(-ai, bli, load_v<V>(Br + kr))));
          store_v(Bi + kr, simd::fma(ar, bli, simd::fma(ai, blr, load_v<V>(Bi + kr))));
          const V alr = load_v<V>(Ar + kl), ali = load_v<V>(Ai + kl);
          store_v(Ar + kr, simd::fma(alr, ar, -(ali * ai)));
          store_v(Ai + kr, simd::fma(alr, ai, ali * ar));
        });
      });
      for (index_t i = 0; i < n; ++i)
        for_channels<Arch, T>(w0, w1, [&](auto tag, std::size_t c) SEQMIX_SCAN_LAMBDA {
          using V = typename decltype(tag)::type;
          const std::size_t k = i * W + (c - w0);
          const V ar = load_v<V>(Ar + k), ai = load_v<V>(Ai + k);
          const V hr = load_v<V>(hre + c), hi = load_v<V>(him + c);
          const V nr = simd::fma(ar, hr, simd::fma(-ai, hi, load_v<V>(Br + k)));
          const V ni = simd::fma(ar, hi, simd::fma(ai, hr, load_v<V>(Bi + k)));
          store_interleaved(o + (t0 + i) * ldo + 2 * c, nr, ni);
          if (i == n - 1) {
            store_v(hre + c, nr);
            store_v(him + c, ni);
          }
        });
    }
  }
}

}  // namespace seqmix::kernels::scan
