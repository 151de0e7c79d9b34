#!/usr/bin/python3
"""Writes tests/fixtures/torch_ops.bin: PyTorch's answers for the layer ops,
read by tests/test_torch_ops.c.

Run with Debian's Python (it has torch): /usr/bin/python3 scripts/make_op_fixtures.py

Inputs are drawn as float32 (exactly what the C test feeds its ops), then
PyTorch evaluates in float64 so the reference carries no float32 rounding of
its own. For each case: inputs, weights, output, and the gradients of
sum(dy * output) for a fixed random dy (input, weight, bias; gamma, beta).

File format (little-endian):
  magic   8 bytes  b"GPDTOPS\\0"
  version uint32   1
  count   uint32   number of records
  records: name_len uint32, name (ASCII), n uint32, n float32 values
Integer facts (shapes, geometry) are stored as float records named
"<case>.geom" etc.
"""
import os
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F

MAGIC = b"GPDTOPS\0"
VERSION = 1

records = []


def put(name, value):
    a = np.asarray(value, dtype=np.float64).astype(np.float32).ravel()
    records.append((name, a))


def rand(gen, *shape, lo=-1.0, hi=1.0):
    """float32 uniform values, returned as a float64 tensor."""
    t = torch.rand(*shape, generator=gen, dtype=torch.float32) * (hi - lo) + lo
    return t.double()


def grads(out, dy, *leaves):
    """Gradients of sum(dy * out) with respect to leaves."""
    return torch.autograd.grad((out * dy).sum(), leaves)


def conv_case(gen, name, transposed, n, c_in, h, w, c_out, k, stride, pad, out_pad=0):
    x = rand(gen, n, c_in, h, w).requires_grad_()
    wshape = (c_in, c_out, k, k) if transposed else (c_out, c_in, k, k)
    wt = rand(gen, *wshape, lo=-0.5, hi=0.5).requires_grad_()
    b = rand(gen, c_out).requires_grad_()
    if transposed:
        y = F.conv_transpose2d(x, wt, b, stride=stride, padding=pad, output_padding=out_pad)
    else:
        y = F.conv2d(x, wt, b, stride=stride, padding=pad)
    dy = rand(gen, *y.shape)
    dx, dw, db = grads(y, dy, x, wt, b)
    # geometry as gpd_conv_geom: n, c_in, h_in, w_in, c_out, h_out, w_out, k, stride, pad
    put(name + ".geom", [n, c_in, h, w, c_out, y.shape[2], y.shape[3], k, stride, pad])
    for key, t in (("x", x), ("w", wt), ("b", b), ("dy", dy), ("y", y), ("dx", dx), ("dw", dw), ("db", db)):
        put(name + "." + key, t.detach())


def batchnorm_case(gen, name, train, n, c, h, w, eps=1e-5, momentum=0.1):
    x = rand(gen, n, c, h, w, lo=-2.0, hi=3.0).requires_grad_()
    gamma = rand(gen, c, lo=0.5, hi=1.5).requires_grad_()
    beta = rand(gen, c).requires_grad_()
    rm0 = rand(gen, c, lo=-0.5, hi=0.5)
    rv0 = rand(gen, c, lo=0.5, hi=2.0)
    rm, rv = rm0.clone(), rv0.clone()
    y = F.batch_norm(x, rm, rv, gamma, beta, training=train, momentum=momentum, eps=eps)
    dy = rand(gen, *y.shape)
    dx, dg, db = grads(y, dy, x, gamma, beta)
    put(name + ".shape", [n, c, h * w, eps, momentum])
    for key, t in (("x", x), ("gamma", gamma), ("beta", beta), ("running_mean", rm0), ("running_var", rv0),
                   ("dy", dy), ("y", y), ("dx", dx), ("dgamma", dg), ("dbeta", db)):
        put(name + "." + key, t.detach())
    if train:  # running stats after one step, and the saved batch statistics
        put(name + ".running_mean_after", rm)
        put(name + ".running_var_after", rv)
        mean = x.detach().mean(dim=(0, 2, 3))
        var = x.detach().var(dim=(0, 2, 3), unbiased=False)
        put(name + ".save_mean", mean)
        put(name + ".save_invstd", 1.0 / torch.sqrt(var + eps))


def activation_case(gen, name, fn, n=64):
    x = rand(gen, n, lo=-3.0, hi=3.0).requires_grad_()
    y = fn(x)
    dy = rand(gen, n)
    (dx,) = grads(y, dy, x)
    for key, t in (("x", x), ("dy", dy), ("y", y), ("dx", dx)):
        put(name + "." + key, t.detach())


