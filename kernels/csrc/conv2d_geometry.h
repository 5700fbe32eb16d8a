// conv2d_geometry.h: the sizes of one conv2d call, shared by every C++ and CUDA kernel.
//
// Plain C++ (no torch, no CUDA headers) so that both the CPU sources and the .cu files
// include it. Names follow the index map every kernel documents:
//   input  x  (N, C, H, W)        weight w (K, C/groups, R, S)        output y (N, K, P, Q)
//   y[n, k, p, q] = b[k] + sum over c < C/groups, r < R, s < S of
//       w[k, c, r, s] * x[n, g*Cg + c, p*sh - ph + r*dh, q*sw - pw + s*dw]   (g = k / Kg)
//   where reads outside 0 <= h < H, 0 <= w < W are zero (the padding).
#pragma once
#include <cstdint>

// Under nvcc the helpers below are callable from both host and device code.
#if defined(__CUDACC__)
#define CONV_CIRCUITS_HOST_DEVICE __host__ __device__
#else
#define CONV_CIRCUITS_HOST_DEVICE
#endif

struct Conv2dGeometry {
    int64_t N, C, H, W;   // input
    int64_t K, R, S;      // output channels, kernel height and width
    int64_t P, Q;         // output height and width
    int64_t sh, sw;       // stride
    int64_t ph, pw;       // symmetric padding
    int64_t dh, dw;       // dilation
    int64_t groups;

    CONV_CIRCUITS_HOST_DEVICE int64_t Cg() const { return C / groups; }        // input channels seen by one output channel
    CONV_CIRCUITS_HOST_DEVICE int64_t Kg() const { return K / groups; }        // output channels per group
    CONV_CIRCUITS_HOST_DEVICE int64_t CRS() const { return Cg() * R * S; }     // length of one dot product (the reduction)
    CONV_CIRCUITS_HOST_DEVICE int64_t PQ() const { return P * Q; }             // output pixels per image and channel
};

// Output size along one axis, as in torch.nn.functional.conv2d.
CONV_CIRCUITS_HOST_DEVICE inline int64_t conv2d_output_size(int64_t in, int64_t kernel, int64_t stride, int64_t pad, int64_t dil) {
    return (in + 2 * pad - dil * (kernel - 1) - 1) / stride + 1;
}
