#pragma once
// Tensors. `tensor_view<T, Rank>` is a light, non-owning view (pointer + shape + strides in
// elements, row-major by default); a default-constructed view is "absent" and is how ops
// take optional inputs. `tensor<T>` owns its elements (dynamic rank) and is what tests,
// tools and mixers use to hold data.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <span>
#include <type_traits>
#include <vector>

#include "seqmix/config.hpp"
#include "seqmix/core/error.hpp"

namespace seqmix {

using index_t = std::int64_t;

template <class T, std::size_t Rank>
class tensor_view {
  static_assert(Rank >= 1, "tensor_view: rank must be at least 1");

 public:
  using element_type = T;
  using value_type = std::remove_const_t<T>;
  using extents_type = std::array<index_t, Rank>;
  static constexpr std::size_t rank = Rank;

  constexpr tensor_view() noexcept = default;

  // Contiguous row-major view.
  constexpr tensor_view(T* data, const extents_type& shape) noexcept
      : data_(data), shape_(shape), strides_(row_major_strides(shape)) {}

  constexpr tensor_view(T* data, const extents_type& shape, const extents_type& strides) noexcept
      : data_(data), shape_(shape), strides_(strides) {}

  // A view of mutable data converts to a view of const data.
  template <class U>
    requires(std::is_const_v<T> && std::is_same_v<std::remove_const_t<T>, U>)
  constexpr tensor_view(const tensor_view<U, Rank>& other) noexcept
      : data_(other.data()), shape_(other.shape()), strides_(other.strides()) {}

  static constexpr extents_type row_major_strides(const extents_type& shape) noexcept {
    extents_type s{};
    index_t acc = 1;
    for (std::size_t i = Rank; i-- > 0;) {
      s[i] = acc;
      acc *= shape[i];
    }
    return s;
  }

  constexpr T* data() const noexcept { return data_; }
  constexpr const extents_type& shape() const noexcept { return shape_; }
  constexpr const extents_type& strides() const noexcept { return strides_; }
  constexpr index_t extent(std::size_t i) const noexcept { return shape_[i]; }
  constexpr index_t stride(std::size_t i) const noexcept { return strides_[i]; }
  // An absent optional argument.
  constexpr bool empty() const noexcept { return data_ == nullptr; }
  constexpr explicit operator bool() const noexcept { return data_ != nullptr; }
  constexpr index_t size() const noexcept {
    index_t n = 1;
    for (auto e : shape_) n *= e;
    return n;
  }
  constexpr bool is_contiguous() const noexcept { return strides_ == row_major_strides(shape_); }

  template <class... I>
    requires(sizeof...(I) == Rank && (std::is_integral_v<I> && ...))
  constexpr T& operator()(I... idx) const noexcept {
    const index_t ids[] = {static_cast<index_t>(idx)...};
    index_t off = 0;
    for (std::size_t i = 0; i < Rank; ++i) off += ids[i] * strides_[i];
    return data_[off];
  }

  // Pointer to element at the given leading indices (remaining indices 0).
  template <class... I>
    requires(sizeof...(I) <= Rank)
  constexpr T* ptr(I... idx) const noexcept {
    const index_t ids[] = {static_cast<index_t>(idx)..., 0};
    index_t off = 0;
    for (std::size_t i = 0; i < sizeof...(I); ++i) off += ids[i] * strides_[i];
    return data_ + off;
  }

  // Row `i` of a rank-2 view as a span (the last dimension must be contiguous).
  std::span<T> row(index_t i) const noexcept
    requires(Rank == 2)
  {
    SEQMIX_ASSERT(strides_[1] == 1);
    return std::span<T>(data_ + i * strides_[0], static_cast<std::size_t>(shape_[1]));
  }

  // Sub-range [begin, begin+count) along dimension `dim`.
  constexpr tensor_view slice(std::size_t dim, index_t begin, index_t count) const noexcept {
    tensor_view v = *this;
    v.data_ = data_ ? data_ + begin * strides_[dim] : nullptr;
    v.shape_[dim] = count;
    return v;
  }

