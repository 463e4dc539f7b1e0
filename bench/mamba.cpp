// Mamba-family benchmarks. FLOPs (README): selective_scan 7·B·T·D·N; causal_conv1d
// 2·B·T·D·W. Bytes: compulsory traffic (inputs read once, outputs written once).
#include "support/bench_util.hpp"
#include <Eigen/Core>

#include <chrono>

#include "seqmix/mixers/mamba.hpp"
#include "seqmix/mixers/mamba2.hpp"
#include "seqmix/ops/causal_conv1d.hpp"
#include "seqmix/ops/selective_scan.hpp"
#include "seqmix/ops/ssd.hpp"

using namespace seqmix;

namespace {
void use_threads(int threads) {
  seqmix::set_num_threads(threads);
  Eigen::setNbThreads(threads);
}
}  // namespace

static void bm_causal_conv1d(benchmark::State& st) {
  const index_t T = st.range(0), D = st.range(1), W = st.range(2);
  const int threads = static_cast<int>(st.range(3));
  const auto act = st.range(4) ? conv_activation::silu : conv_activation::none;
  auto x = bench::uniform<float>({1, T, D}, -1, 1), w = bench::uniform<float>({D, W}, -1, 1, 2),
       b = bench::uniform<float>({D}, -1, 1, 3);
  tensor<float> o({1, T, D}), h({1, D, W - 1});
  causal_conv1d_args<float> a{x.cview<3>(), w.cview<2>(), b.cview<1>(), o.view<3>(), {}, h.view<3>(), {}, act};
  const auto opt = bench::threads_option(threads);
  for (auto _ : st) causal_conv1d(a, opt);
  bench::report(st, double(T), 2.0 * T * D * W, 2.0 * T * D * sizeof(float));
}
BENCHMARK(bm_causal_conv1d)
    ->ArgNames({"T", "D", "W", "threads", "silu"})
    ->ArgsProduct({{2048}, {1536}, {4}, {1, 2}, {0, 1}})
    ->Args({64, 1536, 4, 1, 0})->Args({64, 1536, 4, 1, 1})
    ->Unit(benchmark::kMillisecond);

static void bm_selective_scan(benchmark::State& st) {
  const index_t T = st.range(0), D = st.range(1), N = st.range(2);
  const int threads = static_cast<int>(st.range(3));
  const auto f = static_cast<form>(st.range(4));
  auto x = bench::uniform<float>({1, T, D}, -1, 1), dt = bench::uniform<float>({1, T, D}, -4, 1, 2),
       A = bench::uniform<float>({D, N}, -3, -0.1, 3), B = bench::uniform<float>({1, T, 1, N}, -1, 1, 4),
       C = bench::uniform<float>({1, T, 1, N}, -1, 1, 5), z = bench::uniform<float>({1, T, D}, -2, 2, 6),
       Dk = bench::uniform<float>({D}, -1, 1, 7), bias = bench::uniform<float>({D}, -1, 0, 8);
  tensor<float> o({1, T, D}), h({1, D, N});
  selective_scan_args<float> a;
  a.x = x.cview<3>(), a.dt = dt.cview<3>(), a.A = A.cview<2>(), a.B = B.cview<4>(), a.C = C.cview<4>();
  a.o = o.view<3>(), a.z = z.cview<3>(), a.D = Dk.cview<1>(), a.dt_bias = bias.cview<1>(), a.final_state = h.view<3>();
  const auto opt = bench::threads_option(threads, f);
  for (auto _ : st) selective_scan(a, opt);
  bench::report(st, double(T), 7.0 * T * D * N, 4.0 * T * D * sizeof(float));
}
BENCHMARK(bm_selective_scan)
    ->ArgNames({"T", "D", "N", "threads", "form"})
    ->ArgsProduct({{2048}, {1536}, {16}, {1, 2}, {int(form::auto_)}})
    ->Args({2048, 64, 16, 2, int(form::chunked)})
    ->Args({2048, 64, 16, 2, int(form::recurrent)})
    ->Unit(benchmark::kMillisecond);

// ---- Mamba-2 block at d_model = 768 (d_inner 1536, H = 24, P = 64, N = 128, G = 1, W = 4).
// FLOPs of a forward: projections 2·T·d·(E + d_inner) (E = 2·d_inner + 2·G·N + H in_proj
// rows), conv 2·T·conv_dim·W, SSD 5·T·H·P·N (per state element: decay mul, update fma,
// readout fma; the chunked form does more arithmetic than this, this is the useful work).
namespace {
mixers::mamba2_config m2_config() {
  mixers::mamba2_config c;
  c.d_model = 768, c.d_state = 128, c.headdim = 64, c.expand = 2, c.ngroups = 1, c.d_conv = 4;
  return c;
}
double m2_flops(double T) {
  const double d = 768, di = 1536, E = 2 * di + 2 * 128 + 24, cd = di + 256;
  return 2 * T * d * (E + di) + 2 * T * cd * 4 + 5 * T * 24 * 64 * 128;
}
using rmat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
}  // namespace

