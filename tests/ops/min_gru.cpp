// min_gru: the reference against a hand-computed case, then the common scan-op tests.
#include "scan_support.hpp"

using scan_op = scan_test::min_gru_op;
#include "scan_tests.inc"

TEST_CASE("reference min_gru matches a hand-computed case", "[min_gru][reference]") {
  using namespace scan_test;
  // z_raw = 0 -> z = 0.5; h_raw = (1, -ln 3): ĝ = 1.5, σ(-ln 3) = 0.25
  // h1 = 0.5*h0 + 0.5*1.5 = 0.5*2 + 0.75 = 1.75; h2 = 0.5*1.75 + 0.5*0.25 = 1.0
  std::vector<tensor<double>> in{tensor<double>({1, 2, 1}, {0, 0}), tensor<double>({1, 2, 1}, {1, -std::log(3.0)})};
  const auto r = reference_run<min_gru_op>(in, tensor<double>({1, 1}, 2.0));
  CHECK(r.o[0] == Approx(1.75));
  CHECK(r.o[1] == Approx(1.0));
  CHECK(r.h[0] == Approx(1.0));
}

TEST_CASE("min_gru: extreme gates stay finite and accurate", "[min_gru]") {
  using namespace scan_test;
  auto in = min_gru_op::inputs(1, 64, 17);
  for (index_t i = 0; i < in[0].size(); ++i) in[0][i] *= 40.0;  // z_raw in ±100s: saturated gates
  const auto h0 = random_tensor<double>({1, 17});
  const auto ref = reference_run<min_gru_op>(in, h0);
  for (form f : all_forms()) {
    CAPTURE(to_string(f));
    const auto got = run<min_gru_op, float>(in, h0, {}, {f, 5, 1});
    CHECK(all_finite(got.o));
    CHECK(max_rel_error(got.o, ref.o) < tol<float>);
  }
}
