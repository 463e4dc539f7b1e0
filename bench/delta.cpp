// Delta-rule family benchmarks (gated_delta_rule, delta_rule), B = 1.
// Args: T, H, K (= V), form (0 recurrent, 1 chunked), chunk C, threads.
// Counters: GFLOP/s counts the FLOPs of the algorithm that runs:
//   recurrent 7·T·H·K·V (k_tᵀS 2KV, decayed rank-1 update 3KV, S_tᵀq 2KV per step),
//   chunked<C> T·H·(6·K·V + C·(5K + 3V)) (see kernels/chunk/delta_chunked.hpp);
// rec_GFLOP/s counts 7·T·H·K·V for every form (equal work, comparable across forms).
// The machine is shared: run with --benchmark_repetitions=N and read the `_min` rows
// (the fastest repetition, least disturbed by other processes).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <vector>

#include "support/bench_util.hpp"
#include "seqmix/ops/delta_rule.hpp"
#include "seqmix/ops/gated_delta_rule.hpp"
#include "seqmix/mixers/gated_deltanet.hpp"

using namespace seqmix;

namespace {

struct delta_inputs {
  tensor<float> q, k, v, beta, g, o, state;
};

delta_inputs make_inputs(index_t T, index_t H, index_t K, index_t V) {
  delta_inputs in;
  in.q = bench::uniform<float>({1, T, H, K}, -1, 1, 1);
  in.k = bench::uniform<float>({1, T, H, K}, -1, 1, 2);
  // L2-normalised keys, as the layers produce them
  for (index_t r = 0; r < T * H; ++r) {
    float n = 0;
    for (index_t i = 0; i < K; ++i) n += in.k[r * K + i] * in.k[r * K + i];
    n = 1.0f / std::sqrt(n);
    for (index_t i = 0; i < K; ++i) in.k[r * K + i] *= n;
  }
  in.v = bench::uniform<float>({1, T, H, V}, -1, 1, 3);
  in.beta = bench::uniform<float>({1, T, H}, 0, 1, 4);
  in.g = bench::uniform<float>({1, T, H}, -0.1, 0, 5);
  in.o = tensor<float>({1, T, H, V});
  in.state = tensor<float>({1, H, K, V});
  return in;
}

void report_delta(benchmark::State& st, index_t T, index_t H, index_t K, index_t V, bool chunked, index_t C) {
  const double rec = 7.0 * T * H * K * V;
  const double alg = chunked ? double(T) * H * (6.0 * K * V + double(C) * (5.0 * K + 3.0 * V)) : rec;
  bench::report(st, double(T), alg);
  st.counters["rec_GFLOP/s"] = benchmark::Counter(rec * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

void bm_gated_delta_rule(benchmark::State& st) {
  const index_t T = st.range(0), H = st.range(1), K = st.range(2), V = K, C = st.range(4);
  const bool chunked = st.range(3) == 1;
  auto in = make_inputs(T, H, K, V);
  gated_delta_rule_args<float> a{in.q.cview<4>(), in.k.cview<4>(), in.v.cview<4>(), in.beta.cview<3>(),
                                 in.g.cview<3>(), in.o.view<4>(), {}, in.state.view<4>()};
  const auto opt = bench::threads_option(int(st.range(5)), chunked ? form::chunked : form::recurrent, int(C));
  for (auto _ : st) gated_delta_rule(a, opt);
  report_delta(st, T, H, K, V, chunked, C);
}

void bm_delta_rule(benchmark::State& st) {
  const index_t T = st.range(0), H = st.range(1), K = st.range(2), V = K, C = st.range(4);
  const bool chunked = st.range(3) == 1;
  auto in = make_inputs(T, H, K, V);
  delta_rule_args<float> a{in.q.cview<4>(), in.k.cview<4>(), in.v.cview<4>(), in.beta.cview<3>(), in.o.view<4>(),
                           {}, in.state.view<4>()};
  const auto opt = bench::threads_option(int(st.range(5)), chunked ? form::chunked : form::recurrent, int(C));
  for (auto _ : st) delta_rule(a, opt);
  report_delta(st, T, H, K, V, chunked, C);
}

double min_of(const std::vector<double>& v) { return *std::min_element(v.begin(), v.end()); }

// "Best" timing for a shared machine: the work of one call is cut into segments of
// `threads` heads × 256 steps (each a separate call of the op on sliced views, the same
// kernels and per-token work; segments start from a zero state, which does not change the
// work); every segment is timed in every iteration and the fastest time of each segment is
// summed. Reported as best_ms, best_GFLOP/s (the form's algorithm FLOPs) and best_%peak
// (of 117 GFLOP/s per core × threads).
void bm_gated_delta_rule_best(benchmark::State& st) {
  const index_t T = st.range(0), H = st.range(1), K = st.range(2), V = K, C = st.range(4);
  const bool chunked = st.range(3) == 1;
  const int threads = int(st.range(5));
  auto in = make_inputs(T, H, K, V);
  const index_t seg = std::min<index_t>(T, 256), hs = threads;
  const index_t nh = (H + hs - 1) / hs, nt = (T + seg - 1) / seg;
  std::vector<double> best(static_cast<std::size_t>(nh * nt), 1e30);
  const auto opt = bench::threads_option(threads, chunked ? form::chunked : form::recurrent, int(C));
  for (auto _ : st)
    for (index_t h = 0; h < nh; ++h)
      for (index_t t = 0; t < nt; ++t) {
        const index_t h0 = h * hs, nhs = std::min(hs, H - h0), t0 = t * seg, n = std::min(seg, T - t0);
        gated_delta_rule_args<float> a{in.q.cview<4>().slice(2, h0, nhs).slice(1, t0, n),
                                       in.k.cview<4>().slice(2, h0, nhs).slice(1, t0, n),
                                       in.v.cview<4>().slice(2, h0, nhs).slice(1, t0, n),
                                       in.beta.cview<3>().slice(2, h0, nhs).slice(1, t0, n),
                                       in.g.cview<3>().slice(2, h0, nhs).slice(1, t0, n),
                                       in.o.view<4>().slice(2, h0, nhs).slice(1, t0, n),
                                       {},
                                       in.state.view<4>().slice(1, h0, nhs)};
        const auto t_start = std::chrono::steady_clock::now();
        gated_delta_rule(a, opt);
        const double ms =
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t_start).count();
        auto& b = best[static_cast<std::size_t>(h * nt + t)];
        b = std::min(b, ms);
      }
  double total = 0;
  for (double b : best) total += b;
  const double alg = chunked ? double(T) * H * (6.0 * K * V + double(C) * (5.0 * K + 3.0 * V)) : 7.0 * T * H * K * V;
  st.counters["best_ms"] = total;
  st.counters["best_GFLOP/s"] = alg / (total * 1e6);
  st.counters["best_%peak"] = 100.0 * alg / (total * 1e6) / (117.0 * threads);
}

}  // namespace

// the shapes: T=8192 H=16 K=V=128 and T=2048 H=16 K=V=64; forms and chunk sizes
BENCHMARK(bm_gated_delta_rule)
    ->ArgsProduct({{2048}, {16}, {64}, {0}, {0}, {1, 2}})
    ->ArgsProduct({{2048}, {16}, {64}, {1}, {16, 32, 64, 128}, {1, 2}})
    ->ArgsProduct({{8192}, {16}, {128}, {0}, {0}, {1, 2}})
    ->ArgsProduct({{8192}, {16}, {128}, {1}, {16, 32, 64, 128}, {1, 2}})
    ->ArgNames({"T", "H", "K", "chunked", "C", "threads"})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->ComputeStatistics("min", min_of);
BENCHMARK(bm_gated_delta_rule_best)
    ->ArgsProduct({{2048}, {16}, {64}, {0}, {0}, {1, 2}})
    ->ArgsProduct({{2048}, {16}, {64}, {1}, {16, 32, 64}, {1, 2}})
    ->ArgsProduct({{8192}, {16}, {128}, {0}, {0}, {1, 2}})
    ->ArgsProduct({{8192}, {16}, {128}, {1}, {32, 64, 128}, {1, 2}})
    ->ArgNames({"T", "H", "K", "chunked", "C", "threads"})
    ->Unit(benchmark::kMillisecond)
    ->Iterations(40);
BENCHMARK(bm_delta_rule)
    ->ArgsProduct({{2048}, {16}, {64}, {0}, {0}, {1}})
    ->ArgsProduct({{2048}, {16}, {64}, {1}, {32, 64}, {1}})
    ->ArgNames({"T", "H", "K", "chunked", "C", "threads"})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->ComputeStatistics("min", min_of);

// The Gated DeltaNet layer: d_model 512, 4 heads of head_dim 64, expand_v 2 (V = 128),
// forward over T tokens. FLOPs: projections 2·T·d·(2·Kd + 2·Vd + 2H) + o_proj 2·T·Vd·d, plus
// the op's 7·T·H·K·V (convolutions and norms not counted).
void bm_gated_deltanet_forward(benchmark::State& st) {
  const index_t T = st.range(0);
  mixers::gated_deltanet_config c;
  c.d_model = 512;
  c.num_heads = 4;
  c.head_dim = 64;
  mixers::gated_deltanet<float> m(c);
  auto x = bench::uniform<float>({T, 512}, -1, 1, 9);
  tensor<float> y({T, 512});
  for (auto _ : st) {
    auto s = m.make_state();
    m.forward(x.cview<2>(), y.view<2>(), s);
  }
  const double d = 512, Kd = 256, Vd = 512, H = 4;
  bench::report(st, double(T), 2.0 * T * d * (2 * Kd + 2 * Vd + 2 * H) + 2.0 * T * Vd * d + 7.0 * T * H * 64 * 128);
}
BENCHMARK(bm_gated_deltanet_forward)->Arg(2048)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
