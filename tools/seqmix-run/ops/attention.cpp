// seqmix-run entries of the softmax attention family: op `attention`, mixer
// `--mixer attention` (parameters by state_dict name, config from metadata).
#include <chrono>
#include <cstdio>
#include <optional>
#include <ostream>

#include "../registry.hpp"
#include "../runner.hpp"
#include "seqmix/mixers/attention.hpp"
#include "seqmix/ops/attention.hpp"

namespace seqmix::tool {
namespace {

SEQMIX_REGISTER_OP(make_entry(
    "attention",
    "q[B,T,HQ,K] k[B,S,H,K] v[B,S,H,V] (S >= T); optional g[B,S,HQ] alibi_slopes[HQ] cu_seqlens[N+1] (S == T)",
    "scale (1/sqrt K), causal (1), window (0 = none)", {form::parallel, form::recurrent},
    [](auto& in, const run_options& opt) {
      using T = typename std::remove_reference_t<decltype(in)>::value_type;
      attention_args<T> a;
      a.q = in.template required<4>("q");
      a.k = in.template required<4>("k");
      a.v = in.template required<4>("v");
      a.g = in.template optional<3>("g");
      a.alibi_slopes = in.template optional<1>("alibi_slopes");
      a.cu_seqlens = in.cu_seqlens();
      if (in.attr("scale", "") != "") a.scale = in.attr_double("scale", 0.0);
      const auto causal = in.attr_int("causal", 1);
      if (causal != 0 && causal != 1)
        throw option_error("attention: attribute 'causal' must be 0 or 1, got " + std::to_string(causal));
      a.causal = causal != 0;
      a.window = in.attr_int("window", 0);
      const index_t B = a.q.extent(0), L = a.q.extent(1), HQ = a.q.extent(2);
      a.o = in.template output<4>("o", {B, L, HQ, a.v.empty() ? 0 : a.v.extent(3)});
      validate(a);  // errors surface before anything runs
      return prepared_call<T>{[a, opt] { attention(a, opt); }, attention_flops(a), double(B * L)};
    }));

}  // namespace
}  // namespace seqmix::tool

// ---- mixer: seqmix-run --mixer attention ------------------------------------------------

