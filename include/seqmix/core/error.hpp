#pragma once
// The library's exceptions. shape_error: a caller passed tensors that do not fit the op
// (message names op, argument, actual and expected shape). format_error: a file or
// serialized blob is malformed. Both derive from standard types so callers can catch
// broadly.
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

namespace seqmix {

struct shape_error : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

struct format_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// "[2,37,32]"; a negative expected extent prints as '?' (free dimension).
template <class Int>
std::string shape_to_string(std::span<const Int> dims) {
  std::string s = "[";
  for (std::size_t i = 0; i < dims.size(); ++i) {
    if (i) s += ',';
    if constexpr (std::is_signed_v<Int>) {
      if (dims[i] < 0) { s += '?'; continue; }
    }
    s += std::to_string(dims[i]);
  }
  return s + "]";
}

inline std::string shape_to_string(std::initializer_list<std::int64_t> dims) {
  return shape_to_string(std::span<const std::int64_t>(dims.begin(), dims.size()));
}

[[noreturn]] inline void throw_shape_error(std::string_view op, std::string_view arg,
                                           std::string_view detail) {
  throw shape_error(std::string(op) + ": argument '" + std::string(arg) + "' " +
                    std::string(detail));
}

}  // namespace seqmix
