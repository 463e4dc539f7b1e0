// retention: the reference against a hand-computed case, every form against the double reference
// (float and double, chunk sizes dividing T or not), splits, varlen, threads, T = 0, extreme
// gates (g = -20 and g = 0), errors.
#include "chunk_testing.hpp"
#include "seqmix/ops/retention.hpp"

using namespace seqmix;
using namespace seqmix::testing;
using namespace seqmix::testing::chunk;

namespace {
struct retention_op : qkv_op {
  static inputs make(index_t B, index_t L, index_t H, index_t K, index_t V) { return make_qkv(B, L, H, K, V); }
  static std::vector<std::string> timed() { return {"q", "k", "v"}; }
  template <class T>
  static void call(const typed<T>& in, tensor<T>& o, const tensor<T>& s0, tensor<T>& s1,
                   std::span<const std::int64_t> cu, const run_options& opt, bool reference) {
    retention_args<T> a;
    bind(a, in, o, s0, s1, cu);
    if (reference) reference::retention(a);
    else retention(a, opt);
  }
};
}  // namespace

TEST_CASE("reference retention matches a hand-computed case", "[retention][reference]") {
  // head 0 decays by 1 - 2^-5 = 0.96875, head 1 by 1 - 2^-6; K = V = 1, scale 1, S0 = 0,
  // k = v = q = 1 twice: o = [1, 1 + γ_h]
  tensor<double> q({1, 2, 2, 1}, {1, 1, 1, 1}), o({1, 2, 2, 1}), s1({1, 2, 1, 1});
  retention_args<double> a{q.view<4>(), q.view<4>(), q.view<4>(), o.view<4>(), {}, s1.view<4>(), {}, 1.0};
  reference::retention(a);
  CHECK(o[0] == Approx(1.0));
  CHECK(o[2] == Approx(1.96875));
  CHECK(o[3] == Approx(1.984375));
  CHECK(s1[1] == Approx(1.984375));
}

TEMPLATE_TEST_CASE("retention: every form matches the double reference", "[retention]", float, double) {
  check_standard_forms<retention_op, TestType>(tol<TestType> * 5);
}

TEMPLATE_TEST_CASE("retention: splits, varlen, threads, T = 0", "[retention]", float, double) {
  check_structure<retention_op, TestType>(2, 16, 24, tol<TestType> * 5);
}

TEMPLATE_TEST_CASE("retention: many heads (decays up to 1 - 2^-20), long T", "[retention]", float, double) {
  const inputs in = retention_op::make(1, 700, 16, 8, 8);
  const auto s0 = random_tensor<double>(retention_op::state_shape(in, 1));
  const auto ref = run<retention_op, double>(in, s0, {}, {}, true);
  for (form f : {form::recurrent, form::chunked, form::parallel}) {
    CAPTURE(to_string(f));
    const auto r = run<retention_op, TestType>(in, s0, {}, run_options{f, 0, 1});
    CHECK(max_rel_error(r.o, ref.o) < tol<TestType> * 20);
  }
}

TEST_CASE("retention rejects bad shapes and options", "[retention][errors]") {
  tensor<float> q({2, 5, 3, 4}), v({2, 5, 2, 6}), o({2, 5, 3, 6});
  retention_args<float> a{q.view<4>(), q.view<4>(), v.view<4>(), o.view<4>(), {}, {}, {}, {}};
  CHECK_THROWS_WITH(retention(a), "retention: argument 'v' has shape [2,5,2,6], expected [2,5,3,?]");
  tensor<float> v2({2, 5, 3, 6});
  a.v = v2.view<4>();
  CHECK_THROWS_AS(retention(a, run_options{form::chunked, 300, 1}), option_error);
  CHECK_NOTHROW(retention(a));
}
