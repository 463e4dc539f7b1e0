// A user's program: include the library, check the concept on a real mixer, run it.
#include <cmath>
#include <cstdio>

#include <seqmix/seqmix.hpp>

static_assert(seqmix::mixer<seqmix::mixers::linear_scan_mixer<float>>, "linear_scan_mixer must be a mixer");

int main() {
  seqmix::mixers::linear_scan_mixer<float> m({.d_model = 8});
  auto state = m.make_state();
  seqmix::tensor<float> x({5, 8}, 1.0f), y({5, 8});
  m.forward(x.cview<2>(), y.view<2>(), state);
  for (float v : y.values())
    if (!std::isfinite(v)) return 1;
  std::printf("seqmix %d.%d.%d consumer ok\n", seqmix::version_major, seqmix::version_minor, seqmix::version_patch);
  return 0;
}
