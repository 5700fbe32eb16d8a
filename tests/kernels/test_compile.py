"""torch.compile and torch.export see through the kernels: conv2d and the four group convolutions.

- `torch.compile(model, fullgraph=True)` with the default backend (inductor), in a fresh `python -c`
  process, so the very first call of every op happens while dynamo traces it (no eager call warms the
  dispatcher up): forward and gradients match eager. float32, the same kernels on both sides, so
  rtol = atol = 1e-5 (only graph-level reordering of the surrounding torch ops differs).
  "cpp" runs the C++ operators; "triton" on a CPU runs the interpreter through its operators, which
  compiled graphs call as opaque custom operators (on a GPU they are triton_ops that inductor traces).
- `torch.export.export` of each op on each backend keeps the op in the exported program and the
  exported module matches eager.
"""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
import torch

import kernels

COMPILE_SCRIPT = textwrap.dedent('''
    import json, sys
    import torch
    import kernels

    backend = sys.argv[1]
    gen = torch.Generator().manual_seed(0)

    def parameter(*shape):
        return torch.nn.Parameter(0.3 * torch.randn(*shape, generator=gen))

    class Net(torch.nn.Module):
        """conv2d, then a p4 branch (lift, group conv) and a p4m branch (lift, strided group conv)."""

        def __init__(self):
            super().__init__()
            self.w0, self.b0 = parameter(4, 3, 3, 3), parameter(4)
            self.w1, self.b1 = parameter(2, 4, 3, 3), parameter(2)
            self.w2, self.b2 = parameter(2, 2, 4, 3, 3), parameter(2)
            self.w3, self.b3 = parameter(2, 4, 3, 3), parameter(2)
            self.w4, self.b4 = parameter(2, 2, 8, 3, 3), parameter(2)

        def forward(self, x):
            y = torch.relu(kernels.conv2d(x, self.w0, self.b0, padding=1, backend=backend))
            a = torch.relu(kernels.p4_lift(y, self.w1, self.b1, padding=1, backend=backend))
            a = kernels.p4_conv(a, self.w2, self.b2, padding=1, backend=backend)
            m = torch.relu(kernels.p4m_lift(y, self.w3, self.b3, padding=1, backend=backend))
            m = kernels.p4m_conv(m, self.w4, self.b4, stride=2, padding=1, backend=backend)
            return a.mean(dim=(2, 3, 4)) + m.mean(dim=(2, 3, 4))

    model = Net()
    x = torch.randn(2, 3, 7, 7, generator=gen)
    compiled = torch.compile(model, fullgraph=True)  # the default backend: inductor

    def run(f):
        out = f(x)
        return out.detach(), torch.autograd.grad(out.square().sum(), list(model.parameters()))

    compiled_out, compiled_grads = run(compiled)
    eager_out, eager_grads = run(model)
    errors = {"output": (compiled_out - eager_out).abs().max().item()}
    for (name, _), c, e in zip(model.named_parameters(), compiled_grads, eager_grads):
        errors["grad " + name] = ((c - e).abs().max() / e.abs().max().clamp(min=1e-30)).item()
    print("RESULT " + json.dumps(errors))
''')


def backend_param(name):
    ok, reason = kernels.backends()[name]
    group_ok, group_reason = kernels.group_backends([name])[name]
    ok, reason = ok and group_ok, reason or group_reason
    return pytest.param(name, marks=[pytest.mark.slow] + ([] if ok else [pytest.mark.skip(reason=f"{name}: {reason}")]))


@pytest.mark.parametrize("backend", [backend_param("cpp"), backend_param("triton")])
def test_compiled_model_matches_eager_in_a_fresh_process(backend):
    done = subprocess.run([sys.executable, "-c", COMPILE_SCRIPT, backend], capture_output=True, text=True, timeout=900)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert done.returncode == 0 and lines, f"the compiled model failed:\n{done.stderr[-3000:]}"
    errors = json.loads(lines[-1][len("RESULT "):])
    assert len(errors) == 11  # the output and the ten parameters' gradients
    for what, error in errors.items():
        assert error <= 1e-5, f"{backend}: compiled {what} differs from eager by {error:.2e}"


GROUP_ORDER = {"p4_lift": 4, "p4_conv": 4, "p4m_lift": 8, "p4m_conv": 8}


def export_params():
    params = []
    for op in ("conv2d", *GROUP_ORDER):
        status = kernels.backends() if op == "conv2d" else kernels.group_backends()
        for name in ("torch", "cpp", "triton"):
            ok, reason = status[name]
            marks = () if ok else pytest.mark.skip(reason=f"backend {name!r} unavailable: {reason}")
            params.append(pytest.param(op, name, id=f"{op}-{name}", marks=marks))
    return params


@pytest.mark.parametrize("op, backend", export_params())
def test_export_keeps_the_op_and_matches_eager(op, backend):
    gen = torch.Generator().manual_seed(1)
    g = GROUP_ORDER.get(op)
    lifting = op == "conv2d" or op.endswith("_lift")
    x = torch.randn((1, 2, 6, 6) if lifting else (1, 2, g, 6, 6), generator=gen)
    w = torch.randn((3, 2, 3, 3) if lifting else (3, 2, g, 3, 3), generator=gen)
    b = torch.randn(3, generator=gen)
    function = getattr(kernels, op)

    class Layer(torch.nn.Module):
        def forward(self, x, w, b):
            return function(x, w, b, stride=1, padding=1, backend=backend)

    program = torch.export.export(Layer(), (x, w, b))
    torch.testing.assert_close(program.module()(x, w, b), Layer()(x, w, b), rtol=1e-6, atol=1e-6)
    targets = {str(node.target) for node in program.graph.nodes if node.op == "call_function"}
    if backend != "torch":
        namespace = "conv_circuits" if backend == "cpp" else "kernels_triton"
        assert any(target.startswith(namespace + ".") for target in targets), targets
