#!/usr/bin/python3
"""Choose the halving schedule's points from per-restart loss logs.

Input: `gpdeblur deblur --log LOG.csv --log-every N` logs of full-schedule
runs (columns step, measurement0..R-1, total0..R-1), one per image. A
restart that goes on under halving computes exactly what it computes in the
full schedule (tests/test_solver_halving.c), so halving can be replayed on
the logs: at point T the better half (floor(n/2), at least 1) of the
restarts still running, ranked by their measurement at the last logged step
before T, goes on. Halving returns the full schedule's own choice exactly
when the full schedule's winner (lowest final measurement) survives every
point; this script reports, for candidate point sets, the restart-iterations
spent (as a fraction of the full schedule's), on how many images the winner
survives, and the measurement regret (the final measurement of halving's
choice over the winner's, minus 1; 0 when the winner survives): the
cheapest sets that keep the winner on every image, and the sets within the
work budget with the lowest mean regret.

    /usr/bin/python3 scripts/halving_points.py LOG.csv [LOG.csv ...] [--budget 0.35]

No dependencies beyond the standard library.
"""
import argparse
import csv
import itertools
import math
import sys


def read_log(path):
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    head, body = rows[0], rows[1:]
    if not head or head[0] != "step":
        sys.exit(f"halving_points.py: {path} is not a deblur --log CSV")
    R = sum(1 for h in head if h.startswith("measurement"))
    steps = [int(r[0]) for r in body]
    m = [[float(x) for x in r[1:1 + R]] for r in body]
    return steps, m, R


def logged_before(steps, T):
    """Index of the last logged step before T (the step the ranking uses is T - 1)."""
    best = 0
    for i, s in enumerate(steps):
        if s <= T - 1:
            best = i
    return best


def rank_key(m, r):
    v = m[r]
    return (0, v, r) if math.isfinite(v) else (1, 0.0, r)


def replay(steps, m, R, points):
    """(survivors at the end, restart-iterations) of halving at fractions `points`."""
    total = steps[-1]
    running = list(range(R))
    spent, prev = 0, 0
    for f in points:
        T = round(f * total)
        if T <= prev or T >= total:
            continue
        spent += len(running) * (T - prev)
        prev = T
        row = m[logged_before(steps, T)]
        keep = max(len(running) // 2, 1)
        running = sorted(sorted(running, key=lambda r: rank_key(row, r))[:keep])
    spent += len(running) * (total - prev)
    return running, spent


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("logs", nargs="+")
    ap.add_argument("--budget", type=float, default=0.35, help="largest fraction of the full schedule's work")
    ap.add_argument("--grid", default="0.02,0.05,0.1,0.15,0.2,0.25,0.3,0.4,0.5,0.6,0.7,0.8",
                    help="candidate fractions; sets of up to --points increasing ones are tried")
    ap.add_argument("--points", type=int, default=3)
    args = ap.parse_args()

    logs = [read_log(p) for p in args.logs]
    R = logs[0][2]
    grid = [float(x) for x in args.grid.split(",")]
    winners = []
    for steps, m, r in logs:
        final = m[-1]
        winners.append(min(range(r), key=lambda k: rank_key(final, k)))
    results = []
    for k in range(1, args.points + 1):
        for pts in itertools.combinations(grid, k):
            kept, cost = 0, 0.0
            regret = []
            for (steps, m, r), w in zip(logs, winners):
                surv, spent = replay(steps, m, r, pts)
                cost += spent / (r * steps[-1])
                best = min(surv, key=lambda q: rank_key(m[-1], q))
                kept += best == w
                regret.append(m[-1][best] / m[-1][w] - 1 if math.isfinite(m[-1][best]) else math.inf)
            results.append((cost / len(logs), kept, sum(regret) / len(regret), max(regret), pts))
    n = len(logs)
    print(f"{n} images, {R} restarts, {logs[0][0][-1]} steps; winner = lowest final measurement of the full schedule")
    head = "points                     work   kept  regret: mean   worst"

    def show(rows):
        print(head)
        for cost, kept, mean, worst, pts in rows:
            print(f"{','.join(f'{p:g}' for p in pts):26s} {cost:5.1%}  {kept}/{n}  {mean:12.3f}  {worst:6.3f}")

    ok = sorted((r for r in results if r[1] == n and r[0] <= args.budget), key=lambda r: r[0])
    print(f"\ncheapest point sets that keep the winner on all {n} images (work <= {args.budget:.0%}):")
    show(ok[:12]) if ok else print("  none")
    print(f"\nsets within the budget with the lowest mean measurement regret:")
    show(sorted((r for r in results if r[0] <= args.budget), key=lambda r: (r[2], r[0]))[:15])


if __name__ == "__main__":
    main()
