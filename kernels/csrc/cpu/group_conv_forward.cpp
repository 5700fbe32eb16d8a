// group_conv_forward.cpp: fused p4 / p4m lifting and group convolution on the CPU, the forward pass.
//
// The product is conv2d_packed.cpp's, on the flattened geometry of group_conv_cpu.h:
//   Y[row, pq] = b[o] + sum_crs E[row, crs] * B[crs, pq]        row = o*G + g, crs = c*k*k + t
// where B is the im2col matrix of one image and E the expanded filter bank. E is never stored: a work
// item gathers one MR x KC panel of it at a time, entry by entry from w through the group tables
// (GroupTables: a pixel map and a group-axis permutation per element), into a small buffer, and uses
// it for every pixel panel it owns before gathering the next one: the gather costs about one load per
// MR x NR multiply-adds. B is never stored either: the register tiles read the zero-padded image in
// place (the flat layout, group_conv_flat.h).
//
// Work split (flat_correlation): (block of images, block of pixel panels, block of output-channel
// panels); small images go several to an item, so a gathered panel of E serves more pixels.
#include "group_conv_flat.h"

#include <algorithm>

namespace conv_circuits {

using namespace group_conv_detail;

namespace {

// a[i*MR + m] = E[row0 + m, crs0 + i] for i < kc, m < m_valid (rows past m_valid are zero).
template <typename T, int MR>
void gather_filter_panel(const GroupConvGeometry& gg, const GroupTables& tables, const T* w, int64_t row0, int m_valid,
                         int64_t crs0, int64_t kc, T* a) {
    const int64_t kk = gg.k * gg.k, Gin = gg.group_in, C = gg.conv.C;
    if (gg.order == 1) {  // a conv2d (the trivial group): E = w, rows of C*k*k values; a[] written in order
        const T* rows[MR];
        for (int m = 0; m < MR; ++m) rows[m] = w + (row0 + std::min(m, m_valid - 1)) * C * kk + crs0;
        for (int64_t i = 0; i < kc; ++i)
            for (int m = 0; m < MR; ++m) a[i * MR + m] = m < m_valid ? rows[m][i] : T(0);
        return;
    }
    for (int m = 0; m < MR; ++m) {
        if (m >= m_valid) {
            for (int64_t i = 0; i < kc; ++i) a[i * MR + m] = T(0);
            continue;
        }
        const int64_t row = row0 + m, o = row / gg.order, g = row % gg.order;
        const int32_t* tap = tables.tap.data() + g * kk;
        const int32_t* channel = tables.channel.data() + g * Gin;
        const T* w_o = w + o * C * kk;
        int64_t c = crs0 / kk, t = crs0 % kk;
        const T* w_c = w_o + (c - c % Gin + channel[c % Gin]) * kk;
        for (int64_t i = 0; i < kc; ++i) {
            a[i * MR + m] = w_c[tap[t]];
            if (++t == kk && i + 1 < kc) {
                t = 0;
                ++c;
                w_c = w_o + (c - c % Gin + channel[c % Gin]) * kk;
            }
        }
    }
}

template <typename T, int MR, int NV>
void forward_flat(const GroupConvGeometry& gg, const GroupTables& tables, const T* x, const T* w, const T* b, T* y) {
    const Conv2dGeometry& g = gg.conv;
    auto gather = [&](int64_t row0, int m_valid, int64_t crs0, int64_t kc, T* a) {
        gather_filter_panel<T, MR>(gg, tables, w, row0, m_valid, crs0, kc, a);
    };
    auto bias_of = [&](int64_t row) { return b[row / gg.order]; };
    const PhaseLayout lay(g.H, g.W, g.ph, g.pw, gg.k, g.sh, g.sw, g.P, g.Q);
    flat_correlation<T, MR, NV>(x, g.N, g.C, lay, gg.k, g.K, g.P, g.Q, gather, bias_of, b != nullptr, y);
}

}  // namespace

template <typename T>
void group_conv_forward_packed(const GroupConvGeometry& gg, const T* x, const T* w, const T* b, T* y) {
    if (gg.conv.N == 0) return;  // an empty batch: nothing to write
    const GroupTables tables(gg);
    if (use_tall_tile<T>(gg.conv.K))
        forward_flat<T, Tile<T>::MR, Tile<T>::NV>(gg, tables, x, w, b, y);
    else
        forward_flat<T, FlatTile<T>::MR, FlatTile<T>::NV>(gg, tables, x, w, b, y);
}

template void group_conv_forward_packed<float>(const GroupConvGeometry&, const float*, const float*, const float*, float*);
template void group_conv_forward_packed<double>(const GroupConvGeometry&, const double*, const double*, const double*, double*);

}  // namespace conv_circuits
