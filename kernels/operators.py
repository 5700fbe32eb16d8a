"""The convolution family as PyTorch operators: every derivative, batching rule and shape, written once.

A backend's kernels come as three operators of one *family* (`Family`): conv2d, or a p4/p4m group
convolution (lifting when the weight has rank 4). With `geometry` the trailing arguments the operators
share (conv2d: stride, padding, dilation, groups[, direct]; groups: order, stride, padding[, direct]):

    forward(x, w, b, *geometry)          y  = x ⋆ w + b
    input_grad(gy, w, x_shape, *geometry)    gx = the adjoint of x ↦ x ⋆ w, applied to gy
    weight_grad(gy, x, w_shape, *geometry)   (gw, gb): the adjoint of w ↦ x ⋆ w, and gb = Σ gy over all but the channel

y is bilinear in (x, w), so every derivative of these three is again one of them (⟨·,·⟩ is the sum
of elementwise products; a pencil check: ⟨gx, x⟩ = ⟨gy, x ⋆ w⟩ = ⟨gw, w⟩ for gx, gw as above):

    forward      backward: gx = input_grad(gy, w), (gw, gb) = weight_grad(gy, x)
                 jvp:      ty = forward(tx, w, tb) + forward(x, tw)
    input_grad   backward: d gy = forward(ggx, w),     d w = weight_grad(gy, ggx).gw
                 jvp:      input_grad(tgy, w) + input_grad(gy, tw)
    weight_grad  backward: d gy = forward(x, ggw, ggb), d x = input_grad(gy, ggw)
                 jvp:      weight_grad(tgy, x) + weight_grad(gy, tx)

Two routes use these formulas (`Differentiable` and `Family` both offer forward/input_grad/weight_grad):

- eager: three `torch.autograd.Function`s with `setup_context`, `backward`, `jvp` and `vmap`, so
  first and second derivatives, forward-mode AD (`torch.func.jvp`, `torch.autograd.forward_ad`) and
  the `torch.func` transforms (grad, jacrev, jacfwd, hessian, vmap) all work;
- compiled: `torch.compile` cannot trace an autograd.Function with a custom `jvp`, so under
  compilation (`convolve` asks `torch.compiler.is_compiling()`) the public API calls the operator
  itself, whose autograd (`register`) uses the same formulas through the operators.

Batching rules (vmap) fold the batch into one kernel call where the algebra allows: into N when only
the image (x or gy) of forward/input_grad is batched; into the output or input channels when only one
operand is batched and the convolution has no channel groups; otherwise one call per batch element.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Callable, NamedTuple

import torch


@dataclass(frozen=True)
class Family:
    """The three operators of one convolution family on one backend, called directly (no autograd of ours).

    (A plain class, not a tuple: torch.func would otherwise take it apart as a tree of arguments.)
    """

    forward_op: Callable
    input_grad_op: Callable
    weight_grad_op: Callable
    groups_index: int | None  # where `groups` sits in the geometry (conv2d); None: no channel groups
    kernel_context: Callable = contextlib.nullcontext  # entered around eager kernel calls (the C++ poison switch)

    def forward(self, geometry, x, w, b):
        return self.forward_op(x, w, b, *geometry)

    def input_grad(self, geometry, gy, w, x_shape):
        return self.input_grad_op(gy, w, list(x_shape), *geometry)

    def weight_grad(self, geometry, gy, x, w_shape):
        return self.weight_grad_op(gy, x, list(w_shape), *geometry)

    def folds_channels(self, geometry) -> bool:
        """Whether a batch may be folded into the channel axes (not across channel groups)."""
        return self.groups_index is None or geometry[self.groups_index] == 1


class Differentiable(NamedTuple):
    """The same three operations through the autograd.Functions below (eager: every autograd path)."""

    family: Family

    def forward(self, geometry, x, w, b):
        return ConvForward.apply(self.family, tuple(geometry), x, w, b)

    def input_grad(self, geometry, gy, w, x_shape):
        return ConvInputGrad.apply(self.family, tuple(geometry), gy, w, tuple(x_shape))

    def weight_grad(self, geometry, gy, x, w_shape):
        return ConvWeightGrad.apply(self.family, tuple(geometry), gy, x, tuple(w_shape))


def convolve(family: Family, geometry, x, w, b):
    """x ⋆ w + b by `family`'s kernels, differentiable every way autograd and torch.func ask."""
    if torch.compiler.is_compiling():
        return family.forward(geometry, x, w, b)
    return ConvForward.apply(family, tuple(geometry), x, w, b)


# --- the derivative formulas, for either route (`ops` is a Family or a Differentiable) ----------------

