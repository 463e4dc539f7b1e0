// LRU mixer: splits == one forward == steps; against a plain complex re-implementation;
// the paper's initialisation (ring of radii, γ normalisation).
#include <complex>

#include "mixer_support.hpp"
#include "seqmix/mixers/lru.hpp"

using namespace mixer_test;
namespace sm = seqmix::mixers;
using sm::lru_config;

TEMPLATE_TEST_CASE("lru mixer: forward over splits == one forward == steps", "[mixers][lru]", float, double) {
  const double tol = std::is_same_v<TestType, float> ? 2e-5 : 1e-12;
  lru_config cfg;
  cfg.d_model = 20;
  cfg.d_state = 28;
  cfg.r_min = 0.5;
  cfg.r_max = 0.99;
  cfg.seed = 11;
  sm::lru<TestType> m(cfg);
  check_consistency(m, 70, tol);
}

TEST_CASE("lru mixer matches a plain complex re-implementation", "[mixers][lru]") {
  lru_config cfg;
  cfg.d_model = 12;
  cfg.d_state = 10;
  cfg.r_min = 0.4;
  cfg.r_max = 0.95;
  sm::lru<double> md(cfg);
  cfg.seed = 1;
  sm::lru<float> mf(cfg);
  // a trained gamma_log differs from its initial value: perturb it
  for (auto& v : md.params()["gamma_log"].values()) v += 0.1;
  copy_params(md, mf);
  const index_t L = 30, H = 12, N = 10;
  const auto& P = md.params();
  const auto x = normal_tensor<double>({L, H});
  tensor<double> expect({L, H});
  std::vector<std::complex<double>> h(N);
  for (index_t t = 0; t < L; ++t) {
    for (index_t n = 0; n < N; ++n) {
      const std::complex<double> lam = std::exp(std::complex<double>(-std::exp(P["nu_log"][n]), std::exp(P["theta_log"][n])));
      std::complex<double> bx = 0;
      for (index_t k = 0; k < H; ++k) bx += std::complex<double>(P["B_re"][n * H + k], P["B_im"][n * H + k]) * x[t * H + k];
      h[n] = lam * h[n] + std::exp(P["gamma_log"][n]) * bx;
    }
    for (index_t k = 0; k < H; ++k) {
      std::complex<double> ch = 0;
      for (index_t n = 0; n < N; ++n) ch += std::complex<double>(P["C_re"][k * N + n], P["C_im"][k * N + n]) * h[n];
      expect[t * H + k] = ch.real() + P["D"][k] * x[t * H + k];
    }
  }
  CHECK(max_rel_error(forward_whole(md, x).y, expect) < 1e-12);
  CHECK(max_rel_error(forward_whole(mf, cast<float>(x)).y, expect) < 2e-5);
}

TEST_CASE("lru mixer: initialisation follows the paper", "[mixers][lru]") {
  lru_config cfg;
  cfg.d_model = 64;
  cfg.d_state = 256;
  cfg.r_min = 0.9;
  cfg.r_max = 0.999;
  cfg.max_phase = 3.14 / 10;
  sm::lru<double> m(cfg);
  const auto& P = m.params();
  for (index_t n = 0; n < 256; ++n) {
    const double r = std::exp(-std::exp(P["nu_log"][n])), theta = std::exp(P["theta_log"][n]);
    CHECK(r >= 0.9 - 1e-12);
    CHECK(r <= 0.999 + 1e-12);
    CHECK(theta <= 0.314 + 1e-12);
    CHECK(std::exp(P["gamma_log"][n]) == Approx(std::sqrt(1 - r * r)).epsilon(1e-12));
  }
  CHECK(P["B_re"].shape() == std::vector<index_t>{256, 64});
  CHECK(P["C_im"].shape() == std::vector<index_t>{64, 256});
  CHECK(P["D"].shape() == std::vector<index_t>{64});
}
