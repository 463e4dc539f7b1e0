// libFuzzer target: seqmix-run's input handling. The input bytes are written as the IN file
// and every op of the table is run on it (run_command_line, in-process; the flags vary with
// the input's last byte). Every run must end with exit 0 (then OUT exists) or exit 2 with
// one line on stderr (then no OUT file): never exit 1, a crash, a hang or an out-of-bounds
// access. Harness limit: inputs whose tensors would be larger than 2^12 elements with zero
// extents counted as 1 are skipped (a 40-byte file can otherwise ask for an [1, 2^40] state
// of a T = 0 input: a legitimate, huge allocation that libFuzzer reports as out-of-memory).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "registry.hpp"
#include "runner.hpp"

namespace {

namespace fs = std::filesystem;

const fs::path& work_dir() {
  static const fs::path dir = [] {
    fs::path base = fs::exists("/dev/shm") ? fs::path("/dev/shm") : fs::temp_directory_path();
    auto d = base / ("seqmix_runner_fuzz_" + std::to_string(::getpid()));
    fs::create_directories(d);
    return d;
  }();
  return dir;
}

bool too_large(const std::uint8_t* data, std::size_t size) {
  try {
    const auto st = seqmix::io::parse_safetensors(
        std::span<const std::byte>(reinterpret_cast<const std::byte*>(data), size));
    for (const auto& [name, t] : st.tensors) {
      std::uint64_t n = 1;
      for (auto e : t.shape) {
        n *= static_cast<std::uint64_t>(e > 0 ? e : 1);
        if (n > (1u << 12)) return true;
      }
    }
  } catch (const seqmix::format_error&) {
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (too_large(data, size)) return 0;
  const auto in = work_dir() / "in.safetensors", out = work_dir() / "out.safetensors";
  {
    std::ofstream f(in, std::ios::binary | std::ios::trunc);
    f.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  const std::uint8_t knob = size ? data[size - 1] : 0;
  std::vector<std::string> flags;
  if (knob & 1) flags.insert(flags.end(), {"--dtype", "f64"});
  flags.insert(flags.end(), {"--threads", std::to_string(1 + (knob >> 1) % 3)});
  for (const auto& e : seqmix::tool::op_table()) {
    std::vector<std::string> args = {e.name, in.string(), out.string()};
    args.insert(args.end(), flags.begin(), flags.end());
    if ((knob >> 3) & 1 && !e.forms.empty()) {  // a listed form, chosen by the knob
      args.push_back("--form");
      args.push_back(std::string(seqmix::to_string(e.forms[(knob >> 4) % e.forms.size()])));
    }
    std::error_code ec;
    fs::remove(out, ec);
    std::ostringstream so, se;
    const int rc = seqmix::tool::run_command_line(args, so, se);
    const std::string err = se.str();
    const bool out_exists = fs::exists(out);
    if (rc == 0 && !out_exists) {
      std::fprintf(stderr, "%s: exit 0 without OUT\n", e.name.c_str());
      std::abort();
    }
    if (rc == 2 && (out_exists || std::count(err.begin(), err.end(), '\n') != 1)) {
      std::fprintf(stderr, "%s: exit 2 with OUT=%d, stderr '%s'\n", e.name.c_str(), int(out_exists), err.c_str());
      std::abort();
    }
    if (rc != 0 && rc != 2) {
      std::fprintf(stderr, "%s: exit %d: %s\n", e.name.c_str(), rc, err.c_str());
      std::abort();
    }
  }
  seqmix::set_num_threads(0);
  return 0;
}
