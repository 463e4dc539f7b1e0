// attention: the reference against hand-computed cases; every form (float and double)
// against the double reference over causal/window/FoX/ALiBi/GQA/K≠V/S>T/varlen; the
// equivalences (GQA == repeated kv, FoX g=0 == plain, window >= T == no window, varlen ==
// separate calls); threads bitwise; large logits; errors.
#include "support/testing.hpp"
#include "seqmix/ops/attention.hpp"

using namespace seqmix;
using namespace seqmix::testing;

namespace {

struct attn_case {
  tensor<double> q, k, v, g, alibi;
  std::vector<std::int64_t> cu, cu_k;
  std::optional<double> scale;
  bool causal = true;
  index_t window = 0;
};

struct shape {
  index_t B = 1, T = 8, S = 8, HQ = 2, H = 2, K = 16, V = 16;
  bool gate = false, alibi = false;
};

attn_case make_case(const shape& s, double qk_range = 1.0) {
  attn_case c;
  c.q = random_tensor<double>({s.B, s.T, s.HQ, s.K}, -qk_range, qk_range);
  c.k = random_tensor<double>({s.B, s.S, s.H, s.K}, -qk_range, qk_range);
  c.v = random_tensor<double>({s.B, s.S, s.H, s.V});
  if (s.gate) c.g = random_tensor<double>({s.B, s.S, s.HQ}, -0.5, 0.0);
  if (s.alibi) c.alibi = random_tensor<double>({s.HQ}, 0.0, 0.3);
  return c;
}

// Runs the op (or the reference for `use_reference`) in precision T.
template <class T>
tensor<T> run_attention(const attn_case& c, const run_options& opt = {}, bool use_reference = false) {
  const auto q = cast<T>(c.q), k = cast<T>(c.k), v = cast<T>(c.v), g = cast<T>(c.g), al = cast<T>(c.alibi);
  tensor<T> o({c.q.extent(0), c.q.extent(1), c.q.extent(2), c.v.extent(3)});
  attention_args<T> a;
  a.q = q.template view<4>();
  a.k = k.template view<4>();
  a.v = v.template view<4>();
  a.o = o.template view<4>();
  a.g = g.template view<3>();
  a.alibi_slopes = al.template view<1>();
  a.cu_seqlens = c.cu;
  a.cu_seqlens_k = c.cu_k;
  a.scale = c.scale;
  a.causal = c.causal;
  a.window = c.window;
  if (use_reference) {
    validate(a);
    reference::attention(a);
  } else {
    attention(a, opt);
  }
  return o;
}

tensor<double> reference_of(const attn_case& c) { return run_attention<double>(c, {}, true); }

const form all_forms[] = {form::auto_, form::parallel, form::recurrent};

template <class T> constexpr double attn_tol = std::is_same_v<T, float> ? 3e-5 : 1e-11;

}  // namespace

TEST_CASE("reference attention matches hand-computed cases", "[attention][reference]") {
  // one head, K = V = 1, scale 1: o_0 = v_0; o_1 = (v_0 e^{q1 k0} + v_1 e^{q1 k1}) / (...)
  attn_case c;
  c.q = tensor<double>({1, 2, 1, 1}, {1.0, 2.0});
  c.k = tensor<double>({1, 2, 1, 1}, {0.0, 1.0});
  c.v = tensor<double>({1, 2, 1, 1}, {10.0, 20.0});
  c.scale = 1.0;
  auto o = reference_of(c);
  const double e2 = std::exp(2.0);
  CHECK(o[0] == Approx(10.0));
  CHECK(o[1] == Approx((10.0 + 20.0 * e2) / (1.0 + e2)));
  // non-causal: query 0 also sees key 1 (logit 1·1 = 1)
  c.causal = false;
  o = reference_of(c);
  CHECK(o[0] == Approx((10.0 + 20.0 * std::exp(1.0)) / (1.0 + std::exp(1.0))));
  // FoX: bias(1, 0) = g_1 = log 0.5; bias(1, 1) = 0
  c.causal = true;
  c.g = tensor<double>({1, 2, 1}, {std::log(0.25), std::log(0.5)});
  o = reference_of(c);
  CHECK(o[1] == Approx((10.0 * 0.5 + 20.0 * e2) / (0.5 + e2)));
  // ALiBi slope 0.7: bias(1, 0) = -0.7
  c.g = {};
  c.alibi = tensor<double>({1}, 0.7);
  o = reference_of(c);
  CHECK(o[1] == Approx((10.0 * std::exp(-0.7) + 20.0 * e2) / (std::exp(-0.7) + e2)));
  // window 1: each query sees only itself
  c.alibi = {};
  c.window = 1;
  o = reference_of(c);
  CHECK(o[0] == Approx(10.0));
  CHECK(o[1] == Approx(20.0));
  // cache: one query (T = 1) at position 1 of S = 2 sees both keys
  c.window = 0;
  c.q = tensor<double>({1, 1, 1, 1}, 2.0);
  o = reference_of(c);
  CHECK(o[0] == Approx((10.0 + 20.0 * e2) / (1.0 + e2)));
}

