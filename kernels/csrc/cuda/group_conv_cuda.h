// group_conv_cuda.h: the plain C launchers of the fused CUDA group convolutions (p4 / p4m).
//
// Like conv2d_cuda.h: the .cu files include only CUDA headers and this project's plain headers, so
// `nvcc -c` compiles them anywhere; the torch binding is cuda/group_conv_cuda_ops.cpp. Pointers are
// device pointers to contiguous tensors; gg describes the flattened conv2d (../group_conv_geometry.h):
// x (N, C, H, W) with C = Cin*Gin, y and dy (N, K, P, Q) with K = Cout*G, w of shape (Cout, Cin, k, k)
// (lifting) or (Cout, Cin, G, k, k). dtype: ConvCircuitsDtype (conv2d_cuda.h). stream: a cudaStream_t.
// The return value is a cudaError_t (0 = success).
#pragma once
#include "../group_conv_geometry.h"
#include "conv2d_cuda.h"

extern "C" {
// y = the group convolution of x with w, plus b[o] on every (o, g) (b may be null).
int conv_circuits_cuda_group_forward(int dtype, const conv_circuits::GroupConvGeometry* gg, const void* x,
                                     const void* w, const void* b, void* y, void* stream);
// dx from dy and w.
int conv_circuits_cuda_group_input_grad(int dtype, const conv_circuits::GroupConvGeometry* gg, const void* dy,
                                        const void* w, void* dx, void* stream);
// dw_float (float32, shape of w, zero on entry) += the weight gradient, the G tied copies summed with
// atomicAdd; db (Cout,), in the dtype, = dy summed over n, g, p, q (db may be null).
int conv_circuits_cuda_group_weight_grad(int dtype, const conv_circuits::GroupConvGeometry* gg, const void* dy,
                                         const void* x, float* dw_float, void* db, void* stream);
}
