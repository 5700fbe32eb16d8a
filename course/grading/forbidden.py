"""Forbidden functions, as the ATen operators they run.

A graded test names the Python functions an exercise must not use (`forbid=[...]`): the sandbox
replaces those it can import by functions that refuse to run, and, because every Python route
to an operator ends in the same ATen operator (`F.conv2d`, `torch.ops.aten.conv2d`,
`nn.Conv2d`, `torch.convolution` all dispatch `aten::convolution`; `F.unfold` and
`torch._C._nn.im2col` dispatch `aten::im2col`), it also refuses the operators listed here while
a student's function runs. The operators were read off a TorchDispatchMode on the CPU; the
others are their device- and library-specific kernels, listed so a GPU run is caught too.
"""
from __future__ import annotations

CONVOLUTION = ("convolution", "_convolution", "_convolution_mode", "conv1d", "conv2d", "conv3d",
               "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "convolution_overrideable",
               "conv_tbc", "mkldnn_convolution", "_slow_conv2d_forward", "slow_conv3d", "thnn_conv2d",
               "slow_conv_dilated2d", "slow_conv_dilated3d", "slow_conv_transpose2d", "slow_conv_transpose3d",
               "_nnpack_spatial_convolution", "cudnn_convolution", "cudnn_convolution_transpose",
               "miopen_convolution", "_conv_depthwise2d", "conv_depthwise3d")
UNFOLD = ("im2col",)
FOLD = ("col2im",)
MAX_POOL = ("max_pool1d", "max_pool1d_with_indices", "max_pool2d", "max_pool2d_with_indices",
            "mkldnn_max_pool2d", "quantized_max_pool2d")
AVG_POOL = ("avg_pool1d", "avg_pool2d", "mkldnn_avg_pool2d")

OPERATORS = {
    **{f"torch.nn.functional.{name}": CONVOLUTION for name in
       ("conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d")},
    **{f"torch.{name}": CONVOLUTION for name in ("conv1d", "conv2d", "conv3d", "convolution", "_convolution")},
    "torch.nn.functional.unfold": UNFOLD,
    "torch._C._nn.im2col": UNFOLD,
    "torch.nn.functional.fold": FOLD,
    "torch._C._nn.col2im": FOLD,
    "torch.Tensor.unfold": ("unfold",),
    **{name: MAX_POOL for name in ("torch.nn.functional.max_pool2d", "torch.nn.functional.max_pool2d_with_indices",
                                    "torch.max_pool2d", "torch._C._nn.max_pool2d_with_indices")},
    **{name: AVG_POOL for name in ("torch.nn.functional.avg_pool2d", "torch._C._nn.avg_pool2d",
                                    "torch.nn.functional.lp_pool2d")},
    "torch.nn.functional.adaptive_avg_pool2d": ("_adaptive_avg_pool2d", "adaptive_avg_pool2d"),
    "torch.nn.functional.adaptive_max_pool2d": ("adaptive_max_pool2d",),
    "torch.nn.functional.fractional_max_pool2d": ("fractional_max_pool2d",),
    "torch.nn.functional.max_pool3d": ("max_pool3d", "max_pool3d_with_indices", "mkldnn_max_pool3d"),
    "torch.take": ("take",),
    "torch.linalg.lstsq": ("linalg_lstsq",),
}

# Forbidden as Python functions only: the operator they run is one the exercise allows under
# another name (ex01 allows torch.relu; F.linear runs the matrix product a student writes).
# Their other Python names are switched off with them.
PYTHON_ONLY = {
    "torch.nn.functional.relu": (),
    "torch.nn.functional.linear": ("torch._C._nn.linear",),
}


def aten_operators(names) -> dict[str, str]:
    """{ATen operator: the forbidden function it stands for} for the torch functions among `names`."""
    found = {}
    for name in names:
        for operator in OPERATORS.get(name, ()):
            found.setdefault(operator, name)
    return found


def python_names(names) -> list[str]:
    """The Python functions to switch off: the names given and the other names of PYTHON_ONLY ones."""
    return list(dict.fromkeys([*names, *(alias for name in names for alias in PYTHON_ONLY.get(name, ()))]))
