// Every committed numpy vector (tests/vectors/make_vectors.py, an independent float64
// computation of the formulas in OPS.md) through seqmix-run's op table, in float and
// --dtype f64, with every form the op lists. o and final_state must be within 2e-4
// relative (float) / 1e-7 (double) of the expected tensors. A vector whose op is not in the
// table, or an op of the table without a vector, FAILS (it is not skipped).
#include "runner_testing.hpp"

using namespace seqmix;
using namespace seqmix::testing;

namespace {
constexpr double tol_f32 = 2e-4, tol_f64 = 1e-7;
}

TEST_CASE("there is a vector for every op of OPS.md and the table has them all", "[runner][vectors]") {
  const std::vector<std::string> ops_md = {
      "attention", "linear_attn", "retention", "simple_gla", "gla", "delta_rule", "gated_delta_rule",
      "rwkv4", "rwkv5", "rwkv6", "rwkv7", "linear_scan", "min_gru", "min_lstm", "lru", "selective_scan",
      "ssd", "causal_conv1d", "long_conv"};
  for (const auto& op : ops_md) {
    CAPTURE(op);
    if (!tool::find_op(op)) FAIL_CHECK("op '" << op << "' of OPS.md is not registered in the op table");
    if (vectors_of(op).empty())
      FAIL_CHECK("no numpy vector for op '" << op << "' (run tests/vectors/make_vectors.py " << op << ")");
  }
  for (const auto& e : tool::op_table()) {
    CAPTURE(e.name);
    if (vectors_of(e.name).empty())
      FAIL_CHECK("op '" << e.name << "' is in the table but has no vector in tests/vectors/data");
  }
}

TEST_CASE("seqmix-run matches the numpy vectors (every file, form, dtype)", "[runner][vectors]") {
  REQUIRE_FALSE(vector_files().empty());
  for (const auto& v : vector_files()) {
    CAPTURE(v.path.filename().string());
    const tool::op_entry* e = tool::find_op(v.op);
    if (!e) {
      FAIL_CHECK("vector " << v.path.filename().string() << " is for op '" << v.op
                           << "', which is not registered in the op table");
      continue;
    }
    const auto in = inputs_only(v.data);
    std::vector<form> forms = {form::auto_};
    forms.insert(forms.end(), e->forms.begin(), e->forms.end());
    for (form f : forms)
      for (bool f64 : {false, true}) {
        CAPTURE(to_string(f), f64);
        io::safetensors out;
        const auto r = run_op(v.op, in, {"--form", std::string(to_string(f)), "--dtype", f64 ? "f64" : "f32"}, &out);
        INFO("stderr: " << r.err);
        REQUIRE(r.rc == 0);
        for (const char* name : {"o", "final_state"}) {
          CAPTURE(name);
          const std::string want_name = std::string("expected.") + name;
          if (!v.data.contains(want_name)) {
            if (std::string(name) == "final_state") CHECK_FALSE(out.contains(name));
            continue;
          }
          REQUIRE(out.contains(name));
          const auto& got = out.tensors.at(name);
          CHECK(got.type == (f64 ? io::dtype::f64 : io::dtype::f32));
          const auto want = v.data.tensors.at(want_name).as<double>();
          REQUIRE(got.shape == want.shape());
          const double err = max_rel_error(got.as<double>(), want);
          CHECK(err < (f64 ? tol_f64 : tol_f32));
        }
      }
  }
}
