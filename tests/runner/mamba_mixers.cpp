// seqmix-run --mixer mamba|mamba2 against independent numpy vectors
// (tests/vectors/make_mamba_mixer_vectors.py: the mamba_ssm modules' forward in float64),
// by forward and by --step; errors: a missing or misshaped parameter, bad metadata.
#include "runner_testing.hpp"

using namespace seqmix;
using namespace seqmix::testing;

namespace {
const fs::path mixer_vectors = fs::path(SEQMIX_VECTORS_DIR).parent_path() / "mixers";

io::safetensors load(const std::string& mixer) {
  return io::read_safetensors(mixer_vectors / (mixer + "__base.safetensors"));
}

run_result run_mixer(const std::string& mixer, const io::safetensors& in, std::vector<std::string> flags,
                     io::safetensors* out = nullptr) {
  const auto in_path = scratch("mixer.in.safetensors"), out_path = scratch("mixer.out.safetensors");
  io::write_safetensors(in_path, in);
  fs::remove(out_path);
  std::vector<std::string> args = {"--mixer", mixer, in_path.string(), out_path.string()};
  args.insert(args.end(), flags.begin(), flags.end());
  auto r = run_tool(args);
  if (r.rc == 0 && out) *out = io::read_safetensors(out_path);
  return r;
}
}  // namespace

// Every vector of tests/vectors/mixers for mamba or mamba2 (the numpy ones above and any
// produced with the PyTorch modules themselves, e.g. mamba__torch*.safetensors).
TEST_CASE("seqmix-run --mixer mamba/mamba2 match the vectors (forward and --step)", "[runner][mamba]") {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(mixer_vectors))
    if (e.path().extension() == ".safetensors") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  int seen = 0;
  for (const auto& f : files) {
    const auto v = io::read_safetensors(f);
    const auto it = v.metadata.find("mixer");
    if (it == v.metadata.end() || (it->second != "mamba" && it->second != "mamba2")) continue;
    ++seen;
    for (bool step : {false, true})
      for (const char* threads : {"1", "2"}) {
        CAPTURE(f.filename().string(), step, threads);
        io::safetensors out;
        std::vector<std::string> flags = {"--threads", threads};
        if (step) flags.push_back("--step");
        const auto r = run_mixer(it->second, inputs_only(v), flags, &out);
        INFO("stderr: " << r.err);
        REQUIRE(r.rc == 0);
        REQUIRE(out.contains("y"));
        const auto y = out.tensors.at("y").as<double>(), want = v.tensors.at("expected.y").as<double>();
        CHECK(max_rel_error(y, want) < 2e-4);
      }
  }
  CHECK(seen >= 2);  // at least the numpy vectors of both mixers
}

TEST_CASE("seqmix-run --mixer mamba/mamba2 reject a missing or misshaped parameter", "[runner][mamba][errors]") {
  const auto out_path = scratch("mixer.out.safetensors");
  {
    auto in = inputs_only(load("mamba"));
    in.tensors.erase("dt_proj.bias");
    const auto r = run_mixer("mamba", in, {});
    SEQMIX_CHECK_REJECTED(r, out_path);
    CHECK(r.err.find("'dt_proj.bias' is missing") != std::string::npos);
  }
  {
    auto in = inputs_only(load("mamba2"));
    in.put("A_log", tensor<float>({5}));
    const auto r = run_mixer("mamba2", in, {});
    SEQMIX_CHECK_REJECTED(r, out_path);
    CHECK(r.err.find("mamba2: parameter 'A_log' has shape [5], expected [4]") != std::string::npos);
  }
  {
    auto in = inputs_only(load("mamba2"));
    in.metadata["headdim"] = "7";  // 32 channels are not a whole number of heads
    SEQMIX_CHECK_REJECTED(run_mixer("mamba2", in, {}), out_path);
    in.metadata["headdim"] = "eight";
    SEQMIX_CHECK_REJECTED(run_mixer("mamba2", in, {}), out_path);
  }
  {
    auto in = inputs_only(load("mamba"));
    in.put("x", tensor<float>({2, 3, 15}));
    const auto r = run_mixer("mamba", in, {});
    SEQMIX_CHECK_REJECTED(r, out_path);
    CHECK(r.err.find("'x'") != std::string::npos);
  }
}
