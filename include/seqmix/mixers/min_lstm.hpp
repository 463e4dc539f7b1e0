#pragma once
// minLSTM (Feng et al. 2024, "Were RNNs All We Needed?"):
//   [h̃_raw, f_raw, i_raw] = x Wᵀ          to_hidden_and_gates.weight [3·d_inner, d_model]
//                                          (rows: hidden, forget, input; the paper's three
//                                          Linear_dh layers stacked into one GEMM)
//   f' = σ(f_raw)/(σ(f_raw)+σ(i_raw)), i' = 1 - f',  h_t = f' ⊙ h_{t-1} + i' ⊙ ĝ(h̃_raw)   (min_lstm op)
//   y = h W_outᵀ                           to_out.weight [d_model, d_inner] (only when d_inner != d_model)
// Initialisation: PyTorch's nn.Linear default, U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
#include "seqmix/mixers/min_gru.hpp"  // detail::init_linear, Eigen maps
#include "seqmix/ops/min_lstm.hpp"

namespace seqmix::mixers {

struct min_lstm_config {
  std::size_t d_model = 64;
  double expansion = 1.0;
  unsigned seed = 0;
};

template <class T>
class min_lstm {
 public:
  using value_type = T;
  struct state_type {
    tensor<T> h;  // [1, d_inner]
  };

  explicit min_lstm(min_lstm_config cfg)
      : cfg_(cfg), d_inner_(static_cast<index_t>(std::llround(double(cfg.d_model) * cfg.expansion))) {
    const index_t d = index_t(cfg.d_model);
    std::mt19937_64 gen(cfg.seed);
    detail::init_linear(params_.add("to_hidden_and_gates.weight", {3 * d_inner_, d}), gen);
    if (d_inner_ != d) detail::init_linear(params_.add("to_out.weight", {d, d_inner_}), gen);
  }

  std::size_t d_model() const noexcept { return cfg_.d_model; }
  index_t d_inner() const noexcept { return d_inner_; }
  state_type make_state() const { return {tensor<T>({1, d_inner_})}; }
  parameters<T>& params() noexcept { return params_; }
  const parameters<T>& params() const noexcept { return params_; }
  run_options& scan_options() noexcept { return opt_; }

  void forward(seq_cref<T> x, seq_ref<T> y, state_type& s) const {
    const index_t L = x.extent(0), d = index_t(cfg_.d_model), di = d_inner_;
    seqmix::detail::check_shape("min_lstm", "x", x, {-1, d});
    seqmix::detail::check_shape("min_lstm", "y", y, {L, d});
    seqmix::detail::check_shape("min_lstm", "state", s.h.template cview<2>(), {1, di});
    if (L == 0) return;
    const bool out_proj = di != d;
    T* buf = thread_workspace(0).template get<T>(std::size_t(L) * (3 * di + (out_proj ? di : 0)));
    const int threads = resolve_threads(opt_);
    detail::project(x.data(), x.stride(0), L, params_["to_hidden_and_gates.weight"], buf, 3 * di, threads);
    T* h = out_proj ? buf + std::size_t(L) * 3 * di : y.data();
    const index_t ldh = out_proj ? di : y.stride(0);
    const std::array<index_t, 3> st{L * 3 * di, 3 * di, 1};
    min_lstm_args<T> a;
    a.h_raw = const_view<T, 3>(buf, {1, L, di}, st);
    a.f_raw = const_view<T, 3>(buf + di, {1, L, di}, st);
    a.i_raw = const_view<T, 3>(buf + 2 * di, {1, L, di}, st);
    a.o = tensor_view<T, 3>(h, {1, L, di}, {L * ldh, ldh, 1});
    a.initial_state = s.h.template cview<2>();
    a.final_state = s.h.template view<2>();
    seqmix::min_lstm(a, opt_);
    if (out_proj) detail::project(h, di, L, params_["to_out.weight"], y.data(), y.stride(0), threads);
  }

  void step(row_cref<T> x, row_ref<T> y, state_type& s) const {
    const index_t d = index_t(cfg_.d_model);
    forward(seq_cref<T>(x.data(), {1, d}), seq_ref<T>(y.data(), {1, d}), s);
  }

 private:
  min_lstm_config cfg_;
  index_t d_inner_;
  parameters<T> params_;
  run_options opt_{form::recurrent, 0, 0};
};

static_assert(mixer<min_lstm<float>>);

}  // namespace seqmix::mixers
