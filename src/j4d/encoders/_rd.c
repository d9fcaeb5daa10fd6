/* j4d's rate-distortion JPEG encoder: analysis, trellis quantization and a JPEG writer.
 *
 * One call turns an 8-bit RGB image into a baseline 4:4:4 JPEG with the given tables:
 *
 *   1. libjpeg's fixed-point RGB -> YCbCr, edge replication to whole blocks, level shift and the
 *      orthonormal 8x8 DCT (float AAN factorization in double precision);
 *   2. DC indices coded by DPCM per component (ITU T.81 F.1.2.1), each block's chosen among
 *      r - 1, r, r + 1 (r: plain rounding) by a Viterbi pass over the chain with the cost below;
 *   3. AC indices of each block by a trellis over the zig-zag positions: the path of nonzero
 *      coefficients minimizing  D + mu * R,  with D = sum_k w_k (y_k - c_k q_k)^2  (weights per
 *      component and frequency, or per block) and R the bits of the run/size symbols (their
 *      Huffman code lengths plus the amplitude bits, ZRLs and the EOB; or, if asked, where
 *      the file will be progressive, each component's AC band as that frame codes it, the EOB
 *      as a share of the band's EOB runs);
 *   4. the Huffman tables re-derived from the chosen indices after each pass (libjpeg's
 *      jpeg_gen_optimal_table, ITU T.81 K.2), so the file's tables are optimal for them;
 *   5. a baseline file, a progressive one by spectral selection (DC scan, then each
 *      component's AC band with EOB runs), or the smaller of the two.
 *
 * With shared Huffman tables (a data set's, given as DHT payloads: the baseline scan's DC and AC
 * tables, and the progressive AC bands' luma and chroma tables) the trellis prices bits by the
 * baseline scan's code lengths, the file uses those tables, and an abbreviated file (ITU T.81
 * B.4: no DQT, no DHT; the tables travel once, beside the files) leaves both out.
 *
 * mu = 0 gives plain rounding, half away from zero (libjpeg's rule). Python owns the checks of
 * its inputs (j4d.encoders.rd); this file trusts them.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define MAX_AC_SIZE 10
#define MAX_INDEX 1023
#define EOB 0x00
#define ZRL 0xF0

static const int NATURAL_OF_ZIGZAG[64] = {
    0,  1,  8,  16, 9,  2,  3,  10, 17, 24, 32, 25, 18, 11, 4,  5,  12, 19, 26, 33, 40, 48,
    41, 34, 27, 20, 13, 6,  7,  14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23,
    30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63};

/* JPEG's size category: the bit length of a magnitude (0 for 0) */
static inline int size_of(int magnitude) { return magnitude ? 32 - __builtin_clz((unsigned)magnitude) : 0; }

/* Bit k set where block[k] != 0 (k = 1..63; the DC bit is left out). */
static inline uint64_t ac_nonzero(const int16_t *block) {
#ifdef __SSE2__
    uint64_t mask = 0;
    const __m128i zero = _mm_setzero_si128();
    for (int k = 0; k < 64; k += 16) {
        __m128i a = _mm_loadu_si128((const __m128i *)(block + k));
        __m128i b = _mm_loadu_si128((const __m128i *)(block + k + 8));
        __m128i zeros = _mm_packs_epi16(_mm_cmpeq_epi16(a, zero), _mm_cmpeq_epi16(b, zero));
        mask |= (uint64_t)(uint16_t)~_mm_movemask_epi8(zeros) << k;
    }
    return mask & ~(uint64_t)1;
#else
    uint64_t mask = 0;
    for (int k = 1; k < 64; k++) mask |= (uint64_t)(block[k] != 0) << k;
    return mask;
#endif
}

/* Bit k set where |y[k]| >= half[k], i.e. where plain rounding gives a nonzero index. */
static inline uint64_t rounds_nonzero(const double *y, const double *half) {
    uint64_t mask = 0;
#ifdef __SSE2__
    const __m128d sign = _mm_set1_pd(-0.0);
    for (int k = 0; k < 64; k += 2) {
        __m128d magnitude = _mm_andnot_pd(sign, _mm_loadu_pd(y + k));
        mask |= (uint64_t)_mm_movemask_pd(_mm_cmpge_pd(magnitude, _mm_loadu_pd(half + k))) << k;
    }
#else
    for (int k = 0; k < 64; k++) mask |= (uint64_t)(fabs(y[k]) >= half[k]) << k;
#endif
    return mask;
}

/* a DC index within baseline's range */
static inline int clamp_dc(int value) { return value < -2047 ? -2047 : value > 2047 ? 2047 : value; }

/* round(|y| / q) half up: truncation is floor here, and cheaper than libm's floor; a division,
 * not a product with 1 / q, so that ties (|y| = 1.5 q) round as libjpeg rounds them */
static inline int rounded_magnitude(double y, double step) { return (int)(fabs(y) / step + 0.5); }

/* ---------------------------------------------------------------- analysis */

/* One 8-point pass of the AAN float DCT (libjpeg's jfdctflt) down each of the 8 columns of
 * d[row][column]; the loop over columns is what the compiler vectorizes. Outputs are scaled by
 * aan_divisor. */
static void fdct_columns(double d[8][8]) {
    for (int j = 0; j < 8; j++) {
        double tmp0 = d[0][j] + d[7][j], tmp7 = d[0][j] - d[7][j];
        double tmp1 = d[1][j] + d[6][j], tmp6 = d[1][j] - d[6][j];
        double tmp2 = d[2][j] + d[5][j], tmp5 = d[2][j] - d[5][j];
        double tmp3 = d[3][j] + d[4][j], tmp4 = d[3][j] - d[4][j];
        double tmp10 = tmp0 + tmp3, tmp13 = tmp0 - tmp3;
        double tmp11 = tmp1 + tmp2, tmp12 = tmp1 - tmp2;
        d[0][j] = tmp10 + tmp11;
        d[4][j] = tmp10 - tmp11;
        double z1 = (tmp12 + tmp13) * 0.70710678118654752;
        d[2][j] = tmp13 + z1;
        d[6][j] = tmp13 - z1;
        tmp10 = tmp4 + tmp5;
        tmp11 = tmp5 + tmp6;
        tmp12 = tmp6 + tmp7;
        double z5 = (tmp10 - tmp12) * 0.38268343236508977;
        double z2 = 0.54119610014619698 * tmp10 + z5;
        double z4 = 1.30656296487637653 * tmp12 + z5;
        double z3 = tmp11 * 0.70710678118654752;
        double z11 = tmp7 + z3, z13 = tmp7 - z3;
        d[5][j] = z13 + z2;
        d[3][j] = z13 - z2;
        d[1][j] = z11 + z4;
        d[7][j] = z11 - z4;
    }
}

static void transpose(double d[8][8]) {
    for (int i = 0; i < 8; i++)
        for (int j = i + 1; j < 8; j++) {
            double t = d[i][j];
            d[i][j] = d[j][i];
            d[j][i] = t;
        }
}

/* Per zig-zag position: where the two passes leave that frequency, and the factor that makes
 * it the orthonormal DCT coefficient (1 / (8 s_u s_v), s_0 = 1, s_k = sqrt(2) cos(k pi / 16)). */
static int aan_source[64];
static double aan_factor[64];
static int aan_ready = 0;

