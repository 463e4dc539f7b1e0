// safetensors: round trips (F32, F64, I64, metadata, empty tensors) and every malformed
// input rejected with seqmix::format_error (never an out-of-bounds read: the sanitizer build
// runs this file too).
#include "support/testing.hpp"
#include "seqmix/io/safetensors.hpp"

#include <filesystem>
#include <fstream>

using namespace seqmix;
using namespace seqmix::testing;

namespace {

std::vector<std::byte> bytes_of(const std::string& s) {
  std::vector<std::byte> b(s.size());
  if (!s.empty()) std::memcpy(b.data(), s.data(), s.size());  // memcpy(nullptr, .., 0) is UB
  return b;
}

// A file from a header text and a data section (the 8-byte length is the header's).
std::vector<std::byte> make_file(const std::string& header, std::size_t data_bytes = 0,
                                 std::uint64_t claimed_len = ~std::uint64_t{0}) {
  const std::uint64_t n = claimed_len == ~std::uint64_t{0} ? header.size() : claimed_len;
  std::vector<std::byte> out(8);
  for (int i = 0; i < 8; ++i) out[i] = static_cast<std::byte>((n >> (8 * i)) & 0xff);
  const auto h = bytes_of(header);
  out.insert(out.end(), h.begin(), h.end());
  out.resize(out.size() + data_bytes, std::byte{0x3f});
  return out;
}

std::filesystem::path temp_path(const std::string& name) {
  return std::filesystem::temp_directory_path() / ("seqmix_test_io_" + std::to_string(::getpid()) + "_" + name);
}

// Parses and expects format_error whose message contains `needle`.
void expect_format_error(const std::vector<std::byte>& file, const std::string& needle) {
  try {
    io::parse_safetensors(file);
    FAIL("no format_error; expected one mentioning '" << needle << "'");
  } catch (const format_error& e) {
    CAPTURE(e.what());
    CHECK(std::string(e.what()).find(needle) != std::string::npos);
  }
}

}  // namespace

TEST_CASE("safetensors round trip: F32, F64, I64, metadata", "[io]") {
  io::safetensors st;
  auto a = random_tensor<float>({2, 3, 4});
  auto b = random_tensor<double>({5});
  tensor<std::int64_t> c({4}, {0, 3, -7, std::int64_t{1} << 40});
  tensor<float> empty({0, 3});
  tensor<double> scalar_like({1, 1}, std::nan(""));
  st.put("a", a);
  st.put("b", b);
  st.put("cu_seqlens", c);
  st.put("empty", empty);
  st.put("nan", scalar_like);
  st.metadata["scale"] = "0.125";
  st.metadata["op"] = "linear_attn";
  st.metadata["unicode"] = "\xce\xbb=1";

  const auto bytes = io::serialize_safetensors(st);
  // the header length is a multiple of 8 so data is aligned
  std::uint64_t hl = 0;
  for (int i = 7; i >= 0; --i) hl = (hl << 8) | std::to_integer<std::uint64_t>(bytes[i]);
  CHECK(hl % 8 == 0);

  const auto back = io::parse_safetensors(bytes);
  REQUIRE(back.tensors.size() == 5);
  CHECK(back.metadata == st.metadata);
  CHECK(back.tensors.at("a").type == io::dtype::f32);
  CHECK(back.tensors.at("b").type == io::dtype::f64);
  CHECK(back.tensors.at("cu_seqlens").type == io::dtype::i64);
  CHECK(bitwise_equal(back.tensors.at("a").as<float>(), a));
  CHECK(bitwise_equal(back.tensors.at("b").as<double>(), b));
  CHECK(back.tensors.at("cu_seqlens").as<std::int64_t>().values() == c.values());
  CHECK(back.tensors.at("empty").shape == std::vector<index_t>{0, 3});
  CHECK(back.tensors.at("empty").bytes.empty());
  CHECK(std::isnan(back.tensors.at("nan").as<double>()[0]));
  // conversion between dtypes on read
  const auto a64 = back.tensors.at("a").as<double>();
  for (index_t i = 0; i < a.size(); ++i) CHECK(a64[i] == static_cast<double>(a[i]));
  CHECK(back.tensors.at("cu_seqlens").as<double>()[2] == -7.0);

  // through a file, written atomically (no .tmp left behind)
  const auto path = temp_path("rt.safetensors");
  io::write_safetensors(path, st);
  CHECK_FALSE(std::filesystem::exists(std::filesystem::path(path.string() + ".tmp")));
  const auto f = io::read_safetensors(path);
  CHECK(bitwise_equal(f.tensors.at("a").as<float>(), a));
  CHECK(f.metadata == st.metadata);
  std::filesystem::remove(path);
}

