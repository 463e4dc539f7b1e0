// selective_scan: the reference against a hand-computed case, the op (every form, float and
// double, chunk sizes dividing T or not) against the double reference, splits carrying
// state, varlen, threads bitwise, T = 0, aliasing states, extreme dt, errors.
#include "support/testing.hpp"
#include "seqmix/ops/selective_scan.hpp"

using namespace seqmix;
using namespace seqmix::testing;

namespace {
struct ss_case {
  tensor<double> x, dt, A, B, C, z, D, dt_bias, h0;
  std::vector<std::int64_t> cu;
  bool softplus = true;
};

struct ss_opts {
  index_t batch = 1, L = 1, D = 1, N = 16, G = 1;
  bool z = true, skip = true, bias = true, state = true, softplus = true;
  index_t nseq = -1;
  double dt_lo = -4.0, dt_hi = 1.0;  // raw dt range (softplus → Δ in about (0.02, 1.3))
};

ss_case make_case(const ss_opts& p) {
  ss_case c;
  c.x = random_tensor<double>({p.batch, p.L, p.D});
  c.dt = random_tensor<double>({p.batch, p.L, p.D}, p.dt_lo, p.dt_hi);
  c.A = random_tensor<double>({p.D, p.N}, -3.0, -0.05);
  c.B = random_tensor<double>({p.batch, p.L, p.G, p.N});
  c.C = random_tensor<double>({p.batch, p.L, p.G, p.N});
  if (p.z) c.z = random_tensor<double>({p.batch, p.L, p.D}, -3.0, 3.0);
  if (p.skip) c.D = random_tensor<double>({p.D});
  if (p.bias) c.dt_bias = random_tensor<double>({p.D}, -1.0, 0.5);
  if (p.state) c.h0 = random_tensor<double>({p.nseq < 0 ? p.batch : p.nseq, p.D, p.N});
  c.softplus = p.softplus;
  return c;
}

// The op in precision T (the double reference when `ref`); returns (o, final_state).
template <class T>
std::pair<tensor<T>, tensor<T>> run_ss(const ss_case& c, bool ref, const run_options& opt = {}) {
  const auto x = cast<T>(c.x), dt = cast<T>(c.dt), A = cast<T>(c.A), B = cast<T>(c.B), C = cast<T>(c.C),
             z = cast<T>(c.z), D = cast<T>(c.D), bias = cast<T>(c.dt_bias), h0 = cast<T>(c.h0);
  const index_t N = c.cu.empty() ? c.x.extent(0) : index_t(c.cu.size()) - 1;
  tensor<T> o(c.x.shape()), hN({N, c.x.extent(2), c.A.extent(1)});
  selective_scan_args<T> a;
  a.x = x.template view<3>();
  a.dt = dt.template view<3>();
  a.A = A.template view<2>();
  a.B = B.template view<4>();
  a.C = C.template view<4>();
  a.o = o.template view<3>();
  a.z = z.template view<3>();
  a.D = D.template view<1>();
  a.dt_bias = bias.template view<1>();
  a.initial_state = h0.template view<3>();
  a.final_state = hN.template view<3>();
  a.cu_seqlens = c.cu;
  a.dt_softplus = c.softplus;
  if (ref) reference::selective_scan(a);
  else selective_scan(a, opt);
  return {std::move(o), std::move(hN)};
}

// rows [t0, t0+len) along time of a [1,L,...] tensor
tensor<double> rows(const tensor<double>& x, index_t t0, index_t len) {
  if (x.empty()) return x;
  auto shape = x.shape();
  const index_t row = x.size() / shape[1];
  shape[1] = len;
  tensor<double> r(shape);
  std::copy_n(x.data() + t0 * row, len * row, r.data());
  return r;
}

std::vector<run_options> all_forms(int threads) {
  std::vector<run_options> v{{form::auto_, 0, threads}, {form::recurrent, 0, threads}};
  for (int chunk : {0, 1, 5, 16, 64}) v.push_back({form::chunked, chunk, threads});
  return v;
}

std::string describe(const run_options& o) {
  return std::string(to_string(o.kernel_form)) + " chunk " + std::to_string(o.chunk) + " threads " +
         std::to_string(o.threads);
}
}  // namespace

