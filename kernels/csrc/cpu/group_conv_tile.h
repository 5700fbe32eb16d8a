// group_conv_tile.h: the register tiles of the fast group-convolution passes (group_conv_{forward,input_grad,weight_grad}.cpp).
//
// All three are micro_tile (micro_tile.h: the same MR x NV vectors of accumulators, the same loop over
// the reduction) with operands read where they lie instead of from two packed panels:
//   strided_tile  A = a[i*a_step + m*a_row], B's row i at b + i*b_step: the im2col input gradient reads
//                 dY in place. (tile_kernel is its general form: A through a_at(i, m), B's row i at
//                 b + b_offset(i).) Rows m >= m_valid of A are read from row m_valid - 1 (valid memory;
//                 their results are never stored). B must have NR readable columns per row.
//   segment_tile  A packed, B's NR columns NV segments of L pixels anywhere in memory: the flat path
//                 reads the padded image itself.
//   rows_tile     A's MR rows in place (phase planes), B packed, a reduction over the P x Q output pixels
//                 of an image: the flat weight gradient.
//   dot_tile      both operands in place, every accumulator a vector of pixels summed across its lanes
//                 at the end: the flat weight gradient with few output channels.
// FlatTile is the wider 6 x 4 vector shape (fewer broadcasts per multiply-add) for AVX-512. The
// pixel-run helpers of the im2col path (split_into_runs, scatter_patch_row) are pixel_runs.h's,
// shared with conv2d_packed.cpp.
#pragma once
#include "micro_tile.h"
#include "pixel_runs.h"

#include <algorithm>
#include <cstdint>
#include <type_traits>

namespace conv_circuits {
namespace group_conv_detail {

// The micro-kernel proper: A is read through `a_at(i, m)` (entry (i, m) of A, a broadcast load),
// B's row i from b + b_offset(i). Rows m >= m_valid of A may repeat a valid row: their results are
// never stored. MR x NV vectors of accumulators: micro_tile.h's Tile<T> (8 x 2 with AVX-512) by default.
template <typename T, int MR = Tile<T>::MR, int NV = Tile<T>::NV, class AAt, class BOffset>
static inline void tile_kernel(int64_t kc, const AAt& a_at, const T* b, const BOffset& b_offset, T* c, int64_t ldc,
                               const T* row_init, bool accumulate, int m_valid, int n_valid) {
    using Vec = typename Tile<T>::Vec;
    constexpr int L = Tile<T>::L, NR = L * NV;
    const bool full = (m_valid == MR && n_valid == NR);
    T edge[MR * NR];
    T* dst = c;
    int64_t ld = ldc;
    if (!full) {
        for (int m = 0; m < MR; ++m)
            for (int j = 0; j < NR; ++j)
                edge[m * NR + j] = (m < m_valid && j < n_valid && accumulate) ? c[m * ldc + j] : T(0);
        dst = edge;
        ld = NR;
    }
    Vec acc[MR][NV];
#pragma GCC unroll 16
    for (int m = 0; m < MR; ++m)
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) {
            if (accumulate) acc[m][v] = load_vec<Vec>(dst + m * ld + v * L);
            else acc[m][v] = Vec{} + ((row_init && m < m_valid) ? row_init[m] : T(0));
        }
    for (int64_t i = 0; i < kc; ++i) {
        const T* b_row = b + b_offset(i);
        Vec bv[NV];
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) bv[v] = load_vec<Vec>(b_row + v * L);
#pragma GCC unroll 16
        for (int m = 0; m < MR; ++m) {
            const Vec am = broadcast<Vec>(a_at(i, m));
#pragma GCC unroll 4
            for (int v = 0; v < NV; ++v) acc[m][v] += am * bv[v];
        }
    }
#pragma GCC unroll 16
    for (int m = 0; m < MR; ++m)
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) store_vec(dst + m * ld + v * L, acc[m][v]);
    if (!full) {
        for (int m = 0; m < m_valid; ++m)
            for (int j = 0; j < n_valid; ++j) c[m * ldc + j] = edge[m * NR + j];
    }
}

