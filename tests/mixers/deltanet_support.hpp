#pragma once
// Shared by the deltanet and gated_deltanet mixer tests: forward over random splits, a loop
// of step, and a plain token-by-token re-implementation of the fla layer in double (its own
// loops for projections, conv, norms and the recurrence; no seqmix op involved).
#include <cmath>
#include <random>
#include <vector>

#include "support/testing.hpp"
#include "seqmix/mixers/parameters.hpp"

namespace delta_mixer_test {
using namespace seqmix;
using namespace seqmix::testing;

template <class M>
struct run_out {
  tensor<typename M::value_type> y;
  typename M::state_type state;
};

template <class M>
run_out<M> forward_pieces(const M& m, const tensor<typename M::value_type>& x, unsigned seed) {
  using T = typename M::value_type;
  const index_t L = x.extent(0), d = x.extent(1);
  run_out<M> r{tensor<T>(x.shape()), m.make_state()};
  std::mt19937 gen(seed);
  std::uniform_int_distribution<index_t> len(0, std::max<index_t>(1, L / 3));
  for (index_t t = 0; t < L;) {
    const index_t n = seed == 0 ? L : std::min(L - t, len(gen));
    m.forward(seq_cref<T>(x.data() + t * d, {n, d}), seq_ref<T>(r.y.data() + t * d, {n, d}), r.state);
    t += n;
  }
  return r;
}

template <class M>
run_out<M> forward_steps(const M& m, const tensor<typename M::value_type>& x) {
  using T = typename M::value_type;
  const index_t L = x.extent(0), d = x.extent(1);
  run_out<M> r{tensor<T>(x.shape()), m.make_state()};
  for (index_t t = 0; t < L; ++t)
    m.step(std::span<const T>(x.data() + t * d, d), std::span<T>(r.y.data() + t * d, d), r.state);
  return r;
}

template <class M>
void check_consistency(const M& m, index_t L, double tol) {
  using T = typename M::value_type;
  const auto x = cast<T>(normal_tensor<double>({L, index_t(m.d_model())}));
  const auto whole = forward_pieces(m, x, 0);
  REQUIRE(all_finite(whole.y));
  for (unsigned seed : {1u, 2u, 3u}) {
    CAPTURE(seed);
    const auto split = forward_pieces(m, x, seed);
    CHECK(max_rel_error(split.y, whole.y) <= tol);
    CHECK(max_rel_error(split.state.S, whole.state.S) <= tol);
    CHECK(max_rel_error(split.state.v_conv, whole.state.v_conv) <= tol);
  }
  const auto steps = forward_steps(m, x);
  CHECK(max_rel_error(steps.y, whole.y) <= tol);
  CHECK(max_rel_error(steps.state.S, whole.state.S) <= tol);
}

template <class A, class B>
void copy_params(const A& from, B& to) {
  for (const auto& [name, t] : from.params()) to.params().assign(name, cast<typename B::value_type>(t));
}

inline std::vector<double> matvec(const tensor<double>& W, const double* x) {
  const index_t r = W.extent(0), c = W.size() / W.extent(0);
  std::vector<double> y(r, 0.0);
  for (index_t i = 0; i < r; ++i)
    for (index_t j = 0; j < c; ++j) y[i] += W[i * c + j] * x[j];
  return y;
}
inline double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }
inline double silu(double x) { return x * sigmoid(x); }
inline double softplus(double x) { return x > 20 ? x : std::log1p(std::exp(x)); }

