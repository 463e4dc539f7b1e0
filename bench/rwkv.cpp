// RWKV-family benchmarks. FLOPs (README, section RWKV): rwkv6/rwkv5 7·T·H·K·V, rwkv7
// 9·T·H·K·V, rwkv4 16·T·D. Shapes: B = 1, T = 2048, H = 32, K = V = 64 (the issue's).
#include <cmath>

#include "support/bench_util.hpp"
#include "seqmix/ops/rwkv4.hpp"
#include "seqmix/ops/rwkv6.hpp"
#include "seqmix/ops/rwkv7.hpp"

using namespace seqmix;

namespace {
// log decays of a trained RWKV-6/7: -exp(x), x in [-5, 1] (slow and fast channels)
tensor<float> log_decay(std::vector<index_t> shape, unsigned seed) {
  auto w = bench::uniform<float>(std::move(shape), -5.0, 1.0, seed);
  for (auto& x : w.values()) x = -std::exp(x);
  return w;
}
}  // namespace

static void bm_rwkv6(benchmark::State& st) {
  const index_t T = st.range(0), H = st.range(1), S = st.range(2);
  const int threads = static_cast<int>(st.range(3));
  const auto form_ = static_cast<form>(st.range(4));
  auto r = bench::uniform<float>({1, T, H, S}, -1, 1, 1), k = bench::uniform<float>({1, T, H, S}, -1, 1, 2),
       v = bench::uniform<float>({1, T, H, S}, -1, 1, 3), u = bench::uniform<float>({H, S}, -1, 1, 4);
  auto w = log_decay({1, T, H, S}, 5);
  tensor<float> o({1, T, H, S}), s({1, H, S, S});
  rwkv6_args<float> a{r.cview<4>(), k.cview<4>(), v.cview<4>(), w.cview<4>(), u.cview<2>(), o.view<4>(), {},
                      s.view<4>()};
  const auto opt = bench::threads_option(threads, form_);
  for (auto _ : st) rwkv6(a, opt);
  bench::report(st, double(T), 7.0 * T * H * S * S);
}
BENCHMARK(bm_rwkv6)
    ->ArgsProduct({{2048}, {32}, {64}, {1, 2}, {int(form::recurrent), int(form::chunked)}})
    ->Unit(benchmark::kMillisecond);

static void bm_rwkv7(benchmark::State& st) {
  const index_t T = st.range(0), H = st.range(1), S = st.range(2);
  const int threads = static_cast<int>(st.range(3));
  const auto form_ = static_cast<form>(st.range(4));
  auto r = bench::uniform<float>({1, T, H, S}, -1, 1, 1), k = bench::uniform<float>({1, T, H, S}, -1, 1, 2),
       v = bench::uniform<float>({1, T, H, S}, -1, 1, 3), kap = bench::uniform<float>({1, T, H, S}, -1, 1, 4);
  auto w = log_decay({1, T, H, S}, 5);
  tensor<float> aa({1, T, H, S}), bb({1, T, H, S});
  for (index_t row = 0; row < T * H; ++row) {  // a = -κ̂, b = κ̂·0.5 as in the model
    float n = 0;
    for (index_t i = 0; i < S; ++i) n += kap[row * S + i] * kap[row * S + i];
    n = std::sqrt(n);
    for (index_t i = 0; i < S; ++i) {
      aa[row * S + i] = -kap[row * S + i] / n;
      bb[row * S + i] = 0.5f * kap[row * S + i] / n;
    }
  }
  tensor<float> o({1, T, H, S}), s({1, H, S, S});
  rwkv7_args<float> a{r.cview<4>(), w.cview<4>(), k.cview<4>(), aa.cview<4>(), bb.cview<4>(), v.cview<4>(),
                      o.view<4>(),  {},           s.view<4>()};
  a.scale = 1.0f;
  const auto opt = bench::threads_option(threads, form_);
  for (auto _ : st) rwkv7(a, opt);
  bench::report(st, double(T), 9.0 * T * H * S * S);
}
BENCHMARK(bm_rwkv7)
    ->ArgsProduct({{2048}, {32}, {64}, {1, 2}, {int(form::recurrent)}})
    ->Unit(benchmark::kMillisecond);

static void bm_rwkv4(benchmark::State& st) {
  const index_t T = st.range(0), D = st.range(1);
  const int threads = static_cast<int>(st.range(2));
  auto k = bench::uniform<float>({1, T, D}, -5, 5, 1), v = bench::uniform<float>({1, T, D}, -1, 1, 2),
       w = bench::uniform<float>({D}, 0.01, 2, 3), u = bench::uniform<float>({D}, -1, 1, 4);
  tensor<float> o({1, T, D}), s({1, 3, D});
  rwkv4_args<float> a{k.cview<3>(), v.cview<3>(), w.cview<1>(), u.cview<1>(), o.view<3>(), {}, s.view<3>()};
  const auto opt = bench::threads_option(threads);
  for (auto _ : st) rwkv4(a, opt);
  bench::report(st, double(T), 16.0 * T * D, 3.0 * T * D * sizeof(float));
}
BENCHMARK(bm_rwkv4)->ArgsProduct({{2048}, {2048}, {1, 2}})->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
