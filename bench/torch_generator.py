#!/usr/bin/python3
"""The DCGAN-64 generator benchmark of bench_generator.c, in PyTorch.

The same network (dcgan_tf: Linear(100, 8192), Unflatten, BN, ReLU, then
ConvTranspose2d(5, stride 2, padding 2, output_padding 1, bias) + BN + ReLU
stages 512 -> 256 -> 128 -> 64 -> 3, Tanh, (x+1)/2; host/nn/net_build.c),
random weights drawn like gpd_net_init (conv / linear N(0, 0.02), BN gamma
N(1, 0.02), beta 0, running mean 0 and variance 1), eval mode, weights with
requires_grad False. One repetition = forward of z (requires_grad) then
backward of <dy, G(z)> to z only, as ours; after the warm-up each repetition
is timed on its own (torch.cuda.synchronize() on CUDA) and the median is
reported. FLOPs are counted as in bench_generator: 4 x multiply-adds of the
linear and conv-transpose layers x batch.

Also the module the restart benchmark (torch_restarts.py) takes its
networks from.

  /usr/bin/python3 bench/torch_generator.py [--device cpu|cuda] [--threads 2]
      [--batch 10,100] [--warmup 2] [--reps 10] [--tf32] [--json] [--no-header]
"""
import argparse
import json
import os
import statistics
import sys
import time

import torch
from torch import nn


class Affine(nn.Module):
    """(x + 1) / 2: tanh's [-1, 1] to images in [0, 1]."""

    def forward(self, x):
        return x * 0.5 + 0.5


def dcgan_tf(latent=100, width=64, channels=3, size=64):
    """gpdeblur's dcgan_tf generator as an nn.Sequential (same layer list)."""
    stages = 0
    while (4 << stages) < size:
        stages += 1

    def ch(i):
        return max(width, (8 * width) >> i) if i < 3 else width

    c0 = ch(0)
    layers = [nn.Linear(latent, c0 * 16), nn.Unflatten(1, (c0, 4, 4)), nn.BatchNorm2d(c0), nn.ReLU()]
    for i in range(stages):
        last = i == stages - 1
        c_out = channels if last else ch(i + 1)
        layers.append(nn.ConvTranspose2d(ch(i), c_out, 5, 2, 2, output_padding=1, bias=True))
        if not last:
            layers += [nn.BatchNorm2d(c_out), nn.ReLU()]
    layers += [nn.Tanh(), Affine()]
    return nn.Sequential(*layers)


def blur_vae_decoder(latent=50, width=20, channels=1):
    """gpdeblur's blur_vae decoder: 50 -> 28 x 28 kernels."""
    f = width
    return nn.Sequential(
        nn.Linear(latent, 36 * f), nn.ReLU(), nn.Unflatten(1, (f, 6, 6)),
        nn.Upsample(scale_factor=2, mode="nearest"), nn.ConvTranspose2d(f, f, 2), nn.ReLU(),
        nn.Upsample(scale_factor=2, mode="nearest"), nn.ConvTranspose2d(f, f, 2), nn.ReLU(),
        nn.ConvTranspose2d(f, channels, 2), nn.ReLU())


