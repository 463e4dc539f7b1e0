// Mamba-family benchmarks. FLOPs (README): selective_scan 7·B·T·D·N; causal_conv1d
// 2·B·T·D·W. Bytes: compulsory traffic (inputs read once, outputs written once).
#include "support/bench_util.hpp"
#include "seqmix/ops/causal_conv1d.hpp"
#include "seqmix/ops/selective_scan.hpp"

using namespace seqmix;

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

BENCHMARK_MAIN();
