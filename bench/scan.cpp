// Scan-family benchmarks (linear_scan, ...). FLOPs: linear_scan 2·B·T·D (one mul, one add);
// bytes: x and g read, o written: 3·B·T·D·sizeof(T).
#include "support/bench_util.hpp"
#include "seqmix/ops/linear_scan.hpp"

using namespace seqmix;

static void bm_linear_scan(benchmark::State& st) {
  const index_t T = st.range(0), D = st.range(1);
  const int threads = static_cast<int>(st.range(2));
  auto x = bench::uniform<float>({1, T, D}, -1, 1), g = bench::uniform<float>({1, T, D}, -1, 0);
  tensor<float> o({1, T, D}), h({1, D});
  linear_scan_args<float> a{x.cview<3>(), g.cview<3>(), o.view<3>(), {}, h.view<2>()};
  const auto opt = bench::threads_option(threads);
  for (auto _ : st) linear_scan(a, opt);
  bench::report(st, double(T), 2.0 * T * D, 3.0 * T * D * sizeof(float));
}
BENCHMARK(bm_linear_scan)->ArgsProduct({{2048}, {256, 1536}, {1, 2}})->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
