#pragma once
// The long_conv op: validates, then dispatches to a kernel form (direct, fft, blocked).
#include <algorithm>
#include <cmath>
#include <string>

#include "seqmix/core/check.hpp"
#include "seqmix/core/options.hpp"
#include "seqmix/core/threading.hpp"
#include "seqmix/kernels/conv/long_conv.hpp"
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

namespace detail {

// Cost model of the forms (nanoseconds, one thread), calibrated with bench/hyena.cpp on
// the 2-core AVX-512 machine (CPU time, see README, section Hyena):
//   direct  : 0.93 ns per vector FMA (W lanes) + 22 ns per copied input row and lane block;
//   fft     : per vertical transform of M points, 1.5 ns·M·log2 M while a buffer
//             (M·2W·sizeof(T)) fits in L2, 2.6 ns beyond, 3.1 ns beyond 32 MiB (L3);
//             three transforms per pair of lane blocks and batch entry minus the shared
//             filter one (1 + 2B), plus 10 ns per row loaded/stored;
//   blocked : 2.5 ns·M·log2 M per transform (small transforms, carry handling; never less
//             than fft's rate for the same size) plus 2 µs per block.
struct long_conv_costs {
  double direct_per_fma = 0.93, direct_per_row = 22;
  double fft_l2 = 1.5, fft_l3 = 2.6, fft_dram = 3.1, fft_per_row = 10;
  double blocked_per_point = 2.5, blocked_per_block = 2000;
};

inline double fft_transform_cost(const long_conv_costs& c, std::size_t M, std::size_t elem_bytes) {
  const double lg = M > 1 ? std::log2(double(M)) : 1.0;
  const std::size_t bytes = M * elem_bytes;
  const double per = bytes <= (std::size_t(1) << 20) ? c.fft_l2 : bytes <= (std::size_t(32) << 20) ? c.fft_l3 : c.fft_dram;
  return per * double(M) * lg;
}

struct long_conv_estimate {
  double direct, fft, blocked;  // ns, one thread
  form best() const noexcept {
    if (direct <= fft && direct <= blocked) return form::direct;
    return blocked < fft ? form::blocked : form::fft;
  }
  double of(form f) const noexcept { return f == form::direct ? direct : f == form::fft ? fft : blocked; }
};

template <class T>
long_conv_estimate long_conv_costs_of(const kernels::conv_geometry& g, index_t B, index_t D, int chunk) {
  constexpr index_t W = xsimd::batch<T>::size;
  const long_conv_costs c;
  const double blocks = double((D + W - 1) / W), pairs = std::ceil(blocks / 2), b = double(B);
  // Σ_{r=rmin}^{n-1} min(r+1, Le): vector FMAs per lane block
  double taps = 0;
  {
    const double lo = double(g.rmin), hi = double(g.n), le = double(g.Le);
    const double knee = std::clamp(le - 1, lo, hi);  // rows r < Le-1 have r+1 taps
    taps += (knee - lo) * (lo + knee + 1) / 2;
    taps += (hi - knee) * le;
  }
  const double direct = b * blocks * (c.direct_per_fma * taps + c.direct_per_row * double(g.n));
  const std::size_t eb = 2 * W * sizeof(T);
  const std::size_t M = kernels::long_conv_fft_size(g);
  const double fft = pairs * ((1 + 2 * b) * fft_transform_cost(c, M, eb) + b * c.fft_per_row * double(g.n));
  const index_t K = chunk > 0 ? chunk : kernels::long_conv_default_block(g);
  const std::size_t Mb = kernels::long_conv_block_fft_size(K, g.Le);
  const double nb = std::ceil(double(g.n) / double(K));
  const double lgb = Mb > 1 ? std::log2(double(Mb)) : 1.0;
  const double per_block_transform =
      std::max(c.blocked_per_point * double(Mb) * lgb, fft_transform_cost(c, Mb, eb));  // never below fft's
  const double blocked = pairs * ((1 + 2 * b * nb) * per_block_transform + b * nb * c.blocked_per_block +
                                  b * c.fft_per_row * double(g.n));
  return {direct, fft, blocked};
}

template <class T>
form long_conv_pick(const kernels::conv_geometry& g, index_t B, index_t D, int chunk) {
  return long_conv_costs_of<T>(g, B, D, chunk).best();
}

// Below this estimated time a call runs on the calling thread only: waking a team costs
// more than it saves (and far more on a loaded machine), e.g. for a decode step.
inline constexpr double long_conv_serial_ns = 50000;

}  // namespace detail

