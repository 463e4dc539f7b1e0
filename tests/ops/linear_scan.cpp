// linear_scan: the reference against a hand-computed case, the op (every form) against the
// double reference, splits carrying state, varlen, threads, errors.
#include "support/testing.hpp"
#include "seqmix/ops/linear_scan.hpp"

using namespace seqmix;
using namespace seqmix::testing;

namespace {
template <class T>
struct scan_case {
  tensor<T> x, g, h0;
  std::vector<std::int64_t> cu;
};

template <class T, class U>
std::pair<tensor<T>, tensor<T>> run_linear_scan(const scan_case<U>& in, const run_options& opt = {}) {
  const auto x = cast<T>(in.x), g = cast<T>(in.g), h0 = cast<T>(in.h0);
  const index_t N = in.cu.empty() ? in.x.extent(0) : index_t(in.cu.size()) - 1;
  tensor<T> o(in.x.shape()), hN({N, in.x.extent(2)});
  linear_scan_args<T> a{x.template view<3>(), g.template view<3>(), o.template view<3>(),
                        h0.template view<2>(), hN.template view<2>(), in.cu};
  if constexpr (std::is_same_v<T, double>) reference::linear_scan(a);
  else linear_scan(a, opt);
  return {std::move(o), std::move(hN)};
}
}  // namespace

TEST_CASE("reference linear_scan matches a hand-computed case", "[linear_scan][reference]") {
  // h = e^g h + x with g = log(0.5): h1 = 1, h2 = 0.5 + 2 = 2.5, h3 = 1.25 + 3 = 4.25 (h0 = 0)
  scan_case<double> c{tensor<double>({1, 3, 1}, {1, 2, 3}), tensor<double>({1, 3, 1}, std::vector<double>(3, std::log(0.5))),
                      {}, {}};
  auto [o, h] = run_linear_scan<double>(c);
  CHECK(o[0] == Approx(1.0));
  CHECK(o[1] == Approx(2.5));
  CHECK(o[2] == Approx(4.25));
  CHECK(h[0] == Approx(4.25));
}

TEMPLATE_TEST_CASE("linear_scan matches the double reference", "[linear_scan]", float, double) {
  for (index_t T : {1, 7, 64, 129})
    for (int threads : {1, 2}) {
      CAPTURE(T, threads);
      scan_case<double> c{random_tensor<double>({2, T, 37}), random_tensor<double>({2, T, 37}, -1.0, 0.0),
                          random_tensor<double>({2, 37}), {}};
      auto [o, h] = run_linear_scan<TestType>(c, {form::auto_, 0, threads});
      auto [ro, rh] = run_linear_scan<double>(c);
      CHECK(max_rel_error(o, ro) < tol<TestType>);
      CHECK(max_rel_error(h, rh) < tol<TestType>);
    }
}

TEST_CASE("linear_scan: a split carrying state equals one call", "[linear_scan]") {
  scan_case<double> c{random_tensor<double>({1, 50, 5}), random_tensor<double>({1, 50, 5}, -1.0, 0.0), {}, {}};
  auto [o, h] = run_linear_scan<double>(c);
  // first 20 steps, then the rest from the carried state
  scan_case<double> a{tensor<double>({1, 20, 5}), tensor<double>({1, 20, 5}), {}, {}};
  scan_case<double> b{tensor<double>({1, 30, 5}), tensor<double>({1, 30, 5}), {}, {}};
  std::copy_n(c.x.data(), 100, a.x.data()); std::copy_n(c.g.data(), 100, a.g.data());
  std::copy_n(c.x.data() + 100, 150, b.x.data()); std::copy_n(c.g.data() + 100, 150, b.g.data());
  auto [oa, ha] = run_linear_scan<double>(a);
  b.h0 = ha;
  auto [ob, hb] = run_linear_scan<double>(b);
  for (index_t i = 0; i < 100; ++i) CHECK(oa[i] == o[i]);
  for (index_t i = 0; i < 150; ++i) CHECK(ob[i] == o[100 + i]);
  CHECK(max_rel_error(hb, h) == 0.0);
}

TEST_CASE("linear_scan: varlen equals separate calls", "[linear_scan][varlen]") {
  scan_case<double> c{random_tensor<double>({1, 30, 4}), random_tensor<double>({1, 30, 4}, -1.0, 0.0),
                      random_tensor<double>({3, 4}), {0, 5, 5, 30}};
  auto [o, h] = run_linear_scan<double>(c);
  for (int s = 0; s < 3; ++s) {
    const index_t b = c.cu[s], len = c.cu[s + 1] - c.cu[s];
    scan_case<double> one{tensor<double>({1, len, 4}), tensor<double>({1, len, 4}), tensor<double>({1, 4}), {}};
    std::copy_n(c.x.data() + 4 * b, 4 * len, one.x.data());
    std::copy_n(c.g.data() + 4 * b, 4 * len, one.g.data());
    std::copy_n(c.h0.data() + 4 * s, 4, one.h0.data());
    auto [oo, hh] = run_linear_scan<double>(one);
    for (index_t i = 0; i < 4 * len; ++i) CHECK(oo[i] == o[4 * b + i]);
    for (int d = 0; d < 4; ++d) CHECK(hh[d] == h[4 * s + d]);
  }
}

TEST_CASE("linear_scan rejects bad shapes", "[linear_scan][errors]") {
  tensor<float> x({2, 5, 3}), g({2, 5, 4}), o({2, 5, 3}), h({3, 3});
  linear_scan_args<float> a{x.view<3>(), g.view<3>(), o.view<3>(), {}, {}, {}};
  CHECK_THROWS_WITH(linear_scan(a), "linear_scan: argument 'g' has shape [2,5,4], expected [2,5,3] (as 'x')");
  a.g = x.view<3>();
  a.initial_state = h.view<2>();
  CHECK_THROWS_AS(linear_scan(a), shape_error);
  a.initial_state = {};
  std::vector<std::int64_t> cu{0, 3, 2};
  a.cu_seqlens = cu;
  CHECK_THROWS_AS(linear_scan(a), shape_error);
}
