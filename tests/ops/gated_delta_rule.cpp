// gated_delta_rule: the reference against a hand-computed case; every form against the
// double reference (normalised and raw keys, strong forgets, chunk sizes not dividing T,
// K != V); splits, varlen, threads, T = 0, aliasing, errors; a long bounded stream ([.long]).
#include "delta_support.hpp"

#define DELTA_OP "gated_delta_rule"
#define DELTA_GATED 1
#include "delta_tests.inc"

TEST_CASE("reference gated_delta_rule matches a hand-computed case", "[gated_delta_rule][reference]") {
  // K = 2, V = 1, scale 1. t=1: g=0, k=(1,0), v=2, β=.5 -> S = [1,0]ᵀ, q=(1,1) -> o = 1.
  // t=2: g=log .5, k=(1,1), v=1, β=.5: kᵀS = 1, S = .5([1,0]ᵀ - .5[1,1]ᵀ) + .5[1,1]ᵀ
  //      = [.75,.25]ᵀ, q=(1,2) -> o = 1.25.
  delta_case c;
  c.q = tensor<double>({1, 2, 1, 2}, {1, 1, 1, 2});
  c.k = tensor<double>({1, 2, 1, 2}, {1, 0, 1, 1});
  c.v = tensor<double>({1, 2, 1, 1}, {2, 1});
  c.beta = tensor<double>({1, 2, 1}, {0.5, 0.5});
  c.g = tensor<double>({1, 2, 1}, {0.0, std::log(0.5)});
  c.scale = 1.0;
  const auto r = run_delta<double>(c, {}, true);
  CHECK(r.o[0] == Approx(1.0));
  CHECK(r.o[1] == Approx(1.25));
  CHECK(r.state[0] == Approx(0.75));
  CHECK(r.state[1] == Approx(0.25));
}

TEST_CASE("gated_delta_rule with g = 0 equals delta_rule", "[gated_delta_rule]") {
  delta_shape s{2, 45, 2, 8, 8};
  auto c = make_delta_case(s, true, true);
  for (auto& x : c.g.values()) x = 0.0;
  auto d = c;
  d.g = {};
  for (const auto& opt : delta_configs()) {
    CAPTURE(describe(opt));
    const auto a = run_delta<double>(c, opt), b = run_delta<double>(d, opt);
    CHECK(max_rel_error(a.o, b.o) < 1e-12);
    CHECK(max_rel_error(a.state, b.state) < 1e-12);
  }
}
