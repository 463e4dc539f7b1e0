// Shared checks of the chunk-engine mixers (linear_attention, retnet, gla): forward over
// random splits == one forward == a loop of step, and a plain token-by-token
// re-implementation of the fla layers in double.
#pragma once
#include <cmath>
#include <random>
#include <vector>

#include "support/testing.hpp"
#include "seqmix/mixers/detail/chunk_layer.hpp"

namespace chunk_mixer_test {
using namespace seqmix;
using namespace seqmix::testing;

template <class T>
struct outputs {
  tensor<T> y, S;
};

template <class M>
outputs<typename M::value_type> run_pieces(const M& m, const tensor<typename M::value_type>& x, unsigned seed,
                                           bool steps = false, int threads = 0) {
  using T = typename M::value_type;
  const index_t L = x.extent(0), d = x.extent(1);
  auto s = m.make_state();
  tensor<T> y(x.shape());
  std::mt19937 gen(seed);
  std::uniform_int_distribution<index_t> len(0, std::max<index_t>(1, L / 3));
  for (index_t t = 0; t < L;) {
    if (steps) {
      m.step(std::span<const T>(x.data() + t * d, d), std::span<T>(y.data() + t * d, d), s);
      ++t;
      continue;
    }
    const index_t n = seed == 0 ? L : std::min(L - t, len(gen));
    m.forward(seq_cref<T>(x.data() + t * d, {n, d}), seq_ref<T>(y.data() + t * d, {n, d}), s,
              run_options{form::auto_, 0, threads});
    t += n;
  }
  return {std::move(y), s.S};
}

template <class M>
void check_consistency(const M& m, index_t L, double tol) {
  using T = typename M::value_type;
  const auto x = cast<T>(normal_tensor<double>({L, index_t(m.d_model())}));
  const auto whole = run_pieces(m, x, 0);
  CHECK(all_finite(whole.y));
  for (unsigned seed : {1u, 2u, 3u}) {
    CAPTURE(seed);
    const auto split = run_pieces(m, x, seed);
    CHECK(max_rel_error(split.y, whole.y) <= tol);
    CHECK(max_rel_error(split.S, whole.S) <= tol);
  }
  const auto steps = run_pieces(m, x, 0, true);
  CHECK(max_rel_error(steps.y, whole.y) <= tol);
  CHECK(max_rel_error(steps.S, whole.S) <= tol);
  const auto two = run_pieces(m, x, 0, false, 2);
  CHECK(bitwise_equal(two.y, whole.y));
}

template <class A, class B>
void copy_params(const A& from, B& to) {
  for (const auto& [name, t] : from.params()) to.params().assign(name, cast<typename B::value_type>(t));
}

inline std::vector<double> matvec(const tensor<double>& W, const double* x) {
  const index_t r = W.extent(0), c = W.extent(1);
  std::vector<double> y(r, 0.0);
  for (index_t i = 0; i < r; ++i)
    for (index_t j = 0; j < c; ++j) y[i] += W[i * c + j] * x[j];
  return y;
}

// The fla layer, token by token, from its state_dict. Returns y [L, d].
inline tensor<double> plain_layer(const mixers::chunk_detail::chunk_layer_dims& d, const parameters<double>& p,
                                  const tensor<double>& x) {
  using mixers::chunk_detail::chunk_layer_kind;
  const index_t L = x.extent(0), D = d.d_model, H = d.heads, Kh = d.head_k, Vh = d.head_v;
  const bool gated = d.kind != chunk_layer_kind::linear_attention && d.output_gate;
  const std::string norm = d.kind == chunk_layer_kind::linear_attention ? "norm.weight"
                           : gated                                       ? "g_norm_swish_gate.weight"
                                                                         : "g_norm.weight";
  std::vector<double> S(H * Kh * Vh, 0.0), z(H * Kh, 0.0);
  tensor<double> y({L, D});
  const double scale = 1.0 / std::sqrt(double(Kh));
  auto phi = [&](double v) {
    switch (d.map) {
      case feature_map::identity: return v;
      case feature_map::elu1: return v > 0 ? v + 1 : std::exp(v);
      case feature_map::relu: return v > 0 ? v : 0.0;
    }
    return v;
  };
  for (index_t t = 0; t < L; ++t) {
    const double* xt = x.data() + t * D;
    auto q = matvec(p["q_proj.weight"], xt), k = matvec(p["k_proj.weight"], xt), v = matvec(p["v_proj.weight"], xt);
    std::vector<double> g(H * Kh, 0.0);
    if (d.kind == chunk_layer_kind::gla) {
      const auto r = matvec(p["gk_proj.0.weight"], xt);
      const auto gg = matvec(p["gk_proj.1.weight"], r.data());
      for (index_t c = 0; c < H * Kh; ++c) {
        const double a = gg[c] + p["gk_proj.1.bias"][c];
        g[c] = -std::log1p(std::exp(-a)) / d.gate_normalizer;
      }
    }
    if (d.kind == chunk_layer_kind::retnet)
      for (index_t h = 0; h < H; ++h)
        for (index_t i = 0; i < Kh / 2; ++i) {
          const double ang = double(t) * std::pow(10000.0, -2.0 * double(i) / double(Kh));
          for (auto* vec : {&q, &k}) {
            const double a = (*vec)[h * Kh + i], b = (*vec)[h * Kh + i + Kh / 2];
            (*vec)[h * Kh + i] = a * std::cos(ang) - b * std::sin(ang);
            (*vec)[h * Kh + i + Kh / 2] = b * std::cos(ang) + a * std::sin(ang);
          }
        }
    if (d.kind == chunk_layer_kind::linear_attention)
      for (index_t c = 0; c < H * Kh; ++c) {
        q[c] = phi(q[c]);
        k[c] = phi(k[c]);
      }
    std::vector<double> o(H * Vh, 0.0);
    for (index_t h = 0; h < H; ++h) {
      const double ret = std::log1p(-std::pow(2.0, -5.0 - double(h)));
      double den = 0;
      for (index_t i = 0; i < Kh; ++i) {
        double a = 0;
        if (d.kind == chunk_layer_kind::retnet) a = ret;
        if (d.kind == chunk_layer_kind::gla) a = g[h * Kh + i];
        z[h * Kh + i] += k[h * Kh + i];
        den += scale * q[h * Kh + i] * z[h * Kh + i];
        for (index_t j = 0; j < Vh; ++j) {
          double& s = S[(h * Kh + i) * Vh + j];
          s = std::exp(a) * s + k[h * Kh + i] * v[h * Vh + j];
          o[h * Vh + j] += scale * q[h * Kh + i] * s;
        }
      }
      if (d.normalize)
        for (index_t j = 0; j < Vh; ++j) o[h * Vh + j] /= den + 1e-10;
      double ms = 0;
      for (index_t j = 0; j < Vh; ++j) ms += o[h * Vh + j] * o[h * Vh + j];
      const double r = 1.0 / std::sqrt(ms / double(Vh) + d.eps);
      for (index_t j = 0; j < Vh; ++j) o[h * Vh + j] *= r * p[norm][j];
    }
    if (gated) {
      const auto gate = matvec(p["g_proj.weight"], xt);
      for (index_t c = 0; c < H * Vh; ++c) o[c] *= gate[c] / (1.0 + std::exp(-gate[c]));
    }
    const auto yt = matvec(p["o_proj.weight"], o.data());
    std::copy(yt.begin(), yt.end(), y.data() + t * D);
  }
  return y;
}

// Non-trivial norm weights and biases so the plain comparison sees them.
template <class M>
void perturb(M& m) {
  for (auto& [name, t] : m.params())
    if (name.find("norm") != std::string::npos || name.find("bias") != std::string::npos)
      for (index_t i = 0; i < t.size(); ++i) t[i] = 0.5 + 0.03 * double(i % 7);
}

template <class M, class MF, class Cfg>
void check_against_plain(const Cfg& c, index_t L) {
  M m(c);
  perturb(m);
  const auto x = normal_tensor<double>({L, index_t(c.d_model)});
  const auto got = run_pieces(m, x, 5);
  const auto want = plain_layer(m.dims(), m.params(), x);
  CHECK(max_rel_error(got.y, want) < 1e-11);
  MF mf(c);
  copy_params(m, mf);
  const auto yf = run_pieces(mf, cast<float>(x), 0);
  CHECK(max_rel_error(yf.y, want) < 1e-4);
}

}  // namespace chunk_mixer_test
