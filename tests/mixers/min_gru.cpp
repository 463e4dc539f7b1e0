// minGRU mixer: splits == one forward == steps; against a plain re-implementation.
#include "mixer_support.hpp"
#include "seqmix/mixers/min_gru.hpp"

using namespace mixer_test;
namespace sm = seqmix::mixers;
using sm::min_gru_config;

TEMPLATE_TEST_CASE("min_gru mixer: forward over splits == one forward == steps", "[mixers][min_gru]", float, double) {
  const double tol = std::is_same_v<TestType, float> ? 1e-5 : 1e-12;
  for (double expansion : {1.0, 1.5}) {
    CAPTURE(expansion);
    sm::min_gru<TestType> m(min_gru_config{24, expansion, 3});
    check_consistency(m, 70, tol);
  }
}

TEST_CASE("min_gru mixer matches a plain re-implementation", "[mixers][min_gru]") {
  for (double expansion : {1.0, 2.0}) {
    CAPTURE(expansion);
    sm::min_gru<double> md(min_gru_config{16, expansion, 5});
    sm::min_gru<float> mf(min_gru_config{16, expansion, 99});
    copy_params(md, mf);
    const index_t L = 40, d = 16, di = md.d_inner();
    const auto x = normal_tensor<double>({L, d});
    tensor<double> expect({L, d});
    std::vector<double> h(di, 0.0);
    for (index_t t = 0; t < L; ++t) {
      const auto p = matvec(md.params()["to_hidden_and_gate.weight"], x.data() + t * d);
      for (index_t c = 0; c < di; ++c) {
        const double z = sigmoid(p[di + c]);
        h[c] = (1 - z) * h[c] + z * g_hat(p[c]);
      }
      const auto y = di != d ? matvec(md.params()["to_out.weight"], h.data()) : h;
      std::copy(y.begin(), y.end(), expect.data() + t * d);
    }
    CHECK(max_rel_error(forward_whole(md, x).y, expect) < 1e-12);
    CHECK(max_rel_error(forward_whole(mf, cast<float>(x)).y, expect) < 2e-5);
  }
}

TEST_CASE("min_gru mixer: parameters are named as the PyTorch module's", "[mixers][min_gru]") {
  sm::min_gru<float> a(min_gru_config{8, 1.0, 0}), b(min_gru_config{8, 2.0, 0});
  CHECK(a.params().size() == 1);
  CHECK(a.params()["to_hidden_and_gate.weight"].shape() == std::vector<index_t>{16, 8});
  CHECK(b.params()["to_out.weight"].shape() == std::vector<index_t>{8, 16});
  // nn.Linear init bound 1/sqrt(fan_in)
  for (float v : a.params()["to_hidden_and_gate.weight"].values()) CHECK(std::abs(v) <= 1.0f / std::sqrt(8.0f));
  tensor<float> x({3, 8}), y({3, 7});
  auto s = a.make_state();
  CHECK_THROWS_AS(a.forward(x.cview<2>(), y.view<2>(), s), shape_error);
}
