#pragma once
// Shared pieces of the `seqmix-run --mixer` entries: configuration from the safetensors
// metadata, the input x, loading every parameter by its state_dict name with its exact shape,
// running each sequence of the batch from a fresh state (forward, or token by token with
// --step), and the --repeat report.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <initializer_list>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "registry.hpp"

namespace seqmix::tool {

// ---- metadata (strings, as PyTorch exporters write them: "4", "2.0", "1e-05", "True") ----
// Python's "None" (str() of a constructor argument left at None) reads as absent: the default.
inline std::string meta_string(const io::safetensors& in, const std::string& key) {
  auto it = in.metadata.find(key);
  return it == in.metadata.end() || it->second == "None" ? std::string() : it->second;
}
// A number; `def` when the key is absent; option_error naming the mixer and key otherwise.
inline double meta_number(const io::safetensors& in, const std::string& mixer, const std::string& key, double def) {
  const auto v = meta_string(in, key);
  if (v.empty()) return def;
  try {
    std::size_t used = 0;
    const double d = std::stod(v, &used);
    if (used == v.size() && std::isfinite(d)) return d;
  } catch (const std::exception&) {
  }
  throw option_error(mixer + ": metadata '" + key + "' must be a number, got '" + v + "'");
}
// A non-negative integer ("4" or "4.0").
inline std::size_t meta_size(const io::safetensors& in, const std::string& mixer, const std::string& key,
                             std::size_t def) {
  const double d = meta_number(in, mixer, key, double(def));
  if (d < 0 || d != std::floor(d) || d > 1e9)
    throw option_error(mixer + ": metadata '" + key + "' must be a non-negative integer, got '" +
                       meta_string(in, key) + "'");
  return static_cast<std::size_t>(d);
}
// 0/1 (or Python's False/True).
inline bool meta_flag(const io::safetensors& in, const std::string& mixer, const std::string& key, bool def) {
  const auto v = meta_string(in, key);
  if (v.empty()) return def;
  if (v == "1" || v == "true" || v == "True") return true;
  if (v == "0" || v == "false" || v == "False") return false;
  throw option_error(mixer + ": metadata '" + key + "' must be 0 or 1, got '" + v + "'");
}
// The model width when the metadata does not say: the last extent of x, else `def`.
inline std::size_t input_width(const io::safetensors& in, std::size_t def) {
  return in.contains("x") && !in.tensors.at("x").shape.empty() ? std::size_t(in.tensors.at("x").shape.back()) : def;
}

// x[B,T,d] (F32 or F64) as float.
inline tensor<float> mixer_input(const std::string& name, const io::safetensors& in, index_t d) {
  if (!in.contains("x")) throw shape_error(name + ": input tensor 'x' is missing (expected [B,T,d_model])");
  const auto& xs = in.tensors.at("x");
  if (xs.type == io::dtype::i64 || xs.shape.size() != 3 || xs.shape[2] != d)
    throw shape_error(name + ": argument 'x' has shape " + shape_to_string(std::span<const index_t>(xs.shape)) +
                      ", expected [?,?," + std::to_string(d) + "] (F32 or F64)");
  return xs.template as<float>();
}

// Every parameter of m from `in` by name; a missing or misshaped one is a shape_error naming it,
// and so is a tensor that is neither a parameter of this configuration nor one of `inputs`
// (e.g. a conv bias while the metadata says conv_bias = 0: a silent mismatch otherwise).
// Tensors named `expected.*` (a test vector's answers) are ignored, as for ops (OPS.md).
template <class M>
void load_mixer_parameters(const std::string& name, M& m, const io::safetensors& in,
                           std::initializer_list<std::string_view> inputs = {"x"}) {
  for (const auto& [tname, t] : in.tensors) {
    if (tname.starts_with("expected.") || m.params().contains(tname) ||
        std::find(inputs.begin(), inputs.end(), tname) != inputs.end())
      continue;
    throw shape_error(name + ": tensor '" + tname + "' " + shape_to_string(std::span<const index_t>(t.shape)) +
                      " is not a parameter of this configuration (expected none; check the metadata)");
  }
  for (auto& [pname, p] : m.params()) {
    if (!in.contains(pname))
      throw shape_error(name + ": parameter '" + pname + "' is missing (expected " +
                        shape_to_string(std::span<const index_t>(p.shape())) + ")");
    const auto& st = in.tensors.at(pname);
    if (st.type == io::dtype::i64) throw shape_error(name + ": parameter '" + pname + "' must be F32 or F64");
    if (st.shape != p.shape())
      throw shape_error(name + ": parameter '" + pname + "' has shape " +
                        shape_to_string(std::span<const index_t>(st.shape)) + ", expected " +
                        shape_to_string(std::span<const index_t>(p.shape())));
    p = st.template as<float>();
  }
}

// run() once, then `repeat` more times printing "median_ms=… tokens_per_s=…".
template <class F>
void run_and_report(F&& run, int repeat, double tokens, std::ostream& report) {
  run();
  if (repeat <= 0) return;
  std::vector<double> ms;
  for (int i = 0; i < repeat; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    run();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  const double med = ms.size() % 2 ? ms[ms.size() / 2] : 0.5 * (ms[ms.size() / 2 - 1] + ms[ms.size() / 2]);
  char line[160];
  std::snprintf(line, sizeof line, "median_ms=%.4f tokens_per_s=%.1f\n", med, med > 0 ? tokens / (med * 1e-3) : 0.0);
  report << line;
}

// The whole --mixer run for a mixer with the plain concept: y[B,T,d] into `out`.
template <class M>
void run_mixer_entry(const std::string& name, M& m, const io::safetensors& in, io::safetensors& out, bool step,
                     int repeat, std::ostream& report) {
  const index_t d = index_t(m.d_model());
  const auto x = mixer_input(name, in, d);
  load_mixer_parameters(name, m, in);
  const index_t B = x.extent(0), L = x.extent(1);
  tensor<float> y({B, L, d});
  run_and_report(
      [&] {
        for (index_t b = 0; b < B; ++b) {
          auto s = m.make_state();
          const float* xb = x.data() + b * L * d;
          float* yb = y.data() + b * L * d;
          if (step)
            for (index_t t = 0; t < L; ++t)
              m.step(std::span<const float>(xb + t * d, d), std::span<float>(yb + t * d, d), s);
          else
            m.forward(seq_cref<float>(xb, {L, d}), seq_ref<float>(yb, {L, d}), s);
        }
      },
      repeat, double(B * L), report);
  out.put("y", y);
}

}  // namespace seqmix::tool