static void bm_mamba2_forward(benchmark::State& st) {
  const index_t T = st.range(0);
  use_threads(static_cast<int>(st.range(1)));
  mixers::mamba2<float> m(m2_config());
  auto x = bench::uniform<float>({T, 768}, -1, 1);
  tensor<float> y({T, 768});
  auto s = m.make_state();  // reset per iteration (its scratch is kept: no page faults timed)
  for (auto _ : st) {
    std::fill(s.conv.values().begin(), s.conv.values().end(), 0.0f);
    std::fill(s.ssm.values().begin(), s.ssm.values().end(), 0.0f);
    m.forward(x.cview<2>(), y.view<2>(), s);
  }
  bench::report(st, double(T), m2_flops(double(T)));
  use_threads(0);
}
BENCHMARK(bm_mamba2_forward)->ArgNames({"T", "threads"})->ArgsProduct({{2048}, {1, 2}})->Unit(benchmark::kMillisecond);

// The parts of that forward, on the same shapes: part 0 in_proj GEMM, 1 conv (+silu),
// 2 SSD (auto form), 3 gated norm + out_proj GEMM (norm measured as part of the mixer;
// here only the GEMM).
static void bm_mamba2_part(benchmark::State& st) {
  const index_t T = st.range(0);
  const int part = static_cast<int>(st.range(2));
  use_threads(static_cast<int>(st.range(1)));
  const index_t d = 768, di = 1536, H = 24, P = 64, N = 128, E = 2 * di + 2 * N + H, cd = di + 2 * N;
  double flops = 0;
  if (part == 0 || part == 3) {
    const index_t in = part == 0 ? d : di, out = part == 0 ? E : d;
    auto X = bench::uniform<float>({T, in}, -1, 1), Wt = bench::uniform<float>({out, in}, -0.05, 0.05, 2);
    rmat Y(T, out);
    const auto Xm = Eigen::Map<const rmat>(X.data(), T, in);
    const auto Wm = Eigen::Map<const rmat>(Wt.data(), out, in);
    for (auto _ : st) Y.noalias() = Xm * Wm.transpose();
    flops = 2.0 * T * in * out;
  } else if (part == 1) {
    auto x = bench::uniform<float>({1, T, cd}, -1, 1), w = bench::uniform<float>({cd, 4}, -1, 1, 2),
         b = bench::uniform<float>({cd}, -1, 1, 3);
    tensor<float> o({1, T, cd}), h({1, cd, 3});
    causal_conv1d_args<float> a{x.cview<3>(), w.cview<2>(), b.cview<1>(), o.view<3>(), {}, h.view<3>(), {},
                                conv_activation::silu};
    for (auto _ : st) causal_conv1d(a);
    flops = 2.0 * T * cd * 4;
  } else {
    auto x = bench::uniform<float>({1, T, H, P}, -1, 1), dt = bench::uniform<float>({1, T, H}, 0.001, 0.1, 2),
         A = bench::uniform<float>({H}, -16, -1, 3), B = bench::uniform<float>({1, T, 1, N}, -1, 1, 4),
         C = bench::uniform<float>({1, T, 1, N}, -1, 1, 5), D = bench::uniform<float>({H}, 0.5, 1.5, 6);
    tensor<float> o({1, T, H, P}), s({1, H, P, N});
    ssd_args<float> a{x.cview<4>(), dt.cview<3>(), A.cview<1>(), B.cview<4>(), C.cview<4>(), D.cview<1>(),
                      o.view<4>(), {}, s.view<4>()};
    for (auto _ : st) ssd(a);
    flops = 5.0 * T * H * P * N;
  }
  bench::report(st, double(T), flops);
  use_threads(0);
}
BENCHMARK(bm_mamba2_part)
    ->ArgNames({"T", "threads", "part"})
    ->ArgsProduct({{2048}, {1, 2}, {0, 1, 2, 3}})
    ->Unit(benchmark::kMillisecond);

