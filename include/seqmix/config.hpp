#pragma once
// Library-wide macros. Shape checks at op boundaries are always on (they are cheap and
// the contract); SEQMIX_ASSERT adds internal invariant checks in debug builds only.
#include <cassert>

#if defined(_OPENMP) && !defined(SEQMIX_NO_OPENMP)
#define SEQMIX_HAS_OPENMP 1
#else
#define SEQMIX_HAS_OPENMP 0
#endif

#ifndef NDEBUG
#define SEQMIX_ASSERT(cond) assert(cond)
#else
#define SEQMIX_ASSERT(cond) ((void)0)
#endif

#if defined(__GNUC__)
#define SEQMIX_RESTRICT __restrict__
#define SEQMIX_INLINE inline __attribute__((always_inline))
#else
#define SEQMIX_RESTRICT
#define SEQMIX_INLINE inline
#endif
