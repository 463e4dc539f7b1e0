#pragma once
// The Mamba-2 block (Dao & Gu 2024), as mamba_ssm.modules.mamba2.Mamba2 (bias=False,
// conv_bias=True, rmsnorm=True, D_has_hdim=False, dt_limit = (0, inf)):
//   [z, xBC, dt] = u in_projᵀ      in_proj.weight [2·d_inner + 2·G·N + H, d_model] (rows: z, x, B, C, dt)
//   xBC = silu(conv1d(xBC))        conv1d.weight [d_inner+2GN, 1, d_conv], conv1d.bias
//   [x, B, C] = xBC                x [T,H,P], B, C [T,G,N]
//   y = ssd(x, softplus(dt + dt_bias), A = -exp(A_log), B, C, D)    dt_bias, A_log, D [H]
//   y = rmsnorm_g(y ⊙ silu(z)) ⊙ norm.weight   grouped (norm_group_size channels), eps norm_eps
//       (norm_before_gate: rmsnorm_g(y) ⊙ norm.weight ⊙ silu(z))
//   out = y out_projᵀ              out_proj.weight [d_model, d_inner]
// Initialisation as the module's: nn.Linear/Conv1d defaults (U(±1/sqrt(fan_in))), dt_bias the
// inverse softplus of dt ~ logU(dt_min, dt_max) floored, A_log = log U(A_init_range), D = 1,
// norm.weight = 1.
// State: the conv's last d_conv-1 inputs [1, conv_dim, d_conv-1] and the SSM state
// [1, H, P, N] (the ssd op's layout). `step` is the module's own decode step: one GEMV in,
// the conv over the cached inputs, S = e^{dt A} S + dt x Bᵀ and y = S C + D x per head
// (SIMD over N, in place on the state), the gated norm, one GEMV out: O(1) per token.
#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include <Eigen/Core>
#include <xsimd/xsimd.hpp>

#include "seqmix/core/check.hpp"
#include "seqmix/core/concepts.hpp"
#include "seqmix/mixers/mamba.hpp"
#include "seqmix/mixers/parameters.hpp"
#include "seqmix/ops/causal_conv1d.hpp"
#include "seqmix/ops/ssd.hpp"
#include "seqmix/simd/math.hpp"

namespace seqmix::mixers {

struct mamba2_config {
  std::size_t d_model = 64;
  std::size_t d_state = 128;
  std::size_t d_conv = 4;
  std::size_t expand = 2;
  std::size_t headdim = 64;
  std::size_t ngroups = 1;
  std::size_t norm_group_size = 0;  // 0: d_inner / ngroups
  double norm_eps = 1e-5;
  bool norm_before_gate = false;
  double A_init_min = 1.0, A_init_max = 16.0;
  double dt_min = 0.001, dt_max = 0.1, dt_init_floor = 1e-4;
  unsigned seed = 0;
};

namespace mamba_detail {

// One decode step of one SSD head, in place on its state S [P][N]:
//   S[p,:] = a S[p,:] + (dt x_p) B,   y_p = S[p,:]·C + Dh x_p
template <class Arch = xsimd::default_arch, class T>
void ssd_step_head(T* S, const T* x, const T* B, const T* C, T a, T dt, T Dh, T* y, index_t P, index_t N) noexcept {
  using V = xsimd::batch<T, Arch>;
  constexpr index_t L = static_cast<index_t>(V::size);
  const V va(a);
  for (index_t p = 0; p < P; ++p) {
    T* s = S + p * N;
    const T dx = dt * x[p];
    const V vdx(dx);
    V acc0(T(0)), acc1(T(0));
    index_t n = 0;
    for (; n + 2 * L <= N; n += 2 * L) {
      const V s0 = xsimd::fma(va, V::load_unaligned(s + n), vdx * V::load_unaligned(B + n));
      const V s1 = xsimd::fma(va, V::load_unaligned(s + n + L), vdx * V::load_unaligned(B + n + L));
      s0.store_unaligned(s + n);
      s1.store_unaligned(s + n + L);
      acc0 = xsimd::fma(s0, V::load_unaligned(C + n), acc0);
      acc1 = xsimd::fma(s1, V::load_unaligned(C + n + L), acc1);
    }
    T r = xsimd::hadd(acc0 + acc1);
    for (; n < N; ++n) {
      s[n] = a * s[n] + dx * B[n];
      r += s[n] * C[n];
    }
    y[p] = r + Dh * x[p];
  }
}

}  // namespace mamba_detail

template <class T>
class mamba2 {
 public:
  using value_type = T;
  struct state_type {
    tensor<T> conv;  // [1, conv_dim, d_conv-1]: the conv's last inputs (x, B, C), oldest first
    tensor<T> ssm;   // [1, H, P, N]
  };

