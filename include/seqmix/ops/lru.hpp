#pragma once
// The lru op (OPS.md): λ = exp(-exp(nu_log) + i·exp(theta_log)), γ = sqrt(1 - |λ|²),
// h_t = λ ⊙ h_{t-1} + γ ⊙ x_t (complex), o[B,T,D,2] = (Re h_t, Im h_t).
// Forms: recurrent, chunked (two-pass over time; a chunk's map is λ^len, in closed form),
// parallel (complex associative scan).
#include <cmath>
#include <numbers>

#include "seqmix/core/check.hpp"
#include "seqmix/core/options.hpp"
#include "seqmix/kernels/scan/sources.hpp"
#include "seqmix/ops/args/lru.hpp"
#include "seqmix/ops/detail/scan_ops.hpp"
#include "seqmix/reference/lru.hpp"

namespace seqmix {

template <class T>
detail::sequences validate(const lru_args<T>& a) {
  constexpr const char* op = "lru";
  detail::check_shape(op, "x_re", a.x_re, {-1, -1, -1});
  detail::check_same_shape(op, "x_im", a.x_im, "x_re", a.x_re);
  const index_t B = a.x_re.extent(0), L = a.x_re.extent(1), D = a.x_re.extent(2);
  detail::check_shape(op, "nu_log", a.nu_log, {D});
  detail::check_shape(op, "theta_log", a.theta_log, {D});
  detail::check_shape(op, "o", a.o, {B, L, D, 2});
  if (a.o.size() > 0 && a.o.stride(2) != 2) throw_shape_error(op, "o", "must be contiguous in its last two dimensions");
  detail::sequences seqs(op, B, L, a.cu_seqlens);
  detail::check_optional_shape(op, "initial_state", a.initial_state, {seqs.count(), D, 2});
  detail::check_optional_shape(op, "final_state", a.final_state, {seqs.count(), D, 2});
  if (!a.initial_state.empty() && a.initial_state.size() > 0 && a.initial_state.stride(1) != 2)
    throw_shape_error(op, "initial_state", "must be contiguous in its last two dimensions");
  if (!a.final_state.empty() && a.final_state.size() > 0 && a.final_state.stride(1) != 2)
    throw_shape_error(op, "final_state", "must be contiguous in its last two dimensions");
  return seqs;
}

template <class T, class Arch = xsimd::default_arch>
void lru(const lru_args<T>& a, const run_options& opt = {}) {
  namespace ks = kernels::scan;
  const auto seqs = validate(a);
  const index_t D = a.x_re.extent(2), nseq = seqs.count(), steps = a.x_re.extent(1);
  const int threads = resolve_threads(opt);
  const form f = detail::scan_form("lru", opt, nseq, D, steps);
  // λ (re, im) and γ per channel [c0, c1), in double, into coef[0..3D) (absolute channel index)
  const auto make_coef = [&](T* coef, index_t c0, index_t c1) {
    for (index_t d = c0; d < c1; ++d) {
      const double r = std::exp(-std::exp(double(a.nu_log(d)))), th = std::exp(double(a.theta_log(d)));
      coef[d] = T(r * std::cos(th));
      coef[D + d] = T(r * std::sin(th));
      coef[2 * D + d] = T(std::sqrt(-std::expm1(-2.0 * std::exp(double(a.nu_log(d))))));
    }
  };
  const auto make_src = [&](const detail::sequence_span& q, const T* coef) {
    return ks::lru_source<T>{a.x_re.ptr(q.batch, q.begin), a.x_re.stride(1), a.x_im.ptr(q.batch, q.begin),
                             a.x_im.stride(1), coef, coef + D, coef + 2 * D};
  };
  const std::ptrdiff_t ldo = a.o.stride(1);
  // state split as (re[D], im[D])
  const auto load_state = [&](T* h, index_t s, index_t c0, index_t c1) {
    for (index_t c = c0; c < c1; ++c) {
      h[c] = a.initial_state.empty() ? T(0) : a.initial_state(s, c, 0);
      h[D + c] = a.initial_state.empty() ? T(0) : a.initial_state(s, c, 1);
    }
  };
  const auto save_state = [&](const T* h, index_t s, index_t c0, index_t c1) {
    if (a.final_state.empty()) return;
    for (index_t c = c0; c < c1; ++c) {
      a.final_state(s, c, 0) = h[c];
      a.final_state(s, c, 1) = h[D + c];
    }
  };
  if (f == form::chunked) {
    const index_t chunk = opt.chunk > 0 ? opt.chunk : detail::scan_default_chunk(D * 4 * index_t(sizeof(T)));
    for (index_t s = 0; s < nseq; ++s) {
      const auto q = seqs[s];
      struct task_t {
        ks::lru_source<T> src;
        T* out;
        std::ptrdiff_t ldo;
        index_t D;
        const_view<T, 1> nu, theta;
        std::size_t state_size() const { return 2 * D; }
        std::size_t summary_size() const { return 4 * D; }
        void scan(index_t b, index_t n, T* h) const {
          ks::complex_recurrent<Arch>(src.shifted(b), out + b * ldo, ldo, h, h + D, n, 0, D);
        }
        void summarize(index_t b, index_t n, T* m) const {
          std::fill(m, m + 2 * D, T(0));
          ks::complex_recurrent<Arch>(src.shifted(b), static_cast<T*>(nullptr), 0, m, m + D, n, 0, D);
          for (index_t d = 0; d < D; ++d) {  // λ^n in closed form, phase reduced in double
            const double mag = std::exp(-double(n) * std::exp(double(nu(d))));
            const double ph = std::fmod(double(n) * std::exp(double(theta(d))), 2 * std::numbers::pi);
            m[2 * D + d] = T(mag * std::cos(ph));
            m[3 * D + d] = T(mag * std::sin(ph));
          }
        }
        void apply(index_t, index_t, const T* m, T* h) const {
          for (index_t d = 0; d < D; ++d) {
            const T ar = m[2 * D + d], ai = m[3 * D + d], hr = h[d], hi = h[D + d];
            h[d] = ar * hr - ai * hi + m[d];
            h[D + d] = ar * hi + ai * hr + m[D + d];
          }
        }
      };
      // workspace slot 2 of this thread: state (2D) then λ, γ (3D)
      T* h = thread_workspace(2).template get<T>(5 * D);
      make_coef(h + 2 * D, 0, D);
      const task_t task{make_src(q, h + 2 * D), a.o.ptr(q.batch, q.begin), ldo, D, a.nu_log, a.theta_log};
      load_state(h, q.state, 0, D);
      ks::two_pass(task, q.length, chunk, threads, h);
      save_state(h, q.state, 0, D);
    }
    return;
  }
  const index_t tw = detail::scan_tile_width(nseq, D, threads);
  const index_t tiles = (D + tw - 1) / tw;
  parallel_for(nseq * tiles, threads, [&](index_t item) {
    const auto q = seqs[item / tiles];
    const index_t c0 = (item % tiles) * tw, c1 = std::min(D, c0 + tw);
    if (c0 >= c1) return;
    T* h = thread_workspace(2).template get<T>(5 * D);  // state (2D), λ and γ (3D)
    make_coef(h + 2 * D, c0, c1);
    load_state(h, q.state, c0, c1);
    T* out = a.o.ptr(q.batch, q.begin);
    if (f == form::recurrent) {
      ks::complex_recurrent<Arch>(make_src(q, h + 2 * D), out, ldo, h, h + D, q.length, c0, c1);
    } else {
      T* w = thread_workspace(3).template get<T>(ks::complex_associative_workspace<Arch, T>());
      ks::complex_associative<Arch>(make_src(q, h + 2 * D), out, ldo, h, h + D, q.length, c0, c1, w);
    }
    save_state(h, q.state, c0, c1);
  });
}

}  // namespace seqmix
