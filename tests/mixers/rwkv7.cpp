// rwkv7 time-mix: forward over splits == one forward == a loop of step (float, double),
// and one forward == a plain per-token re-implementation of RWKV-LM's RNN form
// (state V×K as in RWKV-LM: S ← S·diag(w) + S·(-κ̂)(κ̂⊙a)ᵀ + v kᵀ, out = S r).
#include "support/testing.hpp"
#include "seqmix/mixers/rwkv7.hpp"

using namespace seqmix;
using namespace seqmix::testing;
using seqmix::mixers::rwkv7_time_mix;
using seqmix::mixers::rwkv7_config;

namespace {
rwkv7_config small_config(std::size_t layer) {
  rwkv7_config c;
  c.n_embd = 48;
  c.head_size = 16;
  c.n_layer = 3;
  c.layer_id = layer;
  c.d_decay_lora = 8;
  c.d_aaa_lora = 8;
  c.d_mv_lora = 4;
  c.d_gate_lora = 12;
  c.seed = 3;
  return c;
}

// Every parameter random (the paper init zeroes the output projection and LoRA inputs).
template <class T>
void randomize(rwkv7_time_mix<T>& m) {
  std::mt19937_64 g(11);
  for (auto& [name, t] : m.params()) {
    const double s = name.find(".weight") != std::string::npos && name != "ln_x.weight" ? 0.3 : 0.5;
    std::uniform_real_distribution<double> u(-s, s);
    for (auto& v : t.values()) v = static_cast<T>(u(g) + (name == "ln_x.weight" ? 1.0 : 0.0));
  }
}

double sig(double x) { return 1.0 / (1.0 + std::exp(-x)); }

// Plain per-token RWKV_Tmix_x070 in double (RWKV-LM's RNN demo form).
tensor<double> plain_forward(const rwkv7_time_mix<double>& m, const tensor<double>& x, const tensor<double>& v_first_in,
                             tensor<double>& v_first_out) {
  const auto& P = m.params();
  const index_t L = x.extent(0), C = x.extent(1), N = index_t(m.config().head_size), H = C / N;
  auto p = [&](const char* n, index_t i) { return P.at(n)[i]; };
  auto mv = [&](const char* n, const std::vector<double>& in, index_t rows, index_t cols, bool linear_layer) {
    std::vector<double> out(linear_layer ? rows : cols, 0.0);
    if (linear_layer)  // W [out=rows, in=cols] · in
      for (index_t o = 0; o < rows; ++o)
        for (index_t i = 0; i < cols; ++i) out[o] += P.at(n)[o * cols + i] * in[i];
    else  // in · M, M [rows, cols]
      for (index_t i = 0; i < rows; ++i)
        for (index_t o = 0; o < cols; ++o) out[o] += in[i] * P.at(n)[i * cols + o];
    return out;
  };
  std::vector<double> prev(C, 0.0), S(H * N * N, 0.0);
  tensor<double> y({L, C});
  v_first_out = tensor<double>({L, C});
  for (index_t t = 0; t < L; ++t) {
    std::vector<double> xt(x.data() + t * C, x.data() + (t + 1) * C), xr(C), xw(C), xk(C), xv(C), xa(C), xg(C);
    for (index_t c = 0; c < C; ++c) {
      const double xx = prev[c] - xt[c];
      xr[c] = xt[c] + xx * p("x_r", c);
      xw[c] = xt[c] + xx * p("x_w", c);
      xk[c] = xt[c] + xx * p("x_k", c);
      xv[c] = xt[c] + xx * p("x_v", c);
      xa[c] = xt[c] + xx * p("x_a", c);
      xg[c] = xt[c] + xx * p("x_g", c);
    }
    prev = xt;
    auto r = mv("receptance.weight", xr, C, C, true), k = mv("key.weight", xk, C, C, true),
         v = mv("value.weight", xv, C, C, true);
    const index_t dw = P.at("w1").extent(1), da = P.at("a1").extent(1), dv = P.at("v1").extent(1),
                  dg = P.at("g1").extent(1);
    auto wl = mv("w1", xw, C, dw, false);
    for (auto& z : wl) z = std::tanh(z);
    auto w = mv("w2", wl, dw, C, false);
    auto a = mv("a2", mv("a1", xa, C, da, false), da, C, false);
    auto gl = mv("g1", xg, C, dg, false);
    for (auto& z : gl) z = sig(z);
    auto g = mv("g2", gl, dg, C, false);
    std::vector<double> kk(C);
    for (index_t c = 0; c < C; ++c) {
      a[c] = sig(p("a0", c) + a[c]);
      kk[c] = k[c] * p("k_k", c);
    }
    for (index_t h = 0; h < H; ++h) {
      double n2 = 0;
      for (index_t i = 0; i < N; ++i) n2 += kk[h * N + i] * kk[h * N + i];
      for (index_t i = 0; i < N; ++i) kk[h * N + i] /= std::max(std::sqrt(n2), 1e-12);
    }
    for (index_t c = 0; c < C; ++c) k[c] = k[c] * (1 + (a[c] - 1) * p("k_a", c));
    if (m.config().layer_id == 0) {
      for (index_t c = 0; c < C; ++c) v_first_out[t * C + c] = v[c];
    } else {
      auto vg = mv("v2", mv("v1", xv, C, dv, false), dv, C, false);
      for (index_t c = 0; c < C; ++c) v[c] += (v_first_in[t * C + c] - v[c]) * sig(p("v0", c) + vg[c]);
    }
    std::vector<double> out(C);
    for (index_t h = 0; h < H; ++h) {
      double* s = S.data() + h * N * N;  // s[i*N + j]: value i, key j
      std::vector<double> sa(N, 0.0);
      for (index_t i = 0; i < N; ++i)
        for (index_t j = 0; j < N; ++j) sa[i] += s[i * N + j] * (-kk[h * N + j]);
      for (index_t i = 0; i < N; ++i)
        for (index_t j = 0; j < N; ++j) {
          const double decay = std::exp(-std::exp(-0.5) * sig(p("w0", h * N + j) + w[h * N + j]));
          s[i * N + j] = s[i * N + j] * decay + sa[i] * kk[h * N + j] * a[h * N + j] + v[h * N + i] * k[h * N + j];
        }
      for (index_t i = 0; i < N; ++i) {
        double o = 0;
        for (index_t j = 0; j < N; ++j) o += s[i * N + j] * r[h * N + j];
        out[h * N + i] = o;
      }
      double mean = 0, var = 0;
      for (index_t i = 0; i < N; ++i) mean += out[h * N + i] / double(N);
      for (index_t i = 0; i < N; ++i) var += (out[h * N + i] - mean) * (out[h * N + i] - mean) / double(N);
      double rk = 0;
      for (index_t i = 0; i < N; ++i) rk += r[h * N + i] * k[h * N + i] * p("r_k", h * N + i);
      for (index_t i = 0; i < N; ++i) {
        const index_t c = h * N + i;
        out[c] = (out[c] - mean) / std::sqrt(var + 6.4e-4) * p("ln_x.weight", c) + p("ln_x.bias", c) + rk * v[c];
        out[c] *= g[c];
      }
    }
    auto yt = mv("output.weight", out, C, C, true);
    for (index_t c = 0; c < C; ++c) y[t * C + c] = yt[c];
  }
  return y;
}

template <class T>
struct run_result {
  tensor<T> y, v_first;
};

template <class T>
run_result<T> run_split(const rwkv7_time_mix<T>& m, const tensor<T>& x, const tensor<T>& vf_in, std::vector<index_t> cuts,
                        bool steps) {
  const index_t L = x.extent(0), C = x.extent(1);
  run_result<T> r{tensor<T>({L, C}), tensor<T>({L, C})};
  auto s = m.make_state();
  const bool first = m.config().layer_id == 0;
  if (steps) {
    tensor<T> vf({1, C});
    for (index_t t = 0; t < L; ++t) {
      if (!first) std::copy_n(vf_in.data() + t * C, C, vf.data());
      s.v_first = vf.template view<2>();
      m.step(std::span<const T>(x.data() + t * C, C), std::span<T>(r.y.data() + t * C, C), s);
      if (first) std::copy_n(vf.data(), C, r.v_first.data() + t * C);
    }
    return r;
  }
  for (std::size_t i = 0; i + 1 < cuts.size(); ++i) {
    const index_t t0 = cuts[i], n = cuts[i + 1] - cuts[i];
    tensor_view<T, 2> vf(first ? r.v_first.data() + t0 * C : const_cast<T*>(vf_in.data()) + t0 * C, {n, C});
    m.forward(seq_cref<T>(x.data() + t0 * C, {n, C}), seq_ref<T>(r.y.data() + t0 * C, {n, C}), s, vf);
  }
  return r;
}
}  // namespace

