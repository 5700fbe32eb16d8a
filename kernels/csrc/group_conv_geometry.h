// group_conv_geometry.h: the sizes of one p4 / p4m group convolution and where its expanded filter
// entries live in w, shared by the CPU kernels (cpu/group_conv_*) and the CUDA kernels (cuda/group_conv_*.cu).
//
// Plain C++ (no torch, no CUDA headers); under nvcc the functions are callable on the device too.
// A group convolution is the conv2d of the flattened problem (Conv2dGeometry): C = Cin*Gin input
// channels (Gin = 1 for lifting, G for group conv; channel c = i*Gin + h), K = Cout*G output channels
// (channel o*G + g), R = S = k, dilation 1, one group, with the expanded filter bank
//   E[o*G + g, c, t] = w[o, i, g⁻¹h (group conv only), tap(g, t)]        t = a*k + b a filter pixel
// read from w through the group's tables, never stored (kernels/group_reference.py builds it explicitly).
// The tables are data generated from kernels/groups.py (group_tables.h): this file only looks them up.
#pragma once
#include "conv2d_geometry.h"
#include "group_tables.h"

#include <cstdint>

namespace conv_circuits {

struct GroupConvGeometry {
    Conv2dGeometry conv;                   // the flattened conv2d (see above)
    int64_t order;                         // G: 4 (p4) or 8 (p4m)
    int64_t group_in;                      // Gin: 1 for lifting, G for group convolution
    int64_t k;                             // the filter is k x k
    GroupIndexTables tables = P4M_TABLES;  // travels with the sizes (by value, into CUDA kernels too)
};

// Index arithmetic in 32 bits (row, c, t and k are far below 2^31; on a GPU a 64-bit division is a slow
// subroutine call, see cuda/tiled_product.cuh), the offset into w in 64.

// g⁻¹h: the element of w's group axis that E[o*G + g, i*G + h, .] reads (group convolution).
CONV_CIRCUITS_HOST_DEVICE inline int32_t filter_channel(const GroupIndexTables& tables, int32_t g, int32_t h) {
    return tables.product[tables.inverse[g]][h];
}

// tap(g, t): the pixel of w that shows at pixel t = a*k + b of g·w, by g's pixel matrix on centred,
// doubled coordinates (A, B) = (2a - (k-1), 2b - (k-1)).
CONV_CIRCUITS_HOST_DEVICE inline int32_t filter_tap(const GroupIndexTables& tables, int32_t g, int32_t t, int32_t k) {
    const int32_t A = 2 * (t / k) - (k - 1), B = 2 * (t % k) - (k - 1);
    const int8_t(&m)[2][2] = tables.pixel[g];
    const int32_t a = (m[0][0] * A + m[0][1] * B + (k - 1)) / 2, b = (m[1][0] * A + m[1][1] * B + (k - 1)) / 2;
    return a * k + b;
}

// Offset in w of the expanded entry E[row, c, t], row = o*G + g (the CUDA kernels use it per entry).
CONV_CIRCUITS_HOST_DEVICE inline int64_t expanded_offset(const GroupConvGeometry& gg, int64_t row64, int64_t c64, int64_t t64) {
    const int32_t row = int32_t(row64), c = int32_t(c64), t = int32_t(t64), order = int32_t(gg.order);
    const int32_t group_in = int32_t(gg.group_in), k = int32_t(gg.k);
    const int32_t o = row / order, g = row % order, h = c % group_in;
    const int32_t channel = group_in == 1 ? 0 : filter_channel(gg.tables, g, h);
    return (int64_t(o) * gg.conv.C + (c - h) + channel) * k * k + filter_tap(gg.tables, g, t, k);
}

}  // namespace conv_circuits