TEST_CASE("reference selective_scan matches a hand-computed case", "[selective_scan][reference]") {
  // D = 1, N = 1, no softplus, A = -ln 2, h0 = 4, D skip 0.5.
  // t=0: Δ=1 (decay 1/2), x=2, B=1, C=3: h = 2 + 2 = 4, y = 3*4 + 0.5*2 = 13
  // t=1: Δ=2 (decay 1/4), x=1, B=2, C=1: h = 1 + 4 = 5, y = 5 + 0.5 = 5.5
  ss_case c;
  c.x = tensor<double>({1, 2, 1}, {2, 1});
  c.dt = tensor<double>({1, 2, 1}, {1, 2});
  c.A = tensor<double>({1, 1}, -std::log(2.0));
  c.B = tensor<double>({1, 2, 1, 1}, {1, 2});
  c.C = tensor<double>({1, 2, 1, 1}, {3, 1});
  c.D = tensor<double>({1}, 0.5);
  c.h0 = tensor<double>({1, 1, 1}, 4);
  c.softplus = false;
  auto [o, h] = run_ss<double>(c, true);
  CHECK(o[0] == Approx(13.0));
  CHECK(o[1] == Approx(5.5));
  CHECK(h[0] == Approx(5.0));
  // gate z = 1: y *= 1 * σ(1); dt_bias + softplus: raw dt = ln(e-1) gives Δ = 1
  c.z = tensor<double>({1, 2, 1}, {1, 1});
  c.softplus = true;
  c.dt = tensor<double>({1, 2, 1}, {std::log(std::exp(1.0) - 1.0) - 0.25, 0});
  c.dt_bias = tensor<double>({1}, 0.25);
  auto [oz, hz] = run_ss<double>(c, true);
  CHECK(oz[0] == Approx(13.0 / (1 + std::exp(-1.0))));
}

TEMPLATE_TEST_CASE("selective_scan matches the double reference", "[selective_scan]", float, double) {
  struct shape { index_t batch, D, N, G; };
  for (auto s : {shape{1, 1, 16, 1}, shape{2, 16, 16, 1}, shape{1, 37, 16, 1}, shape{2, 64, 4, 4},
                 shape{1, 40, 17, 2}, shape{1, 48, 32, 3}})
    for (index_t L : {1, 7, 64, 129})
      for (int variant : {0, 1, 2})
        for (int threads : {1, 2}) {
          if (threads == 2 && L != 129) continue;  // threads: the longest case (and the bitwise test below)
          ss_opts p{.batch = s.batch, .L = L, .D = s.D, .N = s.N, .G = s.G};
          p.z = variant != 1;
          p.skip = variant != 2;
          p.bias = variant != 1;
          p.state = variant != 2;
          p.softplus = variant != 2;
          if (!p.softplus) p.dt_lo = 1.01, p.dt_hi = 2.0;  // Δ = dt + dt_bias > 0
          const auto c = make_case(p);
          auto [ro, rh] = run_ss<double>(c, true);
          for (const auto& opt : all_forms(threads)) {
            CAPTURE(s.batch, s.D, s.N, s.G, L, variant, describe(opt));
            auto [o, h] = run_ss<TestType>(c, false, opt);
            CHECK(max_rel_error(o, ro) < tol<TestType>);
            CHECK(max_rel_error(h, rh) < tol<TestType>);
          }
        }
}

