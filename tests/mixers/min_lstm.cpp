// minLSTM mixer: splits == one forward == steps; against a plain re-implementation.
#include "mixer_support.hpp"
#include "seqmix/mixers/min_lstm.hpp"

using namespace mixer_test;
namespace sm = seqmix::mixers;
using sm::min_lstm_config;

TEMPLATE_TEST_CASE("min_lstm mixer: forward over splits == one forward == steps", "[mixers][min_lstm]", float, double) {
  const double tol = std::is_same_v<TestType, float> ? 1e-5 : 1e-12;
  for (double expansion : {1.0, 1.5}) {
    CAPTURE(expansion);
    sm::min_lstm<TestType> m(min_lstm_config{24, expansion, 4});
    check_consistency(m, 70, tol);
  }
}

TEST_CASE("min_lstm mixer matches a plain re-implementation", "[mixers][min_lstm]") {
  for (double expansion : {1.0, 2.0}) {
    CAPTURE(expansion);
    sm::min_lstm<double> md(min_lstm_config{16, expansion, 6});
    sm::min_lstm<float> mf(min_lstm_config{16, expansion, 7});
    copy_params(md, mf);
    const index_t L = 40, d = 16, di = md.d_inner();
    const auto x = normal_tensor<double>({L, d});
    tensor<double> expect({L, d});
    std::vector<double> h(di, 0.0);
    for (index_t t = 0; t < L; ++t) {
      const auto p = matvec(md.params()["to_hidden_and_gates.weight"], x.data() + t * d);
      for (index_t c = 0; c < di; ++c) {
        const double f = sigmoid(p[di + c]), i = sigmoid(p[2 * di + c]);
        h[c] = f / (f + i) * h[c] + i / (f + i) * g_hat(p[c]);
      }
      const auto y = di != d ? matvec(md.params()["to_out.weight"], h.data()) : h;
      std::copy(y.begin(), y.end(), expect.data() + t * d);
    }
    CHECK(max_rel_error(forward_whole(md, x).y, expect) < 1e-12);
    CHECK(max_rel_error(forward_whole(mf, cast<float>(x)).y, expect) < 2e-5);
  }
}
