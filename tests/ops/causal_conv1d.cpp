// causal_conv1d: the reference against a hand-computed case, the op (every form, float and
// double) against the double reference over widths 1-5 (4 is the specialised kernel),
// splits carrying state, varlen, threads bitwise, T = 0, errors.
#include "support/testing.hpp"
#include "seqmix/ops/causal_conv1d.hpp"

using namespace seqmix;
using namespace seqmix::testing;

namespace {
struct conv_case {
  tensor<double> x, w, bias, h0;
  std::vector<std::int64_t> cu;
  conv_activation act = conv_activation::none;
};

conv_case make_case(index_t B, index_t L, index_t D, index_t W, bool bias, bool state, conv_activation act,
                    index_t nseq = -1) {
  conv_case c;
  c.x = random_tensor<double>({B, L, D});
  c.w = random_tensor<double>({D, W});
  if (bias) c.bias = random_tensor<double>({D});
  if (state && W > 1) c.h0 = random_tensor<double>({nseq < 0 ? B : nseq, D, W - 1});
  c.act = act;
  return c;
}

// Runs the op in precision T (the reference when `ref`); returns (o, final_state).
template <class T>
std::pair<tensor<T>, tensor<T>> run_conv(const conv_case& c, bool ref, const run_options& opt = {}) {
  const auto x = cast<T>(c.x), w = cast<T>(c.w), b = cast<T>(c.bias), h0 = cast<T>(c.h0);
  const index_t N = c.cu.empty() ? c.x.extent(0) : index_t(c.cu.size()) - 1;
  const index_t W = c.w.extent(1);
  tensor<T> o(c.x.shape()), hN;
  if (W > 1) hN = tensor<T>({N, c.x.extent(2), W - 1});
  causal_conv1d_args<T> a{x.template view<3>(), w.template view<2>(), b.template view<1>(), o.template view<3>(),
                          h0.template view<3>(), hN.template view<3>(), c.cu, c.act};
  if (ref) reference::causal_conv1d(a);
  else causal_conv1d(a, opt);
  return {std::move(o), std::move(hN)};
}

// rows [t0, t0+len) of a [1,L,D] tensor
tensor<double> rows(const tensor<double>& x, index_t t0, index_t len) {
  const index_t D = x.extent(2);
  tensor<double> r({1, len, D});
  std::copy_n(x.data() + t0 * D, len * D, r.data());
  return r;
}
}  // namespace

TEST_CASE("reference causal_conv1d matches a hand-computed case", "[causal_conv1d][reference]") {
  // one channel, W = 3, weight (1, 2, 3) (tap 2 is the current input), bias 0.5,
  // state (10, 20) = (x_{-2}, x_{-1}), inputs 1, 2:
  //   o_0 = 0.5 + 1*10 + 2*20 + 3*1 = 53.5,  o_1 = 0.5 + 1*20 + 2*1 + 3*2 = 28.5
  conv_case c;
  c.x = tensor<double>({1, 2, 1}, {1, 2});
  c.w = tensor<double>({1, 3}, {1, 2, 3});
  c.bias = tensor<double>({1}, 0.5);
  c.h0 = tensor<double>({1, 1, 2}, {10, 20});
  auto [o, h] = run_conv<double>(c, true);
  CHECK(o[0] == 53.5);
  CHECK(o[1] == 28.5);
  CHECK(h[0] == 1.0);  // final state: the last two inputs, oldest first
  CHECK(h[1] == 2.0);
  c.act = conv_activation::silu;
  auto [os, hs] = run_conv<double>(c, true);
  CHECK(os[1] == Approx(28.5 / (1 + std::exp(-28.5))));
  // a sequence shorter than the state: the state shifts by one
  c.x = tensor<double>({1, 1, 1}, 7);
  auto [o1, h1] = run_conv<double>(c, true);
  CHECK(o1[0] == 71.5);  // 0.5 + 10 + 2*20 + 3*7; silu(71.5) == 71.5 in double
  CHECK(h1[0] == 20.0);
  CHECK(h1[1] == 7.0);
}

TEMPLATE_TEST_CASE("causal_conv1d matches the double reference", "[causal_conv1d]", float, double) {
  for (index_t W : {1, 2, 3, 4, 5})
    for (index_t D : {1, 16, 37, 130})
      for (index_t L : {1, 3, 64})
        for (auto act : {conv_activation::none, conv_activation::silu})
          for (int threads : {1, 2}) {
            const bool bias = (D + L) % 2 == 0, state = W % 2 == 0 || L == 3;
            CAPTURE(W, D, L, to_string(act), threads, bias, state);
            auto c = make_case(2, L, D, W, bias, state, act);
            auto [o, h] = run_conv<TestType>(c, false, {form::auto_, 0, threads});
            auto [ro, rh] = run_conv<double>(c, true);
            CHECK(max_rel_error(o, ro) < tol<TestType>);
            if (W > 1) CHECK(max_rel_error(h, rh) < tol<TestType>);  // a copy of the inputs (rounded to T)
            auto [od, hd] = run_conv<TestType>(c, false, {form::direct, 0, threads});
            CHECK(bitwise_equal(od, o));
          }
}

