#pragma once
// The Mamba-1 block (Gu & Dao 2023), as mamba_ssm.modules.mamba_simple.Mamba (bias=False,
// conv_bias=True):
//   [x, z]  = u in_projᵀ                      in_proj.weight [2·d_inner, d_model] (rows: x, z)
//   x       = silu(conv1d(x))                 conv1d.weight [d_inner,1,d_conv], conv1d.bias [d_inner]
//   [δ,B,C] = x x_projᵀ                       x_proj.weight [dt_rank+2N, d_inner] (rows: dt, B, C)
//   dt      = δ dt_projᵀ                      dt_proj.weight [d_inner, dt_rank]
//   y       = selective_scan(x, dt, A = -exp(A_log), B, C, D, z, dt_bias = dt_proj.bias, softplus)
//   out     = y out_projᵀ                     out_proj.weight [d_model, d_inner]
// A_log [d_inner, N], D [d_inner]. Initialisation as the module's: nn.Linear/Conv1d defaults
// (U(±1/sqrt(fan_in))), dt_proj.weight U(±dt_rank^-1/2·dt_scale), dt_proj.bias the inverse
// softplus of dt ~ logU(dt_min, dt_max) floored at dt_init_floor, A_log = log(1..N) per
// channel (S4D-real), D = 1.
// State: the conv's last d_conv-1 inputs [1,d_inner,d_conv-1] and the SSM state
// [1,d_inner,N]; `step` is the module's decode step (O(1) per token: GEMVs, the conv over
// the cached inputs, one scan step in place on the state).
#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include <Eigen/Core>
#include <xsimd/xsimd.hpp>

#include "seqmix/core/check.hpp"
#include "seqmix/core/concepts.hpp"
#include "seqmix/core/workspace.hpp"
#include "seqmix/mixers/detail/eigen_maps.hpp"
#include "seqmix/mixers/parameters.hpp"
#include "seqmix/ops/causal_conv1d.hpp"
#include "seqmix/ops/selective_scan.hpp"
#include "seqmix/simd/math.hpp"

namespace seqmix::mixers {

struct mamba_config {
  std::size_t d_model = 64;
  std::size_t d_state = 16;
  std::size_t d_conv = 4;
  std::size_t expand = 2;
  std::size_t dt_rank = 0;  // 0: "auto" = ceil(d_model / 16)
  double dt_min = 0.001, dt_max = 0.1, dt_init_floor = 1e-4, dt_scale = 1.0;
  unsigned seed = 0;
};

namespace mamba_detail {
using detail::crmap;
using detail::rmap;
using detail::rmat;

template <class T>
void init_uniform(tensor<T>& w, double bound, std::mt19937_64& gen) {
  std::uniform_real_distribution<double> u(-bound, bound);
  for (auto& v : w.values()) v = static_cast<T>(u(gen));
}
// dt bias: inverse softplus of dt = exp(U(log dt_min, log dt_max)), floored.
template <class T>
void init_dt_bias(tensor<T>& b, double dt_min, double dt_max, double floor, std::mt19937_64& gen) {
  std::uniform_real_distribution<double> u(0.0, 1.0);
  for (auto& v : b.values()) {
    const double dt = std::max(std::exp(u(gen) * (std::log(dt_max) - std::log(dt_min)) + std::log(dt_min)), floor);
    v = static_cast<T>(dt + std::log(-std::expm1(-dt)));
  }
}
// One token through a depthwise causal conv with cached inputs: for channel c,
//   u_c = silu(bias_c + Σ_{i<W-1} w[c,i] state[c,i] + w[c,W-1] x_c), then the cache shifts
// (state [C][W-1], oldest first, the op's layout).
template <class T>
void conv_step(const T* x, const T* w, const T* bias, T* state, T* u, index_t channels, index_t W) noexcept {
  for (index_t c = 0; c < channels; ++c) {
    T* st = state + c * (W - 1);
    const T* wc = w + c * W;
    T acc = bias ? bias[c] : T(0);
    for (index_t i = 0; i + 1 < W; ++i) acc += wc[i] * st[i];
    acc += wc[W - 1] * x[c];
    for (index_t i = 0; i + 2 < W; ++i) st[i] = st[i + 1];
    if (W > 1) st[W - 2] = x[c];
    u[c] = simd::silu(acc);
  }
}

// One token of the selective scan on the state h [channels][N] in place (SIMD over N):
//   Δ = softplus(dt + dt_bias), h = e^{Δ A} h + Δ u B, y = (C·h + D u) silu(z), A = -exp(A_log).
template <class Arch = xsimd::default_arch, class T>
void selective_scan_step(const T* u, const T* dt, const T* z, const T* B, const T* C, const T* A_log, const T* D,
                         const T* dt_bias, T* h, T* y, index_t channels, index_t N) noexcept {
  using V = xsimd::batch<T, Arch>;
  constexpr index_t L = static_cast<index_t>(V::size);
  for (index_t c = 0; c < channels; ++c) {
    const T delta = simd::softplus(dt[c] + dt_bias[c]);
    const T du = delta * u[c];
    T* hc = h + c * N;
    const T* al = A_log + c * N;
    V acc(T(0));
    index_t n = 0;
    for (; n + L <= N; n += L) {
      // e^{Δ A} as the scan kernel computes it (A log2 e, then its short exp2)
      const V a2 = xsimd::exp(V::load_unaligned(al + n)) * V(T(-1.4426950408889634));
      const V a = kernels::ss_detail::decay(V(delta), a2);
      const V hv = xsimd::fma(a, V::load_unaligned(hc + n), V(du) * V::load_unaligned(B + n));
      hv.store_unaligned(hc + n);
      acc = xsimd::fma(hv, V::load_unaligned(C + n), acc);
    }
    T r = xsimd::hadd(acc);
    for (; n < N; ++n) {
      hc[n] = std::exp(-delta * std::exp(al[n])) * hc[n] + du * B[n];
      r += hc[n] * C[n];
    }
    y[c] = (r + D[c] * u[c]) * simd::silu(z[c]);
  }
}

}  // namespace mamba_detail

template <class T>
class mamba {
 public:
  using value_type = T;
  struct state_type {
    tensor<T> conv;  // [1, d_inner, d_conv-1]: the last inputs of the conv, oldest first
    tensor<T> ssm;   // [1, d_inner, d_state]
  };

