// seqmix-run --mixer against vectors made by running the reference PyTorch modules themselves
// (tests/vectors/make_reference_mixer_vectors.py: mamba, mamba2, rwkv7;
// tests/vectors/make_fla_mixer_vectors.py: fla's gla, deltanet, gated_deltanet layers; files
// carry __metadata__["reference"] with the repository and commit). Forward and --step, 1 and 2
// threads, within 2e-4 relative.
#include <set>

#include "runner_testing.hpp"

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