  explicit mamba2(mamba2_config cfg) : cfg_(cfg) {
    if (cfg.d_model == 0 || cfg.d_state == 0 || cfg.d_conv < 1 || cfg.expand == 0 || cfg.headdim == 0 ||
        cfg.ngroups == 0)
      throw std::invalid_argument("mamba2: sizes must be positive");
    if ((cfg.expand * cfg.d_model) % cfg.headdim != 0)
      throw std::invalid_argument("mamba2: d_inner (" + std::to_string(cfg.expand * cfg.d_model) +
                                  ") must be a multiple of headdim (" + std::to_string(cfg.headdim) + ")");
    if (heads() % index_t(cfg.ngroups) != 0)
      throw std::invalid_argument("mamba2: nheads must be a multiple of ngroups");
    if (cfg_.norm_group_size == 0) cfg_.norm_group_size = std::size_t(d_inner()) / cfg.ngroups;
    if (d_inner() % index_t(cfg_.norm_group_size) != 0)
      throw std::invalid_argument("mamba2: norm_group_size must divide d_inner");
    const index_t d = dm(), di = d_inner(), H = heads(), W = index_t(cfg.d_conv), cd = conv_dim();
    std::mt19937_64 gen(cfg.seed);
    using namespace mamba_detail;
    init_uniform(params_.add("in_proj.weight", {in_rows(), d}), 1.0 / std::sqrt(double(d)), gen);
    init_uniform(params_.add("conv1d.weight", {cd, 1, W}), 1.0 / std::sqrt(double(W)), gen);
    init_uniform(params_.add("conv1d.bias", {cd}), 1.0 / std::sqrt(double(W)), gen);
    init_dt_bias(params_.add("dt_bias", {H}), cfg.dt_min, cfg.dt_max, cfg.dt_init_floor, gen);
    std::uniform_real_distribution<double> ua(cfg.A_init_min, cfg.A_init_max);
    for (auto& v : params_.add("A_log", {H}).values()) v = static_cast<T>(std::log(ua(gen)));
    for (auto& v : params_.add("D", {H}).values()) v = T(1);
    for (auto& v : params_.add("norm.weight", {di}).values()) v = T(1);
    init_uniform(params_.add("out_proj.weight", {d, di}), 1.0 / std::sqrt(double(di)), gen);
  }

  std::size_t d_model() const noexcept { return cfg_.d_model; }
  index_t d_inner() const noexcept { return index_t(cfg_.expand * cfg_.d_model); }
  index_t heads() const noexcept { return d_inner() / index_t(cfg_.headdim); }
  index_t conv_dim() const noexcept { return d_inner() + 2 * gn(); }
  index_t in_rows() const noexcept { return 2 * d_inner() + 2 * gn() + heads(); }
  const mamba2_config& config() const noexcept { return cfg_; }
  state_type make_state() const {
    return {tensor<T>({1, conv_dim(), index_t(cfg_.d_conv) - 1}),
            tensor<T>({1, heads(), index_t(cfg_.headdim), index_t(cfg_.d_state)})};
  }
  parameters<T>& params() noexcept { return params_; }
  const parameters<T>& params() const noexcept { return params_; }
  run_options& op_options() noexcept { return opt_; }

