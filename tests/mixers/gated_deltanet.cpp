// gated_deltanet mixer: forward over random splits == one forward == a loop of step (float
// and double), against a plain token-by-token re-implementation of fla's GatedDeltaNet
// layer, the state_dict names and shapes.
#include "deltanet_support.hpp"
#include "seqmix/mixers/gated_deltanet.hpp"

using namespace delta_mixer_test;
using seqmix::mixers::gated_deltanet;
using seqmix::mixers::gated_deltanet_config;

TEMPLATE_TEST_CASE("gated_deltanet: splits, steps and one forward agree", "[gated_deltanet][mixer]", float, double) {
  gated_deltanet_config c;
  c.d_model = 40;
  c.num_heads = 2;
  c.head_dim = 16;
  c.seed = 5;
  gated_deltanet<TestType> m(c);
  check_consistency(m, 41, std::is_same_v<TestType, float> ? 2e-5 : 1e-12);
}

TEST_CASE("gated_deltanet equals a plain re-implementation of the fla layer", "[gated_deltanet][mixer]") {
  for (bool gate : {true, false}) {
    CAPTURE(gate);
    gated_deltanet_config c;
    c.d_model = 24;
    c.num_heads = 2;
    c.head_dim = 8;
    c.expand_v = 1.5;
    c.use_gate = gate;
    c.seed = 11;
    gated_deltanet<double> m(c);
    const auto x = normal_tensor<double>({25, 24});
    const auto got = forward_pieces(m, x, 0);
    const auto want = plain_layer(m.params(), x, 2, 8, 12, 4, true, gate, c.norm_eps);
    CHECK(max_rel_error(got.y, want) < 1e-11);
    gated_deltanet<float> mf(c);
    copy_params(m, mf);
    const auto yf = forward_pieces(mf, cast<float>(x), 0);
    CHECK(max_rel_error(yf.y, want) < 1e-4);
  }
}

TEST_CASE("gated_deltanet parameters carry fla's state_dict names and shapes", "[gated_deltanet][mixer]") {
  gated_deltanet_config c;
  c.d_model = 32;
  c.num_heads = 4;
  c.head_dim = 8;
  c.expand_v = 2.0;
  gated_deltanet<float> m(c);
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
