#pragma once
// safetensors read/write (https://github.com/huggingface/safetensors format: u64 LE header
// length, JSON header, raw little-endian data). Supports F32, F64, I64 tensors and the
// `__metadata__` string map. Every malformed input (truncated, oversized header, bad JSON,
// offsets out of range, shape/byte-count mismatch, unsupported dtype) throws
// seqmix::format_error before anything is read out of bounds. Needs nlohmann_json.
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "seqmix/core/error.hpp"
#include "seqmix/core/tensor.hpp"

namespace seqmix::io {

enum class dtype { f32, f64, i64 };

constexpr std::size_t dtype_size(dtype t) noexcept { return t == dtype::f32 ? 4 : 8; }
constexpr const char* dtype_name(dtype t) noexcept {
  return t == dtype::f32 ? "F32" : t == dtype::f64 ? "F64" : "I64";
}
template <class T> constexpr dtype dtype_of() noexcept {
  if constexpr (std::is_same_v<T, float>) return dtype::f32;
  else if constexpr (std::is_same_v<T, double>) return dtype::f64;
  else {
    static_assert(std::is_same_v<T, std::int64_t>, "safetensors: only float, double and int64 are supported");
    return dtype::i64;
  }
}

struct stored_tensor {
  dtype type = dtype::f32;
  std::vector<index_t> shape;
  std::vector<std::byte> bytes;  // little-endian, product(shape) * dtype_size(type)

  index_t count() const { return tensor<float>::count(shape); }

  // Element i converted to U.
  template <class U> U get(std::size_t i) const {
    switch (type) {
      case dtype::f32: { float v; std::memcpy(&v, bytes.data() + 4 * i, 4); return static_cast<U>(v); }
      case dtype::f64: { double v; std::memcpy(&v, bytes.data() + 8 * i, 8); return static_cast<U>(v); }
      case dtype::i64: { std::int64_t v; std::memcpy(&v, bytes.data() + 8 * i, 8); return static_cast<U>(v); }
    }
    return U{};
  }

  // The values as a tensor of U (converting between F32, F64 and I64).
  template <class U> tensor<U> as() const {
    std::vector<U> out(static_cast<std::size_t>(count()));
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = get<U>(i);
    return tensor<U>(shape, std::move(out));
  }

  template <class T> static stored_tensor from(const tensor<T>& t) {
    stored_tensor s;
    s.type = dtype_of<T>();
    s.shape = t.shape();
    s.bytes.resize(static_cast<std::size_t>(t.size()) * sizeof(T));
    if (!s.bytes.empty()) std::memcpy(s.bytes.data(), t.data(), s.bytes.size());
    return s;
  }
};

struct safetensors {
  std::map<std::string, stored_tensor> tensors;
  std::map<std::string, std::string> metadata;

  bool contains(const std::string& name) const { return tensors.count(name) != 0; }
  template <class T> void put(const std::string& name, const tensor<T>& t) {
    tensors[name] = stored_tensor::from(t);
  }
};

namespace detail {
inline constexpr std::uint64_t max_header_bytes = 100u << 20;  // as the reference implementation

inline dtype parse_dtype(const std::string& name, const std::string& s) {
  if (s == "F32") return dtype::f32;
  if (s == "F64") return dtype::f64;
  if (s == "I64") return dtype::i64;
  throw format_error("safetensors: tensor '" + name + "' has unsupported dtype " + s +
                     " (supported: F32, F64, I64)");
}

inline std::uint64_t json_uint(const nlohmann::json& j, const std::string& what) {
  if (!j.is_number_unsigned() && !(j.is_number_integer() && j.get<std::int64_t>() >= 0))
    throw format_error("safetensors: " + what + " must be a non-negative integer");
  return j.get<std::uint64_t>();
}
}  // namespace detail

inline safetensors parse_safetensors(std::span<const std::byte> file) {
  if (file.size() < 8) throw format_error("safetensors: file too short for its 8-byte header length");
  std::uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | std::to_integer<std::uint64_t>(file[i]);
  if (header_len > detail::max_header_bytes)
    throw format_error("safetensors: header length " + std::to_string(header_len) + " exceeds the limit");
  if (header_len > file.size() - 8)
    throw format_error("safetensors: header length " + std::to_string(header_len) + " exceeds the file (" +
                       std::to_string(file.size()) + " bytes)");
  const char* hp = reinterpret_cast<const char*>(file.data() + 8);
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(hp, hp + header_len);
  } catch (const nlohmann::json::exception& e) {
    throw format_error(std::string("safetensors: header is not valid JSON: ") + e.what());
  }
  if (!header.is_object()) throw format_error("safetensors: header is not a JSON object");