  void forward(seq_cref<T> x, seq_ref<T> y, state_type& s) const {
    using namespace mamba_detail;
    const index_t L = x.extent(0), d = dm(), di = d_inner(), H = heads(), P = index_t(cfg_.headdim),
                  N = index_t(cfg_.d_state), G = index_t(cfg_.ngroups), W = index_t(cfg_.d_conv),
                  cd = conv_dim(), E = in_rows();
    check_state(x, y, s);
    if (L == 0) return;
    T* zx = thread_workspace(mixer_workspace_slot).template get<T>(std::size_t(L * (E + cd + H + di) + H));
    T* u = zx + L * E;   // conv output [L, conv_dim] = x, B, C
    T* dt = u + L * cd;  // [L, H]
    T* ys = dt + L * H;  // [L, d_inner]
    T* A = ys + L * di;  // [H]
    rmap<T>(zx, L, E, Eigen::OuterStride<>(E)).noalias() =
        crmap<T>(x.data(), L, d, Eigen::OuterStride<>(x.stride(0))) * params_.matrix("in_proj.weight").transpose();

    causal_conv1d_args<T> c;
    c.x = const_view<T, 3>(zx + di, {1, L, cd}, {L * E, E, 1});
    c.weight = const_view<T, 2>(params_["conv1d.weight"].data(), {cd, W});
    c.bias = params_["conv1d.bias"].template cview<1>();
    c.o = tensor_view<T, 3>(u, {1, L, cd});
    if (W > 1) {
      c.initial_state = s.conv.template cview<3>();
      c.final_state = s.conv.template view<3>();
    }
    c.activation = conv_activation::silu;
    causal_conv1d(c, opt_);

    const T* dt_bias = params_["dt_bias"].data();
    for (index_t t = 0; t < L; ++t)
      for (index_t h = 0; h < H; ++h) dt[t * H + h] = simd::softplus(zx[t * E + di + cd + h] + dt_bias[h]);
    const T* A_log = params_["A_log"].data();
    for (index_t h = 0; h < H; ++h) A[h] = -std::exp(A_log[h]);

    ssd_args<T> a;
    a.x = const_view<T, 4>(u, {1, L, H, P}, {L * cd, cd, P, 1});
    a.dt = const_view<T, 3>(dt, {1, L, H});
    a.A = const_view<T, 1>(A, {H});
    a.B = const_view<T, 4>(u + di, {1, L, G, N}, {L * cd, cd, N, 1});
    a.C = const_view<T, 4>(u + di + G * N, {1, L, G, N}, {L * cd, cd, N, 1});
    a.D = params_["D"].template cview<1>();
    a.o = tensor_view<T, 4>(ys, {1, L, H, P});
    a.initial_state = s.ssm.template cview<4>();
    a.final_state = s.ssm.template view<4>();
    ssd(a, opt_);

    for (index_t t = 0; t < L; ++t) gated_norm(ys + t * di, zx + t * E);
    rmap<T>(y.data(), L, d, Eigen::OuterStride<>(y.stride(0))).noalias() =
        crmap<T>(ys, L, di, Eigen::OuterStride<>(di)) * params_.matrix("out_proj.weight").transpose();
  }