  explicit mamba(mamba_config cfg) : cfg_(cfg) {
    if (cfg.d_model == 0 || cfg.d_state == 0 || cfg.d_conv < 1 || cfg.expand == 0)
      throw std::invalid_argument("mamba: d_model, d_state, d_conv, expand must be positive");
    if (cfg_.dt_rank == 0) cfg_.dt_rank = (cfg.d_model + 15) / 16;
    const index_t d = dm(), di = d_inner(), N = n(), R = r(), W = index_t(cfg.d_conv);
    std::mt19937_64 gen(cfg.seed);
    using namespace mamba_detail;
    init_uniform(params_.add("in_proj.weight", {2 * di, d}), 1.0 / std::sqrt(double(d)), gen);
    init_uniform(params_.add("conv1d.weight", {di, 1, W}), 1.0 / std::sqrt(double(W)), gen);
    init_uniform(params_.add("conv1d.bias", {di}), 1.0 / std::sqrt(double(W)), gen);
    init_uniform(params_.add("x_proj.weight", {R + 2 * N, di}), 1.0 / std::sqrt(double(di)), gen);
    init_uniform(params_.add("dt_proj.weight", {di, R}), cfg.dt_scale / std::sqrt(double(R)), gen);
    init_dt_bias(params_.add("dt_proj.bias", {di}), cfg.dt_min, cfg.dt_max, cfg.dt_init_floor, gen);
    auto& A_log = params_.add("A_log", {di, N});
    for (index_t c = 0; c < di; ++c)
      for (index_t k = 0; k < N; ++k) A_log[c * N + k] = static_cast<T>(std::log(double(k + 1)));
    for (auto& v : params_.add("D", {di}).values()) v = T(1);
    init_uniform(params_.add("out_proj.weight", {d, di}), 1.0 / std::sqrt(double(di)), gen);
  }

  std::size_t d_model() const noexcept { return cfg_.d_model; }
  index_t d_inner() const noexcept { return index_t(cfg_.expand * cfg_.d_model); }
  const mamba_config& config() const noexcept { return cfg_; }
  state_type make_state() const {
    return {tensor<T>({1, d_inner(), index_t(cfg_.d_conv) - 1}), tensor<T>({1, d_inner(), n()})};
  }
  parameters<T>& params() noexcept { return params_; }
  const parameters<T>& params() const noexcept { return params_; }
  // Threads/form of the ops (default: auto forms, all threads).
  run_options& op_options() noexcept { return opt_; }

