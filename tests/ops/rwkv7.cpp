// rwkv7: the reference against a hand-computed case and against rwkv6 (b = 0, no decay),
// every form against the double reference (float and double), splits, varlen, threads,
// aliased state, T = 0, errors.
#include "ops/rwkv_harness.hpp"
#include "seqmix/ops/rwkv6.hpp"
#include "seqmix/ops/rwkv7.hpp"

using namespace seqmix;
using namespace seqmix::testing;
using namespace seqmix::testing::rwkv;

namespace {
struct rwkv7_op {
  static std::vector<std::string> time_inputs() { return {"r", "w", "k", "a", "b", "v"}; }
  static std::vector<index_t> state_shape(index_t N, const named& in) {
    return {N, in.at("r").extent(2), in.at("r").extent(3), in.at("v").extent(3)};
  }
  static std::vector<index_t> out_shape(const named& in) { return in.at("v").shape(); }
  static std::vector<form> forms() { return {form::recurrent}; }
  template <class T>
  static void run(const named& in, const tensor<T>& s0, tensor<T>& o, tensor<T>& sN,
                  std::span<const std::int64_t> cu, const run_options& opt, bool ref) {
    const auto r = cast<T>(in.at("r")), w = cast<T>(in.at("w")), k = cast<T>(in.at("k")), a_ = cast<T>(in.at("a")),
               b = cast<T>(in.at("b")), v = cast<T>(in.at("v"));
    rwkv7_args<T> a{r.template view<4>(), w.template view<4>(), k.template view<4>(), a_.template view<4>(),
                    b.template view<4>(), v.template view<4>(), o.template view<4>(), s0.template view<4>(),
                    sN.template view<4>(), cu, {}};
    if (in.count("scale")) a.scale = static_cast<T>(in.at("scale")[0]);
    if (ref) reference::rwkv7(a);
    else rwkv7(a, opt);
  }
};

// As in the model: a = -κ̂, b = κ̂ ⊙ σ(·) with κ̂ unit per head; log decay -exp(U(-3, 0.5)).
named make_inputs(index_t B, index_t L, index_t H, index_t K, index_t V) {
  named in;
  in["r"] = random_tensor<double>({B, L, H, K});
  in["k"] = random_tensor<double>({B, L, H, K});
  in["v"] = random_tensor<double>({B, L, H, V});
  in["w"] = random_tensor<double>({B, L, H, K}, -3.0, 0.5);
  for (auto& x : in["w"].values()) x = -std::exp(x);
  auto kappa = random_tensor<double>({B, L, H, K});
  const auto gate = random_tensor<double>({B, L, H, K}, 0.0, 1.0);
  in["a"] = tensor<double>({B, L, H, K});
  in["b"] = tensor<double>({B, L, H, K});
  for (index_t row = 0; row < B * L * H; ++row) {
    double n = 0;
    for (index_t i = 0; i < K; ++i) n += kappa[row * K + i] * kappa[row * K + i];
    n = std::sqrt(n) + 1e-12;
    for (index_t i = 0; i < K; ++i) {
      in["a"][row * K + i] = -kappa[row * K + i] / n;
      in["b"][row * K + i] = kappa[row * K + i] / n * gate[row * K + i];
    }
  }
  return in;
}
}  // namespace

TEST_CASE("reference rwkv7 matches a hand-computed case", "[rwkv7][reference]") {
  // K = V = 1, S0 = 1, decay 0.5, a = 1, b = -0.25, k = 2, v = 3, r = 2, scale 1:
  // S1 = (0.5 - 0.25)·1 + 6 = 6.25, o = 12.5.
  named in;
  in["r"] = tensor<double>({1, 1, 1, 1}, 2);
  in["w"] = tensor<double>({1, 1, 1, 1}, std::log(0.5));
  in["k"] = tensor<double>({1, 1, 1, 1}, 2);
  in["a"] = tensor<double>({1, 1, 1, 1}, 1);
  in["b"] = tensor<double>({1, 1, 1, 1}, -0.25);
  in["v"] = tensor<double>({1, 1, 1, 1}, 3);
  in["scale"] = tensor<double>({1}, 1.0);
  const auto r = call<rwkv7_op, double>(in, tensor<double>({1, 1, 1, 1}, 1.0), {}, true);
  CHECK(r.o[0] == Approx(12.5));
  CHECK(r.state[0] == Approx(6.25));
  // default scale is 1/sqrt(K)
  in.erase("scale");
  CHECK(call<rwkv7_op, double>(in, tensor<double>({1, 1, 1, 1}, 1.0), {}, true).o[0] == Approx(12.5));
}

