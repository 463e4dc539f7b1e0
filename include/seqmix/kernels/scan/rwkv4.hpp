#pragma once
// RWKV-4 wkv scan (OPS.md, rwkv4), SIMD across channels, the running-maximum form:
//   out:    m = max(p, u+k), o = (e^{p-m} a + e^{u+k-m} v) / (e^{p-m} b + e^{u+k-m})
//   update: p' = max(p-w, k), a' = e^{p-w-p'} a + e^{k-p'} v, b' = e^{p-w-p'} b + e^{k-p'}
// Of each pair of exponentials one is e^0 = 1, so one exp of -|difference| per pair.
// Everything is computed in double whatever T is: with k up to ±80 the exponent p is
// large, and float rounding of p - w at every step would drift the weight of the past by
// about sqrt(T)·1e-6 relative (1e-4 after 10^4 steps); in double it stays at rounding
// level, and the scan is latency-bound, not FLOP-bound.
#include <cstddef>

#include <xsimd/xsimd.hpp>

#include "seqmix/config.hpp"

namespace seqmix::kernels {

namespace detail_rwkv4 {
template <class V>
SEQMIX_INLINE void step(const V& kt, const V& vt, const V& w, const V& u, V& a, V& b, V& p, V& out) noexcept {
  using xsimd::exp;
  using xsimd::abs;
  const V uk = u + kt;
  const V d1 = p - uk;  // >= 0: the past holds the maximum
  const V e1 = exp(-abs(d1));
  V past, now;
  if constexpr (std::is_floating_point_v<V>) {
    past = d1 >= 0 ? V(1) : e1;
    now = d1 >= 0 ? e1 : V(1);
  } else {
    const auto pm = d1 >= V(0);
    past = xsimd::select(pm, V(1), e1);
    now = xsimd::select(pm, e1, V(1));
  }
  out = (past * a + now * vt) / (past * b + now);
  const V pw = p - w;
  const V d2 = pw - kt;
  const V e2 = exp(-abs(d2));
  if constexpr (std::is_floating_point_v<V>) {
    past = d2 >= 0 ? V(1) : e2;
    now = d2 >= 0 ? e2 : V(1);
    p = d2 >= 0 ? pw : kt;
  } else {
    const auto pm = d2 >= V(0);
    past = xsimd::select(pm, V(1), e2);
    now = xsimd::select(pm, e2, V(1));
    p = xsimd::select(pm, pw, kt);
  }
  a = past * a + now * vt;
  b = past * b + now;
}
}  // namespace detail_rwkv4

// Channels [0, width) of one sequence: k, v, o are `steps` rows with row stride `ld`;
// w, u, and the state rows a, b, p (in/out) are `width` contiguous values each.
template <class Arch, class T>
void rwkv4(const T* SEQMIX_RESTRICT k, const T* SEQMIX_RESTRICT v, const T* w, const T* u, T* o, T* a, T* b, T* p,
           std::size_t steps, std::size_t width, std::ptrdiff_t ld) noexcept {
  using batch = xsimd::batch<double, Arch>;
  constexpr std::size_t L = batch::size;
  std::size_t c = 0;
  for (; c + L <= width; c += L) {
    const batch wv = batch::load_unaligned(w + c), uv = batch::load_unaligned(u + c);
    batch av = batch::load_unaligned(a + c), bv = batch::load_unaligned(b + c), pv = batch::load_unaligned(p + c);
    for (std::size_t t = 0; t < steps; ++t) {
      const std::ptrdiff_t off = static_cast<std::ptrdiff_t>(t) * ld + static_cast<std::ptrdiff_t>(c);
      batch out;
      detail_rwkv4::step(batch::load_unaligned(k + off), batch::load_unaligned(v + off), wv, uv, av, bv, pv, out);
      out.store_unaligned(o + off);
    }
    av.store_unaligned(a + c);
    bv.store_unaligned(b + c);
    pv.store_unaligned(p + c);
  }
  for (; c < width; ++c) {  // tail: the same step on scalars
    double av = a[c], bv = b[c], pv = p[c];
    const double wv = w[c], uv = u[c];
    for (std::size_t t = 0; t < steps; ++t) {
      const std::ptrdiff_t off = static_cast<std::ptrdiff_t>(t) * ld + static_cast<std::ptrdiff_t>(c);
      double out;
      detail_rwkv4::step<double>(double(k[off]), double(v[off]), wv, uv, av, bv, pv, out);
      o[off] = static_cast<T>(out);
    }
    a[c] = static_cast<T>(av);
    b[c] = static_cast<T>(bv);
    p[c] = static_cast<T>(pv);
  }
}

}  // namespace seqmix::kernels
