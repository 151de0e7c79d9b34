#!/usr/bin/python3
"""Which of Algorithm 2's restarts to return, and how far any rule could go
(README.md, "Choosing among the restarts, measured on every restart").

    selection_rules.py DIR

DIR holds, per face F: bF.png (blurry), bF.kernel (true kernel), tF.png
(sharp), and the folder F/ that `gpdeblur deblur ... --select total
--restarts-out DIR/F` writes (restarts.csv, NN.png, NN_range.png,
NN_kernel.kernel; rank 0 has the lowest total objective). Every rule below
sees only what the solver has (the restarts' images, range images, kernels,
the blurry image), except those marked "oracle", which need the truth.
"""
import collections, csv, glob, os, sys
import numpy as np

from restart_io import SHIFTS, image, kernel, psnr, roll, shift_to

def kernel_distance(a, b):  # L1 distance of two kernels, up to a translation
    return min(np.abs(roll(a, s) - b).sum() for s in SHIFTS)
def blur(x, k):  # the forward model: circular, the kernel's origin at index K // 2
    kp = np.zeros(x.shape[:2]); n = k.shape[0]; kp[:n, :n] = k
    Fk = np.fft.fft2(np.roll(kp, (-(n // 2), -(n // 2)), (0, 1)))
    return np.stack([np.real(np.fft.ifft2(np.fft.fft2(x[..., c]) * Fk)) for c in range(x.shape[2])], -1)
def mean_of(X, idx): return sum(X[j] for j in idx) / len(idx)
def mass_centre_offset(k):  # the kernel's centre of mass against its origin K // 2, rounded, within +-3 px
    yy, xx = np.mgrid[:k.shape[0], :k.shape[1]]; c = k.shape[0] // 2
    return tuple(int(np.clip(np.round((g * k).sum() / k.sum() - c), -3, 3)) for g in (yy, xx))

d = sys.argv[1]
faces = sorted(os.path.basename(p) for p in glob.glob(d + '/??????') if os.path.isdir(p))
rules = collections.OrderedDict(); translated = best_translated = 0
print('face   ' + '  '.join(['blurry', 'best', 'mean4', 'free4', 'kc4of6', 'oracle']))
for f in faces:
    t, y = image('%s/t%s.png' % (d, f)), image('%s/b%s.png' % (d, f))
    rows = list(csv.DictReader(open('%s/%s/restarts.csv' % (d, f))))
    X = [image('%s/%s/%s' % (d, f, r['image'])) for r in rows]
    Rg = [image('%s/%s/%s' % (d, f, r['range_image'])) for r in rows]
    K = [kernel('%s/%s/%s' % (d, f, r['kernel'])) for r in rows]
    n = len(X)
    need = [shift_to(x, t) for x in X]
    translated += sum(s != (0, 0) for s in need); best_translated += need[0] != (0, 0)
    by = {'free residual (the measurement)': [((y - blur(x, k)) ** 2).mean() for x, k in zip(X, K)],
          'range residual': [((y - blur(r, k)) ** 2).mean() for r, k in zip(Rg, K)],
          'range error': [((x - r) ** 2).mean() for x, r in zip(X, Rg)],
          'TV of the image': [np.abs(np.diff(x, axis=0)).mean() + np.abs(np.diff(x, axis=1)).mean() for x in X]}
    D = np.array([[kernel_distance(a, b) if i != j else 0.0 for j, b in enumerate(K)] for i, a in enumerate(K)])
    central = sorted(range(n), key=lambda j: np.median([D[j, m] for m in range(n) if m != j]))
    central6 = sorted(range(6), key=lambda j: np.median([D[j, m] for m in range(6) if m != j]))
    out = collections.OrderedDict()
    out['blurry input'] = psnr(y, t)
    out['the best restart by the total (--select total)'] = psnr(X[0], t)
    out['mean of the 4 best by the total (shipped: --average-best 4)'] = psnr(mean_of(X, range(4)), t)
    out['mean of the 4 best, each aligned to the best'] = psnr(mean_of([roll(X[j], shift_to(X[j], X[0])) for j in range(4)], range(4)), t)
    for name, v in by.items():
        o = list(np.argsort(v, kind='stable'))
        out['the best by the ' + name] = psnr(X[o[0]], t)
        for k in ((4, 5) if name.startswith('free') else (4,)):
            out['mean of the %d best by the %s' % (k, name)] = psnr(mean_of(X, o[:k]), t)
    out['mean of the 4 most kernel-central of all 10'] = psnr(mean_of(X, central[:4]), t)
    out['mean of the 4 most kernel-central of the 6 best'] = psnr(mean_of(X, central6[:4]), t)
    out["mean of the 4 best, each shifted by its kernel's mass centre"] = \
        psnr(mean_of([roll(X[j], mass_centre_offset(K[j])) for j in range(4)], range(4)), t)
    out['oracle: the restart with the best PSNR'] = max(psnr(x, t) for x in X)
    out['oracle: the 4 best, each translated back, averaged'] = psnr(mean_of([roll(X[j], need[j]) for j in range(4)], range(4)), t)
    out['oracle: the best restart translated back'] = psnr(roll(X[0], need[0]), t)
    for k, v in out.items(): rules.setdefault(k, []).append(v)
    print(f, ' '.join('%6.2f' % out[k] for k in ['blurry input', 'the best restart by the total (--select total)',
          'mean of the 4 best by the total (shipped: --average-best 4)',
          'mean of the 4 best by the free residual (the measurement)',
          'mean of the 4 most kernel-central of the 6 best', 'oracle: the restart with the best PSNR']))
print('%d faces, %d restarts; translated against the truth by 1-3 px: %d (the best restart: %d)'
      % (len(faces), 10 * len(faces), translated, best_translated))
base = np.array(rules['blurry input']); shipped = np.array(rules['mean of the 4 best by the total (shipped: --average-best 4)'])
print('%-62s %6s %6s %8s %s' % ('rule', 'dB', 'lift', 'vs ship', 'faces better / worse by > 0.1 dB'))
for k, v in rules.items():
    v = np.array(v)
    print('%-62s %6.2f %+6.2f %+8.2f %d / %d' % (k, v.mean(), (v - base).mean(), (v - shipped).mean(),
          ((v - shipped) > 0.1).sum(), ((v - shipped) < -0.1).sum()))