static void prepare_aan(void) {
    if (aan_ready) return;
    double scale[8];
    scale[0] = 1.0;
    for (int k = 1; k < 8; k++) scale[k] = cos(k * M_PI / 16.0) * sqrt(2.0);
    for (int k = 0; k < 64; k++) {
        int n = NATURAL_OF_ZIGZAG[k], u = n / 8, v = n % 8; /* vertical u, horizontal v */
        aan_source[k] = v * 8 + u;                          /* the passes end transposed */
        aan_factor[k] = 1.0 / (8.0 * scale[u] * scale[v]);
    }
    aan_ready = 1;
}

/* libjpeg's jccolor.c (16 fraction bits; Y rounds half up, Cb and Cr half down), level-shifted,
 * into planes padded to whole blocks by repeating the last column and row. */
static void padded_planes(const uint8_t *rgb, int height, int width, int stride, int rows,
                          double *planes) {
    Py_ssize_t size = (Py_ssize_t)stride * rows;
    double *Y = planes, *Cb = planes + size, *Cr = planes + 2 * size;
    for (int row = 0; row < height; row++) {
        const uint8_t *source = rgb + (Py_ssize_t)row * width * 3;
        double *y = Y + (Py_ssize_t)row * stride, *cb = Cb + (Py_ssize_t)row * stride,
               *cr = Cr + (Py_ssize_t)row * stride;
        for (int x = 0; x < width; x++) {
            int32_t r = source[3 * x], g = source[3 * x + 1], b = source[3 * x + 2];
            y[x] = (double)((19595 * r + 38470 * g + 7471 * b + 32768) >> 16) - 128.0;
            cb[x] = (double)((-11059 * r - 21709 * g + 32768 * b + (128 << 16) + 32767) >> 16) - 128.0;
            cr[x] = (double)((32768 * r - 27439 * g - 5329 * b + (128 << 16) + 32767) >> 16) - 128.0;
        }
        for (int x = width; x < stride; x++) {
            y[x] = y[width - 1];
            cb[x] = cb[width - 1];
            cr[x] = cr[width - 1];
        }
    }
    for (int c = 0; c < 3; c++)
        for (int row = height; row < rows; row++)
            memcpy(planes + c * size + (Py_ssize_t)row * stride,
                   planes + c * size + (Py_ssize_t)(height - 1) * stride, stride * sizeof(double));
}

/* coefficients: (3, blocks, 64) zig-zag, blocks in raster order over the padded image */
static int analyze(const uint8_t *rgb, int height, int width, double *coefficients) {
    prepare_aan();
    int hb = (height + 7) / 8, wb = (width + 7) / 8;
    int stride = wb * 8, rows = hb * 8;
    Py_ssize_t size = (Py_ssize_t)stride * rows, blocks = (Py_ssize_t)hb * wb;
    double *planes = malloc(3 * size * sizeof(double));
    if (!planes) return -1;
    padded_planes(rgb, height, width, stride, rows, planes);
    double d[8][8];
    for (int c = 0; c < 3; c++) {
        for (int by = 0; by < hb; by++) {
            for (int bx = 0; bx < wb; bx++) {
                const double *corner = planes + c * size + (Py_ssize_t)by * 8 * stride + bx * 8;
                for (int y = 0; y < 8; y++) memcpy(d[y], corner + (Py_ssize_t)y * stride, 64);
                fdct_columns(d);
                transpose(d);
                fdct_columns(d);
                const double *flat = &d[0][0];
                double *out = coefficients + ((Py_ssize_t)c * blocks + (Py_ssize_t)by * wb + bx) * 64;
                for (int k = 0; k < 64; k++) out[k] = flat[aan_source[k]] * aan_factor[k];
            }
        }
    }
    free(planes);
    return 0;
}

/* ---------------------------------------------------------------- Huffman tables */

typedef struct {
    uint8_t bits[17];     /* codes of each length 1..16 */
    uint8_t values[256];  /* symbols by code */
    int count;            /* symbols with a code */
    uint8_t length[256];  /* code length per symbol, 0: none */
    uint16_t code[256];
} Huffman;

/* heap order of two symbols: less frequent first, then the higher symbol */
static inline int before(const int64_t *freq, int a, int b) {
    return freq[a] < freq[b] || (freq[a] == freq[b] && a > b);
}

static int pop(const int64_t *freq, int *heap, int *live) {
    int top = heap[0], last = heap[--*live], at = 0;
    for (;;) {
        int child = 2 * at + 1;
        if (child >= *live) break;
        if (child + 1 < *live && before(freq, heap[child + 1], heap[child])) child++;
        if (!before(freq, heap[child], last)) break;
        heap[at] = heap[child];
        at = child;
    }
    if (*live > 0) heap[at] = last;
    return top;
}

/* canonical codes (ITU T.81 C.2), in the order of values[] with the lengths of bits[] */
static void assign_codes(Huffman *table) {
    uint16_t code = 0;
    int k = 0;
    for (int size = 1; size <= 16; size++) {
        for (int n = 0; n < table->bits[size]; n++, k++) {
            table->length[table->values[k]] = (uint8_t)size;
            table->code[table->values[k]] = code++;
        }
        code <<= 1;
    }
}

/* libjpeg's jpeg_gen_optimal_table (ITU T.81 K.2): merge the two least frequent nodes (among
 * equals the highest symbol), a reserved code point keeps all-ones codes out, and lengths
 * above 16 bits are folded. */
static void optimal_table(const int64_t *frequency, Huffman *table) {
    int64_t freq[257];
    int codesize[257], others[257], bits[33];
    memcpy(freq, frequency, 256 * sizeof(int64_t));
    freq[256] = 1;
    for (int i = 0; i < 257; i++) {
        codesize[i] = 0;
        others[i] = -1;
    }
    memset(bits, 0, sizeof bits);
    /* a binary heap of live nodes, least frequent first and, among equals, the highest
     * symbol: the pair libjpeg's linear scans pick, in O(n log n) */
    int heap[257], live = 0;
    for (int i = 0; i <= 256; i++)
        if (freq[i]) {
            int at = live++;
            while (at > 0 && before(freq, i, heap[(at - 1) / 2])) {
                heap[at] = heap[(at - 1) / 2];
                at = (at - 1) / 2;
            }
            heap[at] = i;
        }
    while (live > 1) {
        int c1 = pop(freq, heap, &live);
        int c2 = pop(freq, heap, &live);
        freq[c1] += freq[c2];
        freq[c2] = 0;
        codesize[c1]++;
        int node = c1;
        while (others[node] >= 0) {
            node = others[node];
            codesize[node]++;
        }
        others[node] = c2;
        codesize[c2]++;
        while (others[c2] >= 0) {
            c2 = others[c2];
            codesize[c2]++;
        }
        int at = live++;
        while (at > 0 && before(freq, c1, heap[(at - 1) / 2])) {
            heap[at] = heap[(at - 1) / 2];
            at = (at - 1) / 2;
        }
        heap[at] = c1;
    }
    for (int i = 0; i <= 256; i++)
        if (codesize[i]) bits[codesize[i] > 32 ? 32 : codesize[i]]++;
    for (int i = 32; i > 16; i--) {
        while (bits[i] > 0) {
            int j = i - 2;
            while (bits[j] == 0) j--;
            bits[i] -= 2;
            bits[i - 1]++;
            bits[j + 1] += 2;
            bits[j]--;
        }
    }
    int longest = 16;
    while (longest > 0 && bits[longest] == 0) longest--;
    if (longest > 0) bits[longest]--;
    memset(table, 0, sizeof *table);
    for (int i = 1; i <= 16; i++) table->bits[i] = (uint8_t)bits[i];
    int p = 0;
    for (int size = 1; size <= 32; size++)
        for (int symbol = 0; symbol < 256; symbol++)
            if (codesize[symbol] == size) table->values[p++] = (uint8_t)symbol;
    table->count = p;
    assign_codes(table);
}

