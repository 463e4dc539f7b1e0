// Generation demo: a small language model (embedding -> Mamba-2 / SwiGLU blocks -> LM head),
// prefill a prompt, then a greedy decode loop with `step_token`, reporting tokens/s.
// (Random weights: the tokens are meaningless; load real ones with io::load_weights.)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include <seqmix/seqmix.hpp>

int main() {
  using namespace seqmix;
  using namespace seqmix::compose;
  constexpr std::size_t d = 256, vocab = 1000;
  using ssm_block = residual<rms_norm, mixers::mamba2<float>>;
  using ffn_block = residual<rms_norm, swiglu<float>>;
  using layer = stack<ssm_block, ffn_block>;
  sequence_model<repeat<4, layer>> lm(repeat<4, layer>([](std::size_t i) {
                                        return layer(ssm_block(mixers::mamba2<float>({.d_model = d, .d_state = 64, .seed = unsigned(i)})),
                                                     ffn_block(swiglu<float>({.d_model = d, .seed = unsigned(i)})));
                                      }),
                                      vocab, /*seed=*/3);
  std::vector<std::int32_t> prompt(128);
  for (std::size_t i = 0; i < prompt.size(); ++i) prompt[i] = std::int32_t((i * 37) % vocab);

  auto state = lm.make_state();
  tensor<float> logits({index_t(prompt.size()), index_t(vocab)});
  const auto t0 = std::chrono::steady_clock::now();
  lm.forward_tokens(prompt, logits.view<2>(), state);
  const auto t1 = std::chrono::steady_clock::now();
  auto argmax = [&](const float* row) { return std::int32_t(std::max_element(row, row + vocab) - row); };
  std::int32_t next = argmax(logits.data() + (prompt.size() - 1) * vocab);
  std::vector<float> row(vocab);
  std::vector<std::int32_t> generated;
  const int n_new = 64;
  for (int i = 0; i < n_new; ++i) {
    generated.push_back(next);
    lm.step_token(next, row, state);
    next = argmax(row.data());
  }
  const auto t2 = std::chrono::steady_clock::now();
  std::printf("prefill %zu tokens: %.1f ms (%.0f tokens/s)\n", prompt.size(),
              std::chrono::duration<double, std::milli>(t1 - t0).count(),
              prompt.size() / std::chrono::duration<double>(t1 - t0).count());
  std::printf("decode %d tokens: %.0f tokens/s\nfirst tokens:", n_new, n_new / std::chrono::duration<double>(t2 - t1).count());
  for (int i = 0; i < 10; ++i) std::printf(" %d", generated[std::size_t(i)]);
  std::printf("\n");
  return 0;
}
