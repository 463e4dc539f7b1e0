#pragma once
// DeltaNet layer (fla's `fla.layers.DeltaNet`, Yang et al. 2024) and the shared body of
// the Gated DeltaNet layer (mixers/gated_deltanet.hpp):
//   q, k, v = silu(causal_conv(W_q x)), silu(causal_conv(W_k x)), silu(causal_conv(W_v x))
//   q, k    = L2-normalised per head (x / sqrt(Σx² + 1e-6), as fla's l2norm)
//   β       = sigmoid(W_b x)               (× 2 with allow_neg_eigval)
//   g       = -exp(A_log) softplus(W_a x + dt_bias)                 (Gated DeltaNet only)
//   o       = (gated_)delta_rule(q, k, v, β[, g]), scale 1/sqrt(head_k_dim)
//   o       = RMSNorm_per_head(o) ⊙ o_norm.weight ⊙ silu(W_g x)  (use_gate; else no gate)
//   y       = W_o o
// Parameters carry fla's state_dict names: q_proj.weight, k_proj.weight, v_proj.weight,
// b_proj.weight, (a_proj.weight, A_log, dt_bias), g_proj.weight, o_proj.weight,
// q_conv1d.weight [key_dim,1,W], k_conv1d.weight, v_conv1d.weight [value_dim,1,W]
// (+ .bias with conv_bias), o_norm.weight [head_v_dim].
// The short convolutions run through the causal_conv1d op (state: the last W-1 inputs).
// Not covered: fla's grouped value heads (num_v_heads > num_heads) and the non-silu
// q/k activations.
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "seqmix/core/concepts.hpp"
#include "seqmix/mixers/parameters.hpp"
#include "seqmix/ops/causal_conv1d.hpp"
#include "seqmix/ops/delta_rule.hpp"
#include "seqmix/ops/gated_delta_rule.hpp"
#include "seqmix/simd/math.hpp"

namespace seqmix::mixers {

struct deltanet_config {
  std::size_t d_model = 64;  // fla: hidden_size
  std::size_t num_heads = 4;
  double expand_k = 1.0;
  double expand_v = 1.0;
  bool use_gate = true;
  std::size_t conv_size = 4;
  bool conv_bias = false;
  bool allow_neg_eigval = false;
  double norm_eps = 1e-5;
  unsigned seed = 0;
};

namespace detail {

struct delta_layer_dims {
  index_t d_model, heads, head_k, head_v, conv;
  bool gated, use_gate, conv_bias, neg_eig;
  double eps;
  unsigned seed;
  index_t key_dim() const { return heads * head_k; }
  index_t value_dim() const { return heads * head_v; }
};

template <class T>
class delta_layer {
 public:
  using value_type = T;
  struct state_type {
    tensor<T> q_conv, k_conv, v_conv;  // [1, key_dim | value_dim, W-1]: last inputs of each conv
    tensor<T> S;                       // [1, H, head_k, head_v]: the delta-rule state
  };

  explicit delta_layer(const delta_layer_dims& d) : d_(d) {
    if (d.heads <= 0 || d.head_k <= 0 || d.head_v <= 0 || d.conv <= 0 || d.d_model <= 0)
      throw shape_error(name() + ": d_model, heads, head dims and conv_size must be positive");
    const index_t D = d.d_model, Kd = d.key_dim(), Vd = d.value_dim(), H = d.heads, W = d.conv;
    std::mt19937 gen(d.seed);
    auto uniform = [&](tensor<T>& t, double bound) {
      std::uniform_real_distribution<double> u(-bound, bound);
      for (auto& v : t.values()) v = static_cast<T>(u(gen));
    };
    // fla's DeltaNet._initialize_weights: Linear weights xavier_uniform with gain 2^-2.5,
    // bound = gain·sqrt(6 / (fan_in + fan_out)); convs keep nn.Conv1d's U(±1/sqrt(W)).
    auto xavier = [&](const char* nm, index_t out, index_t in) {
      uniform(params_.add(nm, {out, in}), std::pow(2.0, -2.5) * std::sqrt(6.0 / double(in + out)));
    };
    xavier("q_proj.weight", Kd, D);
    xavier("k_proj.weight", Kd, D);
    xavier("v_proj.weight", Vd, D);
    xavier("b_proj.weight", H, D);
    if (d.gated) {
      xavier("a_proj.weight", H, D);
      // fla: A ~ U(0, 16), A_log = log A; dt ~ logU(1e-3, 0.1) (floor 1e-4), dt_bias = softplus⁻¹(dt)
      auto& A_log = params_.add("A_log", {H});
      auto& dt_bias = params_.add("dt_bias", {H});
      std::uniform_real_distribution<double> u01(0.0, 1.0);
      for (index_t h = 0; h < H; ++h) {
        A_log[h] = static_cast<T>(std::log(std::max(16.0 * u01(gen), 1e-4)));
        double dt = std::exp(u01(gen) * (std::log(0.1) - std::log(0.001)) + std::log(0.001));
        dt = std::max(dt, 1e-4);
        dt_bias[h] = static_cast<T>(dt + std::log(-std::expm1(-dt)));
      }
    }
    if (d.use_gate) xavier("g_proj.weight", Vd, D);
    xavier("o_proj.weight", D, Vd);
    const double cb = 1.0 / std::sqrt(double(W));
    for (auto [nm, ch] : {std::pair<const char*, index_t>{"q_conv1d", Kd}, {"k_conv1d", Kd}, {"v_conv1d", Vd}}) {
      uniform(params_.add(std::string(nm) + ".weight", {ch, 1, W}), cb);
      if (d.conv_bias) uniform(params_.add(std::string(nm) + ".bias", {ch}), cb);
    }
    for (auto& v : params_.add("o_norm.weight", {d.head_v}).values()) v = T(1);
  }

