// Reference-path baseline: the plain executable-spec loops of every op
// (namespace seqmix::reference), float, B = 1, T = 2048, small widths so the whole
// program runs in about a minute. These figures are the floor the optimised kernels
// are measured against; they are single-threaded step-by-step loops by design.
//
// Shapes: matrix-state ops H = 2, K = V = 32; scans / convs D = 64;
//   selective_scan D = 64, N = 16, G = 1; ssd H = 2, P = 32, N = 32, G = 1;
//   causal_conv1d W = 4; long_conv L = 2048; attention HQ = H = 2, K = V = 32, S = T, causal.
// Inputs: log decays uniform in [-0.5, 0]; rwkv4 w > 0; delta-rule beta in (0, 1) and
// keys uniform in ±0.3.
// FLOPs per call (counted as the recurrence does them):
//   linear_attn / retention / simple_gla / gla   5·T·H·K·V
//   delta_rule / gated_delta_rule                 7·T·H·K·V
//   rwkv5 / rwkv6                                 7·T·H·K·V
//   rwkv7                                         9·T·H·K·V
//   attention (causal)                            4·H·K·T(T+1)/2
//   linear_scan 2·T·D; min_gru / min_lstm ~8·T·D; lru 8·T·D; rwkv4 ~8·T·D
//   selective_scan 7·T·D·N; ssd 5·T·H·P·N; causal_conv1d 2·T·D·W
//   long_conv T·D·L (direct 2·T·D·L, halved for causal)
#include <cmath>
#include <vector>

#include "support/bench_util.hpp"
#include "seqmix/reference/attention.hpp"
#include "seqmix/reference/causal_conv1d.hpp"
#include "seqmix/reference/delta_rule.hpp"
#include "seqmix/reference/gated_delta_rule.hpp"
#include "seqmix/reference/gla.hpp"
#include "seqmix/reference/linear_attn.hpp"
#include "seqmix/reference/linear_scan.hpp"
#include "seqmix/reference/long_conv.hpp"
#include "seqmix/reference/lru.hpp"
#include "seqmix/reference/min_gru.hpp"
#include "seqmix/reference/min_lstm.hpp"
#include "seqmix/reference/retention.hpp"
#include "seqmix/reference/rwkv4.hpp"
#include "seqmix/reference/rwkv5.hpp"
#include "seqmix/reference/rwkv6.hpp"
#include "seqmix/reference/rwkv7.hpp"
#include "seqmix/reference/selective_scan.hpp"
#include "seqmix/reference/simple_gla.hpp"
#include "seqmix/reference/ssd.hpp"

