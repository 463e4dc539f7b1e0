// gla: the reference against a hand-computed case, every form against the double reference
// (float and double, chunk sizes dividing T or not), splits, varlen, threads, T = 0, extreme
// gates (g = -20 and g = 0), errors.
#include "chunk_testing.hpp"
#include "seqmix/ops/gla.hpp"

using namespace seqmix;
using namespace seqmix::testing;
using namespace seqmix::testing::chunk;

namespace {
struct gla_op : qkv_op {
  static inline double g_lo = -1.0, g_hi = 0.0;
  static inputs make(index_t B, index_t L, index_t H, index_t K, index_t V) {
    inputs in = make_qkv(B, L, H, K, V);
    in["g"] = random_tensor<double>({B, L, H, K}, g_lo, g_hi);
    return in;
  }
  static std::vector<std::string> timed() { return {"q", "k", "v", "g"}; }
  template <class T>
  static void call(const typed<T>& in, tensor<T>& o, const tensor<T>& s0, tensor<T>& s1,
                   std::span<const std::int64_t> cu, const run_options& opt, bool reference) {
    gla_args<T> a;
    bind(a, in, o, s0, s1, cu);
    a.g = in.at("g").template view<4>();
    if (reference) reference::gla(a);
    else gla(a, opt);
  }
};
}  // namespace

TEST_CASE("reference gla matches a hand-computed case", "[gla][reference]") {
  // K = 2, V = 1, scale 1, one step from S0 = [1; 2]: g = [log .5, log .25], k = [1, 1], v = 3
  // S1 = [0.5 + 3; 0.5 + 3] = [3.5; 3.5], q = [1, 2] -> o = 3.5 + 7 = 10.5
  tensor<double> q({1, 1, 1, 2}, {1, 2}), k({1, 1, 1, 2}, {1, 1}), v({1, 1, 1, 1}, 3),
      g({1, 1, 1, 2}, {std::log(0.5), std::log(0.25)}), o({1, 1, 1, 1}), s0({1, 1, 2, 1}, {1, 2}), s1({1, 1, 2, 1});
  gla_args<double> a{q.view<4>(), k.view<4>(), v.view<4>(), g.view<4>(), o.view<4>(), s0.view<4>(), s1.view<4>(), {}, 1.0};
  reference::gla(a);
  CHECK(o[0] == Approx(10.5));
  CHECK(s1[0] == Approx(3.5));
  CHECK(s1[1] == Approx(3.5));
}

TEMPLATE_TEST_CASE("gla: every form matches the double reference", "[gla]", float, double) {
  check_standard_forms<gla_op, TestType>(tol<TestType> * 5);
}

TEMPLATE_TEST_CASE("gla: splits, varlen, threads, T = 0", "[gla]", float, double) {
  check_structure<gla_op, TestType>(2, 16, 24, tol<TestType> * 5);
}

TEMPLATE_TEST_CASE("gla: extreme gates stay finite and correct", "[gla]", float, double) {
  check_extreme_gates<gla_op, TestType>(tol<TestType> * 20);
}

TEST_CASE("gla rejects bad shapes and options", "[gla][errors]") {
  tensor<float> q({2, 5, 3, 4}), g({2, 5, 3, 5}), v({2, 5, 3, 6}), o({2, 5, 3, 6}), s({2, 3, 4, 5});
  gla_args<float> a{q.view<4>(), q.view<4>(), v.view<4>(), g.view<4>(), o.view<4>(), {}, {}, {}, {}};
  CHECK_THROWS_WITH(gla(a), "gla: argument 'g' has shape [2,5,3,5], expected [2,5,3,4] (as 'q')");
  a.g = q.view<4>();
  a.initial_state = s.view<4>();
  CHECK_THROWS_WITH(gla(a), "gla: argument 'initial_state' has shape [2,3,4,5], expected [2,3,4,6]");
  a.initial_state = {};
  a.o = tensor_view<float, 4>(o.data(), {2, 5, 3, 5});
  CHECK_THROWS_AS(gla(a), shape_error);
  a.o = o.view<4>();
  std::vector<std::int64_t> cu{0, 3, 5};
  a.cu_seqlens = cu;
  CHECK_THROWS_WITH(gla(a), "gla: argument 'cu_seqlens' requires batch 1, got batch 2");
  a.cu_seqlens = {};
  CHECK_THROWS_AS(gla(a, run_options{form::fft, 0, 1}), option_error);
  CHECK_THROWS_WITH(gla(a, run_options{form::chunked, 17, 1}),
                    "gla: chunk size 17 is not supported (a multiple of 16 in [16, 256])");
  CHECK_NOTHROW(gla(a, run_options{form::chunked, 32, 1}));
}
