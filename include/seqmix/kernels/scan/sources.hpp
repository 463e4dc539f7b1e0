#pragma once
// Coefficient sources of the scan ops: each turns an op's inputs at (step t, channels c..)
// into the scan's a_t, b_t (real), λ_t, b_t (complex) or log a_t, log b_t (log space),
// computed in registers from the raw inputs, so a scan reads each input once.
// Pointers are at the sequence start; each input has its own row stride (elements).
#include "seqmix/kernels/scan/common.hpp"

namespace seqmix::kernels::scan {

// linear_scan: a = e^g, b = x.
template <class T>
struct linear_scan_source {
  const T* x;
  std::ptrdiff_t lx;
  const T* g;
  std::ptrdiff_t lg;
  linear_scan_source shifted(index_t t0) const noexcept { return {x + t0 * lx, lx, g + t0 * lg, lg}; }
  template <class V>
  SEQMIX_INLINE void coeffs(index_t t, std::size_t c, V& a, V& b) const noexcept {
    a = simd::exp(load_v<V>(g + t * lg + c));
    b = load_v<V>(x + t * lx + c);
  }
  template <class V>
  SEQMIX_INLINE V log_decay(index_t t, std::size_t c, const V&) const noexcept { return load_v<V>(g + t * lg + c); }
};

// min_gru: z = σ(z_raw), a = 1 - z = σ(-z_raw), b = z ĝ(h_raw). One exp for both gates.
template <class T>
struct min_gru_source {
  const T* z_raw;
  std::ptrdiff_t lz;
  const T* h_raw;
  std::ptrdiff_t lh;
  min_gru_source shifted(index_t t0) const noexcept { return {z_raw + t0 * lz, lz, h_raw + t0 * lh, lh}; }
  template <class V>
  SEQMIX_INLINE void coeffs(index_t t, std::size_t c, V& a, V& b) const noexcept {
    const V zr = load_v<V>(z_raw + t * lz + c);
    const V e = simd::exp(-simd::abs(zr));
    const V r = V(1) / (V(1) + e), p = e * r;  // σ(|z|), σ(-|z|)
    const auto pos = zr >= V(0);
    a = sel(pos, p, r);
    b = sel(pos, r, p) * min_rnn_g(load_v<V>(h_raw + t * lh + c));
  }
  template <class V>
  SEQMIX_INLINE void log_coeffs(index_t t, std::size_t c, V& la, V& lb) const noexcept {
    const V zr = load_v<V>(z_raw + t * lz + c);
    la = -simd::softplus(zr);
    lb = -simd::softplus(-zr) + log_min_rnn_g(load_v<V>(h_raw + t * lh + c));
  }
};

// min_lstm: with u = -f_raw, v = -i_raw, f = 1/(1+e^u), i = 1/(1+e^v):
// a = f/(f+i) = q/(p+q), b = i/(f+i) ĝ(h_raw) = p/(p+q) ĝ, p = 1+e^u, q = 1+e^v, both scaled
// by e^{-m}, m = max(u, v, 0), so every exponent is <= 0: finite when both gates underflow
// (f_raw, i_raw << 0), three exps and one division.
template <class T>
struct min_lstm_source {
  const T* f_raw;
  std::ptrdiff_t sf;
  const T* i_raw;
  std::ptrdiff_t si;
  const T* h_raw;
  std::ptrdiff_t sh;
  min_lstm_source shifted(index_t t0) const noexcept {
    return {f_raw + t0 * sf, sf, i_raw + t0 * si, si, h_raw + t0 * sh, sh};
  }
  template <class V>
  SEQMIX_INLINE void coeffs(index_t t, std::size_t c, V& a, V& b) const noexcept {
    const V u = -load_v<V>(f_raw + t * sf + c), v = -load_v<V>(i_raw + t * si + c);
    const V m = simd::max(simd::max(u, v), V(0));
    const V e0 = simd::exp(-m);
    const V p = e0 + simd::exp(u - m), q = e0 + simd::exp(v - m);
    const V r = V(1) / (p + q);
    a = q * r;
    b = p * r * min_rnn_g(load_v<V>(h_raw + t * sh + c));
  }
  template <class V>
  SEQMIX_INLINE void log_coeffs(index_t t, std::size_t c, V& la, V& lb) const noexcept {
    const V lf = simd::log_sigmoid(load_v<V>(f_raw + t * sf + c));
    const V li = simd::log_sigmoid(load_v<V>(i_raw + t * si + c));
    const V norm = simd::logaddexp(lf, li);
    la = lf - norm;
    lb = li - norm + log_min_rnn_g(load_v<V>(h_raw + t * sh + c));
  }
};

// lru: λ constant per channel (lam_re/lam_im/gamma precomputed, [D]), b = γ x.
template <class T>
struct lru_source {
  const T* x_re;
  std::ptrdiff_t lr;
  const T* x_im;
  std::ptrdiff_t li;
  const T* lam_re;
  const T* lam_im;
  const T* gamma;
  lru_source shifted(index_t t0) const noexcept {
    return {x_re + t0 * lr, lr, x_im + t0 * li, li, lam_re, lam_im, gamma};
  }
  template <class V>
  SEQMIX_INLINE void coeffs(index_t t, std::size_t c, V& ar, V& ai, V& br, V& bi) const noexcept {
    ar = load_v<V>(lam_re + c);
    ai = load_v<V>(lam_im + c);
    const V gm = load_v<V>(gamma + c);
    br = gm * load_v<V>(x_re + t * lr + c);
    bi = gm * load_v<V>(x_im + t * li + c);
  }
};

}  // namespace seqmix::kernels::scan
