#pragma once
// minGRU (Feng et al. 2024, "Were RNNs All We Needed?"), as in the widely used PyTorch
// module (lucidrains/minGRU-pytorch, `minGRU`):
//   [h̃_raw, z_raw] = x W_hgᵀ            to_hidden_and_gate.weight [2·d_inner, d_model] (rows: hidden, gate)
//   h_t = (1 - σ(z_raw)) ⊙ h_{t-1} + σ(z_raw) ⊙ ĝ(h̃_raw)      (the min_gru op)
//   y = h W_outᵀ                         to_out.weight [d_model, d_inner] (only when d_inner != d_model)
// ĝ(x) = x + 0.5 (x >= 0), σ(x) otherwise. Initialisation: PyTorch's nn.Linear default,
// U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
#include <cmath>
#include <random>

#include <Eigen/Core>

#include "seqmix/core/check.hpp"
#include "seqmix/core/concepts.hpp"
#include "seqmix/core/workspace.hpp"
#include "seqmix/kernels/dense/gemm_nt.hpp"
#include "seqmix/mixers/parameters.hpp"
#include "seqmix/ops/min_gru.hpp"

namespace seqmix::mixers {

struct min_gru_config {
  std::size_t d_model = 64;
  double expansion = 1.0;  // d_inner = round(d_model * expansion)
  unsigned seed = 0;
};

namespace detail {
template <class T>
using rmat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T>
using rmap = Eigen::Map<rmat<T>, 0, Eigen::OuterStride<>>;
template <class T>
using crmap = Eigen::Map<const rmat<T>, 0, Eigen::OuterStride<>>;

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
}  // namespace detail

template <class T>
class min_gru {
 public:
  using value_type = T;
  struct state_type {
    tensor<T> h;  // [1, d_inner]
  };

  explicit min_gru(min_gru_config cfg)
      : cfg_(cfg), d_inner_(static_cast<index_t>(std::llround(double(cfg.d_model) * cfg.expansion))) {
    const index_t d = index_t(cfg.d_model);
    std::mt19937_64 gen(cfg.seed);
    detail::init_linear(params_.add("to_hidden_and_gate.weight", {2 * d_inner_, d}), gen);
    if (d_inner_ != d) detail::init_linear(params_.add("to_out.weight", {d, d_inner_}), gen);
  }

  std::size_t d_model() const noexcept { return cfg_.d_model; }
  index_t d_inner() const noexcept { return d_inner_; }
  state_type make_state() const { return {tensor<T>({1, d_inner_})}; }
  parameters<T>& params() noexcept { return params_; }
  const parameters<T>& params() const noexcept { return params_; }
  // Kernel form and threads of the scan (default: recurrent, so a forward is bitwise
  // independent of how the sequence is split into calls).
  run_options& scan_options() noexcept { return opt_; }

  void forward(seq_cref<T> x, seq_ref<T> y, state_type& s) const {
    const index_t L = x.extent(0), d = index_t(cfg_.d_model), di = d_inner_;
    seqmix::detail::check_shape("min_gru", "x", x, {-1, d});
    seqmix::detail::check_shape("min_gru", "y", y, {L, d});
    seqmix::detail::check_shape("min_gru", "state", s.h.template cview<2>(), {1, di});
    if (L == 0) return;
    const bool out_proj = di != d;
    T* buf = thread_workspace(0).template get<T>(std::size_t(L) * (2 * di + (out_proj ? di : 0)));
    const int threads = resolve_threads(opt_);
    detail::project(x.data(), x.stride(0), L, params_["to_hidden_and_gate.weight"], buf, 2 * di, threads);
    T* h = out_proj ? buf + std::size_t(L) * 2 * di : y.data();
    const index_t ldh = out_proj ? di : y.stride(0);
    min_gru_args<T> a;
    a.z_raw = const_view<T, 3>(buf + di, {1, L, di}, {L * 2 * di, 2 * di, 1});
    a.h_raw = const_view<T, 3>(buf, {1, L, di}, {L * 2 * di, 2 * di, 1});
    a.o = tensor_view<T, 3>(h, {1, L, di}, {L * ldh, ldh, 1});
    a.initial_state = s.h.template cview<2>();
    a.final_state = s.h.template view<2>();
    seqmix::min_gru(a, opt_);
    if (out_proj) detail::project(h, di, L, params_["to_out.weight"], y.data(), y.stride(0), threads);
  }

  void step(row_cref<T> x, row_ref<T> y, state_type& s) const {
    const index_t d = index_t(cfg_.d_model);
    forward(seq_cref<T>(x.data(), {1, d}), seq_ref<T>(y.data(), {1, d}), s);
  }

 private:
  min_gru_config cfg_;
  index_t d_inner_;
  parameters<T> params_;
  run_options opt_{form::recurrent, 0, 0};
};

static_assert(mixer<min_gru<float>>);

}  // namespace seqmix::mixers
