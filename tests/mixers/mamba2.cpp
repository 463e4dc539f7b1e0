// Mamba-2 mixer: splits == one forward == steps == prefill then decode; against a plain
// double-precision re-implementation of mamba2.Mamba2 (token by token, as its step);
// parameter names and init.
#include "mamba_support.hpp"
#include "seqmix/mixers/mamba2.hpp"

using namespace mamba_test;
namespace sm = seqmix::mixers;

namespace {
tensor<double> plain_mamba2(const sm::mamba2<double>& m, const tensor<double>& x) {
  const auto& P = m.params();
  const auto& cfg = m.config();
  const index_t L = x.extent(0), d = index_t(cfg.d_model), di = m.d_inner(), H = m.heads(),
                Pd = index_t(cfg.headdim), N = index_t(cfg.d_state), G = index_t(cfg.ngroups),
                W = index_t(cfg.d_conv), cd = m.conv_dim(), gs = index_t(cfg.norm_group_size);
  tensor<double> y({L, d});
  std::vector<double> win(std::size_t(cd * W), 0.0), S(std::size_t(H * Pd * N), 0.0);
  for (index_t t = 0; t < L; ++t) {
    const auto zx = matvec(P["in_proj.weight"], x.data() + t * d);  // z, x, B, C, dt
    std::vector<double> u(cd);
    for (index_t c = 0; c < cd; ++c) {
      for (index_t i = 0; i + 1 < W; ++i) win[c * W + i] = win[c * W + i + 1];
      win[c * W + W - 1] = zx[di + c];
      double acc = P["conv1d.bias"][c];
      for (index_t i = 0; i < W; ++i) acc += P["conv1d.weight"][c * W + i] * win[c * W + i];
      u[c] = silu(acc);
    }
    std::vector<double> ys(di);
    for (index_t h = 0; h < H; ++h) {
      const index_t g = h / (H / G);
      const double dt = softplus(zx[di + cd + h] + P["dt_bias"][h]);
      const double a = std::exp(dt * -std::exp(P["A_log"][h]));
      for (index_t p = 0; p < Pd; ++p) {
        const double xv = u[h * Pd + p];
        double acc = 0;
        for (index_t n = 0; n < N; ++n) {
          double& s = S[(h * Pd + p) * N + n];
          s = a * s + dt * xv * u[di + g * N + n];
          acc += s * u[di + G * N + g * N + n];
        }
        ys[h * Pd + p] = acc + P["D"][h] * xv;
      }
    }
    if (!cfg.norm_before_gate)
      for (index_t c = 0; c < di; ++c) ys[c] *= silu(zx[c]);
    for (index_t g0 = 0; g0 < di; g0 += gs) {
      double ss = 0;
      for (index_t c = g0; c < g0 + gs; ++c) ss += ys[c] * ys[c];
      const double r = 1.0 / std::sqrt(ss / double(gs) + cfg.norm_eps);
      for (index_t c = g0; c < g0 + gs; ++c) ys[c] *= r * P["norm.weight"][c];
    }
    if (cfg.norm_before_gate)
      for (index_t c = 0; c < di; ++c) ys[c] *= silu(zx[c]);
    const auto out = matvec(P["out_proj.weight"], ys.data());
    std::copy(out.begin(), out.end(), y.data() + t * d);
  }
  return y;
}

sm::mamba2_config small_config() {
  sm::mamba2_config cfg;
  cfg.d_model = 32, cfg.d_state = 16, cfg.headdim = 16, cfg.ngroups = 2, cfg.expand = 2, cfg.seed = 5;
  return cfg;  // d_inner 64, 4 heads, 2 groups
}
}  // namespace

TEMPLATE_TEST_CASE("mamba2 mixer: splits == one forward == steps == prefill then decode", "[mixers][mamba2]", float,
                   double) {
  const double tol = std::is_same_v<TestType, float> ? 3e-5 : 1e-11;
  auto cfg = small_config();
  for (std::size_t d_conv : {4, 3}) {
    CAPTURE(d_conv);
    cfg.d_conv = d_conv;
    sm::mamba2<TestType> m(cfg);
    check_consistency(m, 70, tol);
  }
}

TEST_CASE("mamba2 mixer matches a plain re-implementation of the module", "[mixers][mamba2]") {
  for (bool before : {false, true})
    for (std::size_t groups : {1, 2}) {
      CAPTURE(before, groups);
      auto cfg = small_config();
      cfg.ngroups = groups;
      cfg.norm_before_gate = before;
      cfg.norm_group_size = 16;  // 4 norm groups
      sm::mamba2<double> md(cfg);
      auto& D = md.params()["D"];
      for (index_t i = 0; i < D.size(); ++i) D[i] = 0.5 + 0.3 * double(i);
      auto& w = md.params()["norm.weight"];
      for (index_t i = 0; i < w.size(); ++i) w[i] = 1.0 + 0.01 * double(i);
      cfg.seed = 123;
      sm::mamba2<float> mf(cfg);
      copy_params(md, mf);
      const auto x = normal_tensor<double>({45, 32});
      const auto expect = plain_mamba2(md, x);
      CHECK(max_rel_error(forward_whole(md, x).y, expect) < 1e-11);
      CHECK(max_rel_error(forward_whole(mf, cast<float>(x)).y, expect) < 5e-5);
      CHECK(max_rel_error(forward_pieces(md, x, 0, 45).y, expect) < 1e-11);  // steps
    }
}

TEST_CASE("mamba2 mixer: parameters are named and initialised as the PyTorch module's", "[mixers][mamba2]") {
  sm::mamba2_config cfg;
  cfg.d_model = 64, cfg.d_state = 32, cfg.headdim = 32, cfg.ngroups = 1;
  sm::mamba2<float> m(cfg);
  const index_t di = 128, H = 4, cd = di + 64;
  const auto& p = m.params();
  CHECK(p.size() == 8);
  CHECK(p["in_proj.weight"].shape() == std::vector<index_t>{2 * di + 64 + H, 64});
  CHECK(p["conv1d.weight"].shape() == std::vector<index_t>{cd, 1, 4});
  CHECK(p["conv1d.bias"].shape() == std::vector<index_t>{cd});
  for (const char* n : {"dt_bias", "A_log", "D"}) CHECK(p[n].shape() == std::vector<index_t>{H});
  CHECK(p["norm.weight"].shape() == std::vector<index_t>{di});
  CHECK(p["out_proj.weight"].shape() == std::vector<index_t>{64, di});
  for (float a : p["A_log"].values()) {
    CHECK(std::exp(a) >= 1.0f * 0.999f);
    CHECK(std::exp(a) <= 16.0f * 1.001f);
  }
  for (float b : p["dt_bias"].values()) {
    CHECK(softplus(b) >= 0.001 * 0.999);
    CHECK(softplus(b) <= 0.1 * 1.001);
  }
  CHECK(m.make_state().ssm.shape() == std::vector<index_t>{1, H, 32, 32});
  CHECK(m.make_state().conv.shape() == std::vector<index_t>{1, cd, 3});
  CHECK_THROWS_AS(sm::mamba2<float>(sm::mamba2_config{.d_model = 10, .headdim = 64}), std::invalid_argument);
}
