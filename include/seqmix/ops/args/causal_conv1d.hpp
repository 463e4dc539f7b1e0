#pragma once
// Arguments of the causal_conv1d op (OPS.md): a short causal depthwise convolution,
//   o_t[d] = act(bias[d] + Σ_{i<W} weight[d,i] x_{t-W+1+i}[d]),
// where inputs before time 0 come from the state (the last W-1 inputs, oldest first).
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "seqmix/core/options.hpp"
#include "seqmix/core/tensor.hpp"

namespace seqmix {

enum class conv_activation { none, silu };

constexpr std::string_view to_string(conv_activation a) noexcept {
  return a == conv_activation::silu ? "silu" : "none";
}

// "none" | "silu"; anything else throws option_error naming the op.
inline conv_activation parse_conv_activation(std::string_view op, std::string_view s) {
  if (s == "none") return conv_activation::none;
  if (s == "silu") return conv_activation::silu;
  throw option_error(std::string(op) + ": attribute 'activation' must be none or silu, got '" + std::string(s) + "'");
}

template <class T>
struct causal_conv1d_args {
  const_view<T, 3> x;              // [B,T,D]
  const_view<T, 2> weight;         // [D,W]; tap W-1 multiplies the current input
  const_view<T, 1> bias;           // optional [D]
  tensor_view<T, 3> o;             // [B,T,D]
  const_view<T, 3> initial_state;  // optional [N,D,W-1] (last inputs, oldest first)
  tensor_view<T, 3> final_state;   // optional [N,D,W-1]; may alias initial_state
  std::span<const std::int64_t> cu_seqlens = {};  // optional [N+1], B == 1
  conv_activation activation = conv_activation::none;
};

}  // namespace seqmix
