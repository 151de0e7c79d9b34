#!/usr/bin/python3
"""Algorithm 1's restart throughput in PyTorch: the math of bench_restarts.c.

Per iteration, for R restarts at once (the batch), exactly what gpdeblur's
Algorithm 1 computes (host/solve/alg1.c, data_term.c):
  x = G_I(z_i)            DCGAN-64 (dcgan_tf, width 64), eval-mode BN
  k = G_K(z_k)            blur VAE decoder, 28 x 28 kernels
  data[r] = (1/C) sum |x[r] (*) k[r] - y|^2, circular convolution through
            rfft2 / irfft2, the kernel centred on the 64 x 64 canvas
  total[r] = data[r] + 0.01 |z_i[r]|^2 + 0.01 |z_k[r]|^2
  backward of sum(total) to z_i and z_k only (weights requires_grad False)
  z <- z - lr exp(-t / 1000) grad, and the per-restart losses copied to the
  host (ours downloads them every iteration to check for divergence).
Random weights: G_I as torch_generator.randomise (N(0, 0.02)), G_K with
PyTorch's default init (Kaiming uniform, as gpd_net_init for the VAEs); y =
G_I(z*) blurred by a Gaussian (sigma 2) kernel; step 1e-6 (see
bench_restarts.c: random generators diverge at the paper's 0.01).

Timing as ours: each iteration timed on its own (torch.cuda.synchronize()
on CUDA, implied by the loss copy), the first --warmup dropped, median of
the rest. GFLOP/s counts the generators only: 4 x (MACs(G_I) + MACs(G_K))
x R per iteration. Peak: CPU, the best of a few 1024^3 torch.mm calls at
the same thread count (torch's BLAS); CUDA, SMs x per-SM FLOPs per clock x
the maximum SM clock from nvidia-smi, the same table as bench_util.h.

Modes: eager (always); on CUDA also "graph" (the whole iteration, backward
and update included, captured once with torch.cuda.graph and replayed);
"compile" (torch.compile of the objective) when the installed torch has it
(Debian's 1.13 has not: skipped with a note on stderr).

  /usr/bin/python3 bench/torch_restarts.py [--device cpu|cuda] [--threads 2]
      [--restarts 1,10,100] [--steps N] [--warmup 1] [--modes eager,graph,compile]
      [--tf32] [--json] [--no-header]
"""
import argparse
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import time

import torch

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_generator import (blur_vae_decoder, dcgan_tf, forward_macs, impl_name, loadavg,  # noqa: E402
                             randomise, setup_threads, sync)

GAMMA, LAMBDA, LR_DECAY = 0.01, 0.01, 1000.0


