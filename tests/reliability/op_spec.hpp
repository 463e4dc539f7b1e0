#pragma once
// The symbolic shapes of an op-table entry's inputs, parsed from its description
//   "q[B,T,H,K] k[B,T,H,K]; optional initial_state[N,H,K,V]" -> {q: [B,T,H,K], ...}
// so tests can find, e.g., every dimension named H without a hand list per op.
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace seqmix::testing {

inline std::map<std::string, std::vector<std::string>> parse_spec(const std::string& s) {
  std::map<std::string, std::vector<std::string>> m;
  static const std::regex re(R"(([A-Za-z_][A-Za-z0-9_]*)\[([^\]]*)\])");
  for (auto it = std::sregex_iterator(s.begin(), s.end(), re); it != std::sregex_iterator(); ++it) {
    std::vector<std::string> dims;
    std::string d;
    std::istringstream ss((*it)[2].str());
    while (std::getline(ss, d, ',')) dims.push_back(d);
    m[(*it)[1].str()] = dims;
  }
  return m;
}

}  // namespace seqmix::testing
