// group_conv_ops.cpp: the fused p4 / p4m group convolutions as PyTorch operators (namespace conv_circuits).
//
//   group_conv_forward(input, weight, bias?, order, stride, padding, direct=False) -> output
//   group_conv_input_grad(grad_output, weight, input_size, order, stride, padding, direct=False) -> grad_input
//   group_conv_weight_grad(grad_output, input, weight_size, order, stride, padding, direct=False)
//       -> (grad_weight, grad_bias)
// order is the group's order G (4: p4, 8: p4m). The weight's rank says which operation:
//   lifting     input (N, Cin, H, W),    weight (Cout, Cin, k, k)     -> output (N, Cout, G, P, Q)
//   group conv  input (N, Cin, G, H, W), weight (Cout, Cin, G, k, k)  -> output (N, Cout, G, P, Q)
// bias (Cout,) is shared over the group axis; grad_bias sums over n, g, p, q. stride and padding
// are (height, width) pairs, padding symmetric. Semantics: kernels/group_reference.py. direct=True
// runs the readable loops of cpu/group_conv_direct.cpp instead of the fast path (one file per pass:
// cpu/group_conv_forward.cpp, cpu/group_conv_input_grad.cpp, cpu/group_conv_weight_grad.cpp).
// The CUDA kernels are in cuda/group_conv_*.cu (bound in cuda/group_conv_cuda_ops.cpp). Fake implementations and autograd: kernels/extension.py.
#include "conv2d_torch_common.h"
#include "group_conv_torch_common.h"
#include "cpu/group_conv_cpu.h"

#include <torch/library.h>
#include <ATen/ATen.h>

namespace conv_circuits {

GroupConvGeometry make_group_geometry(at::IntArrayRef input_size, at::IntArrayRef weight_size, int64_t order,
                                      at::IntArrayRef stride, at::IntArrayRef padding) {
    TORCH_CHECK_VALUE(order == 4 || order == 8, "order must be 4 (p4) or 8 (p4m), got ", order);
    TORCH_CHECK_VALUE(weight_size.size() == 4 || weight_size.size() == 5,
                      "weight must be (Cout, Cin, k, k) or (Cout, Cin, G, k, k), got ", weight_size.size(), " dimensions");
    const bool lifting = weight_size.size() == 4;
    TORCH_CHECK_VALUE(input_size.size() == (lifting ? 4u : 5u), "input must be ",
                      lifting ? "(N, Cin, H, W)" : "(N, Cin, G, H, W)", " for this weight, got ", input_size.size(),
                      " dimensions");
    const int64_t k = weight_size.back();
    TORCH_CHECK_VALUE(weight_size[weight_size.size() - 2] == k, "weight must have a square kernel, got ", weight_size);
    if (!lifting) {
        TORCH_CHECK_VALUE(weight_size[2] == order && input_size[2] == order, "input and weight need a group axis of size ",
                          order, " at dim 2, got ", input_size, " and ", weight_size);
    }
    const int64_t group_in = lifting ? 1 : order;
    const int64_t n = input_size[0], cin = input_size[1], h = input_size[input_size.size() - 2], w = input_size.back();
    TORCH_CHECK_VALUE(weight_size[1] == cin, "weight expects ", weight_size[1], " input channels, input has ", cin);
    const std::vector<int64_t> flat_input{n, cin * group_in, h, w}, flat_weight{weight_size[0] * order, cin * group_in, k, k};
    GroupConvGeometry gg;
    gg.conv = make_geometry(flat_input, flat_weight, stride, padding, {1, 1}, 1);
    gg.order = order;
    gg.group_in = group_in;
    gg.k = k;
    return gg;
}

std::vector<int64_t> group_output_size(const GroupConvGeometry& gg) {
    return {gg.conv.N, gg.conv.K / gg.order, gg.order, gg.conv.P, gg.conv.Q};
}

static void check_cpu(const at::Tensor& t, const char* name, const at::Tensor& like) {
    TORCH_CHECK_TYPE(like.scalar_type() == at::kFloat || like.scalar_type() == at::kDouble,
                     "the C++ group convolutions support float32 and float64, got ", like.scalar_type());
    TORCH_CHECK_TYPE(t.scalar_type() == like.scalar_type(), name, " must have dtype ", like.scalar_type(), ", got ",
                     t.scalar_type());
    TORCH_CHECK_TYPE(t.device().is_cpu(), name, " must be on the CPU for these kernels, got ", t.device());
}

at::Tensor group_conv_forward_cpu_op(const at::Tensor& input, const at::Tensor& weight,
                                     const c10::optional<at::Tensor>& bias, int64_t order, at::IntArrayRef stride,
                                     at::IntArrayRef padding, bool direct) {
    check_cpu(input, "input", input);
    check_cpu(weight, "weight", input);
    const GroupConvGeometry gg = make_group_geometry(input.sizes(), weight.sizes(), order, stride, padding);
    const at::Tensor x = input.contiguous(), w = weight.contiguous();
    at::Tensor b;
    if (bias.has_value() && bias->defined()) {
        check_cpu(*bias, "bias", input);
        TORCH_CHECK_VALUE(bias->dim() == 1 && bias->size(0) == weight.size(0), "bias must have shape (", weight.size(0),
                          ",), got ", bias->sizes());
        b = bias->contiguous();
    }
    at::Tensor y = new_output(group_output_size(gg), x.options());
    AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "group_conv_forward_cpu", [&] {
        const scalar_t* bp = b.defined() ? b.data_ptr<scalar_t>() : nullptr;
        if (direct) group_conv_forward_direct<scalar_t>(gg, x.data_ptr<scalar_t>(), w.data_ptr<scalar_t>(), bp, y.data_ptr<scalar_t>());
        else group_conv_forward_packed<scalar_t>(gg, x.data_ptr<scalar_t>(), w.data_ptr<scalar_t>(), bp, y.data_ptr<scalar_t>());
    });
    return y;
}

