// seqmix-run --mixer against vectors made by running the reference PyTorch modules themselves
// (tests/vectors/make_reference_mixer_vectors.py: mamba, mamba2, rwkv7;
// tests/vectors/make_fla_mixer_vectors.py: fla's gla, deltanet, gated_deltanet layers; files
// carry __metadata__["reference"] with the repository and commit). Forward and --step, 1 and 2
// threads, within 2e-4 relative.
#include <random>
#include <set>

#include "runner_testing.hpp"
#include "seqmix/io/weights.hpp"
#include "seqmix/mixers/deltanet.hpp"
#include "seqmix/mixers/gated_deltanet.hpp"
#include "seqmix/mixers/gla.hpp"

using namespace seqmix;
using namespace seqmix::testing;

TEST_CASE("seqmix-run --mixer reproduces the reference PyTorch modules", "[runner][mixers][reference]") {
  const fs::path dir = fs::path(SEQMIX_VECTORS_DIR).parent_path() / "mixers";
  int seen = 0;
  std::set<std::string> mixers_seen;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const auto v = io::read_safetensors(entry.path());
    if (!v.metadata.count("reference")) continue;
    const std::string mixer = v.metadata.at("mixer");
    ++seen;
    mixers_seen.insert(mixer);
    for (bool step : {false, true})
      for (const char* threads : {"1", "2"}) {
        CAPTURE(entry.path().filename().string(), mixer, step, threads);
        const auto in_path = scratch("reference_mixer.in.safetensors"), out_path = scratch("reference_mixer.out.safetensors");
        io::write_safetensors(in_path, inputs_only(v));
        fs::remove(out_path);
        std::vector<std::string> args = {"--mixer", mixer, in_path.string(), out_path.string(), "--threads", threads};
        if (step) args.push_back("--step");
        const auto r = run_tool(args);
        INFO("stderr: " << r.err);
        REQUIRE(r.rc == 0);
        const auto out = io::read_safetensors(out_path);
        for (const auto& [name, t] : v.tensors) {
          if (name.rfind("expected.", 0) != 0) continue;
          const std::string got = name.substr(9);
          CAPTURE(got);
          REQUIRE(out.contains(got));
          CHECK(max_rel_error(out.tensors.at(got).as<double>(), t.as<double>()) < 2e-4);
        }
      }
  }
  CHECK(seen >= 10);  // two files for each mixer below at least
  for (const char* m : {"mamba", "mamba2", "rwkv7", "gla", "deltanet", "gated_deltanet"}) CHECK(mixers_seen.count(m) == 1);
}

TEST_CASE("seqmix-run --mixer names a tensor the configuration does not have", "[runner][mixers][reference]") {
  const fs::path dir = fs::path(SEQMIX_VECTORS_DIR).parent_path() / "mixers";
  auto in = inputs_only(io::read_safetensors(dir / "deltanet__fla_gate.safetensors"));
  in.metadata["conv_bias"] = "0";  // the file has q/k/v_conv1d.bias: no longer parameters
  const auto in_path = scratch("reference_mixer_extra.in.safetensors"), out_path = scratch("reference_mixer_extra.out.safetensors");
  io::write_safetensors(in_path, in);
  fs::remove(out_path);
  const auto r = run_tool({"--mixer", "deltanet", in_path.string(), out_path.string()});
  SEQMIX_CHECK_REJECTED(r, out_path);
  CHECK(r.err.find("_conv1d.bias' [") != std::string::npos);
  // and the gla entry refuses options of the fla layer it does not implement, by name
  auto g = inputs_only(io::read_safetensors(dir / "gla__fla.safetensors"));
  g.metadata["feature_map"] = "relu";
  io::write_safetensors(in_path, g);
  const auto r2 = run_tool({"--mixer", "gla", in_path.string(), out_path.string()});
  SEQMIX_CHECK_REJECTED(r2, out_path);
  CHECK(r2.err.find("feature_map") != std::string::npos);
}