TEST_CASE("safetensors: an empty file set and a file written by hand parse", "[io]") {
  CHECK(io::parse_safetensors(make_file("{}")).tensors.empty());
  // hand-written: offsets need not start at 0 in order, extra whitespace is fine
  const auto f = io::parse_safetensors(make_file(
      R"( {"y": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]},
           "x": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "__metadata__": {}} )",
      8));
  CHECK(f.tensors.at("x").count() == 1);
  CHECK(f.tensors.at("y").as<float>()[0] == f.tensors.at("x").as<float>()[0]);
}

TEST_CASE("safetensors: truncated files throw format_error", "[io][malformed]") {
  io::safetensors st;
  st.put("a", random_tensor<float>({3, 5}));
  st.metadata["k"] = "v";
  const auto good = io::serialize_safetensors(st);
  // every proper prefix is rejected (short length, header cut, data cut)
  for (std::size_t n = 0; n < good.size(); ++n) {
    CAPTURE(n);
    std::vector<std::byte> cut(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(n));
    CHECK_THROWS_AS(io::parse_safetensors(cut), format_error);
  }
  expect_format_error({}, "too short");
  expect_format_error(std::vector<std::byte>(7), "too short");
}

TEST_CASE("safetensors: header length overflow throws format_error", "[io][malformed]") {
  expect_format_error(make_file("{}", 0, 1000), "exceeds the file");
  expect_format_error(make_file("{}", 0, ~std::uint64_t{0} - 1), "exceeds");
  expect_format_error(make_file("{}", 0, std::uint64_t{1} << 63), "exceeds");
  expect_format_error(make_file("{}", 0, (100u << 20) + 1), "exceeds the limit");
  // 8 + len wraps around 2^64 if added carelessly
  expect_format_error(make_file("{}", 0, ~std::uint64_t{0} - 7), "exceeds");
}

TEST_CASE("safetensors: bad JSON and a non-object header throw format_error", "[io][malformed]") {
  expect_format_error(make_file("{\"a\": "), "not valid JSON");
  expect_format_error(make_file("{} trailing"), "not valid JSON");
  expect_format_error(make_file(""), "not valid JSON");
  expect_format_error(make_file("\xff\xfe{}"), "not valid JSON");
  expect_format_error(make_file("{\"\xc3\x28\": 1}"), "not valid JSON");  // invalid UTF-8
  expect_format_error(make_file("[]"), "not a JSON object");
  expect_format_error(make_file("42"), "not a JSON object");
  expect_format_error(make_file("\"x\""), "not a JSON object");
  expect_format_error(make_file("null"), "not a JSON object");
  // deeply nested (no recursion blow-up either way)
  expect_format_error(make_file(std::string(50000, '[') + std::string(50000, ']')), "");
  // entries that are not tensor descriptions
  expect_format_error(make_file(R"({"a": 1})"), "needs dtype, shape");
  expect_format_error(make_file(R"({"a": {"dtype": "F32", "shape": [1]}})"), "needs dtype, shape");
  expect_format_error(make_file(R"({"a": {"dtype": 3, "shape": [1], "data_offsets": [0, 4]}})", 4), "needs dtype");
  expect_format_error(make_file(R"({"a": {"dtype": "F32", "shape": 1, "data_offsets": [0, 4]}})", 4), "needs dtype");
  expect_format_error(make_file(R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0]}})", 4), "needs dtype");
  expect_format_error(make_file(R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": {"0": 4}}})", 4), "needs dtype");
  expect_format_error(make_file(R"({"a": {"dtype": "F32", "shape": [1.5], "data_offsets": [0, 4]}})", 4), "non-negative integer");
  expect_format_error(make_file(R"({"a": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}})", 4), "non-negative integer");
  expect_format_error(make_file(R"({"a": {"dtype": "F32", "shape": ["1"], "data_offsets": [0, 4]}})", 4), "non-negative integer");
  expect_format_error(make_file(R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [-4, 4]}})", 4), "non-negative integer");
  expect_format_error(make_file(R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4.0]}})", 4), "non-negative integer");
}

