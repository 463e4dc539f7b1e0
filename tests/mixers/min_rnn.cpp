// minGRU and minLSTM mixers: splits == one forward == steps; against plain token-by-token
// re-implementations of Feng et al.'s recurrences; PyTorch parameter names and init.
#include "mixer_support.hpp"
#include "seqmix/mixers/min_lstm.hpp"

using namespace mixer_test;
namespace sm = seqmix::mixers;

namespace {
// One step of each cell on the fused projection p = [h̃_raw, gates...] of one token.
struct min_gru_cell {
  template <class T>
  using mixer = sm::min_gru<T>;
  static constexpr const char* weight = "to_hidden_and_gate.weight";
  static constexpr index_t blocks = 2;
  static double step(const std::vector<double>& p, index_t di, index_t c, double h) {
    const double z = sigmoid(p[di + c]);
    return (1 - z) * h + z * g_hat(p[c]);
  }
};
struct min_lstm_cell {
  template <class T>
  using mixer = sm::min_lstm<T>;
  static constexpr const char* weight = "to_hidden_and_gates.weight";
  static constexpr index_t blocks = 3;
  static double step(const std::vector<double>& p, index_t di, index_t c, double h) {
    const double f = sigmoid(p[di + c]), i = sigmoid(p[2 * di + c]);
    return f / (f + i) * h + i / (f + i) * g_hat(p[c]);
  }
};
}  // namespace

TEMPLATE_TEST_CASE("min_gru / min_lstm mixers: forward over splits == one forward == steps", "[mixers][min_rnn]",
                   min_gru_cell, min_lstm_cell) {
  for (double expansion : {1.0, 1.5}) {
    CAPTURE(expansion);
    check_consistency(typename TestType::template mixer<float>({24, expansion, 3}), 70, 1e-5);
    check_consistency(typename TestType::template mixer<double>({24, expansion, 4}), 70, 1e-12);
  }
}

TEMPLATE_TEST_CASE("min_gru / min_lstm mixers match a plain re-implementation", "[mixers][min_rnn]", min_gru_cell,
                   min_lstm_cell) {
  for (double expansion : {1.0, 2.0}) {
    CAPTURE(expansion);
    typename TestType::template mixer<double> md({16, expansion, 5});
    typename TestType::template mixer<float> mf({16, expansion, 99});
    copy_params(md, mf);
    const index_t L = 40, d = 16, di = md.d_inner();
    const auto x = normal_tensor<double>({L, d});
    tensor<double> expect({L, d});
    std::vector<double> h(di, 0.0);
    for (index_t t = 0; t < L; ++t) {
      const auto p = matvec(md.params()[TestType::weight], x.data() + t * d);
      for (index_t c = 0; c < di; ++c) h[c] = TestType::step(p, di, c, h[c]);
      const auto y = di != d ? matvec(md.params()["to_out.weight"], h.data()) : h;
      std::copy(y.begin(), y.end(), expect.data() + t * d);
    }
    CHECK(max_rel_error(forward_whole(md, x).y, expect) < 1e-12);
    CHECK(max_rel_error(forward_whole(mf, cast<float>(x)).y, expect) < 2e-5);
  }
}

TEMPLATE_TEST_CASE("min_gru / min_lstm mixers: parameters are named as the PyTorch module's", "[mixers][min_rnn]",
                   min_gru_cell, min_lstm_cell) {
  typename TestType::template mixer<float> a({8, 1.0, 0}), b({8, 2.0, 0});
  CHECK(a.params().size() == 1);
  CHECK(a.params()[TestType::weight].shape() == std::vector<index_t>{TestType::blocks * 8, 8});
  CHECK(b.params()["to_out.weight"].shape() == std::vector<index_t>{8, 16});
  // nn.Linear init bound 1/sqrt(fan_in)
  for (float v : a.params()[TestType::weight].values()) CHECK(std::abs(v) <= 1.0f / std::sqrt(8.0f));
  tensor<float> x({3, 8}), y({3, 7});
  auto s = a.make_state();
  CHECK_THROWS_AS(a.forward(x.cview<2>(), y.view<2>(), s), shape_error);
}
