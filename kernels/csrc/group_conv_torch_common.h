// group_conv_torch_common.h: helpers shared by the CPU and CUDA bindings of the group convolutions
// (defined in group_conv_ops.cpp).
#pragma once
#include "cpu/group_conv_cpu.h"

#include <ATen/ATen.h>

#include <vector>

namespace conv_circuits {

// The sizes of one lifting (weight of rank 4) or group convolution (rank 5) of a group of `order`
// elements, flattened to a conv2d; ValueErrors naming the argument for inconsistent shapes.
GroupConvGeometry make_group_geometry(at::IntArrayRef input_size, at::IntArrayRef weight_size, int64_t order,
                                      at::IntArrayRef stride, at::IntArrayRef padding);

// (N, Cout, G, P, Q).
std::vector<int64_t> group_output_size(const GroupConvGeometry& gg);

// A ValueError unless grad_output has the output's shape.
void check_group_grad_output(const at::Tensor& grad_output, const GroupConvGeometry& gg);

}  // namespace conv_circuits
