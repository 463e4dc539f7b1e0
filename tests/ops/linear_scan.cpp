// linear_scan: the reference against a hand-computed case, then the common scan-op tests
// (every form × float/double × chunk × threads against the double reference, splits,
// varlen, threads bitwise, T = 0, aliasing, errors), and a 1M-step stream.
#include "scan_support.hpp"

using scan_op = scan_test::linear_scan_op;
using namespace seqmix;
using namespace seqmix::testing;
#include "scan_tests.inc"

TEST_CASE("reference linear_scan matches a hand-computed case", "[linear_scan][reference]") {
  using namespace scan_test;
  // h = e^g h + x with g = log(0.5): h1 = 1, h2 = 0.5 + 2 = 2.5, h3 = 1.25 + 3 = 4.25 (h0 = 0)
  std::vector<tensor<double>> in{tensor<double>({1, 3, 1}, {1, 2, 3}),
                                 tensor<double>({1, 3, 1}, std::vector<double>(3, std::log(0.5)))};
  const auto r = reference_run<linear_scan_op>(in, tensor<double>());
  CHECK(r.o[0] == Approx(1.0));
  CHECK(r.o[1] == Approx(2.5));
  CHECK(r.o[2] == Approx(4.25));
  CHECK(r.h[0] == Approx(4.25));
  // and the op, every form
  for (form f : all_forms()) {
    const auto g = run<linear_scan_op, float>(in, tensor<double>(), {}, {f, 2, 1});
    CHECK(g.o[2] == Approx(4.25).epsilon(1e-6));
  }
}

TEST_CASE("linear_scan: error message names the argument and both shapes", "[linear_scan][errors]") {
  tensor<float> x({2, 5, 3}), g({2, 5, 4}), o({2, 5, 3});
  linear_scan_args<float> a{x.view<3>(), g.view<3>(), o.view<3>(), {}, {}, {}};
  CHECK_THROWS_WITH(linear_scan(a), "linear_scan: argument 'g' has shape [2,5,4], expected [2,5,3] (as 'x')");
}

TEST_CASE("linear_scan: a 1M-step stream stays finite and equals the chunked result", "[linear_scan][.long]") {
  using namespace scan_test;
  const index_t L = full_scale() ? (index_t(1) << 20) : (index_t(1) << 17), D = 64;
  // decays near 1 (long memory) and occasional strong ones
  auto x = bench_like_inputs(L, D);
  tensor<float> o1({1, L, D}), o2({1, L, D}), h1({1, D}), h2({1, D});
  linear_scan_args<float> a{x[0].cview<3>(), x[1].cview<3>(), o1.view<3>(), {}, h1.view<2>()};
  linear_scan(a, {form::recurrent, 0, 1});
  a.o = o2.view<3>();
  a.final_state = h2.view<2>();
  linear_scan(a, {form::chunked, 0, 2});
  CHECK(all_finite(o1));
  CHECK(all_finite(o2));
  CHECK(max_rel_error(o2, o1) < 1e-5);
  CHECK(max_rel_error(h2, h1) < 1e-5);
}
