#pragma once
// Shared machinery of the RWKV-5/6/7 recurrent kernels: the row-scaled state.
//
// The state S (K×V) is kept as S = Diag(E) S̃ with a per-row scale E (0 < E <= 1). A step
// with decay d = e^{w} then only changes E (E ← E·d) and leaves S̃ alone, so the update
// of a row costs one FMA (S̃_i += (k_i/E_i) vᵀ) instead of a multiply and an FMA, and
// the readout uses the scaled query (r_i·E_i). When a row's scale would fall below
// `floor` (or its decay is not a number in (floor, 1/floor)), the row is rebased: the
// decay is folded into S̃_i (S̃_i ← α_i S̃_i) and its scale restarts at d (or at 1 when
// d itself is out of range, e.g. d = 0). So E stays in [floor, 1], k/E never overflows,
// and no exp of a positive number is taken. E is a running product of rounded decays,
// exactly like the decays the plain recurrence multiplies S by: same rounding.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>

#include <xsimd/xsimd.hpp>

#include "seqmix/config.hpp"
#include "seqmix/simd/math.hpp"

namespace seqmix::kernels::rwkv_detail {

// f(0), f(1), ..., f(N-1) with compile-time indices: register blocks stay in registers
// (a plain loop over a small array is not unrolled by GCC at -O2 and spills them).
template <std::size_t N, class F>
SEQMIX_INLINE void unroll(F&& f) {
  [&]<std::size_t... I>(std::index_sequence<I...>) { (f(std::integral_constant<std::size_t, I>{}), ...); }
  (std::make_index_sequence<N>{});
}

// Rebase threshold: small enough that rows rebase rarely (a channel with log decay w every
// ln(1/floor)/|w| steps), large enough that k/E (<= |k|/floor) and S̃ never overflow.
template <class T>
inline constexpr T scale_floor = std::is_same_v<T, float> ? T(1e-18) : T(1e-100);

// Row scales and this step's coefficients, arrays of Kp (K rounded up to the batch).
template <class T>
struct row_coefficients {
  T* E;       // in/out: row scales (the persistent part of the state)
  T* alpha;   // rebased rows: the factor folding the old scale (and, if d is out of range, d) into S̃
  T* inv;     // 1 / (new E)
  T* e_old;   // the scale before this step
  T* e_new;   // the scale after this step
  T* d;       // this step's decay e^{w}
  std::uint32_t* rebased;  // indices of the rows rebased at this step (K entries)
};

// w: this step's log decays, Kp values (padding lanes 0). Returns the number of rebased
// rows (listed in c.rebased; fresh[i] says whether d_i itself is in range).
// per_block(i, E_old, E_new, 1/E_new) is called for each batch of rows [i, i + L), so the
// step's coefficients are computed in the same pass.
template <class Arch, class T, class F>
SEQMIX_INLINE std::size_t advance_scales(const T* w, std::size_t Kp, const row_coefficients<T>& c,
                                         unsigned char* fresh_out, F&& per_block) noexcept {
  using batch = xsimd::batch<T, Arch>;
  constexpr std::size_t L = batch::size;
  const batch floor(scale_floor<T>), ceil(T(1) / scale_floor<T>), one(T(1));
  std::size_t n = 0;
  for (std::size_t i = 0; i < Kp; i += L) {
    const batch E = batch::load_aligned(c.E + i);
    const batch d = xsimd::exp(batch::load_aligned(w + i));
    const batch En = E * d;
    const auto normal = (En >= floor) && (En <= ceil);
    const auto fresh = (d >= floor) && (d <= ceil);
    const batch Enew = xsimd::select(normal, En, xsimd::select(fresh, d, one));
    E.store_aligned(c.e_old + i);
    Enew.store_aligned(c.E + i);
    per_block(i, E, Enew, one / Enew);
    if (!xsimd::all(normal)) {  // rare: list the rows
      const batch alpha = xsimd::select(fresh, E, En);
      alpha.store_aligned(c.alpha + i);
      d.store_aligned(c.d + i);
      alignas(64) T nb[L], fb[L];
      xsimd::select(normal, one, batch(T(0))).store_aligned(nb);
      xsimd::select(fresh, one, batch(T(0))).store_aligned(fb);
      for (std::size_t l = 0; l < L; ++l)
        if (nb[l] == T(0)) {
          fresh_out[n] = fb[l] != T(0);
          c.rebased[n++] = static_cast<std::uint32_t>(i + l);
        }
    }
  }
  return n;
}

// A [B,T,H,X] tensor seen from one sequence and a group of heads: element (t, g, x) at
// p[t·ld_t + g·ld_h + x] (ld_t = 0: the same row at every step, e.g. rwkv5's decay).
template <class T>
struct rows_view {
  T* p = nullptr;
  std::ptrdiff_t ld_t = 0, ld_h = 0;
  T* at(std::size_t t, std::size_t g) const noexcept {
    return p + static_cast<std::ptrdiff_t>(t) * ld_t + static_cast<std::ptrdiff_t>(g) * ld_h;
  }
};

// Inputs are [B,T,H,K]: one head's consecutive steps are H·K values apart (8 KiB at
// H = 32, K = 64), each on its own page, which neither the hardware prefetcher nor the
// TLB follows well. So the kernels run a group of heads in lockstep over chunks of
// `chunk_steps` steps: a chunk's rows are gathered head-major into a small buffer
// (reading memory in order), each head runs its steps there, and outputs are scattered
// back the same way.
inline constexpr std::size_t chunk_steps = 8;

// dst[(g·C + t)·Xp + x] = src(t0 + t, g, x) for t < n, g < G, x < X; zero for X <= x < Xp.
template <class Arch, class T>
void gather_rows(const rows_view<const T>& src, std::size_t t0, std::size_t n, std::size_t G, std::size_t X,
                 std::size_t Xp, std::size_t C, T* dst) noexcept {
  using batch = xsimd::batch<T, Arch>;
  constexpr std::size_t L = batch::size;
  for (std::size_t t = 0; t < n; ++t)
    for (std::size_t g = 0; g < G; ++g) {
      const T* s = src.at(t0 + t, g);
      T* d = dst + (g * C + t) * Xp;
      std::size_t x = 0;
      for (; x + L <= X; x += L) batch::load_unaligned(s + x).store_aligned(d + x);
      for (; x < X; ++x) d[x] = s[x];
      for (; x < Xp; ++x) d[x] = T(0);
    }
}

// dst(t0 + t, g, x) = src[(g·C + t)·Xp + x] for t < n, g < G, x < X.
template <class Arch, class T>
void scatter_rows(const T* src, std::size_t t0, std::size_t n, std::size_t G, std::size_t X, std::size_t Xp,
                  std::size_t C, const rows_view<T>& dst) noexcept {
  using batch = xsimd::batch<T, Arch>;
  constexpr std::size_t L = batch::size;
  for (std::size_t t = 0; t < n; ++t)
    for (std::size_t g = 0; g < G; ++g) {
      const T* s = src + (g * C + t) * Xp;
      T* d = dst.at(t0 + t, g);
      std::size_t x = 0;
      for (; x + L <= X; x += L) batch::load_aligned(s + x).store_unaligned(d + x);
      for (; x < X; ++x) d[x] = s[x];
    }
}

// A state in: S̃ = S0 (E = 1) with zero padding; out: S = Diag(E) S̃.
template <class T>
void state_in(T* s, std::size_t Vp, const T* s0, std::ptrdiff_t ld, std::size_t K, std::size_t V) noexcept {
  for (std::size_t i = 0; i < K; ++i) {
    T* row = s + i * Vp;
    for (std::size_t j = 0; j < Vp; ++j) row[j] = s0 && j < V ? s0[static_cast<std::ptrdiff_t>(i) * ld + j] : T(0);
  }
}
template <class T>
void state_out(T* sN, std::ptrdiff_t ld, const T* s, std::size_t Vp, const T* E, std::size_t K,
               std::size_t V) noexcept {
  for (std::size_t i = 0; i < K; ++i)
    for (std::size_t j = 0; j < V; ++j) sN[static_cast<std::ptrdiff_t>(i) * ld + j] = E[i] * s[i * Vp + j];
}

// Carves consecutive arrays out of one workspace buffer (each a multiple of the batch).
template <class T>
struct carver {
  T* p;
  T* take(std::size_t n) noexcept {
    T* r = p;
    p += n;
    return r;
  }
};

// Software prefetch of n values (the next chunk's rows, while this chunk computes).
template <class T>
SEQMIX_INLINE void prefetch_row(const T* p, std::size_t n) noexcept {
#if defined(__GNUC__)
  const char* c = reinterpret_cast<const char*>(p);
  for (std::size_t b = 0; b < n * sizeof(T); b += 64) __builtin_prefetch(c + b);
#else
  (void)p;
  (void)n;
#endif
}
template <class T>
SEQMIX_INLINE void prefetch_row_for_write(T* p, std::size_t n) noexcept {
#if defined(__GNUC__)
  char* c = reinterpret_cast<char*>(p);
  for (std::size_t b = 0; b < n * sizeof(T); b += 64) __builtin_prefetch(c + b, 1);
#else
  (void)p;
  (void)n;
#endif
}

// Bytes rounded up to whole batches.
template <class Arch, class T>
constexpr std::size_t padded(std::size_t n) noexcept {
  constexpr std::size_t L = xsimd::batch<T, Arch>::size;
  return (n + L - 1) / L * L;
}

}  // namespace seqmix::kernels::rwkv_detail