  const auto data = file.subspan(8 + header_len);
  safetensors out;
  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string& name = it.key();
    const auto& entry = it.value();
    if (name == "__metadata__") {
      if (!entry.is_object()) throw format_error("safetensors: __metadata__ is not an object");
      for (auto m = entry.begin(); m != entry.end(); ++m) {
        if (!m.value().is_string())
          throw format_error("safetensors: __metadata__['" + m.key() + "'] is not a string");
        out.metadata[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    if (!entry.is_object() || !entry.contains("dtype") || !entry.contains("shape") ||
        !entry.contains("data_offsets") || !entry["dtype"].is_string() || !entry["shape"].is_array() ||
        !entry["data_offsets"].is_array() || entry["data_offsets"].size() != 2)
      throw format_error("safetensors: tensor '" + name + "' needs dtype, shape and two data_offsets");
    stored_tensor t;
    t.type = detail::parse_dtype(name, entry["dtype"].get<std::string>());
    // Every extent and the element count stay below 2^56, so count * dtype_size and the
    // index_t extents cannot overflow (a zero extent must not hide a huge one either).
    constexpr std::uint64_t max_count = std::uint64_t{1} << 56;
    std::uint64_t count = 1;
    for (const auto& d : entry["shape"]) {
      const std::uint64_t e = detail::json_uint(d, "shape of '" + name + "'");
      if (e > max_count || (e != 0 && count > max_count / e))
        throw format_error("safetensors: shape of tensor '" + name + "' overflows");
      count *= e;
      t.shape.push_back(static_cast<index_t>(e));
    }
    const std::uint64_t begin = detail::json_uint(entry["data_offsets"][0], "data_offsets of '" + name + "'");
    const std::uint64_t end = detail::json_uint(entry["data_offsets"][1], "data_offsets of '" + name + "'");
    if (begin > end || end > data.size())
      throw format_error("safetensors: tensor '" + name + "' has data_offsets [" + std::to_string(begin) + "," +
                         std::to_string(end) + "] outside the data buffer of " + std::to_string(data.size()) +
                         " bytes");
    const std::uint64_t want = count * dtype_size(t.type);
    if (end - begin != want)
      throw format_error("safetensors: tensor '" + name + "' of shape " +
                         shape_to_string(std::span<const index_t>(t.shape)) + " " + dtype_name(t.type) +
                         " needs " + std::to_string(want) + " bytes, data_offsets span " +
                         std::to_string(end - begin));
    t.bytes.assign(data.begin() + static_cast<std::ptrdiff_t>(begin), data.begin() + static_cast<std::ptrdiff_t>(end));
    out.tensors.emplace(name, std::move(t));
  }
  return out;
}

inline safetensors read_safetensors(const std::filesystem::path& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw format_error("safetensors: cannot read '" + path.string() + "': it is a directory");
  std::ifstream f(path, std::ios::binary);
  if (!f) throw format_error("safetensors: cannot open '" + path.string() + "'");
  // read to the end in pieces (no size from seeking: works for pipes, never a bogus size)
  std::vector<std::byte> buf;
  constexpr std::size_t piece = 1 << 20;
  for (;;) {
    const std::size_t old = buf.size();
    buf.resize(old + piece);
    f.read(reinterpret_cast<char*>(buf.data() + old), static_cast<std::streamsize>(piece));
    const auto got = static_cast<std::size_t>(f.gcount());
    buf.resize(old + got);
    if (got < piece) break;
  }
  if (f.bad()) throw format_error("safetensors: cannot read '" + path.string() + "'");
  return parse_safetensors(buf);
}

inline std::vector<std::byte> serialize_safetensors(const safetensors& st) {
  nlohmann::json header = nlohmann::json::object();
  if (!st.metadata.empty()) header["__metadata__"] = st.metadata;
  std::uint64_t offset = 0;
  for (const auto& [name, t] : st.tensors) {
    header[name] = {{"dtype", dtype_name(t.type)},
                    {"shape", t.shape},
                    {"data_offsets", {offset, offset + t.bytes.size()}}};
    offset += t.bytes.size();
  }
  std::string h = header.dump();
  h.resize((h.size() + 7) / 8 * 8, ' ');  // keep the data 8-byte aligned
  std::vector<std::byte> out(8 + h.size() + offset);
  const std::uint64_t n = h.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<std::byte>((n >> (8 * i)) & 0xff);
  std::memcpy(out.data() + 8, h.data(), h.size());
  std::size_t pos = 8 + h.size();
  for (const auto& [name, t] : st.tensors) {
    if (!t.bytes.empty()) std::memcpy(out.data() + pos, t.bytes.data(), t.bytes.size());
    pos += t.bytes.size();
  }
  return out;
}

// Written to a temporary file beside `path`, then renamed: never a partial file.
inline void write_safetensors(const std::filesystem::path& path, const safetensors& st) {
  const auto bytes = serialize_safetensors(st);
  auto tmp = path;
  tmp += ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) throw format_error("safetensors: cannot write '" + tmp.string() + "'");
    f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    f.close();
    if (!f) {
      std::error_code ec;
      std::filesystem::remove(tmp, ec);
      throw format_error("safetensors: cannot write '" + tmp.string() + "'");
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::filesystem::remove(tmp, ec);
    throw format_error("safetensors: cannot write '" + path.string() + "'");
  }
}

}  // namespace seqmix::io
