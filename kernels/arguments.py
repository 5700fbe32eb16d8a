"""Check and normalise the arguments of `kernels.conv2d`, once, for every backend.

`conv2d` means exactly what `torch.nn.functional.conv2d` means, so this module accepts what
`F.conv2d` accepts and refuses what it refuses, but with a `ValueError` or `TypeError` that names the
argument and says what was expected. After checking, every backend sees the same simple form:

- `stride`, `dilation`: pairs of positive ints `(sh, sw)`, `(dh, dw)`;
- `padding`: a symmetric pair of non-negative ints `(ph, pw)`;
- `groups`: a positive int dividing both channel counts.

`padding="same"` with an even effective kernel extent needs one more row/column of zeros at the
bottom/right than at the top/left (that is what PyTorch does). A symmetric pair cannot say that, so
`extra_padding` carries the difference in `F.pad` order (left, right, top, bottom); the dispatcher
pads the input explicitly (differentiably) before handing it to a backend.
"""
from __future__ import annotations

import numbers
from typing import NamedTuple

import torch

FLOAT_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)


class Conv2dArguments(NamedTuple):
    """The checked, normalised form of a `conv2d` call (the input is given as (N, C, H, W))."""

    stride: tuple[int, int]
    padding: tuple[int, int]
    dilation: tuple[int, int]
    groups: int
    extra_padding: tuple[int, int, int, int] | None  # F.pad order: (left, right, top, bottom)
    output_size: tuple[int, int]  # (P, Q)


def conv_output_size(size: int, kernel: int, stride: int, padding: int, dilation: int) -> int:
    """Output length of a convolution along one axis (padding counted on both sides)."""
    extent = dilation * (kernel - 1) + 1
    return (size + 2 * padding - extent) // stride + 1


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def int_pair(value, name: str, minimum: int) -> tuple[int, int]:
    """`value` as a pair of ints >= `minimum`; an int or a sequence of one or two ints is accepted."""
    if _is_int(value):
        items = (int(value), int(value))
    elif isinstance(value, (tuple, list, torch.Size)) and len(value) in (1, 2) and all(_is_int(v) for v in value):
        items = (int(value[0]), int(value[-1]))
    else:
        raise TypeError(f"{name} must be an int or a pair of ints, got {value!r}")
    if min(items) < minimum:
        kind = "positive" if minimum == 1 else "non-negative"
        raise ValueError(f"{name} must be {kind} (at least {minimum}), got {value!r}")
    return items


def check_tensor(value, name: str, rank: tuple[int, ...]) -> None:
    """A floating-point tensor of one of the allowed ranks, else a TypeError/ValueError naming it."""
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
    if value.dtype not in FLOAT_DTYPES:
        raise TypeError(
            f"{name} must be a floating-point tensor (float16, bfloat16, float32 or float64), got {value.dtype}"
        )
    if value.dim() not in rank:
        expected = " or ".join(str(r) for r in rank)
        raise ValueError(f"{name} must have {expected} dimensions, got shape {tuple(value.shape)}")


def check_same_device_and_dtype(input, weight, bias) -> None:
    """weight and bias (if given) must live on input's device and share its dtype."""
    for name, other in (("weight", weight), ("bias", bias)):
        if other is None:
            continue
        if other.device != input.device:
            raise ValueError(f"{name} is on {other.device} but input is on {input.device}: put them on one device")
        if other.dtype != input.dtype:
            raise TypeError(f"{name} has dtype {other.dtype} but input has dtype {input.dtype}: use one dtype")


