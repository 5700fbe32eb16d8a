"""GrouPy's and escnn's conventions for p4 and p4m, built independently here, against our group convolutions.

Every library writes a group element as a pair (m, r) and lets it act on a filter w by
[g·w](x) = w(A_g⁻¹ x) for pixels x of the centred k×k grid, and on a filter over the group by
[g·w](h, x) = w(g⁻¹h, g⁻¹x). A lifting layer correlates the image with g·w for every g; a group
convolution correlates with the lifted filters of every (g, h). What differs between libraries is
only which matrix A_g a label (m, r) means, so the same layer has its output channels in another
order. This file builds each library's layer from its own definition of A_g (nothing of ours but
F.conv2d) and finds the relabelling that maps its channels onto ours:

- ours (DESIGN.md): (m, r) is "flip left-right m times, then rotate r times", rotation as torch.rot90;
  as a matrix on (row, column) offsets, A = R^r F with F = diag(1, -1), R = [[0, -1], [1, 0]];
- GrouPy (tscohen/GrouPy, groupy/garray/p4m_array.py): A = M^m R^r with M = diag(-1, 1) on (row,
  column), i.e. rotate first, then mirror up-down. p4 (m = 0) is identical to ours; for m = 1,
  M R^r = R^(2-r) F, so GrouPy's (m, r) is our (m, (-1)^m r + 2m mod 4): (1, 0) ↔ (1, 2),
  (1, 1) ↔ (1, 1), (1, 2) ↔ (1, 0), (1, 3) ↔ (1, 3). (Reading its mirror as applied first would give
  (m, r + 2m), which is right only for even r: the test settles it.)
- escnn (flipRot2dOnR2(4), default reflection axis π/2): on (X, Y) = (column, -row) the element
  (f, r) acts by R(r·90°) diag(-1, 1)^f, the mirror x -> -x applied first: identical to ours. Also
  checked as escnn states it, through its group law (f1, r1)(f2, r2) = (f1 + f2, r1 + (-1)^f1 r2):
  our layers are equivariant under escnn's action on images and on the group axis.
"""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import kernels

P4_LABELS = [(0, r) for r in range(4)]
P4M_LABELS = [(m, r) for m in range(2) for r in range(4)]
OPS = {"p4_lift": P4_LABELS, "p4_conv": P4_LABELS, "p4m_lift": P4M_LABELS, "p4m_conv": P4M_LABELS}


def rotation(r):
    c, s = [(1, 0), (0, 1), (-1, 0), (0, -1)][r % 4]
    return torch.tensor([[c, -s], [s, c]])


# Each convention: label (m, r) -> 2x2 integer matrix acting on (row, column) offsets from the centre.
def ours(m, r):
    return rotation(r) @ torch.diag(torch.tensor([1, (-1) ** m]))


def groupy(m, r):
    return torch.diag(torch.tensor([(-1) ** m, 1])) @ rotation(r)


ESCNN_TO_PIXELS = torch.tensor([[0, -1], [1, 0]])  # (row, column) -> (X, Y) = (column, -row)


def escnn(f, r):
    on_xy = rotation(r) @ torch.diag(torch.tensor([(-1) ** f, 1]))  # R(r·90°) after the mirror X -> -X
    return ESCNN_TO_PIXELS.T @ on_xy @ ESCNN_TO_PIXELS  # the same map, on (row, column)


CONVENTIONS = {"ours": ours, "groupy": groupy, "escnn": escnn}


def inverse(a):
    return a.T  # orthogonal integer matrices


def label_of(matrix, convention, labels):
    return next(i for i, (m, r) in enumerate(labels) if torch.equal(convention(m, r), matrix))


def act_on_filter(w, a):
    """[a·w](x) = w(a⁻¹x) on the centred k×k grid (k odd)."""
    k = w.shape[-1]
    c = k // 2
    out = torch.empty_like(w)
    for i in range(k):
        for j in range(k):
            u, v = (inverse(a) @ torch.tensor([i - c, j - c])).tolist()
            out[..., i, j] = w[..., u + c, v + c]
    return out


def layer(op, convention, x, w, b, padding):
    """The lifting or group convolution as `convention` defines it: F.conv2d with its lifted filter bank."""
    labels = OPS[op]
    banks = []
    for g in labels:
        a = convention(*g)
        if op.endswith("_lift"):
            banks.append(act_on_filter(w, a))  # (Cout, Cin, k, k)
        else:  # filter over the group: w[o, i, g⁻¹h] moved by g
            sources = [label_of(inverse(a) @ convention(*h), convention, labels) for h in labels]
            banks.append(act_on_filter(w[:, :, sources], a))  # (Cout, Cin, G, k, k)
    bank = torch.stack(banks, 1).flatten(0, 1)  # output channel o*G + g
    y = F.conv2d(x if op.endswith("_lift") else x.flatten(1, 2), bank.flatten(1, -3), padding=padding)
    return y.unflatten(1, (w.shape[0], len(labels))) + b.view(1, -1, 1, 1, 1)