  std::size_t d_model() const noexcept { return static_cast<std::size_t>(d_.d_model); }
  const delta_layer_dims& dims() const noexcept { return d_; }
  parameters<T>& params() noexcept { return params_; }
  const parameters<T>& params() const noexcept { return params_; }

  state_type make_state() const {
    const index_t W1 = d_.conv - 1;
    return {tensor<T>({1, d_.key_dim(), W1}), tensor<T>({1, d_.key_dim(), W1}), tensor<T>({1, d_.value_dim(), W1}),
            tensor<T>({1, d_.heads, d_.head_k, d_.head_v})};
  }

  void forward(seq_cref<T> x, seq_ref<T> y, state_type& s, const run_options& opt = {}) const {
    const index_t L = x.extent(0), D = d_.d_model, H = d_.heads, Kh = d_.head_k, Vh = d_.head_v;
    const index_t Kd = d_.key_dim(), Vd = d_.value_dim();
    seqmix::detail::check_shape(name(), "x", x, {-1, D});
    seqmix::detail::check_shape(name(), "y", y, {L, D});
    if (L == 0) return;
    using mat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    const auto X = Eigen::Map<const mat, 0, Eigen::OuterStride<>>(x.data(), L, D, Eigen::OuterStride<>(x.stride(0)));
    const mat Qp = X * params_.matrix("q_proj.weight").transpose();
    const mat Kp = X * params_.matrix("k_proj.weight").transpose();
    const mat Vp = X * params_.matrix("v_proj.weight").transpose();
    mat beta = X * params_.matrix("b_proj.weight").transpose();  // L×H
    mat q(L, Kd), k(L, Kd), v(L, Vd);
    conv(Qp, q, "q_conv1d", s.q_conv, opt);
    conv(Kp, k, "k_conv1d", s.k_conv, opt);
    conv(Vp, v, "v_conv1d", s.v_conv, opt);
    l2_normalise(q, H, Kh);
    l2_normalise(k, H, Kh);
    for (index_t i = 0; i < beta.size(); ++i) {
      const T b = simd::sigmoid(beta.data()[i]);
      beta.data()[i] = d_.neg_eig ? T(2) * b : b;
    }
    mat o(L, Vd);
    const const_view<T, 4> qv(q.data(), {1, L, H, Kh}), kv(k.data(), {1, L, H, Kh});
    const const_view<T, 4> vv(v.data(), {1, L, H, Vh});
    const const_view<T, 3> bv(beta.data(), {1, L, H});
    const tensor_view<T, 4> ov(o.data(), {1, L, H, Vh});
    if (d_.gated) {
      mat g = X * params_.matrix("a_proj.weight").transpose();  // L×H
      const auto& A_log = params_["A_log"];
      const auto& dt_bias = params_["dt_bias"];
      for (index_t t = 0; t < L; ++t)
        for (index_t h = 0; h < H; ++h)
          g(t, h) = -std::exp(A_log[h]) * simd::softplus(T(g(t, h) + dt_bias[h]));
      gated_delta_rule(gated_delta_rule_args<T>{qv, kv, vv, bv, const_view<T, 3>(g.data(), {1, L, H}), ov,
                                                s.S.template cview<4>(), s.S.template view<4>()},
                       opt);
    } else {
      delta_rule(delta_rule_args<T>{qv, kv, vv, bv, ov, s.S.template cview<4>(), s.S.template view<4>()}, opt);
    }
    // per-head RMSNorm, weight, output gate silu(W_g x)
    const T* w = params_["o_norm.weight"].data();
    mat gate;
    if (d_.use_gate) gate = X * params_.matrix("g_proj.weight").transpose();
    for (index_t t = 0; t < L; ++t)
      for (index_t h = 0; h < H; ++h) {
        T* oh = o.data() + t * Vd + h * Vh;
        T ms = 0;
        for (index_t j = 0; j < Vh; ++j) ms += oh[j] * oh[j];
        const T r = T(1) / std::sqrt(ms / T(Vh) + T(d_.eps));
        if (d_.use_gate) {
          const T* gh = gate.data() + t * Vd + h * Vh;
          for (index_t j = 0; j < Vh; ++j) oh[j] = oh[j] * r * w[j] * simd::silu(gh[j]);
        } else {
          for (index_t j = 0; j < Vh; ++j) oh[j] = oh[j] * r * w[j];
        }
      }
    auto Y = Eigen::Map<mat, 0, Eigen::OuterStride<>>(y.data(), L, D, Eigen::OuterStride<>(y.stride(0)));
    Y.noalias() = o * params_.matrix("o_proj.weight").transpose();
  }