  void forward(seq_cref<T> x, seq_ref<T> y, state_type& s) const {
    using namespace mamba_detail;
    const index_t L = x.extent(0), d = dm(), di = d_inner(), N = n(), R = r(), W = index_t(cfg_.d_conv);
    seqmix::detail::check_shape("mamba", "x", x, {-1, d});
    seqmix::detail::check_shape("mamba", "y", y, {L, d});
    seqmix::detail::check_shape("mamba", "state.ssm", s.ssm.template cview<3>(), {1, di, N});
    if (W > 1) seqmix::detail::check_shape("mamba", "state.conv", s.conv.template cview<3>(), {1, di, W - 1});
    if (L == 0) return;
    const index_t E = R + 2 * N;  // x_proj outputs per token
    T* xz = thread_workspace(mixer_workspace_slot).template get<T>(std::size_t(L * (2 * di + di + E + di + di) + di * N));
    T* u = xz + L * 2 * di;   // conv output [L, di]
    T* xd = u + L * di;       // x_proj output [L, R+2N]
    T* dt = xd + L * E;       // [L, di]
    T* ys = dt + L * di;      // scan output [L, di]
    T* A = ys + L * di;       // [di, N]
    rmap<T>(xz, L, 2 * di, Eigen::OuterStride<>(2 * di)).noalias() =
        crmap<T>(x.data(), L, d, Eigen::OuterStride<>(x.stride(0))) * params_.matrix("in_proj.weight").transpose();

    causal_conv1d_args<T> c;
    c.x = const_view<T, 3>(xz, {1, L, di}, {L * 2 * di, 2 * di, 1});
    c.weight = const_view<T, 2>(params_["conv1d.weight"].data(), {di, W});
    c.bias = params_["conv1d.bias"].template cview<1>();
    c.o = tensor_view<T, 3>(u, {1, L, di});
    if (W > 1) {
      c.initial_state = s.conv.template cview<3>();
      c.final_state = s.conv.template view<3>();
    }
    c.activation = conv_activation::silu;
    causal_conv1d(c, opt_);

    rmap<T>(xd, L, E, Eigen::OuterStride<>(E)).noalias() =
        crmap<T>(u, L, di, Eigen::OuterStride<>(di)) * params_.matrix("x_proj.weight").transpose();
    rmap<T>(dt, L, di, Eigen::OuterStride<>(di)).noalias() =
        crmap<T>(xd, L, R, Eigen::OuterStride<>(E)) * params_.matrix("dt_proj.weight").transpose();
    const T* A_log = params_["A_log"].data();
    for (index_t i = 0; i < di * N; ++i) A[i] = -std::exp(A_log[i]);

    selective_scan_args<T> a;
    a.x = const_view<T, 3>(u, {1, L, di});
    a.dt = const_view<T, 3>(dt, {1, L, di});
    a.A = const_view<T, 2>(A, {di, N});
    a.B = const_view<T, 4>(xd + R, {1, L, 1, N}, {L * E, E, N, 1});
    a.C = const_view<T, 4>(xd + R + N, {1, L, 1, N}, {L * E, E, N, 1});
    a.o = tensor_view<T, 3>(ys, {1, L, di});
    a.z = const_view<T, 3>(xz + di, {1, L, di}, {L * 2 * di, 2 * di, 1});
    a.D = params_["D"].template cview<1>();
    a.dt_bias = params_["dt_proj.bias"].template cview<1>();
    a.initial_state = s.ssm.template cview<3>();
    a.final_state = s.ssm.template view<3>();
    a.dt_softplus = true;
    selective_scan(a, opt_);

    rmap<T>(y.data(), L, d, Eigen::OuterStride<>(y.stride(0))).noalias() =
        crmap<T>(ys, L, di, Eigen::OuterStride<>(di)) * params_.matrix("out_proj.weight").transpose();
  }

  // One token (the module's `step`): GEMVs, the conv over the cached inputs, one scan step
  // in place on the SSM state: O(1) work and memory per token.
  void step(row_cref<T> x, row_ref<T> y, state_type& s) const {
    using namespace mamba_detail;
    using vec = Eigen::Matrix<T, Eigen::Dynamic, 1>;
    const index_t d = dm(), di = d_inner(), N = n(), R = r(), W = index_t(cfg_.d_conv), E = R + 2 * N;
    if (index_t(x.size()) != d || index_t(y.size()) != d)
      throw shape_error("mamba: step rows must have d_model = " + std::to_string(d) + " values, got " +
                        std::to_string(x.size()) + " and " + std::to_string(y.size()));
    seqmix::detail::check_shape("mamba", "state.ssm", s.ssm.template cview<3>(), {1, di, N});
    if (W > 1) seqmix::detail::check_shape("mamba", "state.conv", s.conv.template cview<3>(), {1, di, W - 1});
    T* xz = thread_workspace(mixer_workspace_slot).template get<T>(std::size_t(2 * di + di + E + di + di));
    T* u = xz + 2 * di;
    T* xd = u + di;
    T* dt = xd + E;
    T* ys = dt + di;
    Eigen::Map<vec>(xz, 2 * di).noalias() = params_.matrix("in_proj.weight") * Eigen::Map<const vec>(x.data(), d);
    conv_step(xz, params_["conv1d.weight"].data(), params_["conv1d.bias"].data(), s.conv.data(), u, di, W);
    Eigen::Map<vec>(xd, E).noalias() = params_.matrix("x_proj.weight") * Eigen::Map<const vec>(u, di);
    Eigen::Map<vec>(dt, di).noalias() = params_.matrix("dt_proj.weight") * Eigen::Map<const vec>(xd, R);
    selective_scan_step(u, dt, xz + di, xd + R, xd + R + N, params_["A_log"].data(), params_["D"].data(),
                        params_["dt_proj.bias"].data(), s.ssm.data(), ys, di, N);
    Eigen::Map<vec>(y.data(), d).noalias() = params_.matrix("out_proj.weight") * Eigen::Map<const vec>(ys, di);
  }

 private:
  index_t dm() const noexcept { return index_t(cfg_.d_model); }
  index_t n() const noexcept { return index_t(cfg_.d_state); }
  index_t r() const noexcept { return index_t(cfg_.dt_rank); }

  mamba_config cfg_;
  parameters<T> params_;
  run_options opt_{};
};

static_assert(mixer<mamba<float>>);

}  // namespace seqmix::mixers
