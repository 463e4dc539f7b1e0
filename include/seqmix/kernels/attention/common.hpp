#pragma once
// Pieces shared by the attention kernels: the problem of one (sequence, query head), the
// fast exp2 of the online softmax, visibility rules.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <type_traits>

#include <xsimd/xsimd.hpp>

#include "seqmix/config.hpp"
#include "seqmix/core/tensor.hpp"

namespace seqmix::kernels::attention {

inline constexpr double log2e = 1.4426950408889634;

namespace detail {
// p·2^n for integral n in [-127, 0] (float) or [-1022, 0] (double): the exponent bits built
// from n without a float-to-int conversion (n + 2^23 or 2^52 puts n in the low mantissa bits;
// no conversion of a NaN or an infinity, which would be undefined in scalar code); AVX-512 has
// it in one instruction (vscalefps/pd). A NaN p gives NaN.
template <class V>
SEQMIX_INLINE V mul_pow2(const V& p, const V& n) noexcept {
  using T = typename V::value_type;
  if constexpr (std::is_same_v<T, float>) {
    using I = xsimd::batch<std::int32_t, typename V::arch_type>;
    const I bits = xsimd::bitwise_cast<I>(n + V(8388608.0f + 127.0f));  // 2^23 + bias
    return p * xsimd::bitwise_cast<V>(bits << 23);
  } else {
    using I = xsimd::batch<std::int64_t, typename V::arch_type>;
    const I bits = xsimd::bitwise_cast<I>(n + V(4503599627370496.0 + 1023.0));  // 2^52 + bias
    return p * xsimd::bitwise_cast<V>(bits << 52);
  }
}
#if defined(__AVX512F__)
template <class A>
  requires std::is_base_of_v<xsimd::avx512f, A>
SEQMIX_INLINE xsimd::batch<float, A> mul_pow2(const xsimd::batch<float, A>& p, const xsimd::batch<float, A>& n) noexcept {
  return _mm512_scalef_ps(p, n);
}
template <class A>
  requires std::is_base_of_v<xsimd::avx512f, A>
SEQMIX_INLINE xsimd::batch<double, A> mul_pow2(const xsimd::batch<double, A>& p,
                                               const xsimd::batch<double, A>& n) noexcept {
  return _mm512_scalef_pd(p, n);
}
#endif

// max(lo, x) that keeps a NaN x: x86's max (SSE/AVX/AVX-512, which xsimd::max maps to)
// returns its second operand when either is NaN, so the constant goes first.
template <class V>
SEQMIX_INLINE V max_keep_nan(const V& lo, const V& x) noexcept {
  return xsimd::max(lo, x);
}
}  // namespace detail

// 2^x for x <= 0; x = -inf gives (about) 0, NaN gives NaN (a NaN score or gate reaches the
// output: see the README). float: a degree-5 minimax polynomial on [-1/2, 1/2] and the
// exponent bits (relative error 2.5e-7, 12 vector ops), inputs below -127 clamped (results
// 2^-127 and below are negligible next to the running maximum's 1); double: the degree-13
// Taylor polynomial of 2^f on [-1/2, 1/2] (relative error < 1e-16), inputs below -1022
// clamped. No conversion to integers, so -inf and NaN lanes are well defined (UBSan clean).
template <class V>
SEQMIX_INLINE V exp2_nonpos(const V& x) noexcept {
  using T = typename V::value_type;
  if constexpr (std::is_same_v<T, float>) {
    const V xc = detail::max_keep_nan(V(-127.0f), x);
    const V n = xsimd::nearbyint(xc);
    const V f = xc - n;
    V p = V(1.340043695780e-03f);
    p = xsimd::fma(p, f, V(9.676041930214e-03f));
    p = xsimd::fma(p, f, V(5.550327202229e-02f));
    p = xsimd::fma(p, f, V(2.402210726522e-01f));
    p = xsimd::fma(p, f, V(6.931472067162e-01f));
    p = xsimd::fma(p, f, V(1.000000075514e+00f));
    return detail::mul_pow2(p, n);
  } else {
    const V xc = detail::max_keep_nan(V(-1022.0), x);
    const V n = xsimd::nearbyint(xc);
    const V f = xc - n;
    // c_i = (ln 2)^i / i!
    constexpr double c[14] = {1.0,
                              0.6931471805599453,
                              0.2402265069591007,
                              0.055504108664821576,
                              0.009618129107628477,
                              0.0013333558146428441,
                              0.00015403530393381606,
                              1.5252733804059838e-05,
                              1.3215486790144305e-06,
                              1.0178086009239696e-07,
                              7.054911620801121e-09,
                              4.44553827187081e-10,
                              2.5678435993488196e-11,
                              1.3691488853904124e-12};
    V p = V(c[13]);
    for (int i = 12; i >= 0; --i) p = xsimd::fma(p, f, V(c[i]));
    return detail::mul_pow2(p, n);
  }
}

inline float exp2_nonpos(float x) noexcept { return x < -127.0f ? 0.0f : std::exp2(x); }
inline double exp2_nonpos(double x) noexcept { return std::exp2(x); }

// Visible key positions [lo, hi] of the query at position p (hi < lo: none).
struct visibility {
  bool causal = true;
  index_t window = 0;  // 0: none
  index_t keys = 0;    // S of the sequence
  index_t lo(index_t p) const noexcept { return window > 0 ? std::max<index_t>(0, p - window + 1) : 0; }
  index_t hi(index_t p) const noexcept {
    if (causal) return std::min(p, keys - 1);
    return window > 0 ? std::min<index_t>(keys - 1, p + window - 1) : keys - 1;
  }
};

// One attention head of one sequence: query rows t (positions t + keys - queries) against
// key rows s. Pointers address row 0; rows are `ld*` elements apart; features contiguous.
template <class T>
struct head_problem {
  const T* q = nullptr;
  index_t ldq = 0;
  const T* k = nullptr;
  index_t ldk = 0;
  const T* v = nullptr;
  index_t ldv = 0;
  T* o = nullptr;
  index_t ldo = 0;
  index_t queries = 0, K = 0, V = 0;
  visibility vis;
  double scale = 1;          // scale of q·k (natural-log units)
  const double* cum = nullptr;  // optional [keys]: Σ_{j<=x} g_j (FoX)
  double slope = 0;          // ALiBi slope
  bool has_bias() const noexcept { return cum != nullptr || slope != 0; }
  // b(x) with bias(p, s) = b(p) - b(s) for s <= p and b(s) - b(p) for s > p.
  double b(index_t x) const noexcept { return (cum ? cum[x] : 0.0) - slope * double(x); }
  index_t offset() const noexcept { return vis.keys - queries; }
};

}  // namespace seqmix::kernels::attention