def check_conv2d_arguments(input, weight, bias, stride, padding, dilation, groups) -> Conv2dArguments:
    """Check a `conv2d` call and return its normalised arguments.

    `input` must already be batched (N, C, H, W); the dispatcher adds the batch axis to an
    unbatched (C, H, W) input before calling this. Raises ValueError/TypeError naming the argument.
    """
    check_tensor(input, "input", rank=(4,))
    check_tensor(weight, "weight", rank=(4,))
    if bias is not None:
        check_tensor(bias, "bias", rank=(1,))

    check_same_device_and_dtype(input, weight, bias)

    if not _is_int(groups):
        raise TypeError(f"groups must be an int, got {groups!r}")
    groups = int(groups)
    if groups < 1:
        raise ValueError(f"groups must be positive, got {groups}")

    n, c, h, w = input.shape
    k, c_per_group, r, s = weight.shape
    if k == 0 or r == 0 or s == 0:  # no input channel (c_per_group == 0) is fine: every output is the bias
        raise ValueError(f"weight must have output channels and a non-empty kernel, got shape {tuple(weight.shape)}")
    if h == 0 or w == 0:
        raise ValueError(f"input must have a non-empty image (H, W), got shape {tuple(input.shape)}")
    if c % groups != 0:
        raise ValueError(f"input has {c} channels, which groups={groups} does not divide")
    if k % groups != 0:
        raise ValueError(f"weight has {k} output channels, which groups={groups} does not divide")
    if c_per_group * groups != c:
        raise ValueError(
            f"weight expects {c_per_group} input channels per group (weight.shape[1]), so "
            f"{c_per_group * groups} channels with groups={groups}, but input has {c} channels"
        )
    if bias is not None and bias.shape[0] != k:
        raise ValueError(f"bias must have {k} elements (one per output channel), got {bias.shape[0]}")

    stride = int_pair(stride, "stride", minimum=1)
    dilation = int_pair(dilation, "dilation", minimum=1)
    extra_padding = None
    if isinstance(padding, str):
        if padding == "valid":
            padding = (0, 0)
        elif padding == "same":
            if stride != (1, 1):
                raise ValueError(f"padding='same' needs stride 1 (as in PyTorch), got stride={stride}")
            # Total zeros per axis = dilation * (kernel - 1); the odd one, if any, goes bottom/right.
            total_h, total_w = dilation[0] * (r - 1), dilation[1] * (s - 1)
            padding = (total_h // 2, total_w // 2)
            extra_h, extra_w = total_h % 2, total_w % 2
            if extra_h or extra_w:
                extra_padding = (0, extra_w, 0, extra_h)
        else:
            raise ValueError(f"padding must be an int, a pair of ints, 'same' or 'valid', got {padding!r}")
    else:
        padding = int_pair(padding, "padding", minimum=0)

    padded_h = h + 2 * padding[0] + (extra_padding[3] if extra_padding else 0)
    padded_w = w + 2 * padding[1] + (extra_padding[1] if extra_padding else 0)
    extent_h, extent_w = dilation[0] * (r - 1) + 1, dilation[1] * (s - 1) + 1
    if extent_h > padded_h or extent_w > padded_w:
        raise ValueError(
            f"weight's kernel ({r}x{s}, with dilation {dilation} spanning {extent_h}x{extent_w}) is larger than "
            f"the padded input ({padded_h}x{padded_w}): use more padding or a smaller kernel"
        )
    output_size = (
        (padded_h - extent_h) // stride[0] + 1,
        (padded_w - extent_w) // stride[1] + 1,
    )
    return Conv2dArguments(stride, padding, dilation, groups, extra_padding, output_size)


def check_backend_supports(name: str, module, input: torch.Tensor) -> None:
    """Refuse inputs a backend cannot take (its `DEVICE` and `SUPPORTED_DTYPES`), naming the backend."""
    device = getattr(module, "DEVICE", None)
    if device is not None and input.device.type != device:
        raise ValueError(f"backend={name!r} runs on {device} tensors, but input is on {input.device}")
    dtypes = getattr(module, "SUPPORTED_DTYPES", None)
    if dtypes is not None and input.dtype not in dtypes:
        names = ", ".join(str(d).replace("torch.", "") for d in dtypes)
        raise TypeError(f"backend={name!r} supports dtypes {names}, but input has dtype {input.dtype}")


class GroupConvArguments(NamedTuple):
    """The checked, normalised form of a `p4_lift` / `p4_conv` / `p4m_lift` / `p4m_conv` call."""

    stride: tuple[int, int]
    padding: tuple[int, int]
    extra_padding: tuple[int, int, int, int] | None  # F.pad order: (left, right, top, bottom)
    output_size: tuple[int, int]  # (H', W')


def check_group_conv_arguments(op: str, order: int, lifting: bool, input, weight, bias, stride, padding):
    """Check a call of the group convolution `op` (a group of `order` elements) and normalise it.

    Lifting: input (N, Cin, H, W), weight (Cout, Cin, k, k). Group conv: input (N, Cin, G, H, W),
    weight (Cout, Cin, G, k, k) with G == order. bias (Cout,) or None. stride and padding as in
    `conv2d` (dilation 1, groups 1). Raises ValueError/TypeError naming the argument.
    """
    if lifting:
        input_shape, weight_shape = "(N, Cin, H, W)", "(Cout, Cin, k, k)"
    else:
        input_shape, weight_shape = f"(N, Cin, {order}, H, W)", f"(Cout, Cin, {order}, k, k)"
    rank = 4 if lifting else 5
    for name, value, shape in (("input", input, input_shape), ("weight", weight, weight_shape)):
        check_tensor(value, name, rank=(value.dim(),) if isinstance(value, torch.Tensor) else (rank,))
        if value.dim() != rank:
            raise ValueError(f"{op}: {name} must have {rank} dimensions {shape}, got shape {tuple(value.shape)}")
    if bias is not None:
        check_tensor(bias, "bias", rank=(1,))
    check_same_device_and_dtype(input, weight, bias)

    if not lifting:
        for name, value, shape in (("input", input, input_shape), ("weight", weight, weight_shape)):
            if value.shape[2] != order:
                raise ValueError(
                    f"{op}: {name} must be {shape} with a group axis of size {order} at dim 2, "
                    f"got shape {tuple(value.shape)}"
                )
    cout, cin, k = weight.shape[0], weight.shape[1], weight.shape[-2]
    if weight.shape[-1] != k:
        raise ValueError(f"{op}: weight must have a square kernel (k, k), got shape {tuple(weight.shape)}")
    if cout == 0 or k == 0:  # no input channel (cin == 0) is fine: every output is the bias
        raise ValueError(f"{op}: weight must have output channels and a non-empty kernel, got shape {tuple(weight.shape)}")
    if input.shape[-1] == 0 or input.shape[-2] == 0:
        raise ValueError(f"{op}: input must have a non-empty image (H, W), got shape {tuple(input.shape)}")
    if input.shape[1] != cin:
        raise ValueError(
            f"{op}: weight {weight_shape} expects {cin} input channels (weight.shape[1]), "
            f"but input {input_shape} has {input.shape[1]} channels"
        )
    if bias is not None and bias.shape[0] != cout:
        raise ValueError(f"{op}: bias must have {cout} elements (one per output channel, shared over the group axis), "
                         f"got {bias.shape[0]}")

    # Stride, padding and sizes mean what they mean for conv2d: let its checks decide, on shapes alone.
    n, h, w = input.shape[0], input.shape[-2], input.shape[-1]
    flat_input = torch.empty((n, cin, h, w), dtype=input.dtype, device="meta")
    flat_weight = torch.empty((cout, cin, k, k), dtype=input.dtype, device="meta")
    args = check_conv2d_arguments(flat_input, flat_weight, None, stride, padding, 1, 1)
    return GroupConvArguments(args.stride, args.padding, args.extra_padding, args.output_size)
