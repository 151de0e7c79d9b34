#!/usr/bin/python3
"""Plot the summaries of `gpdeblur sweep` (OUT/sweep.csv): mean PSNR and
mean SSIM against the swept parameter, with 95% confidence intervals of the
mean as error bars, one line per input file and method, and dashed in the
same colour the blurry inputs' mean (where deblurring started; it changes
with the noise and the blur length; for a sweep of range images, the
blurred range images'). The paper's Fig. 8
(noise sigma), Fig. 14 (blur length) and Fig. 11 (random restarts).
With --gain, a third panel: each value's PSNR minus the first value's,
paired per image (sweep.csv's gain_mean, gain_ci95), whose interval leaves
out how much the images differ, as the intervals of the means do not.

    /usr/bin/python3 scripts/plot_sweep.py OUT/sweep.csv [RANGE/sweep.csv ...] -o plot.png

Several inputs share the axes (e.g. a sweep of the test images and one of
their range images, as Fig. 8 shows both); they must sweep the same
parameter. Needs matplotlib (Debian: python3-matplotlib).
"""
import argparse
import csv
import math
import sys

XLABEL = {
    "sigma": "noise standard deviation σ",
    "length": "blur length (pixels)",
    "restarts": "random restarts",
    "steps": "steps per restart (the budget)",
}
NEEDED = ("param", "value", "x", "method", "dataset", "ok", "psnr_mean", "psnr_ci95", "ssim_mean", "ssim_ci95")


def number(text):
    try:
        return float(text)
    except ValueError:
        return math.nan


def read_sweep(path):
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        sys.exit(f"plot_sweep.py: {path} has no rows")
    missing = [k for k in NEEDED if k not in rows[0]]
    if missing:
        sys.exit(f"plot_sweep.py: {path} is not a gpdeblur sweep.csv (no column {', '.join(missing)})")
    return rows


def lines_of(rows, name):
    """(label, [(x, value text, psnr, psnr ci, ssim, ssim ci, blurry psnr, blurry ssim, gain, gain ci)])
    per method and dataset."""
    groups = {}
    for r in rows:
        key = (r["method"], r["dataset"])
        groups.setdefault(key, []).append(
            (number(r["x"]), r["value"], number(r["psnr_mean"]), number(r["psnr_ci95"]),
             number(r["ssim_mean"]), number(r["ssim_ci95"]),
             number(r.get("blurry_psnr_mean", "nan")), number(r.get("blurry_ssim_mean", "nan")),
             number(r.get("gain_mean", "nan")), number(r.get("gain_ci95", "nan"))))
    out = []
    for (method, dataset), pts in groups.items():
        pts.sort(key=lambda p: p[0])
        label = f"{method}, {dataset}" + (f" ({name})" if name else "")
        out.append((label, pts))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("inputs", nargs="+", help="sweep.csv files written by gpdeblur sweep")
    ap.add_argument("-o", "--output", required=True, help="the PNG to write")
    ap.add_argument("--title", default=None, help="figure title")
    ap.add_argument("--labels", default=None, help="comma-separated names for the inputs (default: none)")
    ap.add_argument("--gain", action="store_true",
                    help="a third panel: PSNR gain over the first value, paired per image")
    args = ap.parse_args()

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = args.labels.split(",") if args.labels else [""] * len(args.inputs)
    if len(names) != len(args.inputs):
        sys.exit("plot_sweep.py: --labels needs one name per input")
    sweeps = [read_sweep(p) for p in args.inputs]
    params = {r["param"] for rows in sweeps for r in rows}
    if len(params) != 1:
        sys.exit(f"plot_sweep.py: the inputs sweep different parameters ({', '.join(sorted(params))})")
    param = params.pop()
    if args.gain:
        old = [p for p, rows in zip(args.inputs, sweeps) if "gain_mean" not in rows[0]]
        if old:
            sys.exit(f"plot_sweep.py: --gain: {', '.join(old)} has no gain_mean column (written before it; "
                     "run the sweep again: its values resume)")

    width = 15 if args.gain else 10
    fig, axes = plt.subplots(1, 3 if args.gain else 2, figsize=(width, 4))
    ax_p, ax_s = axes[0], axes[1]
    ax_g = axes[2] if args.gain else None
    ticks = {}
    legend = []  # (handle, label): each method's line, then its dashed start
    for rows, name in zip(sweeps, names):
        for label, pts in lines_of(rows, name):
            xs = [p[0] for p in pts]
            for p in pts:
                ticks[p[0]] = p[1]
            for ax, col in ((ax_p, 2), (ax_s, 4)):
                line = ax.errorbar(xs, [p[col] for p in pts], yerr=[0 if math.isnan(p[col + 1]) else p[col + 1] for p in pts],
                                   marker="o", capsize=3, label=label)
                if ax is ax_p:
                    legend.append((line, label))
                blurry = [p[6 if col == 2 else 7] for p in pts]
                if not all(math.isnan(b) for b in blurry):
                    # a range-image sweep starts from the blurred range image, not the blurry input
                    start = f"{label}: " + ("blurry range image" if "i_range" in label else "blurry input")
                    dashed, = ax.plot(xs, blurry, linestyle="--", marker=".", color=line[0].get_color(), label=start)
                    if ax is ax_p:
                        legend.append((dashed, start))
            if ax_g is not None:
                ax_g.errorbar(xs, [p[8] for p in pts], yerr=[0 if math.isnan(p[9]) else p[9] for p in pts],
                              marker="o", capsize=3, color=line[0].get_color())
    panels = [(ax_p, "PSNR (dB)"), (ax_s, "SSIM")]
    if ax_g is not None:
        ax_g.axhline(0, color="gray", linewidth=0.8)
        panels.append((ax_g, "PSNR gain over the first value (dB, paired)"))
    for ax, what in panels:
        ax.set_xlabel(XLABEL.get(param, param))
        ax.set_ylabel(what)
        ax.grid(True, alpha=0.3)
        if param == "length":
            # buckets are plotted at their midpoints and labelled as given
            xs = sorted(ticks)
            ax.set_xticks(xs)
            ax.set_xticklabels([ticks[x] for x in xs])
    # the legend goes under the axes: inside, it hides the error bars
    rows = len(legend)
    fig.set_size_inches(width, 4 + 0.2 * rows)
    fig.legend([h for h, _ in legend], [l for _, l in legend], loc="lower center", fontsize=8, frameon=False)
    if args.title:
        fig.suptitle(args.title)
    fig.tight_layout(rect=(0, (0.05 + 0.2 * rows) / (4 + 0.2 * rows), 1, 1))
    fig.savefig(args.output, dpi=120)
    print(f"plot_sweep.py: wrote {args.output}")


if __name__ == "__main__":
    main()
