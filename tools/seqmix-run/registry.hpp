#pragma once
// The op table behind seqmix-run (and the tests and fuzzers that iterate over every op).
// Each family registers its ops from its own file in tools/seqmix-run/ops/*.cpp:
//
//   SEQMIX_REGISTER_OP(linear_scan_entry());
//
// An entry turns a safetensors file into op arguments, runs the op, and names its outputs.
#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "seqmix/core.hpp"
#include "seqmix/io/safetensors.hpp"

namespace seqmix::tool {

// Inputs of one op call, read from a safetensors file and converted to the compute type T.
// Every accessor throws shape_error/option_error naming the op and the tensor.
template <class T>
class op_inputs {
 public:
  using value_type = T;

  op_inputs(std::string op, const io::safetensors& file) : op_(std::move(op)), file_(&file) {}

  const std::string& op() const noexcept { return op_; }

  template <std::size_t R>
  const_view<T, R> required(const std::string& name) {
    if (!file_->contains(name))
      throw shape_error(op_ + ": input tensor '" + name + "' is missing (expected rank " + std::to_string(R) + ")");
    return load<R>(name);
  }
  template <std::size_t R>
  const_view<T, R> optional(const std::string& name) {
    if (!file_->contains(name)) return {};
    return load<R>(name);
  }
  bool has(const std::string& name) const { return file_->contains(name); }

  // cu_seqlens as I64 (any integer-valued dtype accepted), empty when absent.
  std::span<const std::int64_t> cu_seqlens() {
    if (!file_->contains("cu_seqlens")) return {};
    const auto& t = file_->tensors.at("cu_seqlens");
    if (t.shape.size() != 1)
      throw shape_error(op_ + ": argument 'cu_seqlens' has shape " +
                        shape_to_string(std::span<const index_t>(t.shape)) + ", expected [N+1]");
    // present but empty is an error, not "no cu_seqlens"
    if (t.shape[0] < 2)
      throw shape_error(op_ + ": argument 'cu_seqlens' has shape " +
                        shape_to_string(std::span<const index_t>(t.shape)) + ", expected [N+1] with N >= 1");
    cu_ = t.as<std::int64_t>().values();
    return cu_;
  }

  // Another offsets tensor like cu_seqlens (e.g. attention's cu_seqlens_k): I64 (any
  // integer-valued dtype accepted) [N+1] with N >= 1, empty when absent.
  std::span<const std::int64_t> offsets(const std::string& name) {
    if (!file_->contains(name)) return {};
    const auto& t = file_->tensors.at(name);
    if (t.shape.size() != 1 || t.shape[0] < 2)
      throw shape_error(op_ + ": argument '" + name + "' has shape " +
                        shape_to_string(std::span<const index_t>(t.shape)) + ", expected [N+1] with N >= 1");
    auto& v = offsets_[name] = t.as<std::int64_t>().values();
    return v;
  }

  // Leading dimension of states: the number of packed sequences with cu_seqlens, else B.
  index_t sequence_count(index_t batch) {
    const auto cu = cu_seqlens();
    return cu.empty() ? batch : static_cast<index_t>(cu.size()) - 1;
  }

  bool has_attr(const std::string& key) const { return file_->metadata.count(key) != 0; }
  std::string attr(const std::string& key, const std::string& fallback) const {
    auto it = file_->metadata.find(key);
    return it == file_->metadata.end() ? fallback : it->second;
  }
  double attr_double(const std::string& key, double fallback) const {
    auto it = file_->metadata.find(key);
    if (it == file_->metadata.end()) return fallback;
    try {
      std::size_t used = 0;
      double v = std::stod(it->second, &used);
      if (used == it->second.size()) return v;
    } catch (const std::exception&) {
    }
    throw option_error(op_ + ": attribute '" + key + "' must be a number, got '" + it->second + "'");
  }
  std::int64_t attr_int(const std::string& key, std::int64_t fallback) const {
    auto it = file_->metadata.find(key);
    if (it == file_->metadata.end()) return fallback;
    try {
      std::size_t used = 0;
      long long v = std::stoll(it->second, &used);
      if (used == it->second.size()) return v;
    } catch (const std::exception&) {
    }
    throw option_error(op_ + ": attribute '" + key + "' must be an integer, got '" + it->second + "'");
  }

