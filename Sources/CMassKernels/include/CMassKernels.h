#ifndef C_MASS_KERNELS_H
#define C_MASS_KERNELS_H

#include <stdint.h>

/// Marks the candidates that may lie within each query's limit, by the Float32 dot-product
/// expansion |q|^2 + |c|^2 - 2 q.c of their squared distance, for one block of 8 queries
/// against `blockCount` consecutive blocks of 8 candidates.
///
/// Points are stored in blocks of 8, per column the 8 values (`values[(block * dimension +
/// column) * 8 + lane]`). Bit `j` of `masks[b * 8 + i]` is set unless the approximate squared
/// distance of query `i` and candidate `j` of block `b` exceeds
/// `((cancellation * a^2 + (limits[i] + rounding * a)^2) * (1 + 2^-20) + 1e-30`, where
/// `a = queryRadii[i] + candidateRadii[b * 8 + j]`: the bound that KDTree+FilteredScan.swift
/// proves never drops a candidate whose exact distance is within the limit. Pure: no state, no
/// I/O. Uses AVX2 and FMA when the processor has them, plain SIMD otherwise.
void mmc_distance_filter(
    const float *query, const float *candidates, long blockCount, long dimension,
    const float *queryNorms, const float *queryRadii, const float *limits,
    const float *candidateNorms, const float *candidateRadii,
    float cancellation, float rounding, uint8_t *masks);

/// The squared Euclidean distances of `count` pairs of rows of `rows` (row-major, `dimension`
/// values each): pair `i` is rows `first[i]` and `second[i]`. Each is summed in Float64 column
/// by column from 0, a rounded square added to a rounded sum (no fused multiply-add), so it is
/// bit for bit the sum of a plain loop; pairs are computed eight at a time so that the additions
/// of one pair wait on each other but not those of all. Pure: no state, no I/O. Uses AVX2 when
/// the processor has it.
void mmc_exact_squared_distances(
    const double *rows, long dimension, const int32_t *first, const int32_t *second, long count,
    double *squaredDistances);

/// The squared Euclidean distance of `a` and `b` (`dimension` values each), summed in any order
/// and fused where the processor fuses: within `dimension * 2^-53` of the true value relative,
/// for the neighbour search's ball bounds, whose margin is far wider; not for neighbours. Pure.
/// Uses AVX2 and FMA when the processor has them.
double mmc_bound_squared_distance(const double *a, const double *b, long dimension);

/// Squared Euclidean distances in Float32 from `query` to the rows `candidates[0 ..< count]` of
/// `points`, written to `distances[0 ..< count]`.
///
/// Rows are `stride` floats apart, `stride` a multiple of 8, padded with zeros (as `query` is).
/// Each distance sums 8 lanes of squared differences column block by column block with one
/// fused multiply-add per block, then the 8 lanes in a fixed tree order, so it is the same
/// float for (a, b) and (b, a) and on every x86-64 processor (the fallback without FMA uses
/// the same fused operation in software). Pure: no state, no I/O.
void mmc_float32_squared_distances(
    const float *points, long stride, const float *query, const int32_t *candidates, long count,
    float *distances);

/// Asks for the cache line at `address` ahead of its use (a hint: no effect on results).
static inline void mmc_prefetch(const void *address) { __builtin_prefetch(address); }

#endif
