#pragma once
// Scratch memory for kernels: a per-thread, 64-byte aligned buffer that only grows, so a
// kernel called in a loop allocates once and then never again.
#include <cstddef>
#include <cstdlib>
#include <memory>
#include <new>

namespace seqmix {

class workspace {
 public:
  static constexpr std::size_t alignment = 64;

  workspace() = default;
  workspace(const workspace&) = delete;
  workspace& operator=(const workspace&) = delete;

  // At least `bytes` bytes, aligned; contents unspecified. Invalidates earlier pointers
  // only when it has to grow.
  void* reserve(std::size_t bytes) {
    if (bytes > capacity_) {
      std::size_t cap = std::max<std::size_t>(bytes, capacity_ + capacity_ / 2);
      cap = (cap + alignment - 1) / alignment * alignment;
      void* p = std::aligned_alloc(alignment, cap);
      if (!p) throw std::bad_alloc();
      buffer_.reset(static_cast<std::byte*>(p));
      capacity_ = cap;
    }
    return buffer_.get();
  }

  template <class T>
  T* get(std::size_t count) { return static_cast<T*>(reserve(count * sizeof(T))); }

  std::size_t capacity() const noexcept { return capacity_; }

 private:
  struct free_deleter {
    void operator()(std::byte* p) const noexcept { std::free(p); }
  };
  std::unique_ptr<std::byte, free_deleter> buffer_;
  std::size_t capacity_ = 0;
};

// Slots 0-3 belong to kernels and ops (a kernel needing two disjoint buffers uses slots 0
// and 1; each header says which it takes). Slot 4 is the mixers' own scratch (projections,
// gates): no op or kernel touches it, so a mixer's buffers survive the ops it calls.
inline constexpr int workspace_slots = 5;
inline constexpr int mixer_workspace_slot = 4;

// The calling thread's workspace number `slot`.
inline workspace& thread_workspace(int slot = 0) {
  thread_local workspace ws[workspace_slots];
  return ws[static_cast<unsigned>(slot) % workspace_slots];
}

}  // namespace seqmix