#if defined(__AVX512F__)
constexpr int kFlatRows = 6, kFlatVectors = 4;  // 24 of the 32 zmm registers hold accumulators
constexpr int kDotRows = 4, kDotCols = 6;        // dot_tile: 24 accumulators, 4 + 1 operands
#else
constexpr int kFlatRows = 6, kFlatVectors = 2;  // 16 ymm registers: micro_tile's shape
constexpr int kDotRows = 2, kDotCols = 5;        // dot_tile: 10 accumulators, 2 + 1 operands
#endif
template <typename T> struct FlatTile {
    static constexpr int MR = kFlatRows, NV = kFlatVectors, NR = Tile<T>::L * kFlatVectors;
};

// Where A's entry (i, m) lies: MR rows anywhere in memory (rows[m][i*step]).
template <typename T, int MR = Tile<T>::MR>
struct RowsA {
    const T* rows[MR];
    int64_t step;
    const T* operator()(int64_t i, int m) const { return rows[m] + i * step; }
};

struct StridedRows {
    int64_t step;
    int64_t operator()(int64_t i) const { return i * step; }
};

template <typename T>
static inline void strided_tile(int64_t kc, const T* a, int64_t a_step, int64_t a_row, const T* b, int64_t b_step,
                                T* c, int64_t ldc, const T* row_init, bool accumulate, int m_valid, int n_valid) {
    RowsA<T> rows;
    for (int m = 0; m < Tile<T>::MR; ++m) rows.rows[m] = a + std::min(m, m_valid - 1) * a_row;
    rows.step = a_step;
    tile_kernel<T>(kc, rows, b, StridedRows{b_step}, c, ldc, row_init, accumulate, m_valid, n_valid);
}

// The flat path's tile (group_conv_flat.h): A packed (a[i*MR + m]), B's columns NV segments of L
// values, segment v of row i at segment[v] + offset[i]. The finished tile goes straight to the output:
// row m of segment v to out[v] + m*ld, its first count[v] values (count 0: a surplus segment, not
// stored), at a step of `step` (1, or the stride of an input-gradient phase); rows m >= m_valid are not
// stored. Every value starts at row_init[m] (a bias) or zero.
template <typename T, int MR, int NV>
static inline void segment_tile(int64_t kc, const T* __restrict a, const T* const* segment,
                                const int64_t* __restrict offset, T* const* out, const int64_t* count, int64_t ld,
                                int64_t step, int m_valid, const T* row_init) {
    using Vec = typename Tile<T>::Vec;
    constexpr int L = Tile<T>::L;
    const T* base[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) base[v] = segment[v];
    Vec acc[MR][NV];
#pragma GCC unroll 16
    for (int m = 0; m < MR; ++m)
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) acc[m][v] = Vec{} + (row_init ? row_init[m] : T(0));
    for (int64_t i = 0; i < kc; ++i) {
        const int64_t o = offset[i];
        Vec bv[NV];
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) bv[v] = load_vec<Vec>(base[v] + o);
#pragma GCC unroll 16
        for (int m = 0; m < MR; ++m) {
            const Vec am = broadcast<Vec>(a + i * MR + m);
#pragma GCC unroll 4
            for (int v = 0; v < NV; ++v) acc[m][v] += am * bv[v];
        }
    }
#pragma GCC unroll 16
    for (int m = 0; m < MR; ++m) {
        if (m >= m_valid) break;
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) {
            T* dst = out[v] + m * ld;
            if (count[v] == L && step == 1) {
                store_vec(dst, acc[m][v]);
            } else {
                T lanes[L];
                store_vec(lanes, acc[m][v]);
                for (int64_t j = 0; j < count[v]; ++j) dst[j * step] = lanes[j];
            }
        }
    }
}

