// rwkv4: the reference against the direct sums of OPS.md, the op against the double
// reference (float and double), large k (±80) finite and exact at any length, splits,
// varlen, threads, aliased state, T = 0, errors.
#include "ops/rwkv_harness.hpp"
#include "seqmix/ops/rwkv4.hpp"

using namespace seqmix;
using namespace seqmix::testing;
using namespace seqmix::testing::rwkv;

namespace {
struct rwkv4_op {
  static std::vector<std::string> time_inputs() { return {"k", "v"}; }
  static std::vector<index_t> state_shape(index_t N, const named& in) { return {N, 3, in.at("k").extent(2)}; }
  static std::vector<index_t> out_shape(const named& in) { return in.at("v").shape(); }
  static std::vector<form> forms() { return {form::recurrent}; }
  template <class T>
  static void run(const named& in, const tensor<T>& s0, tensor<T>& o, tensor<T>& sN,
                  std::span<const std::int64_t> cu, const run_options& opt, bool ref) {
    const auto k = cast<T>(in.at("k")), v = cast<T>(in.at("v")), w = cast<T>(in.at("w")), u = cast<T>(in.at("u"));
    rwkv4_args<T> a{k.template view<3>(), v.template view<3>(), w.template view<1>(), u.template view<1>(),
                    o.template view<3>(), s0.template view<3>(), sN.template view<3>(), cu};
    if (ref) reference::rwkv4(a);
    else rwkv4(a, opt);
  }
};

// k in [-klim, klim], v in [-1, 1], w = e^{U(-3, 1)} > 0, u in [-1, 1].
named make_inputs(index_t B, index_t L, index_t D, double klim = 2.0) {
  named in;
  in["k"] = random_tensor<double>({B, L, D}, -klim, klim);
  in["v"] = random_tensor<double>({B, L, D});
  in["w"] = random_tensor<double>({D}, -3.0, 1.0);
  for (auto& x : in["w"].values()) x = std::exp(x);
  in["u"] = random_tensor<double>({D});
  return in;
}

// A valid random state: a, b from a real past (b > 0), p in [-3, 3].
tensor<double> make_state(index_t N, index_t D) {
  tensor<double> s({N, 3, D});
  for (index_t n = 0; n < N; ++n)
    for (index_t d = 0; d < D; ++d) {
      const double b = std::exp(random_tensor<double>({1}, -2.0, 2.0)[0]);
      s[(n * 3 + 0) * D + d] = b * random_tensor<double>({1})[0];
      s[(n * 3 + 1) * D + d] = b;
      s[(n * 3 + 2) * D + d] = random_tensor<double>({1}, -3.0, 3.0)[0];
    }
  return s;
}
}  // namespace

TEST_CASE("reference rwkv4 equals the direct sums of OPS.md", "[rwkv4][reference]") {
  const index_t L = 40, D = 5;
  const auto in = make_inputs(1, L, D, 3.0);
  const auto r = call<rwkv4_op, double>(in, tensor<double>({1, 3, D}), {}, true);
  for (index_t d = 0; d < D; ++d) {
    const double w = in.at("w")[d], u = in.at("u")[d];
    for (index_t t = 0; t < L; ++t) {
      double num = std::exp(u + in.at("k")[t * D + d]) * in.at("v")[t * D + d];
      double den = std::exp(u + in.at("k")[t * D + d]);
      for (index_t i = 0; i < t; ++i) {
        const double e = std::exp(-double(t - 1 - i) * w + in.at("k")[i * D + d]);
        num += e * in.at("v")[i * D + d];
        den += e;
      }
      CAPTURE(d, t);
      CHECK(r.o[t * D + d] == Approx(num / den).epsilon(1e-12));
    }
  }
  // hand value: one step from an empty past returns v
  named one = make_inputs(1, 1, 1);
  CHECK(call<rwkv4_op, double>(one, tensor<double>({1, 3, 1}), {}, true).o[0] == Approx(one.at("v")[0]));
}