TEST_CASE("causal_conv1d: splits carrying state equal one call", "[causal_conv1d]") {
  for (index_t W : {2, 4, 5}) {
    auto c = make_case(1, 40, 35, W, true, true, conv_activation::silu);
    auto [o, h] = run_conv<float>(c, false);
    // pieces of 1, 2 (shorter than the state), 17, 20
    index_t t0 = 0;
    tensor<double> state = c.h0;
    for (index_t len : {1, 2, 17, 20}) {
      CAPTURE(W, t0, len);
      conv_case p = c;
      p.x = rows(c.x, t0, len);
      p.h0 = state;
      auto [op, hp] = run_conv<float>(p, false);
      for (index_t i = 0; i < len * 35; ++i) REQUIRE(op[i] == o[t0 * 35 + i]);
      state = cast<double>(hp);
      t0 += len;
    }
    CHECK(bitwise_equal(cast<float>(state), h));
  }
}

TEMPLATE_TEST_CASE("causal_conv1d: varlen equals separate calls", "[causal_conv1d][varlen]", float, double) {
  auto c = make_case(1, 30, 20, 4, true, true, conv_activation::silu, 4);
  c.cu = {0, 2, 2, 17, 30};  // lengths 2 (< W-1), 0, 15, 13
  auto [o, h] = run_conv<TestType>(c, false);
  for (int s = 0; s < 4; ++s) {
    CAPTURE(s);
    const index_t b = c.cu[s], len = c.cu[s + 1] - c.cu[s];
    conv_case one = c;
    one.cu = {};
    one.x = rows(c.x, b, len);
    one.h0 = tensor<double>({1, 20, 3});
    std::copy_n(c.h0.data() + 60 * s, 60, one.h0.data());
    auto [oo, hh] = run_conv<TestType>(one, false);
    for (index_t i = 0; i < 20 * len; ++i) REQUIRE(oo[i] == o[20 * b + i]);
    for (index_t i = 0; i < 60; ++i) REQUIRE(hh[i] == h[60 * s + i]);
  }
}

TEST_CASE("causal_conv1d: T = 0 passes the state through; state may alias", "[causal_conv1d]") {
  auto c = make_case(2, 0, 17, 4, true, true, conv_activation::none);
  auto [o, h] = run_conv<float>(c, false);
  CHECK(bitwise_equal(h, cast<float>(c.h0)));
  // aliasing: initial_state and final_state are one buffer
  auto d = make_case(2, 9, 17, 4, true, true, conv_activation::none);
  auto [ro, rh] = run_conv<float>(d, false);
  auto x = cast<float>(d.x), w = cast<float>(d.w), b = cast<float>(d.bias), s = cast<float>(d.h0);
  tensor<float> o2(x.shape());
  causal_conv1d_args<float> a{x.view<3>(), w.view<2>(), b.view<1>(), o2.view<3>(), s.view<3>(), s.view<3>()};
  causal_conv1d(a, {form::auto_, 0, 2});
  CHECK(bitwise_equal(o2, ro));
  CHECK(bitwise_equal(s, rh));
}

TEST_CASE("causal_conv1d: threads give bitwise equal results", "[causal_conv1d]") {
  auto c = make_case(3, 50, 700, 4, true, true, conv_activation::silu);
  auto [o1, h1] = run_conv<float>(c, false, {form::auto_, 0, 1});
  auto [o2, h2] = run_conv<float>(c, false, {form::auto_, 0, 2});
  CHECK(bitwise_equal(o1, o2));
  CHECK(bitwise_equal(h1, h2));
}

TEST_CASE("causal_conv1d rejects bad shapes and options", "[causal_conv1d][errors]") {
  tensor<float> x({2, 5, 3}), w({4, 4}), o({2, 5, 3}), s({2, 3, 2});
  causal_conv1d_args<float> a{x.view<3>(), w.view<2>(), {}, o.view<3>(), {}, {}};
  CHECK_THROWS_WITH(causal_conv1d(a), "causal_conv1d: argument 'weight' has shape [4,4], expected [3,?]");
  tensor<float> w3({3, 3});
  a.weight = w3.view<2>();
  a.initial_state = s.view<3>();
  CHECK_NOTHROW(causal_conv1d(a));
  tensor<float> s2({2, 3, 3});
  a.initial_state = s2.view<3>();
  CHECK_THROWS_WITH(causal_conv1d(a), "causal_conv1d: argument 'initial_state' has shape [2,3,3], expected [2,3,2]");
  a.initial_state = {};
  tensor<float> b({4});
  a.bias = b.view<1>();
  CHECK_THROWS_AS(causal_conv1d(a), shape_error);
  a.bias = {};
  CHECK_THROWS_WITH(causal_conv1d(a, {form::chunked}), "causal_conv1d: form 'chunked' is not available (forms: direct)");
  CHECK_THROWS_AS(parse_conv_activation("causal_conv1d", "relu"), option_error);
  std::vector<std::int64_t> cu{0, 5};
  a.cu_seqlens = cu;
  CHECK_THROWS_AS(causal_conv1d(a), shape_error);  // cu_seqlens needs batch 1
}

TEST_CASE("causal_conv1d at benchmark scale matches the reference", "[causal_conv1d][.long]") {
  const index_t L = full_scale() ? 2048 : 300, D = full_scale() ? 1536 : 200;
  for (auto act : {conv_activation::none, conv_activation::silu}) {
    auto c = make_case(1, L, D, 4, true, true, act);
    auto [ro, rh] = run_conv<double>(c, true);
    auto [o, h] = run_conv<float>(c, false, {form::auto_, 0, 2});
    CHECK(max_rel_error(o, ro) < tol<float>);
    CHECK(max_rel_error(h, rh) < tol<float>);
  }
}
