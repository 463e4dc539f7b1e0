// linear_attn: the reference against a hand-computed case and against masked (Q Kᵀ) V, every
// form against the double reference (float and double; feature maps; normaliser), splits,
// varlen, threads, T = 0, errors.
#include "chunk_testing.hpp"
#include "seqmix/ops/linear_attn.hpp"

using namespace seqmix;
using namespace seqmix::testing;
using namespace seqmix::testing::chunk;

namespace {
struct linear_attn_op : qkv_op {
  static inline feature_map map = feature_map::identity;
  static inline bool normalize = false;
  static inputs make(index_t B, index_t L, index_t H, index_t K, index_t V) { return make_qkv(B, L, H, K, V); }
  static std::vector<std::string> timed() { return {"q", "k", "v"}; }
  template <class T>
  static void call(const typed<T>& in, tensor<T>& o, const tensor<T>& s0, tensor<T>& s1,
                   std::span<const std::int64_t> cu, const run_options& opt, bool reference) {
    linear_attn_args<T> a;
    bind(a, in, o, s0, s1, cu);
    a.map = map;
    a.normalize = normalize;
    if (reference) reference::linear_attn(a);
    else linear_attn(a, opt);
  }
};
}  // namespace

TEST_CASE("reference linear_attn matches a hand-computed case", "[linear_attn][reference]") {
  // K = V = 1, scale 1, elu+1, normalised: step 1 q = 0, k = 0 (φ = 1), v = 2: z = 1, S = 2,
  // o = 2/1; step 2 q = 1, k = 1 (φ = 2), v = 4: z = 3, S = 10, o = 10·2/(2·3) = 10/3
  tensor<double> q({1, 2, 1, 1}, {0, 1}), v({1, 2, 1, 1}, {2, 4}), o({1, 2, 1, 1}), s1({1, 1, 1, 1}), z1({1, 1, 1});
  linear_attn_args<double> a{q.view<4>(), q.view<4>(), v.view<4>(), o.view<4>(), {}, s1.view<4>(), {}, 1.0};
  a.map = feature_map::elu1;
  a.normalize = true;
  a.final_normalizer = z1.view<3>();
  reference::linear_attn(a);
  CHECK(o[0] == Approx(2.0));
  CHECK(o[1] == Approx(10.0 / 3.0));
  CHECK(s1[0] == Approx(10.0));
  CHECK(z1[0] == Approx(3.0));
}

TEST_CASE("reference linear_attn equals masked (Q Kᵀ) V", "[linear_attn][reference]") {
  const index_t L = 9, K = 4, V = 3;
  const inputs in = linear_attn_op::make(1, L, 1, K, V);
  const auto r = run<linear_attn_op, double>(in, tensor<double>({1, 1, K, V}), {}, {}, true);
  const auto &q = in.at("q"), &k = in.at("k"), &v = in.at("v");
  for (index_t t = 0; t < L; ++t)
    for (index_t j = 0; j < V; ++j) {
      double acc = 0;
      for (index_t s = 0; s <= t; ++s) {
        double dot = 0;
        for (index_t i = 0; i < K; ++i) dot += q[t * K + i] * k[s * K + i];
        acc += dot * v[s * V + j];
      }
      CHECK(r.o[t * V + j] == Approx(acc * 0.5).epsilon(1e-12));
    }
}

TEMPLATE_TEST_CASE("linear_attn: every form matches the double reference", "[linear_attn]", float, double) {
  check_forms<linear_attn_op, TestType>(2, 16, 8, tol<TestType> * 5);
  check_forms<linear_attn_op, TestType>(1, 64, 64, tol<TestType> * 5);
  check_forms<linear_attn_op, TestType>(1, 5, 3, tol<TestType> * 5);
}

