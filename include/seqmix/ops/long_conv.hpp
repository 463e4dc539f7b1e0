#pragma once
// The long_conv op: validates, then dispatches to a kernel form (direct, fft, blocked).
#include <string>

#include "seqmix/core/check.hpp"
#include "seqmix/core/options.hpp"
#include "seqmix/core/threading.hpp"
#include "seqmix/ops/args/long_conv.hpp"
#include "seqmix/reference/long_conv.hpp"

namespace seqmix {

template <class T>
void validate(const long_conv_args<T>& a) {
  constexpr const char* op = "long_conv";
  detail::check_shape(op, "u", a.u, {-1, -1, -1});
  const index_t B = a.u.extent(0), D = a.u.extent(2);
  detail::check_shape(op, "h", a.h, {D, -1});
  detail::check_optional_shape(op, "D", a.D, {D});
  detail::check_same_shape(op, "o", a.o, "u", a.u);
  detail::check_optional_shape(op, "history", a.history, {B, -1, D});
}

template <class T>
void long_conv(const long_conv_args<T>& a, const run_options& opt = {}) {
  validate(a);
  switch (opt.kernel_form) {
    case form::auto_:
    case form::direct:
    case form::fft:
    case form::blocked: break;
    default:
      throw option_error("long_conv: form '" + std::string(to_string(opt.kernel_form)) +
                         "' is not available (forms: direct, fft, blocked)");
  }
  if (opt.chunk < 0)
    throw option_error("long_conv: chunk (block length) must be >= 0, got " + std::to_string(opt.chunk));
  reference::long_conv(a);
}

}  // namespace seqmix