def _broadcast_bias(bias, shape):
    """bias (K,) repeated into an output of `shape` (N, K, ...)."""
    return bias.view(1, -1, *([1] * (len(shape) - 2))).expand(shape).contiguous()


def forward_vjp(ops, geometry, x, w, has_bias, needs, gy):
    gx = ops.input_grad(geometry, gy, w, x.shape) if needs[0] else None
    gw = gb = None
    if needs[1] or (has_bias and needs[2]):
        gw, gb = ops.weight_grad(geometry, gy, x, w.shape)
    return gx, gw if needs[1] else None, gb if has_bias and needs[2] else None


def forward_jvp(ops, geometry, x, w, tx, tw, tb, output_shape):
    terms = []
    if tx is not None:
        terms.append(ops.forward(geometry, tx, w, tb))
        tb = None
    if tw is not None:
        terms.append(ops.forward(geometry, x, tw, tb))
        tb = None
    if tb is not None:
        terms.append(_broadcast_bias(tb, output_shape))
    return sum(terms[1:], terms[0])


def input_grad_vjp(ops, geometry, gy, w, x_shape, needs, ggx):
    d_gy = ops.forward(geometry, ggx, w, None) if needs[0] else None
    d_w = ops.weight_grad(geometry, gy, ggx, w.shape)[0] if needs[1] else None
    return d_gy, d_w


def input_grad_jvp(ops, geometry, gy, w, x_shape, tgy, tw):
    terms = []
    if tgy is not None:
        terms.append(ops.input_grad(geometry, tgy, w, x_shape))
    if tw is not None:
        terms.append(ops.input_grad(geometry, gy, tw, x_shape))
    return sum(terms[1:], terms[0])


def weight_grad_vjp(ops, geometry, gy, x, w_shape, needs, ggw, ggb):
    d_gy = d_x = None
    if needs[0]:
        if ggw is not None:
            d_gy = ops.forward(geometry, x, ggw, ggb)
        elif ggb is not None:
            d_gy = _broadcast_bias(ggb, gy.shape)
    if needs[1] and ggw is not None:
        d_x = ops.input_grad(geometry, gy, ggw, x.shape)
    return d_gy, d_x


def weight_grad_jvp(ops, geometry, gy, x, w_shape, tgy, tx):
    gw = gb = None
    if tgy is not None:
        gw, gb = ops.weight_grad(geometry, tgy, x, w_shape)
    if tx is not None:
        gw_x, _ = ops.weight_grad(geometry, gy, tx, w_shape)
        gw = gw_x if gw is None else gw + gw_x
    if gb is None:  # the bias gradient depends on gy only: no tangent from x
        gb = gy.new_zeros(w_shape[0])
    return gw, gb


# --- eager route: autograd.Functions with every derivative ------------------------------------------

def _backward_ops(family: Family):
    """The passes a backward pass calls: differentiable ones when it records a graph (create_graph=True,
    and always under torch.func), else the kernels themselves, which saves two Function calls per step."""
    if torch.is_grad_enabled():
        return Differentiable(family)
    return _KernelCalls(family)


class _KernelCalls(NamedTuple):
    """A family's passes called directly, inside its kernel context (the C++ poison switch)."""

    family: Family

    def forward(self, geometry, x, w, b):
        with self.family.kernel_context():
            return self.family.forward(geometry, x, w, b)

    def input_grad(self, geometry, gy, w, x_shape):
        with self.family.kernel_context():
            return self.family.input_grad(geometry, gy, w, x_shape)

    def weight_grad(self, geometry, gy, x, w_shape):
        with self.family.kernel_context():
            return self.family.weight_grad(geometry, gy, x, w_shape)