/* A table from a DHT payload's 16 counts and its symbols (``spec``: 16 + 256 bytes; Python has
 * checked that the counts sum to at most 256 and that the code fits 16 bits). */
static void table_from_spec(const uint8_t *spec, Huffman *table) {
    memset(table, 0, sizeof *table);
    int count = 0;
    for (int i = 1; i <= 16; i++) count += table->bits[i] = spec[i - 1];
    memcpy(table->values, spec + 16, (size_t)count);
    table->count = count;
    assign_codes(table);
}

/* ---------------------------------------------------------------- trellis */

/* The price mu x bits of a nonzero AC of each size after each run of zeros, from the lengths of
 * an optimal table of ``counts`` where every symbol baseline allows counts at least once (a
 * symbol unseen so far still has a price): its run/size code, its amplitude bits and a ZRL per
 * 16 zeros. Also the cheapest price per size (over runs), and the EOB's. */
typedef struct {
    double run[MAX_AC_SIZE + 1][64];
    double cheapest[MAX_AC_SIZE + 1];
    double eob, eob_empty; /* a block's end after a nonzero, and a block with no nonzero AC */
} Prices;

static void ac_prices_of(const Huffman *table, double mu, Prices *prices) {
    prices->eob = mu * table->length[EOB];
    prices->eob_empty = prices->eob;
    for (int size = 1; size <= MAX_AC_SIZE; size++) {
        prices->cheapest[size] = INFINITY;
        for (int run = 0; run < 63; run++) {
            double bits = table->length[((run & 15) << 4) | size] + size + (run >> 4) * table->length[ZRL];
            prices->run[size][run] = mu * bits;
            if (prices->run[size][run] < prices->cheapest[size]) prices->cheapest[size] = mu * bits;
        }
    }
}

static void ac_prices(const int64_t *counts, double mu, Prices *prices) {
    int64_t smoothed[256];
    memset(smoothed, 0, sizeof smoothed);
    smoothed[EOB] = counts[EOB] > 0 ? counts[EOB] : 1;
    smoothed[ZRL] = counts[ZRL] > 0 ? counts[ZRL] : 1;
    for (int run = 0; run < 16; run++)
        for (int size = 1; size <= MAX_AC_SIZE; size++) {
            int symbol = (run << 4) | size;
            smoothed[symbol] = counts[symbol] > 0 ? counts[symbol] : 1;
        }
    Huffman table;
    optimal_table(smoothed, &table);
    ac_prices_of(&table, mu, prices);
}

/* AC indices (zig-zag 1..63) of one block minimizing D + mu R; index[0] is left alone.
 *
 * Only positions whose plain rounding r is nonzero can hold a nonzero index (candidates |c|: r
 * and 2^s - 1 for each smaller size s, as mozjpeg's trellis has them); the others are zero. A path is the list of nonzero positions; its cost from the
 * start to a nonzero at i, minus the distortion of zeroing every position 1..i, is
 *   B(i) = min_j [B(j) + mu bits(run i-j-1, size)] + d(c_i) - w_i y_i^2,
 * so the zeroed positions between nodes never need summing. Predecessors are visited latest
 * first (equal costs keep the coefficient: plain rounding at mu = 0) and the scan stops once
 * the cheapest earlier B plus the fewest bits any symbol of that size costs cannot win. */
static void trellis_block(const double *y, const double *step, const double *half_step,
                          const double *weight, const Prices *prices, int16_t *index) {
    double B[64], floor_B[65]; /* floor_B[n]: min of B over the start and the first n nodes */
    int16_t chosen[64];
    int previous[64], nodes[64], count = 0;
    B[0] = 0.0;
    floor_B[0] = 0.0;
    uint64_t candidates = rounds_nonzero(y, half_step) & ~(uint64_t)1;
    memset(index + 1, 0, 63 * sizeof *index);
    for (; candidates; candidates &= candidates - 1) {
        int i = __builtin_ctzll(candidates);
        double magnitude = fabs(y[i]);
        int rounded = rounded_magnitude(y[i], step[i]);
        if (rounded > MAX_INDEX) rounded = MAX_INDEX;
        double best_here = INFINITY;
        int best_from = 0, best_value = 0;
        /* r, then the largest magnitude of each smaller size (2^s - 1: fewer amplitude bits,
         * the least error among them); 0 is the path that skips i */
        int sizes = size_of(rounded);
        for (int candidate = 0; candidate < sizes; candidate++) {
            int value = candidate == 0 ? rounded : (1 << (sizes - candidate)) - 1;
            double error = magnitude - (double)value * step[i];
            double distortion = weight[i] * error * error;
            int size = size_of(value);
            const double *price = prices->run[size];
            double floor_price = prices->cheapest[size] + distortion;
            for (int n = count; n >= 0; n--) {
                if (floor_B[n] + floor_price >= best_here) break;
                int j = n > 0 ? nodes[n - 1] : 0;
                double cost = B[j] + price[i - j - 1] + distortion;
                if (cost < best_here) {
                    best_here = cost;
                    best_from = j;
                    best_value = value;
                }
            }
        }
        B[i] = best_here - weight[i] * y[i] * y[i];
        previous[i] = best_from;
        chosen[i] = (int16_t)(y[i] < 0 ? -best_value : best_value);
        nodes[count++] = i;
        floor_B[count] = B[i] < floor_B[count - 1] ? B[i] : floor_B[count - 1];
    }
    double best_end = INFINITY;
    int last = 0;
    for (int n = count; n >= 0; n--) {
        if (floor_B[n] >= best_end) break;
        int j = n > 0 ? nodes[n - 1] : 0;
        double cost = B[j] + (j == 0 ? prices->eob_empty : j < 63 ? prices->eob : 0.0);
        if (cost < best_end) {
            best_end = cost;
            last = j;
        }
    }
    for (int j = last; j > 0; j = previous[j]) index[j] = chosen[j];
}

/* ---------------------------------------------------------------- scans */

typedef struct {
    const double *coefficients; /* (3, blocks, 64) */
    const int *steps;           /* (2, 64) zig-zag: luma, chroma */
    const double *weights;      /* (3, 64) or (3, blocks, 64) */
    double real_steps[2][64], half_steps[2][64];
    Py_ssize_t weight_stride;   /* 0 or 64: per block */
    Py_ssize_t blocks;
    double mu;
    int energy; /* mozjpeg 4's lambda per block: weights times block_lambda(y) */
    int pricing; /* the frame the bits are priced for: 0 the smaller, 1 baseline, 2 progressive */
    const Huffman *shared; /* NULL, or SHARED_TABLES tables (see get_shared) */
} Problem;

/* mozjpeg 4's per-block lambda in rd's units, 2^14.75 / (2^16.5 / 64 + mean of the 63 squared
 * AC coefficients) (its integer DCT is 8x the orthonormal one), as rd.py's energy_lambdas */
static double block_lambda(const double *y) {
    double energy = 0.0;
    for (int k = 1; k < 64; k++) energy += y[k] * y[k];
    return 27554.493735033717 / (1448.1546878700494 + energy / 63.0);
}

static const int TABLE_OF_COMPONENT[3] = {0, 1, 1};

