// Scan-family benchmarks: linear_scan, min_gru, min_lstm, lru (every form), the mixers
// lru/min_gru/min_lstm/hgrn, a triad for the machine's bandwidth in the same run, and the
// issue's speed-target cases.
//
// FLOPs per call (README, scan section): linear_scan 2·B·T·D, min_gru 6·B·T·D, min_lstm
// 10·B·T·D, lru 10·B·T·D (exp/log/div count 1). Bytes: compulsory traffic, inputs read once
// and outputs written once (linear_scan and min_gru 3·B·T·D·4, min_lstm 4·, lru 4·).
// Mixer FLOPs count the projections only (2·T·in·out per matrix): min_gru 4·T·d²,
// min_lstm 6·T·d², lru 8·T·d·N, hgrn 8·T·d² (expansion 1, N = d).
//
// Default sweep is modest (a minute or two): T ∈ {2048, 65536}, D ∈ {256, 4096}; set
// SEQMIX_BENCH_FULL=1 for T ∈ {512, 2048, 8192, 65536} × D ∈ {256, 1536, 4096} (cases with
// more than 2^26 elements per tensor are skipped: 256 MiB each).
#include <cstdlib>
#include <string>

#include <Eigen/Core>

#include "support/bench_util.hpp"
#include "seqmix/kernels/dense/gemm_nt.hpp"
#include "seqmix/mixers/hgrn.hpp"
#include "seqmix/mixers/lru.hpp"
#include "seqmix/mixers/min_gru.hpp"
#include "seqmix/mixers/min_lstm.hpp"
#include "seqmix/ops/linear_scan.hpp"
#include "seqmix/ops/lru.hpp"
#include "seqmix/ops/min_gru.hpp"
#include "seqmix/ops/min_lstm.hpp"

using namespace seqmix;

