// seqmix-run: run any op of the library on tensors from a safetensors file (OPS.md).
//   seqmix-run OP IN OUT [--form F] [--chunk C] [--threads N] [--dtype f32|f64] [--repeat N]
//   seqmix-run --list | --help
// Exit status: 0 success, 2 bad input (one line on stderr, no OUT file written), 1 internal.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "registry.hpp"
#include "runner.hpp"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return seqmix::tool::run_command_line(args, std::cout, std::cerr);
}
