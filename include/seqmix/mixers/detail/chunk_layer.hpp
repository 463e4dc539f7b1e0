#pragma once
// The shared body of the chunk-engine layers (fla conventions): linear_attention
// (fla.layers.LinearAttention), retnet (fla.layers.MultiScaleRetention) and gla
// (fla.layers.GatedLinearAttention):
//   q, k, v = W_q x, W_k x, W_v x                  (heads: key_dim = H·head_k, value_dim = H·head_v)
//   retnet: q, k rotated (RoPE, rotate-half, base 10000, absolute positions carried in the state)
//   gla:    g = logsigmoid(W_gk2 (W_gk1 x) + b) / gate_logit_normalizer   (low-rank gate, [T,H,K])
//   o = op(q, k, v[, g]) with scale 1/sqrt(head_k) (linear_attn with its feature map /
//       retention / gla), continuing the state
//   o = RMSNorm_per_head(o) ⊙ weight ⊙ silu(W_g x)  (output gate: fla's FusedRMSNormGated,
//       "g_norm_swish_gate.weight"); without the gate "g_norm.weight" (linear attention: "norm.weight")
//   y = W_o o
// Linear weights use fla's initialisation: xavier_uniform with gain 2^-2.5, biases 0, norm
// weights 1.
#include <cmath>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "seqmix/core/check.hpp"
#include "seqmix/core/concepts.hpp"
#include "seqmix/mixers/parameters.hpp"
#include "seqmix/ops/gla.hpp"
#include "seqmix/ops/linear_attn.hpp"
#include "seqmix/ops/retention.hpp"
#include "seqmix/simd/math.hpp"

namespace seqmix::mixers::chunk_detail {

enum class chunk_layer_kind { linear_attention, retnet, gla };

struct chunk_layer_dims {
  chunk_layer_kind kind;
  index_t d_model, heads, head_k, head_v;
  bool output_gate = true;
  index_t gate_rank = 16;              // gla
  double gate_normalizer = 16;         // gla
  std::optional<double> clamp_min;     // gla
  feature_map map = feature_map::identity;  // linear attention
  bool normalize = false;                   // linear attention
  double rope_base = 10000;                 // retnet
  double eps = 1e-5;
  unsigned seed = 0;
  index_t key_dim() const { return heads * head_k; }
  index_t value_dim() const { return heads * head_v; }
};

inline index_t expanded(std::size_t d, double expand, std::size_t heads, const char* what) {
  const double v = double(d) * expand;
  const index_t n = static_cast<index_t>(std::llround(v));
  if (heads == 0 || n <= 0 || std::abs(v - double(n)) > 1e-9 || n % index_t(heads) != 0)
    throw shape_error(std::string(what) + " (d_model·expand = " + std::to_string(v) +
                      ") must be a positive multiple of num_heads (" + std::to_string(heads) + ")");
  return n / index_t(heads);
}

template <class T>
class chunk_layer {
 public:
  using value_type = T;
  struct state_type {
    tensor<T> S;       // [1, H, head_k, head_v]
    tensor<T> z;       // [1, H, head_k]: Σ φ(k) (linear attention with normalize), else empty
    index_t pos = 0;   // tokens seen (retnet's rotary positions)
  };

  explicit chunk_layer(const chunk_layer_dims& d) : d_(d) {
    if (d.heads <= 0 || d.head_k <= 0 || d.head_v <= 0 || d.d_model <= 0)
      throw shape_error(name() + ": d_model, num_heads and head dims must be positive");
    if (d.kind == chunk_layer_kind::retnet && d.head_k % 2 != 0)
      throw shape_error(name() + ": head_k must be even for the rotary embedding");
    const index_t D = d.d_model, Kd = d.key_dim(), Vd = d.value_dim();
    std::mt19937 gen(d.seed);
    auto xavier = [&](tensor<T>& t) {
      const double fan_out = double(t.extent(0)), fan_in = double(t.extent(1));
      std::uniform_real_distribution<double> u(-1.0, 1.0);
      const double bound = std::pow(2.0, -2.5) * std::sqrt(6.0 / (fan_in + fan_out));
      for (auto& v : t.values()) v = static_cast<T>(bound * u(gen));
    };
    xavier(params_.add("q_proj.weight", {Kd, D}));
    xavier(params_.add("k_proj.weight", {Kd, D}));
    xavier(params_.add("v_proj.weight", {Vd, D}));
    if (d.kind == chunk_layer_kind::gla) {
      xavier(params_.add("gk_proj.0.weight", {d.gate_rank, D}));
      xavier(params_.add("gk_proj.1.weight", {Kd, d.gate_rank}));
      params_.add("gk_proj.1.bias", {Kd});
    }
    if (gated()) xavier(params_.add("g_proj.weight", {Vd, D}));
    xavier(params_.add("o_proj.weight", {D, Vd}));
    for (auto& v : params_.add(norm_name(), {d.head_v}).values()) v = T(1);
  }

  std::size_t d_model() const noexcept { return static_cast<std::size_t>(d_.d_model); }
  const chunk_layer_dims& dims() const noexcept { return d_; }
  parameters<T>& params() noexcept { return params_; }
  const parameters<T>& params() const noexcept { return params_; }

