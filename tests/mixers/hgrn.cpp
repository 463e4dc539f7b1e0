// HGRN mixer: splits == one forward == steps; against a plain re-implementation (with a
// non-zero lower bound).
#include "mixer_support.hpp"
#include "seqmix/mixers/hgrn.hpp"

using namespace mixer_test;
namespace sm = seqmix::mixers;
using sm::hgrn_config;

TEMPLATE_TEST_CASE("hgrn mixer: forward over splits == one forward == steps", "[mixers][hgrn]", float, double) {
  const double tol = std::is_same_v<TestType, float> ? 2e-5 : 1e-12;
  sm::hgrn<TestType> m(hgrn_config{24, 1.5, 1e-5, 8});
  for (auto& v : m.params()["lower_bound"].values()) v = TestType(0.3);
  check_consistency(m, 70, tol);
}

TEST_CASE("hgrn mixer matches a plain re-implementation", "[mixers][hgrn]") {
  for (double lbv : {0.0, 0.6}) {
    CAPTURE(lbv);
    sm::hgrn<double> md(hgrn_config{16, 2.0, 1e-5, 9});
    sm::hgrn<float> mf(hgrn_config{16, 2.0, 1e-5, 10});
    for (auto& v : md.params()["lower_bound"].values()) v = lbv;
    // scale the projections up so the gates are not all near 0.5
    for (const char* n : {"i_proj.weight", "f_proj.weight", "g_proj.weight"})
      for (auto& v : md.params()[n].values()) v *= 8.0;
    for (auto& v : md.params()["g_norm.weight"].values()) v = 0.5 + v * 0.25;
    copy_params(md, mf);
    const index_t L = 30, d = 16, di = 32;
    const auto& P = md.params();
    const auto x = normal_tensor<double>({L, d});
    tensor<double> expect({L, d});
    std::vector<double> h(di, 0.0), o(di);
    for (index_t t = 0; t < L; ++t) {
      const auto i = matvec(P["i_proj.weight"], x.data() + t * d);
      const auto f = matvec(P["f_proj.weight"], x.data() + t * d);
      const auto g = matvec(P["g_proj.weight"], x.data() + t * d);
      double ss = 0;
      for (index_t c = 0; c < di; ++c) {
        const double lam = lbv + (1 - lbv) * sigmoid(f[c]);
        h[c] = lam * h[c] + i[c] * sigmoid(i[c]) * (1 - lam);
        ss += h[c] * h[c];
      }
      const double r = 1.0 / std::sqrt(ss / di + 1e-5);
      for (index_t c = 0; c < di; ++c) o[c] = h[c] * r * P["g_norm.weight"][c] * g[c] * sigmoid(g[c]);
      const auto y = matvec(P["o_proj.weight"], o.data());
      std::copy(y.begin(), y.end(), expect.data() + t * d);
    }
    CHECK(max_rel_error(forward_whole(md, x).y, expect) < 1e-12);
    CHECK(max_rel_error(forward_whole(mf, cast<float>(x)).y, expect) < 3e-5);
  }
}