class ConvForward(torch.autograd.Function):
    """y = x ⋆ w + b."""

    @staticmethod
    def forward(family, geometry, x, w, b):
        with family.kernel_context():
            return family.forward(geometry, x, w, b)

    @staticmethod
    def setup_context(ctx, inputs, output):
        family, geometry, x, w, b = inputs
        ctx.family, ctx.geometry, ctx.has_bias = family, geometry, b is not None
        ctx.output_shape = output.shape
        ctx.save_for_backward(x, w)
        ctx.save_for_forward(x, w)

    @staticmethod
    def backward(ctx, gy):
        x, w = ctx.saved_tensors
        grads = forward_vjp(_backward_ops(ctx.family), ctx.geometry, x, w, ctx.has_bias, ctx.needs_input_grad[2:], gy)
        return (None, None, *grads)

    @staticmethod
    def jvp(ctx, _family, _geometry, tx, tw, tb):
        x, w = ctx.saved_tensors
        return forward_jvp(Differentiable(ctx.family), ctx.geometry, x, w, tx, tw, tb, ctx.output_shape)

    @staticmethod
    def vmap(info, in_dims, family, geometry, x, w, b):
        _, _, dx, dw, db = in_dims
        size = info.batch_size
        apply = ConvForward.apply
        if dw is None:  # the image batched: fold it into N (a batched bias is added afterwards)
            bias = None if db is not None else b
            if dx is None:
                y = apply(family, geometry, x, w, bias).unsqueeze(0)
            else:
                y = apply(family, geometry, x.movedim(dx, 0).flatten(0, 1), w, bias).unflatten(0, (size, -1))
            if db is not None:
                y = y + b.movedim(db, 0).view(size, 1, -1, *([1] * (y.dim() - 3)))
            return y, 0
        if dx is None and family.folds_channels(geometry):  # only the filters: one bank of B*K filters
            bias = None if b is None else (b.movedim(db, 0) if db is not None else b.expand(size, -1)).flatten()
            y = apply(family, geometry, x, w.movedim(dw, 0).flatten(0, 1), bias)
            return y.unflatten(1, (size, -1)), 1
        return _one_call_per_element(apply, (family, geometry, x, w, b), in_dims, size)


class ConvInputGrad(torch.autograd.Function):
    """gx = input_grad(gy, w): the transposed convolution of gy with w."""

    @staticmethod
    def forward(family, geometry, gy, w, x_shape):
        with family.kernel_context():
            return family.input_grad(geometry, gy, w, x_shape)

    @staticmethod
    def setup_context(ctx, inputs, output):
        family, geometry, gy, w, x_shape = inputs
        ctx.family, ctx.geometry, ctx.x_shape = family, geometry, x_shape
        ctx.save_for_backward(gy, w)
        ctx.save_for_forward(gy, w)

    @staticmethod
    def backward(ctx, ggx):
        gy, w = ctx.saved_tensors
        grads = input_grad_vjp(_backward_ops(ctx.family), ctx.geometry, gy, w, ctx.x_shape, ctx.needs_input_grad[2:4], ggx)
        return (None, None, *grads, None)

    @staticmethod
    def jvp(ctx, _family, _geometry, tgy, tw, _x_shape):
        gy, w = ctx.saved_tensors
        return input_grad_jvp(Differentiable(ctx.family), ctx.geometry, gy, w, ctx.x_shape, tgy, tw)

    @staticmethod
    def vmap(info, in_dims, family, geometry, gy, w, x_shape):
        _, _, dgy, dw, _ = in_dims
        size = info.batch_size
        apply = ConvInputGrad.apply
        if dw is None:  # fold the batch into N
            gy = gy.movedim(dgy, 0).flatten(0, 1)
            gx = apply(family, geometry, gy, w, (gy.shape[0], *x_shape[1:]))
            return gx.unflatten(0, (size, -1)), 0
        if dgy is None and family.folds_channels(geometry):  # the filters' input channels: (K, B*C, ...)
            gx = apply(family, geometry, gy, w.movedim(dw, 1).flatten(1, 2), (x_shape[0], size * x_shape[1], *x_shape[2:]))
            return gx.unflatten(1, (size, -1)), 1
        return _one_call_per_element(apply, (family, geometry, gy, w, x_shape), in_dims, size)


class ConvWeightGrad(torch.autograd.Function):
    """(gw, gb) = weight_grad(gy, x): the correlation of x with gy, and gy summed per channel."""

    @staticmethod
    def forward(family, geometry, gy, x, w_shape):
        with family.kernel_context():
            return tuple(family.weight_grad(geometry, gy, x, w_shape))

    @staticmethod
    def setup_context(ctx, inputs, output):
        family, geometry, gy, x, w_shape = inputs
        ctx.family, ctx.geometry, ctx.w_shape = family, geometry, w_shape
        ctx.save_for_backward(gy, x)
        ctx.save_for_forward(gy, x)

    @staticmethod
    def backward(ctx, ggw, ggb):
        gy, x = ctx.saved_tensors
        grads = weight_grad_vjp(_backward_ops(ctx.family), ctx.geometry, gy, x, ctx.w_shape, ctx.needs_input_grad[2:4],
                                ggw, ggb)
        return (None, None, *grads, None)

    @staticmethod
    def jvp(ctx, _family, _geometry, tgy, tx, _w_shape):
        gy, x = ctx.saved_tensors
        return weight_grad_jvp(Differentiable(ctx.family), ctx.geometry, gy, x, ctx.w_shape, tgy, tx)

    @staticmethod
    def vmap(info, in_dims, family, geometry, gy, x, w_shape):
        _, _, dgy, dx, _ = in_dims
        size = info.batch_size
        apply = ConvWeightGrad.apply
        if family.folds_channels(geometry):
            if dx is None:  # gy batched: B*K output channels, one filter bank each
                gy = gy.movedim(dgy, 1).flatten(1, 2)
                gw, gb = apply(family, geometry, gy, x, (size * w_shape[0], *w_shape[1:]))
                return (gw.unflatten(0, (size, -1)), gb.unflatten(0, (size, -1))), (0, 0)
            if dgy is None:  # x batched: B*C input channels; the bias gradient does not see x
                x = x.movedim(dx, 1).flatten(1, 2)
                gw, gb = apply(family, geometry, gy, x, (w_shape[0], size * w_shape[1], *w_shape[2:]))
                return (gw.unflatten(1, (size, -1)), gb), (1, None)
        return _one_call_per_element(apply, (family, geometry, gy, x, w_shape), in_dims, size)


