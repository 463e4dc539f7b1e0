#pragma once
// Shared checks of the RWKV op tests (rwkv4..rwkv7). An op adaptor `Op` provides
//   name, time_inputs()       the inputs laid out [B,T,...] (sliced along time/batch)
//   state_shape(N, in)        shape of initial/final state for N sequences
//   out_shape(in)             shape of o
//   forms()                   the op's kernel forms
//   run<T>(in, s0, o, sN, cu, opt, ref)  one call (ref: the reference in T)
// Inputs are a map name -> tensor<double>; run casts them to T.
#include <map>
#include <string>
#include <vector>

#include "support/testing.hpp"

namespace seqmix::testing::rwkv {

using named = std::map<std::string, tensor<double>>;

// Rows [t0, t0+len) along dimension 1 of a [B,T,...] tensor.
inline tensor<double> slice_time(const tensor<double>& x, index_t t0, index_t len) {
  auto shape = x.shape();
  const index_t B = shape[0], L = shape[1];
  index_t inner = 1;
  for (std::size_t d = 2; d < shape.size(); ++d) inner *= shape[d];
  shape[1] = len;
  tensor<double> out(shape);
  for (index_t b = 0; b < B; ++b)
    std::copy_n(x.data() + (b * L + t0) * inner, len * inner, out.data() + b * len * inner);
  return out;
}

// Entry `i` of dimension 0, keeping the dimension (extent 1).
template <class T>
tensor<T> slice_first(const tensor<T>& x, index_t i) {
  auto shape = x.shape();
  const index_t inner = x.size() / shape[0];
  shape[0] = 1;
  tensor<T> out(shape);
  std::copy_n(x.data() + i * inner, inner, out.data());
  return out;
}

template <class Op>
named time_slice(const named& in, index_t t0, index_t len) {
  named out = in;
  for (const auto& n : Op::time_inputs()) out[n] = slice_time(in.at(n), t0, len);
  return out;
}

template <class Op>
named batch_slice(const named& in, index_t b) {
  named out = in;
  for (const auto& n : Op::time_inputs()) out[n] = slice_first(in.at(n), b);
  return out;
}

template <class T>
struct result {
  tensor<T> o, state;
};

// One call of the op (or of its reference) in precision T.
template <class Op, class T>
result<T> call(const named& in, const tensor<double>& s0, const run_options& opt = {}, bool ref = false,
               std::span<const std::int64_t> cu = {}) {
  const index_t N = cu.empty() ? in.at(Op::time_inputs()[0]).extent(0) : index_t(cu.size()) - 1;
  result<T> r{tensor<T>(Op::out_shape(in)), tensor<T>(Op::state_shape(N, in))};
  const tensor<T> s0t = cast<T>(s0);
  Op::template run<T>(in, s0t, r.o, r.state, cu, opt, ref);
  return r;
}

// Every form (and chunk sizes for chunked forms) against the double reference.
template <class Op, class T>
void check_against_reference(const named& in, const tensor<double>& s0, double tolerance) {
  const auto ref = call<Op, double>(in, s0, {}, true);
  for (form f : Op::forms()) {
    std::vector<int> chunks{0};
    if (f == form::chunked) chunks = {0, 16, 48, 64};  // 48, 64 do not divide T = 129
    for (int c : chunks)
      for (int threads : {1, 2}) {
        CAPTURE(to_string(f), c, threads);
        const auto got = call<Op, T>(in, s0, {f, c, threads});
        CHECK(max_rel_error(got.o, ref.o) < tolerance);
        CHECK(max_rel_error(got.state, ref.state) < tolerance);
      }
  }
}

// Pieces carrying the state equal one call, for every form.
template <class Op>
void check_splits(const named& in, const tensor<double>& s0, double tolerance) {
  const index_t L = in.at(Op::time_inputs()[0]).extent(1);
  for (form f : Op::forms()) {
    CAPTURE(to_string(f));
    const auto whole = call<Op, double>(in, s0, {f, 0, 1});
    std::vector<index_t> cuts{0, 1, L / 3, L / 3 + 5, L};
    tensor<double> state = s0;
    for (std::size_t c = 0; c + 1 < cuts.size(); ++c) {
      const index_t t0 = cuts[c], len = cuts[c + 1] - cuts[c];
      CAPTURE(t0, len);
      const auto part = call<Op, double>(time_slice<Op>(in, t0, len), state, {f, 0, 1});
      CHECK(max_rel_error(part.o, slice_time(whole.o, t0, len)) < tolerance);
      state = part.state;
    }
    CHECK(max_rel_error(state, whole.state) < tolerance);
  }
}

// cu_seqlens over a packed batch equals separate calls (bitwise: same kernel, same order).
template <class Op, class T>
void check_varlen(const named& in, const tensor<double>& s0, const std::vector<std::int64_t>& cu) {
  for (form f : Op::forms()) {
    CAPTURE(to_string(f));
    const auto packed = call<Op, T>(in, s0, {f, 0, 2}, false, cu);
    for (std::size_t s = 0; s + 1 < cu.size(); ++s) {
      CAPTURE(s);
      const auto one = call<Op, T>(time_slice<Op>(in, cu[s], cu[s + 1] - cu[s]), slice_first(s0, index_t(s)), {f, 0, 1});
      CHECK(bitwise_equal(one.o, cast<T>(slice_time(cast<double>(packed.o), cu[s], cu[s + 1] - cu[s]))));
      CHECK(bitwise_equal(one.state, slice_first(packed.state, index_t(s))));
    }
  }
}

// Thread counts give bitwise-identical results; T = 0 passes the state through.
template <class Op, class T>
void check_threads_and_empty(const named& in, const tensor<double>& s0) {
  for (form f : Op::forms()) {
    CAPTURE(to_string(f));
    const auto one = call<Op, T>(in, s0, {f, 0, 1});
    const auto two = call<Op, T>(in, s0, {f, 0, 2});
    CHECK(bitwise_equal(one.o, two.o));
    CHECK(bitwise_equal(one.state, two.state));
    const auto empty = call<Op, T>(time_slice<Op>(in, 0, 0), s0, {f, 0, 2});
    CHECK(empty.o.size() == 0);
    CHECK(bitwise_equal(empty.state, cast<T>(s0)));
  }
}

}  // namespace seqmix::testing::rwkv

namespace seqmix::testing::rwkv {

// initial_state and final_state may be one buffer (mixers pass their state twice).
template <class Op, class T>
void check_aliased_state(const named& in, const tensor<double>& s0) {
  const index_t B = in.at(Op::time_inputs()[0]).extent(0);
  for (form f : Op::forms()) {
    CAPTURE(to_string(f));
    const auto separate = call<Op, T>(in, s0, {f, 0, 2});
    tensor<T> o(Op::out_shape(in)), state = cast<T>(s0);
    Op::template run<T>(in, state, o, state, {}, {f, 0, 2}, false);
    (void)B;
    CHECK(bitwise_equal(o, separate.o));
    CHECK(bitwise_equal(state, separate.state));
  }
}

}  // namespace seqmix::testing::rwkv
