#!/usr/bin/python3
"""PyTorch reference fixtures for the DCGAN generators (tests/test_torch_net.c).

Builds in PyTorch the nn.Sequential equivalents of gpdeblur's dcgan_tf and
dcgan_torch generators (host/nn/net_build.c documents the layer lists), at
width 8, latent 100, 64x64x3, with fixed random weights and non-trivial
batch-norm running statistics, and writes:

  tests/fixtures/dcgan_tf.safetensors     the dcgan_tf state_dict, weights in F16
  tests/fixtures/dcgan_torch.safetensors  the dcgan_torch state_dict, weights in BF16
  tests/fixtures/dcgan_ref.bin            z, G(z) and dL/dz for L = <dy, G(z)>

The safetensors files are written here with struct + json (the safetensors
package is not needed), in PyTorch's state_dict order with its
num_batches_tracked I64 tensors, so our reader meets a foreign writer and
half-precision dtypes. The model then uses exactly the rounded weights, and
the references are computed in float64 from them.

dy is not stored: dy[i] = ((i * 7919) % 2001 - 1000) / 1000 over the flat
(N, 3, 64, 64) output, exact in float32 on both sides.

dcgan_ref.bin: magic b"GPDNETRF", uint32 version 1, uint32 record count, then
records of: name (32 bytes, NUL padded), uint32 ndim, uint32 shape[4], float32
data (little endian). Records: <net>.z, <net>.eval.y, <net>.eval.dz and, for
dcgan_tf, <net>.train.y, <net>.train.dz (batch norm with batch statistics).

Run: /usr/bin/python3 scripts/make_net_fixtures.py
"""
import json
import os
import struct

import numpy as np
import torch
from torch import nn

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
FIX = os.path.join(ROOT, "tests", "fixtures")
LATENT, WIDTH, SIZE, CHANNELS, BATCH = 100, 8, 64, 3, 2


class Affine(nn.Module):
    """(x + 1) / 2: tanh's [-1, 1] to images in [0, 1]; no parameters."""

    def forward(self, x):
        return x * 0.5 + 0.5


def channels(i):
    """Channels entering doubling stage i: max(w, 8w >> i)."""
    return max(WIDTH, (8 * WIDTH) >> i)


def stages():
    n = 0
    while (4 << n) < SIZE:
        n += 1
    return n


def dcgan_tf():
    n = stages()
    c0 = channels(0)
    layers = [nn.Linear(LATENT, c0 * 16), nn.Unflatten(1, (c0, 4, 4)), nn.BatchNorm2d(c0), nn.ReLU()]
    for i in range(n):
        last = i == n - 1
        c_out = CHANNELS if last else channels(i + 1)
        layers.append(nn.ConvTranspose2d(channels(i), c_out, 5, 2, 2, output_padding=1, bias=True))
        if not last:
            layers += [nn.BatchNorm2d(c_out), nn.ReLU()]
    layers += [nn.Tanh(), Affine()]
    return nn.Sequential(*layers)


def dcgan_torch():
    n = stages()
    c0 = channels(0)
    layers = [nn.ConvTranspose2d(LATENT, c0, 4, 1, 0, bias=False), nn.BatchNorm2d(c0), nn.ReLU()]
    for i in range(n):
        last = i == n - 1
        c_out = CHANNELS if last else channels(i + 1)
        layers.append(nn.ConvTranspose2d(channels(i), c_out, 4, 2, 1, bias=False))
        if not last:
            layers += [nn.BatchNorm2d(c_out), nn.ReLU()]
    layers += [nn.Tanh(), Affine()]
    return nn.Sequential(*layers)


