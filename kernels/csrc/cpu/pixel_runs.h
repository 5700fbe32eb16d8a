// pixel_runs.h: im2col by runs of output pixels, shared by conv2d_packed.cpp and group_conv_input_grad.cpp.
//
// The packed CPU kernels take the output pixels of an image in ranges (pq = p*Q + q). A range is cut
// into runs along output rows; along a run the input column advances by the stride, so one row
// (c, r, s) of the im2col matrix B over a run is a contiguous (stride 1) or strided read of one input
// row, with zeros only at the ends where it reaches into the padding. gather_patch_row copies such a
// row out of the input, scatter_patch_row adds it back (col2im, for the input gradient).
#pragma once
#include "../conv2d_geometry.h"

#include <algorithm>
#include <cstdint>

namespace conv_circuits {

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// A run of consecutive output pixels on one output row p: columns q_begin .. q_end-1,
// stored from position first (relative to the start of the pixel range) on.
struct PixelRun {
    int64_t p, q_begin, q_end, first;
};

// Cut the pixels pq0 .. pq0+count-1 into runs along output rows; returns how many.
inline int split_into_runs(const Conv2dGeometry& g, int64_t pq0, int64_t count, PixelRun* runs) {
    int n_runs = 0;
    for (int64_t done = 0; done < count;) {
        const int64_t p = (pq0 + done) / g.Q, q = (pq0 + done) % g.Q;
        const int64_t length = std::min(g.Q - q, count - done);
        runs[n_runs++] = {p, q, q + length, done};
        done += length;
    }
    return n_runs;
}

// One row (c, r, s) of the im2col matrix B over a pixel range given as runs:
//   dst[(run.first + q - run.q_begin) * step] = x[c, p*sh - ph + r*dh, q*sw - pw + s*dw]  (zero outside)
// Along a run the input column advances by sw, so the copy is a contiguous (sw = 1) or strided
// read of one input row; only the ends of the run, where it reaches into the padding, are zero.
template <typename T>
inline void gather_patch_row(const Conv2dGeometry& g, const T* plane, const PixelRun* runs, int n_runs, int64_t r,
                             int64_t s, T* dst, int64_t step) {
    for (int k = 0; k < n_runs; ++k) {
        const PixelRun& run = runs[k];
        T* out = dst + (run.first - run.q_begin) * step;  // out[q*step] is pixel q of this run
        const int64_t h = run.p * g.sh - g.ph + r * g.dh;
        if (h < 0 || h >= g.H) {  // a padding row
            for (int64_t q = run.q_begin; q < run.q_end; ++q) out[q * step] = T(0);
            continue;
        }
        const int64_t offset = s * g.dw - g.pw;  // input column = q*sw + offset
        const int64_t q_lo = std::max(run.q_begin, offset >= 0 ? int64_t(0) : (-offset + g.sw - 1) / g.sw);
        const int64_t q_hi = std::max(q_lo, std::min(run.q_end, g.W - 1 - offset < 0 ? int64_t(0) : (g.W - 1 - offset) / g.sw + 1));
        const T* x_row = plane + h * g.W + offset;
        for (int64_t q = run.q_begin; q < q_lo; ++q) out[q * step] = T(0);
        if (step == 1 && g.sw == 1) {
            for (int64_t q = q_lo; q < q_hi; ++q) out[q] = x_row[q];
        } else {
            for (int64_t q = q_lo; q < q_hi; ++q) out[q * step] = x_row[q * g.sw];
        }
        for (int64_t q = q_hi; q < run.q_end; ++q) out[q * step] = T(0);
    }
}

// The reverse of gather_patch_row (col2im for one row of B): adds src[...] back into the
// input pixels it was read from; entries that were padding are dropped.
template <typename T>
inline void scatter_patch_row(const Conv2dGeometry& g, T* plane, const PixelRun* runs, int n_runs, int64_t r,
                              int64_t s, const T* src) {
    for (int k = 0; k < n_runs; ++k) {
        const PixelRun& run = runs[k];
        const int64_t h = run.p * g.sh - g.ph + r * g.dh;
        if (h < 0 || h >= g.H) continue;
        const T* in = src + run.first - run.q_begin;
        const int64_t offset = s * g.dw - g.pw;
        const int64_t q_lo = std::max(run.q_begin, offset >= 0 ? int64_t(0) : (-offset + g.sw - 1) / g.sw);
        const int64_t q_hi = std::max(q_lo, std::min(run.q_end, g.W - 1 - offset < 0 ? int64_t(0) : (g.W - 1 - offset) / g.sw + 1));
        T* dx_row = plane + h * g.W + offset;
        if (g.sw == 1) {
            for (int64_t q = q_lo; q < q_hi; ++q) dx_row[q] += in[q];
        } else {
            for (int64_t q = q_lo; q < q_hi; ++q) dx_row[q * g.sw] += in[q];
        }
    }
}

}  // namespace conv_circuits