def relabelling(convention, labels):
    """Index map: the convention's channel of label (m, r) is our channel relabelling[...]."""
    return [label_of(convention(m, r), ours, labels) for m, r in labels]


def expected_relabelling(name, labels):
    if name == "groupy":
        return [labels.index((m, ((-1) ** m * r + 2 * m) % 4)) for m, r in labels]
    return list(range(len(labels)))  # ours and escnn


def make_inputs(op, seed=0):
    gen = torch.Generator().manual_seed(seed)
    g = len(OPS[op])
    axis = () if op.endswith("_lift") else (g,)
    x = torch.randn(2, 2, *axis, 7, 7, generator=gen, dtype=torch.float64)
    w = torch.randn(3, 2, *axis, 3, 3, generator=gen, dtype=torch.float64)
    return x, w, torch.randn(3, generator=gen, dtype=torch.float64)


def params():
    status = kernels.group_backends()
    out = []
    for op in OPS:
        for name, (ok, reason) in status.items():
            if ok and torch.float64 not in kernels.backend_module(name, group=True).SUPPORTED_DTYPES:
                ok, reason = False, "no float64"
            if ok and name == "triton" and op != "p4m_conv":
                continue  # the interpreter is slow; p4m_conv exercises every index table
            marks = () if ok else pytest.mark.skip(reason=f"backend {name!r} unavailable: {reason}")
            out.append(pytest.param(op, name, id=f"{op}-{name}", marks=marks))
    return out


def test_the_stated_relabellings_are_what_the_matrices_say():
    for name, convention in CONVENTIONS.items():
        for labels in (P4_LABELS, P4M_LABELS):
            assert relabelling(convention, labels) == expected_relabelling(name, labels), name
    assert relabelling(groupy, P4M_LABELS) != [P4M_LABELS.index((m, (r + 2 * m) % 4)) for m, r in P4M_LABELS]


@pytest.mark.parametrize("convention", list(CONVENTIONS))
@pytest.mark.parametrize("op, backend", params())
def test_each_library_layer_is_ours_with_relabelled_group_axes(op, backend, convention):
    labels = OPS[op]
    x, w, b = make_inputs(op)
    theirs = layer(op, CONVENTIONS[convention], x, w, b, padding=1)
    mapping = expected_relabelling(convention, labels)  # their label index -> our label index
    to_ours = torch.tensor(mapping).argsort()  # our index -> their index
    device = torch.device(getattr(kernels.backend_module(backend, group=True), "DEVICE", None) or "cpu")
    if op.endswith("_conv"):  # the input's group axis and the weight's input-group axis are in their order too
        x, w = x[:, :, to_ours], w[:, :, to_ours]
    mine = getattr(kernels, op)(x.to(device), w.to(device), b.to(device), padding=1, backend=backend).cpu()
    torch.testing.assert_close(mine[:, :, torch.tensor(mapping)], theirs, rtol=1e-10, atol=1e-10)


def escnn_product(a, b):
    (f1, r1), (f2, r2) = a, b
    return (f1 + f2) % 2, (r1 + (-1) ** f1 * r2) % 4


def escnn_act_on_image(x, g):
    """escnn moves a signal by [g·x](p) = x(g⁻¹p): as act_on_filter, over the whole (square) image."""
    return act_on_filter(x, escnn(*g))


@pytest.mark.parametrize("op", ["p4m_lift", "p4m_conv"])
def test_our_layers_are_equivariant_under_escnns_own_group_law(op):
    x, w, b = make_inputs(op, seed=1)

    def act(features, g, on_group_axis):
        moved = escnn_act_on_image(features, g)
        if not on_group_axis:
            return moved
        # [g·f](h) = f(g⁻¹h): output slot h takes input slot g⁻¹h, with escnn's product and inverse
        inverse_g = next(e for e in P4M_LABELS if escnn_product(g, e) == (0, 0))
        return moved[:, :, [P4M_LABELS.index(escnn_product(inverse_g, h)) for h in P4M_LABELS]]

    function = getattr(kernels, op)
    for g in P4M_LABELS:
        moved_first = function(act(x, g, op.endswith("_conv")), w, b, padding=1, backend="torch")
        moved_after = act(function(x, w, b, padding=1, backend="torch"), g, True)
        torch.testing.assert_close(moved_first, moved_after, rtol=1e-10, atol=1e-10, msg=lambda m: f"g={g}: {m}")