  // Fix index `i` of dimension 0: a view of rank Rank-1.
  constexpr tensor_view<T, Rank - 1> operator[](index_t i) const noexcept
    requires(Rank > 1)
  {
    std::array<index_t, Rank - 1> sh{}, st{};
    for (std::size_t d = 1; d < Rank; ++d) {
      sh[d - 1] = shape_[d];
      st[d - 1] = strides_[d];
    }
    return tensor_view<T, Rank - 1>(data_ + i * strides_[0], sh, st);
  }

 private:
  T* data_ = nullptr;
  extents_type shape_{};
  extents_type strides_{};
};

template <class T, std::size_t R>
using const_view = tensor_view<const T, R>;

// The views the mixer concept uses: a sequence [T, d_model] and one token row.
template <class T> using seq_ref = tensor_view<T, 2>;
template <class T> using seq_cref = tensor_view<const T, 2>;
template <class T> using row_ref = std::span<T>;
template <class T> using row_cref = std::span<const T>;

// Owning, contiguous, row-major tensor of dynamic rank.
template <class T>
class tensor {
 public:
  using value_type = T;

  tensor() = default;
  explicit tensor(std::vector<index_t> shape, T fill = T(0))
      : shape_(std::move(shape)), data_(static_cast<std::size_t>(count(shape_)), fill) {}
  tensor(std::vector<index_t> shape, std::vector<T> data) : shape_(std::move(shape)), data_(std::move(data)) {
    if (static_cast<index_t>(data_.size()) != count(shape_))
      throw shape_error("tensor: data has " + std::to_string(data_.size()) +
                        " elements, shape " + shape_to_string(std::span<const index_t>(shape_)) +
                        " needs " + std::to_string(count(shape_)));
  }

  static index_t count(const std::vector<index_t>& shape) {
    return std::accumulate(shape.begin(), shape.end(), index_t{1}, std::multiplies<>());
  }

  const std::vector<index_t>& shape() const noexcept { return shape_; }
  index_t extent(std::size_t i) const noexcept { return shape_[i]; }
  std::size_t rank() const noexcept { return shape_.size(); }
  index_t size() const noexcept { return static_cast<index_t>(data_.size()); }
  bool empty() const noexcept { return shape_.empty(); }  // never given a shape
  T* data() noexcept { return data_.data(); }
  const T* data() const noexcept { return data_.data(); }
  std::vector<T>& values() noexcept { return data_; }
  const std::vector<T>& values() const noexcept { return data_; }
  T& operator[](std::size_t i) noexcept { return data_[i]; }
  const T& operator[](std::size_t i) const noexcept { return data_[i]; }

  // Views; an empty tensor gives an absent view. Rank must match (shape_error otherwise).
  template <std::size_t R>
  tensor_view<T, R> view() {
    return tensor_view<T, R>(empty() ? nullptr : nonnull_data(), extents<R>());
  }
  template <std::size_t R>
  tensor_view<const T, R> view() const {
    return tensor_view<const T, R>(empty() ? nullptr : const_cast<tensor*>(this)->nonnull_data(), extents<R>());
  }
  template <std::size_t R>
  tensor_view<const T, R> cview() const { return view<R>(); }

  template <class U>
  tensor<U> cast() const {
    if (empty()) return tensor<U>();
    std::vector<U> out(data_.begin(), data_.end());
    return tensor<U>(shape_, std::move(out));
  }

 private:
  template <std::size_t R>
  std::array<index_t, R> extents() const {
    std::array<index_t, R> e{};
    if (empty()) return e;
    if (shape_.size() != R)
      throw shape_error("tensor: view of rank " + std::to_string(R) + " requested from shape " +
                        shape_to_string(std::span<const index_t>(shape_)));
    std::copy(shape_.begin(), shape_.end(), e.begin());
    return e;
  }

  // A shaped tensor with zero elements (e.g. T = 0) still gives a present (non-null) view:
  // a null data pointer means "absent optional argument" to the ops.
  T* nonnull_data() noexcept {
    alignas(64) static T zero_size_sentinel[1] = {};
    return data_.empty() ? zero_size_sentinel : data_.data();
  }

  std::vector<index_t> shape_;
  std::vector<T> data_;
};

}  // namespace seqmix
