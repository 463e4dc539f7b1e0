#pragma once
// The smallest real mixer: a gated diagonal recurrence on one op.
//   u = W_in x,  g = logsigmoid(W_gate x),  h_t = e^{g_t} h_{t-1} + (1 - e^{g_t}) u_t,
//   y = W_out h
// It exists to exercise the concept end to end (package tests, composition) with the
// simplest possible body; the paper mixers (LRU, minGRU, HGRN, ...) are its siblings.
#include <cmath>
#include <random>
#include <vector>

#include <Eigen/Core>

#include "seqmix/core/concepts.hpp"
#include "seqmix/mixers/parameters.hpp"
#include "seqmix/ops/linear_scan.hpp"
#include "seqmix/simd/math.hpp"

namespace seqmix::mixers {

struct linear_scan_mixer_config {
  std::size_t d_model = 64;
  unsigned seed = 0;
};

template <class T>
class linear_scan_mixer {
 public:
  using value_type = T;
  struct state_type {
    tensor<T> h;  // [1, d_model]
  };

  explicit linear_scan_mixer(linear_scan_mixer_config cfg) : cfg_(cfg) {
    const index_t d = static_cast<index_t>(cfg.d_model);
    std::mt19937 gen(cfg.seed);
    std::normal_distribution<double> n(0.0, 1.0 / std::sqrt(double(d)));
    for (const char* name : {"in_proj.weight", "gate_proj.weight", "out_proj.weight"})
      for (auto& v : params_.add(name, {d, d}).values()) v = static_cast<T>(n(gen));
  }

  std::size_t d_model() const noexcept { return cfg_.d_model; }
  state_type make_state() const { return {tensor<T>({1, index_t(cfg_.d_model)})}; }
  parameters<T>& params() noexcept { return params_; }
  const parameters<T>& params() const noexcept { return params_; }

  void forward(seq_cref<T> x, seq_ref<T> y, state_type& s) const {
    const index_t L = x.extent(0), d = static_cast<index_t>(cfg_.d_model);
    seqmix::detail::check_shape("linear_scan_mixer", "x", x, {-1, d});
    seqmix::detail::check_shape("linear_scan_mixer", "y", y, {L, d});
    if (L == 0) return;
    using mat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    const auto X = Eigen::Map<const mat, 0, Eigen::OuterStride<>>(x.data(), L, d, Eigen::OuterStride<>(x.stride(0)));
    mat u = X * params_.matrix("in_proj.weight").transpose();
    mat g = X * params_.matrix("gate_proj.weight").transpose();
    for (index_t i = 0; i < u.size(); ++i) {
      const T gi = simd::log_sigmoid(g.data()[i]);
      g.data()[i] = gi;
      u.data()[i] *= -std::expm1(gi);  // (1 - e^g) u
    }
    mat h(L, d);
    linear_scan_args<T> a{const_view<T, 3>(u.data(), {1, L, d}), const_view<T, 3>(g.data(), {1, L, d}),
                          tensor_view<T, 3>(h.data(), {1, L, d}), s.h.template cview<2>(),
                          s.h.template view<2>()};
    linear_scan(a);
    auto Y = Eigen::Map<mat, 0, Eigen::OuterStride<>>(y.data(), L, d, Eigen::OuterStride<>(y.stride(0)));
    Y.noalias() = h * params_.matrix("out_proj.weight").transpose();
  }

  void step(row_cref<T> x, row_ref<T> y, state_type& s) const {
    const index_t d = static_cast<index_t>(cfg_.d_model);
    forward(seq_cref<T>(x.data(), {1, d}), seq_ref<T>(y.data(), {1, d}), s);
  }

 private:
  linear_scan_mixer_config cfg_;
  parameters<T> params_;
};

static_assert(mixer<linear_scan_mixer<float>>);

}  // namespace seqmix::mixers
