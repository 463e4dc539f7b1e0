// Composition: closure under the concept, state carrying through stacks, weights by name.
#include <filesystem>

#include "support/testing.hpp"
#include "seqmix/compose.hpp"
#include "seqmix/io/weights.hpp"
#include "seqmix/mixers/linear_scan_mixer.hpp"

using namespace seqmix;
using namespace seqmix::compose;
using namespace seqmix::testing;

namespace {
template <class T> using scan_block = residual<rms_norm, mixers::linear_scan_mixer<T>>;
template <class T> using ffn_block = residual<rms_norm, swiglu<T>>;
template <class T> using small_stack = stack<scan_block<T>, ffn_block<T>, residual<layer_norm, mlp<T>>>;

template <class T>
small_stack<T> make_stack(std::size_t d) {
  return small_stack<T>(scan_block<T>(mixers::linear_scan_mixer<T>({.d_model = d, .seed = 1})),
                        ffn_block<T>(swiglu<T>({.d_model = d, .d_hidden = 3 * d, .seed = 2})),
                        residual<layer_norm, mlp<T>>(mlp<T>({.d_model = d, .d_hidden = 2 * d, .seed = 3})));
}
}  // namespace

static_assert(mixer<mlp<float>> && mixer<swiglu<double>>);
static_assert(mixer<scan_block<float>>);
static_assert(mixer<small_stack<float>> && mixer<small_stack<double>>);
static_assert(mixer<repeat<3, scan_block<float>>>);
static_assert(mixer<stack<small_stack<float>, repeat<2, scan_block<float>>>>, "stacks nest");
static_assert(mixer<sequence_model<small_stack<float>>>);
static_assert(std::is_same_v<small_stack<float>::state_type,
                             std::tuple<mixers::linear_scan_mixer<float>::state_type, empty_state, empty_state>>);

TEMPLATE_TEST_CASE("stack: split forward and step loop equal one forward", "[compose]", float, double) {
  const std::size_t d = 24;
  const index_t L = 37;
  auto model = make_stack<TestType>(d);
  auto x = random_tensor<TestType>({L, index_t(d)});
  tensor<TestType> whole({L, index_t(d)});
  auto s = model.make_state();
  model.forward(x.template cview<2>(), whole.template view<2>(), s);
  REQUIRE(all_finite(whole));

  for (index_t cut : {1, 10, 36}) {
    CAPTURE(cut);
    auto s2 = model.make_state();
    tensor<TestType> split({L, index_t(d)});
    model.forward(x.template cview<2>().slice(0, 0, cut), split.template view<2>().slice(0, 0, cut), s2);
    model.forward(x.template cview<2>().slice(0, cut, L - cut), split.template view<2>().slice(0, cut, L - cut), s2);
    CHECK(max_rel_error(split, whole) < tol<TestType>);
  }
  auto s3 = model.make_state();
  tensor<TestType> stepped({L, index_t(d)});
  for (index_t t = 0; t < L; ++t)
    model.step(x.template cview<2>().row(t), stepped.template view<2>().row(t), s3);
  CHECK(max_rel_error(stepped, whole) < tol<TestType>);
}

TEST_CASE("residual: y = x + mixer(norm(x))", "[compose]") {
  const std::size_t d = 8;
  mixers::linear_scan_mixer<double> inner({.d_model = d, .seed = 5});
  scan_block<double> block(inner);
  auto x = random_tensor<double>({5, 8});
  tensor<double> y({5, 8}), normed({5, 8}), my({5, 8});
  auto s = block.make_state();
  block.forward(x.cview<2>(), y.view<2>(), s);
  rms_norm<double>(d).apply(x.cview<2>(), normed.view<2>());
  auto s2 = inner.make_state();
  inner.forward(normed.cview<2>(), my.view<2>(), s2);
  for (index_t i = 0; i < y.size(); ++i) CHECK(y[i] == Approx(my[i] + x[i]).epsilon(1e-12));
}

