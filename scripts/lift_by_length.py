#!/usr/bin/python3
"""Where a synthetic evaluation gains or loses, by blur length: the results of
`gpdeblur eval` (motion kernels drawn from seeds) grouped by each kernel's
trajectory length, with per group the images, the blurry input's mean PSNR,
the result's, the mean lift (PSNR - blurry PSNR per image) with its 95%
confidence interval (Student's t) and the mean kernel error.

    /usr/bin/python3 scripts/lift_by_length.py RESULTS.csv [MORE.csv ...] \\
        [--buckets 5-12,13-20,21-28] [--gpdeblur build/gpdeblur] [--csv]

A kernel's length is not in the CSV: it is drawn from the kernel's seed, so
the script asks `gpdeblur kernels` for the seeds' lengths with the lengths
and size each CSV's manifest (RESULTS.csv.json) records. The buckets default
to those of the blur-length sweep (Fig. 14). Markdown on stdout, or CSV with
--csv. Only the standard library.
"""
import argparse
import csv
import json
import math
import os
import re
import subprocess
import sys
import tempfile

# two-sided 95% quantiles of Student's t, by degrees of freedom; between
# entries interpolated in 1/df (exact to the digits shown where it matters)
T95 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262, 10: 2.228,
       12: 2.179, 15: 2.131, 20: 2.086, 25: 2.060, 30: 2.042, 40: 2.021, 60: 2.000, 120: 1.980}


def die(message):
    sys.exit(f"lift_by_length.py: {message}")


def t95(df):
    if df in T95:
        return T95[df]
    keys = sorted(T95)
    if df > keys[-1]:
        lo, hi, qlo, qhi = keys[-1], math.inf, T95[keys[-1]], 1.960
    else:
        lo = max(k for k in keys if k < df)
        hi = min(k for k in keys if k > df)
        qlo, qhi = T95[lo], T95[hi]
    w = (1 / lo - 1 / df) / (1 / lo - (0 if hi == math.inf else 1 / hi))
    return qlo + w * (qhi - qlo)


def parse_buckets(text):
    buckets = []
    for part in text.split(","):
        m = re.fullmatch(r"\s*(\d+)\s*-\s*(\d+)\s*", part)
        if not m or int(m.group(1)) > int(m.group(2)):
            die(f"--buckets: '{part}' is not A-B with A <= B (e.g. 5-12,13-20,21-28)")
        buckets.append((int(m.group(1)), int(m.group(2))))
    return buckets


def read_results(path):
    """The ok rows of one results CSV and the kernel settings of its manifest."""
    try:
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
    except OSError as e:
        die(f"cannot read {path}: {e.strerror}")
    needed = ("kernel", "status", "psnr", "blurry_psnr", "kernel_error")
    if rows and any(k not in rows[0] for k in needed):
        die(f"{path} is not a gpdeblur eval results CSV with blurry_psnr (no column "
            f"{', '.join(k for k in needed if k not in rows[0])})")
    try:
        with open(path + ".json", encoding="utf-8") as f:
            settings = json.load(f).get("settings", {})
    except (OSError, ValueError) as e:
        die(f"cannot read the manifest {path}.json: {e}")
    m = re.fullmatch(r"motion seeds from (\d+), lengths (\d+)\.\.(\d+)(, kept \d+\.\.\d+)?", settings.get("kernels", ""))
    if not m:
        die(f"{path}: its kernels are not motion kernels drawn from seeds ({settings.get('kernels', 'none')}), "
            "so they have no length to group by")
    kernel = (int(m.group(2)), int(m.group(3)), int(settings.get("kernel_size", "28")))
    return [r for r in rows if r["status"] == "ok"], kernel


def seed_lengths(gpdeblur, seeds, kernel):
    """seed -> trajectory length, from `gpdeblur kernels` (one call for the span)."""
    lo, hi = min(seeds), max(seeds)
    if hi - lo >= 100000:
        die(f"kernel seeds {lo}..{hi} span too many kernels to draw")
    min_len, max_len, size = kernel
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [gpdeblur, "kernels", "-n", str(hi - lo + 1), "--seed", str(lo), "--size", str(size),
               "--min-length", str(min_len), "--max-length", str(max_len), "-o", tmp]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True)
        except OSError as e:
            die(f"cannot run {gpdeblur}: {e.strerror} (give --gpdeblur)")
        if done.returncode != 0:
            die(f"{' '.join(cmd[:2])} failed: {done.stderr.strip().splitlines()[-1] if done.stderr.strip() else done.returncode}")
        with open(os.path.join(tmp, "index.csv"), newline="") as f:
            return {int(r["seed"]): int(r["length"]) for r in csv.DictReader(f)}


def mean(xs):
    return sum(xs) / len(xs) if xs else math.nan


def ci95(xs):
    if len(xs) < 2:
        return math.nan
    m = mean(xs)
    sd = math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1))
    return t95(len(xs) - 1) * sd / math.sqrt(len(xs))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("results", nargs="+", help="results CSVs of gpdeblur eval (each with its .json manifest)")
    p.add_argument("--buckets", default="5-12,13-20,21-28", help="length ranges A-B, comma-separated")
    p.add_argument("--gpdeblur", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "build",
                                                         "gpdeblur"), help="the gpdeblur binary (default build/gpdeblur)")
    p.add_argument("--csv", action="store_true", help="CSV instead of a Markdown table")
    a = p.parse_args()
    buckets = parse_buckets(a.buckets)
    inputs = [(path, *read_results(path)) for path in a.results]  # all read before any work

    out = []
    for path, rows, kernel in inputs:
        try:
            seeds = [int(r["kernel"]) for r in rows]
        except ValueError:
            die(f"{path}: a kernel column that is not a seed")
        lengths = seed_lengths(a.gpdeblur, seeds, kernel) if seeds else {}
        for lo, hi in buckets:
            group = [r for r in rows if lo <= lengths[int(r["kernel"])] <= hi]
            lift = [float(r["psnr"]) - float(r["blurry_psnr"]) for r in group]
            out.append({"results": os.path.basename(path), "length": f"{lo}-{hi}", "images": len(group),
                        "blurry_psnr": mean([float(r["blurry_psnr"]) for r in group]),
                        "psnr": mean([float(r["psnr"]) for r in group]), "lift": mean(lift), "lift_ci95": ci95(lift),
                        "kernel_error": mean([float(r["kernel_error"]) for r in group])})
    if a.csv:
        w = csv.DictWriter(sys.stdout, fieldnames=list(out[0]), lineterminator="\n")
        w.writeheader()
        for r in out:
            w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()})
        return
    print("| results | blur length (px) | images | blurry PSNR (dB) | PSNR (dB) | lift (dB) | kernel error |")
    print("|---|---|--:|--:|--:|--:|--:|")
    for r in out:
        if not r["images"]:
            print(f"| {r['results']} | {r['length']} | 0 | – | – | – | – |")
            continue
        ci = f" ± {r['lift_ci95']:.2f}" if r["images"] > 1 else ""
        print(f"| {r['results']} | {r['length']} | {r['images']} | {r['blurry_psnr']:.2f} | {r['psnr']:.2f} | "
              f"{r['lift']:+.2f}{ci} | {r['kernel_error']:.2f} |")


if __name__ == "__main__":
    main()
