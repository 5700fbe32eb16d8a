// conv2d_torch_common.h: helpers shared by the CPU and the CUDA torch bindings (defined in conv2d_ops.cpp).
#pragma once
#include "conv2d_geometry.h"

#include <ATen/ATen.h>

namespace conv_circuits {

// The sizes of one call, with ValueErrors naming the argument for inconsistent shapes.
Conv2dGeometry make_geometry(at::IntArrayRef input_size, at::IntArrayRef weight_size, at::IntArrayRef stride,
                             at::IntArrayRef padding, at::IntArrayRef dilation, int64_t groups);

// An output buffer; all NaN when CONV_CIRCUITS_POISON_OUTPUTS=1 (to catch unwritten elements).
at::Tensor new_output(at::IntArrayRef sizes, const at::TensorOptions& options);

}  // namespace conv_circuits
