// long_conv: the reference against a hand-computed case; every form (float and double)
// against the double reference for T in {1,2,3,100,1000,4097} and L < T, L = T, L > T;
// history splits equal one call; threads bitwise equal; T = 0; errors.
#include "support/testing.hpp"
#include "seqmix/ops/long_conv.hpp"

using namespace seqmix;
using namespace seqmix::testing;

namespace {

template <class U>
struct conv_case {
  tensor<U> u, h, D, hist;
};

template <class T, class U>
tensor<T> run_conv(const conv_case<U>& in, bool reference, const run_options& opt = {}) {
  const auto u = cast<T>(in.u), h = cast<T>(in.h), D = cast<T>(in.D), hist = cast<T>(in.hist);
  tensor<T> o(in.u.shape());
  long_conv_args<T> a{u.template view<3>(), h.template view<2>(), D.template view<1>(), o.template view<3>(),
                      hist.template view<3>()};
  if (reference) reference::long_conv(a);
  else long_conv(a, opt);
  return o;
}

template <class T>
conv_case<double> random_case(index_t B, index_t steps, index_t D, index_t L, bool skip, index_t P = -1) {
  conv_case<double> c{random_tensor<double>({B, steps, D}), random_tensor<double>({D, L}),
                      skip ? random_tensor<double>({D}) : tensor<double>(), tensor<double>()};
  if (P >= 0) c.hist = random_tensor<double>({B, P, D});
  return c;
}

// Tolerance of a form in precision T, relative to max |o|. FFT forms in fp32 carry a
// rounding error growing like log(fft size).
template <class T>
double conv_tol(form f) {
  if constexpr (std::is_same_v<T, double>) return 1e-11;
  return f == form::direct ? 2e-5 : 5e-5;
}

constexpr form all_forms[] = {form::auto_, form::direct, form::fft, form::blocked};

}  // namespace

TEST_CASE("reference long_conv matches a hand-computed case", "[long_conv][reference]") {
  // one channel, h = [1, 0.5], D = 2, u = [1, 2, 3]:
  // o0 = 1*1 + 2*1 = 3; o1 = 2 + 0.5*1 + 4 = 6.5; o2 = 3 + 0.5*2 + 6 = 10
  conv_case<double> c{tensor<double>({1, 3, 1}, {1, 2, 3}), tensor<double>({1, 2}, {1, 0.5}),
                      tensor<double>({1}, 2), {}};
  auto o = run_conv<double>(c, true);
  CHECK(o[0] == Approx(3.0));
  CHECK(o[1] == Approx(6.5));
  CHECK(o[2] == Approx(10.0));
  // with history [5] in front: o0 = 1 + 0.5*5 + 2 = 5.5
  c.hist = tensor<double>({1, 1, 1}, 5);
  o = run_conv<double>(c, true);
  CHECK(o[0] == Approx(5.5));
  CHECK(o[1] == Approx(6.5));
}

TEMPLATE_TEST_CASE("long_conv: every form matches the double reference", "[long_conv]", float, double) {
  for (index_t T : {1, 2, 3, 100, 1000, 4097})
    for (int lcase = 0; lcase < 3; ++lcase) {
      const index_t L = lcase == 0 ? std::max<index_t>(1, T / 3) : lcase == 1 ? T : T + 17;
      const index_t D = T >= 1000 ? 5 : 37;  // D not a multiple of any SIMD width
      const bool skip = lcase != 1;
      auto c = random_case<TestType>(2, T, D, L, skip);
      const auto ref = run_conv<double>(c, true);
      for (form f : all_forms) {
        CAPTURE(T, L, D, skip, to_string(f));
        const auto o = run_conv<TestType>(c, false, {f, 0, 1});
        CHECK(max_rel_error(o, ref) < conv_tol<TestType>(f));
      }
    }
}

TEMPLATE_TEST_CASE("long_conv: blocked form with block lengths not dividing T", "[long_conv]", float, double) {
  auto c = random_case<TestType>(1, 300, 19, 45, true);
  const auto ref = run_conv<double>(c, true);
  for (int chunk : {1, 7, 64, 100, 299, 300, 1000}) {
    CAPTURE(chunk);
    const auto o = run_conv<TestType>(c, false, {form::blocked, chunk, 1});
    CHECK(max_rel_error(o, ref) < conv_tol<TestType>(form::blocked));
  }
}

