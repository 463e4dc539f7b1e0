#pragma once
// Walking a mixer's state (any mixer, block, stack or model) tensor by tensor, for
// checkpoints and for measuring state memory. States are plain aggregates of tensors,
// vectors and counters; they are walked field by field (aggregate reflection through
// structured bindings), tuples of stacks as "layers.<i>.", vectors of states as "<i>.".
// A state type may instead provide `visit_state(prefix, f)` itself.
//
// f receives (name, value) with value one of: tensor<U>&, std::vector<U>& (U arithmetic),
// or an integral counter (index_t&).
#include <cstdint>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "seqmix/core/tensor.hpp"
#include "seqmix/io/safetensors.hpp"

namespace seqmix {

namespace detail::reflect {
struct any_field {
  template <class U> operator U() const;
};
template <class S, class... A>
concept brace_constructible = requires { S{std::declval<A>()...}; };

template <class S, class... A>
constexpr std::size_t field_count() {
  if constexpr (sizeof...(A) > 8) return sizeof...(A);
  else if constexpr (brace_constructible<S, A..., any_field>) return field_count<S, A..., any_field>();
  else return sizeof...(A);
}

template <class> struct is_tensor : std::false_type {};
template <class U> struct is_tensor<tensor<U>> : std::true_type {};
template <class> struct is_view : std::false_type {};
template <class U, std::size_t R> struct is_view<tensor_view<U, R>> : std::true_type {};
template <class> struct is_vector : std::false_type {};
template <class U, class A> struct is_vector<std::vector<U, A>> : std::true_type {};
template <class> struct is_tuple : std::false_type {};
template <class... U> struct is_tuple<std::tuple<U...>> : std::true_type {};
}  // namespace detail::reflect

template <class S, class F>
void visit_state(S& s, const std::string& prefix, F&& f) {
  using V = std::remove_const_t<S>;
  namespace r = detail::reflect;
  if constexpr (requires { s.visit_state(prefix, f); }) {
    s.visit_state(prefix, f);
  } else if constexpr (r::is_view<V>::value) {
    // a non-owning view (e.g. a caller's buffer) is not part of the state
  } else if constexpr (r::is_tensor<V>::value || std::is_arithmetic_v<V>) {
    f(prefix, s);
  } else if constexpr (r::is_vector<V>::value) {
    if constexpr (std::is_arithmetic_v<typename V::value_type>) {
      f(prefix, s);
    } else {
      for (std::size_t i = 0; i < s.size(); ++i) visit_state(s[i], prefix + std::to_string(i) + ".", f);
    }
  } else if constexpr (r::is_tuple<V>::value) {
    std::size_t i = 0;
    std::apply([&](auto&... part) { ((visit_state(part, prefix + "layers." + std::to_string(i++) + ".", f)), ...); }, s);
  } else if constexpr (std::is_empty_v<V>) {
    // nothing to visit
  } else {
    static_assert(std::is_aggregate_v<V>, "visit_state: a state must be an aggregate of tensors, vectors and counters, "
                                          "a tuple or vector of states, or provide visit_state(prefix, f)");
    constexpr std::size_t n = r::field_count<V>();
    auto field = [&](auto& x, int i) { visit_state(x, prefix + std::to_string(i), f); };
    if constexpr (n == 1) { auto& [a] = s; field(a, 0); }
    else if constexpr (n == 2) { auto& [a, b] = s; field(a, 0); field(b, 1); }
    else if constexpr (n == 3) { auto& [a, b, c] = s; field(a, 0); field(b, 1); field(c, 2); }
    else if constexpr (n == 4) { auto& [a, b, c, d] = s; field(a, 0); field(b, 1); field(c, 2); field(d, 3); }
    else if constexpr (n == 5) { auto& [a, b, c, d, e] = s; field(a, 0); field(b, 1); field(c, 2); field(d, 3); field(e, 4); }
    else if constexpr (n == 6) {
      auto& [a, b, c, d, e, g] = s;
      field(a, 0); field(b, 1); field(c, 2); field(d, 3); field(e, 4); field(g, 5);
    } else {
      static_assert(n <= 6, "visit_state: more than 6 fields; provide visit_state(prefix, f)");
    }
  }
}

// Bytes held by a state (tensors and vectors; counters excluded).
template <class S>
double state_bytes(const S& s) {
  double bytes = 0;
  visit_state(const_cast<S&>(s), "", [&](const std::string&, auto& v) {
    using V = std::remove_cvref_t<decltype(v)>;
    if constexpr (!std::is_arithmetic_v<V>) bytes += double(v.size()) * sizeof(typename V::value_type);
  });
  return bytes;
}

namespace io {

// A state as safetensors tensors (counters as I64 [1]): restoring it and continuing is
// bitwise equal to never stopping.
template <class S>
safetensors state_to_safetensors(const S& s, const std::string& prefix = "state.") {
  safetensors st;
  visit_state(const_cast<S&>(s), prefix, [&](const std::string& name, auto& v) {
    using V = std::remove_cvref_t<decltype(v)>;
    if constexpr (std::is_arithmetic_v<V>) {
      st.put(name, tensor<std::int64_t>({1}, std::vector<std::int64_t>{static_cast<std::int64_t>(v)}));
    } else if constexpr (seqmix::detail::reflect::is_tensor<V>::value) {
      if (!v.empty()) st.put(name, v);
    } else {
      using U = typename V::value_type;
      if constexpr (std::is_same_v<U, float> || std::is_same_v<U, double>)
        st.put(name, tensor<U>({index_t(v.size())}, std::vector<U>(v.begin(), v.end())));
      else
        st.put(name, tensor<std::int64_t>({index_t(v.size())}, std::vector<std::int64_t>(v.begin(), v.end())));
    }
  });
  return st;
}

// Restores into a state made by the same mixer's make_state(); shapes must match.
template <class S>
void state_from_safetensors(S& s, const safetensors& st, const std::string& prefix = "state.") {
  visit_state(s, prefix, [&](const std::string& name, auto& v) {
    using V = std::remove_cvref_t<decltype(v)>;
    if constexpr (seqmix::detail::reflect::is_tensor<V>::value) {
      if (v.empty() && !st.contains(name)) return;
    }
    auto it = st.tensors.find(name);
    if (it == st.tensors.end()) throw shape_error("state checkpoint: tensor '" + name + "' is missing");
    const auto& t = it->second;
    if constexpr (std::is_arithmetic_v<V>) {
      if (t.count() != 1) throw shape_error("state checkpoint: '" + name + "' must hold one value");
      v = t.template get<V>(0);
    } else if constexpr (seqmix::detail::reflect::is_tensor<V>::value) {
      if (t.shape != v.shape())
        throw shape_error("state checkpoint: '" + name + "' has shape " + shape_to_string(std::span<const index_t>(t.shape)) +
                          ", expected " + shape_to_string(std::span<const index_t>(v.shape())));
      v = t.template as<typename V::value_type>();
    } else {
      v.resize(static_cast<std::size_t>(t.count()));
      for (std::size_t i = 0; i < v.size(); ++i) v[i] = t.template get<typename V::value_type>(i);
    }
  });
}

}  // namespace io
}  // namespace seqmix
