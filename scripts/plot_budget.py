#!/usr/bin/python3
"""Mean PSNR against the restart-iterations spent: `gpdeblur sweep --param
steps` runs of the same images under several restart schedules (full,
halving), one line per schedule, 95% confidence intervals of the mean as
error bars, each point labelled with its step budget. Writes the points as
one CSV, and for every step budget both schedules ran, the paired
comparison over the images they share (PSNR difference halving - full, its
95% interval, and the work ratio), read from the sweeps' per-value results
CSVs.

    /usr/bin/python3 scripts/plot_budget.py FULL/sweep.csv HALVING/sweep.csv --labels full,halving \\
        -o budget.png --csv budget.csv

Needs matplotlib (Debian: python3-matplotlib) for the plot; --csv alone
does not.
"""
import argparse
import csv
import math
import os
import sys

T975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262, 10: 2.228,
        11: 2.201, 12: 2.179, 13: 2.160, 14: 2.145, 15: 2.131, 16: 2.120, 17: 2.110, 18: 2.101, 19: 2.093,
        20: 2.086, 25: 2.060, 30: 2.042, 40: 2.021, 60: 2.000, 120: 1.980}


def t975(df):
    if df < 1:
        return math.nan
    keys = sorted(T975)
    for k in keys:
        if df <= k:
            return T975[k]
    return 1.960


def number(text):
    try:
        return float(text)
    except ValueError:
        return math.nan


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def read_sweep(path):
    rows = read_csv(path)
    if not rows or rows[0].get("param") != "steps" or "restart_iterations_mean" not in rows[0]:
        sys.exit(f"plot_budget.py: {path} is not the sweep.csv of 'gpdeblur sweep --param steps'")
    base = os.path.dirname(path)
    for r in rows:
        # the per-value results CSV: beside sweep.csv (older sweeps named it relative to where they ran)
        res = os.path.join(base, os.path.basename(r["results"]))
        if not os.path.exists(res):
            res = r["results"]
        r["results_path"] = res
    return rows


def per_image_psnr(path):
    if not os.path.exists(path):
        return {}
    return {r["file"]: number(r["psnr"]) for r in read_csv(path) if r["status"] == "ok"}


def paired(full_rows, half_rows):
    """[(steps, n, mean diff, ci95, work ratio)] for the budgets both ran."""
    half = {r["value"]: r for r in half_rows}
    out = []
    for f in full_rows:
        h = half.get(f["value"])
        if not h:
            continue
        a, b = per_image_psnr(f["results_path"]), per_image_psnr(h["results_path"])
        d = [b[k] - a[k] for k in a if k in b and math.isfinite(a[k]) and math.isfinite(b[k])]
        n = len(d)
        mean = sum(d) / n if n else math.nan
        sd = math.sqrt(sum((x - mean) ** 2 for x in d) / (n - 1)) if n > 1 else math.nan
        ci = t975(n - 1) * sd / math.sqrt(n) if n > 1 else math.nan
        work = number(h["restart_iterations_mean"]) / number(f["restart_iterations_mean"])
        out.append((int(f["value"]), n, mean, ci, work))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("inputs", nargs="+", help="sweep.csv files of 'gpdeblur sweep --param steps'")
    ap.add_argument("--labels", required=True, help="comma-separated schedule names, one per input")
    ap.add_argument("-o", "--output", default=None, help="the PNG to write")
    ap.add_argument("--csv", default=None, help="the points as CSV")
    ap.add_argument("--title", default=None)
    args = ap.parse_args()
    labels = args.labels.split(",")
    if len(labels) != len(args.inputs):
        sys.exit("plot_budget.py: --labels needs one name per input")
    sweeps = [read_sweep(p) for p in args.inputs]

    points = []
    for rows, label in zip(sweeps, labels):
        for r in rows:
            points.append({"schedule": label, "steps": int(r["value"]), "images": r["images"], "ok": r["ok"],
                           "restart_iterations_mean": number(r["restart_iterations_mean"]),
                           "psnr_mean": number(r["psnr_mean"]), "psnr_ci95": number(r["psnr_ci95"]),
                           "ssim_mean": number(r["ssim_mean"]), "seconds_mean": number(r["seconds_mean"])})
    points.sort(key=lambda p: (p["schedule"], p["steps"]))
    if args.csv:
        with open(args.csv, "w", newline="", encoding="utf-8") as f:
            w = csv.DictWriter(f, fieldnames=list(points[0].keys()))
            w.writeheader()
            for p in points:
                w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in p.items()})
        print(f"plot_budget.py: wrote {args.csv}")
    for p in points:
        print(f"{p['schedule']:8s} steps {p['steps']:6d}: {p['restart_iterations_mean']:9.0f} restart-iterations, "
              f"PSNR {p['psnr_mean']:.2f} dB ± {p['psnr_ci95']:.2f} ({p['ok']} images)")
    if len(sweeps) >= 2:
        for steps, n, mean, ci, work in paired(sweeps[0], sweeps[1]):
            print(f"steps {steps}: {labels[1]} - {labels[0]} = {mean:+.3f} dB ± {ci:.3f} (paired, {n} images) "
                  f"for {work:.1%} of the restart-iterations")

    if not args.output:
        return
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for label in labels:
        pts = [p for p in points if p["schedule"] == label]
        xs = [p["restart_iterations_mean"] for p in pts]
        ax.errorbar(xs, [p["psnr_mean"] for p in pts],
                    yerr=[0 if math.isnan(p["psnr_ci95"]) else p["psnr_ci95"] for p in pts],
                    marker="o", capsize=3, label=label)
        for p in pts:
            ax.annotate(f"{p['steps']}", (p["restart_iterations_mean"], p["psnr_mean"]), textcoords="offset points",
                        xytext=(4, -10), fontsize=7)
    ax.set_xscale("log")
    ax.set_xlabel("restart-iterations per image (points: steps per restart)")
    ax.set_ylabel("mean PSNR (dB)")
    ax.grid(True, alpha=0.3, which="both")
    ax.legend()
    if args.title:
        ax.set_title(args.title, fontsize=9)
    fig.tight_layout()
    fig.savefig(args.output, dpi=120)
    print(f"plot_budget.py: wrote {args.output}")


if __name__ == "__main__":
    main()
