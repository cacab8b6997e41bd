#include "CMassKernels.h"

typedef float lanes8 __attribute__((vector_size(32), aligned(4)));
typedef int32_t mask8 __attribute__((vector_size(32), aligned(4)));

/// The filter, inlined into one copy per instruction set. Eight queries times eight candidates
/// are summed in eight registers, one column at a time: one load of the candidates' column and
/// eight broadcasts feed eight multiply-adds.
static inline __attribute__((always_inline)) void filter(
    const float *query, const float *candidates, long blockCount, long dimension,
    const float *queryNorms, const float *queryRadii, const float *limits,
    const float *candidateNorms, const float *candidateRadii,
    float cancellation, float rounding, uint8_t *masks)
{
    for (long block = 0; block < blockCount; block++) {
        const float *columns = candidates + block * dimension * 8;
        lanes8 dots[8] = {0};
        for (long column = 0; column < dimension; column++) {
            lanes8 values = *(const lanes8 *)(columns + column * 8);
            const float *q = query + column * 8;
            for (int lane = 0; lane < 8; lane++) {
                dots[lane] += q[lane] * values;
            }
        }
        lanes8 norms = *(const lanes8 *)(candidateNorms + block * 8), radii = *(const lanes8 *)(candidateRadii + block * 8);
        for (int lane = 0; lane < 8; lane++) {
            lanes8 approximate = (queryNorms[lane] + norms) - 2.0f * dots[lane];
            lanes8 a = queryRadii[lane] + radii;
            lanes8 s = limits[lane] + rounding * a;
            lanes8 threshold = (cancellation * a * a + s * s) * (1.0f + 0x1p-20f) + 1e-30f;
            // Each lane's comparison is all ones or all zeros: keep its own bit, then OR the lanes.
            mask8 keep = (approximate <= threshold) & (mask8){1, 2, 4, 8, 16, 32, 64, 128};
            masks[block * 8 + lane] = (uint8_t)__builtin_reduce_or(keep);
        }
    }
}

#if defined(__x86_64__)
__attribute__((target("avx2,fma"))) static void filterAVX2(
    const float *query, const float *candidates, long blockCount, long dimension,
    const float *queryNorms, const float *queryRadii, const float *limits,
    const float *candidateNorms, const float *candidateRadii,
    float cancellation, float rounding, uint8_t *masks)
{
    filter(query, candidates, blockCount, dimension, queryNorms, queryRadii, limits, candidateNorms,
           candidateRadii, cancellation, rounding, masks);
}
#endif

void mmc_distance_filter(
    const float *query, const float *candidates, long blockCount, long dimension,
    const float *queryNorms, const float *queryRadii, const float *limits,
    const float *candidateNorms, const float *candidateRadii,
    float cancellation, float rounding, uint8_t *masks)
{
#if defined(__x86_64__)
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        filterAVX2(query, candidates, blockCount, dimension, queryNorms, queryRadii, limits, candidateNorms,
                   candidateRadii, cancellation, rounding, masks);
        return;
    }
#endif
    filter(query, candidates, blockCount, dimension, queryNorms, queryRadii, limits, candidateNorms,
           candidateRadii, cancellation, rounding, masks);
}
