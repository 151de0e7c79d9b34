#!/usr/bin/python3
"""The DCGAN-64 training step of bench_train.c, in PyTorch eager.

The same networks: G is torch_generator.dcgan_tf (width 64, latent 100,
ending in (x+1)/2), D is gpdeblur's dcgan_disc (host/nn/net_build.c: per
stage Conv2d(4, stride 2, padding 1, no bias) 3 -> 64 -> 128 -> 256 -> 512,
BatchNorm2d except after the first, LeakyReLU(0.2); then Conv2d(512, 1, 4)
to one logit), both in training mode, weights N(0, 0.02) and BN gamma
N(1, 0.02) as gpd_net_init; Adam(2e-4, betas (0.5, 0.999)) for each; an EMA
of G's weights with decay 0.999; batch 64 of 64x64x3 images uniform in
[0, 1].

One step, as gpd_trainer_step (host/train/trainer.c, gan_loss.c):
  z ~ N(0, I); real = 2 x - 1 (D works on [-1, 1]); fake = G(z) once
  D step: BCE-with-logits of D(view_r(real)) against 1 and of
          D(view_f(2 fake - 1).detach()) against 0, backward, Adam on D
  G step: D's weights frozen (no weight gradients, as ours), BCE of
          D(view_g(2 fake - 1)) against 1, backward through D and G (reusing
          the G forward above), Adam on G
  EMA:    ema = 0.999 ema + 0.001 G (every parameter)
  the losses and mean sigmoids copied to the host (ours downloads them).
--augment all: view_r flips the real images at random and applies
DiffAugment's colour, translation and cutout (Zhao et al. 2020's reference
code, DiffAugment_pytorch.py, for [-1, 1] images); view_f / view_g apply the
same three to the fakes, each with its own draws (three views per step, as
ours). --augment none: every view is the identity.

Timing as bench_train: warm-up steps, then each step timed on its own and
the median reported. FLOPs as bench_train: 2 x (3 x MACs(G) + 8 x MACs(D))
x batch per step.

  /usr/bin/python3 bench/torch_train.py [--threads 2] [--batch 64]
      [--augment none,all] [--warmup 1] [--reps 5] [--json] [--no-header]
"""
import argparse
import json
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_generator import dcgan_tf, forward_macs, impl_name, init_dcgan, loadavg, setup_threads  # noqa: E402


def dcgan_disc(width=64, channels=3, size=64):
    """gpdeblur's dcgan_disc discriminator as an nn.Sequential (same layer list)."""
    stages = 0
    while (4 << stages) < size:
        stages += 1

    def ch(i):
        return max(width, (8 * width) >> i) if i < 3 else width

    layers, c = [], channels
    for i in range(stages):
        c_out = ch(stages - 1 - i)
        layers.append(nn.Conv2d(c, c_out, 4, 2, 1, bias=False))
        if i > 0:
            layers.append(nn.BatchNorm2d(c_out))
        layers.append(nn.LeakyReLU(0.2))
        c = c_out
    layers += [nn.Conv2d(c, 1, 4, 1, 0, bias=False), nn.Flatten(0)]
    return nn.Sequential(*layers)


# ---- DiffAugment (Zhao et al. 2020, DiffAugment_pytorch.py), for [-1, 1] images ----

def rand_flip(x):
    flip = torch.rand(x.size(0), 1, 1, 1) < 0.5
    return torch.where(flip, x.flip(3), x)


def rand_brightness(x):
    return x + (torch.rand(x.size(0), 1, 1, 1, dtype=x.dtype) - 0.5)


def rand_saturation(x):
    x_mean = x.mean(dim=1, keepdim=True)
    return (x - x_mean) * (torch.rand(x.size(0), 1, 1, 1, dtype=x.dtype) * 2) + x_mean


def rand_contrast(x):
    x_mean = x.mean(dim=[1, 2, 3], keepdim=True)
    return (x - x_mean) * (torch.rand(x.size(0), 1, 1, 1, dtype=x.dtype) + 0.5) + x_mean


def rand_translation(x, ratio=0.125):
    shift_x, shift_y = int(x.size(2) * ratio + 0.5), int(x.size(3) * ratio + 0.5)
    translation_x = torch.randint(-shift_x, shift_x + 1, size=[x.size(0), 1, 1])
    translation_y = torch.randint(-shift_y, shift_y + 1, size=[x.size(0), 1, 1])
    grid_batch, grid_x, grid_y = torch.meshgrid(torch.arange(x.size(0)), torch.arange(x.size(2)),
                                                torch.arange(x.size(3)), indexing="ij")
    grid_x = torch.clamp(grid_x + translation_x + 1, 0, x.size(2) + 1)
    grid_y = torch.clamp(grid_y + translation_y + 1, 0, x.size(3) + 1)
    x_pad = F.pad(x, [1, 1, 1, 1, 0, 0, 0, 0])
    return x_pad.permute(0, 2, 3, 1).contiguous()[grid_batch, grid_x, grid_y].permute(0, 3, 1, 2)