def randomise(model, gen, z_shape):
    """Random weights, then running statistics from a few training-mode
    passes, perturbed so that eval mode differs from the batch statistics."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.Linear, nn.ConvTranspose2d)):
                if isinstance(m, nn.Linear):
                    fan_in = m.weight.shape[1]
                else:  # each output of a transposed conv sums C_in * (K / stride)^2 terms
                    fan_in = m.weight.shape[0] * m.weight.shape[2] ** 2 / m.stride[0] ** 2
                m.weight.copy_(torch.randn(m.weight.shape, generator=gen) / np.sqrt(fan_in))
                if m.bias is not None:
                    m.bias.copy_(0.1 * torch.randn(m.bias.shape, generator=gen))
            if isinstance(m, nn.BatchNorm2d):
                m.weight.copy_(1 + 0.2 * torch.randn(m.weight.shape, generator=gen))
                m.bias.copy_(0.2 * torch.randn(m.bias.shape, generator=gen))
        model.train()
        for _ in range(10):
            model(torch.randn(z_shape, generator=gen))
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.add_(0.1 * torch.randn(m.running_mean.shape, generator=gen))
                m.running_var.mul_(torch.empty(m.running_var.shape).uniform_(0.6, 1.6, generator=gen))


def round_to(t, dtype):
    return t.to(dtype).to(torch.float32) if dtype is not None else t


def save_safetensors(path, state, dtypes, metadata):
    """The safetensors layout, written by hand: json.dumps with its default
    separators (spaces after ',' and ':'), state_dict order, header padded
    with spaces to a multiple of 8."""
    names = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.int64: "I64"}
    header = {"__metadata__": metadata}
    blobs, offset = [], 0
    for name, t in state.items():
        dt = dtypes.get(name, t.dtype)
        if dt == torch.bfloat16:
            raw = (t.to(torch.bfloat16).view(torch.int16).numpy().astype("<i2")).tobytes()
        else:
            arr = t.to(dt).contiguous().numpy()
            raw = arr.astype(arr.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": names[dt], "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def half_dtypes(state, weight_dtype):
    """Weights (and batch-norm tensors) in half precision, biases in F32."""
    out = {}
    for name, t in state.items():
        if t.dtype == torch.float32 and not name.endswith(".bias"):
            out[name] = weight_dtype
    return out


def dy_for(shape):
    i = np.arange(int(np.prod(shape)), dtype=np.int64)
    return torch.from_numpy((((i * 7919) % 2001 - 1000) / 1000.0).reshape(shape))


def reference(model, z, train):
    m = model.double()
    m.train(train)
    zz = z.double().clone().requires_grad_(True)
    y = m(zz)
    (y * dy_for(tuple(y.shape))).sum().backward()
    return y.detach().float(), zz.grad.detach().float()


def record(name, t):
    arr = t.detach().cpu().numpy().astype("<f4")
    shape = list(arr.shape) + [1] * (4 - arr.ndim)
    return struct.pack("<32sI4I", name.encode(), arr.ndim, *shape) + arr.tobytes()


def main():
    gen = torch.Generator().manual_seed(20240611)
    records = []
    for label, make, wdtype, z_shape in (("dcgan_tf", dcgan_tf, torch.float16, (BATCH, LATENT)),
                                        ("dcgan_torch", dcgan_torch, torch.bfloat16, (BATCH, LATENT, 1, 1))):
        model = make()
        randomise(model, gen, (8,) + z_shape[1:])
        state = model.state_dict()
        dtypes = half_dtypes(state, wdtype)
        # The model computes with exactly the numbers the file holds.
        with torch.no_grad():
            for name, t in state.items():
                t.copy_(round_to(t, dtypes.get(name)))
        meta = {"arch": label, "latent": str(LATENT), "channels": str(CHANNELS), "size": str(SIZE),
                "width": str(WIDTH), "format": "pt", "note": "PyTorch fixture, scripts/make_net_fixtures.py"}
        save_safetensors(os.path.join(FIX, label + ".safetensors"),
                         {"generator." + k: v for k, v in state.items()},
                         {"generator." + k: v for k, v in dtypes.items()}, meta)
        z = torch.randn(z_shape, generator=gen)
        records.append(record(label + ".z", z))
        y, dz = reference(model, z, False)
        records += [record(label + ".eval.y", y), record(label + ".eval.dz", dz)]
        if label == "dcgan_tf":
            y, dz = reference(model, z, True)
            records += [record(label + ".train.y", y), record(label + ".train.dz", dz)]
    with open(os.path.join(FIX, "dcgan_ref.bin"), "wb") as f:
        f.write(b"GPDNETRF" + struct.pack("<II", 1, len(records)))
        for r in records:
            f.write(r)
    for name in ("dcgan_tf.safetensors", "dcgan_torch.safetensors", "dcgan_ref.bin"):
        print(name, os.path.getsize(os.path.join(FIX, name)), "bytes")


if __name__ == "__main__":
    main()
