// Hyena-family benchmarks: long_conv per form, the T log T sweep, the FFT comparison
// (own vertical radix-2² FFT vs Eigen's unsupported FFT (kissfft backend) vs Debian's
// kissfft when found), and the hyena mixer.
// FLOPs: `GFLOP/s` counts the direct-equivalent work 2·B·D·Σ_t min(t+1, L) (+2·B·T·D for D),
// the same for every form; `alg_GFLOP/s` counts what the form does: direct the same, FFT
// forms 5·M·log2(M) per complex transform per lane (the usual pseudo-flop convention),
// 3 transforms per pair of lane blocks (filter, input, inverse), 2·W lanes... per channel
// that is 1.5 complex M-point transforms. `peak_RSS_MiB` is the process's peak resident set.
#include <sys/resource.h>

#include <complex>
#include <unsupported/Eigen/FFT>
#include <vector>

#include "support/bench_util.hpp"
#include "seqmix/kernels/conv/fft.hpp"
#include "seqmix/kernels/conv/long_conv.hpp"
#include "seqmix/mixers/hyena.hpp"
#include "seqmix/ops/long_conv.hpp"

#ifdef SEQMIX_BENCH_KISSFFT
#include <kissfft/kiss_fftr.h>
#endif

using namespace seqmix;

namespace {

constexpr form forms[] = {form::auto_, form::direct, form::fft, form::blocked};

double conv_flops(index_t B, index_t T, index_t D, index_t L) {
  double taps = 0;
  for (index_t t = 0; t < T; ++t) taps += double(std::min<index_t>(t + 1, L));
  return 2.0 * double(B) * double(D) * taps + 2.0 * double(B * T * D);
}

double peak_rss_mib() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return double(ru.ru_maxrss) / 1024.0;
}

// Algorithmic flops of one call of form f.
double alg_flops(form f, index_t B, index_t T, index_t D, index_t L, int chunk) {
  constexpr index_t W = xsimd::batch<float>::size;
  const auto g = kernels::make_conv_geometry(0, T, L);
  const double pairs = double(((D + W - 1) / W + 1) / 2);
  auto tr = [](double M) { return 5.0 * M * std::log2(std::max(2.0, M)); };
  if (f == form::fft) return pairs * W * (1 + 2.0 * B) * tr(double(kernels::long_conv_fft_size(g)));
  if (f == form::blocked) {
    const index_t K = chunk > 0 ? chunk : kernels::long_conv_default_block(g);
    const double nb = std::ceil(double(g.n) / double(K));
    return pairs * W * (1 + 2.0 * B * nb) * tr(double(kernels::long_conv_block_fft_size(K, g.Le)));
  }
  return conv_flops(B, T, D, L);
}

}  // namespace

