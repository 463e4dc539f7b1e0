#pragma once
// Walking the named parameters of any mixer or composite, for weight I/O. A leaf exposes
// `params()` (a parameters<T>); a composite exposes `visit_parameters(prefix, f)` and
// forwards to its parts with their name prefixes ("layers.3.", "mixer.", "norm.").
#include <string>
#include <utility>

#include "seqmix/mixers/parameters.hpp"

namespace seqmix {

template <class M, class F>
void visit_parameters(M& m, const std::string& prefix, F&& f) {
  if constexpr (requires { m.visit_parameters(prefix, f); }) {
    m.visit_parameters(prefix, f);
  } else if constexpr (requires { m.params().begin(); }) {
    for (auto& [name, t] : m.params()) f(prefix + name, t);
  }
  // types without parameters: nothing to visit
}

}  // namespace seqmix
