#pragma once
// minGRU (Feng et al. 2024, "Were RNNs All We Needed?"), as in the widely used PyTorch
// module (lucidrains/minGRU-pytorch, `minGRU`):
//   [h̃_raw, z_raw] = x W_hgᵀ            to_hidden_and_gate.weight [2·d_inner, d_model] (rows: hidden, gate)
//   h_t = (1 - σ(z_raw)) ⊙ h_{t-1} + σ(z_raw) ⊙ ĝ(h̃_raw)      (the min_gru op)
//   y = h W_outᵀ                         to_out.weight [d_model, d_inner] (only when d_inner != d_model)
// ĝ(x) = x + 0.5 (x >= 0), σ(x) otherwise. Initialisation: PyTorch's nn.Linear default,
// U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
#include <array>

#include "seqmix/mixers/detail/diagonal_rnn.hpp"
#include "seqmix/ops/min_gru.hpp"

namespace seqmix::mixers {

// d_inner = round(d_model * expansion); shared by min_gru and min_lstm.
struct min_rnn_config {
  std::size_t d_model = 64;
  double expansion = 1.0;
  unsigned seed = 0;
};
using min_gru_config = min_rnn_config;

template <class T>
class min_gru : public detail::min_rnn<T, min_gru<T>, 2> {
 public:
  static constexpr const char* name = "min_gru";
  static constexpr const char* weight = "to_hidden_and_gate.weight";
  explicit min_gru(min_gru_config cfg) : detail::min_rnn<T, min_gru<T>, 2>(cfg.d_model, cfg.expansion, cfg.seed) {}

 private:
  friend class detail::min_rnn<T, min_gru<T>, 2>;
  void scan(const std::array<const_view<T, 3>, 2>& blocks, tensor_view<T, 3> h,
            typename min_gru::state_type& s) const {
    min_gru_args<T> a;
    a.h_raw = blocks[0];
    a.z_raw = blocks[1];
    a.o = h;
    this->carry_state(a, s);
    seqmix::min_gru(a, this->opt_);
  }
};

static_assert(mixer<min_gru<float>>);

}  // namespace seqmix::mixers
