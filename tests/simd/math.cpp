// seqmix::simd math against <cmath> (long double reference): float and double, the batch
// path (xsimd::batch<T>) and the scalar path (plain T), over wide ranges including the
// extremes (+-80, +-inf, NaN, 0, denormal results). Bounds are stated per function in ULP of
// the result (or an absolute floor where the true result is below the normal range).
#include "support/testing.hpp"
#include "seqmix/simd/math.hpp"

#include <cfloat>
#include <limits>

using namespace seqmix;
namespace sm = seqmix::simd;

namespace {

using ld = long double;

template <class T> constexpr T inf = std::numeric_limits<T>::infinity();
template <class T> constexpr T qnan = std::numeric_limits<T>::quiet_NaN();

// Error of `got` against the exact `want`, in units of the spacing of T at `want`.
template <class T>
double ulp_error(T got, ld want) {
  if (std::isnan(want)) return std::isnan(got) ? 0.0 : INFINITY;
  if (std::isnan(got)) return INFINITY;
  const T w = static_cast<T>(want);  // correctly rounded (up to double rounding), may be inf
  if (std::isinf(w) || std::isinf(got)) return got == w ? 0.0 : INFINITY;
  const ld err = std::abs(static_cast<ld>(got) - want);
  // An absolute error below 2^8 * the smallest normal counts as none: results in or near the
  // subnormal range may be flushed to zero (xsimd's batch exp does).
  if (err <= 256 * static_cast<ld>(std::numeric_limits<T>::min())) return 0.0;
  const ld spacing = std::abs(static_cast<ld>(std::nextafter(w, inf<T>)) - static_cast<ld>(w));
  return static_cast<double>(err / spacing);
}

// Inputs: a log-spaced grid of both signs over [tiny, hi], a uniform grid over [-lim, lim],
// the exact extremes, and random values.
template <class T>
std::vector<T> inputs(T lim, std::initializer_list<T> extra) {
  std::vector<T> xs = {T(0), T(-0.0), T(1), T(-1), T(80), T(-80), T(0.5), T(-0.5), lim, -lim};
  for (T x : extra) xs.push_back(x);
  for (ld e = -30; e <= std::log10(static_cast<ld>(lim)); e += ld(0.05)) {
    const T v = static_cast<T>(std::pow(ld(10), e));
    xs.push_back(v);
    xs.push_back(-v);
  }
  const int n = 4001;
  for (int i = 0; i < n; ++i) xs.push_back(static_cast<T>(-lim + 2 * lim * i / (n - 1)));
  std::uniform_real_distribution<double> u(-static_cast<double>(lim), static_cast<double>(lim));
  for (int i = 0; i < 2000; ++i) xs.push_back(static_cast<T>(u(testing::rng())));
  return xs;
}

struct worst {
  double err = 0;
  ld at = 0;
};

// Applies f on the batch path and on the scalar path, returns the worst error of each.
template <class T, class F, class Ref>
std::pair<worst, worst> measure(const std::vector<T>& xs, F f, Ref ref) {
  using B = sm::batch<T>;
  constexpr std::size_t N = B::size;
  std::vector<T> padded(xs);
  while (padded.size() % N) padded.push_back(T(1));
  std::vector<T> out(padded.size());
  for (std::size_t i = 0; i < padded.size(); i += N) f(B::load_unaligned(&padded[i])).store_unaligned(&out[i]);
  worst wb, ws;
  for (std::size_t i = 0; i < xs.size(); ++i) {
    const ld want = ref(static_cast<ld>(xs[i]));
    const double eb = ulp_error<T>(out[i], want);
    const double es = ulp_error<T>(f(xs[i]), want);
    if (!(eb <= wb.err)) wb = {eb, static_cast<ld>(xs[i])};
    if (!(es <= ws.err)) ws = {es, static_cast<ld>(xs[i])};
  }
  return {wb, ws};
}

#define SEQMIX_CHECK_ULP(T, xs, f, ref, bound)                                                    \
  do {                                                                                              \
    auto [wb, ws] = measure<T>(xs, f, ref);                                                         \
    INFO("batch: worst " << wb.err << " ulp at x=" << static_cast<double>(wb.at) << "; scalar: worst " \
                         << ws.err << " ulp at x=" << static_cast<double>(ws.at));                   \
    CHECK(wb.err <= (bound));                                                                       \
    CHECK(ws.err <= (bound));                                                                       \
  } while (0)

ld ref_softplus(ld x) { return x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x)); }
ld ref_sigmoid(ld x) { return x >= 0 ? 1 / (1 + std::exp(-x)) : std::exp(x) / (1 + std::exp(x)); }
ld ref_log_sigmoid(ld x) { return -ref_softplus(-x); }
ld ref_silu(ld x) { return std::isinf(x) && x < 0 ? qnan<ld> : x * ref_sigmoid(x); }