static void plain_indices(const Problem *p, int16_t *indices) {
    for (int c = 0; c < 3; c++) {
        int t = TABLE_OF_COMPONENT[c];
        for (Py_ssize_t b = 0; b < p->blocks; b++) {
            const double *y = p->coefficients + (c * p->blocks + b) * 64;
            int16_t *out = indices + (c * p->blocks + b) * 64;
            memset(out, 0, 64 * sizeof *out);
            for (uint64_t mask = rounds_nonzero(y, p->half_steps[t]); mask; mask &= mask - 1) {
                int k = __builtin_ctzll(mask);
                int value = rounded_magnitude(y[k], p->real_steps[t][k]);
                int limit = k == 0 ? 2047 : MAX_INDEX;
                if (value > limit) value = limit;
                out[k] = (int16_t)(y[k] < 0 ? -value : value);
            }
        }
    }
}

/* counts[table][symbol]: tables 0, 1 DC luma / chroma, 2, 3 AC luma / chroma */
static void count_symbols(const int16_t *indices, Py_ssize_t blocks, int64_t counts[4][256]) {
    memset(counts, 0, 4 * 256 * sizeof(int64_t));
    for (int c = 0; c < 3; c++) {
        int t = TABLE_OF_COMPONENT[c];
        int64_t *ac = counts[2 + t];
        int previous_dc = 0;
        for (Py_ssize_t b = 0; b < blocks; b++) {
            const int16_t *block = indices + (c * blocks + b) * 64;
            int diff = block[0] - previous_dc;
            previous_dc = block[0];
            counts[t][size_of(abs(diff))]++;
            int last = 0;
            for (uint64_t mask = ac_nonzero(block); mask; mask &= mask - 1) {
                int k = __builtin_ctzll(mask), run = k - last - 1;
                ac[ZRL] += run >> 4;
                ac[((run & 15) << 4) | size_of(abs(block[k]))]++;
                last = k;
            }
            if (last < 63) ac[EOB]++;
        }
    }
}

/* The DC indices of one component's blocks (in scan order) minimizing D + mu R over the whole
 * DPCM chain: a Viterbi over the candidates r - 1, r, r + 1 of each block (r: plain rounding),
 * R the DC symbol's code length plus the difference's amplitude bits. ``dc_bits`` are the
 * code lengths of sizes 0..11 (an unseen size priced as if seen once). Equal costs keep r. */
static int dc_chain(const Problem *p, int c, const double *dc_bits, int16_t *indices) {
    Py_ssize_t blocks = p->blocks;
    int t = TABLE_OF_COMPONENT[c];
    double step = p->real_steps[t][0];
    double *cost = malloc(blocks * 3 * sizeof(double));
    int8_t *from = malloc(blocks * 3);
    int16_t *candidates = malloc(blocks * 3 * sizeof(int16_t));
    if (!cost || !from || !candidates) {
        free(cost);
        free(from);
        free(candidates);
        return -1;
    }
    static const int OFFSET[3] = {0, -1, 1}; /* r first: ties keep plain rounding */
    int states = 1;
    for (Py_ssize_t b = 0; b < blocks; b++) {
        const double *y = p->coefficients + (c * blocks + b) * 64;
        const double *w = p->weights + c * (p->weight_stride ? blocks * 64 : 64) + b * p->weight_stride;
        double scale = p->energy ? block_lambda(y) : 1.0;
        int rounded = indices[(c * blocks + b) * 64];
        int16_t *values = candidates + b * 3;
        const int16_t *previous = values - 3; /* the block before's candidates (b > 0) */
        for (int s = 0; s < 3; s++) {
            values[s] = (int16_t)clamp_dc(rounded + OFFSET[s]);
            double error = y[0] - values[s] * step;
            double distortion = scale * w[0] * error * error;
            double best = INFINITY;
            int best_from = 0;
            for (int r = 0; r < states; r++) {
                int size = size_of(abs(values[s] - (b > 0 ? previous[r] : 0)));
                double total = (b > 0 ? cost[(b - 1) * 3 + r] : 0.0) + p->mu * (dc_bits[size] + size);
                if (total < best) {
                    best = total;
                    best_from = r;
                }
            }
            cost[b * 3 + s] = best + distortion;
            from[b * 3 + s] = (int8_t)best_from;
        }
        states = 3;
    }
    int state = 0;
    for (int s = 1; s < 3; s++)
        if (cost[(blocks - 1) * 3 + s] < cost[(blocks - 1) * 3 + state]) state = s;
    for (Py_ssize_t b = blocks - 1; b >= 0; b--) {
        indices[(c * blocks + b) * 64] = candidates[b * 3 + state];
        state = from[b * 3 + state];
    }
    free(cost);
    free(from);
    free(candidates);
    return 0;
}

static void dc_prices(const int64_t *counts, double *bits) {
    int64_t smoothed[256];
    memset(smoothed, 0, sizeof smoothed);
    for (int size = 0; size <= 11; size++) smoothed[size] = counts[size] > 0 ? counts[size] : 1;
    Huffman table;
    optimal_table(smoothed, &table);
    for (int size = 0; size <= 11; size++) bits[size] = table.length[size];
}

/* ---------------------------------------------------------------- writer */

typedef struct {
    uint8_t *data;
    size_t size, capacity;
    uint64_t buffer;
    int filled;
} Writer;

static int reserve(Writer *w, size_t more) {
    if (w->size + more <= w->capacity) return 0;
    size_t capacity = w->capacity * 2 + more + 1024;
    uint8_t *data = realloc(w->data, capacity);
    if (!data) return -1;
    w->data = data;
    w->capacity = capacity;
    return 0;
}

static void put_byte(Writer *w, uint8_t byte) { w->data[w->size++] = byte; }

static void put_bytes(Writer *w, const uint8_t *bytes, size_t n) {
    memcpy(w->data + w->size, bytes, n);
    w->size += n;
}

/* up to 26 bits; a byte 0xFF in the scan is followed by a stuffed 0x00 */
static void put_bits(Writer *w, uint32_t value, int length) {
    w->buffer = (w->buffer << length) | (value & ((1u << length) - 1));
    w->filled += length;
    while (w->filled >= 8) {
        uint8_t byte = (uint8_t)(w->buffer >> (w->filled - 8));
        w->filled -= 8;
        put_byte(w, byte);
        if (byte == 0xFF) put_byte(w, 0x00);
    }
}

static void flush_bits(Writer *w) {
    if (w->filled > 0) put_bits(w, 0x7F, 8 - w->filled); /* pad with ones */
}

static void put_marker(Writer *w, uint8_t marker, int length) {
    put_byte(w, 0xFF);
    put_byte(w, marker);
    put_byte(w, (uint8_t)(length >> 8));
    put_byte(w, (uint8_t)length);
}

static void put_amplitude(Writer *w, const Huffman *table, int symbol, int value, int size) {
    put_bits(w, table->code[symbol], table->length[symbol]);
    if (size) put_bits(w, (uint32_t)(value < 0 ? value + (1 << size) - 1 : value), size);
}

/* SOI, both quantization tables in one DQT and the frame header (SOF0 baseline, SOF2
 * progressive). No JFIF APP0: a decoder takes three components numbered 1, 2, 3 as YCbCr without
 * it (ITU T.871 and libjpeg alike), and its 18 bytes say nothing else unless a pixel density is
 * known, which j4d encode then carries over from the input. */
