#pragma once
// The mixers in the comparison, each behind a small type-erased handle. Adding a mixer is
// one `add<...>` line in all_cases(): a factory at the given d_model (about the same
// parameter count as the others: each mixer's own standard expansion), its family, its
// core FLOPs at length T (the op's formula; projections are counted from the parameter
// count), and whether its prefill cost grows quadratically.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "seqmix/compose.hpp"
#include "seqmix/mixers.hpp"
#include "support/bench_util.hpp"

namespace seqmix::bench::compare {

struct instance {
  virtual ~instance() = default;
  virtual void reset() = 0;                                    // fresh state
  virtual void forward(seq_cref<float> x, seq_ref<float> y) = 0;  // continue the state
  virtual void step(row_cref<float> x, row_ref<float> y) = 0;
  virtual std::size_t parameter_count() = 0;
  virtual double state_bytes() const = 0;                       // state after the tokens seen
};

template <class M>
struct instance_of final : instance {
  M m;
  typename M::state_type s;
  std::function<double(const M&, const typename M::state_type&)> bytes;
  instance_of(M mixer, std::function<double(const M&, const typename M::state_type&)> b)
      : m(std::move(mixer)), s(m.make_state()), bytes(std::move(b)) {}
  void reset() override { s = m.make_state(); }
  void forward(seq_cref<float> x, seq_ref<float> y) override { m.forward(x, y, s); }
  void step(row_cref<float> x, row_ref<float> y) override { m.step(x, y, s); }
  std::size_t parameter_count() override {
    std::size_t n = 0;
    visit_parameters(m, "", [&](const std::string&, const auto& t) { n += std::size_t(t.size()); });
    return n;
  }
  double state_bytes() const override { return bytes(m, s); }
};

struct mixer_case {
  std::string name, family;
  std::function<std::unique_ptr<instance>()> make;
  std::function<double(index_t T)> core_flops;
  bool quadratic = false;
};

template <class M, class Make, class Bytes>
mixer_case make_case(std::string name, std::string family, Make make, Bytes bytes,
                     std::function<double(index_t)> core_flops, bool quadratic = false) {
  return {std::move(name), std::move(family),
          [make, bytes]() -> std::unique_ptr<instance> { return std::make_unique<instance_of<M>>(make(), bytes); },
          std::move(core_flops), quadratic};
}

inline std::vector<mixer_case> all_cases(std::size_t d) {
  const double D = double(d);
  std::vector<mixer_case> c;
  using namespace seqmix::mixers;
  using namespace seqmix::compose;
  c.push_back(make_case<linear_scan_mixer<float>>(
      "gated_scan", "diagonal", [d] { return linear_scan_mixer<float>({.d_model = d}); },
      [](const auto& m, const auto&) { return double(m.d_model()) * sizeof(float); },
      [D](index_t T) { return 5.0 * T * D; }));
  c.push_back(make_case<swiglu<float>>(
      "swiglu_ffn", "feed-forward", [d] { return swiglu<float>({.d_model = d}); },
      [](const auto&, const auto&) { return 0.0; }, [](index_t) { return 0.0; }));
  // families add their mixers here
  return c;
}

}  // namespace seqmix::bench::compare