TEST_CASE("selective_scan: splits carrying state equal one call", "[selective_scan]") {
  const auto c = make_case({.L = 60, .D = 35, .N = 16, .G = 1});
  for (const auto& opt : all_forms(1)) {
    auto [o, h] = run_ss<double>(c, false, opt);
    index_t t0 = 0;
    tensor<double> state = c.h0;
    for (index_t len : {1, 2, 17, 40}) {
      CAPTURE(describe(opt), t0, len);
      ss_case p = c;
      p.x = rows(c.x, t0, len), p.dt = rows(c.dt, t0, len), p.B = rows(c.B, t0, len), p.C = rows(c.C, t0, len);
      p.z = rows(c.z, t0, len);
      p.h0 = state;
      auto [op, hp] = run_ss<double>(p, false, opt);
      const double scale = std::max(1.0, std::abs(o[t0 * 35]));
      for (index_t i = 0; i < len * 35; ++i) REQUIRE(std::abs(op[i] - o[t0 * 35 + i]) <= 1e-12 * scale);
      state = hp;
      t0 += len;
    }
    CHECK(max_rel_error(state, h) < 1e-12);
  }
}

TEMPLATE_TEST_CASE("selective_scan: varlen equals separate calls", "[selective_scan][varlen]", float, double) {
  auto c = make_case({.L = 30, .D = 20, .N = 8, .G = 2, .nseq = 4});
  c.cu = {0, 2, 2, 17, 30};
  for (const auto& opt : all_forms(2)) {
    auto [o, h] = run_ss<TestType>(c, false, opt);
    for (int s = 0; s < 4; ++s) {
      CAPTURE(describe(opt), s);
      const index_t b = c.cu[s], len = c.cu[s + 1] - c.cu[s];
      ss_case one = c;
      one.cu = {};
      one.x = rows(c.x, b, len), one.dt = rows(c.dt, b, len), one.B = rows(c.B, b, len), one.C = rows(c.C, b, len);
      one.z = rows(c.z, b, len);
      one.h0 = tensor<double>({1, 20, 8});
      std::copy_n(c.h0.data() + 160 * s, 160, one.h0.data());
      auto [oo, hh] = run_ss<TestType>(one, false, opt);
      for (index_t i = 0; i < 20 * len; ++i) REQUIRE(oo[i] == o[20 * b + i]);
      for (index_t i = 0; i < 160; ++i) REQUIRE(hh[i] == h[160 * s + i]);
    }
  }
}

TEST_CASE("selective_scan: threads give bitwise equal results", "[selective_scan]") {
  const auto c = make_case({.batch = 2, .L = 100, .D = 70, .N = 16, .G = 1});
  for (auto f : {form::auto_, form::recurrent, form::chunked}) {
    CAPTURE(to_string(f));
    auto [o1, h1] = run_ss<float>(c, false, {f, 0, 1});
    auto [o2, h2] = run_ss<float>(c, false, {f, 0, 2});
    auto [o3, h3] = run_ss<float>(c, false, {f, 0, 3});
    CHECK(bitwise_equal(o1, o2));
    CHECK(bitwise_equal(h1, h2));
    CHECK(bitwise_equal(o1, o3));
    CHECK(bitwise_equal(h1, h3));
  }
}

TEST_CASE("selective_scan: T = 0 passes the state through; states may alias", "[selective_scan]") {
  const auto c = make_case({.batch = 2, .L = 0, .D = 17, .N = 16});
  for (const auto& opt : all_forms(2)) {
    auto [o, h] = run_ss<float>(c, false, opt);
    CHECK(bitwise_equal(h, cast<float>(c.h0)));
  }
  const auto d = make_case({.batch = 2, .L = 33, .D = 17, .N = 16});
  for (const auto& opt : all_forms(2)) {
    CAPTURE(describe(opt));
    auto [ro, rh] = run_ss<float>(d, false, opt);
    auto x = cast<float>(d.x), dt = cast<float>(d.dt), A = cast<float>(d.A), B = cast<float>(d.B),
         C = cast<float>(d.C), z = cast<float>(d.z), D = cast<float>(d.D), bias = cast<float>(d.dt_bias),
         s = cast<float>(d.h0);
    tensor<float> o(x.shape());
    selective_scan_args<float> a;
    a.x = x.view<3>(), a.dt = dt.view<3>(), a.A = A.view<2>(), a.B = B.view<4>(), a.C = C.view<4>();
    a.o = o.view<3>(), a.z = z.view<3>(), a.D = D.view<1>(), a.dt_bias = bias.view<1>();
    a.initial_state = s.view<3>(), a.final_state = s.view<3>();
    selective_scan(a, opt);
    CHECK(bitwise_equal(o, ro));
    CHECK(bitwise_equal(s, rh));
  }
}