TEMPLATE_TEST_CASE("attention matches the double reference (every option, every form)", "[attention]", float,
                   double) {
  struct variant {
    const char* name;
    bool causal;
    index_t window;
    bool gate, alibi;
  };
  const variant variants[] = {{"causal", true, 0, false, false},   {"full", false, 0, false, false},
                              {"window", true, 13, false, false},  {"full+window", false, 9, false, false},
                              {"fox", true, 0, true, false},       {"alibi", true, 0, false, true},
                              {"fox+alibi+window", true, 21, true, true}, {"full+fox+alibi", false, 0, true, true}};
  for (const auto& var : variants)
    for (index_t T : {1, 5, 70, 131})
      for (index_t extra : {0, 37}) {
        shape s;
        s.T = T;
        s.S = T + extra;
        s.HQ = 4;
        s.H = 2;
        s.K = 24;
        s.V = 40;
        s.B = 2;
        s.gate = var.gate;
        s.alibi = var.alibi;
        auto c = make_case(s);
        c.causal = var.causal;
        c.window = var.window;
        const auto ref = reference_of(c);
        for (form f : all_forms)
          for (int threads : {1, 2}) {
            CAPTURE(var.name, T, extra, to_string(f), threads);
            const auto o = run_attention<TestType>(c, {f, 0, threads});
            CHECK(max_rel_error(o, ref) < attn_tol<TestType>);
          }
      }
}

TEMPLATE_TEST_CASE("attention: T from 1 to 1000, tiles not dividing T", "[attention]", float, double) {
  for (index_t T : {1, 2, 3, 15, 31, 33, 63, 64, 65, 127, 129, 255, 333, 1000}) {
    shape s;
    s.T = T;
    s.S = T;
    s.HQ = 2;
    s.H = 1;
    s.K = 64;
    s.V = 64;
    s.gate = T % 2 == 1;
    auto c = make_case(s);
    const auto ref = reference_of(c);
    for (form f : {form::parallel, form::recurrent}) {
      CAPTURE(T, to_string(f));
      CHECK(max_rel_error(run_attention<TestType>(c, {f, 0, 2}), ref) < attn_tol<TestType>);
    }
  }
}

TEMPLATE_TEST_CASE("attention: odd head widths", "[attention]", float, double) {
  for (index_t K : {1, 3, 17, 64, 130})
    for (index_t V : {1, 5, 64, 100}) {
      shape s;
      s.T = 45;
      s.S = 50;
      s.K = K;
      s.V = V;
      auto c = make_case(s);
      const auto ref = reference_of(c);
      for (form f : all_forms) {
        CAPTURE(K, V, to_string(f));
        CHECK(max_rel_error(run_attention<TestType>(c, {f, 0, 1}), ref) < attn_tol<TestType>);
      }
    }
}

TEST_CASE("attention: GQA/MQA equals repeated kv heads", "[attention][gqa]") {
  for (index_t H : {1, 2}) {
    shape s;
    s.T = 77;
    s.S = 90;
    s.HQ = 4;
    s.H = H;
    auto c = make_case(s);
    attn_case r = c;
    const index_t group = s.HQ / H;
    r.k = tensor<double>({1, s.S, s.HQ, s.K});
    r.v = tensor<double>({1, s.S, s.HQ, s.V});
    for (index_t t = 0; t < s.S; ++t)
      for (index_t h = 0; h < s.HQ; ++h)
        for (index_t d = 0; d < s.K; ++d) {
          r.k[(t * s.HQ + h) * s.K + d] = c.k[(t * H + h / group) * s.K + d];
          r.v[(t * s.HQ + h) * s.V + d] = c.v[(t * H + h / group) * s.V + d];
        }
    for (form f : all_forms) {
      CAPTURE(H, to_string(f));
      CHECK(max_rel_error(run_attention<float>(c, {f, 0, 1}), run_attention<float>(r, {f, 0, 1})) < 1e-6);
    }
    CHECK(max_rel_error(reference_of(c), reference_of(r)) < 1e-14);
  }
}