// args: form (0 auto, 1 direct, 2 fft, 3 blocked), T, L, D, threads
static void bm_long_conv(benchmark::State& st) {
  const form f = forms[st.range(0)];
  const index_t T = st.range(1), L = st.range(2), D = st.range(3);
  const int threads = static_cast<int>(st.range(4));
  auto u = bench::uniform<float>({1, T, D}, -1, 1, 1), h = bench::uniform<float>({D, L}, -1, 1, 2),
       Dv = bench::uniform<float>({D}, -1, 1, 3);
  tensor<float> o({1, T, D});
  long_conv_args<float> a{u.cview<3>(), h.cview<2>(), Dv.cview<1>(), o.view<3>(), {}};
  const auto opt = bench::threads_option(threads, f);
  st.SetLabel(std::string(to_string(f == form::auto_ ? long_conv_auto_form(a, opt) : f)));
  long_conv(a, opt);  // warm-up: workspace and twiddle tables exist before timing
  for (auto _ : st) long_conv(a, opt);
  bench::report(st, double(T), conv_flops(1, T, D, L));
  const form used = f == form::auto_ ? long_conv_auto_form(a, opt) : f;
  st.counters["alg_GFLOP/s"] =
      benchmark::Counter(alg_flops(used, 1, T, D, L, 0) * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  st.counters["peak_RSS_MiB"] = peak_rss_mib();
}
// the 20x target: D=768, T=L=8192, one thread
BENCHMARK(bm_long_conv)->ArgsProduct({{1, 2, 3}, {8192}, {8192}, {768}, {1}})->Unit(benchmark::kMillisecond);
// the T log T sweep, D=64, L=T, one thread
BENCHMARK(bm_long_conv)
    ->ArgsProduct({{0}, benchmark::CreateRange(1 << 10, 1 << 20, 2), {0}, {64}, {1}})
    ->ArgNames({"form", "T", "L", "D", "threads"})
    ->Unit(benchmark::kMillisecond);
// short filters: direct vs blocked vs fft (the cost model's crossover)
BENCHMARK(bm_long_conv)
    ->ArgsProduct({{1, 2, 3}, {8192}, {16, 64, 256, 1024}, {256}, {1}})
    ->Unit(benchmark::kMillisecond);
// small T (decode-ish and short prompts)
BENCHMARK(bm_long_conv)->ArgsProduct({{1, 2, 3}, {64, 512}, {64, 512}, {256}, {1}})->Unit(benchmark::kMillisecond);

// The sweep uses L = T: an L argument of 0 means "L = T".
static void bm_long_conv_sweep(benchmark::State& st) {
  const index_t T = st.range(0), D = st.range(1);
  const int threads = static_cast<int>(st.range(2));
  auto u = bench::uniform<float>({1, T, D}, -1, 1, 1), h = bench::uniform<float>({D, T}, -1, 1, 2);
  tensor<float> o({1, T, D});
  long_conv_args<float> a{u.cview<3>(), h.cview<2>(), {}, o.view<3>(), {}};
  const auto opt = bench::threads_option(threads);
  st.SetLabel(std::string(to_string(long_conv_auto_form(a, opt))));
  long_conv(a, opt);  // warm-up: workspace and twiddle tables exist before timing
  for (auto _ : st) long_conv(a, opt);
  bench::report(st, double(T), conv_flops(1, T, D, T) - 2.0 * T * D);
  st.counters["alg_GFLOP/s"] = benchmark::Counter(alg_flops(long_conv_auto_form(a, opt), 1, T, D, T, 0) * 1e-9,
                                                  benchmark::Counter::kIsIterationInvariantRate);
  st.counters["peak_RSS_MiB"] = peak_rss_mib();
}
BENCHMARK(bm_long_conv_sweep)
    ->ArgsProduct({benchmark::CreateRange(1 << 10, 1 << 20, 2), {64}, {1, 2}})
    ->ArgNames({"T", "D", "threads"})
    ->Unit(benchmark::kMillisecond);

// ---- FFT comparison: one real forward transform of M points per channel ----------------
// own: one vertical complex transform carries 2·W real signals (z = a + i·b), plus the
// O(M) pass that separates/uses the two spectra (here: the spectral product).
static void bm_fft_own(benchmark::State& st) {
  using B = xsimd::batch<float>;
  const std::size_t M = std::size_t(st.range(0)), e = 2 * B::size;
  std::vector<float, xsimd::aligned_allocator<float, 64>> z(M * e), H(M * e);
  auto src = bench::uniform<float>({index_t(M * e)}, -1, 1, 4);
  std::copy(src.values().begin(), src.values().end(), H.begin());
  const float* tw = kernels::fft::twiddles<float>(M);
  for (auto _ : st) {
    std::copy(src.values().begin(), src.values().end(), z.begin());
    kernels::fft::forward<B>(z.data(), M, tw);
    kernels::conv_spectral_product<xsimd::default_arch>(z.data(), H.data(), M);
    benchmark::DoNotOptimize(z.data());
  }
  st.counters["transforms/s"] = benchmark::Counter(double(e), benchmark::Counter::kIsIterationInvariantRate);
  st.counters["ns/transform"] = benchmark::Counter(double(e) * 1e-9, benchmark::Counter::kIsIterationInvariantRate |
                                                                          benchmark::Counter::kInvert);
}
BENCHMARK(bm_fft_own)->RangeMultiplier(4)->Range(1 << 10, 1 << 16);

static void bm_fft_eigen(benchmark::State& st) {
  const int M = int(st.range(0));
  Eigen::FFT<float> fft;
  fft.SetFlag(Eigen::FFT<float>::HalfSpectrum);  // M/2+1 outputs, like a real FFT
  std::vector<float> x(M);
  std::vector<std::complex<float>> X(M / 2 + 1);
  auto src = bench::uniform<float>({index_t(M)}, -1, 1, 4);
  std::copy(src.values().begin(), src.values().end(), x.begin());
  for (auto _ : st) {
    fft.fwd(X.data(), x.data(), M);
    benchmark::DoNotOptimize(X.data());
  }
  st.counters["transforms/s"] = benchmark::Counter(1.0, benchmark::Counter::kIsIterationInvariantRate);
  st.counters["ns/transform"] =
      benchmark::Counter(1e-9, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}
BENCHMARK(bm_fft_eigen)->RangeMultiplier(4)->Range(1 << 10, 1 << 16);

#ifdef SEQMIX_BENCH_KISSFFT
static void bm_fft_kissfft(benchmark::State& st) {
  const int M = int(st.range(0));
  kiss_fftr_cfg cfg = kiss_fftr_alloc(M, 0, nullptr, nullptr);
  std::vector<float> x(M);
  std::vector<kiss_fft_cpx> X(M / 2 + 1);
  auto src = bench::uniform<float>({index_t(M)}, -1, 1, 4);
  std::copy(src.values().begin(), src.values().end(), x.begin());
  for (auto _ : st) {
    kiss_fftr(cfg, x.data(), X.data());
    benchmark::DoNotOptimize(X.data());
  }
  kiss_fftr_free(cfg);
  st.counters["transforms/s"] = benchmark::Counter(1.0, benchmark::Counter::kIsIterationInvariantRate);
  st.counters["ns/transform"] =
      benchmark::Counter(1e-9, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}
BENCHMARK(bm_fft_kissfft)->RangeMultiplier(4)->Range(1 << 10, 1 << 16);
#endif

// The whole long convolution through Eigen's FFT, channel by channel (what the op would
// cost with Eigen FFT as its engine): D=64/768, T=L, M = 2T.
static void bm_long_conv_eigen_fft(benchmark::State& st) {
  const index_t T = st.range(0), D = st.range(1);
  const int M = int(kernels::fft::next_pow2(std::size_t(2 * T - 1)));
  auto u = bench::uniform<float>({1, T, D}, -1, 1, 1), h = bench::uniform<float>({D, T}, -1, 1, 2);
  tensor<float> o({1, T, D});
  Eigen::FFT<float> fft;
  fft.SetFlag(Eigen::FFT<float>::HalfSpectrum);
  std::vector<float> x(M), y(M);
  std::vector<std::complex<float>> X(M / 2 + 1), Hs(M / 2 + 1);
  for (auto _ : st) {
    for (index_t d = 0; d < D; ++d) {
      std::fill(x.begin(), x.end(), 0.f);
      for (index_t i = 0; i < T; ++i) x[i] = h[d * T + i];
      fft.fwd(Hs.data(), x.data(), M);
      for (index_t t = 0; t < T; ++t) x[t] = u[t * D + d];
      std::fill(x.begin() + T, x.end(), 0.f);
      fft.fwd(X.data(), x.data(), M);
      for (int k = 0; k <= M / 2; ++k) X[k] *= Hs[k];
      fft.inv(y.data(), X.data(), M);  // Eigen scales by 1/M
      for (index_t t = 0; t < T; ++t) o[t * D + d] = y[t];
    }
    benchmark::DoNotOptimize(o.data());
  }
  bench::report(st, double(T), conv_flops(1, T, D, T) - 2.0 * T * D);
}
BENCHMARK(bm_long_conv_eigen_fft)->ArgsProduct({{1024, 8192}, {64, 768}})->Unit(benchmark::kMillisecond);

// ---- the hyena mixer (order 2, filter MLP width 64), forward over T tokens with l_max = T,
// and one decode step with a full history (l_max - 1 cached inputs). FLOPs: the projections
// 2·T·d·(N+1)·d + 2·T·d·d, the short conv 2·3·T·(N+1)·d, the long convolutions
// (N-1)·2·d·Σ_t min(t+1, l_max) direct-equivalent.
static void bm_hyena_forward(benchmark::State& st) {
  const index_t T = st.range(0), d = st.range(1);
  mixers::hyena_config cfg;
  cfg.d_model = std::size_t(d);
  cfg.l_max = std::size_t(T);
  mixers::hyena<float> m(cfg);
  m.conv_options().threads = int(st.range(2));
  auto x = bench::uniform<float>({T, d}, -1, 1, 5);
  tensor<float> y({T, d});
  auto s0 = m.make_state();
  m.forward(x.cview<2>(), y.view<2>(), s0);  // warm-up (filter cache, workspace)
  for (auto _ : st) {
    auto s = m.make_state();
    m.forward(x.cview<2>(), y.view<2>(), s);
  }
  const double flops = 2.0 * T * d * 3 * d + 2.0 * T * d * d + 18.0 * T * d + conv_flops(1, T, d, T);
  bench::report(st, double(T), flops);
}
BENCHMARK(bm_hyena_forward)->ArgsProduct({{1024, 8192}, {256, 768}, {1, 2}})->Unit(benchmark::kMillisecond);

static void bm_hyena_step(benchmark::State& st) {
  const index_t Lm = st.range(0), d = st.range(1);
  mixers::hyena_config cfg;
  cfg.d_model = std::size_t(d);
  cfg.l_max = std::size_t(Lm);
  mixers::hyena<float> m(cfg);
  auto x = bench::uniform<float>({Lm, d}, -1, 1, 5);
  tensor<float> y({Lm, d});
  auto s = m.make_state();
  m.forward(seq_cref<float>(x.data(), {Lm - 1, d}), seq_ref<float>(y.data(), {Lm - 1, d}), s);  // full history
  for (auto _ : st) m.step(row_cref<float>(x.data(), std::size_t(d)), row_ref<float>(y.data(), std::size_t(d)), s);
  bench::report(st, 1.0, 2.0 * 4 * d * d + 2.0 * d * Lm);
}
BENCHMARK(bm_hyena_step)->ArgsProduct({{1024, 8192}, {256, 768}})->Unit(benchmark::kMicrosecond);

BENCHMARK_MAIN();
