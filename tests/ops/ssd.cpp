// ssd: the reference against a hand-computed case and against simple_gla with k = B, q = C,
// v = dt·x, g = dt·A (the mapping the op uses), every form against the double reference,
// groups, splits, varlen, threads, T = 0, extreme decays, errors.
#include "chunk_testing.hpp"
#include "seqmix/ops/simple_gla.hpp"
#include "seqmix/ops/ssd.hpp"

using namespace seqmix;
using namespace seqmix::testing;
using namespace seqmix::testing::chunk;

namespace {
// make(B, T, H, K = N, V = P); G = H / 2 when H is even.
struct ssd_op {
  static inline double dt_lo = 0.01, dt_hi = 1.0;
  static inline bool with_d = true;
  static inputs make(index_t B, index_t L, index_t H, index_t N, index_t P) {
    const index_t G = H % 2 == 0 ? H / 2 : 1;
    inputs in{{"x", random_tensor<double>({B, L, H, P})}, {"dt", random_tensor<double>({B, L, H}, dt_lo, dt_hi)},
              {"A", random_tensor<double>({H}, -2.0, -0.1)}, {"B", random_tensor<double>({B, L, G, N})},
              {"C", random_tensor<double>({B, L, G, N})}};
    if (with_d) in["D"] = random_tensor<double>({H});
    return in;
  }
  static std::vector<std::string> timed() { return {"x", "dt", "B", "C"}; }
  static index_t batch(const inputs& in) { return in.at("x").extent(0); }
  static std::vector<index_t> out_shape(const inputs& in) { return in.at("x").shape(); }
  static std::vector<index_t> state_shape(const inputs& in, index_t n) {
    return {n, in.at("x").extent(2), in.at("x").extent(3), in.at("B").extent(3)};
  }
  template <class T>
  static void call(const typed<T>& in, tensor<T>& o, const tensor<T>& s0, tensor<T>& s1,
                   std::span<const std::int64_t> cu, const run_options& opt, bool reference) {
    ssd_args<T> a;
    a.x = in.at("x").template view<4>();
    a.dt = in.at("dt").template view<3>();
    a.A = in.at("A").template view<1>();
    a.B = in.at("B").template view<4>();
    a.C = in.at("C").template view<4>();
    if (in.count("D")) a.D = in.at("D").template view<1>();
    a.o = o.template view<4>();
    a.initial_state = s0.template view<4>();
    a.final_state = s1.template view<4>();
    a.cu_seqlens = cu;
    if (reference) reference::ssd(a);
    else ssd(a, opt);
  }
};
}  // namespace

TEST_CASE("reference ssd matches a hand-computed case", "[ssd][reference]") {
  // P = N = 1: dt = .5, A = -2 (decay e^-1), x = 2, B = 3, C = 4, D = 1, S0 = 1:
  // S1 = e^-1 + .5·2·3, o = 4·S1 + 2
  tensor<double> x({1, 1, 1, 1}, 2), dt({1, 1, 1}, 0.5), A({1}, -2), B({1, 1, 1, 1}, 3), C({1, 1, 1, 1}, 4),
      D({1}, 1), o({1, 1, 1, 1}), s0({1, 1, 1, 1}, 1), s1({1, 1, 1, 1});
  ssd_args<double> a{x.view<4>(), dt.view<3>(), A.view<1>(), B.view<4>(), C.view<4>(), D.view<1>(), o.view<4>(),
                     s0.view<4>(), s1.view<4>(), {}};
  reference::ssd(a);
  const double S1 = std::exp(-1.0) + 3.0;
  CHECK(s1[0] == Approx(S1));
  CHECK(o[0] == Approx(4 * S1 + 2));
}

