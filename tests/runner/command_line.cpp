// seqmix-run's command line (run_command_line, in-process): a round trip for every op of
// the table, --list, --help, --repeat's report, and every error path (exit 2, exactly one
// line on stderr, no OUT file).
#include <regex>

#include "runner_testing.hpp"

using namespace seqmix;
using namespace seqmix::testing;

namespace {

const vector_file& base_vector(const std::string& op) {
  const auto v = vectors_of(op);
  if (v.empty()) FAIL("op '" << op << "' has no vector in tests/vectors/data (make_vectors.py)");
  return *v.front();
}

// IN written from `in`; runs `op IN OUT flags...`; returns the result and OUT's path.
std::pair<run_result, fs::path> run_raw(const std::string& op, const io::safetensors& in,
                                        std::vector<std::string> flags = {}) {
  const auto in_path = scratch("raw.in.safetensors"), out_path = scratch("raw.out.safetensors");
  io::write_safetensors(in_path, in);
  fs::remove(out_path);
  std::vector<std::string> args = {op, in_path.string(), out_path.string()};
  args.insert(args.end(), flags.begin(), flags.end());
  return {run_tool(args), out_path};
}

// Attributes of OPS.md an op declares in its entry (its `attributes` text names them).
std::vector<std::string> declared_attributes(const tool::op_entry& e) {
  std::vector<std::string> out;
  for (const char* a : {"scale", "causal", "window", "activation", "dt_softplus"})
    if (e.attributes.find(a) != std::string::npos) out.push_back(a);
  return out;
}

}  // namespace

TEST_CASE("seqmix-run --help and --list", "[runner]") {
  for (const char* flag : {"--help", "-h"}) {
    const auto r = run_tool({flag});
    CHECK(r.rc == 0);
    CHECK(r.out.find("usage: seqmix-run OP IN.safetensors OUT.safetensors") != std::string::npos);
    CHECK(r.err.empty());
  }
  const auto r = run_tool({"--list"});
  CHECK(r.rc == 0);
  REQUIRE_FALSE(tool::op_table().empty());
  for (const auto& e : tool::op_table()) {
    CAPTURE(e.name);
    CHECK(r.out.find(e.name + "\n  inputs: " + e.inputs + "\n") != std::string::npos);
    CHECK(r.out.find("forms: auto") != std::string::npos);
    CHECK_FALSE(e.inputs.empty());
  }
}

TEST_CASE("seqmix-run round trip for every op of the table", "[runner]") {
  for (const auto& e : tool::op_table()) {
    CAPTURE(e.name);
    const auto& v = base_vector(e.name);
    const auto in = inputs_only(v.data);
    for (const char* dt : {"f32", "f64"}) {
      CAPTURE(dt);
      io::safetensors out;
      const auto r = run_op(e.name, in, {"--dtype", dt}, &out);
      INFO("stderr: " << r.err);
      REQUIRE(r.rc == 0);
      CHECK(r.err.empty());
      CHECK(r.out.empty());  // no report without --repeat
      REQUIRE(out.contains("o"));
      CHECK(out.tensors.at("o").shape == v.data.tensors.at("expected.o").shape);
      CHECK(out.contains("final_state") == v.data.contains("expected.final_state"));
      for (const auto& [name, t] : out.tensors) CHECK(t.type == (dt == std::string("f32") ? io::dtype::f32 : io::dtype::f64));
      CHECK(max_rel_error(out.tensors.at("o").as<double>(), v.data.tensors.at("expected.o").as<double>()) < 2e-4);
    }
    // the inputs in F64 work as well (converted)
    io::safetensors in64 = in;
    for (auto& [name, t] : in64.tensors)
      if (t.type == io::dtype::f32) t = io::stored_tensor::from(t.as<double>());
    io::safetensors out;
    const auto r = run_op(e.name, in64, {}, &out);
    INFO("stderr: " << r.err);
    REQUIRE(r.rc == 0);
    CHECK(out.tensors.at("o").type == io::dtype::f32);
  }
}

