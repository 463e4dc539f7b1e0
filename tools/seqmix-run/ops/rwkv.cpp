// seqmix-run entries of the RWKV family (rwkv4, rwkv5, rwkv6, rwkv7).
// FLOPs per call (README, section RWKV): rwkv4 16·B·T·D (each exp counted as one);
// rwkv5/rwkv6 7·B·T·H·K·V; rwkv7 9·B·T·H·K·V.
#include <algorithm>
#include <cmath>

#include "../registry.hpp"
#include "seqmix/ops/rwkv4.hpp"
#include "seqmix/ops/rwkv5.hpp"
#include "seqmix/ops/rwkv6.hpp"
#include "seqmix/ops/rwkv7.hpp"
#include "seqmix/mixers/rwkv7.hpp"
#include "../mixer_runner.hpp"
#include "../runner.hpp"

namespace seqmix::tool {
namespace {

SEQMIX_REGISTER_OP(make_entry(
    "rwkv4", "k[B,T,D] v[B,T,D] w[D] (>0) u[D]; optional initial_state[N,3,D] (a, b, p) cu_seqlens[N+1]", "",
    {form::recurrent}, [](auto& in, const run_options& opt) {
      using T = typename std::remove_reference_t<decltype(in)>::value_type;
      rwkv4_args<T> a;
      a.k = in.template required<3>("k");
      a.v = in.template required<3>("v");
      a.w = in.template required<1>("w");
      a.u = in.template required<1>("u");
      a.initial_state = in.template optional<3>("initial_state");
      a.cu_seqlens = in.cu_seqlens();
      const index_t B = a.k.extent(0), L = a.k.extent(1), D = a.k.extent(2);
      a.o = in.template output<3>("o", {B, L, D});
      a.final_state = in.template output<3>("final_state", {in.sequence_count(B), 3, D});
      validate(a);
      return prepared_call<T>{[a, opt] { rwkv4(a, opt); }, 16.0 * B * L * D, double(B * L)};
    }));

SEQMIX_REGISTER_OP(make_entry(
    "rwkv5", "r[B,T,H,K] k[B,T,H,K] v[B,T,H,V] w[H,K] (log decay) u[H,K]; optional initial_state[N,H,K,V] cu_seqlens[N+1]",
    "scale (1)", {form::recurrent, form::chunked, form::parallel}, [](auto& in, const run_options& opt) {
      using T = typename std::remove_reference_t<decltype(in)>::value_type;
      rwkv5_args<T> a;
      a.r = in.template required<4>("r");
      a.k = in.template required<4>("k");
      a.v = in.template required<4>("v");
      a.w = in.template required<2>("w");
      a.u = in.template required<2>("u");
      a.initial_state = in.template optional<4>("initial_state");
      a.cu_seqlens = in.cu_seqlens();
      a.scale = static_cast<T>(in.attr_double("scale", 1.0));
      const index_t B = a.r.extent(0), L = a.r.extent(1), H = a.r.extent(2), K = a.r.extent(3), V = a.v.extent(3);
      a.o = in.template output<4>("o", {B, L, H, V});
      a.final_state = in.template output<4>("final_state", {in.sequence_count(B), H, K, V});
      validate(a);
      return prepared_call<T>{[a, opt] { rwkv5(a, opt); }, 7.0 * B * L * H * K * V, double(B * L)};
    }));

SEQMIX_REGISTER_OP(make_entry(
    "rwkv6", "r[B,T,H,K] k[B,T,H,K] v[B,T,H,V] w[B,T,H,K] (log decay) u[H,K]; optional initial_state[N,H,K,V] cu_seqlens[N+1]",
    "scale (1)", {form::recurrent, form::chunked, form::parallel}, [](auto& in, const run_options& opt) {
      using T = typename std::remove_reference_t<decltype(in)>::value_type;
      rwkv6_args<T> a;
      a.r = in.template required<4>("r");
      a.k = in.template required<4>("k");
      a.v = in.template required<4>("v");
      a.w = in.template required<4>("w");
      a.u = in.template required<2>("u");
      a.initial_state = in.template optional<4>("initial_state");
      a.cu_seqlens = in.cu_seqlens();
      a.scale = static_cast<T>(in.attr_double("scale", 1.0));
      const index_t B = a.r.extent(0), L = a.r.extent(1), H = a.r.extent(2), K = a.r.extent(3), V = a.v.extent(3);
      a.o = in.template output<4>("o", {B, L, H, V});
      a.final_state = in.template output<4>("final_state", {in.sequence_count(B), H, K, V});
      validate(a);
      return prepared_call<T>{[a, opt] { rwkv6(a, opt); }, 7.0 * B * L * H * K * V, double(B * L)};
    }));

SEQMIX_REGISTER_OP(make_entry(
    "rwkv7",
    "r[B,T,H,K] w[B,T,H,K] (log decay) k[B,T,H,K] a[B,T,H,K] b[B,T,H,K] v[B,T,H,V]; optional initial_state[N,H,K,V] "
    "cu_seqlens[N+1]",
    "scale (1/sqrt K)", {form::recurrent}, [](auto& in, const run_options& opt) {
      using T = typename std::remove_reference_t<decltype(in)>::value_type;
      rwkv7_args<T> a;
      a.r = in.template required<4>("r");
      a.w = in.template required<4>("w");
      a.k = in.template required<4>("k");
      a.a = in.template required<4>("a");
      a.b = in.template required<4>("b");
      a.v = in.template required<4>("v");
      a.initial_state = in.template optional<4>("initial_state");
      a.cu_seqlens = in.cu_seqlens();
      const double scale = in.attr_double("scale", NAN);
      if (!std::isnan(scale)) a.scale = static_cast<T>(scale);
      const index_t B = a.r.extent(0), L = a.r.extent(1), H = a.r.extent(2), K = a.r.extent(3), V = a.v.extent(3);
      a.o = in.template output<4>("o", {B, L, H, V});
      a.final_state = in.template output<4>("final_state", {in.sequence_count(B), H, K, V});
      validate(a);
      return prepared_call<T>{[a, opt] { rwkv7(a, opt); }, 9.0 * B * L * H * K * V, double(B * L)};
    }));

// --mixer rwkv7: RWKV-LM RWKV_Tmix_x070 (OPS.md mixer table).
const bool rwkv7_mixer_registered = register_mixer(
    {"rwkv7",
     "RWKV-LM RWKV_Tmix_x070: x[B,T,C], state_dict names; metadata n_embd dim_att head_size n_head layer_id "
     "ln_x_eps v_first_mode (produced: writes v_first; input: reads v_first[B,T,C]); LoRA sizes from w1/a1/v1/g1",
     [](const io::safetensors& in, io::safetensors& out, bool step, int repeat, std::ostream& report) {
       const std::string n = "rwkv7";
       mixers::rwkv7_config c;
       c.n_embd = meta_size(in, n, "n_embd", input_width(in, 64));
       c.head_size = meta_size(in, n, "head_size", 64);
       c.layer_id = meta_size(in, n, "layer_id", 0);
       c.n_layer = std::max<std::size_t>(c.layer_id + 1, 2);
       const std::size_t dim_att = meta_size(in, n, "dim_att", c.n_embd);
       if (dim_att != c.n_embd) throw option_error("rwkv7: dim_att must equal n_embd");
       if (c.head_size == 0 || c.n_embd % c.head_size != 0)
         throw option_error("rwkv7: head_size must divide n_embd");
       const std::size_t n_head = meta_size(in, n, "n_head", c.n_embd / c.head_size);
       if (n_head * c.head_size != c.n_embd) throw option_error("rwkv7: n_head·head_size must equal n_embd");
       auto lora = [&](const char* p) {
         return in.contains(p) && in.tensors.at(p).shape.size() == 2 ? std::size_t(in.tensors.at(p).shape[1]) : 0;
       };
       c.d_decay_lora = lora("w1");
       c.d_aaa_lora = lora("a1");
       c.d_mv_lora = lora("v1");
       c.d_gate_lora = lora("g1");
       c.ln_x_eps = meta_number(in, n, "ln_x_eps", c.ln_x_eps);
       std::string mode = meta_string(in, "v_first_mode");
       if (mode.empty()) mode = c.layer_id == 0 ? "produced" : "input";
       if (mode != "produced" && mode != "input")
         throw option_error("rwkv7: v_first_mode must be 'produced' or 'input', got '" + mode + "'");
       if ((mode == "produced") != (c.layer_id == 0))
         throw option_error("rwkv7: v_first_mode '" + mode + "' needs " +
                            (mode == "produced" ? "layer_id 0" : "layer_id > 0"));
       mixers::rwkv7_time_mix<float> m(c);
       const index_t C = index_t(c.n_embd);
       const auto x = mixer_input(n, in, C);
       load_mixer_parameters(n, m, in, {"x", "v_first"});
       const index_t B = x.extent(0), L = x.extent(1);
       tensor<float> vf({B, L, C});
       if (mode == "input") {
         if (!in.contains("v_first"))
           throw shape_error(n + ": input tensor 'v_first' is missing (expected [B,T,n_embd])");
         const auto& st = in.tensors.at("v_first");
         if (st.type == io::dtype::i64 || st.shape != std::vector<index_t>{B, L, C})
           throw shape_error(n + ": argument 'v_first' has shape " +
                             shape_to_string(std::span<const index_t>(st.shape)) + ", expected [" + std::to_string(B) +
                             "," + std::to_string(L) + "," + std::to_string(C) + "]");
         vf = st.template as<float>();
       }
       tensor<float> y({B, L, C});
       run_and_report(
           [&] {
             for (index_t b = 0; b < B; ++b) {
               auto s = m.make_state();
               const float* xb = x.data() + b * L * C;
               float* yb = y.data() + b * L * C;
               float* vb = vf.data() + b * L * C;
               if (step)
                 for (index_t t = 0; t < L; ++t) {
                   s.v_first = tensor_view<float, 2>(vb + t * C, {1, C});
                   m.step(std::span<const float>(xb + t * C, C), std::span<float>(yb + t * C, C), s);
                 }
               else
                 m.forward(seq_cref<float>(xb, {L, C}), seq_ref<float>(yb, {L, C}), s,
                           tensor_view<float, 2>(vb, {L, C}));
             }
           },
           repeat, double(B * L), report);
       out.put("y", y);
       if (mode == "produced") out.put("v_first", vf);
     }});

}  // namespace
}  // namespace seqmix::tool
