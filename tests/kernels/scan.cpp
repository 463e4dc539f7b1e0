// Scan kernels directly: the log-space scan against the linear one where the linear one
// underflows, the Brent–Kung schedule, and the generic two-pass driver on a toy task.
#include "support/testing.hpp"
#include "seqmix/kernels/scan/log_space.hpp"
#include "seqmix/kernels/scan/real.hpp"
#include "seqmix/kernels/scan/sources.hpp"
#include "seqmix/kernels/scan/two_pass.hpp"

using namespace seqmix;
namespace ks = seqmix::kernels::scan;

namespace {
// constant log a, log b per step
struct const_log_source {
  float la, lb;
  const_log_source shifted(index_t) const { return *this; }
  template <class V>
  void log_coeffs(index_t, std::size_t, V& a, V& b) const {
    a = V(la);
    b = V(lb);
  }
  template <class V>
  void coeffs(index_t, std::size_t, V& a, V& b) const {
    a = simd::exp(V(la));
    b = simd::exp(V(lb));
  }
};
}  // namespace

TEST_CASE("log-space scan does not underflow where the linear one does", "[kernels][scan][log]") {
  // a = e^-1, b = e^-200 (below fp32's smallest denormal): h_t = b (1 - a^t) / (1 - a)
  const_log_source src{-1.0f, -200.0f};
  const index_t L = 50;
  const std::size_t W = 20;  // a full batch and a scalar tail
  std::vector<float> lo(L * W), lh(W, -INFINITY), o(L * W), h(W, 0.0f);
  ks::log_recurrent<xsimd::default_arch>(src, lo.data(), W, lh.data(), L, 0, W);
  ks::real_recurrent<xsimd::default_arch>(src, o.data(), W, h.data(), L, 0, W);
  for (index_t t = 0; t < L; ++t) {
    const double a = std::exp(-1.0), expect = -200.0 + std::log((1 - std::pow(a, t + 1)) / (1 - a));
    for (std::size_t c = 0; c < W; ++c) {
      CAPTURE(t, c);
      CHECK(o[t * W + c] == 0.0f);  // the linear scan has underflowed to zero
      REQUIRE(std::isfinite(lo[t * W + c]));
      CHECK(lo[t * W + c] == Approx(expect).epsilon(1e-6));
    }
  }
}

TEST_CASE("Brent–Kung schedule gives inclusive prefix sums for every length", "[kernels][scan]") {
  for (index_t n = 1; n <= 70; ++n) {
    std::vector<std::string> x(n);
    for (index_t i = 0; i < n; ++i) x[i] = std::string(1, char('a' + i % 26));
    ks::brent_kung(n, [&](index_t l, index_t r) { x[r] = x[l] + x[r]; });  // concatenation: order matters
    std::string expect;
    for (index_t i = 0; i < n; ++i) {
      expect += char('a' + i % 26);
      CAPTURE(n, i);
      CHECK(x[i] == expect);
    }
  }
}

TEST_CASE("two_pass driver on a toy affine recurrence equals the sequential loop", "[kernels][scan][two_pass]") {
  // state s (1 value): s_t = 0.9 s_{t-1} + v_t, output o_t = s_t
  const index_t L = 1003;
  std::vector<double> v(L), o(L), expect(L);
  for (index_t t = 0; t < L; ++t) v[t] = std::sin(0.1 * t);
  double s = 1.5;
  for (index_t t = 0; t < L; ++t) expect[t] = s = 0.9 * s + v[t];
  struct task_t {
    const std::vector<double>* v;
    std::vector<double>* o;
    std::size_t state_size() const { return 1; }
    std::size_t summary_size() const { return 2; }
    void scan(index_t b, index_t n, double* st) const {
      for (index_t t = b; t < b + n; ++t) (*o)[t] = st[0] = 0.9 * st[0] + (*v)[t];
    }
    void summarize(index_t b, index_t n, double* m) const {
      m[0] = 0;
      m[1] = 1;
      for (index_t t = b; t < b + n; ++t) {
        m[0] = 0.9 * m[0] + (*v)[t];
        m[1] *= 0.9;
      }
    }
    void apply(index_t, index_t, const double* m, double* st) const { st[0] = m[1] * st[0] + m[0]; }
  } task{&v, &o};
  for (index_t chunk : {1, 7, 100, 1003, 5000})
    for (int threads : {1, 2}) {
      CAPTURE(chunk, threads);
      double st = 1.5;
      std::fill(o.begin(), o.end(), 0.0);
      ks::two_pass(task, L, chunk, threads, &st);
      for (index_t t = 0; t < L; ++t) REQUIRE(o[t] == Approx(expect[t]).epsilon(1e-12));
      CHECK(st == Approx(expect[L - 1]).epsilon(1e-12));
    }
}
