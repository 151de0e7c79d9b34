#!/usr/bin/python3
"""Plot a face prior's training: the GAN losses (DIR/loss.csv of `gpdeblur
train`) and the mean range PSNR of held-out faces (DIR/range_curve.csv of
scripts/face_prior_curve.sh) against the training step, for
weights/README.md.

    /usr/bin/python3 scripts/plot_face_prior.py DIR [-o plot.png]

The losses are drawn as logged (thin) and as a moving average over --smooth
rows; the range PSNR as one line per measurement setting (faces, projection
steps, restarts, seed), so a curve on 16 faces and the final number on 100
stay apart. Needs matplotlib (Debian: python3-matplotlib).
"""
import argparse
import csv
import os
import sys


def read_csv(path, needed):
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    if rows:
        missing = [k for k in needed if k not in rows[0]]
        if missing:
            sys.exit(f"plot_face_prior.py: {path} has no column {', '.join(missing)}")
    return rows


def moving_average(values, n):
    out, acc = [], 0.0
    for i, v in enumerate(values):
        acc += v
        if i >= n:
            acc -= values[i - n]
        out.append(acc / min(i + 1, n))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    ap.add_argument("dir", help="the checkpoint folder (loss.csv, range_curve.csv)")
    ap.add_argument("-o", "--output", help="PNG to write (default DIR/face_prior_curve.png)")
    ap.add_argument("--smooth", type=int, default=20, help="loss rows in the moving average (default 20)")
    a = ap.parse_args()
    loss_path = os.path.join(a.dir, "loss.csv")
    curve_path = os.path.join(a.dir, "range_curve.csv")
    if not os.path.exists(loss_path):
        sys.exit(f"plot_face_prior.py: {loss_path}: no such file")
    losses = read_csv(loss_path, ("step", "d_loss", "g_loss"))
    if not losses:
        sys.exit(f"plot_face_prior.py: {loss_path} has no rows")
    curve = read_csv(curve_path, ("step", "faces", "proj_steps", "restarts", "seed", "range_psnr")) \
        if os.path.exists(curve_path) else []
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        sys.exit("plot_face_prior.py: needs matplotlib (Debian: apt install python3-matplotlib)")

    panels = 2 if curve else 1
    fig, axes = plt.subplots(panels, 1, figsize=(7, 3.2 * panels), sharex=True, squeeze=False)
    ax = axes[0][0]
    steps = [int(r["step"]) for r in losses]
    for key, label, colour in (("d_loss", "D loss", "tab:blue"), ("g_loss", "G loss", "tab:orange")):
        values = [float(r[key]) for r in losses]
        ax.plot(steps, values, color=colour, alpha=0.25, linewidth=0.6)
        ax.plot(steps, moving_average(values, max(1, a.smooth)), color=colour, label=label)
    ax.set_ylabel("loss")
    ax.legend(loc="upper right")
    ax.grid(alpha=0.3)
    if curve:
        ax = axes[1][0]
        groups = {}
        for r in curve:
            key = (r["faces"], r["proj_steps"], r["restarts"], r["seed"])
            groups.setdefault(key, []).append((int(r["step"]), float(r["range_psnr"])))
        for (faces, psteps, restarts, seed), points in sorted(groups.items()):
            points.sort()
            label = f"faces {faces}, {restarts} restarts x {psteps} steps"
            ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", markersize=3, label=label)
        ax.set_ylabel("range PSNR (dB), held-out faces")
        ax.legend(loc="lower right", fontsize="small")
        ax.grid(alpha=0.3)
    axes[-1][0].set_xlabel("training step (batch 64)")
    fig.suptitle(f"face prior training: {os.path.basename(os.path.normpath(a.dir))}")
    fig.tight_layout()
    out = a.output or os.path.join(a.dir, "face_prior_curve.png")
    fig.savefig(out, dpi=120)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