TEST_CASE("attention: FoX with g = 0 equals plain attention; window >= T equals no window",
          "[attention]") {
  shape s;
  s.T = 100;
  s.S = 100;
  auto c = make_case(s);
  for (form f : all_forms) {
    CAPTURE(to_string(f));
    const auto plain = run_attention<float>(c, {f, 0, 1});
    attn_case z = c;
    z.g = tensor<double>({1, s.S, s.HQ}, 0.0);
    CHECK(max_rel_error(run_attention<float>(z, {f, 0, 1}), plain) < 1e-6);
    attn_case w = c;
    w.window = 100;
    CHECK(max_rel_error(run_attention<float>(w, {f, 0, 1}), plain) < 1e-6);
    w.window = 1000;
    CHECK(max_rel_error(run_attention<float>(w, {f, 0, 1}), plain) < 1e-6);
    // and a small window differs (so the check can fail)
    w.window = 10;
    CHECK(max_rel_error(run_attention<float>(w, {f, 0, 1}), plain) > 1e-3);
  }
  CHECK(max_rel_error(reference_of(c), [&] { attn_case z = c; z.g = tensor<double>({1, s.S, s.HQ}, 0.0); return reference_of(z); }()) == 0.0);
}

TEST_CASE("attention: varlen equals separate calls", "[attention][varlen]") {
  shape s;
  s.T = 150;
  s.S = 150;
  s.HQ = 2;
  s.H = 1;
  s.gate = true;
  auto c = make_case(s);
  c.cu = {0, 1, 1, 70, 150};
  c.window = 40;
  for (form f : all_forms)
    for (int threads : {1, 2}) {
      CAPTURE(to_string(f), threads);
      const auto o = run_attention<double>(c, {f, 0, threads});
      CHECK(max_rel_error(o, reference_of(c)) < 1e-11);
      for (std::size_t i = 0; i + 1 < c.cu.size(); ++i) {
        const index_t b = c.cu[i], n = c.cu[i + 1] - b;
        if (n == 0) continue;
        attn_case one = c;
        one.cu.clear();
        auto rows = [&](const tensor<double>& t, index_t width) {
          tensor<double> r({1, n, t.extent(2), width});
          std::copy_n(t.data() + b * t.extent(2) * width, n * t.extent(2) * width, r.data());
          return r;
        };
        one.q = rows(c.q, s.K);
        one.k = rows(c.k, s.K);
        one.v = rows(c.v, s.V);
        one.g = tensor<double>({1, n, s.HQ});
        std::copy_n(c.g.data() + b * s.HQ, n * s.HQ, one.g.data());
        const auto oo = run_attention<double>(one, {f, 0, 1});
        for (index_t j = 0; j < oo.size(); ++j) CHECK(oo[j] == Approx(o[b * s.HQ * s.V + j]).epsilon(1e-12));
      }
    }
}

TEMPLATE_TEST_CASE("attention: varlen with key offsets (S != T) equals the reference and separate calls",
                   "[attention][varlen]", float, double) {
  // five sequences: (queries, keys) = (1, 5), (0, 0), (39, 85), (60, 60), (0, 20): each
  // sequence's queries are the last of its keys (a cache of the earlier ones)
  const std::vector<std::int64_t> cu{0, 1, 1, 40, 100, 100}, cu_k{0, 5, 5, 90, 150, 170};
  struct variant {
    bool causal;
    index_t window;
    bool gate, alibi;
  };
  for (const variant var : {variant{true, 0, true, false}, variant{true, 17, false, true},
                            variant{false, 0, false, false}, variant{false, 23, true, true}}) {
    shape s;
    s.T = 100;
    s.S = 170;
    s.HQ = 4;
    s.H = 2;
    s.K = 20;
    s.V = 12;
    s.gate = var.gate;
    s.alibi = var.alibi;
    auto c = make_case(s);
    c.cu = cu;
    c.cu_k = cu_k;
    c.causal = var.causal;
    c.window = var.window;
    const auto ref = reference_of(c);
    for (form f : all_forms)
      for (int threads : {1, 2}) {
        CAPTURE(var.causal, var.window, var.gate, to_string(f), threads);
        const auto o = run_attention<TestType>(c, {f, 0, threads});
        CHECK(max_rel_error(o, ref) < attn_tol<TestType>);
        // each sequence alone (no cu_seqlens: S_i keys, T_i queries)
        for (std::size_t i = 0; i + 1 < cu.size(); ++i) {
          const index_t q0 = cu[i], tq = cu[i + 1] - q0, k0 = cu_k[i], sk = cu_k[i + 1] - k0;
          if (tq == 0) continue;
          attn_case one = c;
          one.cu.clear();
          one.cu_k.clear();
          auto rows = [](const tensor<double>& t, index_t r0, index_t n) {
            std::vector<index_t> shp = t.shape();
            shp[1] = n;
            tensor<double> r(shp);
            const index_t row = t.size() / t.extent(1);
            std::copy_n(t.data() + r0 * row, n * row, r.data());
            return r;
          };
          one.q = rows(c.q, q0, tq);
          one.k = rows(c.k, k0, sk);
          one.v = rows(c.v, k0, sk);
          if (var.gate) one.g = rows(c.g, k0, sk);
          const auto oo = run_attention<TestType>(one, {f, 0, 1});
          double err = 0;
          for (index_t j = 0; j < oo.size(); ++j)
            err = std::max(err, std::abs(double(oo[j]) - double(o[q0 * s.HQ * s.V + j])));
          CHECK(err < 1e-5);
        }
      }
  }
  // without key offsets the key rows are the query rows: cu_seqlens_k == cu_seqlens is the same
  shape s;
  s.T = 50;
  s.S = 50;
  auto c = make_case(s);
  c.cu = {0, 20, 50};
  const auto plain = run_attention<TestType>(c, {form::parallel, 0, 1});
  c.cu_k = c.cu;
  CHECK(bitwise_equal(plain, run_attention<TestType>(c, {form::parallel, 0, 1})));
}