  // One token (the module's `step`): O(1) work and memory per token.
  void step(row_cref<T> x, row_ref<T> y, state_type& s) const {
    using namespace mamba_detail;
    const index_t d = dm(), di = d_inner(), H = heads(), P = index_t(cfg_.headdim), N = index_t(cfg_.d_state),
                  G = index_t(cfg_.ngroups), W = index_t(cfg_.d_conv), cd = conv_dim(), E = in_rows();
    if (index_t(x.size()) != d || index_t(y.size()) != d)
      throw shape_error("mamba2: step rows must have d_model = " + std::to_string(d) + " values, got " +
                        std::to_string(x.size()) + " and " + std::to_string(y.size()));
    check_state(seq_cref<T>(x.data(), {1, d}), seq_ref<T>(y.data(), {1, d}), s);
    T* zx = thread_workspace(mixer_workspace_slot).template get<T>(std::size_t(E + cd + di));
    T* u = zx + E;
    T* ys = u + cd;
    Eigen::Map<Eigen::Matrix<T, Eigen::Dynamic, 1>>(zx, E).noalias() =
        params_.matrix("in_proj.weight") * Eigen::Map<const Eigen::Matrix<T, Eigen::Dynamic, 1>>(x.data(), d);
    conv_step(zx + di, params_["conv1d.weight"].data(), params_["conv1d.bias"].data(), s.conv.data(), u, cd, W);
    const T* dt_bias = params_["dt_bias"].data();
    const T* A_log = params_["A_log"].data();
    const T* Dp = params_["D"].data();
    const index_t hpg = H / G;
    for (index_t h = 0; h < H; ++h) {
      const T dt = simd::softplus(zx[di + cd + h] + dt_bias[h]);
      const T a = std::exp(-dt * std::exp(A_log[h]));
      const index_t g = h / hpg;
      ssd_step_head(s.ssm.data() + h * P * N, u + h * P, u + di + g * N, u + di + G * N + g * N, a, dt, Dp[h],
                    ys + h * P, P, N);
    }
    gated_norm(ys, zx);
    Eigen::Map<Eigen::Matrix<T, Eigen::Dynamic, 1>>(y.data(), d).noalias() =
        params_.matrix("out_proj.weight") * Eigen::Map<const Eigen::Matrix<T, Eigen::Dynamic, 1>>(ys, di);
  }

 private:
  index_t dm() const noexcept { return index_t(cfg_.d_model); }
  index_t gn() const noexcept { return index_t(cfg_.ngroups * cfg_.d_state); }

  void check_state(seq_cref<T> x, seq_ref<T> y, const state_type& s) const {
    const index_t d = dm(), W = index_t(cfg_.d_conv);
    seqmix::detail::check_shape("mamba2", "x", x, {-1, d});
    seqmix::detail::check_shape("mamba2", "y", y, {x.extent(0), d});
    seqmix::detail::check_shape("mamba2", "state.ssm", s.ssm.template cview<4>(),
                                {1, heads(), index_t(cfg_.headdim), index_t(cfg_.d_state)});
    if (W > 1) seqmix::detail::check_shape("mamba2", "state.conv", s.conv.template cview<3>(), {1, conv_dim(), W - 1});
  }

  // y <- rmsnorm_g(y ⊙ silu(z)) ⊙ weight (or rmsnorm_g(y) ⊙ weight ⊙ silu(z)) for one token;
  // z is the token's in_proj row (z first). SIMD over channels, scalar tails.
  void gated_norm(T* y, const T* z) const {
    using V = xsimd::batch<T>;
    constexpr index_t L = static_cast<index_t>(V::size);
    const index_t di = d_inner(), gs = index_t(cfg_.norm_group_size);
    const T* w = params_["norm.weight"].data();
    const auto gate = [&] {
      index_t c = 0;
      for (; c + L <= di; c += L)
        (V::load_unaligned(y + c) * simd::silu(V::load_unaligned(z + c))).store_unaligned(y + c);
      for (; c < di; ++c) y[c] *= simd::silu(z[c]);
    };
    if (!cfg_.norm_before_gate) gate();
    for (index_t g0 = 0; g0 < di; g0 += gs) {
      const index_t g1 = g0 + gs;
      V acc(T(0));
      index_t c = g0;
      for (; c + L <= g1; c += L) {
        const V v = V::load_unaligned(y + c);
        acc = xsimd::fma(v, v, acc);
      }
      T ss = xsimd::hadd(acc);
      for (; c < g1; ++c) ss += y[c] * y[c];
      const T r = T(1) / std::sqrt(ss / T(gs) + T(cfg_.norm_eps));
      c = g0;
      for (; c + L <= g1; c += L)
        (V::load_unaligned(y + c) * V(r) * V::load_unaligned(w + c)).store_unaligned(y + c);
      for (; c < g1; ++c) y[c] *= r * w[c];
    }
    if (cfg_.norm_before_gate) gate();
  }

  mamba2_config cfg_;
  parameters<T> params_;
  run_options opt_{};
};

static_assert(mixer<mamba2<float>>);

}  // namespace seqmix::mixers