TEMPLATE_TEST_CASE("rwkv7 mixer: splits == one forward == steps", "[rwkv7][mixer]", float, double) {
  const double tol = std::is_same_v<TestType, float> ? 2e-5 : 1e-12;
  for (std::size_t layer : {0, 1}) {
    CAPTURE(layer);
    rwkv7_time_mix<TestType> m(small_config(layer));
    randomize(m);
    const index_t L = 37, C = 48;
    const auto x = cast<TestType>(random_tensor<double>({L, C}));
    const auto vf = cast<TestType>(random_tensor<double>({L, C}));
    const auto whole = run_split(m, x, vf, {0, L}, false);
    const auto parts = run_split(m, x, vf, {0, 1, 5, 20, 21, L}, false);
    const auto steps = run_split(m, x, vf, {}, true);
    CHECK(max_rel_error(parts.y, whole.y) < tol);
    CHECK(max_rel_error(steps.y, whole.y) < tol);
    CHECK(all_finite(whole.y));
    if (layer == 0) CHECK(max_rel_error(steps.v_first, whole.v_first) < tol);
    // prefill in two chunks, then decode token by token
    auto s = m.make_state();
    tensor<TestType> y({L, C}), vrow({1, C});
    tensor<TestType> vpre = layer == 0 ? tensor<TestType>({L, C}) : vf;
    for (auto [t0, n] : {std::pair<index_t, index_t>{0, 9}, {9, 11}})
      m.forward(seq_cref<TestType>(x.data() + t0 * C, {n, C}), seq_ref<TestType>(y.data() + t0 * C, {n, C}), s,
                tensor_view<TestType, 2>(vpre.data() + t0 * C, {n, C}));
    for (index_t t = 20; t < L; ++t) {
      std::copy_n(vf.data() + t * C, C, vrow.data());
      s.v_first = vrow.template view<2>();
      m.step(std::span<const TestType>(x.data() + t * C, C), std::span<TestType>(y.data() + t * C, C), s);
    }
    CHECK(max_rel_error(y, whole.y) < tol);
  }
}