  // An output tensor, zero-initialised, kept alive by this object.
  template <std::size_t R>
  tensor_view<T, R> output(const std::string& name, std::vector<index_t> shape) {
    auto& t = outputs_[name] = tensor<T>(std::move(shape));
    return t.template view<R>();
  }
  std::map<std::string, tensor<T>>& outputs() noexcept { return outputs_; }

 private:
  template <std::size_t R>
  const_view<T, R> load(const std::string& name) {
    const auto& st = file_->tensors.at(name);
    if (st.shape.size() != R)
      throw shape_error(op_ + ": argument '" + name + "' has shape " +
                        shape_to_string(std::span<const index_t>(st.shape)) + ", expected rank " +
                        std::to_string(R));
    if (st.type == io::dtype::i64)
      throw shape_error(op_ + ": argument '" + name + "' must be F32 or F64, got I64");
    auto& t = loaded_[name] = st.as<T>();
    return t.template view<R>();
  }

  std::string op_;
  const io::safetensors* file_;
  std::map<std::string, tensor<T>> loaded_;
  std::map<std::string, tensor<T>> outputs_;
  std::vector<std::int64_t> cu_;
  std::map<std::string, std::vector<std::int64_t>> offsets_;
};

// One op of the table. `prepare` reads inputs and returns a callable running the op once
// (so --repeat times only the op); it also sets `flops` and `tokens` for the report.
template <class T>
struct prepared_call {
  std::function<void()> run;
  double flops = 0;   // FLOPs of one run, by the formula in the README
  double tokens = 0;  // B*T
};

struct op_entry {
  std::string name;
  std::string inputs;      // "x[B,T,D] g[B,T,D]; optional: initial_state[N,D] cu_seqlens[N+1]"
  std::string attributes;  // "scale (1/sqrt K)" or ""
  std::vector<form> forms; // forms besides auto
  std::function<prepared_call<float>(op_inputs<float>&, const run_options&)> prepare_f32;
  std::function<prepared_call<double>(op_inputs<double>&, const run_options&)> prepare_f64;
};

inline std::vector<op_entry>& op_table() {
  static std::vector<op_entry> table;
  return table;
}

inline const op_entry* find_op(const std::string& name) {
  for (const auto& e : op_table())
    if (e.name == name) return &e;
  return nullptr;
}

inline bool register_op(op_entry e) {
  op_table().push_back(std::move(e));
  std::sort(op_table().begin(), op_table().end(),
            [](const op_entry& a, const op_entry& b) { return a.name < b.name; });
  return true;
}

// Builds both precisions of an entry from one generic lambda
//   [](auto& in, const run_options& opt) -> prepared_call<T> { ... }
template <class Prepare>
op_entry make_entry(std::string name, std::string inputs, std::string attributes, std::vector<form> forms,
                    Prepare prepare) {
  return op_entry{std::move(name), std::move(inputs), std::move(attributes), std::move(forms),
                  [prepare](op_inputs<float>& in, const run_options& o) { return prepare(in, o); },
                  [prepare](op_inputs<double>& in, const run_options& o) { return prepare(in, o); }};
}

// Throws option_error unless `f` is auto or one of `forms`.
inline void check_form(const op_entry& e, form f) {
  if (f == form::auto_ || std::find(e.forms.begin(), e.forms.end(), f) != e.forms.end()) return;
  std::string list;
  for (auto x : e.forms) list += (list.empty() ? "" : ", ") + std::string(to_string(x));
  throw option_error(e.name + ": form '" + std::string(to_string(f)) + "' is not available (forms: " + list + ")");
}

}  // namespace seqmix::tool

#define SEQMIX_CONCAT_IMPL(a, b) a##b
#define SEQMIX_CONCAT(a, b) SEQMIX_CONCAT_IMPL(a, b)
#define SEQMIX_REGISTER_OP(...) \
  static const bool SEQMIX_CONCAT(seqmix_registered_op_, __LINE__) = ::seqmix::tool::register_op(__VA_ARGS__)