namespace {

bool full_sweep() {
  const char* s = std::getenv("SEQMIX_BENCH_FULL");
  return s && std::string(s) == "1";
}

// Args {T, D, threads, form}: form 0 recurrent, 1 chunked, 2 parallel.
form form_of(std::int64_t f) { return f == 0 ? form::recurrent : f == 1 ? form::chunked : form::parallel; }

void op_sweep(benchmark::internal::Benchmark* b) {
  const bool full = full_sweep();
  const std::vector<std::int64_t> Ts = full ? std::vector<std::int64_t>{512, 2048, 8192, 65536}
                                            : std::vector<std::int64_t>{2048, 65536};
  const std::vector<std::int64_t> Ds = full ? std::vector<std::int64_t>{256, 1536, 4096}
                                            : std::vector<std::int64_t>{256, 4096};
  for (auto T : Ts)
    for (auto D : Ds)
      for (std::int64_t th : {1, 2})
        if (T * D <= (std::int64_t(1) << 26)) b->Args({T, D, th, 0});
  b->ArgNames({"T", "D", "threads", "form"})->Unit(benchmark::kMillisecond)->UseRealTime();
}

// STREAM triad a = b + s·c over 3 arrays of n floats (bytes counted 3·n·4, as STREAM).
void bm_triad(benchmark::State& st) {
  const std::size_t n = std::size_t(st.range(0));
  using B = xsimd::batch<float>;
  std::vector<float> a(n, 1.f), b(n, 2.f), c(n, 3.f);
  for (auto _ : st) {
    for (std::size_t i = 0; i + B::size <= n; i += B::size)
      (B::load_unaligned(b.data() + i) + B(1.5f) * B::load_unaligned(c.data() + i)).store_unaligned(a.data() + i);
    benchmark::DoNotOptimize(a.data());
    benchmark::ClobberMemory();
  }
  bench::report(st, 0, 2.0 * n, 3.0 * n * sizeof(float));
}
// Single-thread speed targets report CPU time (the counters use it): the dev machine is
// shared and oversubscribed, so wall time there is several times the CPU time; the
// two-thread cases use wall time (UseRealTime).
BENCHMARK(bm_triad)->Arg(1 << 26)->Unit(benchmark::kMillisecond);

// ---- ops --------------------------------------------------------------------------------
void bm_linear_scan(benchmark::State& st) {
  const index_t T = st.range(0), D = st.range(1);
  auto x = bench::uniform<float>({1, T, D}, -1, 1), g = bench::uniform<float>({1, T, D}, -0.1, 0, 2);
  tensor<float> o({1, T, D}), h({1, D});
  linear_scan_args<float> a{x.cview<3>(), g.cview<3>(), o.view<3>(), {}, h.view<2>()};
  const auto opt = bench::threads_option(int(st.range(2)), form_of(st.range(3)));
  for (auto _ : st) linear_scan(a, opt);
  bench::report(st, double(T), 2.0 * T * D, 3.0 * T * D * sizeof(float));
}
BENCHMARK(bm_linear_scan)->Apply(op_sweep);

void bm_min_gru(benchmark::State& st) {
  const index_t T = st.range(0), D = st.range(1);
  auto z = bench::uniform<float>({1, T, D}, -3, 3), hr = bench::uniform<float>({1, T, D}, -3, 3, 2);
  tensor<float> o({1, T, D}), h({1, D});
  min_gru_args<float> a{z.cview<3>(), hr.cview<3>(), o.view<3>(), {}, h.view<2>()};
  const auto opt = bench::threads_option(int(st.range(2)), form_of(st.range(3)));
  for (auto _ : st) min_gru(a, opt);
  bench::report(st, double(T), 6.0 * T * D, 3.0 * T * D * sizeof(float));
}
BENCHMARK(bm_min_gru)->Apply(op_sweep);

void bm_min_lstm(benchmark::State& st) {
  const index_t T = st.range(0), D = st.range(1);
  auto f = bench::uniform<float>({1, T, D}, -3, 3), i = bench::uniform<float>({1, T, D}, -3, 3, 2),
       hr = bench::uniform<float>({1, T, D}, -3, 3, 3);
  tensor<float> o({1, T, D}), h({1, D});
  min_lstm_args<float> a{f.cview<3>(), i.cview<3>(), hr.cview<3>(), o.view<3>(), {}, h.view<2>()};
  const auto opt = bench::threads_option(int(st.range(2)), form_of(st.range(3)));
  for (auto _ : st) min_lstm(a, opt);
  bench::report(st, double(T), 10.0 * T * D, 4.0 * T * D * sizeof(float));
}
BENCHMARK(bm_min_lstm)->Apply(op_sweep);

void bm_lru(benchmark::State& st) {
  const index_t T = st.range(0), D = st.range(1);
  auto xr = bench::uniform<float>({1, T, D}, -1, 1), xi = bench::uniform<float>({1, T, D}, -1, 1, 2);
  auto nu = bench::uniform<float>({D}, -4, -1, 3), th = bench::uniform<float>({D}, -3, 1, 4);
  tensor<float> o({1, T, D, 2}), h({1, D, 2});
  lru_args<float> a{xr.cview<3>(), xi.cview<3>(), nu.cview<1>(), th.cview<1>(), o.view<4>(), {}, h.view<3>()};
  const auto opt = bench::threads_option(int(st.range(2)), form_of(st.range(3)));
  for (auto _ : st) lru(a, opt);
  bench::report(st, double(T), 10.0 * T * D, 4.0 * T * D * sizeof(float));
}
BENCHMARK(bm_lru)->Apply(op_sweep);

// ---- speed targets ----------------------------------------------------------------------
// linear_scan D=4096, T=16384 (256 MiB per tensor), recurrent; compare GB/s with bm_triad.
BENCHMARK(bm_linear_scan)
    ->Name("target/linear_scan_bandwidth")
    ->Args({16384, 4096, 1, 0})
    ->ArgNames({"T", "D", "threads", "form"})
    ->Unit(benchmark::kMillisecond);
BENCHMARK(bm_linear_scan)
    ->Name("target/linear_scan_bandwidth")
    ->Args({16384, 4096, 2, 0})
    ->ArgNames({"T", "D", "threads", "form"})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
// Two-pass chunked form vs recurrent and parallel, B=1, D=64, T=1M, 1 and 2 threads.
BENCHMARK(bm_linear_scan)
    ->Name("target/linear_scan_two_pass")
    ->ArgsProduct({{1 << 20}, {64}, {1, 2}, {0, 1, 2}})
    ->ArgNames({"T", "D", "threads", "form"})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// ---- projections: the packed GEMM vs Eigen, C[T, n] = X[T, d] Wᵀ, 1 thread ---------------
void bm_gemm_nt(benchmark::State& st) {
  const index_t M = st.range(0), K = st.range(1), N = st.range(2);
  auto X = bench::uniform<float>({M, K}, -1, 1), W = bench::uniform<float>({N, K}, -1, 1, 2);
  tensor<float> C({M, N});
  for (auto _ : st) kernels::dense::gemm_nt(M, N, K, X.data(), K, W.data(), K, C.data(), N, 1);
  bench::report(st, double(M), 2.0 * M * N * K);
}
BENCHMARK(bm_gemm_nt)->Args({2048, 512, 1024})->ArgNames({"M", "K", "N"})->Unit(benchmark::kMillisecond);
void bm_gemm_eigen(benchmark::State& st) {
  const index_t M = st.range(0), K = st.range(1), N = st.range(2);
  Eigen::setNbThreads(1);
  auto X = bench::uniform<float>({M, K}, -1, 1), W = bench::uniform<float>({N, K}, -1, 1, 2);
  tensor<float> C({M, N});
  using rm = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  const Eigen::Map<const rm> x(X.data(), M, K), w(W.data(), N, K);
  Eigen::Map<rm> c(C.data(), M, N);
  for (auto _ : st) c.noalias() = x * w.transpose();
  bench::report(st, double(M), 2.0 * M * N * K);
}
BENCHMARK(bm_gemm_eigen)->Args({2048, 512, 1024})->ArgNames({"M", "K", "N"})->Unit(benchmark::kMillisecond);

// ---- mixers -----------------------------------------------------------------------------
template <class M>
void run_mixer(benchmark::State& st, const M& m, double flops) {
  const index_t T = st.range(0), d = index_t(m.d_model());
  const int threads = int(st.range(2));
  set_num_threads(threads);
  Eigen::setNbThreads(threads);
  auto x = bench::uniform<float>({T, d}, -1, 1);
  tensor<float> y({T, d});
  for (auto _ : st) {
    auto s = m.make_state();
    m.forward(x.cview<2>(), y.view<2>(), s);
    benchmark::DoNotOptimize(y.data());
  }
  bench::report(st, double(T), flops);
  set_num_threads(0);
}

void mixer_sweep(benchmark::internal::Benchmark* b) {
  const bool full = full_sweep();
  const std::vector<std::int64_t> Ts = full ? std::vector<std::int64_t>{512, 2048, 8192, 65536}
                                            : std::vector<std::int64_t>{512, 2048};
  const std::vector<std::int64_t> ds = full ? std::vector<std::int64_t>{256, 512, 1536}
                                            : std::vector<std::int64_t>{256, 512};
  for (auto T : Ts)
    for (auto d : ds)
      for (std::int64_t th : {1, 2})
        if (T * d <= (std::int64_t(1) << 25)) b->Args({T, d, th});
  b->ArgNames({"T", "d_model", "threads"})->Unit(benchmark::kMillisecond)->UseRealTime();
}

void bm_mixer_min_gru(benchmark::State& st) {
  const index_t T = st.range(0), d = st.range(1);
  mixers::min_gru<float> m({std::size_t(d), 1.0, 1});
  run_mixer(st, m, 4.0 * T * d * d);
}
BENCHMARK(bm_mixer_min_gru)->Apply(mixer_sweep);
BENCHMARK(bm_mixer_min_gru)
    ->Name("target/min_gru_mixer")
    ->Args({2048, 512, 1})
    ->ArgNames({"T", "d_model", "threads"})
    ->Unit(benchmark::kMillisecond);

// The scan inside that forward: the min_gru op on the mixer's layout (rows of [h̃, z], 1 thread).
void bm_min_gru_scan_in_mixer(benchmark::State& st) {
  const index_t T = st.range(0), d = st.range(1);
  auto P = bench::uniform<float>({T, 2 * d}, -3, 3);
  tensor<float> o({1, T, d}), h({1, d});
  min_gru_args<float> a;
  a.h_raw = const_view<float, 3>(P.data(), {1, T, d}, {T * 2 * d, 2 * d, 1});
  a.z_raw = const_view<float, 3>(P.data() + d, {1, T, d}, {T * 2 * d, 2 * d, 1});
  a.o = o.view<3>();
  a.initial_state = h.cview<2>();
  a.final_state = h.view<2>();
  const auto opt = bench::threads_option(1, form::recurrent);
  for (auto _ : st) min_gru(a, opt);
  bench::report(st, double(T), 6.0 * T * d, 3.0 * T * d * sizeof(float));
}
BENCHMARK(bm_min_gru_scan_in_mixer)
    ->Name("target/min_gru_scan_in_mixer")
    ->Args({2048, 512})
    ->ArgNames({"T", "d_model"})
    ->Unit(benchmark::kMillisecond);

void bm_mixer_min_lstm(benchmark::State& st) {
  const index_t T = st.range(0), d = st.range(1);
  mixers::min_lstm<float> m({std::size_t(d), 1.0, 1});
  run_mixer(st, m, 6.0 * T * d * d);
}
BENCHMARK(bm_mixer_min_lstm)->Apply(mixer_sweep);

void bm_mixer_lru(benchmark::State& st) {
  const index_t T = st.range(0), d = st.range(1);
  mixers::lru_config cfg;
  cfg.d_model = std::size_t(d);
  cfg.r_min = 0.9;
  cfg.r_max = 0.999;
  mixers::lru<float> m(cfg);
  run_mixer(st, m, 8.0 * T * d * d);
}
BENCHMARK(bm_mixer_lru)->Apply(mixer_sweep);

void bm_mixer_hgrn(benchmark::State& st) {
  const index_t T = st.range(0), d = st.range(1);
  mixers::hgrn<float> m({std::size_t(d), 1.0, 1e-5, 1});
  run_mixer(st, m, 8.0 * T * d * d);
}
BENCHMARK(bm_mixer_hgrn)->Apply(mixer_sweep);

}  // namespace

BENCHMARK_MAIN();