TEMPLATE_TEST_CASE("long_conv: history (streaming split) equals one call", "[long_conv][split]", float, double) {
  // the reference with history equals the reference on the whole sequence
  const index_t B = 2, T = 230, D = 21;
  for (index_t L : {index_t(9), index_t(230), index_t(400)})
    for (index_t split : {index_t(0), index_t(1), index_t(100), index_t(229)}) {
      CAPTURE(L, split);
      auto whole = random_case<TestType>(B, T, D, L, true);
      const auto ref = run_conv<double>(whole, true);
      // second part: rows [split, T) with history = rows [max(0, split-(L-1)), split)
      const index_t first = std::max<index_t>(0, split - (L - 1));
      conv_case<double> part{tensor<double>({B, T - split, D}), whole.h, whole.D,
                             tensor<double>({B, split - first, D})};
      for (index_t b = 0; b < B; ++b) {
        std::copy_n(whole.u.data() + (b * T + split) * D, (T - split) * D, part.u.data() + b * (T - split) * D);
        std::copy_n(whole.u.data() + (b * T + first) * D, (split - first) * D,
                    part.hist.data() + b * (split - first) * D);
      }
      tensor<double> want({B, T - split, D});
      for (index_t b = 0; b < B; ++b)
        std::copy_n(ref.data() + (b * T + split) * D, (T - split) * D, want.data() + b * (T - split) * D);
      CHECK(max_rel_error(run_conv<double>(part, true), want) < 1e-13);
      for (form f : all_forms) {
        CAPTURE(to_string(f));
        CHECK(max_rel_error(run_conv<TestType>(part, false, {f, 0, 1}), want) < conv_tol<TestType>(f));
      }
    }
}

TEST_CASE("long_conv: threads 1 and 2 give bitwise equal results", "[long_conv][threads]") {
  auto c = random_case<float>(3, 333, 70, 150, true);
  for (form f : all_forms) {
    CAPTURE(to_string(f));
    const auto o1 = run_conv<float>(c, false, {f, 0, 1});
    const auto o2 = run_conv<float>(c, false, {f, 0, 2});
    CHECK(bitwise_equal(o1, o2));
  }
}

TEST_CASE("long_conv: T = 0 and L = 0 are valid", "[long_conv]") {
  for (form f : all_forms) {
    CAPTURE(to_string(f));
    auto c = random_case<float>(2, 0, 5, 7, true);
    CHECK(run_conv<float>(c, false, {f, 0, 1}).size() == 0);
    // L = 0: only the skip term remains
    auto z = random_case<float>(1, 10, 5, 0, true);
    CHECK(max_rel_error(run_conv<float>(z, false, {f, 0, 1}), run_conv<double>(z, true)) < 1e-6);
  }
}

TEST_CASE("long_conv rejects bad shapes and options", "[long_conv][errors]") {
  tensor<float> u({2, 5, 3}), h({4, 7}), o({2, 5, 3}), D({2}), hist({1, 2, 3});
  long_conv_args<float> a{u.view<3>(), h.view<2>(), {}, o.view<3>(), {}};
  CHECK_THROWS_WITH(long_conv(a), "long_conv: argument 'h' has shape [4,7], expected [3,?]");
  tensor<float> h3({3, 7});
  a.h = h3.view<2>();
  a.D = D.view<1>();
  CHECK_THROWS_AS(long_conv(a), shape_error);
  a.D = {};
  a.history = hist.view<3>();
  CHECK_THROWS_WITH(long_conv(a), "long_conv: argument 'history' has shape [1,2,3], expected [2,?,3]");
  a.history = {};
  CHECK_THROWS_AS(long_conv(a, {form::chunked, 0, 1}), option_error);
  CHECK_THROWS_AS(long_conv(a, {form::blocked, -3, 1}), option_error);
  CHECK_NOTHROW(long_conv(a, {form::blocked, 0, 1}));
}

TEST_CASE("long_conv: auto picks direct for decode, blocked for short filters, fft for long ones", "[long_conv]") {
  auto pick = [](index_t T, index_t L, index_t P) {
    tensor<float> u({1, T, 256}), h({256, L}), o({1, T, 256}), hist({1, P, 256});
    long_conv_args<float> a{u.view<3>(), h.view<2>(), {}, o.view<3>(), P ? hist.cview<3>() : const_view<float, 3>{}};
    return long_conv_auto_form(a);
  };
  CHECK(pick(1, 4096, 4095) == form::direct);
  CHECK(pick(8192, 64, 0) == form::blocked);
  CHECK(pick(8192, 8192, 0) == form::fft);
}

#include <sys/resource.h>

