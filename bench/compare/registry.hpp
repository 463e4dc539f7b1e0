#pragma once
// The mixers in the comparison, each behind a small type-erased handle. Adding a mixer is
// one `add<...>` line in all_cases(): a factory at the given d_model (about the same
// parameter count as the others: each mixer's own standard expansion), its family, its
// core FLOPs at length T (the op's formula; projections are counted from the parameter
// count), and whether its prefill cost grows quadratically.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "seqmix/compose.hpp"
#include "seqmix/compose/state_io.hpp"
#include "seqmix/mixers.hpp"
#include "support/bench_util.hpp"

namespace seqmix::bench::compare {

struct instance {
  virtual ~instance() = default;
  virtual void reset() = 0;                                    // fresh state
  virtual void forward(seq_cref<float> x, seq_ref<float> y) = 0;  // continue the state
  virtual void step(row_cref<float> x, row_ref<float> y) = 0;
  virtual std::size_t parameter_count() = 0;
  virtual double state_bytes() const = 0;                       // state after the tokens seen
};

template <class M>
struct instance_of final : instance {
  M m;
  typename M::state_type s;
  std::function<double(const M&, const typename M::state_type&)> bytes;
  instance_of(M mixer, std::function<double(const M&, const typename M::state_type&)> b)
      : m(std::move(mixer)), s(m.make_state()), bytes(std::move(b)) {}
  void reset() override { s = m.make_state(); }
  void forward(seq_cref<float> x, seq_ref<float> y) override { m.forward(x, y, s); }
  void step(row_cref<float> x, row_ref<float> y) override { m.step(x, y, s); }
  std::size_t parameter_count() override {
    std::size_t n = 0;
    visit_parameters(m, "", [&](const std::string&, const auto& t) { n += std::size_t(t.size()); });
    return n;
  }
  double state_bytes() const override { return bytes(m, s); }
};

struct mixer_case {
  std::string name, family;
  std::function<std::unique_ptr<instance>()> make;
  std::function<double(index_t T)> core_flops;
  bool quadratic = false;
};

template <class M, class Make, class Bytes>
mixer_case make_case(std::string name, std::string family, Make make, Bytes bytes,
                     std::function<double(index_t)> core_flops, bool quadratic = false) {
  return {std::move(name), std::move(family),
          [make, bytes]() -> std::unique_ptr<instance> { return std::make_unique<instance_of<M>>(make(), bytes); },
          std::move(core_flops), quadratic};
}

// The state (or KV cache) a mixer holds: every tensor/vector of its state.
inline auto measured_state = [](const auto&, const auto& s) { return seqmix::state_bytes(s); };
// Mamba's state also carries a scratch buffer sized to the last call; count conv + SSM state.
inline auto recurrent_state = [](const auto&, const auto& s) {
  return double(s.conv.size() + s.ssm.size()) * sizeof(float);
};

inline std::vector<mixer_case> all_cases(std::size_t d, index_t max_len = 65536) {
  const double D = double(d);
  std::vector<mixer_case> c;
  namespace m = seqmix::mixers;
  namespace cp = seqmix::compose;
  const auto lin = [](double per_token) { return [per_token](index_t T) { return per_token * double(T); }; };

  // softmax attention: 8 heads of 64, causal; core FLOPs 4·H·D·T(T+1)/2
  c.push_back(make_case<m::attention<float>>(
      "attention", "softmax attention",
      [d, max_len] { return m::attention<float>({.d_model = d, .n_heads = d / 64, .max_len = std::size_t(max_len) + 64}); },
      [](const auto& mx, const auto& s) { return seqmix::state_bytes(s) * double(s.length) / double(std::max<index_t>(1, s.k.extent(0))); },
      [D](index_t T) { return 4.0 * D * double(T) * double(T + 1) / 2.0; }, /*quadratic=*/true));
  c.push_back(make_case<m::attention<float>>(
      "swa_attention_w1024", "softmax attention",
      [d] { return m::attention<float>({.d_model = d, .n_heads = d / 64, .window = 1024}); }, measured_state,
      [D](index_t T) { return 4.0 * D * double(T) * double(std::min<index_t>(T, 1024)); }));
  // chunked linear attention family: 5·T·H·K·V
  c.push_back(make_case<m::linear_attention<float>>(
      "linear_attention", "linear attention", [d] { return m::linear_attention<float>({.d_model = d, .num_heads = d / 64}); },
      measured_state, lin(5.0 * D * 64)));
  c.push_back(make_case<m::retnet<float>>(
      "retnet", "linear attention", [d] { return m::retnet<float>({.d_model = d, .num_heads = d / 128}); },
      measured_state, lin(5.0 * D * 2 * 128)));
  c.push_back(make_case<m::gla<float>>(
      "gla", "linear attention", [d] { return m::gla<float>({.d_model = d, .num_heads = 4}); },
      measured_state, lin(5.0 * (D / 2) * (D / 4))));
  // Mamba: selective scan 7·T·D_inner·N; Mamba-2 SSD 5·T·H·P·N
  c.push_back(make_case<m::mamba<float>>(
      "mamba", "selective SSM", [d] { return m::mamba<float>({.d_model = d}); }, recurrent_state, lin(7.0 * 2 * D * 16)));
  c.push_back(make_case<m::mamba2<float>>(
      "mamba2", "selective SSM", [d] { return m::mamba2<float>({.d_model = d}); }, recurrent_state, lin(5.0 * 2 * D * 128)));
  // delta rule: 7·T·H·K·V
  c.push_back(make_case<m::deltanet<float>>(
      "deltanet", "delta rule", [d] { return m::deltanet<float>({.d_model = d, .num_heads = d / 64}); },
      measured_state, lin(7.0 * D * 64)));
  c.push_back(make_case<m::gated_deltanet<float>>(
      "gated_deltanet", "delta rule", [d] { return m::gated_deltanet<float>({.d_model = d, .num_heads = d / 128, .head_dim = 64}); },
      measured_state, lin(7.0 * (D / 128) * 64 * 128)));
  // RWKV time-mix: wkv6 7·T·H·S², wkv7 9·T·H·S² (head size S = 64)
  c.push_back(make_case<m::rwkv6_time_mix<float>>(
      "rwkv6", "rwkv", [d] { return m::rwkv6_time_mix<float>({.n_embd = d}); }, measured_state, lin(7.0 * D * 64)));
  c.push_back(make_case<m::rwkv7_time_mix<float>>(
      "rwkv7", "rwkv", [d] { return m::rwkv7_time_mix<float>({.n_embd = d}); }, measured_state, lin(9.0 * D * 64)));
  // diagonal recurrences: a few FLOPs per channel and step
  c.push_back(make_case<m::lru<float>>(
      "lru", "diagonal recurrence", [d] { return m::lru<float>({.d_model = d}); }, measured_state, lin(8.0 * D)));
  c.push_back(make_case<m::min_gru<float>>(
      "min_gru", "diagonal recurrence", [d] { return m::min_gru<float>({.d_model = d, .expansion = 1.5}); },
      measured_state, lin(8.0 * 1.5 * D)));
  c.push_back(make_case<m::min_lstm<float>>(
      "min_lstm", "diagonal recurrence", [d] { return m::min_lstm<float>({.d_model = d, .expansion = 1.5}); },
      measured_state, lin(10.0 * 1.5 * D)));
  c.push_back(make_case<m::hgrn<float>>(
      "hgrn", "diagonal recurrence", [d] { return m::hgrn<float>({.d_model = d}); }, measured_state, lin(8.0 * D)));
  // Hyena (order 2): one long FFT convolution per channel, ~3 real FFTs of 2T: 3·2.5·2T·log2(2T)·D
  c.push_back(make_case<m::hyena<float>>(
      "hyena", "long convolution", [d, max_len] { return m::hyena<float>({.d_model = d, .l_max = std::size_t(max_len)}); },
      measured_state, [D](index_t T) { return 15.0 * D * double(T) * std::log2(2.0 * double(T)); }));
  c.push_back(make_case<cp::swiglu<float>>(
      "swiglu_ffn", "channel mixer (reference)", [d] { return cp::swiglu<float>({.d_model = d}); },
      [](const auto&, const auto&) { return 0.0; }, [](index_t) { return 0.0; }));
  return c;
}

}  // namespace seqmix::bench::compare
