// Shared checks of the scan-family mixers: forward over random splits == one forward ==
// a loop of step, and helpers for plain re-implementations.
#pragma once
#include <vector>

#include "support/testing.hpp"

namespace mixer_test {
using namespace seqmix;
using namespace seqmix::testing;

template <class T>
struct outputs {
  tensor<T> y, state;
};

template <class M>
outputs<typename M::value_type> forward_whole(const M& m, const tensor<typename M::value_type>& x) {
  using T = typename M::value_type;
  auto s = m.make_state();
  tensor<T> y(x.shape());
  m.forward(x.template cview<2>(), y.template view<2>(), s);
  return {std::move(y), s.h};
}

// Pieces of random lengths (including length-1 and empty pieces).
template <class M>
outputs<typename M::value_type> forward_split(const M& m, const tensor<typename M::value_type>& x, unsigned seed) {
  using T = typename M::value_type;
  const index_t L = x.extent(0), d = x.extent(1);
  auto s = m.make_state();
  tensor<T> y(x.shape());
  std::mt19937 gen(seed);
  std::uniform_int_distribution<index_t> len(0, std::max<index_t>(1, L / 3));
  for (index_t t = 0; t < L;) {
    const index_t n = std::min(L - t, len(gen));
    m.forward(seq_cref<T>(x.data() + t * d, {n, d}), seq_ref<T>(y.data() + t * d, {n, d}), s);
    t += n;
  }
  return {std::move(y), s.h};
}

template <class M>
outputs<typename M::value_type> forward_steps(const M& m, const tensor<typename M::value_type>& x) {
  using T = typename M::value_type;
  const index_t L = x.extent(0), d = x.extent(1);
  auto s = m.make_state();
  tensor<T> y(x.shape());
  for (index_t t = 0; t < L; ++t)
    m.step(std::span<const T>(x.data() + t * d, d), std::span<T>(y.data() + t * d, d), s);
  return {std::move(y), s.h};
}

template <class M>
void check_consistency(const M& m, index_t L, double tol) {
  using T = typename M::value_type;
  const auto x = cast<T>(normal_tensor<double>({L, index_t(m.d_model())}));
  const auto whole = forward_whole(m, x);
  CHECK(all_finite(whole.y));
  for (unsigned seed : {1u, 2u, 3u}) {
    CAPTURE(seed);
    const auto split = forward_split(m, x, seed);
    CHECK(max_rel_error(split.y, whole.y) <= tol);
    CHECK(max_rel_error(split.state, whole.state) <= tol);
  }
  const auto steps = forward_steps(m, x);
  CHECK(max_rel_error(steps.y, whole.y) <= tol);
  CHECK(max_rel_error(steps.state, whole.state) <= tol);
}

// Copies every parameter of `from` (double) into `to` (any precision).
template <class A, class B>
void copy_params(const A& from, B& to) {
  for (const auto& [name, t] : from.params()) to.params().assign(name, cast<typename B::value_type>(t));
}

inline double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }
inline double g_hat(double x) { return x >= 0 ? x + 0.5 : sigmoid(x); }

// y[t] = W x[t] for a [rows, cols] parameter
inline std::vector<double> matvec(const tensor<double>& W, const double* x) {
  const index_t r = W.extent(0), c = W.extent(1);
  std::vector<double> y(r, 0.0);
  for (index_t i = 0; i < r; ++i)
    for (index_t j = 0; j < c; ++j) y[i] += W[i * c + j] * x[j];
  return y;
}

}  // namespace mixer_test
