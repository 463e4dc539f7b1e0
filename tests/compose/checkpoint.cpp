// State checkpoints: any mixer's or stack's state saved to safetensors mid-sequence,
// restored into a fresh state, and continued is bitwise equal to never stopping (the same
// split with the state kept in memory), and equal to one call over the whole within tolerance.
#include "support/testing.hpp"
#include "seqmix/compose.hpp"
#include "seqmix/compose/state_io.hpp"
#include "seqmix/mixers.hpp"

using namespace seqmix;
using namespace seqmix::testing;

namespace {
template <class M>
void check_checkpoint(const char* name, const M& m, index_t total = 40, index_t cut = 17) {
  CAPTURE(name);
  using T = typename M::value_type;
  const index_t d = index_t(m.d_model());
  auto x = random_tensor<T>({total, d});
  tensor<T> whole({total, d}), resumed({total, d});
  auto s = m.make_state();
  m.forward(x.template cview<2>(), whole.template view<2>(), s);

  // never stopping: the same split, the state kept in memory
  tensor<T> kept({total, d});
  auto live = m.make_state();
  m.forward(x.template cview<2>().slice(0, 0, cut), kept.template view<2>().slice(0, 0, cut), live);
  m.forward(x.template cview<2>().slice(0, cut, total - cut), kept.template view<2>().slice(0, cut, total - cut), live);

  auto first = m.make_state();
  m.forward(x.template cview<2>().slice(0, 0, cut), resumed.template view<2>().slice(0, 0, cut), first);
  // through the file format, as a real checkpoint would go
  const auto bytes = io::serialize_safetensors(io::state_to_safetensors(first));
  auto restored = m.make_state();
  io::state_from_safetensors(restored, io::parse_safetensors(bytes));
  m.forward(x.template cview<2>().slice(0, cut, total - cut), resumed.template view<2>().slice(0, cut, total - cut), restored);
  CHECK(bitwise_equal(resumed, kept));
  CHECK(max_rel_error(resumed, whole) < tol<T> * 10);  // and the split continues the whole
  CHECK(state_bytes(restored) > 0);
}
}  // namespace

TEST_CASE("every mixer's state checkpoints bitwise", "[checkpoint]") {
  namespace mx = seqmix::mixers;
  check_checkpoint("mamba", mx::mamba<float>({.d_model = 32}));
  check_checkpoint("mamba2", mx::mamba2<float>({.d_model = 32, .d_state = 16, .headdim = 16}));
  check_checkpoint("attention", mx::attention<float>({.d_model = 32, .n_heads = 2, .max_len = 64}));
  check_checkpoint("attention_window", mx::attention<float>({.d_model = 32, .n_heads = 2, .window = 8}));
  check_checkpoint("linear_attention", mx::linear_attention<float>({.d_model = 32, .num_heads = 2}));
  check_checkpoint("retnet", mx::retnet<float>({.d_model = 32, .num_heads = 2}));
  check_checkpoint("gla", mx::gla<float>({.d_model = 32, .num_heads = 2}));
  check_checkpoint("deltanet", mx::deltanet<float>({.d_model = 32, .num_heads = 2}));
  check_checkpoint("gated_deltanet", mx::gated_deltanet<float>({.d_model = 32, .num_heads = 2, .head_dim = 16}));
  check_checkpoint("rwkv6", mx::rwkv6_time_mix<float>({.n_embd = 32, .head_size = 16}));
  check_checkpoint("rwkv7", mx::rwkv7_time_mix<float>({.n_embd = 32, .head_size = 16}));
  check_checkpoint("rwkv_channel_mix", mx::rwkv_channel_mix<float>({.n_embd = 32}));
  check_checkpoint("lru", mx::lru<float>({.d_model = 32}));
  check_checkpoint("min_gru", mx::min_gru<float>({.d_model = 32}));
  check_checkpoint("min_lstm", mx::min_lstm<float>({.d_model = 32}));
  check_checkpoint("hgrn", mx::hgrn<float>({.d_model = 32}));
  check_checkpoint("hyena", mx::hyena<float>({.d_model = 32, .l_max = 64}));
}

TEST_CASE("a hybrid stack's state checkpoints bitwise", "[checkpoint]") {
  using namespace seqmix::compose;
  namespace mx = seqmix::mixers;
  using hybrid = stack<residual<rms_norm, mx::mamba2<double>>, residual<rms_norm, swiglu<double>>,
                       repeat<2, residual<rms_norm, mx::attention<double>>>>;
  hybrid m(residual<rms_norm, mx::mamba2<double>>(mx::mamba2<double>({.d_model = 32, .d_state = 16, .headdim = 16})),
           residual<rms_norm, swiglu<double>>(swiglu<double>({.d_model = 32})),
           repeat<2, residual<rms_norm, mx::attention<double>>>([](std::size_t i) {
             return residual<rms_norm, mx::attention<double>>(
                 mx::attention<double>({.d_model = 32, .n_heads = 2, .max_len = 64, .seed = unsigned(i)}));
           }));
  check_checkpoint("hybrid", m);
}

TEST_CASE("a checkpoint with a misshaped tensor is rejected", "[checkpoint][errors]") {
  seqmix::mixers::mamba<float> m({.d_model = 16});
  auto s = m.make_state();
  auto st = io::state_to_safetensors(s);
  REQUIRE(!st.tensors.empty());
  auto& first = st.tensors.begin()->second;
  first.shape.push_back(1);
  first.shape[0] += 1;
  first.bytes.resize(std::size_t(first.count()) * io::dtype_size(first.type));
  auto fresh = m.make_state();
  CHECK_THROWS_AS(io::state_from_safetensors(fresh, st), shape_error);
}