template <class T> constexpr T lim = std::is_same_v<T, float> ? T(87) : T(700);

// Stated bounds (ULP of the result): exp, log, log1p 2 (xsimd's polynomials are ~1 ulp);
// the composed functions accumulate a few roundings: sigmoid, silu 4; softplus, log_sigmoid 4.
constexpr double ulp_basic = 2, ulp_composed = 4;

}  // namespace

TEMPLATE_TEST_CASE("simd::exp matches std::exp", "[simd]", float, double) {
  using T = TestType;
  const auto xs = inputs<T>(lim<T>, {inf<T>, -inf<T>, qnan<T>, T(1000), T(-1000), T(-745), T(-100)});
  SEQMIX_CHECK_ULP(T, xs, [](auto v) { return sm::exp(v); }, [](ld x) { return std::exp(x); }, ulp_basic);
  CHECK(sm::exp(inf<T>) == inf<T>);
  CHECK(sm::exp(-inf<T>) == T(0));
  CHECK(std::isnan(sm::exp(qnan<T>)));
  CHECK(sm::exp(sm::batch<T>(-inf<T>)).get(0) == T(0));
  CHECK(sm::exp(sm::batch<T>(inf<T>)).get(0) == inf<T>);
}

TEMPLATE_TEST_CASE("simd::log and log1p match std::log and std::log1p", "[simd]", float, double) {
  using T = TestType;
  const T big = std::is_same_v<T, float> ? T(1e30) : T(1e300);
  auto xs = inputs<T>(big, {inf<T>, -inf<T>, qnan<T>, std::numeric_limits<T>::min(),
                            std::numeric_limits<T>::max()});
  std::vector<T> pos;
  for (T x : xs)
    if (!(x < 0)) pos.push_back(x);  // keeps NaN
  pos.push_back(T(-1));            // log(-1) = NaN
  SEQMIX_CHECK_ULP(T, pos, [](auto v) { return sm::log(v); }, [](ld x) { return std::log(x); }, ulp_basic);
  std::vector<T> p1;
  for (T x : xs)
    if (!(x < -1)) p1.push_back(x);
  for (T x : {T(-1), T(-0.999999), T(-0.5), T(1e-8), T(-1e-8), T(-2)}) p1.push_back(x);
  SEQMIX_CHECK_ULP(T, p1, [](auto v) { return sm::log1p(v); }, [](ld x) { return std::log1p(x); }, ulp_basic);
  CHECK(sm::log(T(0)) == -inf<T>);
  CHECK(sm::log1p(T(-1)) == -inf<T>);
  CHECK(sm::log(sm::batch<T>(T(0))).get(0) == -inf<T>);
  CHECK(std::isnan(sm::log(sm::batch<T>(T(-1))).get(0)));
}