void check_group_grad_output(const at::Tensor& grad_output, const GroupConvGeometry& gg) {
    const std::vector<int64_t> expected = group_output_size(gg);
    TORCH_CHECK_VALUE(grad_output.sizes() == at::IntArrayRef(expected), "grad_output must have shape ", expected,
                      ", got ", grad_output.sizes());
}

at::Tensor group_conv_input_grad_cpu_op(const at::Tensor& grad_output, const at::Tensor& weight,
                                        at::IntArrayRef input_size, int64_t order, at::IntArrayRef stride,
                                        at::IntArrayRef padding, bool direct) {
    check_cpu(grad_output, "grad_output", grad_output);
    check_cpu(weight, "weight", grad_output);
    const GroupConvGeometry gg = make_group_geometry(input_size, weight.sizes(), order, stride, padding);
    check_group_grad_output(grad_output, gg);
    const at::Tensor dy = grad_output.contiguous(), w = weight.contiguous();
    at::Tensor dx = new_output(input_size, dy.options());
    AT_DISPATCH_FLOATING_TYPES(dy.scalar_type(), "group_conv_input_grad_cpu", [&] {
        if (direct) group_conv_input_grad_direct<scalar_t>(gg, dy.data_ptr<scalar_t>(), w.data_ptr<scalar_t>(), dx.data_ptr<scalar_t>());
        else group_conv_input_grad_packed<scalar_t>(gg, dy.data_ptr<scalar_t>(), w.data_ptr<scalar_t>(), dx.data_ptr<scalar_t>());
    });
    return dx;
}

std::tuple<at::Tensor, at::Tensor> group_conv_weight_grad_cpu_op(const at::Tensor& grad_output, const at::Tensor& input,
                                                                 at::IntArrayRef weight_size, int64_t order,
                                                                 at::IntArrayRef stride, at::IntArrayRef padding,
                                                                 bool direct) {
    check_cpu(grad_output, "grad_output", grad_output);
    check_cpu(input, "input", grad_output);
    const GroupConvGeometry gg = make_group_geometry(input.sizes(), weight_size, order, stride, padding);
    check_group_grad_output(grad_output, gg);
    const at::Tensor dy = grad_output.contiguous(), x = input.contiguous();
    at::Tensor dw = new_output(weight_size, dy.options());
    at::Tensor db = new_output({weight_size[0]}, dy.options());
    AT_DISPATCH_FLOATING_TYPES(dy.scalar_type(), "group_conv_weight_grad_cpu", [&] {
        if (direct)
            group_conv_weight_grad_direct<scalar_t>(gg, dy.data_ptr<scalar_t>(), x.data_ptr<scalar_t>(), dw.data_ptr<scalar_t>(),
                                                    db.data_ptr<scalar_t>());
        else
            group_conv_weight_grad_packed<scalar_t>(gg, dy.data_ptr<scalar_t>(), x.data_ptr<scalar_t>(), dw.data_ptr<scalar_t>(),
                                                    db.data_ptr<scalar_t>());
    });
    return {dw, db};
}

}  // namespace conv_circuits

TORCH_LIBRARY_FRAGMENT(conv_circuits, m) {
    m.def("group_conv_forward(Tensor input, Tensor weight, Tensor? bias, int order, int[2] stride, "
          "int[2] padding, bool direct=False) -> Tensor");
    m.def("group_conv_input_grad(Tensor grad_output, Tensor weight, int[] input_size, int order, int[2] stride, "
          "int[2] padding, bool direct=False) -> Tensor");
    m.def("group_conv_weight_grad(Tensor grad_output, Tensor input, int[] weight_size, int order, int[2] stride, "
          "int[2] padding, bool direct=False) -> (Tensor, Tensor)");
}

TORCH_LIBRARY_IMPL(conv_circuits, CPU, m) {
    m.impl("group_conv_forward", &conv_circuits::group_conv_forward_cpu_op);
    m.impl("group_conv_input_grad", &conv_circuits::group_conv_input_grad_cpu_op);
    m.impl("group_conv_weight_grad", &conv_circuits::group_conv_weight_grad_cpu_op);
}
