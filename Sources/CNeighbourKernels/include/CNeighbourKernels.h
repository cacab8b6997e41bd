#ifndef C_NEIGHBOUR_KERNELS_H
#define C_NEIGHBOUR_KERNELS_H

#include <stdint.h>

/// Squared Euclidean distances in Float32 from `query` to the rows `candidates[0 ..< count]` of
/// `points`, written to `distances[0 ..< count]`.
///
/// Rows are `stride` floats apart, `stride` a multiple of 8, padded with zeros (as `query` is).
/// Each distance sums 8 lanes of squared differences column block by column block with one
/// fused multiply-add per block, then the 8 lanes in a fixed tree order, so it is the same
/// float for (a, b) and (b, a) and on every x86-64 processor (the fallback without FMA uses
/// the same fused operation in software). Pure: no state, no I/O.
void mmc_squared_distances(
    const float *points, long stride, const float *query, const int32_t *candidates, long count,
    float *distances);

/// Asks for the cache line at `address` ahead of its use (a hint: no effect on results).
static inline void mmc_prefetch(const void *address) { __builtin_prefetch(address); }

#endif