def _one_call_per_element(apply, args, in_dims, size):
    """The batching rule of last resort: call once per batch element and stack (outputs batched at 0)."""
    results = []
    for i in range(size):
        results.append(apply(*(a.select(d, i) if isinstance(d, int) else a for a, d in zip(args, in_dims))))
    if isinstance(results[0], tuple):
        return tuple(torch.stack(parts) for parts in zip(*results)), tuple(0 for _ in results[0])
    return torch.stack(results), 0


# --- compiled route: the operators' own autograd and fake (shape-only) implementations ----------------

def _output_length(size, kernel, stride, padding, dilation):
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def _fake_conv2d_forward(x, w, b, stride, padding, dilation, groups, *_):
    p = _output_length(x.shape[2], w.shape[2], stride[0], padding[0], dilation[0])
    q = _output_length(x.shape[3], w.shape[3], stride[1], padding[1], dilation[1])
    return x.new_empty((x.shape[0], w.shape[0], p, q))


def _fake_group_forward(x, w, b, order, stride, padding, *_):
    k = w.shape[-1]
    p = _output_length(x.shape[-2], k, stride[0], padding[0], 1)
    q = _output_length(x.shape[-1], k, stride[1], padding[1], 1)
    return x.new_empty((x.shape[0], w.shape[0], order, p, q))


def _fake_input_grad(gy, w, x_shape, *_):
    return gy.new_empty(tuple(x_shape))


def _fake_weight_grad(gy, x, w_shape, *_):
    return gy.new_empty(tuple(w_shape)), gy.new_empty((w_shape[0],))


def register(family: Family, *, fake: bool = True) -> None:
    """Register fake implementations (unless the operators have them) and autograd for `family`'s operators.

    The autograd formulas call the operators themselves, which are registered here too: so the
    dispatcher route has second derivatives as well, and no operator warns that it has no autograd.
    """
    if fake:
        torch.library.register_fake(family.forward_op.default)(
            _fake_conv2d_forward if family.groups_index is not None else _fake_group_forward)
        torch.library.register_fake(family.input_grad_op.default)(_fake_input_grad)
        torch.library.register_fake(family.weight_grad_op.default)(_fake_weight_grad)

    def save(ctx, inputs, output):
        first, second, third, *geometry = inputs
        ctx.geometry = tuple(geometry)
        ctx.third = (third is not None) if isinstance(third, torch.Tensor) or third is None else third  # has bias, or a shape
        ctx.save_for_backward(first, second)

    def forward_backward(ctx, gy):
        x, w = ctx.saved_tensors
        grads = forward_vjp(family, ctx.geometry, x, w, ctx.third, ctx.needs_input_grad, gy)
        return (*grads, *([None] * len(ctx.geometry)))

    def input_grad_backward(ctx, ggx):
        gy, w = ctx.saved_tensors
        grads = input_grad_vjp(family, ctx.geometry, gy, w, ctx.third, ctx.needs_input_grad, ggx)
        return (*grads, None, *([None] * len(ctx.geometry)))

    def weight_grad_backward(ctx, ggw, ggb):
        gy, x = ctx.saved_tensors
        grads = weight_grad_vjp(family, ctx.geometry, gy, x, ctx.third, ctx.needs_input_grad, ggw, ggb)
        return (*grads, None, *([None] * len(ctx.geometry)))

    torch.library.register_autograd(family.forward_op.default, forward_backward, setup_context=save)
    torch.library.register_autograd(family.input_grad_op.default, input_grad_backward, setup_context=save)
    torch.library.register_autograd(family.weight_grad_op.default, weight_grad_backward, setup_context=save)