def init_dcgan(model, gen):
    """Random weights with the distributions of gpd_net_init's DCGAN init
    (conv / linear N(0, 0.02), bias 0, batch norm gamma N(1, 0.02), beta 0;
    the values differ: another generator; the timing does not depend on
    them), running statistics 0 / 1."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.Linear, nn.ConvTranspose2d, nn.Conv2d)):
                m.weight.copy_(0.02 * torch.randn(m.weight.shape, generator=gen))
                if m.bias is not None:
                    m.bias.zero_()
            elif isinstance(m, nn.BatchNorm2d):
                m.weight.copy_(1 + 0.02 * torch.randn(m.weight.shape, generator=gen))
                m.bias.zero_()
                m.running_mean.zero_()
                m.running_var.fill_(1.0)
    return model


def randomise(model, seed):
    """init_dcgan from seed, eval mode, no weight gradients (a trained
    generator as a solver uses it)."""
    init_dcgan(model, torch.Generator().manual_seed(seed))
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def forward_macs(model, in_shape):
    """Multiply-adds of one forward per item of the linear / conv layers
    (what gpd_net_forward_flops counts), from the shapes a forward sees."""
    macs = 0
    hooks = []

    def hook(m, inp, out):
        nonlocal macs
        x = inp[0]
        if isinstance(m, nn.Linear):
            macs += m.in_features * m.out_features
        elif isinstance(m, nn.ConvTranspose2d):
            macs += x.shape[1] * x.shape[2] * x.shape[3] * m.out_channels * m.kernel_size[0] * m.kernel_size[1]
        elif isinstance(m, nn.Conv2d):
            macs += out.shape[1] * out.shape[2] * out.shape[3] * m.in_channels * m.kernel_size[0] * m.kernel_size[1]

    for m in model.modules():
        if isinstance(m, (nn.Linear, nn.ConvTranspose2d, nn.Conv2d)):
            hooks.append(m.register_forward_hook(hook))
    with torch.no_grad():
        model(torch.zeros((1,) + tuple(in_shape), device=next(model.parameters()).device))
    for h in hooks:
        h.remove()
    return macs


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def loadavg():
    try:
        return os.getloadavg()[0]
    except OSError:
        return -1.0


def impl_name(suffix="eager"):
    return "pytorch-%s-%s" % (torch.__version__.split("+")[0], suffix)


def setup_threads(device, threads):
    if device.type == "cpu" and threads > 0:
        torch.set_num_threads(threads)
    return torch.get_num_threads() if device.type == "cpu" else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--threads", type=int, default=2, help="torch.set_num_threads on the CPU")
    ap.add_argument("--batch", default="10,100")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--tf32", action="store_true", help="allow TF32 convolutions / matmuls on CUDA")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--no-header", action="store_true")
    a = ap.parse_args()
    if a.device == "cuda" and not torch.cuda.is_available():
        print("torch_generator.py: skipped --device cuda: torch sees no GPU", file=sys.stderr)
        return 77
    dev = torch.device(a.device)
    threads = setup_threads(dev, a.threads)
    if dev.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = a.tf32
        torch.backends.cudnn.allow_tf32 = a.tf32
        torch.backends.cudnn.benchmark = True
    precision = "tf32" if (a.tf32 and dev.type == "cuda") else "fp32"
    g = randomise(dcgan_tf(), 1).to(dev)
    macs = forward_macs(g, (100,))
    gen = torch.Generator().manual_seed(1)
    if not a.json and not a.no_header:
        print("bench,impl,device,precision,threads,batch,warmup,reps,median_ms,min_ms,max_ms,gflop_per_rep,gflops,"
              "loadavg")
    for n in [int(b) for b in a.batch.split(",")]:
        z = torch.randn((n, 100), generator=gen).to(dev).requires_grad_(True)
        dy = torch.randn((n, 3, 64, 64), generator=gen).to(dev)
        times = []
        for r in range(a.warmup + a.reps):
            sync(dev)
            t0 = time.perf_counter()
            z.grad = None
            y = g(z)
            y.backward(dy)
            sync(dev)
            if r >= a.warmup:
                times.append(time.perf_counter() - t0)
        assert z.grad is not None and torch.isfinite(z.grad).all()
        med = statistics.median(times)
        gflop = 4.0 * macs * n * 1e-9
        row = dict(bench="generator", impl=impl_name(), device=a.device, precision=precision, threads=threads,
                   batch=n, warmup=a.warmup, reps=a.reps, median_ms=1e3 * med, min_ms=1e3 * min(times),
                   max_ms=1e3 * max(times), gflop_per_rep=gflop, gflops=gflop / med, loadavg=loadavg())
        if a.json:
            print(json.dumps(row))
        else:
            print("generator,%s,%s,%s,%d,%d,%d,%d,%.3f,%.3f,%.3f,%.4f,%.2f,%.2f" % (
                row["impl"], a.device, precision, threads, n, a.warmup, a.reps, row["median_ms"], row["min_ms"],
                row["max_ms"], gflop, row["gflops"], row["loadavg"]))
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
