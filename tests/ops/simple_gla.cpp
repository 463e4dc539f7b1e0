// simple_gla: the reference against a hand-computed case, every form against the double reference
// (float and double, chunk sizes dividing T or not), splits, varlen, threads, T = 0, extreme
// gates (g = -20 and g = 0), errors.
#include "chunk_testing.hpp"
#include "seqmix/ops/simple_gla.hpp"

using namespace seqmix;
using namespace seqmix::testing;
using namespace seqmix::testing::chunk;

namespace {
struct simple_gla_op : qkv_op {
  static inline double g_lo = -1.0, g_hi = 0.0;
  static inputs make(index_t B, index_t L, index_t H, index_t K, index_t V) {
    inputs in = make_qkv(B, L, H, K, V);
    in["g"] = random_tensor<double>({B, L, H}, g_lo, g_hi);
    return in;
  }
  static std::vector<std::string> timed() { return {"q", "k", "v", "g"}; }
  template <class T>
  static void call(const typed<T>& in, tensor<T>& o, const tensor<T>& s0, tensor<T>& s1,
                   std::span<const std::int64_t> cu, const run_options& opt, bool reference) {
    simple_gla_args<T> a;
    bind(a, in, o, s0, s1, cu);
    a.g = in.at("g").template view<3>();
    if (reference) reference::simple_gla(a);
    else simple_gla(a, opt);
  }
};
}  // namespace

TEST_CASE("reference simple_gla matches a hand-computed case", "[simple_gla][reference]") {
  // K = V = 1, scale 1: S0 = 2, g = log .5, k = 1, v = 3 -> S1 = 1 + 3 = 4; q = 2 -> o = 8;
  // step 2: g = 0, k = 1, v = -1 -> S2 = 3, q = 1 -> o = 3
  tensor<double> q({1, 2, 1, 1}, {2, 1}), k({1, 2, 1, 1}, {1, 1}), v({1, 2, 1, 1}, {3, -1}),
      g({1, 2, 1}, {std::log(0.5), 0.0}), o({1, 2, 1, 1}), s0({1, 1, 1, 1}, 2), s1({1, 1, 1, 1});
  simple_gla_args<double> a{q.view<4>(), k.view<4>(), v.view<4>(), g.view<3>(), o.view<4>(), s0.view<4>(), s1.view<4>(), {}, 1.0};
  reference::simple_gla(a);
  CHECK(o[0] == Approx(8.0));
  CHECK(o[1] == Approx(3.0));
  CHECK(s1[0] == Approx(3.0));
}

TEMPLATE_TEST_CASE("simple_gla: every form matches the double reference", "[simple_gla]", float, double) {
  check_standard_forms<simple_gla_op, TestType>(tol<TestType> * 5);
}

TEMPLATE_TEST_CASE("simple_gla: splits, varlen, threads, T = 0", "[simple_gla]", float, double) {
  check_structure<simple_gla_op, TestType>(2, 16, 24, tol<TestType> * 5);
}

TEMPLATE_TEST_CASE("simple_gla: extreme gates stay finite and correct", "[simple_gla]", float, double) {
  check_extreme_gates<simple_gla_op, TestType>(tol<TestType> * 20);
}

TEST_CASE("simple_gla rejects bad shapes and options", "[simple_gla][errors]") {
  tensor<float> q({2, 5, 3, 4}), g({2, 5, 4}), v({2, 5, 3, 6}), o({2, 5, 3, 6});
  simple_gla_args<float> a{q.view<4>(), q.view<4>(), v.view<4>(), g.view<3>(), o.view<4>(), {}, {}, {}, {}};
  CHECK_THROWS_WITH(simple_gla(a), "simple_gla: argument 'g' has shape [2,5,4], expected [2,5,3]");
  tensor<float> g2({2, 5, 3});
  a.g = g2.view<3>();
  a.k = v.view<4>();
  CHECK_THROWS_WITH(simple_gla(a), "simple_gla: argument 'k' has shape [2,5,3,6], expected [2,5,3,4] (as 'q')");
  a.k = q.view<4>();
  CHECK_THROWS_AS(simple_gla(a, run_options{form::direct, 0, 1}), option_error);
  CHECK_NOTHROW(simple_gla(a, run_options{form::parallel, 0, 1}));
}
