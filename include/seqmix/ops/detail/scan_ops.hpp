#pragma once
// Shared dispatch of the scan-family ops (linear_scan, min_gru, min_lstm, lru): form
// choice, work items over (sequence, channel tile), per-item state, the two-pass chunked
// form. Channel tiling never changes numerics, so every form is bitwise identical for any
// thread count.
#include <algorithm>
#include <cmath>
#include <numbers>
#include <string>
#include <string_view>

#include "seqmix/core/check.hpp"
#include "seqmix/core/options.hpp"
#include "seqmix/core/threading.hpp"
#include "seqmix/core/workspace.hpp"
#include "seqmix/kernels/scan/complex.hpp"
#include "seqmix/kernels/scan/log_space.hpp"
#include "seqmix/kernels/scan/real.hpp"
#include "seqmix/kernels/scan/two_pass.hpp"

namespace seqmix::detail {

// Default chunk of the two-pass form (steps): a chunk's inputs and outputs take about
// 1 MiB, so pass 2 mostly finds its data in L2 right after pass 1, and chunk hand-offs
// between threads stay rare (256 KiB chunks measured the same per-thread CPU time but
// twice the hand-offs, which cost whole scheduler slices on an oversubscribed machine).
// Depends on the shape only.
inline index_t scan_default_chunk(index_t bytes_per_step) {
  return std::max<index_t>(16, (index_t(1) << 20) / std::max<index_t>(bytes_per_step, 1));
}

// The form to run. auto depends on the shape only (never on the thread count, so results
// do not either): the two-pass chunked form for few, long, narrow sequences (where it is
// the only way to use more than one thread), else recurrent.
inline form scan_form(std::string_view op, const run_options& opt, index_t nseq, index_t D, index_t steps) {
  if (opt.chunk < 0)
    throw option_error(std::string(op) + ": chunk must be positive, got " + std::to_string(opt.chunk));
  switch (opt.kernel_form) {
    case form::auto_: return nseq * D <= 1024 && steps >= 65536 ? form::chunked : form::recurrent;
    case form::recurrent:
    case form::chunked:
    case form::parallel: return opt.kernel_form;
    default:
      throw option_error(std::string(op) + ": form '" + std::string(to_string(opt.kernel_form)) +
                         "' is not available (forms: recurrent, chunked, parallel)");
  }
}

// Channel tiles per sequence so that there are at least `threads` items.
inline index_t scan_tile_width(index_t nseq, index_t D, int threads) {
  index_t tiles = 1;
  if (threads > 1 && nseq < threads) tiles = std::min<index_t>((threads + nseq - 1) / nseq, std::max<index_t>(1, D / 64));
  const index_t w = (D + tiles - 1) / tiles;
  return std::max<index_t>(16, (w + 15) / 16 * 16);
}

template <class V2>
const typename V2::value_type* state_row(const V2& v, index_t s) { return v.empty() ? nullptr : v.ptr(s); }

// Real scans. make_src(sequence_span) gives the coefficient source at the sequence start.
// Log = true: the parallel form runs in log space (positive recurrences).
// `streams`: tensors of [B,T,D] read or written per step (inputs + output), for the chunk size.
template <class Arch, bool Log, class T, class MakeSrc>
void run_real_scan(std::string_view op, const sequences& seqs, index_t D, int streams, const run_options& opt, MakeSrc make_src,
                   tensor_view<T, 3> o, const_view<T, 2> h0, tensor_view<T, 2> hN) {
  namespace ks = kernels::scan;
  const index_t nseq = seqs.count();
  const int threads = resolve_threads(opt);
  const index_t steps = o.extent(1);
  const form f = scan_form(op, opt, nseq, D, steps);
  const std::ptrdiff_t ldo = o.stride(1);
  const auto load_state = [&](T* h, index_t s, index_t c0, index_t c1) {
    if (h0.empty()) std::fill(h + c0, h + c1, T(0));
    else std::copy(h0.ptr(s) + c0, h0.ptr(s) + c1, h + c0);
  };
  const auto save_state = [&](const T* h, index_t s, index_t c0, index_t c1) {
    if (!hN.empty()) std::copy(h + c0, h + c1, hN.ptr(s) + c0);
  };
  if (f == form::chunked) {
    const index_t chunk = opt.chunk > 0 ? opt.chunk : scan_default_chunk(D * streams * index_t(sizeof(T)));
    for (index_t s = 0; s < nseq; ++s) {
      const auto q = seqs[s];
      using src_t = std::decay_t<decltype(make_src(q))>;
      T* out = o.ptr(q.batch, q.begin);
      // pass 1 computes the coefficients once into this thread's scratch (slot 3, 2·chunk·D),
      // pass 2 reads them back from cache: one fma per element
      struct task_t {
        src_t src;
        T* out;
        std::ptrdiff_t ldo;
        index_t D, chunk;
        std::size_t state_size() const { return D; }
        std::size_t summary_size() const { return 2 * D; }
        T* scratch() const { return thread_workspace(3).template get<T>(std::size_t(2 * chunk * D)); }
        void summarize(index_t b, index_t n, T* m) const {
          T* s = scratch();
          ks::real_summary<Arch>(src.shifted(b), s, s + chunk * D, D, m, m + D, n, 0, D);
        }
        void scan(index_t b, index_t n, T* h) const {
          T* s = scratch();
          ks::real_recurrent<Arch>(ks::coeff_source<T>{s, s + chunk * D, D}, out + b * ldo, ldo, h, n, 0, D);
        }
        void apply(index_t, index_t, const T* m, T* h) const {
          for (index_t c = 0; c < D; ++c) h[c] = m[D + c] * h[c] + m[c];
        }
      } task{make_src(q), out, ldo, D, chunk};
      T* h = thread_workspace(2).template get<T>(D);
      load_state(h, q.state, 0, D);
      ks::two_pass(task, q.length, chunk, threads, h);
      save_state(h, q.state, 0, D);
    }
    return;
  }
  const index_t tw = scan_tile_width(nseq, D, threads);
  const index_t tiles = (D + tw - 1) / tw;
  parallel_for(nseq * tiles, threads, [&](index_t item) {
    const auto q = seqs[item / tiles];
    const index_t c0 = (item % tiles) * tw, c1 = std::min(D, c0 + tw);
    if (c0 >= c1) return;
    T* h = thread_workspace(2).template get<T>(D);
    load_state(h, q.state, c0, c1);
    const auto src = make_src(q);
    T* out = o.ptr(q.batch, q.begin);
    if (f == form::recurrent) {
      ks::real_recurrent<Arch>(src, out, ldo, h, q.length, c0, c1);
    } else if constexpr (Log) {
      T* w = thread_workspace(3).template get<T>(ks::log_associative_workspace<Arch, T>());
      ks::log_associative<Arch>(src, out, ldo, h, q.length, c0, c1, w);
    } else {
      T* w = thread_workspace(3).template get<T>(ks::real_associative_workspace<Arch, T>());
      ks::real_associative<Arch>(src, out, ldo, h, q.length, c0, c1, w);
    }
    save_state(h, q.state, c0, c1);
  });
}

}  // namespace seqmix::detail