// The form `auto` would run for these arguments.
template <class T>
form long_conv_auto_form(const long_conv_args<T>& a, const run_options& opt = {}) {
  const index_t P = a.history.empty() ? 0 : a.history.extent(1);
  const auto g = kernels::make_conv_geometry(P, a.u.extent(1), a.h.extent(1));
  return detail::long_conv_pick<T>(g, a.u.extent(0), a.u.extent(2), opt.chunk);
}

template <class T>
void long_conv(const long_conv_args<T>& a, const run_options& opt = {}) {
  validate(a);
  form f = opt.kernel_form;
  switch (f) {
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
  const index_t B = a.u.extent(0), steps = a.u.extent(1), D = a.u.extent(2);
  if (steps == 0 || B == 0 || D == 0) return;
  const index_t P = a.history.empty() ? 0 : a.history.extent(1);
  const auto g = kernels::make_conv_geometry(P, steps, a.h.extent(1));
  const auto est = detail::long_conv_costs_of<T>(g, B, D, opt.chunk);
  if (f == form::auto_) f = est.best();

  using arch = xsimd::default_arch;
  constexpr index_t W = xsimd::batch<T, arch>::size;
  const kernels::conv_filter<T> filt{a.h.data(), a.h.stride(0), a.h.extent(1), a.D.empty() ? nullptr : a.D.data()};
  auto source_of = [&](index_t b) {
    kernels::conv_source<T> s;
    if (P > 0) {
      s.hist = a.history.data() + b * a.history.stride(0);
      s.P = P;
      s.ldh = a.history.stride(1);
    }
    s.u = a.u.data() + b * a.u.stride(0);
    s.ldu = a.u.stride(1);
    return s;
  };
  auto sink_of = [&](index_t b) { return kernels::conv_sink<T>{a.o.data() + b * a.o.stride(0), a.o.stride(1)}; };
  auto block = [&](index_t k) {
    const index_t c0 = k * W;
    return kernels::lane_block{c0, c0 < D ? std::min(W, D - c0) : 0};
  };
  const index_t nblocks = (D + W - 1) / W;
  const int threads = est.of(f) < detail::long_conv_serial_ns ? 1 : resolve_threads(opt);

  if (f == form::direct) {
    parallel_for(nblocks * B, threads, [&](index_t item) {
      const index_t b = item / nblocks, k = item % nblocks;
      kernels::long_conv_direct<arch>(filt, block(k), source_of(b), sink_of(b), g);
    });
    return;
  }
  const index_t pairs = (nblocks + 1) / 2;
  // one item per pair (filter spectrum shared by the batch entries), or per pair and batch
  // entry when pairs alone cannot keep the threads busy; the arithmetic is the same.
  const bool split_batches = pairs < threads && B > 1;
  const index_t K = f == form::blocked ? (opt.chunk > 0 ? index_t(opt.chunk) : kernels::long_conv_default_block(g)) : 0;
  parallel_for(split_batches ? pairs * B : pairs, threads, [&](index_t item) {
    const index_t p = split_batches ? item % pairs : item;
    const index_t b0 = split_batches ? item / pairs : 0, nb = split_batches ? 1 : B;
    auto src = [&](index_t bi) { return source_of(b0 + bi); };
    auto dst = [&](index_t bi) { return sink_of(b0 + bi); };
    if (f == form::fft) kernels::long_conv_fft<arch>(filt, block(2 * p), block(2 * p + 1), nb, src, dst, g);
    else kernels::long_conv_blocked<arch>(filt, block(2 * p), block(2 * p + 1), nb, src, dst, g, K);
  });
}

}  // namespace seqmix