// The flat weight gradient's tile: c[m*NR + j] += sum_{p < P, q < Q} rows[m][p*row_step + q] * b[(p*Q + q)*NR + j]
// (a reduction over the output pixels, A's rows read in place from phase planes, B packed).
template <typename T, int MR, int NV>
static inline void rows_tile(int64_t P, int64_t Q, int64_t row_step, const T* const* rows, const T* __restrict b, T* c) {
    using Vec = typename Tile<T>::Vec;
    constexpr int L = Tile<T>::L, NR = L * NV;
    Vec acc[MR][NV];
#pragma GCC unroll 16
    for (int m = 0; m < MR; ++m)
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) acc[m][v] = load_vec<Vec>(c + m * NR + v * L);
    for (int64_t p = 0; p < P; ++p) {
        const int64_t shift = p * row_step;
        const T* b_row = b + p * Q * NR;
        for (int64_t q = 0; q < Q; ++q) {
            Vec bv[NV];
#pragma GCC unroll 4
            for (int v = 0; v < NV; ++v) bv[v] = load_vec<Vec>(b_row + q * NR + v * L);
#pragma GCC unroll 16
            for (int m = 0; m < MR; ++m) {
                const Vec am = broadcast<Vec>(rows[m] + shift + q);
#pragma GCC unroll 4
                for (int v = 0; v < NV; ++v) acc[m][v] += am * bv[v];
            }
        }
    }
#pragma GCC unroll 16
    for (int m = 0; m < MR; ++m)
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) store_vec(c + m * NR + v * L, acc[m][v]);
}

// The flat weight gradient's other tile, for few output channels: RO output channels x CO columns
// (c, r, s), every accumulator a vector of L output pixels, summed across its lanes at the end:
//   sums[r*CO + c] = sum_{p < P, segment j < J} dy_rows[r][p*dy_step + j*L + l] * x_rows[c][p*x_step + j*L + l]
// (summed over the L lanes l). dY is read in place, a row of L pixels at a time (its rows padded with
// zeros to J*L values when Q is not a multiple of L), B from the phase planes: no transposed copy.
// Only the first `tail` lanes of a row's last segment are pixels of that row: B's other lanes there
// (the next row's values, which may be anything) are zeroed before they are multiplied, and dY's must
// be zero (the padded rows).
template <typename T, int RO, int CO>
static inline void dot_tile(int64_t P, int64_t J, int tail, const T* const* dy_rows, int64_t dy_step,
                            const T* const* x_rows, int64_t x_step, T* sums) {
    using Vec = typename Tile<T>::Vec;
    constexpr int L = Tile<T>::L;
    typedef std::conditional_t<sizeof(T) == 4, int32_t, int64_t> Lane;
    typedef Lane Keep __attribute__((vector_size(sizeof(Vec))));
    Keep keep;
    for (int l = 0; l < L; ++l) keep[l] = l < tail ? -1 : 0;
    Vec acc[RO][CO];
#pragma GCC unroll 8
    for (int r = 0; r < RO; ++r)
#pragma GCC unroll 8
        for (int c = 0; c < CO; ++c) acc[r][c] = Vec{};
    for (int64_t p = 0; p < P; ++p) {
        for (int64_t j = 0; j < J; ++j) {
            const int64_t d = p * dy_step + j * L, o = p * x_step + j * L;
            Vec dv[RO];
#pragma GCC unroll 8
            for (int r = 0; r < RO; ++r) dv[r] = load_vec<Vec>(dy_rows[r] + d);
            const bool partial = j == J - 1 && tail < L;
#pragma GCC unroll 8
            for (int c = 0; c < CO; ++c) {
                Vec xv = load_vec<Vec>(x_rows[c] + o);
                if (partial) xv = keep ? xv : Vec{};
#pragma GCC unroll 8
                for (int r = 0; r < RO; ++r) acc[r][c] += dv[r] * xv;
            }
        }
    }
    for (int r = 0; r < RO; ++r)
        for (int c = 0; c < CO; ++c) {
            T lanes[L];
            store_vec(lanes, acc[r][c]);
            T total = 0;
            for (int l = 0; l < L; ++l) total += lanes[l];
            sums[r * CO + c] = total;
        }
}

}  // namespace group_conv_detail
}  // namespace conv_circuits
