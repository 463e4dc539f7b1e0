#pragma once
// RWKV-7 recurrent kernel for one (sequence, head), SIMD across the K×V state:
//   S_t = (Diag(e^{w_t}) + b_t a_tᵀ) S_{t-1} + k_t v_tᵀ,  o_t = S_tᵀ (scale·r_t).
// With the row-scaled state S = Diag(E) S̃ (rwkv_common.hpp) and sa_t = a_tᵀ S_{t-1}, one
// pass over the rows does, per state element, four FMAs and one load/store:
//   S̃_i += (b_i/E_i) sa_t + (k_i/E_i) v_t            (update)
//   o_t += (scale·r_i·E_i) S̃_i                       (readout)
//   sa_{t+1} += (a_{t+1,i}·E_i) S̃_i                  (next step's aᵀS, fused)
#include <algorithm>
#include <cstddef>
#include <cstring>

#include <xsimd/xsimd.hpp>

#include "seqmix/core/workspace.hpp"
#include "seqmix/kernels/chunk/rwkv6.hpp"  // step_scratch

namespace seqmix::kernels {

// One sequence, heads [h0, h0 + G): every view points at (t = 0, h = h0).
template <class T>
struct rwkv7_group_io {
  rwkv_detail::rows_view<const T> r, w, k, a, b, v;
  rwkv_detail::rows_view<T> o;
  const T* s0 = nullptr;  // optional initial states: head g at s0 + g·s0_ld_h, row stride s0_ld_r
  T* sN = nullptr;        // optional final states (may alias s0)
  std::ptrdiff_t s0_ld_h = 0, s0_ld_r = 0, sN_ld_h = 0, sN_ld_r = 0;
};

namespace rwkv_detail {

template <std::size_t NB, class batch, class T>
SEQMIX_INLINE void rwkv7_rows(T* SEQMIX_RESTRICT s, std::size_t ld, std::size_t K, const T* bb, const T* bk,
                              const T* rh, const T* ah, const T* vb, T* sab, T* ob) noexcept {
  constexpr std::size_t L = batch::size;
  batch v[NB], sa[NB], o[NB], sn[NB];
  unroll<NB>([&](auto q) {
    v[q] = batch::load_aligned(vb + q * L);
    sa[q] = batch::load_aligned(sab + q * L);
    o[q] = batch(T(0));
    sn[q] = batch(T(0));
  });
  for (std::size_t i = 0; i < K; ++i) {
    T* row = s + i * ld;
    const batch cb(bb[i]), ck(bk[i]), cr(rh[i]), ca(ah[i]);
    unroll<NB>([&](auto q) {
      batch x = batch::load_aligned(row + q * L);
      x = xsimd::fma(cb, sa[q], xsimd::fma(ck, v[q], x));
      x.store_aligned(row + q * L);
      o[q] = xsimd::fma(cr, x, o[q]);
      sn[q] = xsimd::fma(ca, x, sn[q]);
    });
  }
  unroll<NB>([&](auto q) {
    o[q].store_aligned(ob + q * L);
    sn[q].store_aligned(sab + q * L);
  });
}

template <class batch, class T>
SEQMIX_INLINE void rwkv7_block(std::size_t nb, T* s, std::size_t ld, std::size_t K, const T* bb, const T* bk,
                               const T* rh, const T* ah, const T* vb, T* sab, T* ob) noexcept {
  switch (nb) {
    case 4: rwkv7_rows<4, batch>(s, ld, K, bb, bk, rh, ah, vb, sab, ob); break;
    case 3: rwkv7_rows<3, batch>(s, ld, K, bb, bk, rh, ah, vb, sab, ob); break;
    case 2: rwkv7_rows<2, batch>(s, ld, K, bb, bk, rh, ah, vb, sab, ob); break;
    default: rwkv7_rows<1, batch>(s, ld, K, bb, bk, rh, ah, vb, sab, ob); break;
  }
}

}  // namespace rwkv_detail

namespace rwkv_detail {

// One step of one head: sa holds a_tᵀ S_{t-1} on entry and a_{t+1}ᵀ S_t on exit (an = null:
// no next step). r, w, k, b, an: Kp values; v, o: Vp values (padded, aligned). Rows
// rebased at this step first fold their old scale (and an out-of-range decay) into S̃,
// so the main loop is the same for every row.
template <class Arch, class T>
SEQMIX_INLINE void rwkv7_step(T* s, T* sa, const step_scratch<T>& sc, const T* r, const T* w, const T* k, const T* b,
                              const T* an, const T* v, T* o, std::size_t K, std::size_t Kp, std::size_t Vp,
                              T scale) noexcept {
  using batch = xsimd::batch<T, Arch>;
  constexpr std::size_t L = batch::size;
  const auto& c = sc.c;
  T *bb = sc.x1, *bk = sc.x2, *rh = sc.x3, *ah = sc.x4;
  const batch scl(scale);
  const std::size_t nreb =
      advance_scales<Arch, T>(w, Kp, c, sc.fresh, [&](std::size_t i, const batch&, const batch& en, const batch& inv) {
        (batch::load_aligned(b + i) * inv).store_aligned(bb + i);
        (batch::load_aligned(k + i) * inv).store_aligned(bk + i);
        (scl * batch::load_aligned(r + i) * en).store_aligned(rh + i);
        (an ? batch::load_aligned(an + i) * en : batch(T(0))).store_aligned(ah + i);
      });
  const std::size_t nvec = Vp / L;
  for (std::size_t n = 0; n < nreb; ++n) {
    const std::size_t i = c.rebased[n];
    const batch al(c.alpha[i]);
    T* row = s + i * Vp;
    for (std::size_t q = 0; q < nvec; ++q) (al * batch::load_aligned(row + q * L)).store_aligned(row + q * L);
  }
  for (std::size_t q0 = 0; q0 < nvec; q0 += 4)
    rwkv7_block<batch>(std::min<std::size_t>(4, nvec - q0), s + q0 * L, Vp, K, bb, bk, rh, ah, v + q0 * L,
                       sa + q0 * L, o + q0 * L);
}

}  // namespace rwkv_detail

// `steps` steps of G heads of one sequence; K key width, V value width.
template <class Arch, class T>
void rwkv7_group(const rwkv7_group_io<T>& io, std::size_t steps, std::size_t G, std::size_t K, std::size_t V,
                 T scale) {
  using batch = xsimd::batch<T, Arch>;
  using namespace rwkv_detail;
  constexpr std::size_t C = chunk_steps, L = batch::size;
  const std::size_t Kp = padded<Arch, T>(K), Vp = padded<Arch, T>(V);
  const std::size_t per_head = K * Vp + Kp + Vp;  // S̃, E, sa
  const std::size_t total = G * per_head + G * C * (4 * Kp + 2 * Vp) + G * (C + 1) * Kp +
                            step_scratch_size<T>(K, Kp, Vp) + Kp;
  carver<T> ws{thread_workspace(0).get<T>(total)};
  T* states = ws.take(G * per_head);
  T *R = ws.take(G * C * Kp), *W = ws.take(G * C * Kp), *Kb = ws.take(G * C * Kp), *Bb = ws.take(G * C * Kp);
  T* A = ws.take(G * (C + 1) * Kp);  // one row more: the next chunk's first a
  T *Vb = ws.take(G * C * Vp), *Ob = ws.take(G * C * Vp);
  step_scratch<T> sc = make_step_scratch<Arch, T>(ws, reinterpret_cast<unsigned char*>(ws.take(Kp)), K, Kp, Vp);
  for (std::size_t g = 0; g < G; ++g) {
    T* st = states + g * per_head;
    state_in(st, Vp, io.s0 ? io.s0 + static_cast<std::ptrdiff_t>(g) * io.s0_ld_h : nullptr, io.s0_ld_r, K, V);
    std::fill(st + K * Vp, st + K * Vp + Kp, T(1));
  }
  for (std::size_t t0 = 0; t0 < steps; t0 += C) {
    const std::size_t n = std::min(C, steps - t0), na = std::min(C + 1, steps - t0);
    gather_rows<Arch, T>(io.r, t0, n, G, K, Kp, C, R);
    gather_rows<Arch, T>(io.w, t0, n, G, K, Kp, C, W);
    gather_rows<Arch, T>(io.k, t0, n, G, K, Kp, C, Kb);
    gather_rows<Arch, T>(io.b, t0, n, G, K, Kp, C, Bb);
    gather_rows<Arch, T>(io.a, t0, na, G, K, Kp, C + 1, A);
    gather_rows<Arch, T>(io.v, t0, n, G, V, Vp, C, Vb);
    for (std::size_t g = 0; g < G; ++g) {
      T* st = states + g * per_head;
      T* sa = st + K * Vp + Kp;
      sc.c.E = st + K * Vp;
      const T* Ag = A + g * (C + 1) * Kp;
      if (t0 == 0) {  // sa_0 = a_0ᵀ S0 (E = 1)
        std::fill(sa, sa + Vp, T(0));
        for (std::size_t i = 0; i < K; ++i) {
          const batch ai(Ag[i]);
          for (std::size_t j = 0; j < Vp; j += L)
            xsimd::fma(ai, batch::load_aligned(st + i * Vp + j), batch::load_aligned(sa + j)).store_aligned(sa + j);
        }
      }
      for (std::size_t t = 0; t < n; ++t) {
        const std::size_t row = g * C + t;
        if (t0 + C + t < steps) {  // the same row of the next chunk
          prefetch_row(io.r.at(t0 + C + t, g), K);
          prefetch_row(io.w.at(t0 + C + t, g), K);
          prefetch_row(io.k.at(t0 + C + t, g), K);
          prefetch_row(io.a.at(t0 + C + t, g), K);
          prefetch_row(io.b.at(t0 + C + t, g), K);
          prefetch_row(io.v.at(t0 + C + t, g), V);
          prefetch_row_for_write(io.o.at(t0 + t, g), V);
        }
        const T* an = t + 1 < na ? Ag + (t + 1) * Kp : nullptr;
        rwkv7_step<Arch, T>(st, sa, sc, R + row * Kp, W + row * Kp, Kb + row * Kp, Bb + row * Kp, an,
                            Vb + row * Vp, Ob + row * Vp, K, Kp, Vp, scale);
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
