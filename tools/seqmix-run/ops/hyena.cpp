// seqmix-run entries of the Hyena family: long_conv.
// FLOPs (direct-equivalent, the same for every form): 2·B·D·Σ_{t<T} min(P+t+1, L)
// multiply-adds of the convolution, plus 2·B·T·D for the D skip when given.
#include <chrono>

#include "../registry.hpp"
#include "../mixer_runner.hpp"
#include "../runner.hpp"
#include "seqmix/mixers/hyena.hpp"
#include "seqmix/ops/long_conv.hpp"

namespace seqmix::tool {
namespace {

inline double long_conv_flops(index_t B, index_t T, index_t D, index_t L, index_t P, bool skip) {
  double taps = 0;  // Σ_t min(P+t+1, L)
  for (index_t t = 0; t < T; ++t) taps += double(std::min<index_t>(P + t + 1, L));
  return 2.0 * double(B) * double(D) * taps + (skip ? 2.0 * double(B * T * D) : 0.0);
}

SEQMIX_REGISTER_OP(make_entry(
    "long_conv", "u[B,T,D] h[D,L]; optional D[D] history[B,P,D]", "", {form::direct, form::fft, form::blocked},
    [](auto& in, const run_options& opt) {
      using T = typename std::remove_reference_t<decltype(in)>::value_type;
      long_conv_args<T> a;
      a.u = in.template required<3>("u");
      a.h = in.template required<2>("h");
      a.D = in.template optional<1>("D");
      a.history = in.template optional<3>("history");
      const index_t B = a.u.extent(0), L = a.u.extent(1), D = a.u.extent(2);
      a.o = in.template output<3>("o", {B, L, D});
      validate(a);  // errors surface before anything runs
      const index_t P = a.history.empty() ? 0 : a.history.extent(1);
      return prepared_call<T>{[a, opt] { long_conv(a, opt); },
                              long_conv_flops(B, L, D, a.h.extent(1), P, !a.D.empty()), double(B * L)};
    }));

// ---- mixer: --mixer hyena (safari HyenaOperator, one head) ------------------------------
// IN: x[B,T,d_model] and the module's state_dict (in_proj.*, short_filter.*, filter_fn.*,
// out_proj.*); metadata d_model, l_max, order (2), filter_order (64), short_filter_order (3),
// emb_dim (3), num_inner_mlps (2), modulate (1), normalized (0).
std::size_t hyena_meta(const io::safetensors& in, const std::string& key, std::size_t def) {
  auto it = in.metadata.find(key);
  if (it == in.metadata.end()) return def;
  try {
    std::size_t used = 0;
    const long long n = std::stoll(it->second, &used);
    if (used == it->second.size() && n >= 0) return static_cast<std::size_t>(n);
  } catch (const std::exception&) {
  }
  throw option_error("hyena: metadata '" + key + "' must be a non-negative integer, got '" + it->second + "'");
}

const bool hyena_mixer_registered = register_mixer(
    {"hyena",
     "safari HyenaOperator (num_heads 1): x[B,T,d_model], state_dict names; metadata d_model l_max order "
     "filter_order short_filter_order emb_dim num_inner_mlps modulate normalized",
     [](const io::safetensors& in, io::safetensors& out, bool step, int repeat, std::ostream& report) {
       if (!in.contains("x")) throw shape_error("hyena: input tensor 'x' is missing (expected [B,T,d_model])");
       const auto x = in.tensors.at("x").template as<float>();
       mixers::hyena_config c;
       c.d_model = hyena_meta(in, "d_model", x.rank() == 3 ? std::size_t(x.extent(2)) : 64);
       c.l_max = hyena_meta(in, "l_max", x.rank() == 3 ? std::size_t(std::max<index_t>(x.extent(1), 1)) : 1024);
       c.order = hyena_meta(in, "order", 2);
       c.filter_order = hyena_meta(in, "filter_order", 64);
       c.short_filter_order = hyena_meta(in, "short_filter_order", 3);
       c.emb_dim = hyena_meta(in, "emb_dim", 3);
       c.num_inner_mlps = hyena_meta(in, "num_inner_mlps", 2);
       c.modulate = hyena_meta(in, "modulate", 1) != 0;
       c.normalized = hyena_meta(in, "normalized", 0) != 0;
       if (c.d_model == 0 || c.l_max == 0 || c.filter_order == 0)
         throw option_error("hyena: metadata d_model, l_max, filter_order must be positive");
       std::unique_ptr<mixers::hyena<float>> mp;
       try {
         mp = std::make_unique<mixers::hyena<float>>(c);
       } catch (const shape_error&) {
         throw;
       } catch (const std::invalid_argument& e) {
         throw option_error(e.what());
       }
       auto& m = *mp;
       run_mixer_entry("hyena", m, in, out, step, repeat, report);
     }});

}  // namespace
}  // namespace seqmix::tool