// Decode: one step at d_model = 768 on 1 thread after a 64-token prefill, against reading
// every weight once (a sum over all parameters, measured in the same run). Counters:
// step_ms / weights_ms = the ratio (target <= 1.3).
namespace {
// Reads every parameter once (a SIMD sum); returns the sum so nothing is optimised away.
template <class M>
float read_weights(const M& m) {
  using V = xsimd::batch<float>;
  constexpr std::size_t L = V::size;
  V acc(0.0f);
  float tail = 0;
  for (const auto& [name, t] : m.params()) {
    const float* p = t.data();
    const std::size_t n = static_cast<std::size_t>(t.size());
    std::size_t i = 0;
    V a0(0.0f), a1(0.0f), a2(0.0f), a3(0.0f);
    for (; i + 4 * L <= n; i += 4 * L) {
      a0 += V::load_unaligned(p + i);
      a1 += V::load_unaligned(p + i + L);
      a2 += V::load_unaligned(p + i + 2 * L);
      a3 += V::load_unaligned(p + i + 3 * L);
    }
    for (; i < n; ++i) tail += p[i];
    acc += (a0 + a1) + (a2 + a3);
  }
  return xsimd::hadd(acc) + tail;
}

// Each iteration times one step and one read of all weights, back to back, so both see
// the same machine state; counters: the mean and the best of each, and their ratios.
template <class M>
void decode_bench(benchmark::State& st, const M& m) {
  use_threads(1);
  const index_t d = index_t(m.d_model());
  auto s = m.make_state();
  auto x = bench::uniform<float>({64, d}, -1, 1);
  tensor<float> y({64, d});
  m.forward(x.cview<2>(), y.view<2>(), s);
  std::vector<float> xr(x.data(), x.data() + d), yr(d);
  std::size_t bytes = 0;
  for (const auto& [name, t] : m.params()) bytes += std::size_t(t.size()) * sizeof(float);
  using clk = std::chrono::steady_clock;
  double step_sum = 0, read_sum = 0, step_min = 1e30, read_min = 1e30;
  float sink = 0;
  for (auto _ : st) {
    const auto t0 = clk::now();
    m.step(xr, yr, s);
    const auto t1 = clk::now();
    sink += read_weights(m);
    const auto t2 = clk::now();
    const double a = std::chrono::duration<double, std::milli>(t1 - t0).count();
    const double b = std::chrono::duration<double, std::milli>(t2 - t1).count();
    step_sum += a, read_sum += b, step_min = std::min(step_min, a), read_min = std::min(read_min, b);
    benchmark::DoNotOptimize(yr.data());
  }
  benchmark::DoNotOptimize(sink);
  const double n = double(st.iterations());
  st.counters["step_ms"] = step_sum / n;
  st.counters["weights_ms"] = read_sum / n;
  st.counters["ratio"] = step_sum / read_sum;
  st.counters["step_ms_best"] = step_min;
  st.counters["weights_ms_best"] = read_min;
  st.counters["ratio_best"] = step_min / read_min;
  st.counters["tokens/s"] = 1e3 * n / step_sum;
  st.counters["weights_MB"] = double(bytes) * 1e-6;
  use_threads(0);
}

// GEMV y = W x, W [rows, cols] row-major (Eigen; a hand-written 4-row SIMD GEMV was tried
// and was no faster), the decode step's main cost.
static void bm_gemv(benchmark::State& st) {
  const index_t rows = st.range(0), cols = st.range(1);
  use_threads(1);
  auto W = bench::uniform<float>({rows, cols}, -1, 1), x = bench::uniform<float>({cols}, -1, 1, 2);
  Eigen::VectorXf y(rows);
  const auto Wm = Eigen::Map<const rmat>(W.data(), rows, cols);
  const auto xv = Eigen::Map<const Eigen::VectorXf>(x.data(), cols);
  for (auto _ : st) {
    y.noalias() = Wm * xv;
    benchmark::DoNotOptimize(y.data());
  }
  bench::report(st, 1, 2.0 * rows * cols, 4.0 * rows * cols);
  use_threads(0);
}
BENCHMARK(bm_gemv)->ArgNames({"rows", "cols"})->Args({3352, 768})->Args({768, 1536})->Unit(benchmark::kMicrosecond);
}  // namespace

static void bm_mamba2_decode(benchmark::State& st) { decode_bench(st, mixers::mamba2<float>(m2_config())); }
BENCHMARK(bm_mamba2_decode)->Unit(benchmark::kMillisecond);

// Mamba-1 block at d_model = 768 (d_inner 1536, N 16, dt_rank 48): forward and decode.
static void bm_mamba_forward(benchmark::State& st) {
  const index_t T = st.range(0);
  use_threads(static_cast<int>(st.range(1)));
  mixers::mamba_config c;
  c.d_model = 768;
  mixers::mamba<float> m(c);
  auto x = bench::uniform<float>({T, 768}, -1, 1);
  tensor<float> y({T, 768});
  auto s = m.make_state();
  for (auto _ : st) {
    std::fill(s.conv.values().begin(), s.conv.values().end(), 0.0f);
    std::fill(s.ssm.values().begin(), s.ssm.values().end(), 0.0f);
    m.forward(x.cview<2>(), y.view<2>(), s);
  }
  const double d = 768, di = 1536, R = 48, N = 16;
  bench::report(st, double(T), 2.0 * T * (d * 2 * di + di * (R + 2 * N) + R * di + di * d) + 2.0 * T * di * 4 +
                                   7.0 * T * di * N);
  use_threads(0);
}
BENCHMARK(bm_mamba_forward)->ArgNames({"T", "threads"})->ArgsProduct({{2048}, {1, 2}})->Unit(benchmark::kMillisecond);

static void bm_mamba_decode(benchmark::State& st) {
  mixers::mamba_config c;
  c.d_model = 768;
  decode_bench(st, mixers::mamba<float>(c));
}
BENCHMARK(bm_mamba_decode)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
