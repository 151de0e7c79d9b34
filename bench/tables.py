#!/usr/bin/python3
"""The tables of bench/run.sh from its CSV files (generator, restarts, train,
solver; any may be empty or missing).

CPU rows: per size (batch, restarts, augmentation policy), the median over
rounds of each run's median time for every configuration -- ours on `ref`,
on `cpu` fp32 and `cpu` bf16, and PyTorch eager -- with the rounds' range,
then the speed-ups (time ratios): PyTorch / cpu, ref / cpu. CUDA rows (and
the solver's) are listed as they are.

  python3 bench/tables.py generator.csv restarts.csv train.csv [solver.csv]
"""
import csv
import os
import statistics
import sys

CONFIGS = ["ref", "cpu-fp32", "cpu-bf16", "torch"]


def read(path):
    if not path or not os.path.exists(path) or os.path.getsize(path) == 0:
        return []
    with open(path) as f:
        return list(csv.DictReader(f))


def table(title, header, rows):
    print(title)
    if not rows:
        print("  (no rows)\n")
        return
    w = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    for r in [header] + rows:
        print("  " + "  ".join(str(x).rjust(n) for x, n in zip(r, w)))
    print()


def config(r):
    if not r["impl"].startswith("gpdeblur"):
        return "torch"
    return "ref" if r["device"] == "ref" else "%s-%s" % (r["device"], r["precision"])


def size_order(size):
    return tuple((0, int(x), "") if x.isdigit() else (1, 0, x) for x in size)


def side_by_side(title, rows, size_keys, unit_note):
    """Per size: each configuration's median over rounds (range, rounds) and
    the speed-ups of the cpu engine over PyTorch and over ref."""
    cpu = [r for r in rows if r["device"] != "cuda"]
    groups = {}
    for r in cpu:
        size = tuple(r[k] for k in size_keys)
        groups.setdefault(size, {}).setdefault(config(r), []).append(r)
    out = []
    for size in sorted(groups, key=size_order):
        g = groups[size]
        med = {c: statistics.median(float(x["median_ms"]) for x in g[c]) for c in g}
        cells = []
        for c in CONFIGS:
            if c not in g:
                cells.append("-")
                continue
            ms = [float(x["median_ms"]) for x in g[c]]
            cells.append("%.1f (%.1f-%.1f, %d)" % (med[c], min(ms), max(ms), len(ms)))

        def ratio(a, b):
            return "%.2f" % (med[a] / med[b]) if a in med and b in med else "-"

        loads = [float(x["loadavg"]) for c in g for x in g[c]]
        out.append(list(size) + cells + [ratio("torch", "cpu-fp32"), ratio("torch", "cpu-bf16"),
                                         ratio("ref", "cpu-fp32"), ratio("ref", "cpu-bf16"),
                                         ratio("torch", "ref"), "%.1f-%.1f" % (min(loads), max(loads))])
    table(title + " " + unit_note,
          size_keys + ["ref ms", "cpu fp32 ms", "cpu bf16 ms", "PyTorch ms", "torch/fp32", "torch/bf16",
                       "ref/fp32", "ref/bf16", "torch/ref", "load"], out)
    # the FLOP rates beside it, medians over rounds
    rates = []
    for size in sorted(groups, key=size_order):
        g = groups[size]
        rates.append(list(size) + ["%.1f" % statistics.median(float(x["gflops"]) for x in g[c]) if c in g else "-"
                                   for c in CONFIGS])
    table("  GFLOP/s (medians over rounds)", size_keys + CONFIGS, rates)


def listing(title, rows, keys):
    table(title, keys, [[r.get(k, "") for k in keys] for r in rows])


def main():
    paths = sys.argv[1:] + [None] * 5
    gen, res, train, sol, evb = (read(p) for p in paths[:5])
    side_by_side("generator forward + backward to z:", gen, ["batch"], "(ms per batch)")
    side_by_side("Algorithm 1, DCGAN-64 + blur VAE:", res, ["restarts"], "(ms per iteration of all restarts)")
    side_by_side("DCGAN-64 training step, batch 64:", train, ["batch", "augment"], "(ms per step)")
    cuda = [r for r in gen + res + train if r["device"] == "cuda"]
    if cuda:
        listing("CUDA rows", cuda, ["bench", "impl", "precision", "batch", "restarts", "median_ms", "gflops"])
    if sol:
        listing("solver: ms per step of all restarts (alg3: restarts one after another at batch 1)", sol,
                ["device", "precision", "threads", "algorithm", "phase", "restarts", "step_ms", "restart_iters_per_s",
                 "loadavg"])
    if evb:
        listing("eval: images x restarts in one solve against one solve of as many restarts (restart-iterations "
                "per second of whole calls; eval_over_solve: within each round, median; _cpu: per CPU second)", evb,
                ["device", "threads", "alg", "images", "restarts", "steps", "eval_batch_images",
                 "eval_restart_iters_per_s", "solve_restart_iters_per_s", "eval_one_restart_iters_per_s",
                 "eval_over_solve", "eval_over_solve_cpu", "loadavg"])


if __name__ == "__main__":
    main()