TEST_CASE("seqmix-run --repeat prints median_ms, gflops and tokens_per_s on one line", "[runner]") {
  const std::regex line(R"(median_ms=[0-9]+\.[0-9]+ gflops=[0-9]+\.[0-9]+ tokens_per_s=[0-9]+\.[0-9]+\n)");
  for (const auto& e : tool::op_table()) {
    CAPTURE(e.name);
    const auto r = run_op(e.name, inputs_only(base_vector(e.name).data), {"--repeat", "3"});
    INFO("stdout: " << r.out << " stderr: " << r.err);
    REQUIRE(r.rc == 0);
    CHECK(std::regex_match(r.out, line));
  }
  // --repeat 0: no report
  const auto r = run_op("linear_scan", inputs_only(base_vector("linear_scan").data), {"--repeat", "0"});
  CHECK(r.rc == 0);
  CHECK(r.out.empty());
}

TEST_CASE("seqmix-run: unknown op, form, option, bad flag values -> exit 2", "[runner][errors]") {
  const auto in = inputs_only(base_vector("linear_scan").data);
  {
    auto [r, out] = run_raw("no_such_op", in);
    SEQMIX_CHECK_REJECTED(r, out);
    CHECK(r.err.find("unknown op 'no_such_op'") != std::string::npos);
  }
  const std::vector<std::vector<std::string>> bad_flags = {
      {"--form", "bogus"}, {"--form"},           {"--threads", "0"},    {"--threads", "-1"},
      {"--threads", "x"},  {"--threads", "2x"},  {"--threads"},         {"--threads", "99999999999"},
      {"--chunk", "0"},    {"--chunk", "-16"},   {"--chunk", "abc"},    {"--chunk"},
      {"--dtype", "f16"},  {"--dtype", "F32"},   {"--dtype"},           {"--repeat", "-1"},
      {"--repeat", "x"},   {"--no-such-flag"},   {"--threads", ""},     {"--chunk", "1.5"}};
  for (const auto& flags : bad_flags) {
    CAPTURE(flags);
    auto [r, out] = run_raw("linear_scan", in, flags);
    SEQMIX_CHECK_REJECTED(r, out);
  }
  // a form the op does not have names the forms it has
  for (const auto& e : tool::op_table()) {
    CAPTURE(e.name);
    for (form f : {form::recurrent, form::chunked, form::parallel, form::direct, form::fft, form::blocked}) {
      if (std::find(e.forms.begin(), e.forms.end(), f) != e.forms.end()) continue;
      auto [r, out] = run_raw(e.name, inputs_only(base_vector(e.name).data), {"--form", std::string(to_string(f))});
      SEQMIX_CHECK_REJECTED(r, out);
      CHECK(r.err.find("forms") != std::string::npos);
      CHECK(r.err.find(e.name) != std::string::npos);
    }
  }
  // wrong number of positionals
  for (const auto& args : std::vector<std::vector<std::string>>{{}, {"linear_scan"}, {"linear_scan", "a"},
                                                               {"linear_scan", "a", "b", "c"}}) {
    CAPTURE(args);
    const auto r = run_tool(args);
    CHECK(r.rc == 2);
    CHECK(r.err_lines() == 1);
  }
}

TEST_CASE("seqmix-run: unreadable or malformed IN -> exit 2", "[runner][errors]") {
  const auto out = scratch("unreadable.out.safetensors");
  fs::remove(out);
  for (const fs::path& p : {scratch("does_not_exist.safetensors"), scratch_dir()}) {
    CAPTURE(p.string());
    const auto r = run_tool({"linear_scan", p.string(), out.string()});
    SEQMIX_CHECK_REJECTED(r, out);
  }
  const auto garbage = scratch("garbage.safetensors");
  for (const std::string& content : {std::string(""), std::string("abc"), std::string("\x10\0\0\0\0\0\0\0{}", 10),
                                     std::string("\xff\xff\xff\xff\xff\xff\xff\xff{}", 10)}) {
    { std::ofstream(garbage, std::ios::binary) << content; }
    const auto r = run_tool({"linear_scan", garbage.string(), out.string()});
    SEQMIX_CHECK_REJECTED(r, out);
  }
  // OUT in a directory that does not exist
  const auto in = scratch("ok.in.safetensors");
  io::write_safetensors(in, inputs_only(base_vector("linear_scan").data));
  const auto bad_out = scratch("no_dir") / "out.safetensors";
  const auto r = run_tool({"linear_scan", in.string(), bad_out.string()});
  SEQMIX_CHECK_REJECTED(r, bad_out);
}

