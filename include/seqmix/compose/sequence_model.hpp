#pragma once
// sequence_model<Backbone>: token embedding -> backbone (any mixer, usually a stack) ->
// final RMSNorm -> LM head. As a mixer it maps embeddings to normalised hidden states (so
// composition stays closed); forward_tokens / step_token add the embedding and the head.
// Parameter names: "embedding.weight" [vocab, d], "backbone.*", "norm_f.weight",
// "lm_head.weight" [vocab, d] (mamba_ssm's MambaLMHeadModel uses the same roles).
#include <cstdint>
#include <random>
#include <span>

#include "seqmix/compose/channel_mixers.hpp"
#include "seqmix/compose/norms.hpp"
#include "seqmix/compose/visit.hpp"

namespace seqmix::compose {

template <class Backbone>
class sequence_model {
  static_assert(mixer<Backbone>, "sequence_model<Backbone>: Backbone must satisfy seqmix::mixer");

 public:
  using value_type = typename Backbone::value_type;
  using state_type = typename Backbone::state_type;
  using T = value_type;

  sequence_model(Backbone backbone, std::size_t vocab_size, unsigned seed = 0)
      : backbone_(std::move(backbone)), norm_f_(backbone_.d_model()), vocab_(vocab_size) {
    const index_t d = index_t(backbone_.d_model()), v = index_t(vocab_size);
    std::mt19937 gen(seed);
    detail::init_normal(params_.add("embedding.weight", {v, d}), gen, 1.0);
    detail::init_normal(params_.add("lm_head.weight", {v, d}), gen, 1.0 / std::sqrt(double(d)));
  }

  std::size_t d_model() const noexcept { return backbone_.d_model(); }
  std::size_t vocab_size() const noexcept { return vocab_; }
  state_type make_state() const { return backbone_.make_state(); }
  Backbone& backbone() noexcept { return backbone_; }
  const Backbone& backbone() const noexcept { return backbone_; }

  // The mixer interface: hidden states in, final-normed hidden states out.
  void forward(seq_cref<T> x, seq_ref<T> y, state_type& s) const {
    backbone_.forward(x, y, s);
    norm_f_.apply(y, y);
  }
  void step(row_cref<T> x, row_ref<T> y, state_type& s) const {
    backbone_.step(x, y, s);
    norm_f_.apply_row(y.data(), y.data());
  }

  // tokens [T] -> logits [T, vocab]
  void forward_tokens(std::span<const std::int32_t> tokens, seq_ref<T> logits, state_type& s) const {
    const index_t L = index_t(tokens.size()), d = index_t(d_model());
    seqmix::detail::check_shape("sequence_model", "logits", logits, {L, index_t(vocab_)});
    tensor<T> x({L, d}), h({L, d});
    embed(tokens, x);
    forward(x.template cview<2>(), h.template view<2>(), s);
    detail::as_matrix(logits).noalias() = detail::as_matrix(h.template cview<2>()) * params_.matrix("lm_head.weight").transpose();
  }
  void step_token(std::int32_t token, row_ref<T> logits, state_type& s) const {
    const index_t d = index_t(d_model());
    if (logits.size() != vocab_)
      throw shape_error("sequence_model: argument 'logits' has " + std::to_string(logits.size()) +
                        " entries, expected " + std::to_string(vocab_));
    tensor<T> x({1, d}), h({1, d});
    embed(std::span<const std::int32_t>(&token, 1), x);
    step(x.template cview<2>().row(0), h.template view<2>().row(0), s);
    Eigen::Map<Eigen::Matrix<T, Eigen::Dynamic, 1>>(logits.data(), index_t(vocab_)).noalias() =
        params_.matrix("lm_head.weight") * Eigen::Map<const Eigen::Matrix<T, Eigen::Dynamic, 1>>(h.data(), d);
  }

  template <class F> void visit_parameters(const std::string& prefix, F&& f) {
    f(prefix + "embedding.weight", params_.at("embedding.weight"));
    seqmix::visit_parameters(backbone_, prefix + "backbone.", f);
    seqmix::visit_parameters(norm_f_, prefix + "norm_f.", f);
    f(prefix + "lm_head.weight", params_.at("lm_head.weight"));
  }

 private:
  void embed(std::span<const std::int32_t> tokens, tensor<T>& x) const {
    const auto& E = params_.at("embedding.weight");
    const index_t d = index_t(d_model());
    for (std::size_t t = 0; t < tokens.size(); ++t) {
      if (tokens[t] < 0 || std::size_t(tokens[t]) >= vocab_)
        throw shape_error("sequence_model: token " + std::to_string(tokens[t]) + " at position " +
                          std::to_string(t) + " is outside the vocabulary [0," + std::to_string(vocab_) + ")");
      std::copy_n(E.data() + tokens[t] * d, d, x.data() + index_t(t) * d);
    }
  }

  Backbone backbone_;
  rms_norm<T> norm_f_;
  std::size_t vocab_;
  parameters<T> params_;
};

}  // namespace seqmix::compose
