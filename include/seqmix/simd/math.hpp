#pragma once
// Elementwise math kernels need, written once for scalars and xsimd batches alike
// (xsimd's functions accept both), so a kernel's SIMD body and its scalar tail are the
// same code. All are the numerically stable forms: no exp of an unbounded positive value.
#include <cmath>
#include <type_traits>
#include <xsimd/xsimd.hpp>

#include "seqmix/config.hpp"

namespace seqmix::simd {

template <class T, class Arch = xsimd::default_arch>
using batch = xsimd::batch<T, Arch>;

// xsimd 8.1's batch exp converts round(x / ln 2) to an integer for every lane before
// selecting 0 / inf for out-of-range lanes; for double on targets without AVX512DQ that
// conversion is a scalar cast, undefined for ±inf, NaN and huge |x| (UBSan reports it). The
// input is clamped to [-760, 760] (exp is already 0 / inf there) and NaN put back.
template <class V> SEQMIX_INLINE V exp(const V& x) noexcept {
  if constexpr (std::is_floating_point_v<V>) {
    return xsimd::exp(x);
  } else if constexpr (std::is_same_v<typename V::value_type, double>) {
    const V xc = xsimd::min(xsimd::max(x, V(-760.0)), V(760.0));
    return xsimd::select(xsimd::isnan(x), x, xsimd::exp(xc));
  } else {
    return xsimd::exp(x);
  }
}
template <class V> SEQMIX_INLINE V log(const V& x) noexcept { return xsimd::log(x); }
template <class V> SEQMIX_INLINE V log1p(const V& x) noexcept { return xsimd::log1p(x); }
template <class V> SEQMIX_INLINE V fma(const V& a, const V& b, const V& c) noexcept { return xsimd::fma(a, b, c); }
template <class V> SEQMIX_INLINE V max(const V& a, const V& b) noexcept { return xsimd::max(a, b); }
template <class V> SEQMIX_INLINE V min(const V& a, const V& b) noexcept { return xsimd::min(a, b); }
template <class V> SEQMIX_INLINE V abs(const V& x) noexcept { return xsimd::abs(x); }

// log(1 + e^x) = max(x, 0) + log1p(e^{-|x|})
template <class V> SEQMIX_INLINE V softplus(const V& x) noexcept {
  return xsimd::max(x, V(0)) + xsimd::log1p(xsimd::exp(-xsimd::abs(x)));
}
// σ(x) = 1 / (1 + e^{-x}) for x >= 0 and e^x / (1 + e^x) for x < 0, from e = e^{-|x|}
// (never overflows; accurate down to the subnormal range, so silu(-89) is not 0 in float).
template <class V> SEQMIX_INLINE V sigmoid(const V& x) noexcept {
  const V e = xsimd::exp(-xsimd::abs(x));
  if constexpr (std::is_floating_point_v<V>) {
    return (x >= V(0) ? V(1) : e) / (V(1) + e);
  } else {
    return xsimd::select(x >= V(0), V(1), e) / (V(1) + e);
  }
}
// log σ(x) = -softplus(-x)
template <class V> SEQMIX_INLINE V log_sigmoid(const V& x) noexcept { return -softplus(-x); }
template <class V> SEQMIX_INLINE V silu(const V& x) noexcept { return x * sigmoid(x); }
// log(e^a + e^b), stable for any finite a, b, for infinities (a = b = ±inf gives ±inf) and
// NaN-propagating (a NaN in either argument gives NaN).
template <class V> SEQMIX_INLINE V logaddexp(const V& a, const V& b) noexcept {
  const V m = xsimd::max(a, b);
  const V d = -xsimd::abs(a - b);
  // when a = b = ±inf, a - b is NaN; m + log1p(exp(NaN)) would poison: guard it (only
  // there, so that a NaN argument still gives NaN through d)
  const V r = m + xsimd::log1p(xsimd::exp(d));
  if constexpr (std::is_floating_point_v<V>) {
    return a == b && std::isinf(a) ? a : r;
  } else {
    return xsimd::select(a == b && xsimd::abs(a) == V(INFINITY), a, r);
  }
}

// Horizontal reductions.
template <class T, class A> SEQMIX_INLINE T reduce_add(const xsimd::batch<T, A>& b) noexcept { return xsimd::hadd(b); }
template <class T, class A> SEQMIX_INLINE T reduce_max(const xsimd::batch<T, A>& b) noexcept {
  alignas(64) T buf[xsimd::batch<T, A>::size];
  b.store_aligned(buf);
  T m = buf[0];
  // NaN in any lane gives NaN (once m is NaN, neither test below replaces it)
  for (std::size_t i = 1; i < xsimd::batch<T, A>::size; ++i) m = (buf[i] > m || buf[i] != buf[i]) ? buf[i] : m;
  return m;
}

// Tail loads/stores: the first n (< size) lanes from/to memory, other lanes `fill`.
// xsimd 8.1 has no masked memory ops; this goes through a small aligned buffer.
template <class B>
SEQMIX_INLINE B load_partial(const typename B::value_type* p, std::size_t n,
                             typename B::value_type fill = 0) noexcept {
  alignas(64) typename B::value_type buf[B::size];
  for (std::size_t i = 0; i < B::size; ++i) buf[i] = i < n ? p[i] : fill;
  return B::load_aligned(buf);
}
template <class B>
SEQMIX_INLINE void store_partial(const B& v, typename B::value_type* p, std::size_t n) noexcept {
  alignas(64) typename B::value_type buf[B::size];
  v.store_aligned(buf);
  for (std::size_t i = 0; i < n && i < B::size; ++i) p[i] = buf[i];
}

}  // namespace seqmix::simd