TEMPLATE_TEST_CASE("attention: threads give bitwise equal results", "[attention][threads]", float, double) {
  shape s;
  s.B = 2;
  s.T = 300;
  s.S = 333;
  s.HQ = 3;
  s.H = 1;
  s.gate = true;
  auto c = make_case(s);
  for (form f : all_forms) {
    CAPTURE(to_string(f));
    const auto o1 = run_attention<TestType>(c, {f, 0, 1});
    CHECK(bitwise_equal(o1, run_attention<TestType>(c, {f, 0, 2})));
    CHECK(bitwise_equal(o1, run_attention<TestType>(c, {f, 0, 3})));
  }
  // decode shape: one query against a long cache (split-K)
  shape d;
  d.T = 1;
  d.S = 5000;
  d.HQ = 2;
  d.H = 2;
  auto dc = make_case(d);
  for (form f : all_forms) {
    CAPTURE(to_string(f));
    const auto o1 = run_attention<TestType>(dc, {f, 0, 1});
    CHECK(bitwise_equal(o1, run_attention<TestType>(dc, {f, 0, 2})));
    CHECK(max_rel_error(o1, reference_of(dc)) < attn_tol<TestType>);
  }
}

TEMPLATE_TEST_CASE("attention: large logits (scale·q·k ≈ 80) stay finite", "[attention]", float, double) {
  shape s;
  s.T = 90;
  s.S = 90;
  s.K = 16;
  auto c = make_case(s, 1.0);
  // q = k = a constant direction with |scale·q·k| = 80 on the diagonal, plus noise
  for (auto& x : c.q.values()) x = 4.0 * (x > 0 ? 1 : -1) + 0.1 * x;
  for (auto& x : c.k.values()) x = 5.0 * (x > 0 ? 1 : -1) + 0.1 * x;
  c.scale = 1.0;  // |q·k| up to 16·4·5 = 320 > 80
  const auto ref = reference_of(c);
  for (form f : all_forms) {
    CAPTURE(to_string(f));
    const auto o = run_attention<TestType>(c, {f, 0, 1});
    CHECK(all_finite(o));
    CHECK(max_rel_error(o, ref) < attn_tol<TestType>);
  }
}

namespace {

index_t count_nan(const tensor<double>& t) {
  return index_t(std::count_if(t.values().begin(), t.values().end(), [](double x) { return std::isnan(x); }));
}

// The op's output has NaN exactly where the double reference has (max_rel_error is infinite
// otherwise) and matches it elsewhere.
template <class T>
void check_like_reference(const attn_case& c, const tensor<double>& ref) {
  for (form f : all_forms)
    for (int threads : {1, 2}) {
      CAPTURE(to_string(f), threads);
      const auto o = run_attention<T>(c, {f, 0, threads});
      CHECK(max_rel_error(o, ref) < attn_tol<T>);
    }
}

}  // namespace

