"""The C++ and Triton operators as PyTorch custom ops: opcheck and torch.compile.

torch.library.opcheck checks the schema, the fake (meta) implementation against the real
one, the autograd registration and that the op works with functionalization and
torch.compile's fake-tensor tracing: for the C++ conv2d operators (the group ones: test_group_backends.py)
and for the Triton operators of kernels/triton/registration.py (on a CPU they run the interpreter).
The compiled model must match eager to float32 rounding (rtol=atol=1e-5: same kernels, same
order, only graph-level reordering differs); tests/kernels/test_compile.py compiles with inductor
in a fresh process.
"""
import pytest
import torch
import torch.nn.functional as F

import kernels
from kernels import cpp_backend, extension

ok, why = cpp_backend.available()
needs_cpp = pytest.mark.skipif(not ok, reason=f"cpp backend unavailable: {why}")
TRITON_OK, TRITON_WHY = kernels.backends()["triton"]


def conv2d_cpp(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """kernels.conv2d(..., backend="cpp") once the public API exists, else the backend itself."""
    try:
        import kernels

        if hasattr(kernels, "conv2d"):
            return kernels.conv2d(x, w, b, stride, padding, dilation, groups, backend="cpp")
    except ImportError:
        pass
    pair = lambda v: (v, v) if isinstance(v, int) else tuple(v)
    return cpp_backend.conv2d(x, w, b, pair(stride), pair(padding), pair(dilation), groups)


def ops():
    return extension.load()


OPCHECK_CASES = {
    "bias_stride_padding": dict(shape=(2, 4, 7, 6), weight=(6, 2, 3, 2), bias=True, stride=[2, 1], padding=[1, 0],
                                dilation=[1, 2], groups=2),
    "no_bias": dict(shape=(1, 3, 5, 5), weight=(2, 3, 1, 1), bias=False, stride=[1, 1], padding=[0, 0],
                    dilation=[1, 1], groups=1),
}


@needs_cpp
@pytest.mark.parametrize("direct", [False, True])
@pytest.mark.parametrize("case", OPCHECK_CASES.values(), ids=OPCHECK_CASES.keys())
def test_forward_op_passes_opcheck(case, direct):
    x = torch.randn(case["shape"], dtype=torch.float64, requires_grad=True)
    w = torch.randn(case["weight"], dtype=torch.float64, requires_grad=True)
    b = torch.randn(case["weight"][0], dtype=torch.float64, requires_grad=True) if case["bias"] else None
    args = (x, w, b, case["stride"], case["padding"], case["dilation"], case["groups"], direct)
    torch.library.opcheck(ops().conv2d_forward.default, args)


@needs_cpp
def test_gradient_ops_pass_opcheck():
    x, w = torch.randn(2, 4, 7, 6), torch.randn(6, 2, 3, 2)
    geometry = ([2, 1], [1, 0], [1, 2], 2)
    y = ops().conv2d_forward(x, w, None, *geometry)
    dy = torch.randn_like(y)
    torch.library.opcheck(ops().conv2d_input_grad.default, (dy, w, list(x.shape), *geometry, False))
    torch.library.opcheck(ops().conv2d_weight_grad.default, (dy, x, list(w.shape), *geometry, False))


class TinyNet(torch.nn.Module):
    """Two convolutions through the cpp backend, a ReLU and a pooled linear read-out."""

    def __init__(self):
        super().__init__()
        generator = torch.Generator().manual_seed(0)
        self.w1 = torch.nn.Parameter(0.3 * torch.randn(8, 3, 3, 3, generator=generator))
        self.b1 = torch.nn.Parameter(torch.zeros(8))
        self.w2 = torch.nn.Parameter(0.3 * torch.randn(8, 4, 3, 3, generator=generator))
        self.head = torch.nn.Linear(8, 2)

    def forward(self, x):
        x = F.relu(conv2d_cpp(x, self.w1, self.b1, stride=1, padding=1))
        x = F.relu(conv2d_cpp(x, self.w2, None, stride=2, padding=1, groups=2))
        return self.head(x.mean(dim=(2, 3)))


@needs_cpp
def test_small_model_compiles_fullgraph_and_matches_eager():
    torch._dynamo.reset()
    model = TinyNet()
    x = torch.randn(4, 3, 12, 12, generator=torch.Generator().manual_seed(1))
    compiled = torch.compile(model, fullgraph=True, backend="aot_eager")
    eager_out = model(x)
    compiled_out = compiled(x)
    torch.testing.assert_close(compiled_out, eager_out, rtol=1e-5, atol=1e-5)
    eager_grads = torch.autograd.grad(eager_out.sum(), list(model.parameters()))
    compiled_grads = torch.autograd.grad(compiled(x).sum(), list(model.parameters()))
    for eager_grad, compiled_grad in zip(eager_grads, compiled_grads):
        torch.testing.assert_close(compiled_grad, eager_grad, rtol=1e-5, atol=1e-5)


@pytest.mark.skipif(not TRITON_OK, reason=f"triton backend unavailable: {TRITON_WHY}")
@pytest.mark.parametrize("family", ["conv2d", "group"])
def test_triton_ops_pass_opcheck(family):
    gen = torch.Generator().manual_seed(3)
    ops = torch.ops.kernels_triton
    if family == "conv2d":
        x, w = torch.randn(1, 2, 5, 4, generator=gen, dtype=torch.float64), torch.randn(4, 1, 2, 3, generator=gen, dtype=torch.float64)
        geometry = ([2, 1], [1, 0], [1, 2], 2)
        forward, input_grad, weight_grad = ops.conv2d_forward, ops.conv2d_input_grad, ops.conv2d_weight_grad
    else:
        x, w = torch.randn(1, 2, 4, 5, 5, generator=gen, dtype=torch.float64), torch.randn(2, 2, 4, 3, 3, generator=gen, dtype=torch.float64)
        geometry = (4, [1, 2], [1, 1])
        forward, input_grad, weight_grad = ops.group_conv_forward, ops.group_conv_input_grad, ops.group_conv_weight_grad
    b = torch.randn(w.shape[0], generator=gen, dtype=torch.float64)
    torch.library.opcheck(forward.default, (x.requires_grad_(), w.requires_grad_(), b.requires_grad_(), *geometry))
    dy = torch.randn(forward(x.detach(), w.detach(), None, *geometry).shape, generator=gen, dtype=torch.float64)
    torch.library.opcheck(input_grad.default, (dy, w.detach(), list(x.shape), *geometry))
    torch.library.opcheck(weight_grad.default, (dy, x.detach(), list(w.shape), *geometry))