  void step(row_cref<T> x, row_ref<T> y, state_type& s) const {
    const index_t D = d_.d_model;
    forward(seq_cref<T>(x.data(), {1, D}), seq_ref<T>(y.data(), {1, D}), s);
  }

 private:
  std::string name() const { return d_.gated ? "gated_deltanet" : "deltanet"; }

  template <class Mat>
  void conv(const Mat& in, Mat& out, const std::string& nm, tensor<T>& state, const run_options& opt) const {
    const index_t L = in.rows(), C = in.cols(), W = d_.conv;
    causal_conv1d_args<T> a;
    a.x = const_view<T, 3>(in.data(), {1, L, C});
    a.weight = const_view<T, 2>(params_[nm + ".weight"].data(), {C, W});
    if (d_.conv_bias) a.bias = params_[nm + ".bias"].template cview<1>();
    a.o = tensor_view<T, 3>(out.data(), {1, L, C});
    if (W > 1) {
      a.initial_state = state.template cview<3>();
      a.final_state = state.template view<3>();
    }
    a.activation = conv_activation::silu;
    causal_conv1d(a, run_options{form::auto_, 0, opt.threads});
  }

  template <class Mat>
  void l2_normalise(Mat& m, index_t H, index_t Dh) const {
    for (index_t t = 0; t < m.rows(); ++t)
      for (index_t h = 0; h < H; ++h) {
        T* p = m.data() + t * m.cols() + h * Dh;
        T n = 0;
        for (index_t j = 0; j < Dh; ++j) n += p[j] * p[j];
        const T r = T(1) / std::sqrt(n + T(1e-6));
        for (index_t j = 0; j < Dh; ++j) p[j] *= r;
      }
  }

  delta_layer_dims d_;
  parameters<T> params_;
};

}  // namespace detail

// DeltaNet: head_k_dim = d_model·expand_k / num_heads, head_v_dim = d_model·expand_v / num_heads.
template <class T>
class deltanet : public detail::delta_layer<T> {
 public:
  using value_type = T;
  using state_type = typename detail::delta_layer<T>::state_type;
  explicit deltanet(const deltanet_config& c) : detail::delta_layer<T>(dims(c)), cfg_(c) {}
  const deltanet_config& config() const noexcept { return cfg_; }

 private:
  static detail::delta_layer_dims dims(const deltanet_config& c) {
    const index_t D = static_cast<index_t>(c.d_model), H = static_cast<index_t>(c.num_heads);
    const auto kd = static_cast<index_t>(double(D) * c.expand_k), vd = static_cast<index_t>(double(D) * c.expand_v);
    if (H <= 0 || kd % H != 0 || vd % H != 0)
      throw shape_error("deltanet: key_dim " + std::to_string(kd) + " and value_dim " + std::to_string(vd) +
                        " must be multiples of num_heads " + std::to_string(H));
    return {D, H, kd / H, vd / H, static_cast<index_t>(c.conv_size), false, c.use_gate, c.conv_bias,
            c.allow_neg_eigval, c.norm_eps, c.seed};
  }
  deltanet_config cfg_;
};

static_assert(mixer<deltanet<float>>);

}  // namespace seqmix::mixers
