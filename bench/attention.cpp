// Softmax attention benchmarks. FLOPs: 2·HQ·(K + V)·(visible query-key pairs), i.e.
// 4·H·D·T(T+1)/2 for causal self-attention with K = V = D (attention_flops). Decode: GB/s of
// the K/V cache read (S·H·(K + V)·sizeof(T) bytes per call).
#include "support/bench_util.hpp"
#include "seqmix/ops/attention.hpp"

#include <Eigen/Core>

using namespace seqmix;

namespace {
struct attn_inputs {
  tensor<float> q, k, v, o, g;
  attention_args<float> args;
  attn_inputs(index_t T, index_t S, index_t HQ, index_t H, index_t D, bool fox = false) {
    q = bench::uniform<float>({1, T, HQ, D}, -1, 1, 1);
    k = bench::uniform<float>({1, S, H, D}, -1, 1, 2);
    v = bench::uniform<float>({1, S, H, D}, -1, 1, 3);
    o = tensor<float>({1, T, HQ, D});
    args.q = q.cview<4>();
    args.k = k.cview<4>();
    args.v = v.cview<4>();
    args.o = o.view<4>();
    if (fox) {
      g = bench::uniform<float>({1, S, HQ}, -0.05, 0, 4);
      args.g = g.cview<3>();
    }
  }
};
}  // namespace

// args: T, threads, form (0 auto, 1 parallel, 2 recurrent)
static void bm_attention_causal(benchmark::State& st) {
  const index_t T = st.range(0);
  const int threads = int(st.range(1));
  attn_inputs in(T, T, 16, 16, 64);
  const auto opt = bench::threads_option(threads, st.range(2) == 2 ? form::recurrent : form::parallel);
  for (auto _ : st) attention(in.args, opt);
  bench::report(st, double(T), attention_flops(in.args));
}
BENCHMARK(bm_attention_causal)->ArgsProduct({{512, 2048}, {1, 2}, {1}})->Unit(benchmark::kMillisecond);
BENCHMARK(bm_attention_causal)->Args({8192, 1, 1})->Args({8192, 2, 1})->Unit(benchmark::kMillisecond)->Iterations(1);

static void bm_attention_fox(benchmark::State& st) {
  const index_t T = st.range(0);
  attn_inputs in(T, T, 16, 16, 64, true);
  const auto opt = bench::threads_option(int(st.range(1)), form::parallel);
  for (auto _ : st) attention(in.args, opt);
  bench::report(st, double(T), attention_flops(in.args));
}
BENCHMARK(bm_attention_fox)->ArgsProduct({{2048}, {1}})->Unit(benchmark::kMillisecond);

// Decode: one query per head against an S-token cache (H = 16, D = 128).
static void bm_attention_decode(benchmark::State& st) {
  const index_t S = st.range(0);
  attn_inputs in(1, S, 16, 16, 128);
  const auto opt = bench::threads_option(int(st.range(1)), form::recurrent);
  for (auto _ : st) attention(in.args, opt);
  bench::report(st, 1.0, attention_flops(in.args), double(S) * 16 * 256 * sizeof(float));
}
BENCHMARK(bm_attention_decode)->ArgsProduct({{32768}, {1, 2}})->Unit(benchmark::kMillisecond);

// The tile product of the flash kernel, Sᵀ[64×64] = K[64×64]·Qᵀ[64×64] (fp32, from L1): the
// own register-blocked micro-kernel against Eigen's GEMM on the same blocks. FLOPs 2·64³.
static void bm_tile_product_microkernel(benchmark::State& st) {
  using sh = kernels::attention::flash_shape<xsimd::default_arch, float>;
  alignas(64) static float a[64 * 64], b[64 * sh::BQ], c[64 * sh::BQ];
  const auto ra = bench::uniform<float>({64 * 64}, -1, 1, 5), rb = bench::uniform<float>({64 * sh::BQ}, -1, 1, 6);
  std::copy(ra.values().begin(), ra.values().end(), a);
  std::copy(rb.values().begin(), rb.values().end(), b);
  for (auto _ : st) {
    for (index_t g = 0; g < 64; g += sh::MR)
      kernels::attention::detail::micro_kernel<sh::batch, sh::MR, sh::NV, false>(a + g * 64, 64, 1, b, sh::BQ, 64,
                                                                                 c + g * sh::BQ, sh::BQ);
    benchmark::DoNotOptimize(c);
  }
  bench::report(st, 64, 2.0 * 64 * 64 * sh::BQ);
}
BENCHMARK(bm_tile_product_microkernel);

static void bm_tile_product_eigen(benchmark::State& st) {
  using mat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  Eigen::setNbThreads(1);  // one core, as the micro-kernel
  mat a = mat::Random(64, 64), b = mat::Random(64, 64), c(64, 64);
  for (auto _ : st) {
    c.noalias() = a * b;
    benchmark::DoNotOptimize(c.data());
  }
  bench::report(st, 64, 2.0 * 64 * 64 * 64);
}
BENCHMARK(bm_tile_product_eigen);

BENCHMARK_MAIN();
