// deltanet mixer: forward over random splits == one forward == a loop of step (float and
// double), against a plain token-by-token re-implementation of fla's DeltaNet layer, the
// state_dict names and shapes, errors.
#include "deltanet_support.hpp"
#include "seqmix/mixers/deltanet.hpp"

using namespace delta_mixer_test;
using seqmix::mixers::deltanet;
using seqmix::mixers::deltanet_config;

TEMPLATE_TEST_CASE("deltanet: splits, steps and one forward agree", "[deltanet][mixer]", float, double) {
  for (bool gate : {true, false}) {
    CAPTURE(gate);
    deltanet_config c;
    c.d_model = 48;
    c.num_heads = 3;
    c.use_gate = gate;
    c.seed = 7;
    deltanet<TestType> m(c);
    check_consistency(m, 37, std::is_same_v<TestType, float> ? 2e-5 : 1e-12);
  }
}

TEST_CASE("deltanet equals a plain re-implementation of the fla layer", "[deltanet][mixer]") {
  for (bool gate : {true, false}) {
    CAPTURE(gate);
    deltanet_config c;
    c.d_model = 32;
    c.num_heads = 2;
    c.expand_v = 1.5;
    c.use_gate = gate;
    c.seed = 3;
    check_equals_plain_layer<deltanet>(c, 20, 2, 16, 24, false);
  }
}

TEST_CASE("deltanet parameters carry fla's state_dict names and shapes", "[deltanet][mixer]") {
  deltanet_config c;
  c.d_model = 16;
  c.num_heads = 2;
  c.expand_v = 2.0;
  deltanet<float> m(c);
  const auto& p = m.params();
  CHECK(p["q_proj.weight"].shape() == std::vector<index_t>{16, 16});
  CHECK(p["v_proj.weight"].shape() == std::vector<index_t>{32, 16});
  CHECK(p["b_proj.weight"].shape() == std::vector<index_t>{2, 16});
  CHECK(p["g_proj.weight"].shape() == std::vector<index_t>{32, 16});
  CHECK(p["o_proj.weight"].shape() == std::vector<index_t>{16, 32});
  CHECK(p["q_conv1d.weight"].shape() == std::vector<index_t>{16, 1, 4});
  CHECK(p["v_conv1d.weight"].shape() == std::vector<index_t>{32, 1, 4});
  CHECK(p["o_norm.weight"].shape() == std::vector<index_t>{16});
  CHECK_FALSE(p.contains("a_proj.weight"));
  CHECK(p.size() == 10);
  CHECK_THROWS_AS(deltanet<float>(deltanet_config{10, 3}), shape_error);
  tensor<float> x({4, 15}), y({4, 16});
  auto s = m.make_state();
  CHECK_THROWS_AS(m.forward(x.cview<2>(), y.view<2>(), s), shape_error);
}
