// group_conv_cpu.h: fused p4 / p4m group convolutions on the CPU (raw pointers, no torch types).
//
// A group convolution is a conv2d with an expanded filter bank (kernels/group_reference.py):
//   lifting     E[o*G + g, i,       t] = w[o, i,        tap(g, t)]        w (Cout, Cin, k, k)
//   group conv  E[o*G + g, i*G + h, t] = w[o, i, g⁻¹h,  tap(g, t)]        w (Cout, Cin, G, k, k)
// with t = a*k + b a filter pixel and tap(g, t) the pixel of w that the element g moves to t
// ((g·w)[t] = w[tap(g, t)]). These kernels never build E: every entry they need is read from w
// through the two small tables below, inside the kernel.
//
// So the conv2d sizes (Conv2dGeometry) are those of the flattened problem: C = Cin*Gin input
// channels (Gin = 1 for lifting, G for group conv; channel c = i*Gin + h), K = Cout*G output
// channels (channel o*G + g), R = S = k, dilation 1, one group. The output (N, Cout, G, P, Q) is
// the flattened (N, K, P, Q) in memory, the group-conv input (N, Cin, G, H, W) the flattened
// (N, C, H, W): no copy either way.
//
// Two implementations of the same three functions, for T = float and double (as for conv2d):
//   *_direct: the plain loops of group_conv_direct.cpp (the one to read first; the check)
//   *_packed: the fast path, one file per pass: group_conv_forward.cpp, group_conv_input_grad.cpp,
//             group_conv_weight_grad.cpp (register tiles over the padded image, group_conv_flat.h)
#pragma once
#include "../group_conv_geometry.h"

#include <cstdint>
#include <vector>

namespace conv_circuits {

// The per-element tables the kernels read instead of an expanded filter bank:
//   tap[g*k*k + t]      = tap(g, t)                              G x k*k ints
//   channel[g*Gin + h]  = g⁻¹h (group conv) or 0 (lifting)       G x Gin ints
// so that E[o*G + g, c, t] = w[(o*C + (c - h) + channel[g*Gin + h]) * k*k + tap[g*k*k + t]], h = c % Gin.
struct GroupTables {
    std::vector<int32_t> tap, channel;
    explicit GroupTables(const GroupConvGeometry& gg) : tap(gg.order * gg.k * gg.k), channel(gg.order * gg.group_in) {
        for (int64_t g = 0; g < gg.order; ++g) {
            for (int64_t t = 0; t < gg.k * gg.k; ++t) tap[g * gg.k * gg.k + t] = int32_t(filter_tap(gg.tables, g, t, gg.k));
            for (int64_t h = 0; h < gg.group_in; ++h)
                channel[g * gg.group_in + h] = gg.group_in == 1 ? 0 : int32_t(filter_channel(gg.tables, g, h));
        }
    }
    // Offset in w of the expanded entry E[row, c, t] for output channel row = o*G + g.
    int64_t offset(const GroupConvGeometry& gg, int64_t row, int64_t c, int64_t t) const {
        const int64_t o = row / gg.order, g = row % gg.order, h = c % gg.group_in, kk = gg.k * gg.k;
        return (o * gg.conv.C + (c - h) + channel[g * gg.group_in + h]) * kk + tap[g * kk + t];
    }
};

// x (N, C, H, W), w as above, b (Cout,) or null, y (N, K, P, Q): every element written.
template <typename T> void group_conv_forward_direct(const GroupConvGeometry& gg, const T* x, const T* w, const T* b, T* y);
template <typename T> void group_conv_forward_packed(const GroupConvGeometry& gg, const T* x, const T* w, const T* b, T* y);
// dx (N, C, H, W) from dy (N, K, P, Q) and w.
template <typename T> void group_conv_input_grad_direct(const GroupConvGeometry& gg, const T* dy, const T* w, T* dx);
template <typename T> void group_conv_input_grad_packed(const GroupConvGeometry& gg, const T* dy, const T* w, T* dx);
// dw (shape of w) from dy and x, summed over the G tied copies; db (Cout,) = dy summed over n, g, p, q (db may be null).
template <typename T> void group_conv_weight_grad_direct(const GroupConvGeometry& gg, const T* dy, const T* x, T* dw, T* db);
template <typename T> void group_conv_weight_grad_packed(const GroupConvGeometry& gg, const T* dy, const T* x, T* dw, T* db);

}  // namespace conv_circuits
