// group_conv_tile.h: helpers of the fused group-convolution kernels (group_conv_packed.cpp).
//
// tile_kernel is micro_tile (micro_tile.h: the same register tile, the same loop) with operands that
// need not be packed: A's entry (i, m) is wherever a_at(i, m) says (a packed panel, or MR rows
// anywhere in memory), and B's row i starts at b + b_offset(i) (a fixed step, or a table of offsets:
// the stride-1 path reads the padded image itself). strided_tile is the case A = a[i*a_step + m*a_row],
// B = b + i*b_step, with which the general backward passes read dY where it lies. Rows m >= m_valid
// of A are read from row m_valid - 1 (valid memory; their results are never stored). B must have NR
// readable columns per row.
//
// The pixel-run helpers cut a range of output pixels into runs along output rows and copy one
// im2col row (c, r, s) of a run from the input, or add it back (col2im), as conv2d_packed.cpp does.
#pragma once
#include "micro_tile.h"
#include "../conv2d_geometry.h"

#include <algorithm>
#include <cstdint>

namespace conv_circuits {
namespace group_conv_detail {

// The micro-kernel proper: A is read through `a_at(i, m)` (entry (i, m) of A, a broadcast load),
// B's row i from b + b_offset(i). Rows m >= m_valid of A may repeat a valid row: their results are
// never stored.
// MR x NV vectors of accumulators: micro_tile.h's Tile<T> (8 x 2 with AVX-512) by default; the stride-1
// path uses the wider FlatTile (6 x 4: fewer broadcasts per multiply-add).
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
#else
constexpr int kFlatRows = 6, kFlatVectors = 2;  // 16 ymm registers: micro_tile's shape
#endif
template <typename T> struct FlatTile {
    static constexpr int MR = kFlatRows, NV = kFlatVectors, NR = Tile<T>::L * kFlatVectors;
};

// Where A's entry (i, m) lies: a packed panel of MR rows (a[i*MR + m]), or MR rows anywhere in
// memory (rows[m][i*step]).
template <typename T, int MR = Tile<T>::MR>
struct PackedA {
    const T* a;
    const T* operator()(int64_t i, int m) const { return a + i * MR + m; }
};
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
struct TableRows {
    const int64_t* offset;
    int64_t operator()(int64_t i) const { return offset[i]; }
};

template <typename T>
static inline void strided_tile(int64_t kc, const T* a, int64_t a_step, int64_t a_row, const T* b, int64_t b_step,
                                T* c, int64_t ldc, const T* row_init, bool accumulate, int m_valid, int n_valid) {
    RowsA<T> rows;
    for (int m = 0; m < Tile<T>::MR; ++m) rows.rows[m] = a + std::min(m, m_valid - 1) * a_row;
    rows.step = a_step;
    tile_kernel<T>(kc, rows, b, StridedRows{b_step}, c, ldc, row_init, accumulate, m_valid, n_valid);
}

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Output pixels q_begin .. q_end-1 of output row p, stored from position first of a pixel range on.
struct Run {
    int64_t p, q_begin, q_end, first;
};

// Cut the pixels pq0 .. pq0+count-1 into runs along output rows; returns how many (at most
// count / Q + 2).
inline int64_t pixel_runs(const Conv2dGeometry& g, int64_t pq0, int64_t count, Run* runs) {
    int64_t n = 0;
    for (int64_t done = 0; done < count;) {
        const int64_t p = (pq0 + done) / g.Q, q = (pq0 + done) % g.Q;
        const int64_t length = std::min(g.Q - q, count - done);
        runs[n++] = {p, q, q + length, done};
        done += length;
    }
    return n;
}

// The columns q of a run whose input column q*sw - pw + s lies inside the image: [lo, hi).
inline void inside_columns(const Conv2dGeometry& g, const Run& run, int64_t s, int64_t& lo, int64_t& hi) {
    const int64_t offset = s - g.pw;
    lo = std::max(run.q_begin, offset >= 0 ? int64_t(0) : (-offset + g.sw - 1) / g.sw);
    hi = std::max(lo, std::min(run.q_end, g.W - 1 - offset < 0 ? int64_t(0) : (g.W - 1 - offset) / g.sw + 1));
}

// dst[(run.first + q - run.q_begin) * step] = x[p*sh - ph + r, q*sw - pw + s] of one input plane (zero outside).
template <typename T>
inline void gather_row(const Conv2dGeometry& g, const T* plane, const Run* runs, int64_t n_runs, int64_t r, int64_t s,
                       T* dst, int64_t step) {
    for (int64_t k = 0; k < n_runs; ++k) {
        const Run& run = runs[k];
        T* out = dst + (run.first - run.q_begin) * step;
        const int64_t h = run.p * g.sh - g.ph + r;
        if (h < 0 || h >= g.H) {
            for (int64_t q = run.q_begin; q < run.q_end; ++q) out[q * step] = T(0);
            continue;
        }
        int64_t lo, hi;
        inside_columns(g, run, s, lo, hi);
        const T* x_row = plane + h * g.W + (s - g.pw);
        for (int64_t q = run.q_begin; q < lo; ++q) out[q * step] = T(0);
        if (step == 1 && g.sw == 1) {
            for (int64_t q = lo; q < hi; ++q) out[q] = x_row[q];
        } else {
            for (int64_t q = lo; q < hi; ++q) out[q * step] = x_row[q * g.sw];
        }
        for (int64_t q = hi; q < run.q_end; ++q) out[q * step] = T(0);
    }
}

// The reverse of gather_row (step 1): add src back into the input pixels it was read from.
template <typename T>
inline void scatter_row(const Conv2dGeometry& g, T* plane, const Run* runs, int64_t n_runs, int64_t r, int64_t s,
                        const T* src) {
    for (int64_t k = 0; k < n_runs; ++k) {
        const Run& run = runs[k];
        const int64_t h = run.p * g.sh - g.ph + r;
        if (h < 0 || h >= g.H) continue;
        int64_t lo, hi;
        inside_columns(g, run, s, lo, hi);
        const T* in = src + run.first - run.q_begin;
        T* dx_row = plane + h * g.W + (s - g.pw);
        if (g.sw == 1) {
            for (int64_t q = lo; q < hi; ++q) dx_row[q] += in[q];
        } else {
            for (int64_t q = lo; q < hi; ++q) dx_row[q * g.sw] += in[q];
        }
    }
}

}  // namespace group_conv_detail
}  // namespace conv_circuits
