#pragma once
// Load and save any mixer, block, stack or model by parameter name from/to safetensors.
// Loading is strict: a missing, extra or misshaped tensor throws shape_error naming it (and
// both shapes); F32/F64 files load into either precision.
#include <filesystem>
#include <set>
#include <string>

#include "seqmix/compose/visit.hpp"
#include "seqmix/io/safetensors.hpp"

namespace seqmix::io {

template <class M>
safetensors to_safetensors(M& m, const std::string& prefix = "") {
  safetensors st;
  visit_parameters(m, prefix, [&](const std::string& name, const auto& t) { st.put(name, t); });
  return st;
}

template <class M>
void save_weights(M& m, const std::filesystem::path& path, const std::string& prefix = "") {
  write_safetensors(path, to_safetensors(m, prefix));
}

// Assigns every parameter of m from `st` (names prefixed by `prefix`). With `strict`, tensors
// of `st` under `prefix` that m does not have are an error too.
template <class M>
void load_weights(M& m, const safetensors& st, const std::string& prefix = "", bool strict = true) {
  std::set<std::string> used;
  visit_parameters(m, prefix, [&](const std::string& name, auto& t) {
    using T = typename std::remove_reference_t<decltype(t)>::value_type;
    auto it = st.tensors.find(name);
    if (it == st.tensors.end())
      throw shape_error("load_weights: tensor '" + name + "' is missing (expected shape " +
                        shape_to_string(std::span<const index_t>(t.shape())) + ")");
    if (it->second.shape != t.shape())
      throw shape_error("load_weights: tensor '" + name + "' has shape " +
                        shape_to_string(std::span<const index_t>(it->second.shape)) + ", expected " +
                        shape_to_string(std::span<const index_t>(t.shape())));
    if (it->second.type == dtype::i64)
      throw shape_error("load_weights: tensor '" + name + "' must be F32 or F64, got I64");
    t = it->second.template as<T>();
    used.insert(name);
  });
  if (!strict) return;
  for (const auto& [name, t] : st.tensors)
    if (name.compare(0, prefix.size(), prefix) == 0 && !used.count(name))
      throw shape_error("load_weights: tensor '" + name + "' of shape " +
                        shape_to_string(std::span<const index_t>(t.shape)) + " is not a parameter of the model");
}

template <class M>
void load_weights(M& m, const std::filesystem::path& path, const std::string& prefix = "", bool strict = true) {
  load_weights(m, read_safetensors(path), prefix, strict);
}

}  // namespace seqmix::io
