#pragma once
// Named parameter storage for mixers. Names follow the reference implementation's
// state_dict (e.g. "in_proj.weight"), so weights load by name from safetensors; shapes are
// fixed at construction and checked on every load.
#include <map>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "seqmix/core/error.hpp"
#include "seqmix/core/tensor.hpp"

namespace seqmix {

template <class T>
using matrix_map = Eigen::Map<Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>;
template <class T>
using const_matrix_map = Eigen::Map<const Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>;

template <class T>
class parameters {
 public:
  // Declares a parameter (zero-filled); returns it for initialisation.
  tensor<T>& add(const std::string& name, std::vector<index_t> shape, T fill = T(0)) {
    auto [it, fresh] = tensors_.try_emplace(name, std::move(shape), fill);
    if (!fresh) throw std::logic_error("parameters: '" + name + "' declared twice");
    return it->second;
  }
  bool contains(const std::string& name) const { return tensors_.count(name) != 0; }
  tensor<T>& operator[](const std::string& name) { return at(name); }
  const tensor<T>& operator[](const std::string& name) const { return at(name); }
  tensor<T>& at(const std::string& name) {
    auto it = tensors_.find(name);
    if (it == tensors_.end()) throw shape_error("parameters: no parameter named '" + name + "'");
    return it->second;
  }
  const tensor<T>& at(const std::string& name) const { return const_cast<parameters*>(this)->at(name); }

  // Replaces the values of `name`; the shape must match exactly.
  void assign(const std::string& name, const tensor<T>& value) {
    auto& p = at(name);
    if (p.shape() != value.shape())
      throw shape_error("parameters: '" + name + "' has shape " +
                        shape_to_string(std::span<const index_t>(value.shape())) + ", expected " +
                        shape_to_string(std::span<const index_t>(p.shape())));
    p = value;
  }

  // A [rows, cols] parameter as an Eigen row-major matrix map.
  const_matrix_map<T> matrix(const std::string& name) const {
    const auto& p = at(name);
    const index_t rows = p.shape().empty() ? 0 : p.shape()[0];
    return const_matrix_map<T>(p.data(), rows, rows ? p.size() / rows : 0);
  }

  auto begin() { return tensors_.begin(); }
  auto end() { return tensors_.end(); }
  auto begin() const { return tensors_.begin(); }
  auto end() const { return tensors_.end(); }
  std::size_t size() const noexcept { return tensors_.size(); }

 private:
  std::map<std::string, tensor<T>> tensors_;
};

}  // namespace seqmix
