// group_conv_cuda_ops.cpp: the CUDA implementations of the group-convolution operators.
//
// Compiled only where torch has CUDA (kernels/extension.py adds every cuda/*_ops.cpp then). The
// kernels are in group_conv_*.cu behind plain C launchers (group_conv_cuda.h); this file turns
// tensors into raw pointers, picks the stream and the dtype code, and turns a CUDA error into a
// Python exception. Schemas: ../group_conv_ops.cpp.
#include "../conv2d_torch_common.h"
#include "../group_conv_torch_common.h"
#include "group_conv_cuda.h"

#include <torch/library.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <cuda_runtime.h>

namespace conv_circuits {

static int group_dtype_code(const at::Tensor& t) {
    switch (t.scalar_type()) {
        case at::kFloat: return CONV_CIRCUITS_FLOAT32;
        case at::kHalf: return CONV_CIRCUITS_FLOAT16;
        case at::kBFloat16: return CONV_CIRCUITS_BFLOAT16;
        default:
            TORCH_CHECK_TYPE(false, "the CUDA group convolutions support float32, float16 and bfloat16, got ",
                             t.scalar_type());
    }
    return -1;
}

static void check_group_cuda(const at::Tensor& t, const char* name, const at::Tensor& like) {
    TORCH_CHECK_TYPE(t.is_cuda(), name, " must be a CUDA tensor, got ", t.device());
    TORCH_CHECK_TYPE(t.device() == like.device(), name, " is on ", t.device(), " but the input is on ", like.device());
    TORCH_CHECK_TYPE(t.scalar_type() == like.scalar_type(), name, " must have dtype ", like.scalar_type(), ", got ",
                     t.scalar_type());
}

static void check_group_launch(int error, const char* what) {
    TORCH_CHECK(error == 0, what, " failed: ", cudaGetErrorString(static_cast<cudaError_t>(error)));
}

static void* group_stream() { return c10::cuda::getCurrentCUDAStream().stream(); }

at::Tensor group_conv_forward_cuda(const at::Tensor& input, const at::Tensor& weight,
                                   const c10::optional<at::Tensor>& bias, int64_t order, at::IntArrayRef stride,
                                   at::IntArrayRef padding, bool /*direct: the CUDA kernels have one algorithm*/) {
    const int dtype = group_dtype_code(input);
    check_group_cuda(input, "input", input);
    check_group_cuda(weight, "weight", input);
    const c10::cuda::CUDAGuard guard(input.device());
    const GroupConvGeometry gg = make_group_geometry(input.sizes(), weight.sizes(), order, stride, padding);
    const at::Tensor x = input.contiguous(), w = weight.contiguous();
    at::Tensor b;
    if (bias.has_value() && bias->defined()) {
        check_group_cuda(*bias, "bias", input);
        TORCH_CHECK_VALUE(bias->dim() == 1 && bias->size(0) == weight.size(0), "bias must have shape (", weight.size(0),
                          ",), got ", bias->sizes());
        b = bias->contiguous();
    }
    at::Tensor y = new_output(group_output_size(gg), x.options());
    check_group_launch(conv_circuits_cuda_group_forward(dtype, &gg, x.data_ptr(), w.data_ptr(),
                                                        b.defined() ? b.data_ptr() : nullptr, y.data_ptr(),
                                                        group_stream()),
                       "group convolution forward kernel");
    return y;
}

at::Tensor group_conv_input_grad_cuda(const at::Tensor& grad_output, const at::Tensor& weight,
                                      at::IntArrayRef input_size, int64_t order, at::IntArrayRef stride,
                                      at::IntArrayRef padding, bool /*direct*/) {
    const int dtype = group_dtype_code(grad_output);
    check_group_cuda(grad_output, "grad_output", grad_output);
    check_group_cuda(weight, "weight", grad_output);
    const c10::cuda::CUDAGuard guard(grad_output.device());
    const GroupConvGeometry gg = make_group_geometry(input_size, weight.sizes(), order, stride, padding);
    check_group_grad_output(grad_output, gg);
    const at::Tensor dy = grad_output.contiguous(), w = weight.contiguous();
    at::Tensor dx = new_output(input_size, dy.options());
    check_group_launch(conv_circuits_cuda_group_input_grad(dtype, &gg, dy.data_ptr(), w.data_ptr(), dx.data_ptr(),
                                                           group_stream()),
                       "group convolution input-gradient kernel");
    return dx;
}

std::tuple<at::Tensor, at::Tensor> group_conv_weight_grad_cuda(const at::Tensor& grad_output, const at::Tensor& input,
                                                               at::IntArrayRef weight_size, int64_t order,
                                                               at::IntArrayRef stride, at::IntArrayRef padding,
                                                               bool /*direct*/) {
    const int dtype = group_dtype_code(grad_output);
    check_group_cuda(grad_output, "grad_output", grad_output);
    check_group_cuda(input, "input", grad_output);
    const c10::cuda::CUDAGuard guard(grad_output.device());
    const GroupConvGeometry gg = make_group_geometry(input.sizes(), weight_size, order, stride, padding);
    check_group_grad_output(grad_output, gg);
    const at::Tensor dy = grad_output.contiguous(), x = input.contiguous();
    // The tied copies are summed with atomicAdd into a float32 buffer that starts at zero.
    at::Tensor dw_float = at::zeros(weight_size, dy.options().dtype(at::kFloat));
    at::Tensor db = new_output({weight_size[0]}, dy.options());
    check_group_launch(conv_circuits_cuda_group_weight_grad(dtype, &gg, dy.data_ptr(), x.data_ptr(),
                                                            dw_float.data_ptr<float>(), db.data_ptr(), group_stream()),
                       "group convolution weight-gradient kernel");
    return {dw_float.to(dy.scalar_type()), db};
}

}  // namespace conv_circuits

TORCH_LIBRARY_IMPL(conv_circuits, CUDA, m) {
    m.impl("group_conv_forward", &conv_circuits::group_conv_forward_cuda);
    m.impl("group_conv_input_grad", &conv_circuits::group_conv_input_grad_cuda);
    m.impl("group_conv_weight_grad", &conv_circuits::group_conv_weight_grad_cuda);
}
