// conv2d_cuda_ops.cpp: the CUDA implementations of the conv_circuits operators.
//
// Compiled only where torch has CUDA (kernels/extension.py adds it to the build then). The
// kernels themselves are in the .cu files of this folder behind plain C launchers
// (conv2d_cuda.h); this file turns tensors into raw pointers, picks the stream and the
// dtype code, and turns a CUDA error into a Python exception. Schemas: conv2d_ops.cpp.
#include "../conv2d_torch_common.h"
#include "conv2d_cuda.h"

#include <torch/library.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <cuda_runtime.h>

namespace conv_circuits {

static int dtype_code(const at::Tensor& t) {
    switch (t.scalar_type()) {
        case at::kFloat: return CONV_CIRCUITS_FLOAT32;
        case at::kHalf: return CONV_CIRCUITS_FLOAT16;
        case at::kBFloat16: return CONV_CIRCUITS_BFLOAT16;
        default:
            TORCH_CHECK_TYPE(false, "the CUDA conv2d supports float32, float16 and bfloat16, got ", t.scalar_type());
    }
    return -1;
}

static void check_cuda(const at::Tensor& t, const char* name, const at::Tensor& like) {
    TORCH_CHECK_TYPE(t.is_cuda(), name, " must be a CUDA tensor, got ", t.device());
    TORCH_CHECK_TYPE(t.device() == like.device(), name, " is on ", t.device(), " but the input is on ", like.device());
    TORCH_CHECK_TYPE(t.scalar_type() == like.scalar_type(), name, " must have dtype ", like.scalar_type(), ", got ",
                     t.scalar_type());
}

static void check_launch(int error, const char* what) {
    TORCH_CHECK(error == 0, what, " failed: ", cudaGetErrorString(static_cast<cudaError_t>(error)));
}

static void* current_stream() { return c10::cuda::getCurrentCUDAStream().stream(); }

at::Tensor conv2d_forward_cuda(const at::Tensor& input, const at::Tensor& weight, const c10::optional<at::Tensor>& bias,
                               at::IntArrayRef stride, at::IntArrayRef padding, at::IntArrayRef dilation, int64_t groups,
                               bool /*direct: the CUDA kernels have one algorithm*/) {
    const int dtype = dtype_code(input);
    check_cuda(input, "input", input);
    check_cuda(weight, "weight", input);
    const c10::cuda::CUDAGuard guard(input.device());
    const Conv2dGeometry g = make_geometry(input.sizes(), weight.sizes(), stride, padding, dilation, groups);
    const at::Tensor x = input.contiguous(), w = weight.contiguous();
    at::Tensor b;
    if (bias.has_value() && bias->defined()) {
        check_cuda(*bias, "bias", input);
        TORCH_CHECK_VALUE(bias->dim() == 1 && bias->size(0) == g.K, "bias must have shape (", g.K, ",), got ", bias->sizes());
        b = bias->contiguous();
    }
    at::Tensor y = new_output({g.N, g.K, g.P, g.Q}, x.options());
    check_launch(conv_circuits_cuda_forward(dtype, &g, x.data_ptr(), w.data_ptr(), b.defined() ? b.data_ptr() : nullptr,
                                            y.data_ptr(), current_stream()), "conv2d forward kernel");
    return y;
}

at::Tensor conv2d_input_grad_cuda(const at::Tensor& grad_output, const at::Tensor& weight, at::IntArrayRef input_size,
                                  at::IntArrayRef stride, at::IntArrayRef padding, at::IntArrayRef dilation,
                                  int64_t groups, bool /*direct*/) {
    const int dtype = dtype_code(grad_output);
    check_cuda(grad_output, "grad_output", grad_output);
    check_cuda(weight, "weight", grad_output);
    const c10::cuda::CUDAGuard guard(grad_output.device());
    const Conv2dGeometry g = make_geometry(input_size, weight.sizes(), stride, padding, dilation, groups);
    TORCH_CHECK_VALUE(grad_output.sizes() == at::IntArrayRef({g.N, g.K, g.P, g.Q}), "grad_output has the wrong shape ",
                      grad_output.sizes());
    const at::Tensor dy = grad_output.contiguous(), w = weight.contiguous();
    at::Tensor dx = new_output({g.N, g.C, g.H, g.W}, dy.options());
    check_launch(conv_circuits_cuda_input_grad(dtype, &g, dy.data_ptr(), w.data_ptr(), dx.data_ptr(), current_stream()),
                 "conv2d input-gradient kernel");
    return dx;
}

std::tuple<at::Tensor, at::Tensor> conv2d_weight_grad_cuda(const at::Tensor& grad_output, const at::Tensor& input,
                                                           at::IntArrayRef weight_size, at::IntArrayRef stride,
                                                           at::IntArrayRef padding, at::IntArrayRef dilation,
                                                           int64_t groups, bool /*direct*/) {
    const int dtype = dtype_code(grad_output);
    check_cuda(grad_output, "grad_output", grad_output);
    check_cuda(input, "input", grad_output);
    const c10::cuda::CUDAGuard guard(grad_output.device());
    const Conv2dGeometry g = make_geometry(input.sizes(), weight_size, stride, padding, dilation, groups);
    TORCH_CHECK_VALUE(grad_output.sizes() == at::IntArrayRef({g.N, g.K, g.P, g.Q}), "grad_output has the wrong shape ",
                      grad_output.sizes());
    const at::Tensor dy = grad_output.contiguous(), x = input.contiguous();
    at::Tensor dw = new_output(weight_size, dy.options());
    at::Tensor db = new_output({g.K}, dy.options());
    check_launch(conv_circuits_cuda_weight_grad(dtype, &g, dy.data_ptr(), x.data_ptr(), dw.data_ptr(), db.data_ptr(),
                                                current_stream()), "conv2d weight-gradient kernel");
    return {dw, db};
}

}  // namespace conv_circuits

TORCH_LIBRARY_IMPL(conv_circuits, CUDA, m) {
    m.impl("conv2d_forward", &conv_circuits::conv2d_forward_cuda);
    m.impl("conv2d_input_grad", &conv_circuits::conv2d_input_grad_cuda);
    m.impl("conv2d_weight_grad", &conv_circuits::conv2d_weight_grad_cuda);
}
