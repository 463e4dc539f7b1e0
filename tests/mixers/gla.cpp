// gla mixer: forward over random splits == one forward == a loop of step (float and double),
// 1 vs 2 threads bitwise, against a plain token-by-token re-implementation of fla's
// GatedLinearAttention layer, the state_dict names and shapes, errors.
#include "chunk_mixer_support.hpp"
#include "seqmix/mixers/gla.hpp"

using namespace chunk_mixer_test;

template <class T>
using gla_layer = seqmix::mixers::gla<T>;
using seqmix::mixers::gla_config;

TEMPLATE_TEST_CASE("gla mixer: splits, steps and one forward agree", "[gla][mixer]", float, double) {
  for (bool gate : {true, false}) {
    CAPTURE(gate);
    gla_config c;
    c.d_model = 64;
    c.num_heads = 2;
    c.use_output_gate = gate;
    c.seed = 7;
    gla_layer<TestType> m(c);
    check_consistency(m, 150, std::is_same_v<TestType, float> ? 5e-5 : 1e-11);
  }
}

TEST_CASE("gla mixer equals a plain re-implementation of the fla layer", "[gla][mixer]") {
  for (bool gate : {true, false}) {
    CAPTURE(gate);
    gla_config c;
    c.d_model = 48;
    c.num_heads = 3;
    c.expand_v = 2.0;
    c.use_output_gate = gate;
    c.seed = 3;
    check_against_plain<gla_layer<double>, gla_layer<float>>(c, 90);
  }
}

TEST_CASE("gla mixer parameters carry fla's state_dict names and shapes", "[gla][mixer]") {
  gla_config c;
  c.d_model = 32;
  c.num_heads = 2;
  gla_layer<float> m(c);
  const auto& p = m.params();
  CHECK(p["q_proj.weight"].shape() == std::vector<index_t>{16, 32});
  CHECK(p["k_proj.weight"].shape() == std::vector<index_t>{16, 32});
  CHECK(p["v_proj.weight"].shape() == std::vector<index_t>{32, 32});
  CHECK(p["gk_proj.0.weight"].shape() == std::vector<index_t>{16, 32});
  CHECK(p["gk_proj.1.weight"].shape() == std::vector<index_t>{16, 16});
  CHECK(p["gk_proj.1.bias"].shape() == std::vector<index_t>{16});
  CHECK(p["g_proj.weight"].shape() == std::vector<index_t>{32, 32});
  CHECK(p["g_norm_swish_gate.weight"].shape() == std::vector<index_t>{16});
  CHECK(p["o_proj.weight"].shape() == std::vector<index_t>{32, 32});
  CHECK(p.size() == 9);
  CHECK_THROWS_AS(gla_layer<float>(gla_config{30, 4}), shape_error);
  tensor<float> x({4, 31}), y({4, 32});
  auto s = m.make_state();
  CHECK_THROWS_AS(m.forward(x.cview<2>(), y.view<2>(), s), shape_error);
}