// The args structs are filled with designated initializers naming only the fields used;
// the optional views left out are meant to be absent (default-constructed).
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace {

using seqmix::index_t;
using seqmix::tensor;
namespace bench = seqmix::bench;
namespace ref = seqmix::reference;

constexpr index_t kT = 2048;  // sequence length
constexpr index_t kH = 2;     // heads (matrix-state ops, attention, ssd)
constexpr index_t kK = 32;    // key width
constexpr index_t kV = 32;    // value width
constexpr index_t kD = 64;    // channels (scans, convs, rwkv4)
constexpr double kDecayLo = -0.5;  // log decays uniform in [kDecayLo, 0]

tensor<float> u4(index_t a, index_t b, index_t c, index_t d, double lo, double hi, unsigned seed) {
  return bench::uniform<float>({a, b, c, d}, lo, hi, seed);
}
tensor<float> u3(index_t a, index_t b, index_t c, double lo, double hi, unsigned seed) {
  return bench::uniform<float>({a, b, c}, lo, hi, seed);
}
tensor<float> u2(index_t a, index_t b, double lo, double hi, unsigned seed) {
  return bench::uniform<float>({a, b}, lo, hi, seed);
}
tensor<float> u1(index_t a, double lo, double hi, unsigned seed) {
  return bench::uniform<float>({a}, lo, hi, seed);
}

// The inputs above keep every recurrence bounded; a non-finite output means they did not.
void check_finite(benchmark::State& st, const tensor<float>& o) {
  for (index_t i = 0; i < o.size(); ++i)
    if (!std::isfinite(o[i])) {
      st.SkipWithError("non-finite output");
      return;
    }
}

double mat_flops(double per_kv) { return per_kv * double(kT) * kH * kK * kV; }

// ---------------------------------------------------------------- matrix-state ops

void bm_ref_linear_attn(benchmark::State& st) {
  auto q = u4(1, kT, kH, kK, -1, 1, 1), k = u4(1, kT, kH, kK, -1, 1, 2), v = u4(1, kT, kH, kV, -1, 1, 3);
  tensor<float> o({1, kT, kH, kV});
  seqmix::linear_attn_args<float> a{.q = q.cview<4>(), .k = k.cview<4>(), .v = v.cview<4>(), .o = o.view<4>()};
  for (auto _ : st) {
    ref::linear_attn(a);
    benchmark::ClobberMemory();
  }
  check_finite(st, o);
  bench::report(st, double(kT), mat_flops(5));
}

void bm_ref_retention(benchmark::State& st) {
  auto q = u4(1, kT, kH, kK, -1, 1, 1), k = u4(1, kT, kH, kK, -1, 1, 2), v = u4(1, kT, kH, kV, -1, 1, 3);
  tensor<float> o({1, kT, kH, kV});
  seqmix::retention_args<float> a{.q = q.cview<4>(), .k = k.cview<4>(), .v = v.cview<4>(), .o = o.view<4>()};
  for (auto _ : st) {
    ref::retention(a);
    benchmark::ClobberMemory();
  }
  check_finite(st, o);
  bench::report(st, double(kT), mat_flops(5));
}

void bm_ref_simple_gla(benchmark::State& st) {
  auto q = u4(1, kT, kH, kK, -1, 1, 1), k = u4(1, kT, kH, kK, -1, 1, 2), v = u4(1, kT, kH, kV, -1, 1, 3);
  auto g = u3(1, kT, kH, kDecayLo, 0, 4);
  tensor<float> o({1, kT, kH, kV});
  seqmix::simple_gla_args<float> a{
      .q = q.cview<4>(), .k = k.cview<4>(), .v = v.cview<4>(), .g = g.cview<3>(), .o = o.view<4>()};
  for (auto _ : st) {
    ref::simple_gla(a);
    benchmark::ClobberMemory();
  }
  check_finite(st, o);
  bench::report(st, double(kT), mat_flops(5));
}

void bm_ref_gla(benchmark::State& st) {
  auto q = u4(1, kT, kH, kK, -1, 1, 1), k = u4(1, kT, kH, kK, -1, 1, 2), v = u4(1, kT, kH, kV, -1, 1, 3);
  auto g = u4(1, kT, kH, kK, kDecayLo, 0, 4);
  tensor<float> o({1, kT, kH, kV});
  seqmix::gla_args<float> a{
      .q = q.cview<4>(), .k = k.cview<4>(), .v = v.cview<4>(), .g = g.cview<4>(), .o = o.view<4>()};
  for (auto _ : st) {
    ref::gla(a);
    benchmark::ClobberMemory();
  }
  check_finite(st, o);
  bench::report(st, double(kT), mat_flops(5));
}

void bm_ref_delta_rule(benchmark::State& st) {
  auto q = u4(1, kT, kH, kK, -1, 1, 1), k = u4(1, kT, kH, kK, -0.3, 0.3, 2), v = u4(1, kT, kH, kV, -1, 1, 3);
  auto beta = u3(1, kT, kH, 0.01, 0.99, 4);
  tensor<float> o({1, kT, kH, kV});
  seqmix::delta_rule_args<float> a{
      .q = q.cview<4>(), .k = k.cview<4>(), .v = v.cview<4>(), .beta = beta.cview<3>(), .o = o.view<4>()};
  for (auto _ : st) {
    ref::delta_rule(a);
    benchmark::ClobberMemory();
  }
  check_finite(st, o);
  bench::report(st, double(kT), mat_flops(7));
}

void bm_ref_gated_delta_rule(benchmark::State& st) {
  auto q = u4(1, kT, kH, kK, -1, 1, 1), k = u4(1, kT, kH, kK, -0.3, 0.3, 2), v = u4(1, kT, kH, kV, -1, 1, 3);
  auto beta = u3(1, kT, kH, 0.01, 0.99, 4);
  auto g = u3(1, kT, kH, kDecayLo, 0, 5);
  tensor<float> o({1, kT, kH, kV});
  seqmix::gated_delta_rule_args<float> a{.q = q.cview<4>(),
                                         .k = k.cview<4>(),
                                         .v = v.cview<4>(),
                                         .beta = beta.cview<3>(),
                                         .g = g.cview<3>(),
                                         .o = o.view<4>()};
  for (auto _ : st) {
    ref::gated_delta_rule(a);
    benchmark::ClobberMemory();
  }
  check_finite(st, o);
  bench::report(st, double(kT), mat_flops(7));
}

// ---------------------------------------------------------------- RWKV

void bm_ref_rwkv4(benchmark::State& st) {
  auto k = u3(1, kT, kD, -1, 1, 1), v = u3(1, kT, kD, -1, 1, 2);
  auto w = u1(kD, 0.05, 1.0, 3);  // decay rate > 0 (decay per step e^{-w})
  auto u = u1(kD, -0.5, 0.5, 4);
  tensor<float> o({1, kT, kD});
  seqmix::rwkv4_args<float> a{.k = k.cview<3>(), .v = v.cview<3>(), .w = w.cview<1>(), .u = u.cview<1>(), .o = o.view<3>()};
  for (auto _ : st) {
    ref::rwkv4(a);
    benchmark::ClobberMemory();
  }
  check_finite(st, o);
  bench::report(st, double(kT), 8.0 * kT * kD);
}

void bm_ref_rwkv5(benchmark::State& st) {
  auto r = u4(1, kT, kH, kK, -1, 1, 1), k = u4(1, kT, kH, kK, -1, 1, 2), v = u4(1, kT, kH, kV, -1, 1, 3);
  auto w = u2(kH, kK, kDecayLo, 0, 4);
  auto u = u2(kH, kK, -0.5, 0.5, 5);
  tensor<float> o({1, kT, kH, kV});
  seqmix::rwkv5_args<float> a{.r = r.cview<4>(),
                              .k = k.cview<4>(),
                              .v = v.cview<4>(),
                              .w = w.cview<2>(),
                              .u = u.cview<2>(),
                              .o = o.view<4>()};
  for (auto _ : st) {
    ref::rwkv5(a);
    benchmark::ClobberMemory();
  }
  check_finite(st, o);
  bench::report(st, double(kT), mat_flops(7));
}

void bm_ref_rwkv6(benchmark::State& st) {
  auto r = u4(1, kT, kH, kK, -1, 1, 1), k = u4(1, kT, kH, kK, -1, 1, 2), v = u4(1, kT, kH, kV, -1, 1, 3);
  auto w = u4(1, kT, kH, kK, kDecayLo, 0, 4);
  auto u = u2(kH, kK, -0.5, 0.5, 5);
  tensor<float> o({1, kT, kH, kV});
  seqmix::rwkv6_args<float> a{.r = r.cview<4>(),
                              .k = k.cview<4>(),
                              .v = v.cview<4>(),
                              .w = w.cview<4>(),
                              .u = u.cview<2>(),
                              .o = o.view<4>()};
  for (auto _ : st) {
    ref::rwkv6(a);
    benchmark::ClobberMemory();
  }
  check_finite(st, o);
  bench::report(st, double(kT), mat_flops(7));
}

void bm_ref_rwkv7(benchmark::State& st) {
  auto r = u4(1, kT, kH, kK, -1, 1, 1), k = u4(1, kT, kH, kK, -0.3, 0.3, 2), v = u4(1, kT, kH, kV, -1, 1, 3);
  auto w = u4(1, kT, kH, kK, kDecayLo, 0, 4);
  // As in the model: a = κ̂ (unit key direction), b = -α·κ̂ with α in (0, 1), so the
  // transition Diag(e^w) - α κ̂ κ̂ᵀ stays a contraction.
  auto a_dir = u4(1, kT, kH, kK, -1, 1, 6);
  auto alpha = u3(1, kT, kH, 0.05, 0.95, 7);
  tensor<float> b_dir({1, kT, kH, kK});
  for (index_t row = 0; row < kT * kH; ++row) {
    float n = 0;
    for (index_t i = 0; i < kK; ++i) n += a_dir[row * kK + i] * a_dir[row * kK + i];
    n = 1.0f / std::sqrt(n);
    for (index_t i = 0; i < kK; ++i) {
      a_dir[row * kK + i] *= n;
      b_dir[row * kK + i] = -alpha[row] * a_dir[row * kK + i];
    }
  }
  tensor<float> o({1, kT, kH, kV});
  seqmix::rwkv7_args<float> a{.r = r.cview<4>(),
                              .w = w.cview<4>(),
                              .k = k.cview<4>(),
                              .a = a_dir.cview<4>(),
                              .b = b_dir.cview<4>(),
                              .v = v.cview<4>(),
                              .o = o.view<4>()};
  for (auto _ : st) {
    ref::rwkv7(a);
    benchmark::ClobberMemory();
  }
  check_finite(st, o);
  bench::report(st, double(kT), mat_flops(9));
}

// ---------------------------------------------------------------- attention

void bm_ref_attention(benchmark::State& st) {
  auto q = u4(1, kT, kH, kK, -1, 1, 1), k = u4(1, kT, kH, kK, -1, 1, 2), v = u4(1, kT, kH, kV, -1, 1, 3);
  tensor<float> o({1, kT, kH, kV});
  seqmix::attention_args<float> a{
      .q = q.cview<4>(), .k = k.cview<4>(), .v = v.cview<4>(), .o = o.view<4>(), .causal = true};
  for (auto _ : st) {
    ref::attention(a);
    benchmark::ClobberMemory();
  }
  check_finite(st, o);
  bench::report(st, double(kT), 4.0 * kH * kK * double(kT) * double(kT + 1) / 2.0);
}

// ---------------------------------------------------------------- element-wise scans

void bm_ref_linear_scan(benchmark::State& st) {
  auto x = u3(1, kT, kD, -1, 1, 1), g = u3(1, kT, kD, kDecayLo, 0, 2);
  tensor<float> o({1, kT, kD});
  seqmix::linear_scan_args<float> a{.x = x.cview<3>(), .g = g.cview<3>(), .o = o.view<3>()};
  for (auto _ : st) {
    ref::linear_scan(a);
    benchmark::ClobberMemory();
  }
  check_finite(st, o);
  bench::report(st, double(kT), 2.0 * kT * kD);
}

void bm_ref_min_gru(benchmark::State& st) {
  auto z = u3(1, kT, kD, -2, 2, 1), h = u3(1, kT, kD, -2, 2, 2);
  tensor<float> o({1, kT, kD});
  seqmix::min_gru_args<float> a{.z_raw = z.cview<3>(), .h_raw = h.cview<3>(), .o = o.view<3>()};
  for (auto _ : st) {
    ref::min_gru(a);
    benchmark::ClobberMemory();
  }
  check_finite(st, o);
  bench::report(st, double(kT), 8.0 * kT * kD);
}

void bm_ref_min_lstm(benchmark::State& st) {
  auto f = u3(1, kT, kD, -2, 2, 1), i = u3(1, kT, kD, -2, 2, 2), h = u3(1, kT, kD, -2, 2, 3);
  tensor<float> o({1, kT, kD});
  seqmix::min_lstm_args<float> a{.f_raw = f.cview<3>(), .i_raw = i.cview<3>(), .h_raw = h.cview<3>(), .o = o.view<3>()};
  for (auto _ : st) {
    ref::min_lstm(a);
    benchmark::ClobberMemory();
  }
  check_finite(st, o);
  bench::report(st, double(kT), 8.0 * kT * kD);
}

void bm_ref_lru(benchmark::State& st) {
  auto xr = u3(1, kT, kD, -1, 1, 1), xi = u3(1, kT, kD, -1, 1, 2);
  auto nu_log = u1(kD, -4, -0.5, 3);  // |λ| = e^{-e^{nu_log}} in about (0.55, 0.98)
  auto theta_log = u1(kD, -3, 0, 4);
  tensor<float> o({1, kT, kD, 2});
  seqmix::lru_args<float> a{.x_re = xr.cview<3>(),
                            .x_im = xi.cview<3>(),
                            .nu_log = nu_log.cview<1>(),
                            .theta_log = theta_log.cview<1>(),
                            .o = o.view<4>()};
  for (auto _ : st) {
    ref::lru(a);
    benchmark::ClobberMemory();
  }
  check_finite(st, o);
  bench::report(st, double(kT), 8.0 * kT * kD);
}

// ---------------------------------------------------------------- SSMs

void bm_ref_selective_scan(benchmark::State& st) {
  constexpr index_t N = 16, G = 1;
  auto x = u3(1, kT, kD, -1, 1, 1);
  auto dt = u3(1, kT, kD, -2, 0.5, 2);  // raw, softplus inside: Δ in about (0.13, 0.97)
  auto A = u2(kD, N, kDecayLo, 0, 3);   // Δ·A is the log decay, <= 0
  auto B = u4(1, kT, G, N, -1, 1, 4), C = u4(1, kT, G, N, -1, 1, 5);
  tensor<float> o({1, kT, kD});
  seqmix::selective_scan_args<float> a{.x = x.cview<3>(),
                                       .dt = dt.cview<3>(),
                                       .A = A.cview<2>(),
                                       .B = B.cview<4>(),
                                       .C = C.cview<4>(),
                                       .o = o.view<3>(),
                                       .dt_softplus = true};
  for (auto _ : st) {
    ref::selective_scan(a);
    benchmark::ClobberMemory();
  }
  check_finite(st, o);
  bench::report(st, double(kT), 7.0 * kT * kD * N);
}

void bm_ref_ssd(benchmark::State& st) {
  constexpr index_t P = 32, N = 32, G = 1;
  auto x = u4(1, kT, kH, P, -1, 1, 1);
  auto dt = u3(1, kT, kH, 0.01, 1.0, 2);  // already positive
  auto A = u1(kH, kDecayLo, 0, 3);        // Δ·A is the log decay, <= 0
  auto B = u4(1, kT, G, N, -1, 1, 4), C = u4(1, kT, G, N, -1, 1, 5);
  tensor<float> o({1, kT, kH, P});
  seqmix::ssd_args<float> a{.x = x.cview<4>(),
                            .dt = dt.cview<3>(),
                            .A = A.cview<1>(),
                            .B = B.cview<4>(),
                            .C = C.cview<4>(),
                            .o = o.view<4>()};
  for (auto _ : st) {
    ref::ssd(a);
    benchmark::ClobberMemory();
  }
  check_finite(st, o);
  bench::report(st, double(kT), 5.0 * kT * kH * P * N);
}

// ---------------------------------------------------------------- convolutions

void bm_ref_causal_conv1d(benchmark::State& st) {
  constexpr index_t W = 4;
  auto x = u3(1, kT, kD, -1, 1, 1);
  auto w = u2(kD, W, -0.5, 0.5, 2);
  tensor<float> o({1, kT, kD});
  seqmix::causal_conv1d_args<float> a{.x = x.cview<3>(), .weight = w.cview<2>(), .o = o.view<3>()};
  for (auto _ : st) {
    ref::causal_conv1d(a);
    benchmark::ClobberMemory();
  }
  check_finite(st, o);
  bench::report(st, double(kT), 2.0 * kT * kD * W);
}

void bm_ref_long_conv(benchmark::State& st) {
  constexpr index_t L = 2048;
  auto u = u3(1, kT, kD, -1, 1, 1);
  auto h = u2(kD, L, -0.02, 0.02, 2);
  tensor<float> o({1, kT, kD});
  seqmix::long_conv_args<float> a{.u = u.cview<3>(), .h = h.cview<2>(), .o = o.view<3>()};
  for (auto _ : st) {
    ref::long_conv(a);
    benchmark::ClobberMemory();
  }
  check_finite(st, o);
  // direct count 2·T·D·L, halved for causal (tap i only where i <= t)
  bench::report(st, double(kT), double(kT) * kD * L);
}

}  // namespace

