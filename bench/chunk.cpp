// Chunk-engine benchmarks (gla, simple_gla, ssd, linear_attn, retention).
// FLOPs: the recurrence count 5·B·T·H·K·V (ssd: 5·B·T·H·P·N): per step and state element one
// decay multiply and two FMAs. "chunk_GFLOP/s" counts what the chunked form does per chunk of
// C steps: 2CKV (inter-chunk readout) + C²K (causal half of the scores) + C²V (causal half of
// scores·V) + 2CKV (state increment), i.e. per step 4KV + C(K+V).
// Args: T, H, K, V, threads, form (0 auto, 1 recurrent, 2 chunked, 3 parallel), chunk.
#include "support/bench_util.hpp"
#include "seqmix/ops/gla.hpp"
#include "seqmix/ops/linear_attn.hpp"
#include "seqmix/ops/retention.hpp"
#include "seqmix/ops/simple_gla.hpp"
#include "seqmix/ops/ssd.hpp"

using namespace seqmix;

namespace {
form form_arg(std::int64_t f) {
  switch (f) {
    case 1: return form::recurrent;
    case 2: return form::chunked;
    case 3: return form::parallel;
    default: return form::auto_;
  }
}

void report_chunk(benchmark::State& st, double T, double H, double K, double V, int chunk) {
  const double C = chunk > 0 ? chunk : double(kernels::chunk::default_chunk_for(index_t(K), index_t(V)));
  bench::report(st, T, 5.0 * T * H * K * V);
  st.counters["chunk_GFLOP/s"] = benchmark::Counter(T * H * (4 * K * V + C * (K + V)) * 1e-9,
                                                    benchmark::Counter::kIsIterationInvariantRate);
}

struct qkv_inputs {
  tensor<float> q, k, v, o, s;
  qkv_inputs(index_t T, index_t H, index_t K, index_t V)
      : q(bench::uniform<float>({1, T, H, K}, -1, 1, 1)), k(bench::uniform<float>({1, T, H, K}, -1, 1, 2)),
        v(bench::uniform<float>({1, T, H, V}, -1, 1, 3)), o({1, T, H, V}), s({1, H, K, V}) {}
};
}  // namespace

static void bm_gla(benchmark::State& st) {
  const index_t T = st.range(0), H = st.range(1), K = st.range(2), V = st.range(3);
  qkv_inputs in(T, H, K, V);
  // GLA's gates: logsigmoid(x)/16
  auto g = bench::uniform<float>({1, T, H, K}, -3, 3, 4);
  for (auto& x : g.values()) x = -std::log1p(std::exp(-x)) / 16;
  gla_args<float> a{in.q.cview<4>(), in.k.cview<4>(), in.v.cview<4>(), g.cview<4>(), in.o.view<4>(), {}, in.s.view<4>()};
  const auto opt = bench::threads_option(int(st.range(4)), form_arg(st.range(5)), int(st.range(6)));
  for (auto _ : st) gla(a, opt);
  report_chunk(st, double(T), double(H), double(K), double(V), int(st.range(6)));
}

static void bm_simple_gla(benchmark::State& st) {
  const index_t T = st.range(0), H = st.range(1), K = st.range(2), V = st.range(3);
  qkv_inputs in(T, H, K, V);
  auto g = bench::uniform<float>({1, T, H}, -0.1, 0, 4);
  simple_gla_args<float> a{in.q.cview<4>(), in.k.cview<4>(), in.v.cview<4>(), g.cview<3>(), in.o.view<4>(), {}, in.s.view<4>()};
  const auto opt = bench::threads_option(int(st.range(4)), form_arg(st.range(5)), int(st.range(6)));
  for (auto _ : st) simple_gla(a, opt);
  report_chunk(st, double(T), double(H), double(K), double(V), int(st.range(6)));
}

static void bm_retention(benchmark::State& st) {
  const index_t T = st.range(0), H = st.range(1), K = st.range(2), V = st.range(3);
  qkv_inputs in(T, H, K, V);
  retention_args<float> a{in.q.cview<4>(), in.k.cview<4>(), in.v.cview<4>(), in.o.view<4>(), {}, in.s.view<4>()};
  const auto opt = bench::threads_option(int(st.range(4)), form_arg(st.range(5)), int(st.range(6)));
  for (auto _ : st) retention(a, opt);
  report_chunk(st, double(T), double(H), double(K), double(V), int(st.range(6)));
}

static void bm_linear_attn(benchmark::State& st) {
  const index_t T = st.range(0), H = st.range(1), K = st.range(2), V = st.range(3);
  qkv_inputs in(T, H, K, V);
  linear_attn_args<float> a{in.q.cview<4>(), in.k.cview<4>(), in.v.cview<4>(), in.o.view<4>(), {}, in.s.view<4>()};
  const auto opt = bench::threads_option(int(st.range(4)), form_arg(st.range(5)), int(st.range(6)));
  for (auto _ : st) linear_attn(a, opt);
  report_chunk(st, double(T), double(H), double(K), double(V), int(st.range(6)));
}

