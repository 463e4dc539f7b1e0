// Bad inputs at the API, for every op of the table (starting from its committed vectors):
// wrong rank, mismatched dimensions, non-divisible head groups, bad cu_seqlens (not
// monotone, not ending at T, out of range, with B > 1, state count mismatch) give exit 2 and
// a shape_error message; odd chunk sizes and NaN/Inf inputs never crash (NaN propagates).
#include <set>

#include "runner_testing.hpp"

using namespace seqmix;
using namespace seqmix::testing;

namespace {

// Runs and returns (result, OUT existed).
run_result run_bad(const std::string& op, const io::safetensors& in, std::vector<std::string> flags = {}) {
  return run_op(op, in, std::move(flags), nullptr, "bad");
}

void expect_shape_rejection(const run_result& r) {
  INFO("rc=" << r.rc << " stderr: " << r.err);
  CHECK(r.rc == 2);
  CHECK(r.err_lines() == 1);
  CHECK_FALSE(fs::exists(scratch("bad.out.safetensors")));
}

// Replaces a tensor's shape (data re-filled with small values of the same dtype).
void reshape(io::stored_tensor& t, std::vector<index_t> shape) {
  t.shape = std::move(shape);
  const auto n = static_cast<std::size_t>(t.count());
  if (t.type == io::dtype::f32) {
    std::vector<float> v(n, 0.25f);
    t.bytes.resize(n * 4);
    if (n) std::memcpy(t.bytes.data(), v.data(), t.bytes.size());
  } else {
    std::vector<double> v(n, 0.25);
    t.bytes.resize(n * 8);
    if (n) std::memcpy(t.bytes.data(), v.data(), t.bytes.size());
  }
}

std::vector<const vector_file*> varlen_vectors() {
  std::vector<const vector_file*> out;
  for (const auto& v : vector_files())
    if (v.data.contains("cu_seqlens") && tool::find_op(v.op)) out.push_back(&v);
  return out;
}

void set_cu(io::safetensors& in, std::vector<std::int64_t> cu) {
  const auto n = static_cast<index_t>(cu.size());
  in.tensors["cu_seqlens"] = io::stored_tensor::from(tensor<std::int64_t>({n}, std::move(cu)));
}

index_t total_steps(const io::safetensors& in) {
  const auto cu = in.tensors.at("cu_seqlens").as<std::int64_t>();
  return cu.values().back();
}

}  // namespace

TEST_CASE("every op rejects a wrong rank of any input", "[runner][bad_inputs]") {
  for (const auto& e : tool::op_table()) {
    const auto vs = vectors_of(e.name);
    REQUIRE_FALSE(vs.empty());
    const auto in = inputs_only(vs.front()->data);
    for (const auto& [name, t] : in.tensors)
      for (int extra : {1, 2}) {
        CAPTURE(e.name, name, extra);
        auto bad = in;
        auto s = t.shape;
        for (int i = 0; i < extra; ++i) s.push_back(1);
        reshape(bad.tensors.at(name), s);
        const auto r = run_bad(e.name, bad);
        expect_shape_rejection(r);
        CHECK(r.err.find("'" + name + "'") != std::string::npos);
        CHECK(r.err.find("shape") != std::string::npos);
      }
  }
}

TEST_CASE("every op rejects mismatched dimensions (B, T, H, K, V, D, N, ...)", "[runner][bad_inputs]") {
  // The base vectors use a different size for every dimension symbol, so a size shared by
  // two tensors is the same symbol: changing it in one tensor only must be rejected. A size
  // that no other tensor has is a free dimension (e.g. long_conv's L): it must not crash.
  for (const auto& e : tool::op_table()) {
    const auto in = inputs_only(vectors_of(e.name).front()->data);
    REQUIRE(vectors_of(e.name).front()->variant == "base");
    for (const auto& [name, t] : in.tensors)
      for (std::size_t d = 0; d < t.shape.size(); ++d) {
        const index_t s = t.shape[d];
        if (s <= 1) continue;
        bool shared = false;
        for (const auto& [other, u] : in.tensors)
          if (other != name && std::find(u.shape.begin(), u.shape.end(), s) != u.shape.end()) shared = true;
        for (index_t changed : {s + 1, s - 1}) {
          // the one relation that is not equality: attention's S >= T (fewer queries than
          // keys is a KV cache)
          if (e.name == "attention" && name == "q" && d == 1 && changed < s) continue;
          CAPTURE(e.name, name, d, s, changed, shared);
          auto bad = in;
          auto sh = t.shape;
          sh[d] = changed;
          reshape(bad.tensors.at(name), sh);
          const auto r = run_bad(e.name, bad);
          INFO("stderr: " << r.err);
          if (shared) {
            expect_shape_rejection(r);
            CHECK(r.err.find(e.name) != std::string::npos);
          } else {
            CHECK((r.rc == 0 || r.rc == 2));
          }
        }
      }
  }
}

TEST_CASE("head groups that do not divide are rejected", "[runner][bad_inputs]") {
  struct rule {
    const char* op;
    const char* tensor;
    std::size_t dim;  // the dimension made non-divisible
    std::vector<const char*> also;  // tensors sharing that dimension
  };
  // attention: HQ must be a multiple of H; ssd: H of G; selective_scan: D of G
  const std::vector<rule> rules = {{"attention", "k", 2, {"v"}}, {"ssd", "B", 2, {"C"}}, {"selective_scan", "B", 2, {"C"}}};
  for (const auto& ru : rules) {
    if (!tool::find_op(ru.op)) {
      FAIL_CHECK("op " << ru.op << " not in the table");
      continue;
    }
    const auto in = inputs_only(vectors_of(ru.op).front()->data);
    const index_t g = in.tensors.at(ru.tensor).shape[ru.dim];
    for (index_t bad_g : {g + 1, g * 2 + 1}) {
      CAPTURE(ru.op, bad_g);
      auto bad = in;
      for (const char* n : ru.also) {
        auto sh = bad.tensors.at(n).shape;
        sh[ru.dim] = bad_g;
        reshape(bad.tensors.at(n), sh);
      }
      auto sh = bad.tensors.at(ru.tensor).shape;
      sh[ru.dim] = bad_g;
      reshape(bad.tensors.at(ru.tensor), sh);
      expect_shape_rejection(run_bad(ru.op, bad));
    }
  }
}