#define SEQMIX_REF_BENCH(fn) BENCHMARK(fn)->Unit(benchmark::kMillisecond)->MinTime(0.1)

SEQMIX_REF_BENCH(bm_ref_attention);
SEQMIX_REF_BENCH(bm_ref_linear_attn);
SEQMIX_REF_BENCH(bm_ref_retention);
SEQMIX_REF_BENCH(bm_ref_simple_gla);
SEQMIX_REF_BENCH(bm_ref_gla);
SEQMIX_REF_BENCH(bm_ref_delta_rule);
SEQMIX_REF_BENCH(bm_ref_gated_delta_rule);
SEQMIX_REF_BENCH(bm_ref_rwkv4);
SEQMIX_REF_BENCH(bm_ref_rwkv5);
SEQMIX_REF_BENCH(bm_ref_rwkv6);
SEQMIX_REF_BENCH(bm_ref_rwkv7);
SEQMIX_REF_BENCH(bm_ref_linear_scan);
SEQMIX_REF_BENCH(bm_ref_min_gru);
SEQMIX_REF_BENCH(bm_ref_min_lstm);
SEQMIX_REF_BENCH(bm_ref_lru);
SEQMIX_REF_BENCH(bm_ref_selective_scan);
SEQMIX_REF_BENCH(bm_ref_ssd);
SEQMIX_REF_BENCH(bm_ref_causal_conv1d);
SEQMIX_REF_BENCH(bm_ref_long_conv);

BENCHMARK_MAIN();
