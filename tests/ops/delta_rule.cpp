// delta_rule: the reference against a hand-computed case; every form against the double
// reference (normalised and raw keys, chunk sizes not dividing T, K != V); splits, varlen,
// threads, T = 0, aliasing, errors; a long bounded stream ([.long]).
#include "delta_support.hpp"

#define DELTA_OP "delta_rule"
#define DELTA_GATED 0
#include "delta_tests.inc"

TEST_CASE("reference delta_rule matches a hand-computed case", "[delta_rule][reference]") {
  // K = 2, V = 1, scale 1. t=1: k=(1,0), v=2, β=.5 -> S = [1,0]ᵀ, q=(1,1) -> o = 1.
  // t=2: k=(1,1), v=1, β=.5: kᵀS = 1, S = S - .5 k·1 + .5 k·1 = [1,0]ᵀ, q=(1,2) -> o = 1.
  delta_case c;
  c.q = tensor<double>({1, 2, 1, 2}, {1, 1, 1, 2});
  c.k = tensor<double>({1, 2, 1, 2}, {1, 0, 1, 1});
  c.v = tensor<double>({1, 2, 1, 1}, {2, 1});
  c.beta = tensor<double>({1, 2, 1}, {0.5, 0.5});
  c.scale = 1.0;
  const auto r = run_delta<double>(c, {}, true);
  CHECK(r.o[0] == Approx(1.0));
  CHECK(r.o[1] == Approx(1.0));
  CHECK(r.state[0] == Approx(1.0));
  CHECK(r.state[1] == Approx(0.0).margin(1e-15));
  // with an initial state S0 = [0,4]ᵀ: t=1: kᵀS0 = 0 -> S = [1,4]ᵀ, o = 5;
  // t=2: kᵀS = 5, S = [1,4]ᵀ - .5·5 + .5 = [-1,2]ᵀ, o = -1 + 4 = 3
  c.h0 = tensor<double>({1, 1, 2, 1}, {0, 4});
  const auto r2 = run_delta<double>(c, {}, true);
  CHECK(r2.o[0] == Approx(5.0));
  CHECK(r2.o[1] == Approx(3.0));
  CHECK(r2.state[0] == Approx(-1.0));
  CHECK(r2.state[1] == Approx(2.0));
}
