// conv2d_ops.cpp: registers the kernels as PyTorch operators in the namespace conv_circuits.
//
//   conv2d_forward(input, weight, bias?, stride, padding, dilation, groups, direct=False) -> output
//   conv2d_input_grad(grad_output, weight, input_size, stride, padding, dilation, groups, direct=False)
//       -> grad_input
//   conv2d_weight_grad(grad_output, input, weight_size, stride, padding, dilation, groups, direct=False)
//       -> (grad_weight, grad_bias)
// stride, padding and dilation are (height, width) pairs; padding is symmetric. direct=True
// runs the readable loops of cpu/conv2d_direct.cpp instead of the packed fast path.
// The CPU implementations live here; the CUDA ones in cuda/conv2d_cuda_ops.cpp (built only
// where torch has CUDA). Fake (meta) implementations and autograd are registered from Python
// (kernels/extension.py). Arguments are checked once, in kernels/arguments.py; the checks here
// are the last line of defence against a crash and raise errors naming the argument.
#include "conv2d_torch_common.h"
#include "cpu/conv2d_cpu.h"

#include <torch/library.h>
#include <ATen/ATen.h>

#include <cstdlib>
#include <limits>

namespace conv_circuits {

// Every kernel must write every element of its outputs. With CONV_CIRCUITS_POISON_OUTPUTS=1
// in the environment the outputs start as NaN, so an element a kernel forgets stays NaN and
// fails any comparison (the tests turn this on).
at::Tensor new_output(at::IntArrayRef sizes, const at::TensorOptions& options) {
    const char* poison = std::getenv("CONV_CIRCUITS_POISON_OUTPUTS");
    if (poison && poison[0] == '1') return at::full(sizes, std::numeric_limits<double>::quiet_NaN(), options);
    return at::empty(sizes, options);
}

Conv2dGeometry make_geometry(at::IntArrayRef input_size, at::IntArrayRef weight_size, at::IntArrayRef stride,
                             at::IntArrayRef padding, at::IntArrayRef dilation, int64_t groups) {
    TORCH_CHECK_VALUE(input_size.size() == 4, "input must be (N, C, H, W), got ", input_size.size(), " dimensions");
    TORCH_CHECK_VALUE(weight_size.size() == 4, "weight must be (K, C/groups, R, S), got ", weight_size.size(), " dimensions");
    TORCH_CHECK_VALUE(stride.size() == 2 && padding.size() == 2 && dilation.size() == 2,
                      "stride, padding and dilation must be (height, width) pairs");
    TORCH_CHECK_VALUE(groups >= 1, "groups must be positive, got ", groups);
    TORCH_CHECK_VALUE(stride[0] >= 1 && stride[1] >= 1, "stride must be positive, got ", stride);
    TORCH_CHECK_VALUE(dilation[0] >= 1 && dilation[1] >= 1, "dilation must be positive, got ", dilation);
    TORCH_CHECK_VALUE(padding[0] >= 0 && padding[1] >= 0, "padding must be non-negative, got ", padding);
    Conv2dGeometry g;
    g.N = input_size[0]; g.C = input_size[1]; g.H = input_size[2]; g.W = input_size[3];
    g.K = weight_size[0]; g.R = weight_size[2]; g.S = weight_size[3];
    g.sh = stride[0]; g.sw = stride[1]; g.ph = padding[0]; g.pw = padding[1];
    g.dh = dilation[0]; g.dw = dilation[1]; g.groups = groups;
    TORCH_CHECK_VALUE(g.C % groups == 0 && g.K % groups == 0, "groups=", groups,
                      " must divide the input channels ", g.C, " and the output channels ", g.K);
    TORCH_CHECK_VALUE(weight_size[1] * groups == g.C, "weight expects ", weight_size[1] * groups,
                      " input channels (weight.shape[1] * groups), input has ", g.C);
    g.P = conv2d_output_size(g.H, g.R, g.sh, g.ph, g.dh);
    g.Q = conv2d_output_size(g.W, g.S, g.sw, g.pw, g.dw);
    TORCH_CHECK_VALUE(g.P >= 1 && g.Q >= 1, "weight (dilated ", (g.R - 1) * g.dh + 1, "x", (g.S - 1) * g.dw + 1,
                      ") is larger than the padded input (", g.H + 2 * g.ph, "x", g.W + 2 * g.pw, ")");
    return g;
}

static void check_tensor(const at::Tensor& t, const char* name, at::ScalarType dtype) {
    TORCH_CHECK_TYPE(t.scalar_type() == dtype, name, " must have dtype ", dtype, ", got ", t.scalar_type());
    TORCH_CHECK_TYPE(t.device().is_cpu(), name, " must be on the CPU for these kernels, got ", t.device());
}

static void check_dtype(const at::Tensor& t) {
    TORCH_CHECK_TYPE(t.scalar_type() == at::kFloat || t.scalar_type() == at::kDouble,
                     "the C++ conv2d supports float32 and float64, got ", t.scalar_type());
}

at::Tensor conv2d_forward_cpu(const at::Tensor& input, const at::Tensor& weight, const c10::optional<at::Tensor>& bias,
                              at::IntArrayRef stride, at::IntArrayRef padding, at::IntArrayRef dilation, int64_t groups,
                              bool direct) {
    check_dtype(input);
    check_tensor(input, "input", input.scalar_type());
    check_tensor(weight, "weight", input.scalar_type());
    const Conv2dGeometry g = make_geometry(input.sizes(), weight.sizes(), stride, padding, dilation, groups);
    const at::Tensor x = input.contiguous(), w = weight.contiguous();
    at::Tensor b;
    if (bias.has_value() && bias->defined()) {
        check_tensor(*bias, "bias", input.scalar_type());
        TORCH_CHECK_VALUE(bias->dim() == 1 && bias->size(0) == g.K, "bias must have shape (", g.K, ",), got ", bias->sizes());
        b = bias->contiguous();
    }
    at::Tensor y = new_output({g.N, g.K, g.P, g.Q}, x.options());
    AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "conv2d_forward_cpu", [&] {
        const scalar_t* bp = b.defined() ? b.data_ptr<scalar_t>() : nullptr;
        if (direct) conv2d_forward_direct<scalar_t>(g, x.data_ptr<scalar_t>(), w.data_ptr<scalar_t>(), bp, y.data_ptr<scalar_t>());
        else conv2d_forward_packed<scalar_t>(g, x.data_ptr<scalar_t>(), w.data_ptr<scalar_t>(), bp, y.data_ptr<scalar_t>());
    });
    return y;
}

