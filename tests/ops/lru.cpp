// lru: the reference against a hand-computed case, then the common scan-op tests.
#include "scan_support.hpp"

using scan_op = scan_test::lru_op;
#include "scan_tests.inc"

TEST_CASE("reference lru matches a hand-computed case", "[lru][reference]") {
  using namespace scan_test;
  // |λ| = 0.5 (nu_log = log ln 2), phase π/2 (theta_log = log π/2): λ = 0.5i, γ = sqrt(0.75)
  // x = (1, 0), h0 = 0: h1 = γ; h2 = 0.5i·γ + γ·(0 + 1i)... with x2 = (0, 1): h2 = γ(0.5i) + γ i = 1.5 γ i
  const double g = std::sqrt(0.75);
  std::vector<tensor<double>> in{tensor<double>({1, 2, 1}, {1, 0}), tensor<double>({1, 2, 1}, {0, 1}),
                                 tensor<double>({1}, std::log(std::log(2.0))),
                                 tensor<double>({1}, std::log(std::acos(-1.0) / 2))};
  const auto r = reference_run<lru_op>(in, tensor<double>());
  CHECK(r.o[0] == Approx(g));
  CHECK(r.o[1] == Approx(0.0).margin(1e-12));
  CHECK(r.o[2] == Approx(0.0).margin(1e-12));
  CHECK(r.o[3] == Approx(1.5 * g));
  CHECK(r.h[1] == Approx(1.5 * g));
}

TEST_CASE("lru: long chunks keep the phase (closed-form λ^len)", "[lru]") {
  using namespace scan_test;
  auto in = lru_op::inputs(1, 5000, 16);
  for (index_t d = 0; d < 16; ++d) in[2][d] = std::log(-std::log(0.9999));  // |λ| = 0.9999: long memory
  const auto h0 = random_tensor<double>({1, 16, 2});
  const auto ref = reference_run<lru_op>(in, h0);
  for (int chunk : {1000, 1237}) {
    CAPTURE(chunk);
    const auto got = run<lru_op, double>(in, h0, {}, {form::chunked, chunk, 2});
    CHECK(max_rel_error(got.o, ref.o) < 1e-10);
  }
}