static void put_headers(Writer *w, const int *steps, int height, int width, uint8_t frame,
                        int abbreviated) {
    static const uint8_t soi[] = {0xFF, 0xD8};
    put_bytes(w, soi, sizeof soi);
    if (!abbreviated) {
        put_marker(w, 0xDB, 2 + 2 * 65);
        for (int t = 0; t < 2; t++) {
            put_byte(w, (uint8_t)t);
            for (int k = 0; k < 64; k++) put_byte(w, (uint8_t)steps[64 * t + k]);
        }
    }
    put_marker(w, frame, 17);
    put_byte(w, 8);
    put_byte(w, (uint8_t)(height >> 8));
    put_byte(w, (uint8_t)height);
    put_byte(w, (uint8_t)(width >> 8));
    put_byte(w, (uint8_t)width);
    put_byte(w, 3);
    for (int c = 0; c < 3; c++) {
        put_byte(w, (uint8_t)(c + 1));
        put_byte(w, 0x11);
        put_byte(w, (uint8_t)TABLE_OF_COMPONENT[c]);
    }
}

/* one DHT segment holding ``count`` tables, each with its class/slot byte */
static void put_tables(Writer *w, const Huffman *const *tables, const uint8_t *slots, int count) {
    int length = 2;
    for (int n = 0; n < count; n++) length += 17 + tables[n]->count;
    put_marker(w, 0xC4, length);
    for (int n = 0; n < count; n++) {
        put_byte(w, slots[n]);
        put_bytes(w, tables[n]->bits + 1, 16);
        put_bytes(w, tables[n]->values, (size_t)tables[n]->count);
    }
}

static void put_scan_header(Writer *w, int components, const uint8_t *selectors, int start,
                            int end) {
    put_marker(w, 0xDA, 6 + 2 * components);
    put_byte(w, (uint8_t)components);
    for (int n = 0; n < 2 * components; n++) put_byte(w, selectors[n]);
    put_byte(w, (uint8_t)start);
    put_byte(w, (uint8_t)end);
    put_byte(w, 0); /* Ah = Al = 0: every scan at full precision */
}

static void put_end(Writer *w) {
    put_byte(w, 0xFF);
    put_byte(w, 0xD9);
}

/* A baseline file of the indices with the optimal tables of ``counts``, or with ``shared``
 * tables (then ``abbreviated`` leaves out the DQT and DHT segments). */
static int write_baseline(Writer *w, const int16_t *indices, Py_ssize_t blocks, const int *steps,
                          int height, int width, int64_t counts[4][256], const Huffman *shared,
                          int abbreviated) {
    Huffman own[4];
    if (!shared)
        for (int t = 0; t < 4; t++) optimal_table(counts[t], &own[t]);
    const Huffman *tables = shared ? shared : own;
    /* headers: at most ~1.2 kB; scan: at most 64 x (16 + 10) bits + stuffing per block */
    if (reserve(w, 2048 + (size_t)blocks * 3 * 64 * 7)) return -1;
    put_headers(w, steps, height, width, 0xC0, abbreviated);
    const Huffman *order[4] = {&tables[0], &tables[2], &tables[1], &tables[3]};
    static const uint8_t slots[4] = {0x00, 0x10, 0x01, 0x11};
    if (!abbreviated) put_tables(w, order, slots, 4);
    static const uint8_t selectors[6] = {1, 0x00, 2, 0x11, 3, 0x11};
    put_scan_header(w, 3, selectors, 0, 63);
    int previous_dc[3] = {0, 0, 0};
    for (Py_ssize_t b = 0; b < blocks; b++) {
        for (int c = 0; c < 3; c++) {
            int t = TABLE_OF_COMPONENT[c];
            const int16_t *block = indices + (c * blocks + b) * 64;
            int diff = block[0] - previous_dc[c];
            previous_dc[c] = block[0];
            int size = size_of(abs(diff));
            put_amplitude(w, &tables[t], size, diff, size);
            const Huffman *ac = &tables[2 + t];
            int last = 0;
            for (uint64_t mask = ac_nonzero(block); mask; mask &= mask - 1) {
                int k = __builtin_ctzll(mask), run = k - last - 1;
                for (; run > 15; run -= 16) put_bits(w, ac->code[ZRL], ac->length[ZRL]);
                size = size_of(abs(block[k]));
                put_amplitude(w, ac, (run << 4) | size, block[k], size);
                last = k;
            }
            if (last < 63) put_bits(w, ac->code[EOB], ac->length[EOB]);
        }
    }
    flush_bits(w);
    put_end(w);
    return 0;
}

/* A run of blocks whose band is all zero, as one EOBn symbol (ITU T.81 G.1.2.2): n = the
 * run's bit length - 1, then its n low bits. Counted (``counts``) or written (``table``). */
static void put_eob_run(Writer *w, const Huffman *table, int64_t *counts, int *run) {
    if (*run == 0) return;
    int bits = size_of(*run) - 1;
    if (counts)
        counts[bits << 4]++;
    else {
        put_bits(w, table->code[bits << 4], table->length[bits << 4]);
        if (bits) put_bits(w, (uint32_t)*run, bits);
    }
    *run = 0;
}

/* One component's AC band 1..63 in a first progressive scan (Ah = Al = 0), blocks in raster
 * order: run/size symbols as in a baseline scan, but a block that ends in zeros joins an EOB
 * run instead of spending an EOB of its own. Counts the symbols, or writes them. */
static void ac_band_scan(Writer *w, const Huffman *table, int64_t *counts, const int16_t *indices,
                         Py_ssize_t blocks) {
    int eob_run = 0;
    for (Py_ssize_t b = 0; b < blocks; b++) {
        const int16_t *block = indices + b * 64;
        int last = 0;
        for (uint64_t mask = ac_nonzero(block); mask; mask &= mask - 1) {
            int k = __builtin_ctzll(mask), run = k - last - 1;
            put_eob_run(w, table, counts, &eob_run);
            for (; run > 15; run -= 16) {
                if (counts)
                    counts[ZRL]++;
                else
                    put_bits(w, table->code[ZRL], table->length[ZRL]);
            }
            int size = size_of(abs(block[k]));
            if (counts)
                counts[(run << 4) | size]++;
            else
                put_amplitude(w, table, (run << 4) | size, block[k], size);
            last = k;
        }
        if (last < 63 && ++eob_run == 0x7FFF) put_eob_run(w, table, counts, &eob_run);
    }
    put_eob_run(w, table, counts, &eob_run);
}

/* A progressive file by spectral selection alone: the DC of all components in one scan, then
 * each component's AC band 1..63 in a scan of its own with its own optimal Huffman table. */