static void check_grad_output(const at::Tensor& grad_output, const Conv2dGeometry& g) {
    TORCH_CHECK_VALUE(grad_output.sizes() == at::IntArrayRef({g.N, g.K, g.P, g.Q}), "grad_output must have shape (",
                      g.N, ", ", g.K, ", ", g.P, ", ", g.Q, "), got ", grad_output.sizes());
}

at::Tensor conv2d_input_grad_cpu(const at::Tensor& grad_output, const at::Tensor& weight, at::IntArrayRef input_size,
                                 at::IntArrayRef stride, at::IntArrayRef padding, at::IntArrayRef dilation,
                                 int64_t groups, bool direct) {
    check_dtype(grad_output);
    check_tensor(grad_output, "grad_output", grad_output.scalar_type());
    check_tensor(weight, "weight", grad_output.scalar_type());
    const Conv2dGeometry g = make_geometry(input_size, weight.sizes(), stride, padding, dilation, groups);
    check_grad_output(grad_output, g);
    const at::Tensor dy = grad_output.contiguous(), w = weight.contiguous();
    at::Tensor dx = new_output({g.N, g.C, g.H, g.W}, dy.options());
    AT_DISPATCH_FLOATING_TYPES(dy.scalar_type(), "conv2d_input_grad_cpu", [&] {
        if (direct) conv2d_input_grad_direct<scalar_t>(g, dy.data_ptr<scalar_t>(), w.data_ptr<scalar_t>(), dx.data_ptr<scalar_t>());
        else conv2d_input_grad_packed<scalar_t>(g, dy.data_ptr<scalar_t>(), w.data_ptr<scalar_t>(), dx.data_ptr<scalar_t>());
    });
    return dx;
}

std::tuple<at::Tensor, at::Tensor> conv2d_weight_grad_cpu(const at::Tensor& grad_output, const at::Tensor& input,
                                                          at::IntArrayRef weight_size, at::IntArrayRef stride,
                                                          at::IntArrayRef padding, at::IntArrayRef dilation,
                                                          int64_t groups, bool direct) {
    check_dtype(grad_output);
    check_tensor(grad_output, "grad_output", grad_output.scalar_type());
    check_tensor(input, "input", grad_output.scalar_type());
    const Conv2dGeometry g = make_geometry(input.sizes(), weight_size, stride, padding, dilation, groups);
    check_grad_output(grad_output, g);
    const at::Tensor dy = grad_output.contiguous(), x = input.contiguous();
    at::Tensor dw = new_output(weight_size, dy.options());
    at::Tensor db = new_output({g.K}, dy.options());
    AT_DISPATCH_FLOATING_TYPES(dy.scalar_type(), "conv2d_weight_grad_cpu", [&] {
        if (direct)
            conv2d_weight_grad_direct<scalar_t>(g, dy.data_ptr<scalar_t>(), x.data_ptr<scalar_t>(), dw.data_ptr<scalar_t>(), db.data_ptr<scalar_t>());
        else
            conv2d_weight_grad_packed<scalar_t>(g, dy.data_ptr<scalar_t>(), x.data_ptr<scalar_t>(), dw.data_ptr<scalar_t>(), db.data_ptr<scalar_t>());
    });
    return {dw, db};
}

}  // namespace conv_circuits

TORCH_LIBRARY(conv_circuits, m) {
    m.def("conv2d_forward(Tensor input, Tensor weight, Tensor? bias, int[2] stride, int[2] padding, "
          "int[2] dilation, int groups, bool direct=False) -> Tensor");
    m.def("conv2d_input_grad(Tensor grad_output, Tensor weight, int[4] input_size, int[2] stride, "
          "int[2] padding, int[2] dilation, int groups, bool direct=False) -> Tensor");
    m.def("conv2d_weight_grad(Tensor grad_output, Tensor input, int[4] weight_size, int[2] stride, "
          "int[2] padding, int[2] dilation, int groups, bool direct=False) -> (Tensor, Tensor)");
}

TORCH_LIBRARY_IMPL(conv_circuits, CPU, m) {
    m.impl("conv2d_forward", &conv_circuits::conv2d_forward_cpu);
    m.impl("conv2d_input_grad", &conv_circuits::conv2d_input_grad_cpu);
    m.impl("conv2d_weight_grad", &conv_circuits::conv2d_weight_grad_cpu);
}
