"""A second correct solution, written independently: index arithmetic instead of rot90 and roll."""
import torch
import torch.nn.functional as F

BROKEN = None


def rotate_filters(w, r):
    for _ in range(r % 4):  # one counter-clockwise quarter turn: transpose, then reverse the rows
        w = w.transpose(-2, -1).flip(-2)
    return w


def flip_then_rotate(w, g):
    return rotate_filters(w.flip(-1) if g >= 4 else w, g % 4)


def p4_lift_filter_bank(w):
    return torch.cat([torch.stack([rotate_filters(w[o], r) for r in range(4)]) for o in range(w.shape[0])])


def p4_conv_filter_bank(w):
    cout, cin, _, k, _ = w.shape
    rows = []
    for o in range(cout):
        for r in range(4):
            index = torch.tensor([(h - r) % 4 for h in range(4)])
            rows.append(rotate_filters(w[o][:, index], r).reshape(cin * 4, k, k))
    return torch.stack(rows)


def rotate_feature_map(f, r):
    index = torch.tensor([(g - r) % 4 for g in range(4)])
    return rotate_filters(f[:, :, index], r)


def group_pool(f):
    return f.max(dim=2).values


def check_equivariance(weight, x, stride=1):
    k, cout = weight.shape[-1], weight.shape[0]
    bank = p4_lift_filter_bank(weight)
    worst = 0.0
    base = F.conv2d(x, bank, stride=stride, padding=k // 2)
    base = base.view(len(x), cout, 4, base.shape[-2], base.shape[-1])
    for r in range(1, 4):
        turned = F.conv2d(rotate_filters(x, r), bank, stride=stride, padding=k // 2)
        turned = turned.view(base.shape[0], cout, 4, turned.shape[-2], turned.shape[-1])
        if turned.shape != base.shape:
            raise ValueError("a square input keeps its shape")
        worst = max(worst, (turned - rotate_feature_map(base, r)).abs().max().item())
    return worst