TEST_CASE("safetensors: offsets out of range or reversed throw format_error", "[io][malformed]") {
  expect_format_error(make_file(R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}})", 4), "outside the data");
  expect_format_error(make_file(R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [8, 4]}})", 8), "outside the data");
  expect_format_error(make_file(R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 0]}})", 8), "outside the data");
  expect_format_error(make_file(R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [18446744073709551612, 18446744073709551615]}})", 8),
                      "outside the data");
  expect_format_error(make_file(R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [18446744073709551615, 3]}})", 8),
                      "outside the data");
  expect_format_error(make_file(R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 18446744073709551616]}})", 8),
                      "");  // beyond u64: a float in JSON
}

TEST_CASE("safetensors: shape/byte-count mismatch and shape overflow throw format_error", "[io][malformed]") {
  expect_format_error(make_file(R"({"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}})", 8), "needs 12 bytes");
  expect_format_error(make_file(R"({"a": {"dtype": "F64", "shape": [2, 2], "data_offsets": [0, 16]}})", 16), "needs 32 bytes");
  expect_format_error(make_file(R"({"a": {"dtype": "F32", "shape": [0], "data_offsets": [0, 4]}})", 4), "needs 0 bytes");
  expect_format_error(make_file(R"({"a": {"dtype": "I64", "shape": [], "data_offsets": [0, 4]}})", 4), "needs 8 bytes");
  // product overflows 64 bits
  expect_format_error(make_file(R"({"a": {"dtype": "F32", "shape": [4294967296, 4294967296, 16], "data_offsets": [0, 0]}})"),
                      "overflows");
  // count * 8 wraps to 0 bytes (2^61 elements of I64) unless the count is bounded
  expect_format_error(make_file(R"({"a": {"dtype": "I64", "shape": [2305843009213693952], "data_offsets": [0, 0]}})"),
                      "overflows");
  expect_format_error(make_file(R"({"a": {"dtype": "F32", "shape": [4611686018427387904], "data_offsets": [0, 0]}})"),
                      "overflows");
  // a zero extent must not hide a huge (negative as index_t) one
  expect_format_error(make_file(R"({"a": {"dtype": "F32", "shape": [0, 18446744073709551615], "data_offsets": [0, 0]}})"),
                      "overflows");
}

TEST_CASE("safetensors: unsupported dtype and bad metadata throw format_error", "[io][malformed]") {
  for (const char* dt : {"F16", "BF16", "I32", "U8", "BOOL", "f32", ""})
    expect_format_error(make_file(std::string(R"({"a": {"dtype": ")") + dt +
                                  R"(", "shape": [1], "data_offsets": [0, 2]}})", 2),
                        "unsupported dtype");
  expect_format_error(make_file(R"({"__metadata__": {"scale": 0.5}})"), "is not a string");
  expect_format_error(make_file(R"({"__metadata__": {"a": "x", "b": null}})"), "is not a string");
  expect_format_error(make_file(R"({"__metadata__": {"a": ["x"]}})"), "is not a string");
  expect_format_error(make_file(R"({"__metadata__": "scale=1"})"), "not an object");
  expect_format_error(make_file(R"({"__metadata__": ["x"]})"), "not an object");
}

TEST_CASE("safetensors: unreadable files throw format_error", "[io][malformed]") {
  CHECK_THROWS_AS(io::read_safetensors(temp_path("does_not_exist.safetensors")), format_error);
  CHECK_THROWS_AS(io::read_safetensors(std::filesystem::temp_directory_path()), format_error);
  const auto path = temp_path("garbage.safetensors");
  {
    std::ofstream f(path, std::ios::binary);
    f << "not a safetensors file at all";
  }
  CHECK_THROWS_AS(io::read_safetensors(path), format_error);
  std::filesystem::remove(path);
  // writing into a directory that does not exist: format_error, and nothing left behind
  io::safetensors st;
  st.put("a", random_tensor<float>({2}));
  const auto bad = temp_path("no_such_dir") / "out.safetensors";
  CHECK_THROWS_AS(io::write_safetensors(bad, st), format_error);
  CHECK_FALSE(std::filesystem::exists(bad));
}