  state_type make_state() const {
    state_type s{tensor<T>({1, d_.heads, d_.head_k, d_.head_v}), {}, 0};
    if (d_.normalize) s.z = tensor<T>({1, d_.heads, d_.head_k});
    return s;
  }

  void forward(seq_cref<T> x, seq_ref<T> y, state_type& s, const run_options& opt = {}) const {
    const index_t L = x.extent(0), D = d_.d_model, H = d_.heads, Kh = d_.head_k, Vh = d_.head_v;
    const index_t Kd = d_.key_dim(), Vd = d_.value_dim();
    seqmix::detail::check_shape(name(), "x", x, {-1, D});
    seqmix::detail::check_shape(name(), "y", y, {L, D});
    if (L == 0) return;
    using mat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    const auto X = Eigen::Map<const mat, 0, Eigen::OuterStride<>>(x.data(), L, D, Eigen::OuterStride<>(x.stride(0)));
    mat q = X * params_.matrix("q_proj.weight").transpose();
    mat k = X * params_.matrix("k_proj.weight").transpose();
    const mat v = X * params_.matrix("v_proj.weight").transpose();
    mat o(L, Vd);
    const const_view<T, 4> qv(q.data(), {1, L, H, Kh}), kv(k.data(), {1, L, H, Kh});
    const const_view<T, 4> vv(v.data(), {1, L, H, Vh});
    const tensor_view<T, 4> ov(o.data(), {1, L, H, Vh});
    const auto S0 = s.S.template cview<4>();
    const auto S1 = s.S.template view<4>();
    switch (d_.kind) {
      case chunk_layer_kind::linear_attention: {
        linear_attn_args<T> a{qv, kv, vv, ov, S0, S1};
        a.map = d_.map;
        a.normalize = d_.normalize;
        if (d_.normalize) {
          a.initial_normalizer = s.z.template cview<3>();
          a.final_normalizer = s.z.template view<3>();
        }
        seqmix::linear_attn(a, opt);
        break;
      }
      case chunk_layer_kind::retnet:
        rotate(q, s.pos);
        rotate(k, s.pos);
        seqmix::retention(retention_args<T>{qv, kv, vv, ov, S0, S1}, opt);
        break;
      case chunk_layer_kind::gla: {
        const mat r = X * params_.matrix("gk_proj.0.weight").transpose();
        mat g = r * params_.matrix("gk_proj.1.weight").transpose();
        const T* b = params_["gk_proj.1.bias"].data();
        const T inv = T(1) / T(d_.gate_normalizer);
        for (index_t t = 0; t < L; ++t)
          for (index_t c = 0; c < Kd; ++c) {
            T gv = simd::log_sigmoid(T(g(t, c) + b[c])) * inv;
            if (d_.clamp_min) gv = std::max(gv, T(*d_.clamp_min));
            g(t, c) = gv;
          }
        seqmix::gla(gla_args<T>{qv, kv, vv, const_view<T, 4>(g.data(), {1, L, H, Kh}), ov, S0, S1}, opt);
        break;
      }
    }
    s.pos += L;
    // per-head RMSNorm ⊙ weight (⊙ silu(W_g x) with the output gate)
    const T* w = params_[norm_name()].data();
    mat gate;
    if (gated()) gate = X * params_.matrix("g_proj.weight").transpose();
    for (index_t t = 0; t < L; ++t)
      for (index_t h = 0; h < H; ++h) {
        T* oh = o.data() + t * Vd + h * Vh;
        T ms = 0;
        for (index_t j = 0; j < Vh; ++j) ms += oh[j] * oh[j];
        const T r = T(1) / std::sqrt(ms / T(Vh) + T(d_.eps));
        if (gated()) {
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
  bool gated() const noexcept { return d_.kind != chunk_layer_kind::linear_attention && d_.output_gate; }
  std::string norm_name() const {
    if (d_.kind == chunk_layer_kind::linear_attention) return "norm.weight";
    return gated() ? "g_norm_swish_gate.weight" : "g_norm.weight";
  }
  std::string name() const {
    switch (d_.kind) {
      case chunk_layer_kind::linear_attention: return "linear_attention";
      case chunk_layer_kind::retnet: return "retnet";
      case chunk_layer_kind::gla: return "gla";
    }
    return "?";
  }

  // Rotate-half RoPE on every head of [L, H·head_k] rows at positions pos0, pos0+1, ...
  // (angles in double so positions far into a stream stay exact).
  template <class Mat>
  void rotate(Mat& m, index_t pos0) const {
    const index_t L = m.rows(), H = d_.heads, Kh = d_.head_k, half = Kh / 2;
    for (index_t t = 0; t < L; ++t)
      for (index_t i = 0; i < half; ++i) {
        const double inv_freq = std::pow(d_.rope_base, -double(2 * i) / double(Kh));
        const double ang = double(pos0 + t) * inv_freq;
        const T c = T(std::cos(ang)), sn = T(std::sin(ang));
        for (index_t h = 0; h < H; ++h) {
          T* row = m.data() + t * m.cols() + h * Kh;
          const T x1 = row[i], x2 = row[i + half];
          row[i] = x1 * c - x2 * sn;
          row[i + half] = x2 * c + x1 * sn;
        }
      }
  }

  chunk_layer_dims d_;
  parameters<T> params_;
};

}  // namespace seqmix::mixers::chunk_detail
