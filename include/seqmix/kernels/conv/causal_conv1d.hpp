#pragma once
// Short causal depthwise convolution (Mamba's conv1d, Hyena's short filters):
//   o_t[c] = act(bias[c] + Σ_{i<W} w[i][c] · in_{t-W+1+i}[c])
// over one sequence and a slab of channels, SIMD across channels, time outermost so x and
// o stream through memory once. Inputs before time 0 come from `hist`: S = W-1 rows of
// `width` values (oldest first). Width 4 (Mamba's d_conv) is unrolled at compile time;
// any other width runs the same body with a runtime tap count.
#include <cstddef>
#include <type_traits>

#include <xsimd/xsimd.hpp>

#include "seqmix/config.hpp"
#include "seqmix/ops/args/causal_conv1d.hpp"
#include "seqmix/simd/math.hpp"

namespace seqmix::kernels {

namespace conv_detail {

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

// silu(x) = x / (1 + e^{-x}). Float AVX-512 batches: e^{-x} = 2^k · p(f) (k the nearest
// integer to -x·log2 e, p of degree 6 on [-1/2, 1/2], relative error 2e-8) scaled by one
// vscalefps (inf for large -x, giving 0; NaN propagates); everything else: simd::silu.
template <class V>
SEQMIX_INLINE V silu(const V& x) noexcept {
#if defined(__AVX512F__)
  if constexpr (!std::is_arithmetic_v<V>) {
    if constexpr (std::is_same_v<typename V::value_type, float> &&
                  std::is_base_of_v<xsimd::avx512f, typename V::arch_type>) {
      const V u = x * V(-1.4426950408889634f);
      const V k = xsimd::nearbyint(u);
      const V f = u - k;
      V p = xsimd::fma(V(1.533758477307856e-4f), f, V(1.3399870367720723e-3f));
      p = xsimd::fma(p, f, V(9.618519805371761e-3f));
      p = xsimd::fma(p, f, V(5.550329014658928e-2f));
      p = xsimd::fma(p, f, V(2.4022646248340607e-1f));
      p = xsimd::fma(p, f, V(6.931471824645996e-1f));
      p = xsimd::fma(p, f, V(1.0f));
      return x / (V(1.0f) + V(_mm512_scalef_ps(p, k)));
    }
  }
#endif
  return simd::silu(x);
}

// One output element (V = T) or batch (V = xsimd::batch) at channel c.
template <class V, int Wc, bool Silu, bool Bias, class T>
SEQMIX_INLINE void conv_point(const T* const* taps, const T* wt, const T* bias, T* o, std::size_t c,
                              std::size_t width, int W) noexcept {
  V acc = Bias ? load<V>(bias + c) : V(T(0));
  if constexpr (Wc > 0) {
#pragma GCC unroll 8
    for (int i = 0; i < Wc; ++i) acc = xsimd::fma(load<V>(wt + i * width + c), load<V>(taps[i] + c), acc);
  } else {
    for (int i = 0; i < W; ++i) acc = xsimd::fma(load<V>(wt + i * width + c), load<V>(taps[i] + c), acc);
  }
  if constexpr (Silu) acc = conv_detail::silu(acc);
  store<V>(o + c, acc);
}

template <class Arch, int Wc, bool Silu, bool Bias, class T>
void conv_rows(const T* x, std::ptrdiff_t ldx, T* o, std::ptrdiff_t ldo, index_t t_begin, index_t t_end,
               const T* wt, const T* bias, const T* hist, std::size_t width, int W) noexcept {
  using B = xsimd::batch<T, Arch>;
  constexpr int kMaxStatic = 64;
  const int taps_n = Wc > 0 ? Wc : W;
  const T* taps_small[kMaxStatic];
  const index_t S = taps_n - 1;
  for (index_t t = t_begin; t < t_end; ++t) {
    // pointers to the W input rows feeding output t
    for (int i = 0; i < taps_n; ++i) {
      const index_t j = t - S + i;
      taps_small[i] = j < 0 ? hist + (j + S) * static_cast<index_t>(width) : x + j * ldx;
    }
    T* orow = o + t * ldo;
    std::size_t c = 0;
    for (; c + B::size <= width; c += B::size) conv_point<B, Wc, Silu, Bias>(taps_small, wt, bias, orow, c, width, W);
    for (; c < width; ++c) conv_point<T, Wc, Silu, Bias>(taps_small, wt, bias, orow, c, width, W);
  }
}

}  // namespace conv_detail

// Largest width the kernel accepts (the op checks); taps are kept in a small stack array.
inline constexpr int causal_conv1d_max_width = 64;

// Outputs t in [t_begin, t_end) of one sequence. x: its rows (row stride ldx, t = 0 first)
// of `width` channels; o likewise (ldo). wt: W rows of `width` weights (tap-major, tap W-1
// multiplies the current input); bias: `width` values or null; hist: W-1 rows of `width`
// inputs before t = 0 (oldest first, row stride `width`). No allocation.
template <class Arch = xsimd::default_arch, class T>
void causal_conv1d(const T* x, std::ptrdiff_t ldx, T* o, std::ptrdiff_t ldo, index_t t_begin, index_t t_end,
                   const T* wt, const T* bias, const T* hist, std::size_t width, int W,
                   conv_activation act) noexcept {
  using namespace conv_detail;
  const bool silu = act == conv_activation::silu, has_bias = bias != nullptr;
  auto run = [&](auto wc, auto s, auto b) {
    conv_rows<Arch, decltype(wc)::value, decltype(s)::value, decltype(b)::value>(x, ldx, o, ldo, t_begin, t_end, wt,
                                                                                 bias, hist, width, W);
  };
  auto by_width = [&](auto s, auto b) {
    switch (W) {
      case 4: run(std::integral_constant<int, 4>{}, s, b); break;
      case 3: run(std::integral_constant<int, 3>{}, s, b); break;
      case 2: run(std::integral_constant<int, 2>{}, s, b); break;
      default: run(std::integral_constant<int, 0>{}, s, b); break;
    }
  };
  using yes = std::true_type;
  using no = std::false_type;
  if (silu) has_bias ? by_width(yes{}, yes{}) : by_width(yes{}, no{});
  else has_bias ? by_width(no{}, yes{}) : by_width(no{}, no{});
}

}  // namespace seqmix::kernels
