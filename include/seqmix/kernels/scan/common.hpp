#pragma once
// Small helpers shared by the scan kernels: one body for a SIMD batch and for the scalar
// tail (xsimd's math accepts both), channel loops with a scalar tail, the Brent–Kung
// index schedule of the associative scans.
#include <algorithm>
#include <cstddef>
#include <type_traits>

#include <xsimd/xsimd.hpp>

#include "seqmix/config.hpp"
#include "seqmix/core/tensor.hpp"
#include "seqmix/simd/math.hpp"

#if defined(__GNUC__)
#define SEQMIX_SCAN_LAMBDA __attribute__((always_inline))
#else
#define SEQMIX_SCAN_LAMBDA
#endif

namespace seqmix::kernels::scan {

template <class V>
struct lanes_tag {
  using type = V;
};

template <class V, class T>
SEQMIX_INLINE V load_v(const T* p) noexcept {
  if constexpr (std::is_arithmetic_v<V>) return *p;
  else return V::load_unaligned(p);
}
template <class V, class T>
SEQMIX_INLINE void store_v(T* p, const V& v) noexcept {
  if constexpr (std::is_arithmetic_v<V>) *p = v;
  else v.store_unaligned(p);
}
// select for batches and scalars alike
template <class C, class V>
SEQMIX_INLINE V sel(const C& cond, const V& a, const V& b) noexcept {
  if constexpr (std::is_arithmetic_v<V>) return cond ? a : b;
  else return xsimd::select(cond, a, b);
}

// f(lanes_tag<V>{}, c) over channels [begin, end): batches of Arch, then a scalar tail
// running the same body with V = T.
template <class Arch, class T, class F>
SEQMIX_INLINE void for_channels(std::size_t begin, std::size_t end, F&& f) {
  using B = xsimd::batch<T, Arch>;
  std::size_t c = begin;
  for (; c + B::size <= end; c += B::size) f(lanes_tag<B>{}, c);
  for (; c < end; ++c) f(lanes_tag<T>{}, c);
}

// Inclusive scan over n elements with an associative, non-commutative combine(l, r)
// meaning x[r] = x[l] ∘ x[r] (l earlier in time): Brent–Kung up-sweep then down-sweep,
// 2n combines, log-depth; every level's combines are independent.
template <class F>
void brent_kung(index_t n, F&& combine) {
  index_t d = 1;
  for (; 2 * d <= n; d *= 2)
    for (index_t i = 2 * d - 1; i < n; i += 2 * d) combine(i - d, i);
  for (d /= 2; d >= 1; d /= 2)
    for (index_t i = 3 * d - 1; i < n; i += 2 * d) combine(i - d, i);
}

// ĝ(x) = x + 0.5 for x >= 0, σ(x) otherwise (minGRU/minLSTM candidate activation) and its log.
template <class V>
SEQMIX_INLINE V min_rnn_g(const V& x) noexcept {
  const V e = simd::exp(simd::min(x, V(0)));
  return sel(x >= V(0), x + V(0.5), e / (V(1) + e));
}
template <class V>
SEQMIX_INLINE V log_min_rnn_g(const V& x) noexcept {
  return sel(x >= V(0), simd::log(simd::max(x, V(0)) + V(0.5)), -simd::softplus(-x));
}

}  // namespace seqmix::kernels::scan
