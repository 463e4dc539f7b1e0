#pragma once
// Shape validation used at every op boundary, and the varlen (cu_seqlens) bookkeeping
// shared by all ops with a state. Messages follow one pattern:
//   linear_scan: argument 'g' has shape [2,37,32], expected [2,37,96]
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>

#include "seqmix/core/error.hpp"
#include "seqmix/core/tensor.hpp"

namespace seqmix::detail {

template <class View>
std::string shape_of(const View& v) {
  return shape_to_string(std::span<const index_t>(v.shape().data(), v.shape().size()));
}

// Expected extents; -1 means any extent is fine in that dimension.
template <class View>
void check_shape(std::string_view op, std::string_view arg, const View& v,
                 std::initializer_list<index_t> expected) {
  const std::span<const index_t> exp(expected.begin(), expected.size());
  if (v.empty())
    throw_shape_error(op, arg, "is missing, expected " + shape_to_string(exp));
  bool ok = exp.size() == View::rank;
  for (std::size_t i = 0; ok && i < exp.size(); ++i)
    ok = exp[i] < 0 || exp[i] == v.extent(i);
  for (std::size_t i = 0; ok && i < View::rank; ++i) ok = v.extent(i) >= 0;
  if (!ok) throw_shape_error(op, arg, "has shape " + shape_of(v) + ", expected " + shape_to_string(exp));
  if (v.size() > 0 && v.stride(View::rank - 1) != 1)
    throw_shape_error(op, arg, "must be contiguous in its last dimension");
}

// As check_shape, but an absent (empty) view is accepted.
template <class View>
void check_optional_shape(std::string_view op, std::string_view arg, const View& v,
                          std::initializer_list<index_t> expected) {
  if (!v.empty()) check_shape(op, arg, v, expected);
}

template <class A, class B>
void check_same_shape(std::string_view op, std::string_view arg, const A& a, std::string_view ref_name,
                      const B& ref) {
  if (a.empty()) throw_shape_error(op, arg, "is missing, expected " + shape_of(ref) + " (as '" +
                                                std::string(ref_name) + "')");
  if (a.shape() != ref.shape())
    throw_shape_error(op, arg, "has shape " + shape_of(a) + ", expected " + shape_of(ref) + " (as '" +
                                   std::string(ref_name) + "')");
}

inline void check_positive(std::string_view op, std::string_view what, index_t value) {
  if (value <= 0)
    throw shape_error(std::string(op) + ": " + std::string(what) + " must be positive, got " +
                      std::to_string(value));
}

inline void check_divisible(std::string_view op, std::string_view what, index_t num, index_t den) {
  if (den <= 0 || num % den != 0)
    throw shape_error(std::string(op) + ": " + std::string(what) + " (" + std::to_string(num) +
                      ") must be a multiple of " + std::to_string(den));
}

// One sequence of a (possibly packed) batch: rows [begin, begin+length) of batch entry
// `batch`, using state slot `state`.
struct sequence_span {
  index_t batch, begin, length, state;
};

// Batch layout: either B independent sequences of T steps, or (cu_seqlens given, B == 1)
// N packed sequences. Validates cu_seqlens.
class sequences {
 public:
  sequences(std::string_view op, index_t batch, index_t steps, std::span<const std::int64_t> cu_seqlens)
      : batch_(batch), steps_(steps), cu_(cu_seqlens) {
    if (cu_.empty()) return;
    const std::string o(op);
    if (batch != 1)
      throw shape_error(o + ": argument 'cu_seqlens' requires batch 1, got batch " + std::to_string(batch));
    if (cu_.size() < 2)
      throw shape_error(o + ": argument 'cu_seqlens' has shape [" + std::to_string(cu_.size()) +
                        "], expected [N+1] with N >= 1");
    if (cu_.front() != 0)
      throw shape_error(o + ": argument 'cu_seqlens' must start at 0, got " + std::to_string(cu_.front()));
    for (std::size_t i = 1; i < cu_.size(); ++i)
      if (cu_[i] < cu_[i - 1])
        throw shape_error(o + ": argument 'cu_seqlens' is not monotone at index " + std::to_string(i) +
                          " (" + std::to_string(cu_[i - 1]) + " > " + std::to_string(cu_[i]) + ")");
    if (cu_.back() != steps)
      throw shape_error(o + ": argument 'cu_seqlens' must end at T=" + std::to_string(steps) + ", got " +
                        std::to_string(cu_.back()));
  }

  bool varlen() const noexcept { return !cu_.empty(); }
  // Number of sequences = leading dimension of initial/final state.
  index_t count() const noexcept { return varlen() ? static_cast<index_t>(cu_.size()) - 1 : batch_; }
  sequence_span operator[](index_t i) const noexcept {
    if (!varlen()) return {i, 0, steps_, i};
    return {0, cu_[i], cu_[i + 1] - cu_[i], i};
  }

 private:
  index_t batch_, steps_;
  std::span<const std::int64_t> cu_;
};

}  // namespace seqmix::detail