static int write_progressive(Writer *w, const int16_t *indices, Py_ssize_t blocks,
                             const int *steps, int height, int width, int64_t counts[4][256],
                             const Huffman *shared, int abbreviated) {
    if (reserve(w, 4096 + (size_t)blocks * 3 * 64 * 7)) return -1;
    put_headers(w, steps, height, width, 0xC2, abbreviated);
    /* every table in one DHT segment: the DC scan's (the baseline scan's) in DC slots 0 and 1,
     * each component's AC band's own in AC slot 0, 1, 2; shared: the bands' luma and chroma
     * tables in AC slots 2 and 3 (0 and 1 are the baseline scan's) */
    Huffman own[5];
    const Huffman *band_table[3], *dc = own;
    uint8_t band_slot[3];
    if (shared) {
        dc = shared;
        for (int c = 0; c < 3; c++) {
            band_table[c] = &shared[4 + TABLE_OF_COMPONENT[c]];
            band_slot[c] = (uint8_t)(2 + TABLE_OF_COMPONENT[c]);
        }
        if (!abbreviated) {
            const Huffman *order[4] = {&shared[0], &shared[1], &shared[4], &shared[5]};
            static const uint8_t slots[4] = {0x00, 0x01, 0x12, 0x13};
            put_tables(w, order, slots, 4);
        }
    } else {
        for (int t = 0; t < 2; t++) optimal_table(counts[t], &own[t]);
        for (int c = 0; c < 3; c++) {
            int64_t band[256];
            memset(band, 0, sizeof band);
            ac_band_scan(w, NULL, band, indices + c * blocks * 64, blocks);
            optimal_table(band, &own[2 + c]);
            band_table[c] = &own[2 + c];
            band_slot[c] = (uint8_t)c;
        }
        const Huffman *order[5] = {&own[0], &own[1], &own[2], &own[3], &own[4]};
        static const uint8_t slots[5] = {0x00, 0x01, 0x10, 0x11, 0x12};
        put_tables(w, order, slots, 5);
    }
    static const uint8_t selectors[6] = {1, 0x00, 2, 0x10, 3, 0x10};
    put_scan_header(w, 3, selectors, 0, 0);
    int previous_dc[3] = {0, 0, 0};
    for (Py_ssize_t b = 0; b < blocks; b++)
        for (int c = 0; c < 3; c++) {
            int diff = indices[(c * blocks + b) * 64] - previous_dc[c];
            previous_dc[c] += diff;
            int size = size_of(abs(diff));
            put_amplitude(w, &dc[TABLE_OF_COMPONENT[c]], size, diff, size);
        }
    flush_bits(w);
    for (int c = 0; c < 3; c++) {
        uint8_t selector[2] = {(uint8_t)(c + 1), band_slot[c]};
        put_scan_header(w, 1, selector, 1, 63);
        ac_band_scan(w, band_table[c], NULL, indices + c * blocks * 64, blocks);
        flush_bits(w);
    }
    put_end(w);
    return 0;
}

/* The smaller of the baseline and the progressive file of the same indices (frame 0), or the
 * one asked for (1 baseline, 2 progressive). */
static int write_jpeg(Writer *w, const int16_t *indices, Py_ssize_t blocks, const int *steps,
                      int height, int width, int frame, const Huffman *shared, int abbreviated) {
    int64_t counts[4][256]; /* the baseline scan's symbols: both frames' DC, baseline's AC */
    if (!shared) count_symbols(indices, blocks, counts);
    if (frame == 1)
        return write_baseline(w, indices, blocks, steps, height, width, counts, shared, abbreviated);
    if (frame == 2)
        return write_progressive(w, indices, blocks, steps, height, width, counts, shared, abbreviated);
    Writer other = {0};
    if (write_baseline(w, indices, blocks, steps, height, width, counts, shared, abbreviated) ||
        write_progressive(&other, indices, blocks, steps, height, width, counts, shared, abbreviated)) {
        free(other.data);
        return -1;
    }
    if (other.size < w->size) {
        free(w->data);
        *w = other;
    } else
        free(other.data);
    return 0;
}

/* ---------------------------------------------------------------- pricing by the frame */

/* Bits of ``counts`` coded with their optimal table (code lengths only), and the bytes the
 * table takes in a DHT segment. */
static double coded_bits(const int64_t *counts, int *table_bytes) {
    Huffman table;
    optimal_table(counts, &table);
    double bits = 0.0;
    for (int symbol = 0; symbol < 256; symbol++) bits += (double)counts[symbol] * table.length[symbol];
    *table_bytes = 17 + table.count;
    return bits;
}

/* Whether the progressive frame of ``indices`` is likely the smaller file: the two frames share
 * the DC scan's symbols and every amplitude bit, and differ by the AC codes, the EOB runs' extra
 * bits, the tables and 30 bytes of scan headers (three more scans). */
static int progressive_is_smaller(int64_t base[4][256], int64_t band[3][256]) {
    double bits = 0.0;
    int bytes = 30, table_bytes;
    for (int t = 0; t < 2; t++) {
        bits -= coded_bits(base[2 + t], &table_bytes);
        bytes -= table_bytes;
    }
    for (int c = 0; c < 3; c++) {
        bits += coded_bits(band[c], &table_bytes);
        bytes += table_bytes;
        for (int n = 1; n < 15; n++) bits += (double)band[c][n << 4] * n;
    }
    return bits / 8.0 + bytes < 0.0;
}

/* A progressive AC band's prices: run/size codes from the band's own table; a block ending in
 * zeros joins an EOB run, so an all-zero block costs about its share of the runs' length bits,
 * and one with a nonzero about one run symbol (it breaks the run before it and starts one). */
static void band_prices(const int64_t *band, const int16_t *indices, Py_ssize_t blocks, double mu,
                        Prices *prices) {
    int64_t smoothed[256];
    memcpy(smoothed, band, sizeof smoothed);
    smoothed[ZRL] = band[ZRL] > 0 ? band[ZRL] : 1;
    for (int run = 0; run < 16; run++)
        for (int size = 1; size <= MAX_AC_SIZE; size++)
            if (smoothed[(run << 4) | size] <= 0) smoothed[(run << 4) | size] = 1;
    if (smoothed[EOB] <= 0) smoothed[EOB] = 1;
    Huffman table;
    optimal_table(smoothed, &table);
    ac_prices_of(&table, mu, prices);
    double runs = 0.0, code_bits = 0.0, length_bits = 0.0;
    for (int n = 0; n < 15; n++) {
        runs += (double)band[n << 4];
        code_bits += (double)band[n << 4] * table.length[n << 4];
        length_bits += (double)band[n << 4] * n;
    }
    Py_ssize_t empty = 0;
    for (Py_ssize_t b = 0; b < blocks; b++) empty += ac_nonzero(indices + b * 64) == 0;
    if (runs > 0) prices->eob = mu * code_bits / runs;
    prices->eob_empty = empty > 0 ? mu * length_bits / (double)empty : 0.0;
}

/* One pass of the trellis over every block, bits priced by the frame the last indices would
 * take: a baseline scan's tables (or the shared ones), or where the progressive frame is asked
 * for or likely the smaller, each component's AC band as that frame codes it. */