def blur(x, k):
    """x (*) k per item: x (R, C, H, W), k (R, K, K); circular convolution
    through rfft2 / irfft2, the kernel centre (K/2, K/2) moved to (0, 0)
    (gpdeblur's circular boundary: no shift)."""
    _, _, h, w = x.shape
    ks = k.shape[-1]
    canvas = torch.nn.functional.pad(k, (0, w - ks, 0, h - ks))
    canvas = torch.roll(canvas, shifts=(-(ks // 2), -(ks // 2)), dims=(1, 2))
    return torch.fft.irfft2(torch.fft.rfft2(x) * torch.fft.rfft2(canvas)[:, None], s=(h, w))


def data_term(x, k, y):
    """(1/C) sum |x (*) k - y|^2 per item; y (C, H, W)."""
    return (blur(x, k) - y).pow(2).sum(dim=(1, 2, 3)) / x.shape[1]


def make_problem(dev):
    """G_I, G_K (random weights, eval mode, no weight gradients), y and K."""
    gi = randomise(dcgan_tf(), 1).to(dev)
    torch.manual_seed(2)
    gk = blur_vae_decoder()
    gk.eval()
    for p in gk.parameters():
        p.requires_grad_(False)
    gk = gk.to(dev)
    gen = torch.Generator().manual_seed(7)
    ks = 28
    with torch.no_grad():
        sharp = gi(torch.randn((1, 100), generator=gen).to(dev))
        r = torch.arange(ks, dtype=torch.float32) - ks // 2
        g = torch.exp(-(r[:, None] ** 2 + r[None, :] ** 2) / (2 * 2.0 ** 2))
        y = blur(sharp, (g / g.sum()).to(dev)[None])[0]
    return gi, gk, y, ks


def objective(gi, gk, zi, zk, y, ks):
    x = gi(zi)
    k = gk(zk).view(zk.shape[0], ks, ks)
    data = data_term(x, k, y)
    total = data + GAMMA * (zi * zi).sum(1) + LAMBDA * (zk * zk).sum(1)
    return data, total


def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def max_rss_bytes():
    """The process's peak resident set so far (autograd frees its saved
    tensors before an iteration ends, so sampling between iterations
    would miss the peak)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def cpu_peak_gflops(n=1024, reps=20):
    a = torch.rand((n, n)) - 0.5
    b = torch.rand((n, n)) - 0.5
    best = 0.0
    for r in range(reps + 1):
        t0 = time.perf_counter()
        torch.mm(a, b)
        dt = time.perf_counter() - t0
        if r > 0:
            best = max(best, 2.0 * n ** 3 / dt * 1e-9)
    return best


def gpu_peak_gflops(tf32):
    """SMs x per-SM FLOPs per clock (bench_util.h's table) x max SM clock."""
    p = torch.cuda.get_device_properties(0)
    sm = 10 * p.major + p.minor
    rates = {70: (128, 0), 75: (128, 0), 80: (128, 1024), 86: (256, 256), 89: (256, 256), 90: (256, 2048)}
    fp32, t32 = rates.get(sm, (0, 0))
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=clocks.max.sm", "--format=csv,noheader,nounits", "-i", "0"],
                             capture_output=True, text=True, timeout=20).stdout
        ghz = float(out.strip().split("\n")[0]) * 1e-3
    except (OSError, ValueError, subprocess.SubprocessError):
        ghz = float("nan")
    rate = t32 if (tf32 and t32) else fp32
    kind = "tf32-spec" if (tf32 and t32) else "fp32-spec"
    print("torch_restarts.py: %s sm_%d, %d SMs, %.2f GHz, %.1f GiB" % (
        p.name, sm, p.multi_processor_count, ghz, p.total_memory / 2 ** 30), file=sys.stderr)
    return rate * p.multi_processor_count * ghz, kind


class Run:
    """One restart count in one mode: iterations, times, memory."""

    def __init__(self, gi, gk, y, ks, R, dev, lr):
        gen = torch.Generator().manual_seed(1)
        self.zi = torch.randn((R, 100), generator=gen).to(dev).requires_grad_(True)
        self.zk = torch.randn((R, 50), generator=gen).to(dev).requires_grad_(True)
        self.gi, self.gk, self.y, self.ks, self.R, self.dev, self.lr = gi, gk, y, ks, R, dev, lr
        self.nonfinite = 0
        self.replays = 0

    def check(self, data_host, total_host):
        bad = ~(torch.isfinite(data_host) & torch.isfinite(total_host))
        self.nonfinite = max(self.nonfinite, int(bad.sum()))

    def eager_step(self, t, fn):
        self.zi.grad = None
        self.zk.grad = None
        data, total = fn(self.gi, self.gk, self.zi, self.zk, self.y, self.ks)
        total.sum().backward()
        step = self.lr * math.exp(-t / LR_DECAY)
        with torch.no_grad():
            self.zi.sub_(step * self.zi.grad)
            self.zk.sub_(step * self.zk.grad)
        self.check(data.detach().cpu(), total.detach().cpu())

    def graph(self):
        """Captures one iteration (objective, backward, update); returns a
        step function that replays it."""
        lr_t = torch.zeros((), device=self.dev)
        s = torch.cuda.Stream()
        s.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(s):  # autograd's side-stream warm-up before capture
            for t in range(3):
                self.eager_step(t, objective)
        torch.cuda.current_stream().wait_stream(s)
        self.zi.grad = None
        self.zk.grad = None
        g = torch.cuda.CUDAGraph()
        with torch.cuda.graph(g):
            data, total = objective(self.gi, self.gk, self.zi, self.zk, self.y, self.ks)
            total.sum().backward()
            with torch.no_grad():
                self.zi.sub_(lr_t * self.zi.grad)
                self.zk.sub_(lr_t * self.zk.grad)

        def step(t):
            lr_t.fill_(self.lr * math.exp(-t / LR_DECAY))
            g.replay()
            self.replays += 1
            self.check(data.detach().cpu(), total.detach().cpu())

        return step


def measure(run, mode, warmup, steps):
    dev = run.dev
    if mode == "eager":
        def step(t): run.eager_step(t, objective)
    elif mode == "compile":
        fn = torch.compile(objective)

        def step(t): run.eager_step(t, fn)
    else:
        step = run.graph()
    if dev.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    rss0 = rss_peak = rss_bytes()
    max0 = max_rss_bytes()  # earlier peaks (imports, the peak measurement) do not count
    times = []
    for t in range(warmup + steps):
        sync(dev)
        t0 = time.perf_counter()
        step(t)
        sync(dev)
        if t >= warmup:
            times.append(time.perf_counter() - t0)
        if dev.type == "cpu":
            m = max_rss_bytes()
            rss_peak = max(rss_peak, rss_bytes(), m if m > max0 else 0)
    if dev.type == "cuda":
        return times, torch.cuda.max_memory_allocated() / 2 ** 20, torch.cuda.max_memory_reserved() / 2 ** 20
    return times, -1.0, (rss_peak - rss0) / 2 ** 20


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--restarts", default="1,10,100")
    ap.add_argument("--steps", type=int, default=0, help="timed iterations (default clamp(500/R, 2, 20); CUDA 20)")
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--lr", type=float, default=1e-6)
    ap.add_argument("--modes", default="eager,graph,compile")
    ap.add_argument("--tf32", action="store_true")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--no-header", action="store_true")
    a = ap.parse_args()
    if a.device == "cuda" and not torch.cuda.is_available():
        print("torch_restarts.py: skipped --device cuda: torch sees no GPU", file=sys.stderr)
        return 77
    if a.warmup < 1:
        ap.error("--warmup must be >= 1")
    dev = torch.device(a.device)
    threads = setup_threads(dev, a.threads)
    if dev.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = a.tf32
        torch.backends.cudnn.allow_tf32 = a.tf32
        torch.backends.cudnn.benchmark = True
        peak, peak_kind = gpu_peak_gflops(a.tf32)
    else:
        peak, peak_kind = cpu_peak_gflops(), "sgemm-measured"
        print("torch_restarts.py: %d torch threads, torch.mm 1024^3 best %.1f GFLOP/s" % (threads, peak),
              file=sys.stderr)
    precision = "tf32" if (a.tf32 and dev.type == "cuda") else "fp32"
    modes = []
    for m in a.modes.split(","):
        if m == "graph" and dev.type != "cuda":
            print("torch_restarts.py: skipped mode graph: CUDA graphs need --device cuda", file=sys.stderr)
        elif m == "compile" and not hasattr(torch, "compile"):
            print("torch_restarts.py: skipped mode compile: torch %s has no torch.compile (2.0 and later)"
                  % torch.__version__, file=sys.stderr)
        elif m in ("eager", "graph", "compile"):
            modes.append(m)
        else:
            ap.error("unknown mode %s" % m)
    gi, gk, y, ks = make_problem(dev)
    macs = forward_macs(gi, (100,)) + forward_macs(gk, (50,))
    if not a.json and not a.no_header:
        print("bench,impl,device,precision,threads,restarts,warmup,steps,median_ms,min_ms,max_ms,restart_iters_per_s,"
              "gflop_per_iter,gflops,peak_gflops,peak_kind,peak_fraction,engine_mb,rss_or_device_mb,diverged,groups,"
              "graph_launches,loadavg")
        sys.stdout.flush()
    for R in [int(r) for r in a.restarts.split(",")]:
        steps = a.steps or (20 if dev.type == "cuda" else min(20, max(2, 500 // R)))
        for mode in modes:
            run = Run(gi, gk, y, ks, R, dev, a.lr)
            times, mem1, mem2 = measure(run, mode, a.warmup, steps)
            med = statistics.median(times)
            gflop = 4.0 * macs * R * 1e-9
            row = dict(bench="restarts", impl=impl_name(mode), device=a.device, precision=precision, threads=threads,
                       restarts=R, warmup=a.warmup, steps=steps, median_ms=1e3 * med, min_ms=1e3 * min(times),
                       max_ms=1e3 * max(times), restart_iters_per_s=R / med, gflop_per_iter=gflop,
                       gflops=gflop / med, peak_gflops=peak, peak_kind=peak_kind,
                       peak_fraction=gflop / med / peak if peak > 0 else float("nan"), engine_mb=mem1,
                       diverged=run.nonfinite, groups=1, graph_launches=run.replays, loadavg=loadavg())
            row["rss_or_device_mb"] = mem2
            if a.json:
                print(json.dumps(row))
            else:
                print("restarts,%s,%s,%s,%d,%d,%d,%d,%.3f,%.3f,%.3f,%.2f,%.4f,%.2f,%.1f,%s,%.4f,%.1f,%.1f,%d,1,%d,%.2f" % (
                    row["impl"], a.device, precision, threads, R, a.warmup, steps, row["median_ms"], row["min_ms"],
                    row["max_ms"], row["restart_iters_per_s"], gflop, row["gflops"], peak, peak_kind,
                    row["peak_fraction"], mem1, mem2, run.nonfinite, run.replays, row["loadavg"]))
            sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
