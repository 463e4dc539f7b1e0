// Determinism: for every op of the table, every form, float and double, the outputs are
// bitwise identical for 1, 2 and 3 threads and across repeated runs. Inputs: each op's
// committed vectors, plus its base vector tiled along time (T = 7 -> 133) so chunked and
// parallel forms have many chunks to split.
#include "runner_testing.hpp"

using namespace seqmix;
using namespace seqmix::testing;

namespace {

// The base vectors have T = 7 (and attention S = 7) at dimension 1 of every rank>=3 tensor,
// and no other dimension 1 of size 7: tile those along time.
io::safetensors tiled(const io::safetensors& base, int reps) {
  io::safetensors out;
  out.metadata = base.metadata;
  for (const auto& [name, t] : base.tensors) {
    if (t.shape.size() < 3 || t.shape[1] != 7) {
      out.tensors[name] = t;
      continue;
    }
    const auto v = t.as<double>();
    auto sh = t.shape;
    sh[1] *= reps;
    tensor<double> r(sh);
    const index_t inner = v.size() / (t.shape[0] * t.shape[1]);
    for (index_t b = 0; b < sh[0]; ++b)
      for (index_t s = 0; s < sh[1]; ++s)
        std::copy_n(v.data() + (b * t.shape[1] + s % t.shape[1]) * inner, inner, r.data() + (b * sh[1] + s) * inner);
    out.tensors[name] = io::stored_tensor::from(r.cast<float>());
  }
  return out;
}

bool same_bytes(const io::safetensors& a, const io::safetensors& b) {
  if (a.tensors.size() != b.tensors.size()) return false;
  for (const auto& [name, t] : a.tensors) {
    if (!b.contains(name)) return false;
    const auto& u = b.tensors.at(name);
    if (t.shape != u.shape || t.type != u.type || t.bytes != u.bytes) return false;
  }
  return true;
}

void check_deterministic(const std::string& op, const tool::op_entry& e, const io::safetensors& in,
                         const std::string& label) {
  std::vector<form> forms = {form::auto_};
  forms.insert(forms.end(), e.forms.begin(), e.forms.end());
  for (form f : forms)
    for (const char* dt : {"f32", "f64"}) {
      CAPTURE(label, to_string(f), dt);
      io::safetensors first;
      const auto r1 = run_op(op, in, {"--form", std::string(to_string(f)), "--dtype", dt, "--threads", "1"}, &first, "det");
      INFO("stderr: " << r1.err);
      REQUIRE(r1.rc == 0);
      for (const char* threads : {"2", "3", "1"}) {
        CAPTURE(threads);
        io::safetensors again;
        const auto r = run_op(op, in, {"--form", std::string(to_string(f)), "--dtype", dt, "--threads", threads}, &again, "det");
        REQUIRE(r.rc == 0);
        CHECK(same_bytes(first, again));
      }
    }
}

}  // namespace

TEST_CASE("every op is bitwise deterministic for 1, 2 and 3 threads", "[runner][determinism]") {
  for (const auto& e : tool::op_table()) {
    const auto vs = vectors_of(e.name);
    REQUIRE_FALSE(vs.empty());
    for (const vector_file* v : vs) check_deterministic(e.name, e, inputs_only(v->data), v->path.filename().string());
    REQUIRE(vs.front()->variant == "base");
    check_deterministic(e.name, e, tiled(inputs_only(vs.front()->data), 19), e.name + " tiled T=133");
  }
}