TEMPLATE_TEST_CASE("linear_attn: feature maps and the normaliser", "[linear_attn]", float, double) {
  for (feature_map m : {feature_map::elu1, feature_map::relu})
    for (bool norm : {false, true}) {
      CAPTURE(int(m), norm);
      linear_attn_op::map = m;
      linear_attn_op::normalize = norm;
      check_forms<linear_attn_op, TestType>(2, 16, 8, tol<TestType> * 20);
    }
  linear_attn_op::map = feature_map::identity;
  linear_attn_op::normalize = false;
}

TEMPLATE_TEST_CASE("linear_attn: the normaliser state carries across a split", "[linear_attn]", float, double) {
  const index_t L = 70, H = 2, K = 8, V = 4;
  const inputs in = linear_attn_op::make(1, L, H, K, V);
  const auto tin = cast_all<TestType>(in);
  auto call = [&](const typed<TestType>& x, index_t len, const tensor<TestType>& s0, const tensor<TestType>& z0,
                  tensor<TestType>& o, tensor<TestType>& s1, tensor<TestType>& z1) {
    linear_attn_args<TestType> a;
    a.q = x.at("q").template view<4>();
    a.k = x.at("k").template view<4>();
    a.v = x.at("v").template view<4>();
    o = tensor<TestType>({1, len, H, V});
    a.o = o.template view<4>();
    a.initial_state = s0.template view<4>();
    a.final_state = s1.template view<4>();
    a.initial_normalizer = z0.template view<3>();
    a.final_normalizer = z1.template view<3>();
    a.map = feature_map::elu1;
    a.normalize = true;
    linear_attn(a, run_options{form::chunked, 16, 1});
  };
  tensor<TestType> s0({1, H, K, V}), z0({1, H, K}), o, s1({1, H, K, V}), z1({1, H, K});
  call(tin, L, s0, z0, o, s1, z1);
  tensor<TestType> oa, ob, sa({1, H, K, V}), za({1, H, K}), sb({1, H, K, V}), zb({1, H, K});
  call(cast_all<TestType>(time_slice<linear_attn_op>(in, 0, 30)), 30, s0, z0, oa, sa, za);
  call(cast_all<TestType>(time_slice<linear_attn_op>(in, 30, 40)), 40, sa, za, ob, sb, zb);
  const index_t row = H * V;
  double err = 0;
  for (index_t i = 0; i < 30 * row; ++i) err = std::max(err, std::abs(double(oa[i]) - double(o[i])));
  for (index_t i = 0; i < 40 * row; ++i) err = std::max(err, std::abs(double(ob[i]) - double(o[30 * row + i])));
  CHECK(err < tol<TestType> * 10);
  CHECK(max_rel_error(zb, z1) < tol<TestType>);
  CHECK(max_rel_error(sb, s1) < tol<TestType>);
}

TEMPLATE_TEST_CASE("linear_attn: splits, varlen, threads, T = 0", "[linear_attn]", float, double) {
  check_structure<linear_attn_op, TestType>(2, 16, 24, tol<TestType> * 5);
}

TEST_CASE("linear_attn rejects bad shapes and options", "[linear_attn][errors]") {
  tensor<float> q({2, 5, 3, 4}), k({2, 5, 3, 3}), v({2, 5, 3, 6}), o({2, 5, 3, 6}), z({2, 3, 5});
  linear_attn_args<float> a{q.view<4>(), k.view<4>(), v.view<4>(), o.view<4>(), {}, {}, {}, {}};
  CHECK_THROWS_WITH(linear_attn(a), "linear_attn: argument 'k' has shape [2,5,3,3], expected [2,5,3,4] (as 'q')");
  a.k = q.view<4>();
  a.normalize = true;
  a.initial_normalizer = z.view<3>();
  CHECK_THROWS_WITH(linear_attn(a), "linear_attn: argument 'initial_normalizer' has shape [2,3,5], expected [2,3,4]");
  a.initial_normalizer = {};
  CHECK_THROWS_AS(linear_attn(a, run_options{form::blocked, 0, 1}), option_error);
  CHECK_NOTHROW(linear_attn(a));
}
