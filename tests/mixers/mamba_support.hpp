// Shared checks of the Mamba mixers: forward over random splits == one forward == a loop of
// step == prefill in pieces then decode; plain double-precision helpers.
#pragma once
#include <random>
#include <vector>

#include "support/testing.hpp"

namespace mamba_test {
using namespace seqmix;
using namespace seqmix::testing;

template <class T>
struct outputs {
  tensor<T> y, conv, ssm;
};

template <class M, class S>
outputs<typename M::value_type> collect(tensor<typename M::value_type> y, const S& s) {
  return {std::move(y), s.conv, s.ssm};
}

template <class M>
outputs<typename M::value_type> forward_whole(const M& m, const tensor<typename M::value_type>& x) {
  using T = typename M::value_type;
  auto s = m.make_state();
  tensor<T> y(x.shape());
  m.forward(x.template cview<2>(), y.template view<2>(), s);
  return collect<M>(std::move(y), s);
}

// Pieces of random lengths (including empty and length-1 pieces); the last `decode` tokens
// through step.
template <class M>
outputs<typename M::value_type> forward_pieces(const M& m, const tensor<typename M::value_type>& x, unsigned seed,
                                               index_t decode = 0) {
  using T = typename M::value_type;
  const index_t L = x.extent(0), d = x.extent(1);
  auto s = m.make_state();
  tensor<T> y(x.shape());
  std::mt19937 gen(seed);
  std::uniform_int_distribution<index_t> len(0, std::max<index_t>(1, L / 3));
  index_t t = 0;
  while (t < L - decode) {
    const index_t n = std::min(L - decode - t, len(gen));
    m.forward(seq_cref<T>(x.data() + t * d, {n, d}), seq_ref<T>(y.data() + t * d, {n, d}), s);
    t += n;
  }
  for (; t < L; ++t) m.step(std::span<const T>(x.data() + t * d, d), std::span<T>(y.data() + t * d, d), s);
  return collect<M>(std::move(y), s);
}

template <class M>
void check_consistency(const M& m, index_t L, double tol) {
  using T = typename M::value_type;
  const auto x = cast<T>(normal_tensor<double>({L, index_t(m.d_model())}));
  const auto whole = forward_whole(m, x);
  REQUIRE(all_finite(whole.y));
  auto same = [&](const outputs<T>& o) {
    CHECK(max_rel_error(o.y, whole.y) <= tol);
    CHECK(max_rel_error(o.conv, whole.conv) <= tol);
    CHECK(max_rel_error(o.ssm, whole.ssm) <= tol);
  };
  for (unsigned seed : {1u, 2u, 3u}) {
    CAPTURE(seed);
    same(forward_pieces(m, x, seed));                 // splits carrying the state
    same(forward_pieces(m, x, seed, L / 4));          // prefill in pieces, then decode
  }
  INFO("a loop of step");
  same(forward_pieces(m, x, 0, L));
}

template <class A, class B>
void copy_params(const A& from, B& to) {
  for (const auto& [name, t] : from.params()) to.params().assign(name, cast<typename B::value_type>(t));
}

inline double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }
inline double silu(double x) { return x * sigmoid(x); }
inline double softplus(double x) { return x > 30 ? x : std::log1p(std::exp(x)); }

// W x for a [rows, cols] parameter (trailing dims flattened), rows [r0, r0+n)
inline std::vector<double> matvec(const tensor<double>& W, const double* x, index_t r0 = 0, index_t n = -1) {
  const index_t r = W.extent(0), c = W.size() / r;
  if (n < 0) n = r - r0;
  std::vector<double> y(n, 0.0);
  for (index_t i = 0; i < n; ++i)
    for (index_t j = 0; j < c; ++j) y[i] += W[(r0 + i) * c + j] * x[j];
  return y;
}

}  // namespace mamba_test
