// conv2d_depthwise.cpp: the fast path for depthwise convolution (groups == C == K).
//
// Index map: with one input and one output channel per group, output channel c sees only
// input channel c, so each (n, c) is an independent 2-D correlation of one plane:
//     y[n, c, p, q] = b[c] + sum_{r, s} W[c, 0, r, s] * x[n, c, p*sh - ph + r*dh, q*sw - pw + s*dw]
// A matrix product has nothing to reuse here (the reduction is only R*S long), so the
// loops run row by row instead: for a fixed (p, r, s) the terms for all q read one input
// row at positions q*sw + (s*dw - pw), a contiguous (stride 1) or evenly strided run that the
// compiler vectorises. The q where that position falls in the padding are cut off the range
// beforehand (ColumnRanges), so the inner loop has no branch.
//   input grad:  dx[n, c, h, q*sw + s*dw - pw] += W[c, 0, r, s] * dy[n, c, p, q]  (scatter
//                within one plane: a work item owns the plane, so no races)
//   weight grad: dW[c, 0, r, s] = sum_{n, p, q} dy[n, c, p, q] * x[n, c, h, w]  (a work item owns c;
//                with sw == 1, register sums per tap over zero-bordered planes, as the forward)
// Work items are the N*C planes (forward, input grad) or the C channels (weight grad).
#include "conv2d_cpu.h"
#include "micro_tile.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <type_traits>
#include <vector>