TEMPLATE_TEST_CASE("rwkv4 matches the double reference", "[rwkv4]", float, double) {
  const double tolerance = std::is_same_v<TestType, float> ? 2e-5 : 1e-12;
  for (auto [L, D] : {std::pair<index_t, index_t>{1, 5}, {7, 37}, {129, 64}, {300, 20}}) {
    CAPTURE(L, D);
    check_against_reference<rwkv4_op, TestType>(make_inputs(2, L, D), make_state(2, D), tolerance);
  }
}

TEMPLATE_TEST_CASE("rwkv4: k up to ±80 stays finite and exact", "[rwkv4]", float, double) {
  // float: the inputs' own rounding (k = 80 to 3.8e-6 absolute) bounds the error
  const double tolerance = std::is_same_v<TestType, float> ? 2e-5 : 1e-12;
  const auto in = make_inputs(1, 2000, 33, 80.0);
  const auto got = call<rwkv4_op, TestType>(in, tensor<double>({1, 3, 33}));
  const auto ref = call<rwkv4_op, double>(in, tensor<double>({1, 3, 33}), {}, true);
  CHECK(all_finite(got.o));
  CHECK(all_finite(got.state));
  CHECK(max_rel_error(got.o, ref.o) < tolerance);
}

TEST_CASE("rwkv4: T = 100000 with k up to ±80, finite and equal to the double reference", "[rwkv4][.long]") {
  const index_t L = full_scale() ? 100000 : 20000, D = 64;
  auto in = make_inputs(1, L, D, 80.0);
  // bursts of extreme keys: long runs at +80 then -80 (the past must not overflow or vanish)
  for (index_t t = 0; t < L; ++t)
    for (index_t d = 0; d < D; ++d)
      if ((t / 1000) % 3 == 1) in["k"][t * D + d] = (d % 2 ? 80.0 : -80.0);
  for (auto& w : in["w"].values()) w *= 1e-3;  // slow decay: memory over thousands of steps
  const auto got = call<rwkv4_op, float>(in, tensor<double>({1, 3, D}));
  const auto ref = call<rwkv4_op, double>(in, tensor<double>({1, 3, D}), {}, true);
  CHECK(all_finite(got.o));
  CHECK(all_finite(got.state));
  CHECK(max_rel_error(got.o, ref.o) < 2e-5);
  // the state's exponent p carries the scale: a/b stays O(1)
  for (index_t d = 0; d < D; ++d) CHECK(std::abs(got.state[D + d]) < 1e30);
}

TEST_CASE("rwkv4: a split carrying state equals one call", "[rwkv4]") {
  check_splits<rwkv4_op>(make_inputs(1, 70, 19), make_state(1, 19), 1e-12);
}

TEMPLATE_TEST_CASE("rwkv4: varlen, threads bitwise, T = 0, aliased state", "[rwkv4]", float, double) {
  check_varlen<rwkv4_op, TestType>(make_inputs(1, 60, 35), make_state(3, 35), {0, 17, 17, 60});
  const auto in = make_inputs(2, 50, 70);
  const auto s0 = make_state(2, 70);
  check_threads_and_empty<rwkv4_op, TestType>(in, s0);
  check_aliased_state<rwkv4_op, TestType>(in, s0);
}

TEST_CASE("rwkv4 rejects bad shapes and forms", "[rwkv4][errors]") {
  tensor<float> k({2, 4, 8}), v({2, 4, 7}), w({8}), u({7}), o({2, 4, 8}), s({2, 2, 8});
  rwkv4_args<float> a{k.view<3>(), v.view<3>(), w.view<1>(), w.view<1>(), o.view<3>(), {}, {}, {}};
  CHECK_THROWS_WITH(rwkv4(a), "rwkv4: argument 'v' has shape [2,4,7], expected [2,4,8] (as 'k')");
  a.v = k.view<3>();
  a.u = u.view<1>();
  CHECK_THROWS_WITH(rwkv4(a), "rwkv4: argument 'u' has shape [7], expected [8]");
  a.u = w.view<1>();
  a.initial_state = s.view<3>();
  CHECK_THROWS_WITH(rwkv4(a), "rwkv4: argument 'initial_state' has shape [2,2,8], expected [2,3,8]");
  a.initial_state = {};
  CHECK_NOTHROW(rwkv4(a));
  CHECK_THROWS_AS(rwkv4(a, {form::chunked, 0, 1}), option_error);
}