TEMPLATE_TEST_CASE("simd::softplus, log_sigmoid, sigmoid, silu are stable everywhere", "[simd]", float, double) {
  using T = TestType;
  const auto xs = inputs<T>(std::is_same_v<T, float> ? T(1e6) : T(1e12),
                            {inf<T>, -inf<T>, qnan<T>, T(88), T(-88), T(-104), T(1e30), T(-1e30)});
  SEQMIX_CHECK_ULP(T, xs, [](auto v) { return sm::softplus(v); }, ref_softplus, ulp_composed);
  SEQMIX_CHECK_ULP(T, xs, [](auto v) { return sm::log_sigmoid(v); }, ref_log_sigmoid, ulp_composed);
  SEQMIX_CHECK_ULP(T, xs, [](auto v) { return sm::sigmoid(v); }, ref_sigmoid, ulp_composed);
  SEQMIX_CHECK_ULP(T, xs, [](auto v) { return sm::silu(v); }, ref_silu, ulp_composed);
  // the limits, on both paths
  for (T x : {inf<T>, -inf<T>}) {
    CAPTURE(x);
    const T sp = x > 0 ? inf<T> : T(0), sg = x > 0 ? T(1) : T(0), ls = x > 0 ? T(0) : -inf<T>;
    CHECK(sm::softplus(x) == sp);
    CHECK(sm::softplus(sm::batch<T>(x)).get(0) == sp);
    CHECK(sm::sigmoid(x) == sg);
    CHECK(sm::sigmoid(sm::batch<T>(x)).get(0) == sg);
    CHECK(sm::log_sigmoid(x) == ls);
    CHECK(sm::log_sigmoid(sm::batch<T>(x)).get(0) == ls);
  }
  CHECK(sm::silu(inf<T>) == inf<T>);
  // NaN in, NaN out
  CHECK(std::isnan(sm::softplus(qnan<T>)));
  CHECK(std::isnan(sm::softplus(sm::batch<T>(qnan<T>)).get(0)));
  CHECK(std::isnan(sm::sigmoid(sm::batch<T>(qnan<T>)).get(0)));
  CHECK(std::isnan(sm::silu(sm::batch<T>(qnan<T>)).get(0)));
  CHECK(std::isnan(sm::log_sigmoid(sm::batch<T>(qnan<T>)).get(0)));
  // no overflow at the extremes named in the spec
  CHECK(sm::softplus(T(80)) == Approx(80.0));
  CHECK(sm::softplus(T(-80)) > T(0));
  CHECK(sm::sigmoid(T(-80)) > T(0));
  CHECK(std::isfinite(sm::log_sigmoid(T(-80))));
}

TEMPLATE_TEST_CASE("simd::logaddexp matches log(e^a + e^b)", "[simd]", float, double) {
  using T = TestType;
  using B = sm::batch<T>;
  const T L = lim<T>;
  const std::vector<T> vals = {T(0), T(1), T(-1), T(80), T(-80), L, -L, T(1e-7), T(3.5), T(-20), T(20),
                               inf<T>, -inf<T>, qnan<T>, std::is_same_v<T, float> ? T(1e30) : T(1e300)};
  std::vector<T> as, bs;
  for (T a : vals)
    for (T b : vals) as.push_back(a), bs.push_back(b);
  std::uniform_real_distribution<double> u(-100, 100);
  for (int i = 0; i < 3000; ++i) as.push_back(T(u(testing::rng()))), bs.push_back(T(u(testing::rng())));
  auto ref = [](ld a, ld b) -> ld {
    if (std::isnan(a) || std::isnan(b)) return qnan<ld>;
    if (a == b && std::isinf(a)) return a;
    const ld m = std::max(a, b);
    return m + std::log1p(std::exp(-std::abs(a - b)));
  };
  double worst_s = 0, worst_b = 0;
  std::size_t n = as.size();
  std::vector<T> pa(as), pb(bs);
  while (pa.size() % B::size) pa.push_back(0), pb.push_back(0);
  std::vector<T> out(pa.size());
  for (std::size_t i = 0; i < pa.size(); i += B::size)
    sm::logaddexp(B::load_unaligned(&pa[i]), B::load_unaligned(&pb[i])).store_unaligned(&out[i]);
  for (std::size_t i = 0; i < n; ++i) {
    CAPTURE(as[i], bs[i]);
    const ld want = ref(as[i], bs[i]);
    // where the result is near 0 (a ≈ -b·...), m + log1p(..) cancels: the bound is then 4 ulp
    // or 2 eps·max(a, b) absolute (the conditioning of the sum itself)
    const T sa = sm::logaddexp(as[i], bs[i]);
    const ld cancel = 2 * std::numeric_limits<T>::epsilon() * std::abs(static_cast<ld>(std::max(as[i], bs[i])));
    auto err = [&](T got) {
      if (std::isfinite(want) && std::isfinite(got) && std::abs(static_cast<ld>(got) - want) <= cancel) return 0.0;
      return ulp_error<T>(got, want);
    };
    const double es = err(sa), eb = err(out[i]);
    if (!(es <= ulp_composed)) CHECK(es <= ulp_composed);
    if (!(eb <= ulp_composed)) CHECK(eb <= ulp_composed);
    worst_s = std::max(worst_s, es);
    worst_b = std::max(worst_b, eb);
  }
  INFO("worst scalar " << worst_s << " ulp, batch " << worst_b << " ulp");
  CHECK(worst_s <= ulp_composed);
  CHECK(worst_b <= ulp_composed);
  CHECK(sm::logaddexp(inf<T>, inf<T>) == inf<T>);
  CHECK(sm::logaddexp(-inf<T>, -inf<T>) == -inf<T>);
  CHECK(sm::logaddexp(B(inf<T>), B(inf<T>)).get(0) == inf<T>);
  CHECK(std::isnan(sm::logaddexp(qnan<T>, -inf<T>)));
  CHECK(std::isnan(sm::logaddexp(B(-inf<T>), B(qnan<T>)).get(0)));
}

