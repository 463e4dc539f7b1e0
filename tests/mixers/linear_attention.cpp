// linear_attention mixer: forward over random splits == one forward == a loop of step (float
// and double; feature maps, normaliser state), 1 vs 2 threads bitwise, against a plain
// token-by-token re-implementation of fla's LinearAttention layer, names and shapes.
#include "chunk_mixer_support.hpp"
#include "seqmix/mixers/linear_attention.hpp"

using namespace chunk_mixer_test;
using seqmix::mixers::linear_attention;
using seqmix::mixers::linear_attention_config;

TEMPLATE_TEST_CASE("linear_attention mixer: splits, steps and one forward agree", "[linear_attention][mixer]", float,
                   double) {
  for (bool norm : {false, true}) {
    CAPTURE(norm);
    linear_attention_config c;
    c.d_model = 32;
    c.num_heads = 2;
    c.normalize = norm;
    c.seed = 5;
    linear_attention<TestType> m(c);
    check_consistency(m, 120, std::is_same_v<TestType, float> ? 5e-5 : 1e-11);
  }
}

TEST_CASE("linear_attention mixer equals a plain re-implementation of the fla layer", "[linear_attention][mixer]") {
  for (feature_map fm : {feature_map::elu1, feature_map::relu, feature_map::identity})
    for (bool norm : {false, true}) {
      if (fm == feature_map::identity && norm) continue;  // φ·Σφ may cross zero: ill-posed
      CAPTURE(int(fm), norm);
      linear_attention_config c;
      c.d_model = 24;
      c.num_heads = 3;
      c.map = fm;
      c.normalize = norm;
      c.seed = 4;
      check_against_plain<linear_attention<double>, linear_attention<float>>(c, 70);
    }
}

TEST_CASE("linear_attention mixer parameters carry fla's state_dict names and shapes", "[linear_attention][mixer]") {
  linear_attention_config c;
  c.d_model = 16;
  c.num_heads = 4;
  linear_attention<float> m(c);
  const auto& p = m.params();
  CHECK(p["q_proj.weight"].shape() == std::vector<index_t>{16, 16});
  CHECK(p["norm.weight"].shape() == std::vector<index_t>{4});
  CHECK(p["o_proj.weight"].shape() == std::vector<index_t>{16, 16});
  CHECK(p.size() == 5);
}
