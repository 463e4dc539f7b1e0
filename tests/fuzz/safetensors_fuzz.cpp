// libFuzzer target: the safetensors reader. Any input must either parse or throw
// seqmix::format_error (never another exception, a crash or an out-of-bounds read; built
// with ASan+UBSan). A parsed file must survive serialize -> parse unchanged.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "seqmix/io/safetensors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
  seqmix::io::safetensors st;
  try {
    st = seqmix::io::parse_safetensors(bytes);
  } catch (const seqmix::format_error&) {
    return 0;  // rejected: fine
  }
  // accepted: every tensor's bytes match its shape, and a round trip is exact
  for (const auto& [name, t] : st.tensors)
    if (t.bytes.size() != static_cast<std::size_t>(t.count()) * seqmix::io::dtype_size(t.type)) std::abort();
  std::vector<std::byte> again;
  try {
    again = seqmix::io::serialize_safetensors(st);
  } catch (const nlohmann::json::exception&) {
    return 0;  // only non-UTF-8 names/metadata, which the parser rejects anyway
  }
  const auto back = seqmix::io::parse_safetensors(again);
  if (back.metadata != st.metadata || back.tensors.size() != st.tensors.size()) std::abort();
  for (const auto& [name, t] : st.tensors) {
    const auto& u = back.tensors.at(name);
    if (u.type != t.type || u.shape != t.shape || u.bytes != t.bytes) std::abort();
  }
  return 0;
}
