// RWKV-family benchmarks. FLOPs (README, section RWKV): rwkv6/rwkv5 7·T·H·K·V, rwkv7
// 9·T·H·K·V, rwkv4 16·T·D. Shapes: B = 1, T = 2048, H = 32, K = V = 64 (the issue's).
#include <cmath>

#include "support/bench_util.hpp"
#include "seqmix/ops/rwkv4.hpp"
#include "seqmix/ops/rwkv6.hpp"
#include "seqmix/ops/rwkv7.hpp"
#include "seqmix/mixers/rwkv7.hpp"
#include "seqmix/kernels/chunk/common.hpp"

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

// Why rwkv7 has no chunked (DPLR/WY) form: a lower bound of its cost. Per chunk of C = 64
// steps and head (K = V = 64), the DPLR chunk algorithm (fla's chunk_rwkv7) needs at least
// these dense products: the four score blocks r·kᵀ, r·bᵀ, a·kᵀ, a·bᵀ (C×C×K each), the WY
// factors A·(b ⊙ Γ) and A·v (C×C×K, C×C×V), the intra-chunk output products (2 × C×C×V),
// and the state products v_new = u + w·S, o += r·S, S += kᵀ·v_new, S += bᵀ·(·) (4 × C×K×V);
// the triangular solve for A, the decay factors and the exps come on top. This benchmark
// runs only those GEMMs (Eigen, the same shapes, B=1 T=2048 H=32): if they alone are slower
// than the recurrent form, the chunked form cannot win. FLOPs reported: the op's 9·T·H·K·V.
static void bm_rwkv7_dplr_gemms_only(benchmark::State& st) {
  using M = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  const index_t T = 2048, H = 32, C = 64, K = 64, V = 64;
  auto rnd = [](index_t r, index_t c, unsigned seed) {
    auto t = bench::uniform<float>({r, c}, -1, 1, seed);
    return M(Eigen::Map<M>(t.data(), r, c));
  };
  const M q = rnd(C, K, 1), k = rnd(C, K, 2), a = rnd(C, K, 3), b = rnd(C, K, 4), v = rnd(C, V, 5);
  M S = rnd(K, V, 6) * 0.01f, A(C, C), A2(C, C), A3(C, C), A4(C, C), w(C, K), u(C, V), o(C, V), vn(C, V);
  using kernels::chunk::gemm;  // Eigen's serial GEMM kernel (as the chunk engine uses it)
  for (auto _ : st) {
    for (index_t h = 0; h < H; ++h)
      for (index_t c0 = 0; c0 < T; c0 += C) {
        gemm<false, true>(C, C, K, q.data(), K, k.data(), K, A.data(), C);    // r·kᵀ
        gemm<false, true>(C, C, K, q.data(), K, b.data(), K, A2.data(), C);   // r·bᵀ
        gemm<false, true>(C, C, K, a.data(), K, k.data(), K, A3.data(), C);   // a·kᵀ
        gemm<false, true>(C, C, K, a.data(), K, b.data(), K, A4.data(), C);   // a·bᵀ
        gemm<false, false>(C, K, C, A4.data(), C, b.data(), K, w.data(), K);  // W
        gemm<false, false>(C, V, C, A3.data(), C, v.data(), V, u.data(), V);  // U
        vn = u;
        gemm<false, false>(C, V, K, w.data(), K, S.data(), V, vn.data(), V, 1.f, true);   // v_new
        gemm<false, false>(C, V, K, q.data(), K, S.data(), V, o.data(), V);               // r·S
        gemm<false, false>(C, V, C, A.data(), C, vn.data(), V, o.data(), V, 1.f, true);   // intra
        gemm<false, false>(C, V, C, A2.data(), C, u.data(), V, o.data(), V, 1.f, true);   // intra
        gemm<true, false>(K, V, C, k.data(), K, vn.data(), V, S.data(), V, 1e-3f, true);  // state
        gemm<true, false>(K, V, C, b.data(), K, u.data(), V, S.data(), V, 1e-3f, true);   // state
      }
    benchmark::DoNotOptimize(o.data());
  }
  bench::report(st, double(T), 9.0 * T * H * K * V);
}
BENCHMARK(bm_rwkv7_dplr_gemms_only)->Unit(benchmark::kMillisecond);

// RWKV-7 time-mix decode: one `step` at d_model = 2048 (H = 32, N = 64, layer 1: with the
// value-residual LoRA), one thread; and, in the same run, the time to read all its
// weights once (a vectorised sum over every parameter), the floor a decode step cannot beat.
namespace {
mixers::rwkv7_time_mix<float>& decode_mixer() {
  static mixers::rwkv7_time_mix<float> m([] {
    mixers::rwkv7_config c;
    c.n_embd = 2048;
    c.head_size = 64;
    c.n_layer = 24;
    c.layer_id = 1;
    return c;
  }());
  static bool init = [] {
    unsigned seed = 1;
    for (auto& [name, t] : m.params()) t = bench::uniform<float>(t.shape(), -0.02, 0.02, seed++);
    return true;
  }();
  (void)init;
  return m;
}
double weight_bytes(const mixers::rwkv7_time_mix<float>& m) {
  double b = 0;
  for (const auto& [name, t] : m.params()) b += double(t.size()) * sizeof(float);
  return b;
}
}  // namespace

static void bm_rwkv7_decode_step(benchmark::State& st) {
  set_num_threads(1);
  auto& m = decode_mixer();
  auto s = m.make_state();
  tensor<float> x = bench::uniform<float>({1, 2048}, -1, 1, 9), y({1, 2048}), vf = bench::uniform<float>({1, 2048}, -1, 1, 10);
  s.v_first = vf.view<2>();
  for (auto _ : st) {
    m.step(std::span<const float>(x.data(), 2048), std::span<float>(y.data(), 2048), s);
    benchmark::DoNotOptimize(y.data());
  }
  bench::report(st, 1.0, 2.0 * weight_bytes(m) / sizeof(float), weight_bytes(m));
  set_num_threads(0);
}
BENCHMARK(bm_rwkv7_decode_step)->Unit(benchmark::kMillisecond);

static void bm_rwkv7_decode_weight_read(benchmark::State& st) {
  auto& m = decode_mixer();
  for (auto _ : st) {
    float acc = 0;
    for (const auto& [name, t] : m.params())
      acc += Eigen::Map<const Eigen::VectorXf>(t.data(), t.size()).sum();
    benchmark::DoNotOptimize(acc);
  }
  bench::report(st, 1.0, 0, weight_bytes(m));
}
BENCHMARK(bm_rwkv7_decode_weight_read)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
