#pragma once
// In-register transposes of one vector-width square block: 16×16 floats / 8×8 doubles with
// AVX-512 (log2(W) rounds of a full-width perfect shuffle, row i interleaved with row i+W/2),
// plain loops elsewhere. Used where a kernel needs a matrix the other way round (the chunk
// engine's Kᵀ, long_conv's channel-major filter taps into the lane layout).
#include <cstddef>
#include <type_traits>

#include <xsimd/xsimd.hpp>

#include "seqmix/config.hpp"
#include "seqmix/core/tensor.hpp"

namespace seqmix::simd {

#if defined(__AVX512F__)
namespace detail {
// One perfect-shuffle round over N vectors: out[2i], out[2i+1] = a[i] interleaved with
// a[i + N/2]. Fully unrolled and inlined so that the arrays live in registers (a loop
// copying a temporary array back compiled to a 1 KiB memcpy per round).
template <int N, class V, class Permute>
SEQMIX_INLINE void shuffle_round(const V* a, V* out, __m512i lo, __m512i hi, Permute permute) noexcept {
#pragma GCC unroll 16
  for (int i = 0; i < N / 2; ++i) {
    out[2 * i] = permute(a[i], lo, a[i + N / 2]);
    out[2 * i + 1] = permute(a[i], hi, a[i + N / 2]);
  }
}
}  // namespace detail

SEQMIX_INLINE void transpose16(__m512* r) noexcept {
  const __m512i lo = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const __m512i hi = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
  auto perm = [](__m512 a, __m512i idx, __m512 b) { return _mm512_permutex2var_ps(a, idx, b); };
  __m512 t[16];
  detail::shuffle_round<16>(r, t, lo, hi, perm);
  detail::shuffle_round<16>(t, r, lo, hi, perm);
  detail::shuffle_round<16>(r, t, lo, hi, perm);
  detail::shuffle_round<16>(t, r, lo, hi, perm);
}
SEQMIX_INLINE void transpose8(__m512d* r) noexcept {
  const __m512i lo = _mm512_setr_epi64(0, 8, 1, 9, 2, 10, 3, 11);
  const __m512i hi = _mm512_setr_epi64(4, 12, 5, 13, 6, 14, 7, 15);
  auto perm = [](__m512d a, __m512i idx, __m512d b) { return _mm512_permutex2var_pd(a, idx, b); };
  __m512d t[8];
  detail::shuffle_round<8>(r, t, lo, hi, perm);
  detail::shuffle_round<8>(t, r, lo, hi, perm);
  detail::shuffle_round<8>(r, t, lo, hi, perm);
#pragma GCC unroll 8
  for (int i = 0; i < 8; ++i) r[i] = t[i];  // three rounds end in t
}
#endif

// dst[i·ldd + r] = src[r·lds + i] for r, i < W (W = the batch width of Arch for T).
template <class Arch, class T>
SEQMIX_INLINE void transpose_square(const T* SEQMIX_RESTRICT src, index_t lds, T* SEQMIX_RESTRICT dst,
                                    index_t ldd) noexcept {
  constexpr index_t W = index_t(xsimd::batch<T, Arch>::size);
#if defined(__AVX512F__)
  if constexpr (W * sizeof(T) == 64 && std::is_same_v<T, float>) {
    __m512 r[16];
    for (index_t l = 0; l < 16; ++l) r[l] = _mm512_loadu_ps(src + l * lds);
    transpose16(r);
    for (index_t i = 0; i < 16; ++i) _mm512_storeu_ps(dst + i * ldd, r[i]);
    return;
  } else if constexpr (W * sizeof(T) == 64 && std::is_same_v<T, double>) {
    __m512d r[8];
    for (index_t l = 0; l < 8; ++l) r[l] = _mm512_loadu_pd(src + l * lds);
    transpose8(r);
    for (index_t i = 0; i < 8; ++i) _mm512_storeu_pd(dst + i * ldd, r[i]);
    return;
  }
#endif
  for (index_t i = 0; i < W; ++i)
    for (index_t r = 0; r < W; ++r) dst[i * ldd + r] = src[r * lds + i];
}

}  // namespace seqmix::simd
