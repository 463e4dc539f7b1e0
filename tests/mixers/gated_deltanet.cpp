// gated_deltanet mixer: forward over random splits == one forward == a loop of step (float
// and double), against a plain token-by-token re-implementation of fla's GatedDeltaNet
// layer, the state_dict names and shapes.
#include "deltanet_support.hpp"
#include "seqmix/mixers/gated_deltanet.hpp"

using namespace delta_mixer_test;
using seqmix::mixers::gated_deltanet;
using seqmix::mixers::gated_deltanet_config;

gated_deltanet_config config(std::size_t d_model, std::size_t heads, std::size_t head_dim, double expand_v,
                             unsigned seed) {
  gated_deltanet_config c;
  c.d_model = d_model;
  c.num_heads = heads;
  c.head_dim = head_dim;
  c.expand_v = expand_v;
  c.seed = seed;
  return c;
}

TEMPLATE_TEST_CASE("gated_deltanet: splits, steps and one forward agree", "[gated_deltanet][mixer]", float, double) {
  gated_deltanet<TestType> m(config(40, 2, 16, 2.0, 5));
  check_consistency(m, 41, std::is_same_v<TestType, float> ? 2e-5 : 1e-12);
}

TEST_CASE("gated_deltanet equals a plain re-implementation of the fla layer", "[gated_deltanet][mixer]") {
  for (bool gate : {true, false}) {
    CAPTURE(gate);
    auto c = config(24, 2, 8, 1.5, 11);
    c.use_gate = gate;
    check_equals_plain_layer<gated_deltanet>(c, 25, 2, 8, 12, true);
  }
}

TEST_CASE("gated_deltanet parameters carry fla's state_dict names and shapes", "[gated_deltanet][mixer]") {
  gated_deltanet<float> m(config(32, 4, 8, 2.0, 0));
  const auto& p = m.params();
  CHECK(p["q_proj.weight"].shape() == std::vector<index_t>{32, 32});
  CHECK(p["v_proj.weight"].shape() == std::vector<index_t>{64, 32});
  CHECK(p["a_proj.weight"].shape() == std::vector<index_t>{4, 32});
  CHECK(p["b_proj.weight"].shape() == std::vector<index_t>{4, 32});
  CHECK(p["A_log"].shape() == std::vector<index_t>{4});
  CHECK(p["dt_bias"].shape() == std::vector<index_t>{4});
  CHECK(p["g_proj.weight"].shape() == std::vector<index_t>{64, 32});
  CHECK(p["o_proj.weight"].shape() == std::vector<index_t>{32, 64});
  CHECK(p["k_conv1d.weight"].shape() == std::vector<index_t>{32, 1, 4});
  CHECK(p["o_norm.weight"].shape() == std::vector<index_t>{16});
  CHECK(p.size() == 13);
  // the decay is a forget: g = -exp(A_log) softplus(.) < 0 with A in (0, 16]
  for (auto a : p["A_log"].values()) CHECK(a <= std::log(16.0f) + 1e-6f);
}
