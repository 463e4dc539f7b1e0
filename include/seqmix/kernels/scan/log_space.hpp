#pragma once
// Log-space scans for positive recurrences (minGRU, minLSTM): with a_t, b_t > 0 given as
// log a_t, log b_t, the stable form log h_t = logaddexp(log a_t + log h_{t-1}, log b_t)
// never underflows where h_t itself would (h_t < 1e-38 in fp32 stays a finite log).
// Source: src.template log_coeffs<V>(t, c, la, lb), src.shifted(t0).
#include "seqmix/kernels/scan/common.hpp"

namespace seqmix::kernels::scan {

// Recurrent log-space form: lh in/out (log h; -inf is a zero state), o_t = log h_t
// (o may be null).
template <class Arch, class Src, class T>
void log_recurrent(const Src& src, T* o, std::ptrdiff_t ldo, T* lh, index_t steps, std::size_t c0,
                   std::size_t c1) noexcept {
  constexpr std::size_t tile = 16384 / sizeof(T);
  for (std::size_t b0 = c0; b0 < c1; b0 += tile) {
    const std::size_t b1 = std::min(c1, b0 + tile);
    for (index_t t = 0; t < steps; ++t) {
      T* ot = o ? o + t * ldo : nullptr;
      for_channels<Arch, T>(b0, b1, [&](auto tag, std::size_t c) SEQMIX_SCAN_LAMBDA {
        using V = typename decltype(tag)::type;
        V la, lb;
        src.template log_coeffs<V>(t, c, la, lb);
        const V v = simd::logaddexp(la + load_v<V>(lh + c), lb);
        store_v(lh + c, v);
        if (ot) store_v(ot + c, v);
      });
    }
  }
}

template <class Arch, class T>
constexpr std::size_t log_associative_workspace() {
  return 2 * 256 * 2 * xsimd::batch<T, Arch>::size;
}

// Associative (parallel) form in log space, the minGRU paper's parallel scan in its stable
// pairwise form: pairs (LA, LB) combine as (LA1 + LA2, logaddexp(LA2 + LB1, LB2)); the
// inclusive prefix (LA_t, LB_t) is (log Π a, log of the scan from a zero state), and the
// output is linear: o_t = e^{LA_t} h + e^{LB_t}, so the carried state h may have any sign.
template <class Arch, class Src, class T>
void log_associative(const Src& src, T* o, std::ptrdiff_t ldo, T* h, index_t steps, std::size_t c0,
                     std::size_t c1, T* work) noexcept {
  constexpr std::size_t W = 2 * xsimd::batch<T, Arch>::size;
  constexpr index_t L = 256;
  T* A = work;
  T* Bv = work + L * W;
  for (std::size_t w0 = c0; w0 < c1; w0 += W) {
    const std::size_t w1 = std::min(c1, w0 + W);
    for (index_t t0 = 0; t0 < steps; t0 += L) {
      const index_t n = std::min(L, steps - t0);
      for (index_t i = 0; i < n; ++i)
        for_channels<Arch, T>(w0, w1, [&](auto tag, std::size_t c) SEQMIX_SCAN_LAMBDA {
          using V = typename decltype(tag)::type;
          V la, lb;
          src.template log_coeffs<V>(t0 + i, c, la, lb);
          store_v(A + i * W + (c - w0), la);
          store_v(Bv + i * W + (c - w0), lb);
        });
      brent_kung(n, [&](index_t l, index_t r) {
        for_channels<Arch, T>(0, w1 - w0, [&](auto tag, std::size_t j) SEQMIX_SCAN_LAMBDA {
          using V = typename decltype(tag)::type;
          const V ar = load_v<V>(A + r * W + j);
          store_v(Bv + r * W + j, simd::logaddexp(ar + load_v<V>(Bv + l * W + j), load_v<V>(Bv + r * W + j)));
          store_v(A + r * W + j, load_v<V>(A + l * W + j) + ar);
        });
      });
      for (index_t i = 0; i < n; ++i)
        for_channels<Arch, T>(w0, w1, [&](auto tag, std::size_t c) SEQMIX_SCAN_LAMBDA {
          using V = typename decltype(tag)::type;
          const V v = simd::fma(simd::exp(load_v<V>(A + i * W + (c - w0))), load_v<V>(h + c),
                                simd::exp(load_v<V>(Bv + i * W + (c - w0))));
          store_v(o + (t0 + i) * ldo + c, v);
          if (i == n - 1) store_v(h + c, v);
        });
    }
  }
}

}  // namespace seqmix::kernels::scan
