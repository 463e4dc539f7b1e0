// seqmix-run --mixer attention against independent numpy vectors
// (tests/vectors/make_attention_mixer_vectors.py: the layer's forward in float64, one key
// at a time), by forward and by --step, 1 and 2 threads; errors: a missing or misshaped
// parameter, bad metadata, a sequence longer than max_position_embeddings.
#include "runner_testing.hpp"

using namespace seqmix;
using namespace seqmix::testing;

namespace {
const fs::path attn_mixer_vectors = fs::path(SEQMIX_VECTORS_DIR).parent_path() / "mixers";

run_result run_attn_mixer(const io::safetensors& in, std::vector<std::string> flags, io::safetensors* out = nullptr) {
  const auto in_path = scratch("attn_mixer.in.safetensors"), out_path = scratch("attn_mixer.out.safetensors");
  io::write_safetensors(in_path, in);
  fs::remove(out_path);
  std::vector<std::string> args = {"--mixer", "attention", in_path.string(), out_path.string()};
  args.insert(args.end(), flags.begin(), flags.end());
  auto r = run_tool(args);
  if (r.rc == 0 && out) *out = io::read_safetensors(out_path);
  return r;
}
}  // namespace

TEST_CASE("seqmix-run --mixer attention matches the vectors (forward and --step)", "[runner][attention]") {
  int seen = 0;
  for (const char* name : {"attention__base.safetensors", "attention__fox_gqa_window.safetensors"}) {
    const auto v = io::read_safetensors(attn_mixer_vectors / name);
    ++seen;
    for (bool step : {false, true})
      for (const char* threads : {"1", "2"}) {
        CAPTURE(name, step, threads);
        io::safetensors out;
        std::vector<std::string> flags = {"--threads", threads};
        if (step) flags.push_back("--step");
        const auto r = run_attn_mixer(inputs_only(v), flags, &out);
        INFO("stderr: " << r.err);
        REQUIRE(r.rc == 0);
        REQUIRE(out.contains("y"));
        CHECK(max_rel_error(out.tensors.at("y").as<double>(), v.tensors.at("expected.y").as<double>()) < 2e-4);
      }
  }
  CHECK(seen == 2);
}

TEST_CASE("seqmix-run --mixer attention rejects bad parameters and metadata", "[runner][attention][errors]") {
  const auto out_path = scratch("attn_mixer.out.safetensors");
  const auto base = inputs_only(io::read_safetensors(attn_mixer_vectors / "attention__fox_gqa_window.safetensors"));
  {
    auto in = base;
    in.tensors.erase("f_proj.bias");
    const auto r = run_attn_mixer(in, {});
    SEQMIX_CHECK_REJECTED(r, out_path);
    CHECK(r.err.find("'f_proj.bias' is missing") != std::string::npos);
  }
  {
    auto in = base;
    in.put("k_proj.weight", tensor<float>({24, 24}));
    const auto r = run_attn_mixer(in, {});
    SEQMIX_CHECK_REJECTED(r, out_path);
    CHECK(r.err.find("attention: parameter 'k_proj.weight' has shape [24,24], expected [12,24]") != std::string::npos);
  }
  {
    auto in = base;
    in.metadata["num_kv_heads"] = "3";  // 4 query heads are not a multiple of 3 kv heads
    SEQMIX_CHECK_REJECTED(run_attn_mixer(in, {}), out_path);
    in.metadata["num_kv_heads"] = "two";
    SEQMIX_CHECK_REJECTED(run_attn_mixer(in, {}), out_path);
  }
  {
    auto in = base;
    in.metadata["window_size"] = "0";
    in.metadata["max_position_embeddings"] = "10";  // the 23 tokens do not fit the cache
    const auto r = run_attn_mixer(in, {});
    SEQMIX_CHECK_REJECTED(r, out_path);
    CHECK(r.err.find("KV cache is full") != std::string::npos);
  }
}
