// conv2d_cuda.h: the plain C launchers of the CUDA conv2d kernels.
//
// Each .cu file includes only CUDA headers and this project's plain headers, so it compiles
// with `nvcc -c` on any machine with the CUDA toolkit (no torch, no GPU needed). The torch
// binding (conv2d_cuda_ops.cpp) calls these launchers with raw device pointers to contiguous
// NCHW tensors. dtype: 0 float32, 1 float16, 2 bfloat16. stream: a cudaStream_t.
// The return value is a cudaError_t (0 = success).
#pragma once
#include "../conv2d_geometry.h"

enum ConvCircuitsDtype { CONV_CIRCUITS_FLOAT32 = 0, CONV_CIRCUITS_FLOAT16 = 1, CONV_CIRCUITS_BFLOAT16 = 2 };

extern "C" {
// y (N, K, P, Q) = conv2d(x, w) + b; b may be null.
int conv_circuits_cuda_forward(int dtype, const Conv2dGeometry* g, const void* x, const void* w, const void* b,
                               void* y, void* stream);
// dx (N, C, H, W) from dy (N, K, P, Q) and w.
int conv_circuits_cuda_input_grad(int dtype, const Conv2dGeometry* g, const void* dy, const void* w, void* dx,
                                  void* stream);
// dw (K, C/groups, R, S) from dy and x; db (K,) = dy summed over n, p, q (db may be null).
int conv_circuits_cuda_weight_grad(int dtype, const Conv2dGeometry* g, const void* dy, const void* x, void* dw,
                                   void* db, void* stream);
}
