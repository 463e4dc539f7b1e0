#pragma once
// What the diagonal-recurrence mixers (minGRU, minLSTM, HGRN, LRU) share: projections of
// [L, d] rows by PyTorch-layout weights, nn.Linear's initialisation, and the mixer-concept
// body of a layer whose only state is the scan's [1, d_inner] hidden vector.
#include <cmath>
#include <random>

#include <Eigen/Core>

#include "seqmix/core/check.hpp"
#include "seqmix/core/concepts.hpp"
#include "seqmix/core/options.hpp"
#include "seqmix/core/threading.hpp"
#include "seqmix/kernels/dense/gemm_nt.hpp"
#include "seqmix/mixers/detail/eigen_maps.hpp"
#include "seqmix/mixers/parameters.hpp"

namespace seqmix::mixers::detail {

// out[L, rows(W)] = x[L, cols(W)] Wᵀ for a PyTorch-layout weight W: the packed GEMM kernel
// (faster than Eigen's here, see bench/scan.cpp) for L >= 16 rows, Eigen's GEMV below.
template <class T>
void project(const T* x, index_t ldx, index_t L, const T* W, index_t n, index_t k, T* out, index_t ldo, int threads) {
  if (L >= 16) {
    kernels::dense::gemm_nt(L, n, k, x, ldx, W, k, out, ldo, threads);
  } else {
    rmap<T>(out, L, n, Eigen::OuterStride<>(ldo)).noalias() =
        crmap<T>(x, L, k, Eigen::OuterStride<>(ldx)) * crmap<T>(W, n, k, Eigen::OuterStride<>(k)).transpose();
  }
}
template <class T>
void project(const T* x, index_t ldx, index_t L, const tensor<T>& W, T* out, index_t ldo, int threads) {
  project(x, ldx, L, W.data(), W.extent(0), W.extent(1), out, ldo, threads);
}

// nn.Linear's default initialisation: U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
template <class T>
void init_linear(tensor<T>& w, std::mt19937_64& gen) {
  const double bound = 1.0 / std::sqrt(double(w.extent(1)));
  std::uniform_real_distribution<double> u(-bound, bound);
  for (auto& v : w.values()) v = static_cast<T>(u(gen));
}

// The mixer-concept body of a diagonal-recurrence layer (CRTP: Derived supplies `forward`
// and a `static constexpr const char* name`). `step` is a one-row forward: the layer has no
// per-token state besides h. The scan runs in `scan_options()` (default: recurrent, so a
// forward is bitwise independent of how the sequence is split into calls).
template <class T, class Derived>
class diagonal_rnn {
 public:
  using value_type = T;
  struct state_type {
    tensor<T> h;  // [1, d_inner]
  };

  std::size_t d_model() const noexcept { return std::size_t(d_model_); }
  index_t d_inner() const noexcept { return d_inner_; }
  state_type make_state() const { return {tensor<T>({1, d_inner_})}; }
  parameters<T>& params() noexcept { return params_; }
  const parameters<T>& params() const noexcept { return params_; }
  run_options& scan_options() noexcept { return opt_; }

  void step(row_cref<T> x, row_ref<T> y, state_type& s) const {
    static_cast<const Derived&>(*this).forward(seq_cref<T>(x.data(), {1, d_model_}),
                                               seq_ref<T>(y.data(), {1, d_model_}), s);
  }

 protected:
  diagonal_rnn(std::size_t d_model, double expansion)
      : d_model_(index_t(d_model)), d_inner_(static_cast<index_t>(std::llround(double(d_model) * expansion))) {}

  // Validates a forward's arguments; false when there is nothing to do (L = 0).
  bool check_forward(seq_cref<T> x, seq_ref<T> y, const state_type& s) const {
    seqmix::detail::check_shape(Derived::name, "x", x, {-1, d_model_});
    seqmix::detail::check_shape(Derived::name, "y", y, {x.extent(0), d_model_});
    seqmix::detail::check_shape(Derived::name, "state", s.h.template cview<2>(), {1, d_inner_});
    return x.extent(0) > 0;
  }
  // The scan's state arguments: h in, h out (the same buffer; the ops allow it).
  template <class Args>
  void carry_state(Args& a, state_type& s) const {
    a.initial_state = s.h.template cview<2>();
    a.final_state = s.h.template view<2>();
  }
  int threads() const { return resolve_threads(opt_); }

  index_t d_model_, d_inner_;
  parameters<T> params_;
  run_options opt_{form::recurrent, 0, 0};
};

// minGRU and minLSTM: one fused input projection of `Blocks` d_inner-wide blocks (hidden,
// then the gates) named Derived::weight, the Derived's scan op over the blocks, and an output
// projection `to_out.weight` when d_inner != d_model. Derived supplies
// `scan(const std::array<const_view<T,3>, Blocks>&, tensor_view<T,3> h, state_type&)`.
template <class T, class Derived, index_t Blocks>
class min_rnn : public diagonal_rnn<T, Derived> {
  using base = diagonal_rnn<T, Derived>;

 public:
  void forward(seq_cref<T> x, seq_ref<T> y, typename base::state_type& s) const {
    if (!this->check_forward(x, y, s)) return;
    const index_t L = x.extent(0), di = this->d_inner_;
    const bool out_proj = di != this->d_model_;
    const int threads = this->threads();
    T* buf = thread_workspace(mixer_workspace_slot).template get<T>(std::size_t(L) * ((Blocks + (out_proj ? 1 : 0)) * di));
    project(x.data(), x.stride(0), L, this->params_[Derived::weight], buf, Blocks * di, threads);
    T* h = out_proj ? buf + std::size_t(L) * Blocks * di : y.data();
    const index_t ldh = out_proj ? di : y.stride(0);
    std::array<const_view<T, 3>, Blocks> blocks;
    for (index_t j = 0; j < Blocks; ++j)
      blocks[j] = const_view<T, 3>(buf + j * di, {1, L, di}, {L * Blocks * di, Blocks * di, 1});
    static_cast<const Derived&>(*this).scan(blocks, tensor_view<T, 3>(h, {1, L, di}, {L * ldh, ldh, 1}), s);
    if (out_proj) project(h, di, L, this->params_["to_out.weight"], y.data(), y.stride(0), threads);
  }

 protected:
  min_rnn(std::size_t d_model, double expansion, unsigned seed) : base(d_model, expansion) {
    std::mt19937_64 gen(seed);
    init_linear(this->params_.add(Derived::weight, {Blocks * this->d_inner_, this->d_model_}), gen);
    if (this->d_inner_ != this->d_model_)
      init_linear(this->params_.add("to_out.weight", {this->d_model_, this->d_inner_}), gen);
  }
};

}  // namespace seqmix::mixers::detail
