#pragma once
// stack<M...>: a heterogeneous, compile-time sequence of mixers, itself a mixer. Its state
// is the tuple of its layers' states; parameters are named "layers.<i>.<name>".
// repeat<N, M>: N layers of one type (states in a vector), parameters "<i>.<name>".
#include <array>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "seqmix/compose/visit.hpp"
#include "seqmix/core/check.hpp"
#include "seqmix/core/concepts.hpp"

namespace seqmix::compose {

template <class... M>
class stack {
  static_assert(sizeof...(M) >= 1, "stack<M...>: needs at least one layer");
  static_assert((mixer<M> && ...), "stack<M...>: every layer must satisfy seqmix::mixer");
  using first = std::tuple_element_t<0, std::tuple<M...>>;

 public:
  using value_type = typename first::value_type;
  static_assert((std::is_same_v<typename M::value_type, value_type> && ...),
                "stack<M...>: all layers must share one value_type");
  using state_type = std::tuple<typename M::state_type...>;
  static constexpr std::size_t depth = sizeof...(M);

  explicit stack(M... layers) : layers_(std::move(layers)...) {
    std::apply([&](const auto&... l) {
      if (((l.d_model() != d_model()) || ...))
        throw shape_error("stack: all layers must have the same d_model");
    }, layers_);
  }

  std::size_t d_model() const noexcept { return std::get<0>(layers_).d_model(); }
  state_type make_state() const {
    return std::apply([](const auto&... l) { return state_type(l.make_state()...); }, layers_);
  }
  template <std::size_t I> auto& layer() noexcept { return std::get<I>(layers_); }
  template <std::size_t I> const auto& layer() const noexcept { return std::get<I>(layers_); }

  void forward(seq_cref<value_type> x, seq_ref<value_type> y, state_type& s) const {
    const index_t L = x.extent(0), d = index_t(d_model());
    seqmix::detail::check_shape("stack", "x", x, {-1, d});
    seqmix::detail::check_shape("stack", "y", y, {L, d});
    tensor<value_type> buf[2] = {tensor<value_type>({L, d}), tensor<value_type>({L, d})};
    run_layers<0>(x, y, s, buf);
  }

  // Decode goes through every layer's own step (their O(1) paths), not through forward.
  void step(row_cref<value_type> x, row_ref<value_type> y, state_type& s) const {
    std::vector<value_type> buf[2] = {std::vector<value_type>(d_model()), std::vector<value_type>(d_model())};
    step_layers<0>(x, y, s, buf);
  }

  template <class F> void visit_parameters(const std::string& prefix, F&& f) {
    visit_layers<0>(prefix, f);
  }

 private:
  // layer I reads `in` and writes buf[I % 2] (the last layer writes y)
  template <std::size_t I>
  void run_layers(seq_cref<value_type> in, seq_ref<value_type> y, state_type& s, tensor<value_type>* buf) const {
    if constexpr (I + 1 == depth) {
      std::get<I>(layers_).forward(in, y, std::get<I>(s));
    } else {
      auto out = buf[I % 2].template view<2>();
      std::get<I>(layers_).forward(in, out, std::get<I>(s));
      run_layers<I + 1>(buf[I % 2].template cview<2>(), y, s, buf);
    }
  }
  template <std::size_t I>
  void step_layers(row_cref<value_type> in, row_ref<value_type> y, state_type& s, std::vector<value_type>* buf) const {
    if constexpr (I + 1 == depth) {
      std::get<I>(layers_).step(in, y, std::get<I>(s));
    } else {
      std::get<I>(layers_).step(in, row_ref<value_type>(buf[I % 2]), std::get<I>(s));
      step_layers<I + 1>(row_cref<value_type>(buf[I % 2]), y, s, buf);
    }
  }
  template <std::size_t I, class F> void visit_layers(const std::string& prefix, F& f) {
    if constexpr (I < depth) {
      seqmix::visit_parameters(std::get<I>(layers_), prefix + "layers." + std::to_string(I) + ".", f);
      visit_layers<I + 1>(prefix, f);
    }
  }

  std::tuple<M...> layers_;
};

template <std::size_t N, class M>
class repeat {
  static_assert(N >= 1, "repeat<N, M>: N must be at least 1");
  static_assert(mixer<M>, "repeat<N, M>: M must satisfy seqmix::mixer");

 public:
  using value_type = typename M::value_type;
  using state_type = std::vector<typename M::state_type>;
  static constexpr std::size_t depth = N;

  // make(i) builds layer i (e.g. with its own seed).
  template <class Make>
    requires std::is_invocable_r_v<M, Make, std::size_t>
  explicit repeat(Make&& make) {
    layers_.reserve(N);
    for (std::size_t i = 0; i < N; ++i) layers_.push_back(make(i));
  }

  std::size_t d_model() const noexcept { return layers_[0].d_model(); }
  state_type make_state() const {
    state_type s;
    s.reserve(N);
    for (const auto& l : layers_) s.push_back(l.make_state());
    return s;
  }
  M& layer(std::size_t i) noexcept { return layers_[i]; }
  const M& layer(std::size_t i) const noexcept { return layers_[i]; }

  void forward(seq_cref<value_type> x, seq_ref<value_type> y, state_type& s) const {
    const index_t L = x.extent(0), d = index_t(d_model());
    seqmix::detail::check_shape("repeat", "x", x, {-1, d});
    seqmix::detail::check_shape("repeat", "y", y, {L, d});
    tensor<value_type> buf[2] = {tensor<value_type>({L, d}), tensor<value_type>({L, d})};
    seq_cref<value_type> in = x;
    for (std::size_t i = 0; i < N; ++i) {
      if (i + 1 == N) {
        layers_[i].forward(in, y, s[i]);
      } else {
        layers_[i].forward(in, buf[i % 2].template view<2>(), s[i]);
        in = buf[i % 2].template cview<2>();
      }
    }
  }
  void step(row_cref<value_type> x, row_ref<value_type> y, state_type& s) const {
    std::vector<value_type> buf[2] = {std::vector<value_type>(d_model()), std::vector<value_type>(d_model())};
    row_cref<value_type> in = x;
    for (std::size_t i = 0; i < N; ++i) {
      if (i + 1 == N) {
        layers_[i].step(in, y, s[i]);
      } else {
        layers_[i].step(in, row_ref<value_type>(buf[i % 2]), s[i]);
        in = row_cref<value_type>(buf[i % 2]);
      }
    }
  }

  template <class F> void visit_parameters(const std::string& prefix, F&& f) {
    for (std::size_t i = 0; i < N; ++i) seqmix::visit_parameters(layers_[i], prefix + std::to_string(i) + ".", f);
  }

 private:
  std::vector<M> layers_;
};

}  // namespace seqmix::compose