TEST_CASE("repeat: layers run in order with their own states", "[compose]") {
  repeat<3, scan_block<double>> r([](std::size_t i) {
    return scan_block<double>(mixers::linear_scan_mixer<double>({.d_model = 6, .seed = unsigned(i)}));
  });
  auto x = random_tensor<double>({9, 6});
  tensor<double> y({9, 6}), a({9, 6}), b({9, 6}), c({9, 6});
  auto s = r.make_state();
  REQUIRE(s.size() == 3);
  r.forward(x.cview<2>(), y.view<2>(), s);
  auto s0 = r.layer(0).make_state(), s1 = r.layer(1).make_state(), s2 = r.layer(2).make_state();
  r.layer(0).forward(x.cview<2>(), a.view<2>(), s0);
  r.layer(1).forward(a.cview<2>(), b.view<2>(), s1);
  r.layer(2).forward(b.cview<2>(), c.view<2>(), s2);
  CHECK(max_rel_error(y, c) == 0.0);
}

TEST_CASE("weights: save and load by name, strict errors", "[compose][weights]") {
  const auto dir = std::filesystem::temp_directory_path() / "seqmix_test_weights";
  std::filesystem::create_directories(dir);
  auto a = make_stack<float>(16);
  auto b = make_stack<float>(16);
  b.layer<0>().inner().params()["in_proj.weight"][0] += 1.0f;  // make them differ
  const auto file = dir / "stack.safetensors";
  io::save_weights(a, file);
  const auto st = io::read_safetensors(file);
  CHECK(st.contains("layers.0.mixer.in_proj.weight"));
  CHECK(st.contains("layers.0.norm.weight"));
  CHECK(st.contains("layers.1.mixer.gate_proj.weight"));
  CHECK(st.contains("layers.2.norm.bias"));
  io::load_weights(b, file);
  auto x = random_tensor<float>({7, 16});
  tensor<float> ya({7, 16}), yb({7, 16});
  auto sa = a.make_state(), sb = b.make_state();
  a.forward(x.cview<2>(), ya.view<2>(), sa);
  b.forward(x.cview<2>(), yb.view<2>(), sb);
  CHECK(bitwise_equal(ya, yb));

  auto missing = st;
  missing.tensors.erase("layers.1.mixer.up_proj.weight");
  CHECK_THROWS_WITH(io::load_weights(b, missing), Catch::Contains("'layers.1.mixer.up_proj.weight' is missing"));
  auto misshaped = st;
  misshaped.put("layers.0.norm.weight", tensor<float>({15}));
  CHECK_THROWS_WITH(io::load_weights(b, misshaped), Catch::Contains("has shape [15], expected [16]"));
  auto extra = st;
  extra.put("layers.9.mixer.w", tensor<float>({2}));
  CHECK_THROWS_WITH(io::load_weights(b, extra), Catch::Contains("'layers.9.mixer.w'"));
  CHECK_NOTHROW(io::load_weights(b, extra, "", /*strict=*/false));
  // double model loads float weights
  auto c = make_stack<double>(16);
  CHECK_NOTHROW(io::load_weights(c, st));
  std::filesystem::remove_all(dir);
}

TEST_CASE("sequence_model: logits from tokens, step equals forward", "[compose]") {
  sequence_model<small_stack<double>> lm(make_stack<double>(12), 50, 7);
  std::vector<std::int32_t> tokens{1, 7, 3, 49, 0, 12};
  tensor<double> logits({6, 50}), stepped({6, 50});
  auto s = lm.make_state();
  lm.forward_tokens(tokens, logits.view<2>(), s);
  auto s2 = lm.make_state();
  for (std::size_t t = 0; t < tokens.size(); ++t) lm.step_token(tokens[t], stepped.view<2>().row(index_t(t)), s2);
  CHECK(max_rel_error(stepped, logits) < 1e-11);
  std::vector<std::int32_t> bad{3, 50};
  tensor<double> l2({2, 50});
  auto s3 = lm.make_state();
  CHECK_THROWS_AS(lm.forward_tokens(bad, l2.view<2>(), s3), shape_error);
}
