#pragma once
// Shared by the delta_rule and gated_delta_rule tests: random inputs, one call of the op
// (any precision, any form) or of the double reference, and the slicing helpers used by
// the split/varlen checks.
#include <cmath>
#include <utility>
#include <vector>

#include "support/testing.hpp"
#include "seqmix/ops/delta_rule.hpp"
#include "seqmix/ops/gated_delta_rule.hpp"
#include "seqmix/reference/delta_rule.hpp"
#include "seqmix/reference/gated_delta_rule.hpp"

namespace seqmix::testing {

struct delta_case {
  tensor<double> q, k, v, beta, g, h0;  // g empty for delta_rule, h0 may be empty
  std::vector<std::int64_t> cu;
  std::optional<double> scale;
};

struct delta_shape {
  index_t B = 2, T = 33, H = 3, K = 12, V = 20;
};

// Keys: normalised (normal_keys = false) or raw N(0,1) with a small β so that β|k|² < 2.
inline delta_case make_delta_case(const delta_shape& s, bool gated, bool normalised_keys = true,
                                  bool with_state = true) {
  delta_case c;
  c.q = normal_tensor<double>({s.B, s.T, s.H, s.K});
  c.k = normal_tensor<double>({s.B, s.T, s.H, s.K});
  c.v = normal_tensor<double>({s.B, s.T, s.H, s.V});
  if (normalised_keys) {
    for (index_t r = 0; r < s.B * s.T * s.H; ++r) {
      double n = 0;
      for (index_t i = 0; i < s.K; ++i) n += c.k[r * s.K + i] * c.k[r * s.K + i];
      n = std::sqrt(n) + 1e-12;
      for (index_t i = 0; i < s.K; ++i) c.k[r * s.K + i] /= n;
    }
    c.beta = random_tensor<double>({s.B, s.T, s.H}, 0.0, 1.0);
  } else {
    c.beta = random_tensor<double>({s.B, s.T, s.H}, 0.005, 0.6 / double(s.K));
  }
  if (gated) {
    c.g = random_tensor<double>({s.B, s.T, s.H}, -0.6, 0.0);
    // a few strong forgets (exercise rebasing of decays)
    for (index_t i = 0; i < c.g.size(); i += 17) c.g[i] = -25.0;
  }
  if (with_state) c.h0 = normal_tensor<double>({s.B, s.H, s.K, s.V}, 0.0, 0.5);
  return c;
}

template <class T>
struct delta_result {
  tensor<T> o, state;
};

// One call: the double reference when `reference`, else the op in precision T.
template <class T>
delta_result<T> run_delta(const delta_case& c, const run_options& opt = {}, bool reference = false) {
  const auto q = cast<T>(c.q), k = cast<T>(c.k), v = cast<T>(c.v), beta = cast<T>(c.beta), g = cast<T>(c.g),
             h0 = cast<T>(c.h0);
  const index_t B = c.q.extent(0), L = c.q.extent(1), H = c.q.extent(2), K = c.q.extent(3), V = c.v.extent(3);
  const index_t N = c.cu.empty() ? B : index_t(c.cu.size()) - 1;
  delta_result<T> r{tensor<T>({B, L, H, V}), tensor<T>({N, H, K, V})};
  if (c.g.empty()) {
    delta_rule_args<T> a{q.template view<4>(), k.template view<4>(), v.template view<4>(),
                         beta.template view<3>(), r.o.template view<4>(), h0.template view<4>(),
                         r.state.template view<4>(), c.cu, c.scale};
    if (reference) reference::delta_rule(a);
    else delta_rule(a, opt);
  } else {
    gated_delta_rule_args<T> a{q.template view<4>(), k.template view<4>(), v.template view<4>(),
                               beta.template view<3>(), g.template view<3>(), r.o.template view<4>(),
                               h0.template view<4>(), r.state.template view<4>(), c.cu, c.scale};
    if (reference) reference::gated_delta_rule(a);
    else gated_delta_rule(a, opt);
  }
  return r;
}

// Time steps [t0, t0+n) of a [B,T,...] tensor.
inline tensor<double> time_slice(const tensor<double>& x, index_t t0, index_t n) {
  if (x.empty()) return {};
  auto shape = x.shape();
  const index_t L = shape[1];
  index_t row = 1;
  for (std::size_t d = 2; d < shape.size(); ++d) row *= shape[d];
  shape[1] = n;
  tensor<double> out(shape);
  for (index_t b = 0; b < shape[0]; ++b)
    std::copy_n(x.data() + (b * L + t0) * row, n * row, out.data() + b * n * row);
  return out;
}

inline delta_case slice_case(const delta_case& c, index_t t0, index_t n) {
  delta_case s;
  s.q = time_slice(c.q, t0, n);
  s.k = time_slice(c.k, t0, n);
  s.v = time_slice(c.v, t0, n);
  s.beta = time_slice(c.beta, t0, n);
  s.g = time_slice(c.g, t0, n);
  s.scale = c.scale;
  return s;
}

// Every (form, chunk) configuration the ops offer.
inline std::vector<run_options> delta_configs(int threads = 1) {
  std::vector<run_options> out{{form::recurrent, 0, threads}, {form::auto_, 0, threads}};
  for (int C : {16, 32, 64, 128}) out.push_back({form::chunked, C, threads});
  return out;
}

inline std::string describe(const run_options& o) {
  return std::string(to_string(o.kernel_form)) + (o.chunk ? "<" + std::to_string(o.chunk) + ">" : "") +
         " threads=" + std::to_string(o.threads);
}

inline double frobenius(const tensor<double>& s) {
  double n = 0;
  for (double x : s.values()) n += x * x;
  return std::sqrt(n);
}

}  // namespace seqmix::testing
