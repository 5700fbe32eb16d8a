// conv2d_cpu.h: the CPU kernels, on raw contiguous NCHW pointers (no torch types).
//
// Two implementations of the same three functions, for T = float and double:
//   *_direct: the readable loops of conv2d_direct.cpp (what the lesson shows; the check)
//   *_packed: the fast path of conv2d_packed.cpp (square kernels at dilation 1, one group: the group
//             convolutions' flat engine as the trivial group; depthwise calls: the row-by-row loops of
//             conv2d_depthwise.cpp; the rest: packed tiles + register-blocked inner product)
// Shapes: x (N, C, H, W), W (K, C/groups, R, S), y and dy (N, K, P, Q), b and db (K,).
// b may be null (no bias). Every output element is written (no need to zero first).
#pragma once
#include "../conv2d_geometry.h"

namespace conv_circuits {

template <typename T> void conv2d_forward_direct(const Conv2dGeometry& g, const T* x, const T* W, const T* b, T* y);
template <typename T> void conv2d_input_grad_direct(const Conv2dGeometry& g, const T* dy, const T* W, T* dx);
template <typename T> void conv2d_weight_grad_direct(const Conv2dGeometry& g, const T* dy, const T* x, T* dW, T* db);

template <typename T> void conv2d_forward_packed(const Conv2dGeometry& g, const T* x, const T* W, const T* b, T* y);
template <typename T> void conv2d_input_grad_packed(const Conv2dGeometry& g, const T* dy, const T* W, T* dx);
template <typename T> void conv2d_weight_grad_packed(const Conv2dGeometry& g, const T* dy, const T* x, T* dW, T* db);

// Depthwise convolution (one input and one output channel per group): conv2d_depthwise.cpp.
// The packed functions hand such calls over to these.
bool is_depthwise(const Conv2dGeometry& g);
template <typename T> void conv2d_forward_depthwise(const Conv2dGeometry& g, const T* x, const T* W, const T* b, T* y);
template <typename T> void conv2d_input_grad_depthwise(const Conv2dGeometry& g, const T* dy, const T* W, T* dx);
template <typename T> void conv2d_weight_grad_depthwise(const Conv2dGeometry& g, const T* dy, const T* x, T* dW, T* db);

}  // namespace conv_circuits
