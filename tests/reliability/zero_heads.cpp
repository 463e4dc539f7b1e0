// Bad inputs at the API, the rule the per-rule tests in tests/runner/bad_inputs.cpp do not
// cover: zero heads. For every op of the table and every head-like dimension its input
// description names (H, HQ, G), that dimension set to 0 in every input tensor that has it
// (so the shapes stay mutually consistent) is rejected: exit 2, one line on stderr naming
// the dimension ("... H ... must be positive"), no OUT file. Ops without heads (channels
// D only) must name none of these symbols; the test fails if no op has heads at all.
#include "op_spec.hpp"
#include "runner/runner_testing.hpp"

using namespace seqmix;
using namespace seqmix::testing;

namespace {

void set_shape(io::stored_tensor& t, std::vector<index_t> shape) {
  t.shape = std::move(shape);
  t.bytes.assign(static_cast<std::size_t>(t.count()) * (t.type == io::dtype::f32 ? 4 : 8), std::byte{0});
}

}  // namespace

TEST_CASE("every op rejects zero heads (H, HQ, G = 0) with a shape error", "[reliability][bad_inputs]") {
  int checked = 0;
  for (const auto& e : tool::op_table()) {
    const auto spec = parse_spec(e.inputs);
    const auto vs = vectors_of(e.name);
    REQUIRE_FALSE(vs.empty());
    for (const vector_file* v : vs) {
      const auto in = inputs_only(v->data);
      for (const char* sym : {"H", "HQ", "G"}) {
        auto bad = in;
        bool touched = false;
        for (auto& [name, t] : bad.tensors) {
          auto it = spec.find(name);
          if (it == spec.end() || it->second.size() != t.shape.size()) continue;
          auto sh = t.shape;
          for (std::size_t d = 0; d < sh.size(); ++d)
            if (it->second[d] == sym) sh[d] = 0, touched = true;
          if (sh != t.shape) set_shape(t, sh);
        }
        if (!touched) continue;
        CAPTURE(v->path.filename().string(), sym);
        const auto out_path = scratch("heads.out.safetensors");
        const auto r = run_op(e.name, bad, {}, nullptr, "heads");
        SEQMIX_CHECK_REJECTED(r, out_path);
        CHECK(r.err.find(std::string(" ") + sym + " ") != std::string::npos);
        CHECK(r.err.find("must be positive") != std::string::npos);
        ++checked;
      }
    }
  }
  CHECK(checked >= 20);
}
