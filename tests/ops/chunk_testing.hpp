#pragma once
// Shared test bodies of the chunk-engine ops (linear_attn, retention, simple_gla, gla, ssd).
// Each test file defines a traits struct:
//   static inputs make(index_t B, index_t T, index_t H, index_t K, index_t V);   // random, double
//   static std::vector<std::string> timed();          // inputs with time on axis 1
//   static std::vector<index_t> out_shape(const inputs&), state_shape(const inputs&, index_t n);
//   template <class T> static void call(const typed<T>& in, tensor<T>& o, const tensor<T>& s0,
//                                        tensor<T>& s1, std::span<const int64_t> cu,
//                                        const run_options& opt, bool reference);
// and calls the generic checks below.
#include <map>
#include <span>
#include <utility>
#include <string>
#include <vector>

#include "support/testing.hpp"

namespace seqmix::testing::chunk {

template <class T>
using typed = std::map<std::string, tensor<T>>;
using inputs = typed<double>;

template <class T>
typed<T> cast_all(const inputs& in) {
  typed<T> r;
  for (auto& [k, v] : in) r[k] = v.template cast<T>();
  return r;
}

template <class T>
struct result {
  tensor<T> o, s;
};

// Runs the op (reference=false, precision T) or the reference (T = double).
template <class Op, class T>
result<T> run(const inputs& in, const tensor<double>& s0, std::span<const std::int64_t> cu,
              const run_options& opt, bool reference = false) {
  const auto tin = cast_all<T>(in);
  const index_t n = cu.empty() ? Op::batch(in) : index_t(cu.size()) - 1;
  result<T> r{tensor<T>(Op::out_shape(in)), tensor<T>(Op::state_shape(in, n))};
  const tensor<T> s0t = s0.template cast<T>();
  Op::template call<T>(tin, r.o, s0t, r.s, cu, opt, reference);
  return r;
}

// Rows [t0, t0+len) along axis 1 of every timed input.
template <class Op>
inputs time_slice(const inputs& in, index_t t0, index_t len) {
  inputs r = in;
  for (const auto& name : Op::timed()) {
    const auto& src = in.at(name);
    auto shape = src.shape();
    const index_t L = shape[1];
    index_t inner = 1;
    for (std::size_t d = 2; d < shape.size(); ++d) inner *= shape[d];
    shape[1] = len;
    tensor<double> dst(shape);
    for (index_t b = 0; b < shape[0]; ++b)
      std::copy_n(src.data() + (b * L + t0) * inner, len * inner, dst.data() + b * len * inner);
    r[name] = dst;
  }
  return r;
}

// Every form and several chunk sizes (incl. ones not dividing T), float and double, against
// the double reference.
template <class Op, class T>
void check_forms(index_t H, index_t K, index_t V, double tolerance) {
  for (index_t L : {1, 5, 16, 47, 64, 130}) {
    const inputs in = Op::make(2, L, H, K, V);
    const auto s0 = random_tensor<double>(Op::state_shape(in, 2));
    const auto ref = run<Op, double>(in, s0, {}, {}, true);
    for (form f : {form::auto_, form::recurrent, form::chunked, form::parallel})
      for (int chunk : {0, 16, 32, 48, 64}) {
        if (f != form::chunked && chunk != 0) continue;
        CAPTURE(L, H, K, V, to_string(f), chunk);
        const auto r = run<Op, T>(in, s0, {}, run_options{f, chunk, 1});
        CHECK(max_rel_error(r.o, ref.o) < tolerance);
        CHECK(max_rel_error(r.s, ref.s) < tolerance);
      }
  }
}

// A split carrying the state equals one call; varlen equals separate calls; 1 vs 2 threads
// bitwise equal; T = 0 leaves the state unchanged.
template <class Op, class T>
void check_structure(index_t H, index_t K, index_t V, double tolerance) {
  for (form f : {form::auto_, form::recurrent, form::chunked, form::parallel}) {
    CAPTURE(to_string(f));
    const run_options opt{f, 0, 1};
    {  // splits
      const inputs in = Op::make(1, 100, H, K, V);
      const auto s0 = random_tensor<double>(Op::state_shape(in, 1));
      const auto whole = run<Op, T>(in, s0, {}, opt);
      const auto a = run<Op, T>(time_slice<Op>(in, 0, 37), s0, {}, opt);
      const auto b = run<Op, T>(time_slice<Op>(in, 37, 63), a.s.template cast<double>(), {}, opt);
      tensor<T> joined(whole.o.shape());
      const index_t row = whole.o.size() / 100;
      std::copy_n(a.o.data(), 37 * row, joined.data());
      std::copy_n(b.o.data(), 63 * row, joined.data() + 37 * row);
      // the split's carried state goes through T, so compare with the precision's tolerance
      CHECK(max_rel_error(joined, whole.o) < tolerance);
      CHECK(max_rel_error(b.s, whole.s) < tolerance);
    }
    {  // varlen
      const std::vector<std::int64_t> cu{0, 13, 13, 80, 81};
      const inputs in = Op::make(1, 81, H, K, V);
      const auto s0 = random_tensor<double>(Op::state_shape(in, 4));
      const auto packed = run<Op, T>(in, s0, cu, opt);
      const index_t row = packed.o.size() / 81, srow = packed.s.size() / 4;
      for (int s = 0; s < 4; ++s) {
        CAPTURE(s);
        const index_t b = cu[s], len = cu[s + 1] - cu[s];
        tensor<double> s0one(Op::state_shape(in, 1));
        std::copy_n(s0.data() + s * srow, srow, s0one.data());
        const auto one = run<Op, T>(time_slice<Op>(in, b, len), s0one, {}, opt);
        for (index_t i = 0; i < len * row; ++i) CHECK(one.o[i] == packed.o[b * row + i]);
        for (index_t i = 0; i < srow; ++i) CHECK(one.s[i] == packed.s[s * srow + i]);
      }
    }
    {  // threads: 1 vs 2, B*H = 1 and B*H > 1, bitwise
      for (index_t B : {1, 3}) {
        // B = 1, H = 1 with 800 steps: the two-pass path (chunks over threads) for chunked forms
        const inputs in = Op::make(B, B == 1 ? 800 : 300, B == 1 ? 1 : H, K, V);
        const auto s0 = random_tensor<double>(Op::state_shape(in, B));
        const auto one = run<Op, T>(in, s0, {}, run_options{f, 0, 1});
        const auto two = run<Op, T>(in, s0, {}, run_options{f, 0, 2});
        CAPTURE(B);
        CHECK(bitwise_equal(one.o, two.o));
        CHECK(bitwise_equal(one.s, two.s));
        const auto ref = run<Op, double>(in, s0, {}, {}, true);
        CHECK(max_rel_error(two.o, ref.o) < tolerance);
      }
    }
    {  // T = 0
      const inputs in = Op::make(2, 0, H, K, V);
      const auto s0 = random_tensor<double>(Op::state_shape(in, 2));
      const auto r = run<Op, T>(in, s0, {}, opt);
      CHECK(bitwise_equal(r.s, s0.template cast<T>()));
    }
  }
}

// The test traits every q/k/v op shares (q, k [B,T,H,K]; v, o [B,T,H,V]; states [N,H,K,V]):
// an op's traits derive from it and add its gates, timed() and call().
struct qkv_op {
  static inputs make_qkv(index_t B, index_t L, index_t H, index_t K, index_t V) {
    return {{"q", random_tensor<double>({B, L, H, K})}, {"k", random_tensor<double>({B, L, H, K})},
            {"v", random_tensor<double>({B, L, H, V})}};
  }
  static index_t batch(const inputs& in) { return in.at("q").extent(0); }
  static std::vector<index_t> out_shape(const inputs& in) { return in.at("v").shape(); }
  static std::vector<index_t> state_shape(const inputs& in, index_t n) {
    return {n, in.at("q").extent(2), in.at("q").extent(3), in.at("v").extent(3)};
  }
  // Points q, k, v, o, the states and cu_seqlens of op arguments at the test tensors.
  template <class Args, class T>
  static void bind(Args& a, const typed<T>& in, tensor<T>& o, const tensor<T>& s0, tensor<T>& s1,
                   std::span<const std::int64_t> cu) {
    a.q = in.at("q").template view<4>();
    a.k = in.at("k").template view<4>();
    a.v = in.at("v").template view<4>();
    a.o = o.template view<4>();
    a.initial_state = s0.template view<4>();
    a.final_state = s1.template view<4>();
    a.cu_seqlens = cu;
  }
};

// check_forms at the sizes every chunk op is tested with: several heads, a 64×64 state, and
// widths that are not a multiple of the vector width.
template <class Op, class T>
void check_standard_forms(double tolerance) {
  check_forms<Op, T>(2, 16, 8, tolerance);
  check_forms<Op, T>(1, 64, 64, tolerance);
  check_forms<Op, T>(1, 5, 3, tolerance);
}

// Gated ops (traits with a gate "g" drawn from [Op::g_lo, Op::g_hi]): log gates of -20 per
// step, 0, and both mixed stay finite and match the double reference in every form.
template <class Op, class T>
void check_extreme_gates(double tolerance) {
  for (auto [lo, hi] : {std::pair{-20.0, -20.0}, std::pair{0.0, 0.0}, std::pair{-20.0, 0.0}}) {
    Op::g_lo = lo;
    Op::g_hi = hi;
    const inputs in = Op::make(1, 150, 2, 32, 16);
    const auto s0 = random_tensor<double>(Op::state_shape(in, 1));
    const auto ref = run<Op, double>(in, s0, {}, {}, true);
    for (form f : {form::recurrent, form::chunked, form::parallel}) {
      CAPTURE(lo, hi, to_string(f));
      const auto r = run<Op, T>(in, s0, {}, run_options{f, 64, 1});
      CHECK(all_finite(r.o));
      CHECK(all_finite(r.s));
      CHECK(max_rel_error(r.o, ref.o) < tolerance);
      CHECK(max_rel_error(r.s, ref.s) < tolerance);
    }
  }
  Op::g_lo = -1.0;
  Op::g_hi = 0.0;
}

}  // namespace seqmix::testing::chunk
