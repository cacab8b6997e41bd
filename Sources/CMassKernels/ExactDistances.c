#include "CMassKernels.h"

// Every sum below is one rounded product added to one rounded running sum, column by column,
// exactly as a plain loop does it: no contraction into fused multiply-adds.
#pragma clang fp contract(off)

typedef double lanes4 __attribute__((vector_size(32), aligned(8)));

/// Adds the squares of columns `column ..< column + 4` of four pairs (rows `a[i]` and `b[i]`) to
/// `sums` (one pair per lane) column by column: the four pairs' squared differences, a 4 x 4
/// transpose, then four additions in column order.
static inline __attribute__((always_inline)) void accumulate(
    lanes4 *sums, const double *const *a, const double *const *b, long column)
{
    lanes4 s[4];
    for (int pair = 0; pair < 4; pair++) {
        lanes4 delta = *(const lanes4 *)(a[pair] + column) - *(const lanes4 *)(b[pair] + column);
        s[pair] = delta * delta;
    }
    lanes4 low01 = __builtin_shufflevector(s[0], s[1], 0, 4, 2, 6), high01 = __builtin_shufflevector(s[0], s[1], 1, 5, 3, 7);
    lanes4 low23 = __builtin_shufflevector(s[2], s[3], 0, 4, 2, 6), high23 = __builtin_shufflevector(s[2], s[3], 1, 5, 3, 7);
    *sums += __builtin_shufflevector(low01, low23, 0, 1, 4, 5);
    *sums += __builtin_shufflevector(high01, high23, 0, 1, 4, 5);
    *sums += __builtin_shufflevector(low01, low23, 2, 3, 6, 7);
    *sums += __builtin_shufflevector(high01, high23, 2, 3, 6, 7);
}

/// The kernel, inlined into one copy per instruction set. Eight pairs at a time in two
/// independent sums, so an addition's latency is hidden behind the other pairs' work rather than
/// paid once per column.
static inline __attribute__((always_inline)) void exact(
    const double *rows, long dimension, const int32_t *first, const int32_t *second, long count, double *squaredDistances)
{
    long pair = 0;
    for (; pair + 8 <= count; pair += 8) {
        const double *a[8], *b[8];
        for (int lane = 0; lane < 8; lane++) {
            a[lane] = rows + (long)first[pair + lane] * dimension;
            b[lane] = rows + (long)second[pair + lane] * dimension;
        }
        lanes4 low = {0, 0, 0, 0}, high = {0, 0, 0, 0};
        long column = 0;
        for (; column + 4 <= dimension; column += 4) {
            accumulate(&low, a, b, column);
            accumulate(&high, a + 4, b + 4, column);
        }
        for (; column < dimension; column++) {
            lanes4 lowDelta = {a[0][column] - b[0][column], a[1][column] - b[1][column], a[2][column] - b[2][column],
                               a[3][column] - b[3][column]};
            lanes4 highDelta = {a[4][column] - b[4][column], a[5][column] - b[5][column], a[6][column] - b[6][column],
                                a[7][column] - b[7][column]};
            low += lowDelta * lowDelta;
            high += highDelta * highDelta;
        }
        for (int lane = 0; lane < 4; lane++) {
            squaredDistances[pair + lane] = low[lane];
            squaredDistances[pair + 4 + lane] = high[lane];
        }
    }
    for (; pair < count; pair++) {
        const double *a = rows + (long)first[pair] * dimension, *b = rows + (long)second[pair] * dimension;
        double sum = 0;
        for (long column = 0; column < dimension; column++) {
            double delta = a[column] - b[column];
            sum += delta * delta;
        }
        squaredDistances[pair] = sum;
    }
}

#if defined(__x86_64__)
__attribute__((target("avx2"))) static void exactAVX2(
    const double *rows, long dimension, const int32_t *first, const int32_t *second, long count, double *squaredDistances)
{
    exact(rows, dimension, first, second, count, squaredDistances);
}
#endif

void mmc_exact_squared_distances(
    const double *rows, long dimension, const int32_t *first, const int32_t *second, long count, double *squaredDistances)
{
#if defined(__x86_64__)
    if (__builtin_cpu_supports("avx2")) {
        exactAVX2(rows, dimension, first, second, count, squaredDistances);
        return;
    }
#endif
    exact(rows, dimension, first, second, count, squaredDistances);
}
