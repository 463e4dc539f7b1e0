#pragma once
// minLSTM (Feng et al. 2024, "Were RNNs All We Needed?"):
//   [h̃_raw, f_raw, i_raw] = x Wᵀ          to_hidden_and_gates.weight [3·d_inner, d_model]
//                                          (rows: hidden, forget, input; the paper's three
//                                          Linear_dh layers stacked into one GEMM)
//   f' = σ(f_raw)/(σ(f_raw)+σ(i_raw)), i' = 1 - f',  h_t = f' ⊙ h_{t-1} + i' ⊙ ĝ(h̃_raw)   (min_lstm op)
//   y = h W_outᵀ                           to_out.weight [d_model, d_inner] (only when d_inner != d_model)
// Initialisation: PyTorch's nn.Linear default, U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
#include "seqmix/mixers/min_gru.hpp"  // min_rnn_config, detail::min_rnn
#include "seqmix/ops/min_lstm.hpp"

namespace seqmix::mixers {

using min_lstm_config = min_rnn_config;

template <class T>
class min_lstm : public detail::min_rnn<T, min_lstm<T>, 3> {
 public:
  static constexpr const char* name = "min_lstm";
  static constexpr const char* weight = "to_hidden_and_gates.weight";
  explicit min_lstm(min_lstm_config cfg) : detail::min_rnn<T, min_lstm<T>, 3>(cfg.d_model, cfg.expansion, cfg.seed) {}

 private:
  friend class detail::min_rnn<T, min_lstm<T>, 3>;
  void scan(const std::array<const_view<T, 3>, 3>& blocks, tensor_view<T, 3> h,
            typename min_lstm::state_type& s) const {
    min_lstm_args<T> a;
    a.h_raw = blocks[0];
    a.f_raw = blocks[1];
    a.i_raw = blocks[2];
    a.o = h;
    this->carry_state(a, s);
    seqmix::min_lstm(a, this->opt_);
  }
};

static_assert(mixer<min_lstm<float>>);

}  // namespace seqmix::mixers
