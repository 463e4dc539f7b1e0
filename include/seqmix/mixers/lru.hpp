#pragma once
// Linear Recurrent Unit (Orvieto et al. 2023, "Resurrecting Recurrent Neural Networks for
// Long Sequences"), parametrisation and initialisation of the paper's Appendix A:
//   λ = exp(-exp(nu_log) + i·exp(theta_log))           nu_log, theta_log [N]
//   h_t = λ ⊙ h_{t-1} + (B ⊙ exp(gamma_log)) x_t          B_re, B_im [N, H], gamma_log [N]
//   y_t = Re(C h_t) + D ⊙ x_t                           C_re, C_im [H, N], D [H]
// Init: u1, u2 ~ U(0,1), nu_log = log(-½ log(u1 (r_max² - r_min²) + r_min²)),
// theta_log = log(max_phase u2), gamma_log = log sqrt(1 - |λ|²), B ~ N(0, 1/(2H)),
// C ~ N(0, 1/N), D ~ N(0, 1). H = d_model, N = d_state.
// The recurrence runs on the lru op, whose input is scaled by γ(λ) = sqrt(1 - |λ|²): the
// mixer feeds it (B x) ⊙ exp(gamma_log)/γ(λ), which is exact for a trained gamma_log too.
#include <cmath>
#include <numbers>
#include <random>

#include "seqmix/mixers/detail/diagonal_rnn.hpp"
#include "seqmix/ops/lru.hpp"

namespace seqmix::mixers {

struct lru_config {
  std::size_t d_model = 64;  // H
  std::size_t d_state = 0;   // N (0: d_model)
  double r_min = 0.0, r_max = 1.0, max_phase = 2 * std::numbers::pi;
  unsigned seed = 0;
};

template <class T>
class lru {
 public:
  using value_type = T;
  struct state_type {
    tensor<T> h;  // [1, N, 2] (re, im)
  };

  explicit lru(lru_config cfg) : cfg_(cfg), n_(index_t(cfg.d_state ? cfg.d_state : cfg.d_model)) {
    const index_t H = index_t(cfg.d_model), N = n_;
    std::mt19937_64 gen(cfg.seed);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    std::normal_distribution<double> nrm(0.0, 1.0);
    auto& nu = params_.add("nu_log", {N});
    auto& theta = params_.add("theta_log", {N});
    auto& gamma = params_.add("gamma_log", {N});
    for (index_t n = 0; n < N; ++n) {
      const double u1 = u(gen), u2 = u(gen);
      const double nl = std::log(-0.5 * std::log(u1 * (cfg.r_max * cfg.r_max - cfg.r_min * cfg.r_min) +
                                                 cfg.r_min * cfg.r_min));
      nu[n] = T(nl);
      theta[n] = T(std::log(cfg.max_phase * u2));
      gamma[n] = T(0.5 * std::log(-std::expm1(-2.0 * std::exp(nl))));  // log sqrt(1 - |λ|²)
    }
    for (const char* name : {"B_re", "B_im"})
      for (auto& v : params_.add(name, {N, H}).values()) v = T(nrm(gen) / std::sqrt(2.0 * H));
    for (const char* name : {"C_re", "C_im"})
      for (auto& v : params_.add(name, {H, N}).values()) v = T(nrm(gen) / std::sqrt(double(N)));
    for (auto& v : params_.add("D", {H}).values()) v = T(nrm(gen));
  }

  std::size_t d_model() const noexcept { return cfg_.d_model; }
  index_t d_state() const noexcept { return n_; }
  state_type make_state() const { return {tensor<T>({1, n_, 2})}; }
  parameters<T>& params() noexcept { return params_; }
  const parameters<T>& params() const noexcept { return params_; }
  run_options& scan_options() noexcept { return opt_; }

  void forward(seq_cref<T> x, seq_ref<T> y, state_type& s) const {
    const index_t L = x.extent(0), H = index_t(cfg_.d_model), N = n_;
    seqmix::detail::check_shape("lru", "x", x, {-1, H});
    seqmix::detail::check_shape("lru", "y", y, {L, H});
    seqmix::detail::check_shape("lru", "state", s.h.template cview<3>(), {1, N, 2});
    if (L == 0) return;
    // buffers: P [L, 2N] (B x: re | im), O [L, N, 2], C' [H, 2N] (interleaved C_re, -C_im)
    T* buf = thread_workspace(mixer_workspace_slot).template get<T>(std::size_t(L) * 4 * N + std::size_t(H) * 2 * N + N);
    T* pbuf = buf;
    T* obuf = buf + std::size_t(L) * 2 * N;
    T* cbuf = obuf + std::size_t(L) * 2 * N;
    T* scale = cbuf + std::size_t(H) * 2 * N;
    const auto X = detail::crmap<T>(x.data(), L, H, Eigen::OuterStride<>(x.stride(0)));
    const int threads = resolve_threads(opt_);
    detail::project(x.data(), x.stride(0), L, params_["B_re"], pbuf, 2 * N, threads);
    detail::project(x.data(), x.stride(0), L, params_["B_im"], pbuf + N, 2 * N, threads);
    const auto& nu = params_["nu_log"];
    const auto& gl = params_["gamma_log"];
    for (index_t n = 0; n < N; ++n)  // exp(gamma_log) / γ(λ), γ(λ) = sqrt(1 - e^{-2 e^ν})
      scale[n] = T(std::exp(double(gl[n])) / std::sqrt(-std::expm1(-2.0 * std::exp(double(nu[n])))));
    for (index_t t = 0; t < L; ++t)
      for (index_t n = 0; n < N; ++n) {
        pbuf[t * 2 * N + n] *= scale[n];
        pbuf[t * 2 * N + N + n] *= scale[n];
      }
    lru_args<T> a;
    a.x_re = const_view<T, 3>(pbuf, {1, L, N}, {L * 2 * N, 2 * N, 1});
    a.x_im = const_view<T, 3>(pbuf + N, {1, L, N}, {L * 2 * N, 2 * N, 1});
    a.nu_log = params_["nu_log"].template cview<1>();
    a.theta_log = params_["theta_log"].template cview<1>();
    a.o = tensor_view<T, 4>(obuf, {1, L, N, 2});
    a.initial_state = s.h.template cview<3>();
    a.final_state = s.h.template view<3>();
    seqmix::lru(a, opt_);
    const auto& cre = params_["C_re"];
    const auto& cim = params_["C_im"];
    for (index_t k = 0; k < H; ++k)
      for (index_t n = 0; n < N; ++n) {
        cbuf[k * 2 * N + 2 * n] = cre[k * N + n];
        cbuf[k * 2 * N + 2 * n + 1] = -cim[k * N + n];
      }
    auto Y = detail::rmap<T>(y.data(), L, H, Eigen::OuterStride<>(y.stride(0)));
    detail::project(obuf, 2 * N, L, cbuf, H, 2 * N, y.data(), y.stride(0), threads);
    const auto Dv = Eigen::Map<const Eigen::Matrix<T, 1, Eigen::Dynamic>>(params_["D"].data(), H);
    Y.array() += X.array().rowwise() * Dv.array();  // x and y must not alias
  }

  void step(row_cref<T> x, row_ref<T> y, state_type& s) const {
    const index_t H = index_t(cfg_.d_model);
    forward(seq_cref<T>(x.data(), {1, H}), seq_ref<T>(y.data(), {1, H}), s);
  }

 private:
  lru_config cfg_;
  index_t n_;
  parameters<T> params_;
  run_options opt_{form::recurrent, 0, 0};
};

static_assert(mixer<lru<float>>);

}  // namespace seqmix::mixers