TEST_CASE("reference ssd equals simple_gla with k = B, q = C, v = dt x, g = dt A", "[ssd][reference]") {
  const index_t L = 23, H = 4, N = 5, P = 3, G = 2;
  ssd_op::with_d = false;
  const inputs in = ssd_op::make(1, L, H, N, P);
  ssd_op::with_d = true;
  const auto r = run<ssd_op, double>(in, tensor<double>({1, H, P, N}), {}, {}, true);
  tensor<double> q({1, L, H, N}), k({1, L, H, N}), v({1, L, H, P}), g({1, L, H}), o({1, L, H, P}), s({1, H, N, P});
  for (index_t t = 0; t < L; ++t)
    for (index_t h = 0; h < H; ++h) {
      const index_t gi = h / (H / G);
      const double dt = in.at("dt")[t * H + h];
      g[t * H + h] = dt * in.at("A")[h];
      for (index_t n = 0; n < N; ++n) {
        q[(t * H + h) * N + n] = in.at("C")[(t * G + gi) * N + n];
        k[(t * H + h) * N + n] = in.at("B")[(t * G + gi) * N + n];
      }
      for (index_t p = 0; p < P; ++p) v[(t * H + h) * P + p] = dt * in.at("x")[(t * H + h) * P + p];
    }
  simple_gla_args<double> a{q.view<4>(), k.view<4>(), v.view<4>(), g.view<3>(), o.view<4>(), {}, s.view<4>(), {}, 1.0};
  reference::simple_gla(a);
  CHECK(max_rel_error(r.o, o) < 1e-13);
  for (index_t h = 0; h < H; ++h)
    for (index_t p = 0; p < P; ++p)
      for (index_t n = 0; n < N; ++n) CHECK(r.s[(h * P + p) * N + n] == Approx(s[(h * N + n) * P + p]).epsilon(1e-12));
}

TEMPLATE_TEST_CASE("ssd: every form matches the double reference", "[ssd]", float, double) {
  check_forms<ssd_op, TestType>(4, 16, 8, tol<TestType> * 5);
  check_forms<ssd_op, TestType>(1, 64, 32, tol<TestType> * 5);
  check_forms<ssd_op, TestType>(3, 5, 3, tol<TestType> * 5);
}

TEMPLATE_TEST_CASE("ssd: splits, varlen, threads, T = 0", "[ssd]", float, double) {
  check_structure<ssd_op, TestType>(2, 16, 24, tol<TestType> * 5);
}

TEMPLATE_TEST_CASE("ssd: extreme decays stay finite and correct", "[ssd]", float, double) {
  for (auto [lo, hi] : {std::pair{10.0, 10.0}, std::pair{1e-6, 1e-6}, std::pair{1e-6, 10.0}}) {
    ssd_op::dt_lo = lo;
    ssd_op::dt_hi = hi;
    const inputs in = ssd_op::make(1, 150, 2, 32, 16);
    const auto s0 = random_tensor<double>(ssd_op::state_shape(in, 1));
    const auto ref = run<ssd_op, double>(in, s0, {}, {}, true);
    for (form f : {form::recurrent, form::chunked, form::parallel}) {
      CAPTURE(lo, hi, to_string(f));
      const auto r = run<ssd_op, TestType>(in, s0, {}, run_options{f, 64, 1});
      CHECK(all_finite(r.o));
      CHECK(max_rel_error(r.o, ref.o) < tol<TestType> * 20);
      CHECK(max_rel_error(r.s, ref.s) < tol<TestType> * 20);
    }
  }
  ssd_op::dt_lo = 0.01;
  ssd_op::dt_hi = 1.0;
}

TEST_CASE("ssd rejects bad shapes and options", "[ssd][errors]") {
  tensor<float> x({1, 5, 4, 3}), dt({1, 5, 4}), A({4}), B({1, 5, 3, 2}), o({1, 5, 4, 3});
  ssd_args<float> a{x.view<4>(), dt.view<3>(), A.view<1>(), B.view<4>(), B.view<4>(), {}, o.view<4>(), {}, {}, {}};
  CHECK_THROWS_WITH(ssd(a), "ssd: H (x.shape[2]) (4) must be a multiple of 3");
  tensor<float> B2({1, 5, 2, 2}), C2({1, 5, 2, 3});
  a.B = B2.view<4>();
  a.C = C2.view<4>();
  CHECK_THROWS_WITH(ssd(a), "ssd: argument 'C' has shape [1,5,2,3], expected [1,5,2,2] (as 'B')");
  a.C = B2.view<4>();
  tensor<float> A3({3});
  a.A = A3.view<1>();
  CHECK_THROWS_WITH(ssd(a), "ssd: argument 'A' has shape [3], expected [4]");
  a.A = A.view<1>();
  CHECK_THROWS_AS(ssd(a, run_options{form::fft, 0, 1}), option_error);
  CHECK_NOTHROW(ssd(a));
}
