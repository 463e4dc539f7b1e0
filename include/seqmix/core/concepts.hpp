#pragma once
// The one concept every mixer, block and stack satisfies. Semantics (tested for every
// mixer): forward over any split of a sequence, carrying the state, equals one forward
// over the whole, equals a loop of step.
#include <concepts>
#include <cstddef>

#include "seqmix/core/tensor.hpp"

namespace seqmix {

template <class M>
concept mixer = requires(const M& m, typename M::state_type& s,
                         seq_cref<typename M::value_type> x,  // [T, d_model]
                         seq_ref<typename M::value_type> y,   // [T, d_model]
                         row_cref<typename M::value_type> xr, row_ref<typename M::value_type> yr) {
  typename M::value_type;
  typename M::state_type;
  { m.d_model() } -> std::convertible_to<std::size_t>;
  { m.make_state() } -> std::same_as<typename M::state_type>;
  m.forward(x, y, s);
  m.step(xr, yr, s);
};

}  // namespace seqmix