TEST_CASE("reference rwkv7 with b = 0 and no decay equals rwkv6 with u = 1", "[rwkv7][reference]") {
  const index_t L = 11, H = 2, K = 6, V = 4;
  auto in = make_inputs(1, L, H, K, V);
  for (auto& x : in["b"].values()) x = 0;
  for (auto& x : in["w"].values()) x = 0;
  in["scale"] = tensor<double>({1}, 0.3);
  const auto s0 = random_tensor<double>({1, H, K, V});
  const auto r7 = call<rwkv7_op, double>(in, s0, {}, true);
  tensor<double> u({H, K}, 1.0), o6({1, L, H, V}), s6({1, H, K, V});
  rwkv6_args<double> a6{in["r"].cview<4>(), in["k"].cview<4>(), in["v"].cview<4>(), in["w"].cview<4>(),
                        u.cview<2>(), o6.view<4>(), s0.cview<4>(), s6.view<4>(), {}, 0.3};
  reference::rwkv6(a6);
  CHECK(max_rel_error(r7.o, o6) < 1e-13);
  CHECK(max_rel_error(r7.state, s6) < 1e-13);
}

TEMPLATE_TEST_CASE("rwkv7 matches the double reference", "[rwkv7]", float, double) {
  const double tolerance = std::is_same_v<TestType, float> ? 3e-5 : 1e-11;
  for (auto [L, K, V] : {std::tuple<index_t, index_t, index_t>{1, 8, 5}, {7, 20, 37}, {64, 64, 64}, {129, 32, 17}}) {
    CAPTURE(L, K, V);
    check_against_reference<rwkv7_op, TestType>(make_inputs(2, L, 3, K, V), random_tensor<double>({2, 3, K, V}),
                                                tolerance);
  }
}

TEST_CASE("rwkv7: extreme decays (zero, tiny, none) stay exact", "[rwkv7]") {
  auto in = make_inputs(1, 80, 2, 16, 16);
  auto& w = in["w"].values();
  for (std::size_t i = 0; i < w.size(); ++i) {
    if (i % 7 == 0) w[i] = -INFINITY;
    else if (i % 7 == 1) w[i] = -60.0;
    else if (i % 7 == 2) w[i] = 0.0;
    else if (i % 7 == 3) w[i] = -1e-6;
  }
  check_against_reference<rwkv7_op, float>(in, random_tensor<double>({1, 2, 16, 16}), 3e-5);
  check_against_reference<rwkv7_op, double>(in, random_tensor<double>({1, 2, 16, 16}), 1e-11);
}

TEST_CASE("rwkv7: a split carrying state equals one call", "[rwkv7]") {
  check_splits<rwkv7_op>(make_inputs(1, 70, 2, 16, 24), random_tensor<double>({1, 2, 16, 24}), 1e-12);
}

TEMPLATE_TEST_CASE("rwkv7: varlen, threads bitwise, T = 0, aliased state", "[rwkv7]", float, double) {
  check_varlen<rwkv7_op, TestType>(make_inputs(1, 60, 2, 16, 20), random_tensor<double>({3, 2, 16, 20}),
                                   {0, 17, 17, 60});
  // 11 heads: groups of 8 heads run in lockstep; the split must not change any head
  const auto in = make_inputs(2, 50, 11, 16, 16);
  const auto s0 = random_tensor<double>({2, 11, 16, 16});
  check_threads_and_empty<rwkv7_op, TestType>(in, s0);
  check_against_reference<rwkv7_op, TestType>(in, s0, std::is_same_v<TestType, float> ? 3e-5 : 1e-11);
  check_aliased_state<rwkv7_op, TestType>(in, s0);
}

TEST_CASE("rwkv7 rejects bad shapes and forms", "[rwkv7][errors]") {
  tensor<float> r({1, 4, 2, 8}), b({1, 4, 2, 9}), v({1, 4, 2, 6}), o({1, 4, 3, 6});
  rwkv7_args<float> a{r.view<4>(), r.view<4>(), r.view<4>(), r.view<4>(), b.view<4>(), v.view<4>(), o.view<4>(),
                      {}, {}, {}, {}};
  CHECK_THROWS_WITH(rwkv7(a), "rwkv7: argument 'b' has shape [1,4,2,9], expected [1,4,2,8] (as 'r')");
  a.b = r.view<4>();
  CHECK_THROWS_WITH(rwkv7(a), "rwkv7: argument 'o' has shape [1,4,3,6], expected [1,4,2,6]");
  a.o = tensor_view<float, 4>(o.data(), {1, 4, 2, 6});
  CHECK_NOTHROW(rwkv7(a));
  CHECK_THROWS_AS(rwkv7(a, {form::parallel, 0, 1}), option_error);
}
