#pragma once
// Helpers for the tests that drive seqmix-run's op table in-process: the committed numpy
// vectors (tests/vectors/data), running run_command_line, temporary files.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "support/testing.hpp"
#include "registry.hpp"
#include "runner.hpp"
#include "seqmix/io/safetensors.hpp"

#ifndef SEQMIX_VECTORS_DIR
#error "SEQMIX_VECTORS_DIR must name tests/vectors/data"
#endif

namespace seqmix::testing {

namespace fs = std::filesystem;

struct vector_file {
  fs::path path;
  std::string op, variant;
  io::safetensors data;
};

// Every committed vector, sorted by file name.
inline const std::vector<vector_file>& vector_files() {
  static const std::vector<vector_file> files = [] {
    std::vector<vector_file> out;
    for (const auto& e : fs::directory_iterator(SEQMIX_VECTORS_DIR))
      if (e.path().extension() == ".safetensors") {
        vector_file v;
        v.path = e.path();
        v.data = io::read_safetensors(e.path());
        v.op = v.data.metadata.count("op") ? v.data.metadata.at("op") : "";
        v.variant = v.data.metadata.count("variant") ? v.data.metadata.at("variant") : "";
        out.push_back(std::move(v));
      }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.path < b.path; });
    return out;
  }();
  return files;
}

// The vectors of one op (the "base" variant first).
inline std::vector<const vector_file*> vectors_of(const std::string& op) {
  std::vector<const vector_file*> out;
  for (const auto& v : vector_files())
    if (v.op == op) out.push_back(&v);
  std::stable_partition(out.begin(), out.end(), [](const vector_file* v) { return v->variant == "base"; });
  return out;
}

// A file's inputs only (no expected.* tensors).
inline io::safetensors inputs_only(const io::safetensors& f) {
  io::safetensors out;
  out.metadata = f.metadata;
  for (const auto& [name, t] : f.tensors)
    if (name.rfind("expected.", 0) != 0) out.tensors[name] = t;
  return out;
}

// A fresh directory per process for IN/OUT files.
inline fs::path scratch_dir() {
  static const fs::path dir = [] {
    auto d = fs::temp_directory_path() / ("seqmix_runner_test_" + std::to_string(::getpid()));
    fs::create_directories(d);
    return d;
  }();
  return dir;
}

inline fs::path scratch(const std::string& name) { return scratch_dir() / name; }

struct run_result {
  int rc = -1;
  std::string out, err;
  // the number of lines on stderr (a line ends with '\n')
  std::size_t err_lines() const { return static_cast<std::size_t>(std::count(err.begin(), err.end(), '\n')); }
};

inline run_result run_tool(const std::vector<std::string>& args) {
  std::ostringstream out, err;
  run_result r;
  r.rc = tool::run_command_line(args, out, err);
  r.out = out.str();
  r.err = err.str();
  set_num_threads(0);  // --threads sets the process-wide default; restore it
  return r;
}

// Runs OP on `in` (written to a scratch file); returns the result and, on success, OUT.
inline run_result run_op(const std::string& op, const io::safetensors& in, std::vector<std::string> flags,
                         io::safetensors* out_file = nullptr, const std::string& tag = "t") {
  const auto in_path = scratch(tag + ".in.safetensors"), out_path = scratch(tag + ".out.safetensors");
  io::write_safetensors(in_path, in);
  fs::remove(out_path);
  std::vector<std::string> args = {op, in_path.string(), out_path.string()};
  args.insert(args.end(), flags.begin(), flags.end());
  auto r = run_tool(args);
  if (r.rc == 0 && out_file) *out_file = io::read_safetensors(out_path);
  return r;
}

// The contract for bad input: exit 2, one line on stderr, no OUT file (nor its .tmp).
#define SEQMIX_CHECK_REJECTED(result, out_path)                                         \
  do {                                                                                  \
    const auto& r_ = (result);                                                          \
    INFO("rc=" << r_.rc << " stderr: " << r_.err);                                      \
    CHECK(r_.rc == 2);                                                                  \
    CHECK(r_.err_lines() == 1);                                                         \
    CHECK((!r_.err.empty() && r_.err.back() == '\n'));                                  \
    CHECK_FALSE(std::filesystem::exists(out_path));                                     \
    CHECK_FALSE(std::filesystem::exists(std::filesystem::path((out_path).string() + ".tmp"))); \
  } while (0)

inline std::string forms_of(const tool::op_entry& e) {
  std::string s = "auto";
  for (auto f : e.forms) s += std::string(",") + std::string(to_string(f));
  return s;
}

}  // namespace seqmix::testing