namespace seqmix::tool {
namespace {

std::string attn_meta(const io::safetensors& in, const std::string& key) {
  auto it = in.metadata.find(key);
  return it == in.metadata.end() ? std::string() : it->second;
}
double attn_meta_number(const io::safetensors& in, const std::string& key, double def, bool integer) {
  const auto v = attn_meta(in, key);
  if (v.empty()) return def;
  try {
    std::size_t used = 0;
    const double d = std::stod(v, &used);
    if (used == v.size() && d >= 0 && (!integer || d == double(static_cast<long long>(d)))) return d;
  } catch (const std::exception&) {
  }
  throw option_error(std::string("attention: metadata '") + key + "' must be a non-negative " +
                     (integer ? "integer" : "number") + ", got '" + v + "'");
}
std::size_t attn_meta_size(const io::safetensors& in, const std::string& key, std::size_t def) {
  return static_cast<std::size_t>(attn_meta_number(in, key, double(def), true));
}
bool attn_meta_flag(const io::safetensors& in, const std::string& key, bool def) {
  const auto n = attn_meta_size(in, key, def ? 1 : 0);
  if (n > 1) throw option_error("attention: metadata '" + key + "' must be 0 or 1, got " + std::to_string(n));
  return n == 1;
}

void run_attention_mixer(const io::safetensors& in, io::safetensors& out, bool step, int repeat, std::ostream& report) {
  const std::string name = "attention";
  if (!in.contains("x")) throw shape_error(name + ": input tensor 'x' is missing (expected [B,T,d_model])");
  const auto x = in.tensors.at("x").as<float>();
  if (x.rank() != 3)
    throw shape_error(name + ": argument 'x' has shape " + shape_to_string(std::span<const index_t>(x.shape())) +
                      ", expected [B,T,d_model]");
  mixers::attention_config c;
  c.d_model = attn_meta_size(in, "hidden_size", std::size_t(x.extent(2)));
  c.n_heads = attn_meta_size(in, "num_heads", 4);
  c.n_kv_heads = attn_meta_size(in, "num_kv_heads", 0);
  c.head_dim = attn_meta_size(in, "head_dim", 0);
  c.rope_base = attn_meta_number(in, "rope_theta", 10000.0, false);
  c.rotary_fraction = attn_meta_number(in, "partial_rotary_factor", 1.0, false);
  c.rope = attn_meta_flag(in, "rope", true);
  c.forget_gate = attn_meta_flag(in, "forget_gate", false);
  c.window = attn_meta_size(in, "window_size", 0);
  c.max_len = attn_meta_size(in, "max_position_embeddings", std::max<std::size_t>(1, std::size_t(x.extent(1))));
  if (attn_meta_flag(in, "qkv_bias", false) || attn_meta_flag(in, "qk_norm", false))
    throw option_error("attention: qkv_bias and qk_norm are not supported");
  std::optional<mixers::attention<float>> m;
  try {
    m.emplace(c);
  } catch (const std::invalid_argument& e) {
    throw option_error(e.what());
  }
  const index_t d = index_t(m->d_model());
  if (x.extent(2) != d)
    throw shape_error(name + ": argument 'x' has shape " + shape_to_string(std::span<const index_t>(x.shape())) +
                      ", expected [?,?," + std::to_string(d) + "]");
  for (auto& [pname, p] : m->params()) {
    if (!in.contains(pname))
      throw shape_error(name + ": parameter '" + pname + "' is missing (expected " +
                        shape_to_string(std::span<const index_t>(p.shape())) + ")");
    const auto& st = in.tensors.at(pname);
    if (st.type == io::dtype::i64) throw shape_error(name + ": parameter '" + pname + "' must be F32 or F64");
    if (st.shape != p.shape())
      throw shape_error(name + ": parameter '" + pname + "' has shape " +
                        shape_to_string(std::span<const index_t>(st.shape)) + ", expected " +
                        shape_to_string(std::span<const index_t>(p.shape())));
    p = st.as<float>();
  }
  const index_t B = x.extent(0), L = x.extent(1);
  tensor<float> y({B, L, d});
  auto run = [&] {
    for (index_t b = 0; b < B; ++b) {
      auto s = m->make_state();
      const float* xb = x.data() + b * L * d;
      float* yb = y.data() + b * L * d;
      try {
        if (step)
          for (index_t t = 0; t < L; ++t)
            m->step(std::span<const float>(xb + t * d, std::size_t(d)), std::span<float>(yb + t * d, std::size_t(d)), s);
        else
          m->forward(seq_cref<float>(xb, {L, d}), seq_ref<float>(yb, {L, d}), s);
      } catch (const std::length_error& e) {
        throw option_error(e.what());
      }
    }
  };
  run();
  if (repeat > 0) {
    std::vector<double> ms;
    for (int i = 0; i < repeat; ++i) {
      const auto t0 = std::chrono::steady_clock::now();
      run();
      ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    std::sort(ms.begin(), ms.end());
    const double med = ms.size() % 2 ? ms[ms.size() / 2] : 0.5 * (ms[ms.size() / 2 - 1] + ms[ms.size() / 2]);
    char line[160];
    std::snprintf(line, sizeof line, "median_ms=%.4f tokens_per_s=%.1f\n", med, med > 0 ? double(B * L) / (med * 1e-3) : 0.0);
    report << line;
  }
  out.put("y", y);
}

const bool attention_mixer_registered = register_mixer(
    {"attention",
     "fla Attention / ForgettingAttention: x[B,T,d_model], q_proj k_proj v_proj o_proj (f_proj) .weight; metadata "
     "hidden_size num_heads num_kv_heads head_dim rope_theta partial_rotary_factor rope forget_gate window_size "
     "max_position_embeddings",
     run_attention_mixer});

}  // namespace
}  // namespace seqmix::tool