TEMPLATE_TEST_CASE("rwkv7 mixer equals a plain per-token RWKV_Tmix_x070", "[rwkv7][mixer]", float, double) {
  const double tol = std::is_same_v<TestType, float> ? 1e-4 : 1e-10;
  for (std::size_t layer : {0, 2}) {
    CAPTURE(layer);
    rwkv7_time_mix<double> md(small_config(layer));
    randomize(md);
    rwkv7_time_mix<TestType> m(small_config(layer));
    for (auto& [name, t] : md.params()) m.params().assign(name, cast<TestType>(t));
    const index_t L = 20, C = 48;
    const auto x = random_tensor<double>({L, C});
    const auto vf = random_tensor<double>({L, C});
    tensor<double> vf_plain;
    const auto y_plain = plain_forward(md, x, vf, vf_plain);
    const auto got = run_split(m, cast<TestType>(x), cast<TestType>(vf), {0, L}, false);
    CHECK(max_rel_error(got.y, y_plain) < tol);
    if (layer == 0) CHECK(max_rel_error(got.v_first, vf_plain) < tol);
  }
}

TEST_CASE("rwkv7 mixer: parameters, paper init, errors", "[rwkv7][mixer]") {
  rwkv7_config c;
  c.n_embd = 128;
  c.head_size = 64;
  rwkv7_time_mix<float> m(c);
  CHECK(m.params().at("r_k").shape() == std::vector<index_t>{2, 64});
  CHECK(m.params().at("w1").shape() == std::vector<index_t>{128, 32});
  CHECK(m.params().at("g2").shape() == std::vector<index_t>{64, 128});  // 5·√128 ≈ 56.6 → 64
  CHECK(m.params().at("receptance.weight").shape() == std::vector<index_t>{128, 128});
  CHECK(m.params().at("x_r").shape() == std::vector<index_t>{1, 1, 128});
  CHECK(m.params().at("w0")[0] == Approx(-6.0 + 0.5 - 2.5).epsilon(1e-5));  // zigzag(0) = -1
  auto s = m.make_state();
  tensor<float> x({3, 128}), y({3, 128}), bad({3, 64});
  CHECK_NOTHROW(m.forward(x.cview<2>(), y.view<2>(), s));
  CHECK_THROWS_AS(m.forward(bad.cview<2>(), y.view<2>(), s), shape_error);
  c.layer_id = 1;
  rwkv7_time_mix<float> m1(c);
  auto s1 = m1.make_state();
  CHECK_THROWS_WITH(m1.forward(x.cview<2>(), y.view<2>(), s1), Catch::Contains("v_first"));
}