TEST_CASE("bad cu_seqlens are rejected (every op that takes them)", "[runner][bad_inputs][varlen]") {
  const auto vs = varlen_vectors();
  REQUIRE(vs.size() >= 10);
  for (const vector_file* v : vs) {
    const auto in = inputs_only(v->data);
    const std::int64_t T = total_steps(in);
    const std::vector<std::vector<std::int64_t>> bad_cus = {
        {0, 5, 3, T},        // not monotone
        {0, 3, T - 1, T - 2},  // not monotone at the end
        {0, 3, 3, T - 1},    // not ending at T
        {0, 3, 3, T + 1},    // past T
        {1, 3, 3, T},        // not starting at 0
        {-1, 3, 3, T},       // negative
        {0, 3, 3, std::int64_t{1} << 62},  // far out of range
        {0, -4, 3, T},       // negative inside
        {T},                 // N = 0
    };
    for (const auto& cu : bad_cus) {
      CAPTURE(v->path.filename().string(), cu);
      auto bad = in;
      set_cu(bad, cu);
      const auto r = run_bad(v->op, bad);
      expect_shape_rejection(r);
      CHECK(r.err.find("cu_seqlens") != std::string::npos);
    }
    {  // a 2-d cu_seqlens, and an empty one
      CAPTURE(v->path.filename().string());
      auto bad = in;
      bad.tensors["cu_seqlens"] = io::stored_tensor::from(tensor<std::int64_t>({1, 4}, {0, 3, 3, T}));
      expect_shape_rejection(run_bad(v->op, bad));
      set_cu(bad, {});
      expect_shape_rejection(run_bad(v->op, bad));
    }
    // with cu_seqlens the initial state has one row per sequence: 3 here; 2 or 4 is rejected
    if (in.contains("initial_state"))
      for (index_t n : {2, 4}) {
        CAPTURE(v->path.filename().string(), n);
        auto bad = in;
        auto sh = bad.tensors.at("initial_state").shape;
        sh[0] = n;
        reshape(bad.tensors.at("initial_state"), sh);
        expect_shape_rejection(run_bad(v->op, bad));
      }
  }
  // cu_seqlens with batch > 1
  for (const auto& e : tool::op_table()) {
    if (e.inputs.find("cu_seqlens") == std::string::npos) continue;
    auto in = inputs_only(vectors_of(e.name).front()->data);
    index_t T = -1;
    for (const auto& [n, t] : in.tensors)
      if (t.shape.size() >= 3) T = t.shape[1];
    CAPTURE(e.name);
    set_cu(in, {0, 2, T});
    expect_shape_rejection(run_bad(e.name, in));
  }
}

TEST_CASE("odd chunk sizes either work or are rejected with exit 2; never crash", "[runner][bad_inputs]") {
  for (const auto& v : vector_files()) {
    const tool::op_entry* e = tool::find_op(v.op);
    if (!e) continue;
    const auto in = inputs_only(v.data);
    for (form f : e->forms)
      for (const char* chunk : {"1", "2", "3", "5", "16", "1000000"}) {
        CAPTURE(v.path.filename().string(), to_string(f), chunk);
        io::safetensors out;
        const auto r = run_op(v.op, in, {"--form", std::string(to_string(f)), "--chunk", chunk}, &out, "chunk");
        INFO("stderr: " << r.err);
        CHECK((r.rc == 0 || r.rc == 2));
        if (r.rc == 2) CHECK(r.err_lines() == 1);
        if (r.rc == 0) {  // a chunk size that is accepted gives the right answer
          CHECK(max_rel_error(out.tensors.at("o").as<double>(), v.data.tensors.at("expected.o").as<double>()) < 2e-4);
        }
      }
  }
}

TEST_CASE("NaN and Inf inputs never crash; NaN propagates to the output", "[runner][bad_inputs][nan]") {
  for (const auto& e : tool::op_table()) {
    for (const vector_file* v : vectors_of(e.name)) {
      const auto in = inputs_only(v->data);
      for (const auto& [name, t] : in.tensors) {
        if (t.type == io::dtype::i64) continue;
        for (double special : {std::nan(""), double(INFINITY), -double(INFINITY)}) {
          for (bool whole : {true, false}) {
            CAPTURE(v->path.filename().string(), name, special, whole);
            auto bad = in;
            auto vals = bad.tensors.at(name).as<float>();
            if (whole) std::fill(vals.values().begin(), vals.values().end(), static_cast<float>(special));
            else if (vals.size() > 0) vals[0] = static_cast<float>(special);
            bad.tensors.at(name) = io::stored_tensor::from(vals);
            io::safetensors out;
            const auto r = run_op(e.name, bad, {}, &out, "nan");
            INFO("stderr: " << r.err);
            // an op may reject a value outside its domain (e.g. rwkv4's w > 0) with exit 2
            CHECK((r.rc == 0 || r.rc == 2));
            if (r.rc == 0 && whole && std::isnan(special)) {
              CHECK_FALSE(all_finite(out.tensors.at("o").as<double>()));
            }
          }
        }
      }
    }
  }
}