static int trellis_pass(const Problem *p, int64_t counts[4][256], int16_t *indices) {
    Prices prices[3];
    double dc_bits[2][12];
    for (int c = 0; c < 3; c++) {
        int t = TABLE_OF_COMPONENT[c];
        if (p->shared)
            ac_prices_of(&p->shared[2 + t], p->mu, &prices[c]);
        else
            ac_prices(counts[2 + t], p->mu, &prices[c]);
    }
    for (int t = 0; t < 2; t++) {
        if (p->shared)
            for (int size = 0; size <= 11; size++) dc_bits[t][size] = p->shared[t].length[size];
        else
            dc_prices(counts[t], dc_bits[t]);
    }
    if (!p->shared && p->pricing != 1 && p->mu > 0.0) {
        int64_t band[3][256];
        memset(band, 0, sizeof band);
        for (int c = 0; c < 3; c++) ac_band_scan(NULL, NULL, band[c], indices + c * p->blocks * 64, p->blocks);
        if (p->pricing == 2 || progressive_is_smaller(counts, band))
            for (int c = 0; c < 3; c++)
                band_prices(band[c], indices + c * p->blocks * 64, p->blocks, p->mu, &prices[c]);
    }
    for (int c = 0; c < 3; c++) {
        int t = TABLE_OF_COMPONENT[c];
        for (Py_ssize_t b = 0; b < p->blocks; b++) {
            const double *y = p->coefficients + (c * p->blocks + b) * 64;
            const double *w = p->weights + c * (p->weight_stride ? p->blocks * 64 : 64) +
                              b * p->weight_stride;
            double scaled[64];
            if (p->energy) {
                double lambda = block_lambda(y);
                for (int k = 0; k < 64; k++) scaled[k] = lambda * w[k];
                w = scaled;
            }
            trellis_block(y, p->real_steps[t], p->half_steps[t], w, &prices[c],
                          indices + (c * p->blocks + b) * 64);
        }
        if (dc_chain(p, c, dc_bits[t], indices)) return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------- Python */

static int get_buffer(PyObject *object, Py_buffer *view, Py_ssize_t bytes, const char *what) {
    if (PyObject_GetBuffer(object, view, PyBUF_C_CONTIGUOUS) < 0) return -1;
    if (view->len != bytes) {
        PyErr_Format(PyExc_ValueError, "%s: expected %zd bytes, got %zd", what, bytes, view->len);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

static PyObject *py_analyze(PyObject *self, PyObject *args) {
    PyObject *rgb_object;
    int height, width;
    if (!PyArg_ParseTuple(args, "Oii", &rgb_object, &height, &width)) return NULL;
    Py_buffer rgb;
    if (get_buffer(rgb_object, &rgb, (Py_ssize_t)height * width * 3, "rgb") < 0) return NULL;
    Py_ssize_t blocks = (Py_ssize_t)((height + 7) / 8) * ((width + 7) / 8);
    PyObject *out = PyBytes_FromStringAndSize(NULL, blocks * 3 * 64 * sizeof(double));
    if (out) {
        int failed;
        Py_BEGIN_ALLOW_THREADS
        failed = analyze(rgb.buf, height, width, (double *)PyBytes_AS_STRING(out));
        Py_END_ALLOW_THREADS
        if (failed) Py_SETREF(out, PyErr_NoMemory());
    }
    PyBuffer_Release(&rgb);
    return out;
}

#define SPEC_BYTES (16 + 256)
#define SHARED_TABLES 6

/* Shared Huffman tables from ``object``: None (``*shared`` = NULL) or 6 x (16 counts + 256
 * symbols) bytes: the baseline scan's DC luma, DC chroma, AC luma, AC chroma, then the
 * progressive AC bands' luma and chroma. */
static int get_shared(PyObject *object, Huffman tables[SHARED_TABLES], const Huffman **shared) {
    *shared = NULL;
    if (object == NULL || object == Py_None) return 0;
    Py_buffer view;
    if (get_buffer(object, &view, SHARED_TABLES * SPEC_BYTES, "huffman") < 0) return -1;
    for (int t = 0; t < SHARED_TABLES; t++)
        table_from_spec((const uint8_t *)view.buf + t * SPEC_BYTES, &tables[t]);
    PyBuffer_Release(&view);
    *shared = tables;
    return 0;
}

/* The problem's buffers: coefficients (3, blocks, 64) float64, steps (2, 64) int32, weights
 * float64 (3, 64) or (3, blocks, 64). */
static int get_problem(PyObject *coefficients, PyObject *steps, PyObject *weights,
                       Py_ssize_t blocks, double mu, int energy, Py_buffer views[3], Problem *p) {
    if (get_buffer(coefficients, &views[0], blocks * 3 * 64 * sizeof(double), "coefficients") < 0)
        return -1;
    if (get_buffer(steps, &views[1], 2 * 64 * sizeof(int), "steps") < 0) {
        PyBuffer_Release(&views[0]);
        return -1;
    }
    if (PyObject_GetBuffer(weights, &views[2], PyBUF_C_CONTIGUOUS) < 0) {
        PyBuffer_Release(&views[0]);
        PyBuffer_Release(&views[1]);
        return -1;
    }
    Py_ssize_t per_block = blocks * 3 * 64 * sizeof(double);
    if (views[2].len != 3 * 64 * (Py_ssize_t)sizeof(double) && views[2].len != per_block) {
        PyErr_SetString(PyExc_ValueError, "weights: expected (3, 64) or (3, blocks, 64) float64");
        for (int i = 0; i < 3; i++) PyBuffer_Release(&views[i]);
        return -1;
    }
    p->coefficients = views[0].buf;
    p->steps = views[1].buf;
    p->weights = views[2].buf;
    p->weight_stride = views[2].len == per_block && blocks > 1 ? 64 : 0;
    p->blocks = blocks;
    p->mu = mu;
    p->energy = energy;
    p->pricing = 1;
    p->shared = NULL;
    for (int t = 0; t < 2; t++)
        for (int k = 0; k < 64; k++) {
            p->real_steps[t][k] = p->steps[64 * t + k];
            p->half_steps[t][k] = 0.5 * p->steps[64 * t + k];
        }
    return 0;
}

static int quantize(const Problem *p, int passes, int16_t *indices) {
    int64_t counts[4][256];
    plain_indices(p, indices);
    /* mu = 0 still runs the trellis once (it rounds); fixed prices need no second pass */
    if (p->mu <= 0.0 || p->shared) passes = passes > 0 ? 1 : 0;
    for (int pass = 0; pass < passes; pass++) {
        count_symbols(indices, p->blocks, counts);
        if (trellis_pass(p, counts, indices)) return -1;
    }
    return 0;
}

static PyObject *py_quantize(PyObject *self, PyObject *args) {
    PyObject *coefficients, *steps, *weights;
    Py_ssize_t blocks;
    double mu;
    int passes, energy, pricing = 1;
    PyObject *huffman = NULL;
    if (!PyArg_ParseTuple(args, "OnOOdii|Oi", &coefficients, &blocks, &steps, &weights, &mu, &passes,
                          &energy, &huffman, &pricing))
        return NULL;
    Huffman tables[SHARED_TABLES];
    Py_buffer views[3];
    Problem p;
    if (get_problem(coefficients, steps, weights, blocks, mu, energy, views, &p) < 0) return NULL;
    p.pricing = pricing;
    if (get_shared(huffman, tables, &p.shared) < 0) {
        for (int i = 0; i < 3; i++) PyBuffer_Release(&views[i]);
        return NULL;
    }
    PyObject *out = PyBytes_FromStringAndSize(NULL, blocks * 3 * 64 * sizeof(int16_t));
    if (out) {
        int failed;
        Py_BEGIN_ALLOW_THREADS
        failed = quantize(&p, passes, (int16_t *)PyBytes_AS_STRING(out));
        Py_END_ALLOW_THREADS
        if (failed) Py_SETREF(out, PyErr_NoMemory());
    }
    for (int i = 0; i < 3; i++) PyBuffer_Release(&views[i]);
    return out;
}

static PyObject *writer_bytes(Writer *w, int failed) {
    PyObject *out = failed ? PyErr_NoMemory() : PyBytes_FromStringAndSize((char *)w->data, w->size);
    free(w->data);
    return out;
}

static PyObject *py_write(PyObject *self, PyObject *args) {
    PyObject *indices_object, *steps_object, *huffman = NULL;
    int height, width, frame, abbreviated = 0;
    if (!PyArg_ParseTuple(args, "OOiii|Oi", &indices_object, &steps_object, &height, &width, &frame,
                          &huffman, &abbreviated))
        return NULL;
    Huffman tables[SHARED_TABLES];
    const Huffman *shared;
    if (get_shared(huffman, tables, &shared) < 0) return NULL;
    Py_ssize_t blocks = (Py_ssize_t)((height + 7) / 8) * ((width + 7) / 8);
    Py_buffer indices, steps;
    if (get_buffer(indices_object, &indices, blocks * 3 * 64 * sizeof(int16_t), "indices") < 0)
        return NULL;
    if (get_buffer(steps_object, &steps, 2 * 64 * sizeof(int), "steps") < 0) {
        PyBuffer_Release(&indices);
        return NULL;
    }
    Writer w = {0};
    int failed;
    Py_BEGIN_ALLOW_THREADS
    failed = write_jpeg(&w, indices.buf, blocks, steps.buf, height, width, frame, shared, abbreviated);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&indices);
    PyBuffer_Release(&steps);
    return writer_bytes(&w, failed);
}

static PyObject *py_encode(PyObject *self, PyObject *args) {
    PyObject *rgb_object, *steps, *weights, *huffman = NULL;
    int height, width, passes, frame, energy, abbreviated = 0, pricing = 1;
    double mu;
    if (!PyArg_ParseTuple(args, "OiiOOdiii|Oii", &rgb_object, &height, &width, &steps, &weights, &mu,
                          &passes, &frame, &energy, &huffman, &abbreviated, &pricing))
        return NULL;
    Huffman tables[SHARED_TABLES];
    const Huffman *shared;
    if (get_shared(huffman, tables, &shared) < 0) return NULL;
    Py_buffer rgb;
    if (get_buffer(rgb_object, &rgb, (Py_ssize_t)height * width * 3, "rgb") < 0) return NULL;
    Py_ssize_t blocks = (Py_ssize_t)((height + 7) / 8) * ((width + 7) / 8);
    double *coefficients = malloc(blocks * 3 * 64 * sizeof(double));
    int16_t *indices = malloc(blocks * 3 * 64 * sizeof(int16_t));
    PyObject *out = NULL;
    if (!coefficients || !indices) {
        PyErr_NoMemory();
        goto done;
    }
    int failed;
    Py_BEGIN_ALLOW_THREADS
    failed = analyze(rgb.buf, height, width, coefficients);
    Py_END_ALLOW_THREADS
    if (failed) {
        PyErr_NoMemory();
        goto done;
    }
    PyObject *coefficient_view = PyMemoryView_FromMemory((char *)coefficients,
                                                         blocks * 3 * 64 * sizeof(double), PyBUF_READ);
    if (!coefficient_view) goto done;
    Py_buffer views[3];
    Problem p;
    int ok = get_problem(coefficient_view, steps, weights, blocks, mu, energy, views, &p) == 0;
    Py_DECREF(coefficient_view);
    if (!ok) goto done;
    p.shared = shared;
    p.pricing = pricing;
    Writer w = {0};
    Py_BEGIN_ALLOW_THREADS
    failed = quantize(&p, passes, indices) ||
             write_jpeg(&w, indices, blocks, p.steps, height, width, frame, shared, abbreviated);
    Py_END_ALLOW_THREADS
    for (int i = 0; i < 3; i++) PyBuffer_Release(&views[i]);
    out = writer_bytes(&w, failed);
done:
    PyBuffer_Release(&rgb);
    free(coefficients);
    free(indices);
    return out;
}

/* libjpeg's optimal table of the (256,) int64 counts a Python call passes */
static int optimal_of_args(PyObject *args, Huffman *table) {
    PyObject *counts_object;
    if (!PyArg_ParseTuple(args, "O", &counts_object)) return -1;
    Py_buffer view;
    if (get_buffer(counts_object, &view, 256 * sizeof(int64_t), "counts") < 0) return -1;
    optimal_table(view.buf, table);
    PyBuffer_Release(&view);
    return 0;
}

static PyObject *py_huffman_lengths(PyObject *self, PyObject *args) {
    Huffman table;
    if (optimal_of_args(args, &table) < 0) return NULL;
    return PyBytes_FromStringAndSize((char *)table.length, 256);
}

static PyObject *py_count_symbols(PyObject *self, PyObject *args) {
    PyObject *indices_object;
    Py_ssize_t blocks;
    if (!PyArg_ParseTuple(args, "On", &indices_object, &blocks)) return NULL;
    Py_buffer indices;
    if (get_buffer(indices_object, &indices, blocks * 3 * 64 * sizeof(int16_t), "indices") < 0)
        return NULL;
    PyObject *out = PyBytes_FromStringAndSize(NULL, SHARED_TABLES * 256 * sizeof(int64_t));
    if (out) {
        int64_t(*counts)[256] = (int64_t(*)[256])PyBytes_AS_STRING(out);
        count_symbols(indices.buf, blocks, counts);
        memset(counts[4], 0, 2 * 256 * sizeof(int64_t));
        for (int c = 0; c < 3; c++)
            ac_band_scan(NULL, NULL, counts[4 + TABLE_OF_COMPONENT[c]],
                         (const int16_t *)indices.buf + c * blocks * 64, blocks);
    }
    PyBuffer_Release(&indices);
    return out;
}

static PyObject *py_huffman_spec(PyObject *self, PyObject *args) {
    Huffman table;
    if (optimal_of_args(args, &table) < 0) return NULL;
    uint8_t spec[SPEC_BYTES];
    memcpy(spec, table.bits + 1, 16);
    memcpy(spec + 16, table.values, (size_t)table.count);
    return PyBytes_FromStringAndSize((char *)spec, 16 + table.count);
}

static PyMethodDef METHODS[] = {
    {"analyze", py_analyze, METH_VARARGS,
     "analyze(rgb, height, width) -> float64 bytes (3, blocks, 64) zig-zag DCT coefficients"},
    {"quantize", py_quantize, METH_VARARGS,
     "quantize(coefficients, blocks, steps, weights, mu, passes, energy[, huffman, pricing]) -> "
     "int16 bytes (3, blocks, 64); huffman: shared tables (6 x 272 bytes) that price the bits; "
     "pricing: the frame the bits are priced for (1 baseline, the default; 2 progressive; 0 the "
     "smaller)"},
    {"write", py_write, METH_VARARGS,
     "write(indices, steps, height, width, frame[, huffman, abbreviated]) -> JPEG bytes with "
     "optimal Huffman tables (frame 1 baseline, 2 progressive, 0 the smaller) or with shared "
     "ones (abbreviated: without DQT and DHT)"},
    {"encode", py_encode, METH_VARARGS,
     "encode(rgb, height, width, steps, weights, mu, passes, frame, energy[, huffman, "
     "abbreviated, pricing]) -> JPEG bytes; pricing: as quantize's"},
    {"count_symbols", py_count_symbols, METH_VARARGS,
     "count_symbols(indices, blocks) -> int64 bytes (6, 256): a baseline scan's symbols per table "
     "(DC luma, DC chroma, AC luma, AC chroma), then the progressive AC bands' (luma, chroma)"},
    {"huffman_spec", py_huffman_spec, METH_VARARGS,
     "huffman_spec(counts int64 (256,)) -> DHT payload of libjpeg's optimal table: 16 counts, "
     "then the symbols"},
    {"huffman_lengths", py_huffman_lengths, METH_VARARGS,
     "huffman_lengths(counts int64 (256,)) -> code length per symbol (libjpeg's optimal table)"},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef MODULE = {PyModuleDef_HEAD_INIT, "_rd",
                                    "j4d's compiled rate-distortion JPEG encoder", -1, METHODS};

PyMODINIT_FUNC PyInit__rd(void) { return PyModule_Create(&MODULE); }
