#pragma once
// Channel mixers (position-wise feed-forward layers) written as mixers with an empty state,
// so they stack like any other mixer. Parameter names follow the common PyTorch modules:
// mlp: fc1/fc2 (GPT-style, GELU), swiglu: gate_proj/up_proj/down_proj (LLaMA-style).
#include <cmath>
#include <random>

#include <Eigen/Core>

#include "seqmix/core/check.hpp"
#include "seqmix/core/concepts.hpp"
#include "seqmix/mixers/parameters.hpp"
#include "seqmix/simd/math.hpp"

namespace seqmix::compose {

namespace detail {
template <class T>
using row_matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T>
using const_rows = Eigen::Map<const row_matrix<T>, 0, Eigen::OuterStride<>>;
template <class T>
using rows = Eigen::Map<row_matrix<T>, 0, Eigen::OuterStride<>>;

template <class T>
void init_normal(tensor<T>& t, std::mt19937& gen, double stddev) {
  std::normal_distribution<double> n(0.0, stddev);
  for (auto& v : t.values()) v = static_cast<T>(n(gen));
}
// x rows as an Eigen map honouring the row stride.
template <class T> const_rows<T> as_matrix(seq_cref<T> x) {
  return const_rows<T>(x.data(), x.extent(0), x.extent(1), Eigen::OuterStride<>(x.stride(0)));
}
template <class T> rows<T> as_matrix(seq_ref<T> y) {
  return rows<T>(y.data(), y.extent(0), y.extent(1), Eigen::OuterStride<>(y.stride(0)));
}
}  // namespace detail

struct empty_state {};

struct feed_forward_config {
  std::size_t d_model = 512;
  std::size_t d_hidden = 0;  // 0: 4·d_model for mlp, 8/3·d_model rounded to 64 for swiglu
  unsigned seed = 0;
};

// y = fc2(gelu(fc1 x + b1)) + b2, tanh-approximated GELU.
template <class T>
class mlp {
 public:
  using value_type = T;
  using state_type = empty_state;

  explicit mlp(feed_forward_config cfg) : d_(cfg.d_model), h_(cfg.d_hidden ? cfg.d_hidden : 4 * cfg.d_model) {
    std::mt19937 gen(cfg.seed);
    detail::init_normal(params_.add("fc1.weight", {index_t(h_), index_t(d_)}), gen, 1.0 / std::sqrt(double(d_)));
    params_.add("fc1.bias", {index_t(h_)});
    detail::init_normal(params_.add("fc2.weight", {index_t(d_), index_t(h_)}), gen, 1.0 / std::sqrt(double(h_)));
    params_.add("fc2.bias", {index_t(d_)});
  }
  std::size_t d_model() const noexcept { return d_; }
  std::size_t d_hidden() const noexcept { return h_; }
  state_type make_state() const { return {}; }
  parameters<T>& params() noexcept { return params_; }
  const parameters<T>& params() const noexcept { return params_; }

  void forward(seq_cref<T> x, seq_ref<T> y, state_type&) const {
    seqmix::detail::check_shape("mlp", "x", x, {-1, index_t(d_)});
    seqmix::detail::check_shape("mlp", "y", y, {x.extent(0), index_t(d_)});
    if (x.extent(0) == 0) return;
    const auto b1 = Eigen::Map<const Eigen::Matrix<T, 1, Eigen::Dynamic>>(params_.at("fc1.bias").data(), index_t(h_));
    const auto b2 = Eigen::Map<const Eigen::Matrix<T, 1, Eigen::Dynamic>>(params_.at("fc2.bias").data(), index_t(d_));
    detail::row_matrix<T> hidden = detail::as_matrix(x) * params_.matrix("fc1.weight").transpose();
    hidden.rowwise() += b1;
    hidden = hidden.unaryExpr([](T v) {
      const T c = T(0.7978845608028654);  // sqrt(2/pi)
      return T(0.5) * v * (T(1) + std::tanh(c * (v + T(0.044715) * v * v * v)));
    });
    auto Y = detail::as_matrix(y);
    Y.noalias() = hidden * params_.matrix("fc2.weight").transpose();
    Y.rowwise() += b2;
  }
  void step(row_cref<T> x, row_ref<T> y, state_type& s) const {
    forward(seq_cref<T>(x.data(), {1, index_t(d_)}), seq_ref<T>(y.data(), {1, index_t(d_)}), s);
  }

 private:
  std::size_t d_, h_;
  parameters<T> params_;
};

// y = down(silu(gate x) ⊙ up x)   (SwiGLU, Shazeer 2020; LLaMA parameter names)
template <class T>
class swiglu {
 public:
  using value_type = T;
  using state_type = empty_state;

  explicit swiglu(feed_forward_config cfg)
      : d_(cfg.d_model), h_(cfg.d_hidden ? cfg.d_hidden : (8 * cfg.d_model / 3 + 63) / 64 * 64) {
    std::mt19937 gen(cfg.seed);
    const double si = 1.0 / std::sqrt(double(d_)), sh = 1.0 / std::sqrt(double(h_));
    detail::init_normal(params_.add("gate_proj.weight", {index_t(h_), index_t(d_)}), gen, si);
    detail::init_normal(params_.add("up_proj.weight", {index_t(h_), index_t(d_)}), gen, si);
    detail::init_normal(params_.add("down_proj.weight", {index_t(d_), index_t(h_)}), gen, sh);
  }
  std::size_t d_model() const noexcept { return d_; }
  std::size_t d_hidden() const noexcept { return h_; }
  state_type make_state() const { return {}; }
  parameters<T>& params() noexcept { return params_; }
  const parameters<T>& params() const noexcept { return params_; }

  void forward(seq_cref<T> x, seq_ref<T> y, state_type&) const {
    seqmix::detail::check_shape("swiglu", "x", x, {-1, index_t(d_)});
    seqmix::detail::check_shape("swiglu", "y", y, {x.extent(0), index_t(d_)});
    if (x.extent(0) == 0) return;
    const auto X = detail::as_matrix(x);
    detail::row_matrix<T> gate = X * params_.matrix("gate_proj.weight").transpose();
    detail::row_matrix<T> up = X * params_.matrix("up_proj.weight").transpose();
    for (index_t i = 0; i < gate.size(); ++i) gate.data()[i] = simd::silu(gate.data()[i]) * up.data()[i];
    detail::as_matrix(y).noalias() = gate * params_.matrix("down_proj.weight").transpose();
  }
  void step(row_cref<T> x, row_ref<T> y, state_type& s) const {
    forward(seq_cref<T>(x.data(), {1, index_t(d_)}), seq_ref<T>(y.data(), {1, index_t(d_)}), s);
  }

 private:
  std::size_t d_, h_;
  parameters<T> params_;
};

static_assert(mixer<mlp<float>>);
static_assert(mixer<swiglu<float>>);

}  // namespace seqmix::compose
