// retnet mixer: forward over random splits == one forward == a loop of step (float and
// double; rotary positions carried in the state), 1 vs 2 threads bitwise, against a plain
// token-by-token re-implementation of fla's MultiScaleRetention layer, names and shapes.
#include "chunk_mixer_support.hpp"
#include "seqmix/mixers/retnet.hpp"

using namespace chunk_mixer_test;
using seqmix::mixers::retnet;
using seqmix::mixers::retnet_config;

TEMPLATE_TEST_CASE("retnet mixer: splits, steps and one forward agree", "[retnet][mixer]", float, double) {
  retnet_config c;
  c.d_model = 32;
  c.num_heads = 2;
  c.seed = 5;
  retnet<TestType> m(c);
  check_consistency(m, 150, std::is_same_v<TestType, float> ? 5e-5 : 1e-11);
}

TEST_CASE("retnet mixer equals a plain re-implementation of the fla layer", "[retnet][mixer]") {
  for (bool gate : {true, false}) {
    CAPTURE(gate);
    retnet_config c;
    c.d_model = 32;
    c.num_heads = 4;
    c.use_output_gate = gate;
    c.seed = 9;
    check_against_plain<retnet<double>, retnet<float>>(c, 90);
  }
}

TEST_CASE("retnet mixer parameters carry fla's state_dict names and shapes", "[retnet][mixer]") {
  retnet_config c;
  c.d_model = 32;
  c.num_heads = 2;
  retnet<float> m(c);
  const auto& p = m.params();
  CHECK(p["q_proj.weight"].shape() == std::vector<index_t>{32, 32});
  CHECK(p["v_proj.weight"].shape() == std::vector<index_t>{64, 32});
  CHECK(p["g_proj.weight"].shape() == std::vector<index_t>{64, 32});
  CHECK(p["g_norm_swish_gate.weight"].shape() == std::vector<index_t>{32});
  CHECK(p["o_proj.weight"].shape() == std::vector<index_t>{32, 64});
  CHECK(p.size() == 6);
  retnet_config odd;
  odd.d_model = 6;
  odd.num_heads = 2;  // head_k = 3: no rotary
  CHECK_THROWS_AS(retnet<float>(odd), shape_error);
}
