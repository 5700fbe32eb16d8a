"""A second correct solution, written independently of the reference one: it must score full marks.

share gathers from a flattened view; the gradient sum multiplies by the one-hot sharing
matrix dH/du explicitly, (dH/du)^T dC/dw; the induced update applies (dH/du)(dH/du)^T; the
networks cut theta with explicit offsets and use batched matrix products.
"""
import torch

BROKEN = None


def _one_hot(index, n, dtype):
    flat = index.reshape(-1)
    return (flat[:, None] == torch.arange(n)[None, :]).to(dtype)  # (number of weights, n)


def share(u, index):
    return torch.gather(u, 0, index.reshape(-1)).reshape(index.shape)


def shared_grad(grad_w, index, n):
    J = _one_hot(index, n, grad_w.dtype)
    return J.T @ grad_w.reshape(-1)


def induced_update(grad_w, index, lr):
    n = int(index.max()) + 1
    J = _one_hot(index, n, grad_w.dtype)
    return (-lr * (J @ (J.T @ grad_w.reshape(-1)))).reshape(index.shape)


def target_forward(x, theta):
    B, d = x.shape
    h = (theta.shape[1] - 1) // (d + 2)
    offset = 0
    V = theta[:, offset:offset + h * d].reshape(B, h, d)
    offset += h * d
    c = theta[:, offset:offset + h]
    offset += h
    r = theta[:, offset:offset + h]
    s = theta[:, offset + h]
    pre = torch.bmm(V, x[:, :, None])[:, :, 0] + c
    return torch.bmm(r[:, None, :], torch.tanh(pre)[:, :, None])[:, 0, 0] + s


def hyper_forward(context, x, hyper_weights):
    A1, a1, A2, a2 = hyper_weights
    z = torch.tanh(torch.einsum("km,bm->bk", A1, context) + a1)
    return target_forward(x, torch.einsum("pk,bk->bp", A2, z) + a2)