TEMPLATE_TEST_CASE("attention: NaN in q, k, v, g reaches exactly the outputs that read it", "[attention][nan]",
                   float, double) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  struct variant {
    const char* name;
    bool causal;
    index_t window;
    bool gate, alibi;
  };
  const variant variants[] = {{"causal", true, 0, true, false},
                              {"window", true, 7, true, false},
                              {"full+window", false, 9, true, true},
                              {"full", false, 0, false, false}};
  for (const auto& var : variants) {
    CAPTURE(var.name);
    shape s;
    s.B = 2;
    s.T = 70;
    s.S = 80;  // query t at position t + 10
    s.HQ = 4;
    s.H = 2;
    s.K = 24;
    s.V = 20;
    s.gate = var.gate;
    s.alibi = var.alibi;
    auto base = make_case(s);
    base.causal = var.causal;
    base.window = var.window;
    const bool plain_causal = var.causal && var.window == 0;
    {  // q of (batch 1, query 33, head 2): that output row only
      auto c = base;
      c.q[((1 * s.T + 33) * s.HQ + 2) * s.K + 5] = nan;
      const auto ref = reference_of(c);
      CHECK(count_nan(ref) == s.V);
      check_like_reference<TestType>(c, ref);
    }
    {  // k of (batch 0, position 40, kv head 1): query heads 2, 3 at positions that see 40
      auto c = base;
      c.k[((0 * s.S + 40) * s.H + 1) * s.K + 3] = nan;
      const auto ref = reference_of(c);
      if (plain_causal) CHECK(count_nan(ref) == 40 * 2 * s.V);  // positions 40..79
      CHECK(count_nan(ref) > 0);
      CHECK(count_nan(ref) < ref.size() / 2);
      check_like_reference<TestType>(c, ref);
    }
    {  // v of (batch 1, position 50, kv head 0, column 7): column 7 of heads 0, 1 that see 50
      auto c = base;
      c.v[((1 * s.S + 50) * s.H + 0) * s.V + 7] = nan;
      const auto ref = reference_of(c);
      if (plain_causal) CHECK(count_nan(ref) == 30 * 2);  // positions 50..79
      CHECK(count_nan(ref) > 0);
      check_like_reference<TestType>(c, ref);
    }
    if (var.gate) {
      {  // g of (batch 0, position 45, head 3): the rows of head 3 whose bias sums it
        auto c = base;
        c.g[(0 * s.S + 45) * s.HQ + 3] = nan;
        const auto ref = reference_of(c);
        if (plain_causal) CHECK(count_nan(ref) == 35 * s.V);  // positions 45..79
        CHECK(count_nan(ref) > 0);
        check_like_reference<TestType>(c, ref);
      }
      {  // g of a sequence's first position enters no bias Σ_{j=s+1..p}: no effect
        auto c = base;
        c.g[(1 * s.S + 0) * s.HQ + 1] = nan;
        const auto ref = reference_of(c);
        CHECK(count_nan(ref) == 0);
        CHECK(max_rel_error(ref, reference_of(base)) < 1e-13);
        check_like_reference<TestType>(c, ref);
      }
    }
    {  // infinities: +inf in q gives ±inf scores (NaN after the softmax) in its row only
      auto c = base;
      c.q[((0 * s.T + 12) * s.HQ + 1) * s.K + 0] = std::numeric_limits<double>::infinity();
      c.k[((0 * s.S + 22) * s.H + 0) * s.K + 0] = 0.5;  // its own position: one +inf score
      const auto ref = reference_of(c);
      CHECK(count_nan(ref) > 0);
      CHECK(count_nan(ref) <= s.V);
      check_like_reference<TestType>(c, ref);
    }
  }
  {  // varlen (S != T): a NaN key of one sequence reaches no other sequence
    shape v;
    v.T = 60;
    v.S = 90;
    v.HQ = 2;
    v.H = 1;
    auto c = make_case(v);
    c.cu = {0, 20, 60};
    c.cu_k = {0, 30, 90};  // sequence 1: keys 30..89, queries 20..59 at its positions 20..59
    c.k[(40 + 5) * v.K + 2] = nan;  // sequence 1's key at its position 15: all its 40 rows see it
    const auto ref = reference_of(c);
    CHECK(count_nan(ref) == 40 * 2 * v.V);
    for (index_t j = 0; j < 20 * 2 * v.V; ++j) CHECK(std::isfinite(ref[j]));
    check_like_reference<TestType>(c, ref);
  }
  // decode: one query against a cache longer than a split-K chunk, NaN in the second chunk
  shape d;
  d.T = 1;
  d.S = 3000;
  d.HQ = 2;
  d.H = 1;
  d.gate = true;
  auto c = make_case(d);
  c.k[2500 * d.K + 1] = nan;
  auto ref = reference_of(c);
  CHECK(count_nan(ref) == 2 * d.V);
  check_like_reference<TestType>(c, ref);
  c = make_case(d);
  c.v[2999 * d.V + 3] = nan;
  ref = reference_of(c);
  CHECK(count_nan(ref) == 2);
  check_like_reference<TestType>(c, ref);
}

TEST_CASE("attention: decode in double (partial key blocks, windows, masked lanes)", "[attention][decode]") {
  // One query (and a few) against caches whose visible ranges end inside a SIMD block, so the
  // decode kernel's padding lanes hold -inf scores and its exp2 sees -inf (and the merge
  // sees empty chunks). Run under UBSan (float-cast-overflow) this must be clean: the double
  // exp2 converts no infinity to an integer.
  for (index_t S : {1, 7, 1000, 2050})
    for (index_t T : {1, 3})
      for (index_t window : {0, 1, 5, 37})
        for (bool causal : {true, false}) {
          if (T > S) continue;
          shape s;
          s.T = T;
          s.S = S;
          s.HQ = 4;
          s.H = 2;
          s.K = 13;
          s.V = 11;
          s.gate = window == 5;
          s.alibi = window == 37;
          auto c = make_case(s);
          c.causal = causal;
          c.window = window;
          CAPTURE(S, T, window, causal);
          const auto o = run_attention<double>(c, {form::recurrent, 0, 2});
          CHECK(all_finite(o));
          CHECK(max_rel_error(o, reference_of(c)) < attn_tol<double>);
        }
}

