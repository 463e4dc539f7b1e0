#pragma once
// The ssd op (Mamba-2): validates, then maps onto the chunk engine
// (k = B, q = C, v = dt·x, scalar log decay dt·A, scale 1, plus D x).
#include "seqmix/ops/args/ssd.hpp"
#include "seqmix/ops/detail/chunk_ops.hpp"
#include "seqmix/reference/ssd.hpp"

namespace seqmix {

template <class T>
detail::sequences validate(const ssd_args<T>& a) {
  constexpr const char* op = "ssd";
  detail::check_shape(op, "x", a.x, {-1, -1, -1, -1});
  const index_t Bt = a.x.extent(0), L = a.x.extent(1), H = a.x.extent(2), P = a.x.extent(3);
  detail::check_positive(op, "P (x.shape[3])", P);
  detail::check_positive(op, "H (x.shape[2])", H);
  detail::check_shape(op, "dt", a.dt, {Bt, L, H});
  detail::check_shape(op, "A", a.A, {H});
  detail::check_shape(op, "B", a.B, {Bt, L, -1, -1});
  const index_t G = a.B.extent(2), N = a.B.extent(3);
  detail::check_positive(op, "G (B.shape[2])", G);
  detail::check_positive(op, "N (B.shape[3])", N);
  detail::check_divisible(op, "H (x.shape[2])", H, G);
  detail::check_same_shape(op, "C", a.C, "B", a.B);
  detail::check_optional_shape(op, "D", a.D, {H});
  detail::check_same_shape(op, "o", a.o, "x", a.x);
  detail::sequences seqs(op, Bt, L, a.cu_seqlens);
  detail::check_optional_shape(op, "initial_state", a.initial_state, {seqs.count(), H, P, N});
  detail::check_optional_shape(op, "final_state", a.final_state, {seqs.count(), H, P, N});
  return seqs;
}

template <class T>
void ssd(const ssd_args<T>& a, const run_options& opt = {}) {
  const auto seqs = validate(a);
  detail::check_chunk_form("ssd", opt);
  const index_t H = a.x.extent(2), P = a.x.extent(3), G = a.B.extent(2), N = a.B.extent(3);
  // engine: K = N (k = B, q = C), V = P (v = dt·x); scratch: the log decay dt·A per step
  detail::run_chunk_op<kernels::chunk::decay_kind::scalar, T>(
      seqs, H, N, P, 1, 0, a.initial_state, a.final_state, true, opt,
      [&](kernels::chunk::problem<T>& p, const detail::sequence_span& sq, index_t h, T* g) {
        const index_t gi = h / (H / G);
        p.q = a.C.ptr(sq.batch, sq.begin, gi);
        p.ldq = a.C.stride(1);
        p.k = a.B.ptr(sq.batch, sq.begin, gi);
        p.ldk = a.B.stride(1);
        p.v = a.x.ptr(sq.batch, sq.begin, h);
        p.ldv = a.x.stride(1);
        p.o = a.o.ptr(sq.batch, sq.begin, h);
        p.ldo = a.o.stride(1);
        p.v_scale = a.dt.ptr(sq.batch, sq.begin, h);
        p.ldvs = a.dt.stride(1);
        const T Ah = a.A(h);
        for (index_t t = 0; t < sq.length; ++t) g[t] = p.v_scale[t * p.ldvs] * Ah;
        p.g = g;
        p.ldg = 1;
        p.scale = T(1);
      },
      [&](const kernels::chunk::problem<T>& p, const detail::sequence_span& sq, index_t h, T*) {
        if (a.D.empty()) return;
        const T Dh = a.D(h);
        for (index_t t = 0; t < sq.length; ++t) {
          const T* x = p.v + t * p.ldv;
          T* o = p.o + t * p.ldo;
          for (index_t j = 0; j < P; ++j) o[j] += Dh * x[j];
        }
      });
}

}  // namespace seqmix
