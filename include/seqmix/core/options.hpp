#pragma once
// How an op is asked to run: which kernel form, chunk size, thread count. A runtime
// choice (not a template tag) so that tools and benchmarks can sweep it; kernels below
// the op are still templated on their compile-time parameters.
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace seqmix {

// An option the op cannot honour (a form it does not have, an unsupported chunk size,
// a bad attribute value).
struct option_error : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

enum class form { auto_, recurrent, chunked, parallel, direct, fft, blocked };

constexpr std::string_view to_string(form f) noexcept {
  switch (f) {
    case form::auto_: return "auto";
    case form::recurrent: return "recurrent";
    case form::chunked: return "chunked";
    case form::parallel: return "parallel";
    case form::direct: return "direct";
    case form::fft: return "fft";
    case form::blocked: return "blocked";
  }
  return "?";
}

inline std::optional<form> parse_form(std::string_view s) noexcept {
  for (form f : {form::auto_, form::recurrent, form::chunked, form::parallel, form::direct,
                 form::fft, form::blocked})
    if (to_string(f) == s) return f;
  return std::nullopt;
}

struct run_options {
  form kernel_form = form::auto_;
  int chunk = 0;    // 0: the op's default chunk size
  int threads = 0;  // 0: seqmix::num_threads()
};

}  // namespace seqmix