TEST_CASE("attention: T = 0 and error paths", "[attention][errors]") {
  tensor<float> q({1, 0, 2, 8}), k({1, 4, 2, 8}), v({1, 4, 2, 8}), o({1, 0, 2, 8});
  attention_args<float> a;
  a.q = q.view<4>();
  a.k = k.view<4>();
  a.v = v.view<4>();
  a.o = o.view<4>();
  CHECK_NOTHROW(attention(a));
  tensor<float> q2({1, 5, 2, 8}), o2({1, 5, 2, 8});
  a.q = q2.view<4>();
  a.o = o2.view<4>();
  CHECK_THROWS_WITH(attention(a), "attention: argument 'k' has shape [1,4,2,8], expected S >= T = 5 key positions");
  tensor<float> k3({1, 5, 3, 8}), v3({1, 5, 3, 8});
  a.k = k3.view<4>();
  a.v = v3.view<4>();
  CHECK_THROWS_AS(attention(a), shape_error);  // HQ = 2 not a multiple of H = 3
  tensor<float> k4({1, 5, 1, 8}), v4({1, 5, 1, 4}), bad_k({1, 5, 1, 7});
  a.k = bad_k.view<4>();
  CHECK_THROWS_WITH(attention(a), "attention: argument 'k' has shape [1,5,1,7], expected [1,?,?,8]");
  a.k = k4.view<4>();
  a.v = v4.view<4>();
  CHECK_THROWS_WITH(attention(a), "attention: argument 'o' has shape [1,5,2,8], expected [1,5,2,4]");
  tensor<float> o4({1, 5, 2, 4}), g({1, 5, 1}), al({3});
  a.o = o4.view<4>();
  CHECK_NOTHROW(attention(a));
  a.g = g.view<3>();
  CHECK_THROWS_WITH(attention(a), "attention: argument 'g' has shape [1,5,1], expected [1,5,2]");
  a.g = {};
  a.alibi_slopes = al.view<1>();
  CHECK_THROWS_AS(attention(a), shape_error);
  a.alibi_slopes = {};
  a.window = -1;
  CHECK_THROWS_AS(attention(a), option_error);
  a.window = 0;
  CHECK_THROWS_WITH(attention(a, {form::chunked, 0, 1}),
                    "attention: form 'chunked' is not available (forms: parallel, recurrent)");
  CHECK_THROWS_AS(attention(a, {form::parallel, 16, 1}), option_error);
  std::vector<std::int64_t> cu{0, 2, 5};
  a.cu_seqlens = cu;
  CHECK_NOTHROW(attention(a));
  tensor<float> k6({1, 6, 1, 8}), v6({1, 6, 1, 4});
  a.k = k6.view<4>();
  a.v = v6.view<4>();
  CHECK_THROWS_AS(attention(a), shape_error);  // varlen needs S == T
}

// ---- bad inputs at the API: one test per rule (issue #12). The C++ views fix the rank
// (a wrong rank does not compile); the runner's rank check is in tests/runner.
namespace {

// A valid call: B=1, T=5, S=6, HQ=4, H=2, K=8, V=4; each rule's test replaces one piece.
struct api_call {
  tensor<float> q{{1, 5, 4, 8}}, k{{1, 6, 2, 8}}, v{{1, 6, 2, 4}}, o{{1, 5, 4, 4}}, g, al;
  std::vector<std::int64_t> cu, cu_k;
  attention_args<float> a;
  run_options opt{form::auto_, 0, 1};
  // "shape_error: <message>", "option_error: <message>" or "ok"
  std::string result() {
    a.q = q.view<4>();
    a.k = k.view<4>();
    a.v = v.view<4>();
    a.o = o.view<4>();
    a.g = g.view<3>();
    a.alibi_slopes = al.view<1>();
    a.cu_seqlens = cu;
    a.cu_seqlens_k = cu_k;
    try {
      attention(a, opt);
    } catch (const shape_error& e) {
      return std::string("shape_error: ") + e.what();
    } catch (const option_error& e) {
      return std::string("option_error: ") + e.what();
    }
    return "ok";
  }
};

}  // namespace