namespace {
// The layer of an fla vector file, configured from its metadata (the constructor's names).
double meta_num(const io::safetensors& v, const std::string& key, double def) {
  auto it = v.metadata.find(key);
  return it == v.metadata.end() || it->second == "None" ? def : std::stod(it->second);
}

// y of every batch row, each fed to m.forward in random pieces (some empty) from a fresh state.
template <class M>
tensor<float> forward_in_pieces(const M& m, const tensor<float>& x, unsigned seed) {
  const index_t B = x.extent(0), L = x.extent(1), d = x.extent(2);
  tensor<float> y(x.shape());
  std::mt19937 gen(seed);
  std::uniform_int_distribution<index_t> len(0, 9);
  for (index_t b = 0; b < B; ++b) {
    auto s = m.make_state();
    for (index_t t = 0; t < L;) {
      const index_t n = std::min(L - t, len(gen));
      const index_t off = (b * L + t) * d;
      m.forward(seq_cref<float>(x.data() + off, {n, d}), seq_ref<float>(y.data() + off, {n, d}), s);
      t += n;
    }
  }
  return y;
}

// The fields DeltaNet and GatedDeltaNet share (fla's defaults but use_gate).
template <class Config>
Config delta_config(const io::safetensors& v, std::size_t d, std::size_t H, bool use_gate) {
  Config c;
  c.d_model = d;
  c.num_heads = H;
  c.use_gate = meta_num(v, "use_gate", use_gate) != 0;
  c.conv_size = std::size_t(meta_num(v, "conv_size", 4));
  c.conv_bias = meta_num(v, "conv_bias", 0) != 0;
  c.allow_neg_eigval = meta_num(v, "allow_neg_eigval", 0) != 0;
  return c;
}

template <class M>
void check_fla_splits(M&& m, const io::safetensors& v) {
  io::load_weights(m, inputs_only(v), "", false);
  const auto x = v.tensors.at("x").as<float>();
  for (unsigned seed : {1u, 2u}) {
    CAPTURE(seed);
    CHECK(max_rel_error(forward_in_pieces(m, x, seed), v.tensors.at("expected.y").as<double>()) < 2e-4);
  }
}
}  // namespace

TEST_CASE("the fla layers' outputs, forward over random splits", "[runner][mixers][reference]") {
  const fs::path dir = fs::path(SEQMIX_VECTORS_DIR).parent_path() / "mixers";
  int seen = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().filename().string().find("__fla") == std::string::npos) continue;
    const auto v = io::read_safetensors(entry.path());
    const std::string mixer = v.metadata.at("mixer");
    CAPTURE(entry.path().filename().string());
    ++seen;
    const auto d = std::size_t(meta_num(v, "hidden_size", 0));
    const auto H = std::size_t(meta_num(v, "num_heads", 0));
    if (mixer == "gla") {
      mixers::gla_config c;
      c.d_model = d;
      c.num_heads = H;
      c.expand_k = meta_num(v, "expand_k", 0.5);
      c.expand_v = meta_num(v, "expand_v", 1.0);
      c.gate_low_rank_dim = std::size_t(meta_num(v, "gate_low_rank_dim", 16));
      c.gate_logit_normalizer = meta_num(v, "gate_logit_normalizer", 16);
      if (v.metadata.count("clamp_min")) c.clamp_min = meta_num(v, "clamp_min", 0);
      c.use_output_gate = meta_num(v, "use_output_gate", 1) != 0;
      check_fla_splits(mixers::gla<float>(c), v);
    } else if (mixer == "deltanet") {
      auto c = delta_config<mixers::deltanet_config>(v, d, H, false);
      c.expand_k = meta_num(v, "expand_k", 1);
      c.expand_v = meta_num(v, "expand_v", 1);
      check_fla_splits(mixers::deltanet<float>(c), v);
    } else if (mixer == "gated_deltanet") {
      auto c = delta_config<mixers::gated_deltanet_config>(v, d, H, true);
      c.head_dim = std::size_t(meta_num(v, "head_dim", 256));
      c.expand_v = meta_num(v, "expand_v", 2);
      check_fla_splits(mixers::gated_deltanet<float>(c), v);
    } else {
      FAIL("unexpected mixer " << mixer);
    }
  }
  CHECK(seen >= 6);
}

TEST_CASE("seqmix-run --mixer reads Python's None in the metadata as the default", "[runner][mixers][reference]") {
  const fs::path dir = fs::path(SEQMIX_VECTORS_DIR).parent_path() / "mixers";
  for (const char* file : {"gla__fla.safetensors", "deltanet__fla.safetensors", "gated_deltanet__fla.safetensors"}) {
    CAPTURE(file);
    const auto v = io::read_safetensors(dir / file);
    auto in = inputs_only(v);
    // what str() gives for arguments left at None in the fla constructors
    for (const char* key : {"num_kv_heads", "feature_map", "clamp_min", "d_model", "num_v_heads", "layer_idx"})
      in.metadata[key] = "None";
    const auto in_path = scratch("reference_mixer_none.in.safetensors"), out_path = scratch("reference_mixer_none.out.safetensors");
    io::write_safetensors(in_path, in);
    fs::remove(out_path);
    const auto r = run_tool({"--mixer", v.metadata.at("mixer"), in_path.string(), out_path.string()});
    INFO("stderr: " << r.err);
    REQUIRE(r.rc == 0);
    CHECK(max_rel_error(io::read_safetensors(out_path).tensors.at("y").as<double>(),
                        v.tensors.at("expected.y").as<double>()) < 2e-4);
  }
}