// Args: T, H, P, N, threads, form, chunk (G = 1).
static void bm_ssd(benchmark::State& st) {
  const index_t T = st.range(0), H = st.range(1), P = st.range(2), N = st.range(3);
  auto x = bench::uniform<float>({1, T, H, P}, -1, 1, 1), dt = bench::uniform<float>({1, T, H}, 0.001, 0.1, 2);
  auto A = bench::uniform<float>({H}, -8, -1, 3), B = bench::uniform<float>({1, T, 1, N}, -1, 1, 4),
       C = bench::uniform<float>({1, T, 1, N}, -1, 1, 5), D = bench::uniform<float>({H}, -1, 1, 6);
  tensor<float> o({1, T, H, P}), s({1, H, P, N});
  ssd_args<float> a{x.cview<4>(), dt.cview<3>(), A.cview<1>(), B.cview<4>(), C.cview<4>(), D.cview<1>(), o.view<4>(), {}, s.view<4>()};
  const auto opt = bench::threads_option(int(st.range(4)), form_arg(st.range(5)), int(st.range(6)));
  for (auto _ : st) ssd(a, opt);
  report_chunk(st, double(T), double(H), double(N), double(P), int(st.range(6)));
}

// The engine's block products: C[M×N] = A[M×Kd] · B[Kd×N] on L1/L2-resident blocks, Eigen's
// serial GEMM (packs both operands per call) against the engine's register-blocked kernel
// (kernels/chunk/block_gemm.hpp). Args: M, N, Kd, kernel (0 Eigen, 1 block kernel).
static void bm_block_product(benchmark::State& st) {
  const index_t M = st.range(0), N = st.range(1), Kd = st.range(2);
  auto A = bench::uniform<float>({M, Kd}, -1, 1, 1), Bm = bench::uniform<float>({Kd, N}, -1, 1, 2);
  tensor<float> C({M, N});
  const float *a = A.values().data(), *b = Bm.values().data();
  float* c = C.values().data();
  for (auto _ : st) {
    if (st.range(3) == 0) kernels::chunk::gemm<false, false>(M, N, Kd, a, Kd, b, N, c, N);
    else
      kernels::chunk::blk::product<kernels::chunk::blk::epi::store, xsimd::default_arch>(
          M, N, c, N, (const float*)nullptr, kernels::chunk::blk::operand<float>{a, Kd, b, N}, Kd);
    benchmark::DoNotOptimize(c);
    benchmark::ClobberMemory();
  }
  bench::report(st, 0, 2.0 * double(M) * double(N) * double(Kd));
}
BENCHMARK(bm_block_product)->ArgsProduct({{32}, {64, 128}, {32, 64, 128}, {0, 1}});
BENCHMARK(bm_block_product)->ArgsProduct({{64, 128}, {64, 128}, {32}, {0, 1}});

// The speed-target shapes (B = 1, T = 2048), every form, 1 and 2 threads.
BENCHMARK(bm_gla)->ArgsProduct({{2048}, {16}, {64}, {64}, {1, 2}, {0, 1, 2}, {0}})->Unit(benchmark::kMillisecond);
BENCHMARK(bm_gla)->ArgsProduct({{2048}, {16}, {128}, {128}, {1, 2}, {0, 1, 2}, {0}})->Unit(benchmark::kMillisecond);
BENCHMARK(bm_simple_gla)->ArgsProduct({{2048}, {16}, {64}, {64}, {1, 2}, {0, 1, 2}, {0}})->Unit(benchmark::kMillisecond);
BENCHMARK(bm_ssd)->ArgsProduct({{2048}, {24}, {64}, {128}, {1, 2}, {0, 1, 2}, {0}})->Unit(benchmark::kMillisecond);
BENCHMARK(bm_simple_gla)->ArgsProduct({{8192}, {1}, {128}, {128}, {1}, {2}, {32, 64, 128}})->Unit(benchmark::kMillisecond);
BENCHMARK(bm_retention)->ArgsProduct({{2048}, {16}, {64}, {64}, {1}, {0}, {0}})->Unit(benchmark::kMillisecond);
BENCHMARK(bm_linear_attn)->ArgsProduct({{2048}, {16}, {64}, {64}, {1}, {0}, {0}})->Unit(benchmark::kMillisecond);
// Chunk size sweep (default chunk per K/V).
BENCHMARK(bm_gla)->ArgsProduct({{2048}, {16}, {64, 128}, {64, 128}, {1}, {2}, {16, 32, 48, 64, 128}})->Unit(benchmark::kMillisecond);
BENCHMARK(bm_simple_gla)->ArgsProduct({{2048}, {16}, {64, 128}, {64, 128}, {1}, {2}, {16, 32, 48, 64, 128}})->Unit(benchmark::kMillisecond);
BENCHMARK(bm_ssd)->ArgsProduct({{2048}, {24}, {64}, {128}, {1}, {2}, {16, 32, 48, 64}})->Unit(benchmark::kMillisecond);
// The three forms across T (H = 2, K = V = 64): where each wins, and what auto picks.
BENCHMARK(bm_gla)->ArgsProduct({{64, 256, 1024, 4096, 16384}, {2}, {64}, {64}, {1}, {0, 1, 2}, {0}})->Unit(benchmark::kMillisecond);
BENCHMARK(bm_gla)->ArgsProduct({{16, 64, 256, 1024}, {2}, {64}, {64}, {1}, {3}, {0}})->Unit(benchmark::kMillisecond);
BENCHMARK(bm_simple_gla)->ArgsProduct({{64, 256, 1024, 4096, 16384}, {2}, {64}, {64}, {1}, {0, 1, 2}, {0}})->Unit(benchmark::kMillisecond);
BENCHMARK(bm_simple_gla)->ArgsProduct({{16, 64, 256, 1024}, {2}, {64}, {64}, {1}, {3}, {0}})->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
