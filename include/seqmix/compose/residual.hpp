#pragma once
// residual<Norm, Mixer>: the pre-norm block y = x + mixer(norm(x)). Norm is a template
// (rms_norm, layer_norm) instantiated on the mixer's value type, so blocks read as
// residual<rms_norm, mamba2<float>>. Parameter names: "norm.*", "mixer.*" (as mamba_ssm's
// Block). The state is the mixer's state.
#include <vector>

#include "seqmix/compose/visit.hpp"
#include "seqmix/core/check.hpp"
#include "seqmix/core/concepts.hpp"

namespace seqmix::compose {

template <template <class> class Norm, class Mixer>
class residual {
  static_assert(mixer<Mixer>, "residual<Norm, Mixer>: Mixer must satisfy seqmix::mixer");

 public:
  using value_type = typename Mixer::value_type;
  using state_type = typename Mixer::state_type;
  using norm_type = Norm<value_type>;
  using mixer_type = Mixer;

  explicit residual(Mixer m) : norm_(m.d_model()), mixer_(std::move(m)) {}
  residual(norm_type n, Mixer m) : norm_(std::move(n)), mixer_(std::move(m)) {}

  std::size_t d_model() const noexcept { return mixer_.d_model(); }
  state_type make_state() const { return mixer_.make_state(); }
  Mixer& inner() noexcept { return mixer_; }
  const Mixer& inner() const noexcept { return mixer_; }
  norm_type& norm() noexcept { return norm_; }
  const norm_type& norm() const noexcept { return norm_; }

  // y must not alias x.
  void forward(seq_cref<value_type> x, seq_ref<value_type> y, state_type& s) const {
    const index_t L = x.extent(0), d = index_t(d_model());
    seqmix::detail::check_shape("residual", "x", x, {-1, d});
    seqmix::detail::check_shape("residual", "y", y, {L, d});
    tensor<value_type> normed({L, d});
    norm_.apply(x, normed.template view<2>());
    mixer_.forward(normed.template cview<2>(), y, s);
    for (index_t t = 0; t < L; ++t)
      for (index_t i = 0; i < d; ++i) y(t, i) += x(t, i);
  }

  void step(row_cref<value_type> x, row_ref<value_type> y, state_type& s) const {
    thread_local std::vector<value_type> normed;
    normed.resize(x.size());
    norm_.apply_row(x.data(), normed.data());
    mixer_.step(row_cref<value_type>(normed.data(), normed.size()), y, s);
    for (std::size_t i = 0; i < x.size(); ++i) y[i] += x[i];
  }

  template <class F> void visit_parameters(const std::string& prefix, F&& f) {
    seqmix::visit_parameters(norm_, prefix + "norm.", f);
    seqmix::visit_parameters(mixer_, prefix + "mixer.", f);
  }

 private:
  norm_type norm_;
  Mixer mixer_;
};

}  // namespace seqmix::compose
