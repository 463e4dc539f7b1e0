// simple_gla: the reference against a hand-computed case, every form against the double reference
// (float and double, chunk sizes dividing T or not), splits, varlen, threads, T = 0, extreme
// gates (g = -20 and g = 0), errors.
#include "chunk_testing.hpp"
#include "seqmix/ops/simple_gla.hpp"

using namespace seqmix;
using namespace seqmix::testing;
using namespace seqmix::testing::chunk;

namespace {
struct simple_gla_op {
  static inline double g_lo = -1.0, g_hi = 0.0;
  static inputs make(index_t B, index_t L, index_t H, index_t K, index_t V) {
    return {{"q", random_tensor<double>({B, L, H, K})}, {"k", random_tensor<double>({B, L, H, K})},
            {"v", random_tensor<double>({B, L, H, V})}, {"g", random_tensor<double>({B, L, H}, g_lo, g_hi)}};
  }
  static std::vector<std::string> timed() { return {"q", "k", "v", "g"}; }
  static index_t batch(const inputs& in) { return in.at("q").extent(0); }
  static std::vector<index_t> out_shape(const inputs& in) {
    auto s = in.at("v").shape();
    return s;
  }
  static std::vector<index_t> state_shape(const inputs& in, index_t n) {
    return {n, in.at("q").extent(2), in.at("q").extent(3), in.at("v").extent(3)};
  }
  template <class T>
  static void call(const typed<T>& in, tensor<T>& o, const tensor<T>& s0, tensor<T>& s1,
                   std::span<const std::int64_t> cu, const run_options& opt, bool reference) {
    simple_gla_args<T> a;
    a.q = in.at("q").template view<4>();
    a.k = in.at("k").template view<4>();
    a.v = in.at("v").template view<4>();
    a.g = in.at("g").template view<3>();
    a.o = o.template view<4>();
    a.initial_state = s0.template view<4>();
    a.final_state = s1.template view<4>();
    a.cu_seqlens = cu;
    if (reference) reference::simple_gla(a);
    else simple_gla(a, opt);
  }
};
}  // namespace

TEST_CASE("reference simple_gla matches a hand-computed case", "[simple_gla][reference]") {
  // K = V = 1, scale 1: S0 = 2, g = log .5, k = 1, v = 3 -> S1 = 1 + 3 = 4; q = 2 -> o = 8;
  // step 2: g = 0, k = 1, v = -1 -> S2 = 3, q = 1 -> o = 3
  tensor<double> q({1, 2, 1, 1}, {2, 1}), k({1, 2, 1, 1}, {1, 1}), v({1, 2, 1, 1}, {3, -1}),
      g({1, 2, 1}, {std::log(0.5), 0.0}), o({1, 2, 1, 1}), s0({1, 1, 1, 1}, {2}), s1({1, 1, 1, 1});
  simple_gla_args<double> a{q.view<4>(), k.view<4>(), v.view<4>(), g.view<3>(), o.view<4>(), s0.view<4>(), s1.view<4>(), {}, 1.0};
  reference::simple_gla(a);
  CHECK(o[0] == Approx(8.0));
  CHECK(o[1] == Approx(3.0));
  CHECK(s1[0] == Approx(3.0));
}

TEMPLATE_TEST_CASE("simple_gla: every form matches the double reference", "[simple_gla]", float, double) {
  check_forms<simple_gla_op, TestType>(2, 16, 8, tol<TestType> * 5);
  check_forms<simple_gla_op, TestType>(1, 64, 64, tol<TestType> * 5);
  check_forms<simple_gla_op, TestType>(1, 5, 3, tol<TestType> * 5);
}

TEMPLATE_TEST_CASE("simple_gla: splits, varlen, threads, T = 0", "[simple_gla]", float, double) {
  check_structure<simple_gla_op, TestType>(2, 16, 24, tol<TestType> * 5);
}

TEMPLATE_TEST_CASE("simple_gla: extreme gates stay finite and correct", "[simple_gla]", float, double) {
  for (auto [lo, hi] : {std::pair{-20.0, -20.0}, std::pair{0.0, 0.0}, std::pair{-20.0, 0.0}}) {
    simple_gla_op::g_lo = lo;
    simple_gla_op::g_hi = hi;
    const inputs in = simple_gla_op::make(1, 150, 2, 32, 16);
    const auto s0 = random_tensor<double>(simple_gla_op::state_shape(in, 1));
    const auto ref = run<simple_gla_op, double>(in, s0, {}, {}, true);
    for (form f : {form::recurrent, form::chunked, form::parallel}) {
      CAPTURE(lo, hi, to_string(f));
      const auto r = run<simple_gla_op, TestType>(in, s0, {}, run_options{f, 64, 1});
      CHECK(all_finite(r.o));
      CHECK(all_finite(r.s));
      CHECK(max_rel_error(r.o, ref.o) < tol<TestType> * 20);
      CHECK(max_rel_error(r.s, ref.s) < tol<TestType> * 20);
    }
  }
  simple_gla_op::g_lo = -1.0;
  simple_gla_op::g_hi = 0.0;
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