TEMPLATE_TEST_CASE("selective_scan: extreme dt stays finite and correct", "[selective_scan]", float, double) {
  // large raw dt (Δ up to 60: decays underflow to 0) and tiny (Δ ~ e^-60: decays ~ 1)
  for (auto [lo, hi] : {std::pair{20.0, 60.0}, std::pair{-60.0, -20.0}, std::pair{-60.0, 60.0}}) {
    auto c = make_case({.L = 50, .D = 33, .N = 16, .dt_lo = lo, .dt_hi = hi});
    auto [ro, rh] = run_ss<double>(c, true);
    for (const auto& opt : all_forms(2)) {
      CAPTURE(lo, hi, describe(opt));
      auto [o, h] = run_ss<TestType>(c, false, opt);
      CHECK(all_finite(o));
      CHECK(all_finite(h));
      CHECK(max_rel_error(o, ro) < 4 * tol<TestType>);
      CHECK(max_rel_error(h, rh) < 4 * tol<TestType>);
    }
  }
}

TEST_CASE("selective_scan rejects bad shapes and options", "[selective_scan][errors]") {
  auto c = cast<float>(random_tensor<double>({2, 5, 6}));
  tensor<float> A({6, 4}), B({2, 5, 1, 4}), Cw({2, 5, 1, 3}), o({2, 5, 6}), h({3, 6, 4}), Bg({2, 5, 4, 4});
  selective_scan_args<float> a;
  a.x = c.view<3>(), a.dt = c.view<3>(), a.A = A.view<2>(), a.B = B.view<4>(), a.C = Cw.view<4>(), a.o = o.view<3>();
  CHECK_THROWS_WITH(selective_scan(a), "selective_scan: argument 'C' has shape [2,5,1,3], expected [2,5,1,4]");
  a.C = B.view<4>();
  CHECK_NOTHROW(selective_scan(a));
  a.initial_state = h.view<3>();
  CHECK_THROWS_WITH(selective_scan(a), "selective_scan: argument 'initial_state' has shape [3,6,4], expected [2,6,4]");
  a.initial_state = {};
  a.B = Bg.view<4>();
  a.C = Bg.view<4>();
  CHECK_THROWS_WITH(selective_scan(a), "selective_scan: channels D of 'x' (6) must be a multiple of 4");
  a.B = a.C = B.view<4>();
  tensor<float> D({5});
  a.D = D.view<1>();
  CHECK_THROWS_AS(selective_scan(a), shape_error);
  a.D = {};
  CHECK_THROWS_WITH(selective_scan(a, {form::parallel}),
                    "selective_scan: form 'parallel' is not available (forms: recurrent, chunked)");
  CHECK_THROWS_AS(selective_scan(a, {form::chunked, -3}), option_error);
}

TEST_CASE("selective_scan at benchmark scale matches the reference", "[selective_scan][.long]") {
  // full scale (SEQMIX_TEST_SCALE=full): the benchmark shape T=2048, D=1536, N=16
  const index_t L = full_scale() ? 2048 : 512, D = full_scale() ? 1536 : 96;
  const auto c = make_case({.L = L, .D = D, .N = 16, .G = 1});
  auto [ro, rh] = run_ss<double>(c, true);
  for (const auto& opt : {run_options{form::recurrent, 0, 2}, run_options{form::chunked, 0, 2},
                          run_options{form::chunked, 100, 1}}) {
    CAPTURE(describe(opt));
    auto [o, h] = run_ss<float>(c, false, opt);
    CHECK(max_rel_error(o, ro) < 1e-4);  // long accumulations: a looser float bound
    CHECK(max_rel_error(h, rh) < 1e-4);
  }
}