TEMPLATE_TEST_CASE("simd::reduce_add and reduce_max", "[simd]", float, double) {
  using T = TestType;
  using B = sm::batch<T>;
  alignas(64) T buf[B::size];
  for (int rep = 0; rep < 200; ++rep) {
    ld sum = 0;
    T mx = -inf<T>;
    std::uniform_real_distribution<double> u(-1000, 1000);
    ld abs_sum = 0;
    for (std::size_t i = 0; i < B::size; ++i) {
      buf[i] = static_cast<T>(u(testing::rng()));
      sum += buf[i];
      abs_sum += std::abs(static_cast<ld>(buf[i]));
      mx = std::max(mx, buf[i]);
    }
    const B b = B::load_aligned(buf);
    // any summation order: |error| <= (n-1) eps sum|x_i|
    CHECK(std::abs(static_cast<ld>(sm::reduce_add(b)) - sum) <=
          abs_sum * static_cast<ld>(B::size) * std::numeric_limits<T>::epsilon());
    CHECK(sm::reduce_max(b) == mx);
  }
  // the maximum in every lane position; -inf and NaN
  for (std::size_t k = 0; k < B::size; ++k) {
    for (std::size_t i = 0; i < B::size; ++i) buf[i] = -inf<T>;
    buf[k] = T(3);
    CHECK(sm::reduce_max(B::load_aligned(buf)) == T(3));
    CHECK(sm::reduce_add(B::load_aligned(buf)) == -inf<T>);
    buf[k] = qnan<T>;
    CHECK(std::isnan(sm::reduce_max(B::load_aligned(buf))));  // NaN propagates from any lane
    CHECK(std::isnan(sm::reduce_add(B::load_aligned(buf))));
  }
}

TEMPLATE_TEST_CASE("simd::load_partial and store_partial touch only n lanes", "[simd]", float, double) {
  using T = TestType;
  using B = sm::batch<T>;
  constexpr std::size_t N = B::size;
  std::vector<T> src(N);
  for (std::size_t i = 0; i < N; ++i) src[i] = T(i + 1);
  for (std::size_t n = 0; n <= N; ++n) {
    CAPTURE(n);
    // the source holds exactly n elements (so ASan catches a read past it)
    std::vector<T> exact(src.begin(), src.begin() + static_cast<std::ptrdiff_t>(n));
    const B v = sm::load_partial<B>(exact.data(), n, T(-7));
    for (std::size_t i = 0; i < N; ++i) CHECK(v.get(i) == (i < n ? T(i + 1) : T(-7)));
    const B z = sm::load_partial<B>(exact.data(), n);
    for (std::size_t i = n; i < N; ++i) CHECK(z.get(i) == T(0));
    // store: the first n written, the rest of a larger buffer untouched
    std::vector<T> dst(N + 2, T(42));
    sm::store_partial(B(T(5)), dst.data(), n);
    for (std::size_t i = 0; i < N + 2; ++i) CHECK(dst[i] == (i < n ? T(5) : T(42)));
    std::vector<T> tight(n);
    sm::store_partial(v, tight.data(), n);
    for (std::size_t i = 0; i < n; ++i) CHECK(tight[i] == T(i + 1));
  }
}
