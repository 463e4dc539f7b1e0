#pragma once
// RWKV-5/6 recurrent kernel, SIMD across each head's K×V state:
//   o_t = (S_{t-1} + Diag(u) k_t v_tᵀ)ᵀ (scale·r_t),  S_t = Diag(e^{w_t}) S_{t-1} + k_t v_tᵀ.
// The bonus term is a scalar times v_t: (Σ_i scale·r_i u_i k_i) v_t. The state is row-scaled
// (rwkv_common.hpp), so a step costs two FMAs per state element: the readout
// o += (scale·r_i·E_i) S̃_i and the update S̃_i += (k_i/E_i) v. Rows rebased at a step are
// first brought to S_{t-1} (S̃_i ← E_i S̃_i, scale 1) so the main loop has no branches; a
// row whose decay itself is out of range (e.g. d = 0) is finished after the loop
// (S_i = d_i S_{t-1,i} + k_i v). A group of heads of one sequence runs in lockstep over
// chunks of steps (rwkv_common.hpp); no head's arithmetic depends on the grouping, so
// results are identical for any thread count.
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include <xsimd/xsimd.hpp>

#include "seqmix/core/workspace.hpp"
#include "seqmix/kernels/chunk/rwkv_common.hpp"

namespace seqmix::kernels {

// One sequence, heads [h0, h0 + G): every view points at (t = 0, h = h0).
template <class T>
struct rwkv6_group_io {
  rwkv_detail::rows_view<const T> r, k, w, v;  // w.ld_t = 0 for rwkv5 (fixed decay)
  rwkv_detail::rows_view<const T> u;           // [G, K] (ld_h)
  rwkv_detail::rows_view<T> o;
  const T* s0 = nullptr;  // optional initial states: head g at s0 + g·s0_ld_h, row stride s0_ld_r
  T* sN = nullptr;        // optional final states (may alias s0)
  std::ptrdiff_t s0_ld_h = 0, s0_ld_r = 0, sN_ld_h = 0, sN_ld_r = 0;
};

namespace rwkv_detail {

// One column block of NB batches: readout into o (which holds the bonus term), update.
template <std::size_t NB, class batch, class T>
SEQMIX_INLINE void rwkv6_rows(T* SEQMIX_RESTRICT s, std::size_t ld, std::size_t K, const T* rh, const T* bk,
                              const T* vb, T* ob) noexcept {
  constexpr std::size_t L = batch::size;
  batch v[NB], o[NB];
  unroll<NB>([&](auto q) {
    v[q] = batch::load_aligned(vb + q * L);
    o[q] = batch::load_aligned(ob + q * L);
  });
  for (std::size_t i = 0; i < K; ++i) {
    T* row = s + i * ld;
    const batch a(rh[i]), b(bk[i]);
    unroll<NB>([&](auto q) {
      const batch x = batch::load_aligned(row + q * L);
      o[q] = xsimd::fma(a, x, o[q]);
      xsimd::fma(b, v[q], x).store_aligned(row + q * L);
    });
  }
  unroll<NB>([&](auto q) { o[q].store_aligned(ob + q * L); });
}

template <class batch, class T>
SEQMIX_INLINE void rwkv6_block(std::size_t nb, T* s, std::size_t ld, std::size_t K, const T* rh, const T* bk,
                               const T* vb, T* ob) noexcept {
  switch (nb) {
    case 4: rwkv6_rows<4, batch>(s, ld, K, rh, bk, vb, ob); break;
    case 3: rwkv6_rows<3, batch>(s, ld, K, rh, bk, vb, ob); break;
    case 2: rwkv6_rows<2, batch>(s, ld, K, rh, bk, vb, ob); break;
    default: rwkv6_rows<1, batch>(s, ld, K, rh, bk, vb, ob); break;
  }
}

// Per-step scratch of the RWKV kernels.
template <class T>
struct step_scratch {
  row_coefficients<T> c;
  T *x1, *x2, *x3, *x4;  // per-row coefficient arrays (Kp)
  T* saved;              // K × Vp: rows whose decay is out of range
  unsigned char* fresh;  // K flags
};

// One step of one head. r, k, w, u: Kp values; v, o: Vp values (all padded, aligned).
template <class Arch, class T>
SEQMIX_INLINE void rwkv6_step(T* s, const step_scratch<T>& sc, const T* r, const T* k, const T* w, const T* u,
                              const T* v, T* o, std::size_t K, std::size_t Kp, std::size_t Vp, T scale) noexcept {
  using batch = xsimd::batch<T, Arch>;
  constexpr std::size_t L = batch::size;
  const auto& c = sc.c;
  T *rh = sc.x1, *bk = sc.x2;
  const batch scl(scale);
  batch bonus(T(0));
  const std::size_t nreb =
      advance_scales<Arch, T>(w, Kp, c, sc.fresh, [&](std::size_t i, const batch& e_old, const batch&, const batch& inv) {
        const batch rv = scl * batch::load_aligned(r + i), kv = batch::load_aligned(k + i);
        bonus = xsimd::fma(rv * batch::load_aligned(u + i), kv, bonus);
        (rv * e_old).store_aligned(rh + i);
        (kv * inv).store_aligned(bk + i);
      });
  const std::size_t nvec = Vp / L;
  std::size_t ndirect = 0;
  for (std::size_t n = 0; n < nreb; ++n) {  // rebased rows: S̃_i ← S_{t-1,i} (scale 1)
    const std::size_t i = c.rebased[n];
    const batch e(c.e_old[i]);
    T* row = s + i * Vp;
    for (std::size_t q = 0; q < nvec; ++q) (e * batch::load_aligned(row + q * L)).store_aligned(row + q * L);
    rh[i] = scale * r[i];
    if (!sc.fresh[n]) {  // d out of range: finished after the loop from a copy of S_{t-1,i}
      std::copy(row, row + Vp, sc.saved + ndirect * Vp);
      c.rebased[ndirect++] = static_cast<std::uint32_t>(i);
    }
  }
  const batch bon(xsimd::hadd(bonus));
  for (std::size_t q = 0; q < nvec; ++q) (bon * batch::load_aligned(v + q * L)).store_aligned(o + q * L);
  for (std::size_t q0 = 0; q0 < nvec; q0 += 4)
    rwkv6_block<batch>(std::min<std::size_t>(4, nvec - q0), s + q0 * L, Vp, K, rh, bk, v + q0 * L, o + q0 * L);
  for (std::size_t n = 0; n < ndirect; ++n) {  // S_i = d_i S_{t-1,i} + k_i v (new scale 1)
    const std::size_t i = c.rebased[n];
    const batch d(c.d[i]), kk(k[i]);
    T* row = s + i * Vp;
    for (std::size_t q = 0; q < nvec; ++q)
      xsimd::fma(d, batch::load_aligned(sc.saved + n * Vp + q * L), kk * batch::load_aligned(v + q * L))
          .store_aligned(row + q * L);
  }
}

// Carves the per-step scratch (after the caller's arrays) out of a workspace.
template <class Arch, class T>
step_scratch<T> make_step_scratch(carver<T>& ws, unsigned char* fresh, std::size_t K, std::size_t Kp,
                                  std::size_t Vp) {
  step_scratch<T> sc{};
  sc.c = {nullptr, ws.take(Kp), ws.take(Kp), ws.take(Kp), ws.take(Kp), ws.take(Kp),
          reinterpret_cast<std::uint32_t*>(ws.take(Kp))};
  sc.x1 = ws.take(Kp);
  sc.x2 = ws.take(Kp);
  sc.x3 = ws.take(Kp);
  sc.x4 = ws.take(Kp);
  sc.saved = ws.take(K * Vp);
  sc.fresh = fresh;
  return sc;
}
template <class T>
constexpr std::size_t step_scratch_size(std::size_t K, std::size_t Kp, std::size_t Vp) noexcept {
  return 10 * Kp + K * Vp;
}

}  // namespace rwkv_detail

// `steps` steps of G heads of one sequence; K key width, V value width.
template <class Arch, class T>
void rwkv6_group(const rwkv6_group_io<T>& io, std::size_t steps, std::size_t G, std::size_t K, std::size_t V,
                 T scale) {
  using namespace rwkv_detail;
  static_assert(sizeof(T) >= sizeof(std::uint32_t));
  constexpr std::size_t C = chunk_steps;
  const std::size_t Kp = padded<Arch, T>(K), Vp = padded<Arch, T>(V);
  const std::size_t per_head = K * Vp + 2 * Kp;  // S̃, E, u
  const std::size_t total = G * per_head + G * C * (3 * Kp + 2 * Vp) + step_scratch_size<T>(K, Kp, Vp) + Kp;
  carver<T> ws{thread_workspace(0).get<T>(total)};
  T* states = ws.take(G * per_head);
  T *R = ws.take(G * C * Kp), *Kb = ws.take(G * C * Kp), *W = ws.take(G * C * Kp);
  T *Vb = ws.take(G * C * Vp), *Ob = ws.take(G * C * Vp);
  step_scratch<T> sc = make_step_scratch<Arch, T>(ws, reinterpret_cast<unsigned char*>(ws.take(Kp)), K, Kp, Vp);
  for (std::size_t g = 0; g < G; ++g) {
    T* st = states + g * per_head;
    state_in(st, Vp, io.s0 ? io.s0 + static_cast<std::ptrdiff_t>(g) * io.s0_ld_h : nullptr, io.s0_ld_r, K, V);
    std::fill(st + K * Vp, st + K * Vp + Kp, T(1));
    T* u = st + K * Vp + Kp;
    for (std::size_t i = 0; i < Kp; ++i) u[i] = i < K ? io.u.at(0, g)[i] : T(0);
  }
  for (std::size_t t0 = 0; t0 < steps; t0 += C) {
    const std::size_t n = std::min(C, steps - t0);
    gather_rows<Arch, T>(io.r, t0, n, G, K, Kp, C, R);
    gather_rows<Arch, T>(io.k, t0, n, G, K, Kp, C, Kb);
    gather_rows<Arch, T>(io.w, t0, n, G, K, Kp, C, W);
    gather_rows<Arch, T>(io.v, t0, n, G, V, Vp, C, Vb);
    for (std::size_t g = 0; g < G; ++g) {
      T* st = states + g * per_head;
      sc.c.E = st + K * Vp;
      for (std::size_t t = 0; t < n; ++t) {
        const std::size_t row = g * C + t;
        if (t0 + C + t < steps) {  // the same row of the next chunk
          prefetch_row(io.r.at(t0 + C + t, g), K);
          prefetch_row(io.k.at(t0 + C + t, g), K);
          prefetch_row(io.w.at(t0 + C + t, g), K);
          prefetch_row(io.v.at(t0 + C + t, g), V);
          prefetch_row_for_write(io.o.at(t0 + t, g), V);
        }
        rwkv6_step<Arch, T>(st, sc, R + row * Kp, Kb + row * Kp, W + row * Kp, st + K * Vp + Kp, Vb + row * Vp,
                            Ob + row * Vp, K, Kp, Vp, scale);
      }
    }
    scatter_rows<Arch, T>(Ob, t0, n, G, V, Vp, C, io.o);
  }
  if (io.sN)
    for (std::size_t g = 0; g < G; ++g) {
      const T* st = states + g * per_head;
      state_out(io.sN + static_cast<std::ptrdiff_t>(g) * io.sN_ld_h, io.sN_ld_r, st, Vp, st + K * Vp, K, V);
    }
}

}  // namespace seqmix::kernels
