#pragma once
// Normalisations used by residual blocks and models. Not mixers themselves (no state, no
// time): `apply` maps rows independently.
#include <cmath>
#include <string>

#include "seqmix/core/check.hpp"
#include "seqmix/mixers/parameters.hpp"

namespace seqmix::compose {

// y = x / sqrt(mean(x²) + eps) ⊙ weight   (parameter "weight", init 1)
template <class T>
class rms_norm {
 public:
  using value_type = T;
  explicit rms_norm(std::size_t d_model, double eps = 1e-5) : d_(d_model), eps_(eps) {
    params_.add("weight", {index_t(d_model)}, T(1));
  }
  std::size_t d_model() const noexcept { return d_; }
  parameters<T>& params() noexcept { return params_; }
  const parameters<T>& params() const noexcept { return params_; }

  void apply_row(const T* x, T* y) const noexcept {
    const T* w = params_.at("weight").data();
    double ss = 0;
    for (std::size_t i = 0; i < d_; ++i) ss += double(x[i]) * double(x[i]);
    const T r = static_cast<T>(1.0 / std::sqrt(ss / double(d_) + eps_));
    for (std::size_t i = 0; i < d_; ++i) y[i] = x[i] * r * w[i];
  }
  void apply(seq_cref<T> x, seq_ref<T> y) const {
    for (index_t t = 0; t < x.extent(0); ++t) apply_row(x.ptr(t), y.ptr(t));
  }

 private:
  std::size_t d_;
  double eps_;
  parameters<T> params_;
};

// y = (x - mean) / sqrt(var + eps) ⊙ weight + bias   (parameters "weight" = 1, "bias" = 0)
template <class T>
class layer_norm {
 public:
  using value_type = T;
  explicit layer_norm(std::size_t d_model, double eps = 1e-5) : d_(d_model), eps_(eps) {
    params_.add("weight", {index_t(d_model)}, T(1));
    params_.add("bias", {index_t(d_model)});
  }
  std::size_t d_model() const noexcept { return d_; }
  parameters<T>& params() noexcept { return params_; }
  const parameters<T>& params() const noexcept { return params_; }

  void apply_row(const T* x, T* y) const noexcept {
    const T* w = params_.at("weight").data();
    const T* b = params_.at("bias").data();
    double mean = 0, var = 0;
    for (std::size_t i = 0; i < d_; ++i) mean += x[i];
    mean /= double(d_);
    for (std::size_t i = 0; i < d_; ++i) var += (x[i] - mean) * (x[i] - mean);
    const double r = 1.0 / std::sqrt(var / double(d_) + eps_);
    for (std::size_t i = 0; i < d_; ++i) y[i] = static_cast<T>((x[i] - mean) * r) * w[i] + b[i];
  }
  void apply(seq_cref<T> x, seq_ref<T> y) const {
    for (index_t t = 0; t < x.extent(0); ++t) apply_row(x.ptr(t), y.ptr(t));
  }

 private:
  std::size_t d_;
  double eps_;
  parameters<T> params_;
};

}  // namespace seqmix::compose