TEST_CASE("attention API: the valid base call passes", "[attention][errors]") {
  api_call c;
  CHECK(c.result() == "ok");
  c.g = tensor<float>({1, 6, 4});
  c.al = tensor<float>({4});
  CHECK(c.result() == "ok");
}

TEST_CASE("attention API rejects a mismatched batch B", "[attention][errors]") {
  api_call c;
  c.k = tensor<float>({2, 6, 2, 8});
  CHECK(c.result() == "shape_error: attention: argument 'k' has shape [2,6,2,8], expected [1,?,?,8]");
  api_call d;
  d.o = tensor<float>({2, 5, 4, 4});
  CHECK(d.result() == "shape_error: attention: argument 'o' has shape [2,5,4,4], expected [1,5,4,4]");
}

TEST_CASE("attention API rejects mismatched T and S", "[attention][errors]") {
  api_call c;
  c.o = tensor<float>({1, 4, 4, 4});
  CHECK(c.result() == "shape_error: attention: argument 'o' has shape [1,4,4,4], expected [1,5,4,4]");
  api_call d;  // fewer keys than queries
  d.k = tensor<float>({1, 4, 2, 8});
  CHECK(d.result() == "shape_error: attention: argument 'k' has shape [1,4,2,8], expected S >= T = 5 key positions");
  api_call e;  // v with other key positions than k
  e.v = tensor<float>({1, 7, 2, 4});
  CHECK(e.result() == "shape_error: attention: argument 'v' has shape [1,7,2,4], expected [1,6,2,?]");
  api_call f;  // the gate has one entry per key position
  f.g = tensor<float>({1, 5, 4});
  CHECK(f.result() == "shape_error: attention: argument 'g' has shape [1,5,4], expected [1,6,4]");
}

TEST_CASE("attention API rejects mismatched heads H/HQ", "[attention][errors]") {
  api_call c;
  c.v = tensor<float>({1, 6, 1, 4});
  CHECK(c.result() == "shape_error: attention: argument 'v' has shape [1,6,1,4], expected [1,6,2,?]");
  api_call d;
  d.o = tensor<float>({1, 5, 2, 4});
  CHECK(d.result() == "shape_error: attention: argument 'o' has shape [1,5,2,4], expected [1,5,4,4]");
  api_call e;
  e.g = tensor<float>({1, 6, 2});
  CHECK(e.result() == "shape_error: attention: argument 'g' has shape [1,6,2], expected [1,6,4]");
  api_call f;
  f.al = tensor<float>({2});
  CHECK(f.result() == "shape_error: attention: argument 'alibi_slopes' has shape [2], expected [4]");
}

TEST_CASE("attention API rejects mismatched widths K/V", "[attention][errors]") {
  api_call c;
  c.k = tensor<float>({1, 6, 2, 7});
  CHECK(c.result() == "shape_error: attention: argument 'k' has shape [1,6,2,7], expected [1,?,?,8]");
  api_call d;
  d.o = tensor<float>({1, 5, 4, 5});
  CHECK(d.result() == "shape_error: attention: argument 'o' has shape [1,5,4,5], expected [1,5,4,4]");
  api_call e;
  e.q = tensor<float>({1, 5, 4, 0});
  e.k = tensor<float>({1, 6, 2, 0});
  CHECK(e.result() == "shape_error: attention: key width K of 'q' must be positive, got 0");
}

TEST_CASE("attention API rejects head groups that do not divide", "[attention][errors]") {
  api_call c;
  c.k = tensor<float>({1, 6, 3, 8});
  c.v = tensor<float>({1, 6, 3, 4});
  CHECK(c.result() == "shape_error: attention: query head count HQ of 'q' (4) must be a multiple of 3");
}

TEST_CASE("attention API rejects zero heads", "[attention][errors]") {
  api_call c;  // no kv heads
  c.k = tensor<float>({1, 6, 0, 8});
  c.v = tensor<float>({1, 6, 0, 4});
  CHECK(c.result() == "shape_error: attention: kv head count H of 'k' must be positive, got 0");
  api_call d;  // no query heads (0 is a multiple of any H)
  d.q = tensor<float>({1, 5, 0, 8});
  d.o = tensor<float>({1, 5, 0, 4});
  CHECK(d.result() == "shape_error: attention: query head count HQ of 'q' must be positive, got 0");
}

