#include "CMassKernels.h"

typedef float lanes8 __attribute__((vector_size(32), aligned(4)));

/// Candidates ahead of the current one whose row is fetched.
enum { prefetchDistance = 6 };

/// The distances, inlined into one copy per instruction set.
static inline __attribute__((always_inline)) void squaredDistances(
    const float *points, long stride, const float *query, const int32_t *candidates, long count,
    float *distances)
{
    for (long index = 0; index < count; index++) {
        // The rows come from anywhere in memory: ask for one a few candidates ahead.
        if (index + prefetchDistance < count) {
            const char *ahead = (const char *)(points + (long)candidates[index + prefetchDistance] * stride);
            for (long offset = 0; offset < stride * (long)sizeof(float); offset += 64) __builtin_prefetch(ahead + offset);
        }
        const float *row = points + (long)candidates[index] * stride;
        lanes8 sum = {0};
        for (long column = 0; column < stride; column += 8) {
            lanes8 difference = *(const lanes8 *)(query + column) - *(const lanes8 *)(row + column);
            sum = __builtin_elementwise_fma(difference, difference, sum);
        }
        float a = (sum[0] + sum[4]) + (sum[2] + sum[6]);
        float b = (sum[1] + sum[5]) + (sum[3] + sum[7]);
        distances[index] = a + b;
    }
}

#if defined(__x86_64__)
__attribute__((target("avx2,fma"))) static void squaredDistancesAVX2(
    const float *points, long stride, const float *query, const int32_t *candidates, long count,
    float *distances)
{
    squaredDistances(points, stride, query, candidates, count, distances);
}
#endif

void mmc_float32_squared_distances(
    const float *points, long stride, const float *query, const int32_t *candidates, long count,
    float *distances)
{
#if defined(__x86_64__)
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        squaredDistancesAVX2(points, stride, query, candidates, count, distances);
        return;
    }
#endif
    squaredDistances(points, stride, query, candidates, count, distances);
}
