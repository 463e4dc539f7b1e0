// seqmix-run attention (the op entry): attributes (an empty `scale` is an error, not the
// default), varlen with key offsets cu_seqlens_k (S != T) equal to the op called directly,
// bad key offsets rejected with exit 2.
#include <random>

#include "runner_testing.hpp"
#include "seqmix/ops/attention.hpp"

using namespace seqmix;
using namespace seqmix::testing;

namespace {

tensor<double> uniform(std::vector<index_t> shape, unsigned seed) {
  tensor<double> t(std::move(shape));
  std::mt19937 gen(seed);
  std::uniform_real_distribution<double> u(-1, 1);
  for (auto& x : t.values()) x = u(gen);
  return t;
}

// T = 6 queries in two sequences (2, 4) against S = 9 keys (3, 6).
struct varlen_input {
  tensor<double> q = uniform({1, 6, 4, 8}, 1), k = uniform({1, 9, 2, 8}, 2), v = uniform({1, 9, 2, 5}, 3);
  std::vector<std::int64_t> cu{0, 2, 6}, cu_k{0, 3, 9};
  io::safetensors file() const {
    io::safetensors f;
    f.put("q", q);
    f.put("k", k);
    f.put("v", v);
    f.put("cu_seqlens", tensor<std::int64_t>({3}, std::vector<std::int64_t>(cu)));
    f.put("cu_seqlens_k", tensor<std::int64_t>({3}, std::vector<std::int64_t>(cu_k)));
    return f;
  }
  tensor<double> direct(std::optional<double> scale = {}) const {
    tensor<double> o({1, 6, 4, 5});
    attention_args<double> a;
    a.q = q.view<4>();
    a.k = k.view<4>();
    a.v = v.view<4>();
    a.o = o.view<4>();
    a.cu_seqlens = cu;
    a.cu_seqlens_k = cu_k;
    a.scale = scale;
    attention(a);
    return o;
  }
};

}  // namespace

TEST_CASE("seqmix-run attention: cu_seqlens_k (S != T) equals the op", "[runner][attention][varlen]") {
  const varlen_input in;
  for (const char* f : {"parallel", "recurrent"}) {
    CAPTURE(f);
    io::safetensors out;
    const auto r = run_op("attention", in.file(), {"--dtype", "f64", "--form", f}, &out, "attn_varlen");
    INFO("stderr: " << r.err);
    REQUIRE(r.rc == 0);
    CHECK(max_rel_error(out.tensors.at("o").as<double>(), in.direct()) < 1e-12);
  }
  // and the key offsets matter: without them S != T is rejected
  auto f = in.file();
  f.tensors.erase("cu_seqlens_k");
  const auto r = run_op("attention", f, {}, nullptr, "attn_varlen");
  SEQMIX_CHECK_REJECTED(r, scratch("attn_varlen.out.safetensors"));
  CHECK(r.err.find("cu_seqlens_k") != std::string::npos);
}

TEST_CASE("seqmix-run attention rejects bad cu_seqlens_k", "[runner][attention][errors]") {
  const varlen_input in;
  const std::vector<std::vector<std::int64_t>> bad = {{0, 3, 8}, {0, 1, 9}, {0, 9}, {1, 3, 9}, {0}};
  for (const auto& cu_k : bad) {
    CAPTURE(cu_k);
    auto f = in.file();
    f.put("cu_seqlens_k", tensor<std::int64_t>({index_t(cu_k.size())}, std::vector<std::int64_t>(cu_k)));
    const auto r = run_op("attention", f, {}, nullptr, "attn_badk");
    SEQMIX_CHECK_REJECTED(r, scratch("attn_badk.out.safetensors"));
    CHECK(r.err.find("'cu_seqlens_k'") != std::string::npos);
  }
}

TEST_CASE("seqmix-run attention: scale absent is 1/sqrt K, empty or not a number is exit 2",
          "[runner][attention][errors]") {
  const varlen_input in;
  {
    io::safetensors out;
    REQUIRE(run_op("attention", in.file(), {"--dtype", "f64"}, &out, "attn_scale").rc == 0);
    CHECK(max_rel_error(out.tensors.at("o").as<double>(), in.direct()) < 1e-12);
  }
  {
    auto f = in.file();
    f.metadata["scale"] = "0.25";
    io::safetensors out;
    REQUIRE(run_op("attention", f, {"--dtype", "f64"}, &out, "attn_scale").rc == 0);
    CHECK(max_rel_error(out.tensors.at("o").as<double>(), in.direct(0.25)) < 1e-12);
    CHECK(max_rel_error(out.tensors.at("o").as<double>(), in.direct()) > 1e-3);
  }
  for (const char* bad : {"", " ", "abc", "0.5x", "inf", "nan"}) {
    CAPTURE(bad);
    auto f = in.file();
    f.metadata["scale"] = bad;
    const auto r = run_op("attention", f, {}, nullptr, "attn_scale");
    SEQMIX_CHECK_REJECTED(r, scratch("attn_scale.out.safetensors"));
    CHECK(r.err.find("attribute 'scale'") != std::string::npos);
  }
}
