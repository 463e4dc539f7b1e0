// The chunk engine's kernel-level options that no chunk op exposes: the RWKV-5/6 readout
// (u bonus, strictly causal: o_t = (S_{t-1} + Diag(u) k_t v_tᵀ)ᵀ (scale·q_t)) with vector
// decay, every form and chunk size, including g = -20 per step; and the two-pass (chunks over
// threads) path against the serial one, bitwise.
#include "support/testing.hpp"
#include "seqmix/kernels/chunk/engine.hpp"

using namespace seqmix;
using namespace seqmix::testing;
namespace ck = seqmix::kernels::chunk;

namespace {
// Plain loops of the bonus readout, in double.
void bonus_reference(index_t L, index_t K, index_t V, const tensor<double>& q, const tensor<double>& k,
                     const tensor<double>& v, const tensor<double>& g, const tensor<double>& u, double scale,
                     std::vector<double>& S, tensor<double>& o) {
  for (index_t t = 0; t < L; ++t) {
    for (index_t j = 0; j < V; ++j) {
      double acc = 0;
      for (index_t i = 0; i < K; ++i)
        acc += scale * q[t * K + i] * (S[i * V + j] + u[i] * k[t * K + i] * v[t * V + j]);
      o[t * V + j] = acc;
    }
    for (index_t i = 0; i < K; ++i)
      for (index_t j = 0; j < V; ++j) S[i * V + j] = std::exp(g[t * K + i]) * S[i * V + j] + k[t * K + i] * v[t * V + j];
  }
}

template <class T>
ck::problem<T> make_problem(index_t L, index_t K, index_t V, const tensor<T>& q, const tensor<T>& k, const tensor<T>& v,
                            const tensor<T>& g, const tensor<T>& u, tensor<T>& o, tensor<T>& S, double scale) {
  ck::problem<T> p;
  p.steps = L;
  p.K = K;
  p.V = V;
  p.q = q.data();
  p.ldq = K;
  p.k = k.data();
  p.ldk = K;
  p.v = v.data();
  p.ldv = V;
  p.g = g.data();
  p.ldg = K;
  p.u = u.empty() ? nullptr : u.data();
  p.o = o.data();
  p.ldo = V;
  p.scale = T(scale);
  p.state = S.data();
  return p;
}
}  // namespace

TEMPLATE_TEST_CASE("chunk engine: u-bonus readout (rwkv6) in every form", "[chunk][engine]", float, double) {
  const index_t K = 32, V = 24;
  for (auto [lo, hi] : {std::pair{-1.0, 0.0}, std::pair{-20.0, -20.0}, std::pair{0.0, 0.0}, std::pair{-20.0, 0.0}})
    for (index_t L : {1, 17, 100}) {
      const auto q = random_tensor<double>({L, K}), k = random_tensor<double>({L, K}), v = random_tensor<double>({L, V});
      const auto g = random_tensor<double>({L, K}, lo, hi), u = random_tensor<double>({K});
      const auto S0 = random_tensor<double>({K, V});
      std::vector<double> Sref(S0.values());
      tensor<double> oref({L, V});
      bonus_reference(L, K, V, q, k, v, g, u, 0.7, Sref, oref);
      for (form f : {form::recurrent, form::chunked, form::parallel})
        for (index_t C : {16, 32, 64}) {
          if (f != form::chunked && C != 16) continue;
          CAPTURE(lo, hi, L, to_string(f), C);
          const auto qt = cast<TestType>(q), kt = cast<TestType>(k), vt = cast<TestType>(v), gt = cast<TestType>(g),
                     ut = cast<TestType>(u);
          tensor<TestType> o({L, V}), S = cast<TestType>(S0);
          ck::run_head<ck::decay_kind::vector>(make_problem(L, K, V, qt, kt, vt, gt, ut, o, S, 0.7), f, C);
          CHECK(all_finite(o));
          CHECK(max_rel_error(o, oref) < tol<TestType> * 20);
          CHECK(max_rel_error(S, tensor<double>({K, V}, Sref)) < tol<TestType> * 20);
        }
    }
}

TEMPLATE_TEST_CASE("chunk engine: two-pass over chunks equals the serial chunked form bitwise", "[chunk][engine]",
                   float, double) {
  const index_t L = 333, K = 16, V = 40;
  const auto q = random_tensor<TestType>({L, K}), k = random_tensor<TestType>({L, K}), v = random_tensor<TestType>({L, V});
  const auto g = random_tensor<TestType>({L, K}, -1.0, 0.0), u = random_tensor<TestType>({K});
  const auto S0 = random_tensor<TestType>({K, V});
  for (bool bonus : {false, true}) {
    tensor<TestType> o1({L, V}), o2({L, V}), S1 = S0, S2 = S0;
    const tensor<TestType> none;
    ck::chunked<ck::decay_kind::vector>(make_problem(L, K, V, q, k, v, g, bonus ? u : none, o1, S1, 0.5), 32);
    ck::chunked_two_pass<ck::decay_kind::vector>(make_problem(L, K, V, q, k, v, g, bonus ? u : none, o2, S2, 0.5), 32, 2);
    CAPTURE(bonus);
    CHECK(bitwise_equal(o1, o2));
    CHECK(bitwise_equal(S1, S2));
  }
}