TEST_CASE("attention API rejects bad cu_seqlens", "[attention][errors]") {
  // (S == T here: without key offsets the sequences' keys are their query rows)
  auto with = [](std::vector<std::int64_t> cu) {
    api_call c;
    c.k = tensor<float>({1, 5, 2, 8});
    c.v = tensor<float>({1, 5, 2, 4});
    c.cu = std::move(cu);
    return c.result();
  };
  CHECK(with({0, 2, 5}) == "ok");
  CHECK(with({0, 3, 2, 5}) == "shape_error: attention: argument 'cu_seqlens' is not monotone at index 2 (3 > 2)");
  CHECK(with({0, -1, 5}) == "shape_error: attention: argument 'cu_seqlens' is not monotone at index 1 (0 > -1)");
  CHECK(with({0, 2, 6}) == "shape_error: attention: argument 'cu_seqlens' must end at T=5, got 6");
  CHECK(with({1, 5}) == "shape_error: attention: argument 'cu_seqlens' must start at 0, got 1");
  CHECK(with({5}) == "shape_error: attention: argument 'cu_seqlens' has shape [1], expected [N+1] with N >= 1");
  api_call b;  // batch 2
  b.q = tensor<float>({2, 5, 4, 8});
  b.k = tensor<float>({2, 5, 2, 8});
  b.v = tensor<float>({2, 5, 2, 4});
  b.o = tensor<float>({2, 5, 4, 4});
  b.cu = {0, 5};
  CHECK(b.result() == "shape_error: attention: argument 'cu_seqlens' requires batch 1, got batch 2");
  api_call s;  // S != T needs key offsets
  s.cu = {0, 2, 5};
  CHECK(s.result() == "shape_error: attention: argument 'k' has shape [1,6,2,8], expected S == T = 5 with "
                      "cu_seqlens and no key offsets cu_seqlens_k");
}

TEST_CASE("attention API rejects bad cu_seqlens_k", "[attention][errors]") {
  auto with = [](std::vector<std::int64_t> cu, std::vector<std::int64_t> cu_k) {
    api_call c;  // T = 5, S = 6
    c.cu = std::move(cu);
    c.cu_k = std::move(cu_k);
    return c.result();
  };
  CHECK(with({0, 2, 5}, {0, 2, 6}) == "ok");
  CHECK(with({0, 2, 5}, {0, 3, 6}) == "ok");
  CHECK(with({}, {0, 6}) == "shape_error: attention: argument 'cu_seqlens_k' needs 'cu_seqlens' (the query offsets)");
  CHECK(with({0, 2, 5}, {0, 6}) ==
        "shape_error: attention: argument 'cu_seqlens_k' has shape [2], expected [3] like 'cu_seqlens'");
  CHECK(with({0, 2, 5}, {1, 3, 6}) == "shape_error: attention: argument 'cu_seqlens_k' must start at 0, got 1");
  CHECK(with({0, 0, 5}, {0, 7, 6}) ==
        "shape_error: attention: argument 'cu_seqlens_k' is not monotone at index 2 (7 > 6)");
  CHECK(with({0, 2, 5}, {0, 2, 7}) == "shape_error: attention: argument 'cu_seqlens_k' must end at S=6, got 7");
  CHECK(with({0, 3, 5}, {0, 2, 6}) == "shape_error: attention: argument 'cu_seqlens_k' gives sequence 0 2 keys for "
                                      "its 3 queries, expected keys >= queries");
}

TEST_CASE("attention API rejects tile (chunk) sizes and unknown forms", "[attention][errors]") {
  for (index_t chunk : {1, 16, 64}) {
    api_call c;
    c.opt.chunk = chunk;
    CHECK(c.result().rfind("option_error: attention: a chunk size is not an option of this op", 0) == 0);
  }
  for (form f : {form::chunked, form::fft}) {
    api_call c;
    c.opt.kernel_form = f;
    CHECK(c.result() == "option_error: attention: form '" + std::string(to_string(f)) +
                            "' is not available (forms: parallel, recurrent)");
  }
}

TEST_CASE("attention API rejects bad attributes (window, scale)", "[attention][errors]") {
  api_call c;
  c.a.window = -1;
  CHECK(c.result() == "option_error: attention: attribute 'window' must be >= 0, got -1");
  for (double bad : {std::numeric_limits<double>::infinity(), std::numeric_limits<double>::quiet_NaN()}) {
    api_call d;
    d.a.scale = bad;
    CHECK(d.result() == "option_error: attention: attribute 'scale' must be finite");
  }
}

TEST_CASE("attention: long sizes against the reference", "[attention][.long]") {
  const index_t T = full_scale() ? 1000 : 400;
  for (bool causal : {true, false})
    for (index_t window : {0, 100}) {
      shape s;
      s.T = T;
      s.S = T + 50;
      s.HQ = 4;
      s.H = 2;
      s.K = 64;
      s.V = 48;
      s.gate = true;
      s.alibi = window > 0;
      auto c = make_case(s);
      c.causal = causal;
      c.window = window;
      const auto ref = reference_of(c);
      for (form f : all_forms) {
        CAPTURE(causal, window, to_string(f));
        CHECK(max_rel_error(run_attention<float>(c, {f, 0, 2}), ref) < attn_tol<float>);
      }
    }
}