TEST_CASE("long_conv at HyenaDNA length: T = L = 2^20, D = 64 within 4 GiB", "[long_conv][.long]") {
  // default (CI) size 2^16; SEQMIX_TEST_SCALE=full runs the 1,048,576
  const index_t T = full_scale() ? (index_t(1) << 20) : (index_t(1) << 16), D = 64;
  tensor<float> u = random_tensor<float>({1, T, D}), h = random_tensor<float>({D, T}, -1e-3, 1e-3), o({1, T, D});
  tensor<float> Dv = random_tensor<float>({D});
  long_conv_args<float> a{u.view<3>(), h.view<2>(), Dv.view<1>(), o.view<3>(), {}};
  long_conv(a, {form::auto_, 0, 2});
  CHECK(long_conv_auto_form(a) == form::fft);
  // spot checks against the convolution sum (double) at a few rows, every channel
  for (index_t t : {index_t(0), index_t(1), index_t(777), T / 2 + 3, T - 1}) {
    double num = 0, den = 1e-30;
    for (index_t d = 0; d < D; ++d) {
      double acc = double(Dv[d]) * u[t * D + d];
      for (index_t i = 0; i <= t; ++i) acc += double(h[d * T + i]) * u[(t - i) * D + d];
      num = std::max(num, std::abs(acc - o[t * D + d]));
      den = std::max(den, std::abs(acc));
    }
    CAPTURE(T, t);
    CHECK(num / den < 1e-4);
  }
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  const double peak_gib = double(ru.ru_maxrss) / (1024.0 * 1024.0);
  CAPTURE(peak_gib);
  CHECK(peak_gib < 4.0);
  WARN("peak RSS " << peak_gib << " GiB at T = " << T);
}

TEMPLATE_TEST_CASE("long_conv: large FFT sizes (six-step layout) match the blocked form and the sum", "[long_conv]",
                   float, double) {
  // T = L = 20000: the fft form's transform has M = 65536 (>= fft::six_step_min); blocked
  // with short blocks runs small transforms in the plain layout
  const index_t T = 20000, D = 37;
  auto c = random_case<TestType>(1, T, D, T, true);
  const auto fft = run_conv<TestType>(c, false, {form::fft, 0, 1});
  const auto blk = run_conv<TestType>(c, false, {form::blocked, 3000, 1});
  CHECK(max_rel_error(fft, blk) < 2 * conv_tol<TestType>(form::fft));
  double num = 0, den = 1e-30;
  for (index_t t : {index_t(0), index_t(5), index_t(9999), T - 1})
    for (index_t d = 0; d < D; ++d) {
      double acc = c.D[d] * c.u[t * D + d];
      for (index_t i = 0; i <= t; ++i) acc += c.h[d * T + i] * c.u[(t - i) * D + d];
      num = std::max(num, std::abs(acc - double(fft[t * D + d])));
      den = std::max(den, std::abs(acc));
    }
  CHECK(num / den < conv_tol<TestType>(form::fft));
}

TEMPLATE_TEST_CASE("long_conv: four-step FFT path (M >= fft::four_step_min) matches the sum and the blocked form",
                   "[long_conv]", float, double) {
  // T = L = 33000 (not a power of two): the fft form's transform has M = 2^17 =
  // fft::four_step_min, so it runs the cache-blocked column/row (four-step) path; B = 2
  // reuses the filter spectrum (B = 1 below does not); D = 37 leaves a lane block alone and
  // lanes empty.
  // Tolerance: conv_tol (5e-5 of max |o| in fp32, 1e-11 in fp64), 2x against the blocked
  // form (both carry FFT rounding).
  const index_t B = 2, T = 33000, D = 37;
  const std::size_t M = kernels::long_conv_fft_size(kernels::make_conv_geometry(0, T, T));
  REQUIRE(M == (std::size_t(1) << 17));
  REQUIRE(kernels::fft::make_four_step<TestType>(M).active());
  auto c = random_case<TestType>(B, T, D, T, true);
  const auto fft1 = run_conv<TestType>(c, false, {form::fft, 0, 1});
  const auto fft2 = run_conv<TestType>(c, false, {form::fft, 0, 2});
  CHECK(bitwise_equal(fft1, fft2));
  const auto blk = run_conv<TestType>(c, false, {form::blocked, 8000, 1});
  CHECK(max_rel_error(fft1, blk) < 2 * conv_tol<TestType>(form::fft));
  double num = 0, den = 1e-30;
  for (index_t b = 0; b < B; ++b)
    for (index_t t : {index_t(0), index_t(1), index_t(4097), index_t(16500), T - 1})
      for (index_t d = 0; d < D; ++d) {
        const double* u = c.u.data() + b * T * D;
        double acc = c.D[d] * u[t * D + d];
        for (index_t i = 0; i <= t; ++i) acc += c.h[d * T + i] * u[(t - i) * D + d];
        num = std::max(num, std::abs(acc - double(fft1[(b * T + t) * D + d])));
        den = std::max(den, std::abs(acc));
      }
  CAPTURE(num / den);
  CHECK(num / den < conv_tol<TestType>(form::fft));
  // B = 1 finishes the filter rows in the scratch instead of in place
  auto c1 = random_case<TestType>(1, T, D, T, false);
  CHECK(max_rel_error(run_conv<TestType>(c1, false, {form::fft, 0, 1}),
                      run_conv<TestType>(c1, false, {form::blocked, 8000, 1})) < 2 * conv_tol<TestType>(form::fft));
}
