// rwkv5: the fixed-decay rwkv6. Reference against rwkv6's reference with w broadcast over
// time (an independent property), every form against the double reference, splits,
// varlen, threads, aliased state, T = 0, errors.
#include "ops/rwkv_harness.hpp"
#include "seqmix/ops/rwkv5.hpp"
#include "seqmix/ops/rwkv6.hpp"

using namespace seqmix;
using namespace seqmix::testing;
using namespace seqmix::testing::rwkv;

namespace {
struct rwkv5_op {
  static std::vector<std::string> time_inputs() { return {"r", "k", "v"}; }
  static std::vector<index_t> state_shape(index_t N, const named& in) {
    return {N, in.at("r").extent(2), in.at("r").extent(3), in.at("v").extent(3)};
  }
  static std::vector<index_t> out_shape(const named& in) { return in.at("v").shape(); }
  static std::vector<form> forms() { return {form::recurrent, form::chunked, form::parallel}; }
  template <class T>
  static void run(const named& in, const tensor<T>& s0, tensor<T>& o, tensor<T>& sN,
                  std::span<const std::int64_t> cu, const run_options& opt, bool ref) {
    const auto r = cast<T>(in.at("r")), k = cast<T>(in.at("k")), v = cast<T>(in.at("v")), w = cast<T>(in.at("w")),
               u = cast<T>(in.at("u"));
    rwkv5_args<T> a{r.template view<4>(), k.template view<4>(), v.template view<4>(), w.template view<2>(),
                    u.template view<2>(),  o.template view<4>(), s0.template view<4>(), sN.template view<4>(), cu};
    a.scale = static_cast<T>(in.at("scale")[0]);
    if (ref) reference::rwkv5(a);
    else rwkv5(a, opt);
  }
};

named make_inputs(index_t B, index_t L, index_t H, index_t K, index_t V) {
  named in;
  in["r"] = random_tensor<double>({B, L, H, K});
  in["k"] = random_tensor<double>({B, L, H, K});
  in["v"] = random_tensor<double>({B, L, H, V});
  in["w"] = random_tensor<double>({H, K}, -4.0, 1.5);
  for (auto& x : in["w"].values()) x = -std::exp(x);
  in["u"] = random_tensor<double>({H, K});
  in["scale"] = tensor<double>({1}, 0.7);
  return in;
}
}  // namespace

TEST_CASE("reference rwkv5 equals rwkv6 with the decay broadcast over time", "[rwkv5][reference]") {
  const index_t B = 2, L = 9, H = 2, K = 5, V = 3;
  const auto in = make_inputs(B, L, H, K, V);
  tensor<double> w6({B, L, H, K});
  for (index_t i = 0; i < w6.size(); ++i) w6[i] = in.at("w")[i % (H * K)];
  const auto s0 = random_tensor<double>({B, H, K, V});
  tensor<double> o5({B, L, H, V}), s5({B, H, K, V}), o6({B, L, H, V}), s6({B, H, K, V});
  rwkv5_args<double> a5{in.at("r").cview<4>(), in.at("k").cview<4>(), in.at("v").cview<4>(), in.at("w").cview<2>(),
                        in.at("u").cview<2>(), o5.view<4>(), s0.cview<4>(), s5.view<4>(), {}, 0.7};
  rwkv6_args<double> a6{in.at("r").cview<4>(), in.at("k").cview<4>(), in.at("v").cview<4>(), w6.cview<4>(),
                        in.at("u").cview<2>(), o6.view<4>(), s0.cview<4>(), s6.view<4>(), {}, 0.7};
  reference::rwkv5(a5);
  reference::rwkv6(a6);
  CHECK(max_rel_error(o5, o6) < 1e-14);
  CHECK(max_rel_error(s5, s6) < 1e-14);
  // and a hand value: the first output is scale·Σ_i r_i (S0_ij + u_i k_i v_j)
  double o000 = 0;
  for (index_t i = 0; i < K; ++i)
    o000 += 0.7 * in.at("r")[i] * (s0[i * V] + in.at("u")[i] * in.at("k")[i] * in.at("v")[0]);
  CHECK(o5[0] == Approx(o000).epsilon(1e-12));
}

TEMPLATE_TEST_CASE("rwkv5 matches the double reference", "[rwkv5]", float, double) {
  const double tolerance = std::is_same_v<TestType, float> ? 3e-5 : 1e-11;
  for (auto [L, K, V] : {std::tuple<index_t, index_t, index_t>{1, 8, 5}, {7, 20, 37}, {129, 64, 64}}) {
    CAPTURE(L, K, V);
    check_against_reference<rwkv5_op, TestType>(make_inputs(2, L, 3, K, V), random_tensor<double>({2, 3, K, V}),
                                                tolerance);
  }
}

TEST_CASE("rwkv5: a split carrying state equals one call", "[rwkv5]") {
  check_splits<rwkv5_op>(make_inputs(1, 70, 2, 16, 24), random_tensor<double>({1, 2, 16, 24}), 1e-12);
}

TEMPLATE_TEST_CASE("rwkv5: varlen, threads bitwise, T = 0, aliased state", "[rwkv5]", float, double) {
  check_varlen<rwkv5_op, TestType>(make_inputs(1, 60, 2, 16, 20), random_tensor<double>({3, 2, 16, 20}),
                                   {0, 17, 17, 60});
  // 11 heads: groups of 8 heads run in lockstep; the split must not change any head
  const auto in = make_inputs(2, 50, 11, 16, 16);
  const auto s0 = random_tensor<double>({2, 11, 16, 16});
  check_threads_and_empty<rwkv5_op, TestType>(in, s0);
  check_against_reference<rwkv5_op, TestType>(in, s0, std::is_same_v<TestType, float> ? 3e-5 : 1e-11);
  check_aliased_state<rwkv5_op, TestType>(in, s0);
}

TEST_CASE("rwkv5 rejects bad shapes and forms", "[rwkv5][errors]") {
  tensor<float> r({1, 4, 2, 8}), v({1, 4, 2, 6}), w({1, 8}), u({2, 8}), o({1, 4, 2, 6});
  rwkv5_args<float> a{r.view<4>(), r.view<4>(), v.view<4>(), w.view<2>(), u.view<2>(), o.view<4>(), {}, {}, {}};
  CHECK_THROWS_WITH(rwkv5(a), "rwkv5: argument 'w' has shape [1,8], expected [2,8]");
  a.w = u.view<2>();
  CHECK_NOTHROW(rwkv5(a));
  CHECK_THROWS_AS(rwkv5(a, {form::fft, 0, 1}), option_error);
}
