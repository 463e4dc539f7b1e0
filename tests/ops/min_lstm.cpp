// min_lstm: the reference against a hand-computed case, then the common scan-op tests.
#include "scan_support.hpp"

using scan_op = scan_test::min_lstm_op;
#include "scan_tests.inc"

TEST_CASE("reference min_lstm matches a hand-computed case", "[min_lstm][reference]") {
  using namespace scan_test;
  // f_raw = ln 3 -> f = 0.75; i_raw = -ln 3 -> i = 0.25; f' = 0.75, i' = 0.25; h_raw = 0.5 -> ĝ = 1
  // h1 = 0.75*4 + 0.25 = 3.25
  std::vector<tensor<double>> in{tensor<double>({1, 1, 1}, std::log(3.0)), tensor<double>({1, 1, 1}, -std::log(3.0)),
                                 tensor<double>({1, 1, 1}, 0.5)};
  const auto r = reference_run<min_lstm_op>(in, tensor<double>({1, 1}, 4.0));
  CHECK(r.o[0] == Approx(3.25));
  CHECK(r.h[0] == Approx(3.25));
}

TEST_CASE("min_lstm: both gates saturated off stays finite", "[min_lstm]") {
  using namespace scan_test;
  // f_raw, i_raw ≈ -120: f, i underflow in fp32; f/(f+i) is still well defined
  auto in = min_lstm_op::inputs(1, 16, 5);
  for (index_t i = 0; i < in[0].size(); ++i) {
    in[0][i] = -120.0 + in[0][i];
    in[1][i] = -120.0 + in[1][i];
  }
  const auto h0 = random_tensor<double>({1, 5});
  const auto ref = reference_run<min_lstm_op>(in, h0);
  for (form f : all_forms()) {
    CAPTURE(to_string(f));
    const auto got = run<min_lstm_op, float>(in, h0, {}, {f, 3, 1});
    CHECK(all_finite(got.o));
    CHECK(max_rel_error(got.o, ref.o) < tol<float>);
  }
}
