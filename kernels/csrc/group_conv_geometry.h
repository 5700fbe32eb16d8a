// group_conv_geometry.h: the sizes of one p4 / p4m group convolution and the group's index arithmetic,
// shared by the CPU kernels (cpu/group_conv_*) and the CUDA kernels (cuda/group_conv_*.cu).
//
// Plain C++ (no torch, no CUDA headers); under nvcc the functions are callable on the device too.
// A group convolution is the conv2d of the flattened problem (Conv2dGeometry): C = Cin*Gin input
// channels (Gin = 1 for lifting, G for group conv; channel c = i*Gin + h), K = Cout*G output channels
// (channel o*G + g), R = S = k, dilation 1, one group, with the expanded filter bank
//   E[o*G + g, c, t] = w[o, i, g⁻¹h (group conv only), tap(g, t)]        t = a*k + b a filter pixel
// read from w by index arithmetic, never stored (kernels/group_reference.py builds it explicitly).
#pragma once
#include "conv2d_geometry.h"

#include <cstdint>

namespace conv_circuits {

struct GroupConvGeometry {
    Conv2dGeometry conv;  // the flattened conv2d (see above)
    int64_t order;        // G: 4 (p4) or 8 (p4m)
    int64_t group_in;     // Gin: 1 for lifting, G for group convolution
    int64_t k;            // the filter is k x k
};

// p4m element g = 4*m + r ("flip m times, then rotate r times"); p4 is the m = 0 half.
//   (m, a)·(n, b) = (m + n mod 2, a + (-1)^m b mod 4),   (m, r)⁻¹ = (m, r) if m else (0, -r)
CONV_CIRCUITS_HOST_DEVICE inline int64_t group_multiply(int64_t g, int64_t h) {
    const int64_t m = g / 4, a = g % 4, n = h / 4, b = h % 4;
    return 4 * ((m + n) % 2) + (a + (m ? 4 - b : b)) % 4;
}
CONV_CIRCUITS_HOST_DEVICE inline int64_t group_inverse(int64_t g) { return g >= 4 ? g : (4 - g) % 4; }

// tap(g, t) for t = a*k + b: apply torch.rot90's pixel map r times, (a, b) <- (b, k-1-a)
// (rot90(w)[a, b] = w[b, k-1-a]), then the flip's, (a, b) <- (a, k-1-b), when m = 1.
CONV_CIRCUITS_HOST_DEVICE inline int64_t group_tap(int64_t g, int64_t t, int64_t k) {
    int64_t a = t / k, b = t % k;
    for (int64_t r = 0; r < g % 4; ++r) {
        const int64_t next_a = b, next_b = k - 1 - a;
        a = next_a;
        b = next_b;
    }
    if (g >= 4) b = k - 1 - b;
    return a * k + b;
}

// Offset in w of the expanded entry E[row, c, t], row = o*G + g (arithmetic only: the CUDA kernels use it).
CONV_CIRCUITS_HOST_DEVICE inline int64_t expanded_offset(const GroupConvGeometry& gg, int64_t row, int64_t c, int64_t t) {
    const int64_t o = row / gg.order, g = row % gg.order, h = c % gg.group_in;
    const int64_t channel = gg.group_in == 1 ? 0 : group_multiply(group_inverse(g), h);
    return (o * gg.conv.C + (c - h) + channel) * gg.k * gg.k + group_tap(g, t, gg.k);
}

}  // namespace conv_circuits