// The layer, token by token, from its parameters: H heads of Kh / Vh, conv width W.
inline tensor<double> plain_layer(const parameters<double>& p, const tensor<double>& x, index_t H, index_t Kh,
                                  index_t Vh, index_t W, bool gated, bool use_gate, double eps) {
  const index_t L = x.extent(0), D = x.extent(1), Vd = H * Vh;
  std::vector<std::vector<double>> hq, hk, hv;  // conv inputs history
  std::vector<double> S(static_cast<std::size_t>(H * Kh * Vh), 0.0);
  tensor<double> y({L, D});
  auto conv = [&](std::vector<std::vector<double>>& hist, const std::vector<double>& in, const tensor<double>& w) {
    hist.push_back(in);
    const index_t C = index_t(in.size());
    std::vector<double> out(C);
    for (index_t c = 0; c < C; ++c) {
      double acc = 0;
      for (index_t i = 0; i < W; ++i) {
        const index_t back = W - 1 - i;  // tap W-1 = current input
        if (index_t(hist.size()) > back) acc += w[c * W + i] * hist[hist.size() - 1 - back][c];
      }
      out[c] = silu(acc);
    }
    return out;
  };
  for (index_t t = 0; t < L; ++t) {
    const double* xt = x.data() + t * D;
    auto q = conv(hq, matvec(p["q_proj.weight"], xt), p["q_conv1d.weight"]);
    auto k = conv(hk, matvec(p["k_proj.weight"], xt), p["k_conv1d.weight"]);
    auto v = conv(hv, matvec(p["v_proj.weight"], xt), p["v_conv1d.weight"]);
    const auto b = matvec(p["b_proj.weight"], xt);
    std::vector<double> a = gated ? matvec(p["a_proj.weight"], xt) : std::vector<double>(H, 0.0);
    std::vector<double> gate = use_gate ? matvec(p["g_proj.weight"], xt) : std::vector<double>();
    std::vector<double> o(Vd);
    for (index_t h = 0; h < H; ++h) {
      double nq = 0, nk = 0;
      for (index_t i = 0; i < Kh; ++i) {
        nq += q[h * Kh + i] * q[h * Kh + i];
        nk += k[h * Kh + i] * k[h * Kh + i];
      }
      std::vector<double> qh(Kh), kh(Kh);
      for (index_t i = 0; i < Kh; ++i) {
        qh[i] = q[h * Kh + i] / std::sqrt(nq + 1e-6) / std::sqrt(double(Kh));
        kh[i] = k[h * Kh + i] / std::sqrt(nk + 1e-6);
      }
      const double beta = sigmoid(b[h]);
      const double decay = gated ? std::exp(-std::exp(p["A_log"][h]) * softplus(a[h] + p["dt_bias"][h])) : 1.0;
      double* Sh = S.data() + h * Kh * Vh;
      for (index_t j = 0; j < Vh; ++j) {
        double kS = 0;
        for (index_t i = 0; i < Kh; ++i) kS += kh[i] * Sh[i * Vh + j];
        for (index_t i = 0; i < Kh; ++i)
          Sh[i * Vh + j] = decay * (Sh[i * Vh + j] - beta * kh[i] * kS) + beta * kh[i] * v[h * Vh + j];
      }
      double ms = 0;
      for (index_t j = 0; j < Vh; ++j) {
        double acc = 0;
        for (index_t i = 0; i < Kh; ++i) acc += qh[i] * Sh[i * Vh + j];
        o[h * Vh + j] = acc;
        ms += acc * acc;
      }
      const double r = 1.0 / std::sqrt(ms / double(Vh) + eps);
      for (index_t j = 0; j < Vh; ++j)
        o[h * Vh + j] *= r * p["o_norm.weight"][j] * (use_gate ? silu(gate[h * Vh + j]) : 1.0);
    }
    const auto yt = matvec(p["o_proj.weight"], o.data());
    std::copy(yt.begin(), yt.end(), y.data() + t * D);
  }
  return y;
}

// Mixer<double> with config c (o_norm.weight moved off its init of ones) against plain_layer on
// L random tokens (1e-11), and Mixer<float> with the same parameters against it (1e-4).
template <template <class> class Mixer, class Config>
void check_equals_plain_layer(const Config& c, index_t L, index_t H, index_t Kh, index_t Vh, bool gated) {
  Mixer<double> m(c);
  auto& w = m.params()["o_norm.weight"];
  for (index_t j = 0; j < w.size(); ++j) w[j] = 0.5 + 0.01 * double(j);
  const auto x = normal_tensor<double>({L, index_t(c.d_model)});
  const auto got = forward_pieces(m, x, 0);
  const auto want = plain_layer(m.params(), x, H, Kh, Vh, index_t(c.conv_size), gated, c.use_gate, c.norm_eps);
  CHECK(max_rel_error(got.y, want) < 1e-11);
  Mixer<float> mf(c);
  copy_params(m, mf);
  const auto yf = forward_pieces(mf, cast<float>(x), 0);
  CHECK(max_rel_error(yf.y, want) < 1e-4);
}

}  // namespace delta_mixer_test
