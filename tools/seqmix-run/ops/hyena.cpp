// seqmix-run entries of the Hyena family: long_conv.
// FLOPs (direct-equivalent, the same for every form): 2·B·D·Σ_{t<T} min(P+t+1, L)
// multiply-adds of the convolution, plus 2·B·T·D for the D skip when given.
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
const bool hyena_mixer_registered = register_mixer(
    {"hyena",
     "safari HyenaOperator (num_heads 1): x[B,T,d_model], state_dict names; metadata d_model l_max order "
     "filter_order short_filter_order emb_dim num_inner_mlps modulate normalized",
     [](const io::safetensors& in, io::safetensors& out, bool step, int repeat, std::ostream& report) {
       const std::string n = "hyena";
       if (!in.contains("x")) throw shape_error("hyena: input tensor 'x' is missing (expected [B,T,d_model])");
       const auto& xs = in.tensors.at("x").shape;
       mixers::hyena_config c;
       c.d_model = meta_size(in, n, "d_model", input_width(in, 64));
       c.l_max = meta_size(in, n, "l_max", xs.size() == 3 ? std::size_t(std::max<index_t>(xs[1], 1)) : 1024);
       c.order = meta_size(in, n, "order", 2);
       c.filter_order = meta_size(in, n, "filter_order", 64);
       c.short_filter_order = meta_size(in, n, "short_filter_order", 3);
       c.emb_dim = meta_size(in, n, "emb_dim", 3);
       c.num_inner_mlps = meta_size(in, n, "num_inner_mlps", 2);
       c.modulate = meta_flag(in, n, "modulate", true);
       c.normalized = meta_flag(in, n, "normalized", false);
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
       run_mixer_entry(n, m, in, out, step, repeat, report);
     }});

}  // namespace
}  // namespace seqmix::tool