namespace conv_circuits {

namespace {

// For each kernel column s, the q in [begin[s], end[s]) whose input column q*sw + s*dw - pw
// lies inside [0, W). Computed once per call: integer divisions are too slow for inner loops.
struct ColumnRanges {
    std::vector<int64_t> begin, end;
    explicit ColumnRanges(const Conv2dGeometry& g) : begin(g.S), end(g.S) {
        for (int64_t s = 0; s < g.S; ++s) {
            const int64_t offset = s * g.dw - g.pw;
            begin[s] = offset >= 0 ? 0 : (-offset + g.sw - 1) / g.sw;
            end[s] = (g.W - 1 - offset) < 0 ? 0 : std::min<int64_t>(g.Q, (g.W - 1 - offset) / g.sw + 1);
            if (end[s] < begin[s]) end[s] = begin[s];
        }
    }
};

// Forward of one plane when sw == 1: the plane is first copied into a zero-bordered buffer,
// so the input column of output q and tap s is simply q + s*dw (no bounds to check), and then
// each vector of L consecutive outputs keeps its sum in one register across all R*S taps:
//   acc[q0 .. q0+L) = b + sum_{r, s} W[r, s] * padded[p*sh + r*dh][q0 + s*dw .. q0 + s*dw + L)
// The buffer is wide enough for the last, partial vector of each row to read past Q.
template <typename T>
void forward_plane_unit_column_stride(const Conv2dGeometry& g, const T* plane, const T* w_c, T bias, T* y_plane,
                                      std::vector<T>& padded) {
    using Vec = typename Tile<T>::Vec;
    constexpr int L = Tile<T>::L;
    const int64_t Hp = g.H + 2 * g.ph, Qv = (g.Q + L - 1) / L * L;
    const int64_t Wp = std::max(g.W + 2 * g.pw, Qv + (g.S - 1) * g.dw);
    padded.assign(Hp * Wp, T(0));
    for (int64_t h = 0; h < g.H; ++h)
        std::copy(plane + h * g.W, plane + (h + 1) * g.W, padded.data() + (h + g.ph) * Wp + g.pw);
    for (int64_t p = 0; p < g.P; ++p) {
        T* y_row = y_plane + p * g.Q;
        for (int64_t q0 = 0; q0 < Qv; q0 += L) {
            Vec acc = Vec{} + bias;
            for (int64_t r = 0; r < g.R; ++r) {
                const T* row = padded.data() + (p * g.sh + r * g.dh) * Wp + q0;
                for (int64_t s = 0; s < g.S; ++s) acc += broadcast<Vec>(w_c + r * g.S + s) * load_vec<Vec>(row + s * g.dw);
            }
            if (q0 + L <= g.Q) {
                store_vec(y_row + q0, acc);
            } else {
                T last[L];
                store_vec(last, acc);
                std::copy(last, last + (g.Q - q0), y_row + q0);
            }
        }
    }
}

// Weight and bias gradient of one channel c when sw == 1, in the forward's layout: the channel's N
// planes are copied into zero-bordered buffers, and each of 8 taps (r, s) keeps its running sum in one
// register across every vector of L output pixels of every image:
//   acc[t][l] += dy[n, c, p, q0 + l] * padded[n][p*sh + r*dh][q0 + s*dw + l]      (then summed over l)
// Taps run 8 at a time (RS may be anything); a row's last, partial vector zeroes the lanes past Q of both
// operands before they meet (past Q the padded row holds other pixels, which may be inf).
template <typename T>
void weight_grad_channel_unit_column_stride(const Conv2dGeometry& g, const T* x, const T* dy, int64_t c, T* dW_c,
                                            T* db_c, std::vector<T>& padded) {
    using Vec = typename Tile<T>::Vec;
    constexpr int L = Tile<T>::L, TAPS = 8;
    typedef std::conditional_t<sizeof(T) == 4, int32_t, int64_t> Lane;
    typedef Lane Keep __attribute__((vector_size(sizeof(Vec))));
    const int64_t RS = g.R * g.S, Hp = g.H + 2 * g.ph, Qv = (g.Q + L - 1) / L * L;
    const int64_t Wp = std::max(g.W + 2 * g.pw, Qv + (g.S - 1) * g.dw), plane = Hp * Wp;
    const int tail = int(g.Q - (Qv - L));
    Keep keep;
    for (int l = 0; l < L; ++l) keep[l] = l < tail ? -1 : 0;
    padded.assign(g.N * plane, T(0));
    for (int64_t n = 0; n < g.N; ++n)
        for (int64_t h = 0; h < g.H; ++h) {
            const T* src = x + ((n * g.C + c) * g.H + h) * g.W;
            std::copy(src, src + g.W, padded.data() + n * plane + (h + g.ph) * Wp + g.pw);
        }
    for (int64_t t0 = 0; t0 < RS; t0 += TAPS) {
        int64_t tap_offset[TAPS];  // where tap t0 + t reads, relative to output pixel (0, 0); surplus taps repeat t0
        for (int t = 0; t < TAPS; ++t) {
            const int64_t rs = t0 + t < RS ? t0 + t : t0;
            tap_offset[t] = (rs / g.S) * g.dh * Wp + (rs % g.S) * g.dw;
        }
        Vec acc[TAPS], bias_acc = Vec{};
        for (int t = 0; t < TAPS; ++t) acc[t] = Vec{};
        for (int64_t n = 0; n < g.N; ++n) {
            const T* dy_plane = dy + (n * g.C + c) * g.P * g.Q;
            for (int64_t p = 0; p < g.P; ++p) {
                const T* dy_row = dy_plane + p * g.Q;
                const T* x_row = padded.data() + n * plane + p * g.sh * Wp;
                for (int64_t q0 = 0; q0 < Qv; q0 += L) {
                    const bool partial = q0 + L > g.Q;
                    Vec d;
                    if (partial) {
                        T lanes[L] = {};
                        std::copy(dy_row + q0, dy_row + g.Q, lanes);
                        d = load_vec<Vec>(lanes);
                    } else {
                        d = load_vec<Vec>(dy_row + q0);
                    }
                    bias_acc += d;
#pragma GCC unroll 8
                    for (int t = 0; t < TAPS; ++t) {
                        Vec xv = load_vec<Vec>(x_row + q0 + tap_offset[t]);
                        if (partial) xv = keep ? xv : Vec{};
                        acc[t] += d * xv;
                    }
                }
            }
        }
        for (int t = 0; t < TAPS && t0 + t < RS; ++t) {
            T lanes[L];
            store_vec(lanes, acc[t]);
            T total = 0;
            for (int l = 0; l < L; ++l) total += lanes[l];
            dW_c[t0 + t] = total;
        }
        if (t0 == 0 && db_c) {
            T lanes[L];
            store_vec(lanes, bias_acc);
            T total = 0;
            for (int l = 0; l < L; ++l) total += lanes[l];
            *db_c = total;
        }
    }
}

}  // namespace

bool is_depthwise(const Conv2dGeometry& g) { return g.Cg() == 1 && g.Kg() == 1; }

template <typename T>
void conv2d_forward_depthwise(const Conv2dGeometry& g, const T* x, const T* W, const T* b, T* y) {
    const int64_t RS = g.R * g.S;
    const ColumnRanges columns(g);
    at::parallel_for(0, g.N * g.C, 1, [&](int64_t begin, int64_t end) {
        std::vector<T> padded;
        for (int64_t nc = begin; nc < end; ++nc) {
            const int64_t c = nc % g.C;
            const T* plane = x + nc * g.H * g.W;
            if (g.sw == 1) {
                forward_plane_unit_column_stride(g, plane, W + c * RS, b ? b[c] : T(0), y + nc * g.P * g.Q, padded);
                continue;
            }
            for (int64_t p = 0; p < g.P; ++p) {
                T* __restrict y_row = y + (nc * g.P + p) * g.Q;
                std::fill(y_row, y_row + g.Q, b ? b[c] : T(0));
                for (int64_t r = 0; r < g.R; ++r) {
                    const int64_t h = p * g.sh - g.ph + r * g.dh;
                    if (h < 0 || h >= g.H) continue;  // a padding row
                    const T* __restrict x_row = plane + h * g.W;
                    for (int64_t s = 0; s < g.S; ++s) {
                        const T weight = W[c * RS + r * g.S + s];
                        const int64_t offset = s * g.dw - g.pw;
                        const int64_t q_begin = columns.begin[s], q_end = columns.end[s];
                        if (g.sw == 1) {
                            for (int64_t q = q_begin; q < q_end; ++q) y_row[q] += weight * x_row[q + offset];
                        } else {
                            for (int64_t q = q_begin; q < q_end; ++q) y_row[q] += weight * x_row[q * g.sw + offset];
                        }
                    }
                }
            }
        }
    });
}

template <typename T>
void conv2d_input_grad_depthwise(const Conv2dGeometry& g, const T* dy, const T* W, T* dx) {
    const int64_t RS = g.R * g.S;
    const ColumnRanges columns(g);
    // With stride 1 the input gradient is itself a correlation: of dy, padded by
    // (R-1)*dh - ph rows and (S-1)*dw - pw columns, with the kernel turned by 180 degrees
    // (dx[h, w] = sum W[r, s] * dy[h + ph - r*dh, w + pw - s*dw]). Then the fast forward runs it.
    const bool as_correlation = g.sh == 1 && g.sw == 1 && g.ph <= (g.R - 1) * g.dh && g.pw <= (g.S - 1) * g.dw;
    if (as_correlation) {
        Conv2dGeometry flipped = g;
        flipped.H = g.P; flipped.W = g.Q; flipped.P = g.H; flipped.Q = g.W;
        flipped.ph = (g.R - 1) * g.dh - g.ph; flipped.pw = (g.S - 1) * g.dw - g.pw;
        std::vector<T> w_flipped(g.C * RS);
        for (int64_t c = 0; c < g.C; ++c)
            for (int64_t rs = 0; rs < RS; ++rs) w_flipped[c * RS + rs] = W[c * RS + RS - 1 - rs];
        at::parallel_for(0, g.N * g.C, 1, [&](int64_t begin, int64_t end) {
            std::vector<T> padded;
            for (int64_t nc = begin; nc < end; ++nc)
                forward_plane_unit_column_stride(flipped, dy + nc * g.P * g.Q, w_flipped.data() + (nc % g.C) * RS,
                                                 T(0), dx + nc * g.H * g.W, padded);
        });
        return;
    }
    at::parallel_for(0, g.N * g.C, 1, [&](int64_t begin, int64_t end) {
        for (int64_t nc = begin; nc < end; ++nc) {
            const int64_t c = nc % g.C;
            T* plane = dx + nc * g.H * g.W;
            std::fill(plane, plane + g.H * g.W, T(0));
            for (int64_t p = 0; p < g.P; ++p) {
                const T* __restrict dy_row = dy + (nc * g.P + p) * g.Q;
                for (int64_t r = 0; r < g.R; ++r) {
                    const int64_t h = p * g.sh - g.ph + r * g.dh;
                    if (h < 0 || h >= g.H) continue;
                    T* __restrict dx_row = plane + h * g.W;
                    for (int64_t s = 0; s < g.S; ++s) {
                        const T weight = W[c * RS + r * g.S + s];
                        const int64_t offset = s * g.dw - g.pw;
                        const int64_t q_begin = columns.begin[s], q_end = columns.end[s];
                        if (g.sw == 1) {
                            for (int64_t q = q_begin; q < q_end; ++q) dx_row[q + offset] += weight * dy_row[q];
                        } else {
                            for (int64_t q = q_begin; q < q_end; ++q) dx_row[q * g.sw + offset] += weight * dy_row[q];
                        }
                    }
                }
            }
        }
    });
}

template <typename T>
void conv2d_weight_grad_depthwise(const Conv2dGeometry& g, const T* dy, const T* x, T* dW, T* db) {
    const int64_t RS = g.R * g.S;
    if (g.sw == 1) {
        at::parallel_for(0, g.C, 1, [&](int64_t begin, int64_t end) {
            std::vector<T> padded;
            for (int64_t c = begin; c < end; ++c)
                weight_grad_channel_unit_column_stride(g, x, dy, c, dW + c * RS, db ? db + c : nullptr, padded);
        });
        return;
    }
    const ColumnRanges columns(g);
    at::parallel_for(0, g.C, 1, [&](int64_t begin, int64_t end) {
        // Partial sums per tap and output column: the additions along q then run as elementwise
        // vector operations (a scalar running sum could not be vectorised without reordering
        // the floating-point additions); each row is summed once at the end.
        std::vector<T> tap_sums((RS + 1) * g.Q);
        for (int64_t c = begin; c < end; ++c) {
            std::fill(tap_sums.begin(), tap_sums.end(), T(0));
            T* bias_sums = tap_sums.data() + RS * g.Q;
            for (int64_t n = 0; n < g.N; ++n) {
                const int64_t nc = n * g.C + c;
                const T* plane = x + nc * g.H * g.W;
                for (int64_t p = 0; p < g.P; ++p) {
                    const T* __restrict dy_row = dy + (nc * g.P + p) * g.Q;
                    for (int64_t q = 0; q < g.Q; ++q) bias_sums[q] += dy_row[q];
                    for (int64_t r = 0; r < g.R; ++r) {
                        const int64_t h = p * g.sh - g.ph + r * g.dh;
                        if (h < 0 || h >= g.H) continue;
                        const T* __restrict x_row = plane + h * g.W;
                        for (int64_t s = 0; s < g.S; ++s) {
                            const int64_t offset = s * g.dw - g.pw;
                            const int64_t q_begin = columns.begin[s], q_end = columns.end[s];
                            T* sums = tap_sums.data() + (r * g.S + s) * g.Q;
                            if (g.sw == 1) {
                                for (int64_t q = q_begin; q < q_end; ++q) sums[q] += dy_row[q] * x_row[q + offset];
                            } else {
                                for (int64_t q = q_begin; q < q_end; ++q) sums[q] += dy_row[q] * x_row[q * g.sw + offset];
                            }
                        }
                    }
                }
            }
            for (int64_t rs = 0; rs <= RS; ++rs) {
                T total = 0;
                for (int64_t q = 0; q < g.Q; ++q) total += tap_sums[rs * g.Q + q];
                if (rs < RS) dW[c * RS + rs] = total;
                else if (db) db[c] = total;
            }
        }
    });
}

template void conv2d_forward_depthwise<float>(const Conv2dGeometry&, const float*, const float*, const float*, float*);
template void conv2d_forward_depthwise<double>(const Conv2dGeometry&, const double*, const double*, const double*, double*);
template void conv2d_input_grad_depthwise<float>(const Conv2dGeometry&, const float*, const float*, float*);
template void conv2d_input_grad_depthwise<double>(const Conv2dGeometry&, const double*, const double*, double*);
template void conv2d_weight_grad_depthwise<float>(const Conv2dGeometry&, const float*, const float*, float*, float*);
template void conv2d_weight_grad_depthwise<double>(const Conv2dGeometry&, const double*, const double*, double*, double*);

}  // namespace conv_circuits