TEST_CASE("seqmix-run: a missing input tensor -> exit 2 naming it (every op, every required input)",
          "[runner][errors]") {
  for (const auto& e : tool::op_table()) {
    const auto in = inputs_only(base_vector(e.name).data);
    for (const auto& [name, t] : in.tensors) {  // the base vectors hold only required inputs
      CAPTURE(e.name, name);
      auto missing = in;
      missing.tensors.erase(name);
      auto [r, out] = run_raw(e.name, missing);
      SEQMIX_CHECK_REJECTED(r, out);
      CHECK(r.err.find("'" + name + "'") != std::string::npos);
      CHECK(r.err.find(e.name) != std::string::npos);
    }
  }
}

TEST_CASE("seqmix-run: a misshaped input tensor -> exit 2 naming it (every op, every input)", "[runner][errors]") {
  for (const auto& e : tool::op_table()) {
    for (const vector_file* v : vectors_of(e.name)) {
      const auto in = inputs_only(v->data);
      for (const auto& [name, t] : in.tensors) {
        CAPTURE(e.name, v->variant, name);
        // one more dimension (rank + 1) and one fewer
        for (int delta : {+1, -1}) {
          if (delta < 0 && t.shape.empty()) continue;
          auto bad = in;
          auto& bt = bad.tensors.at(name);
          if (delta > 0) bt.shape.push_back(1);
          else {
            const index_t last = bt.shape.back();
            bt.shape.pop_back();
            if (!bt.shape.empty()) bt.shape.back() *= last;
            else bt.shape.push_back(last);
            if (bt.shape.size() == t.shape.size()) continue;  // rank 1 stays rank 1
          }
          auto [r, out] = run_raw(e.name, bad);
          SEQMIX_CHECK_REJECTED(r, out);
          CHECK(r.err.find("'" + name + "'") != std::string::npos);
        }
        // an integer tensor where floats are expected (cu_seqlens is integer already)
        if (name != "cu_seqlens") {
          auto bad = in;
          auto& bt = bad.tensors.at(name);
          bt.type = io::dtype::i64;
          bt.bytes.assign(static_cast<std::size_t>(bt.count()) * 8, std::byte{0});
          auto [r, out] = run_raw(e.name, bad);
          SEQMIX_CHECK_REJECTED(r, out);
        }
      }
    }
  }
}

TEST_CASE("seqmix-run: a bad attribute value -> exit 2 naming it", "[runner][errors]") {
  for (const auto& e : tool::op_table()) {
    const auto in = inputs_only(base_vector(e.name).data);
    for (const auto& attr : declared_attributes(e)) {
      for (const char* value : {"not-a-number", "1x", "nan(", "--", "0x"}) {
        CAPTURE(e.name, attr, value);
        auto bad = in;
        bad.metadata[attr] = value;
        auto [r, out] = run_raw(e.name, bad);
        SEQMIX_CHECK_REJECTED(r, out);
        CHECK(r.err.find(attr) != std::string::npos);
      }
    }
  }
  // specific values outside the documented domain
  const auto att = inputs_only(base_vector("attention").data);
  for (auto [k, val] : std::vector<std::pair<std::string, std::string>>{{"causal", "2"}, {"window", "-1"}}) {
    CAPTURE(k, val);
    auto bad = att;
    bad.metadata[k] = val;
    auto [r, out] = run_raw("attention", bad);
    SEQMIX_CHECK_REJECTED(r, out);
  }
  if (tool::find_op("causal_conv1d")) {
    auto bad = inputs_only(base_vector("causal_conv1d").data);
    bad.metadata["activation"] = "relu6";
    auto [r, out] = run_raw("causal_conv1d", bad);
    SEQMIX_CHECK_REJECTED(r, out);
  }
}

TEST_CASE("seqmix-run: extra tensors and metadata keys are ignored", "[runner]") {
  for (const auto& e : tool::op_table()) {
    CAPTURE(e.name);
    auto in = inputs_only(base_vector(e.name).data);
    in.put("expected.whatever", tensor<float>({2}, {1, 2}));
    in.put("unrelated", tensor<double>({3}, {1, 2, 3}));
    in.metadata["op"] = "something else";
    in.metadata["comment"] = "hello";
    const auto r = run_op(e.name, in, {});
    INFO("stderr: " << r.err);
    CHECK(r.rc == 0);
  }
}