def maxpool_case(gen, name, n, c, h, w, size):
    x = rand(gen, n, c, h, w).requires_grad_()
    y, idx = F.max_pool2d(x, size, stride=size, return_indices=True)
    dy = rand(gen, *y.shape)
    (dx,) = grads(y, dy, x)
    put(name + ".shape", [n, c, h, w, size])
    for key, t in (("x", x), ("dy", dy), ("y", y), ("argmax", idx), ("dx", dx)):
        put(name + "." + key, t.detach())


def upsample_case(gen, name, n, c, h, w, factor):
    x = rand(gen, n, c, h, w).requires_grad_()
    y = F.interpolate(x, scale_factor=factor, mode="nearest")
    dy = rand(gen, *y.shape)
    (dx,) = grads(y, dy, x)
    put(name + ".shape", [n, c, h, w, factor])
    for key, t in (("x", x), ("dy", dy), ("y", y), ("dx", dx)):
        put(name + "." + key, t.detach())


def linear_case(gen, name, n, fin, fout):
    x = rand(gen, n, fin).requires_grad_()
    wt = rand(gen, fout, fin).requires_grad_()
    b = rand(gen, fout).requires_grad_()
    y = F.linear(x, wt, b)
    dy = rand(gen, n, fout)
    dx, dw, db = grads(y, dy, x, wt, b)
    put(name + ".shape", [n, fin, fout])
    for key, t in (("x", x), ("w", wt), ("b", b), ("dy", dy), ("y", y), ("dx", dx), ("dw", dw), ("db", db)):
        put(name + "." + key, t.detach())


def bce_case(gen, name, target, scale, n=16):
    x = rand(gen, n, lo=-6.0, hi=6.0).requires_grad_()
    t = torch.full_like(x, float(target))
    loss = F.binary_cross_entropy_with_logits(x, t, reduction="none")
    (dx,) = torch.autograd.grad(loss.sum() * scale, (x,))
    put(name + ".params", [n, target, scale])
    for key, v in (("x", x), ("loss", loss), ("dx", dx)):
        put(name + "." + key, v.detach())


def main():
    gen = torch.Generator().manual_seed(20240611)
    conv_case(gen, "conv2d_s1", False, 2, 3, 8, 8, 4, 3, 1, 1)
    conv_case(gen, "conv2d_s2", False, 2, 3, 9, 8, 4, 5, 2, 2)
    conv_case(gen, "conv2d_s2_k4", False, 2, 2, 8, 8, 3, 4, 2, 1)
    conv_case(gen, "convt_k4_s2", True, 2, 4, 4, 4, 3, 4, 2, 1)  # PyTorch DCGAN layer
    conv_case(gen, "convt_k5_s2_op1", True, 2, 4, 4, 4, 3, 5, 2, 2, out_pad=1)  # TF "same" DCGAN layer
    conv_case(gen, "convt_k4_s2_op1", True, 2, 3, 3, 5, 2, 4, 2, 1, out_pad=1)
    conv_case(gen, "convt_k3_s1", True, 2, 3, 5, 5, 2, 3, 1, 0)
    conv_case(gen, "convt_k2_s1", True, 2, 2, 6, 6, 3, 2, 1, 0)  # blur VAE decoder layer
    batchnorm_case(gen, "bn_train", True, 3, 4, 5, 5)
    batchnorm_case(gen, "bn_eval", False, 3, 4, 5, 5)
    activation_case(gen, "relu", F.relu)
    activation_case(gen, "leaky_relu", lambda v: F.leaky_relu(v, 0.2))
    activation_case(gen, "tanh", torch.tanh)
    activation_case(gen, "sigmoid", torch.sigmoid)
    maxpool_case(gen, "maxpool2", 2, 3, 7, 6, 2)
    maxpool_case(gen, "maxpool3", 1, 2, 6, 7, 3)
    upsample_case(gen, "upsample2", 2, 3, 3, 4, 2)
    upsample_case(gen, "upsample3", 1, 2, 2, 3, 3)
    linear_case(gen, "linear", 3, 7, 5)
    bce_case(gen, "bce_real", 1.0, 1.0)
    bce_case(gen, "bce_fake", 0.0, 0.5)

    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures",
                                                                 "torch_ops.bin")
    with open(out, "wb") as f:
        f.write(MAGIC)
        f.write(struct.pack("<II", VERSION, len(records)))
        for name, a in records:
            nb = name.encode("ascii")
            f.write(struct.pack("<I", len(nb)))
            f.write(nb)
            f.write(struct.pack("<I", a.size))
            f.write(a.astype("<f4").tobytes())
    print(f"{out}: {len(records)} records, {os.path.getsize(out)} bytes (torch {torch.__version__})")


if __name__ == "__main__":
    main()