def rand_cutout(x, ratio=0.5):
    cutout_size = int(x.size(2) * ratio + 0.5), int(x.size(3) * ratio + 0.5)
    offset_x = torch.randint(0, x.size(2) + (1 - cutout_size[0] % 2), size=[x.size(0), 1, 1])
    offset_y = torch.randint(0, x.size(3) + (1 - cutout_size[1] % 2), size=[x.size(0), 1, 1])
    grid_batch, grid_x, grid_y = torch.meshgrid(torch.arange(x.size(0)), torch.arange(cutout_size[0]),
                                                torch.arange(cutout_size[1]), indexing="ij")
    grid_x = torch.clamp(grid_x + offset_x - cutout_size[0] // 2, min=0, max=x.size(2) - 1)
    grid_y = torch.clamp(grid_y + offset_y - cutout_size[1] // 2, min=0, max=x.size(3) - 1)
    mask = torch.ones(x.size(0), x.size(2), x.size(3), dtype=x.dtype)
    mask[grid_batch, grid_x, grid_y] = 0
    return x * mask.unsqueeze(1)


def diffaugment(x):
    for f in (rand_brightness, rand_saturation, rand_contrast, rand_translation, rand_cutout):
        x = f(x)
    return x


def identity(x):
    return x


class Step:
    """Networks, optimisers and the EMA for one policy."""

    def __init__(self, batch, augment, seed=1):
        gen = torch.Generator().manual_seed(seed)
        self.g = init_dcgan(dcgan_tf(), gen).train()
        self.d = init_dcgan(dcgan_disc(), gen).train()
        self.opt_g = torch.optim.Adam(self.g.parameters(), lr=2e-4, betas=(0.5, 0.999), eps=1e-8)
        self.opt_d = torch.optim.Adam(self.d.parameters(), lr=2e-4, betas=(0.5, 0.999), eps=1e-8)
        self.ema = [p.detach().clone() for p in self.g.parameters()]
        self.batch = batch
        self.view_real = (lambda x: diffaugment(rand_flip(x))) if augment else identity
        self.view_fake = diffaugment if augment else identity

    def __call__(self, x_host):
        g, d, n = self.g, self.d, self.batch
        z = torch.randn(n, 100)
        real = x_host.clone() * 2 - 1  # ours uploads the host batch, then 2x - 1
        ones, zeros = torch.ones(n), torch.zeros(n)
        fake = g(z) * 2 - 1
        # D step
        self.opt_d.zero_grad(set_to_none=True)
        logit_real = d(self.view_real(real))
        logit_fake = d(self.view_fake(fake.detach()))
        loss_d = (F.binary_cross_entropy_with_logits(logit_real, ones) +
                  F.binary_cross_entropy_with_logits(logit_fake, zeros))
        loss_d.backward()
        self.opt_d.step()
        # G step through D, D's weights fixed
        for p in d.parameters():
            p.requires_grad_(False)
        self.opt_g.zero_grad(set_to_none=True)
        logit_g = d(self.view_fake(fake))
        loss_g = F.binary_cross_entropy_with_logits(logit_g, ones)
        loss_g.backward()
        self.opt_g.step()
        for p in d.parameters():
            p.requires_grad_(True)
        with torch.no_grad():
            for e, p in zip(self.ema, g.parameters()):
                e.mul_(0.999).add_(p, alpha=0.001)
        # what the trainer reports
        stats = (loss_d.item(), loss_g.item(), torch.sigmoid(logit_real).mean().item(),
                 torch.sigmoid(logit_fake).mean().item())
        assert all(v == v for v in stats), "a loss is NaN"
        return stats


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--augment", default="none,all", help="comma list of none / all")
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--no-header", action="store_true")
    a = ap.parse_args()
    policies = a.augment.split(",")
    for p in policies:
        if p not in ("none", "all"):
            ap.error("--augment: '%s' is not none or all" % p)
    threads = setup_threads(torch.device("cpu"), a.threads)
    torch.manual_seed(1)
    x_host = torch.rand(a.batch, 3, 64, 64, generator=torch.Generator().manual_seed(3))
    if not a.json and not a.no_header:
        print("bench,impl,device,precision,threads,batch,augment,warmup,reps,median_ms,min_ms,max_ms,images_per_s,"
              "gflop_per_step,gflops,loadavg")
    for policy in policies:
        step = Step(a.batch, policy == "all")
        macs = 3 * forward_macs(step.g, (100,)) + 8 * forward_macs(step.d, (3, 64, 64))
        step.g.train()
        step.d.train()
        gflop = 2.0 * macs * a.batch * 1e-9
        times = []
        for r in range(a.warmup + a.reps):
            t0 = time.perf_counter()
            step(x_host)
            if r >= a.warmup:
                times.append(time.perf_counter() - t0)
        med = statistics.median(times)
        row = dict(bench="train", impl=impl_name(), device="cpu", precision="fp32", threads=threads, batch=a.batch,
                   augment=policy, warmup=a.warmup, reps=a.reps, median_ms=1e3 * med, min_ms=1e3 * min(times),
                   max_ms=1e3 * max(times), images_per_s=a.batch / med, gflop_per_step=gflop, gflops=gflop / med,
                   loadavg=loadavg())
        if a.json:
            print(json.dumps(row))
        else:
            print("train,%s,cpu,fp32,%d,%d,%s,%d,%d,%.3f,%.3f,%.3f,%.2f,%.3f,%.2f,%.2f" % (
                row["impl"], threads, a.batch, policy, a.warmup, a.reps, row["median_ms"], row["min_ms"],
                row["max_ms"], row["images_per_s"], gflop, row["gflops"], row["loadavg"]))
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
