#!/usr/bin/python3
"""How much of Algorithm 2's error on the tuning faces is a translation, and
whether anything the solver has could undo it (README.md, "Translation").

    translation.py DIR [TRAIN_DIR]

DIR holds, per face F and seed S, the outputs of the commands in README.md:
tF.png (sharp), bF.kernel (true kernel), dF_S.png, kF_S.kernel, jF_S.json.
TRAIN_DIR (optional): training faces cropped like the test faces (NNNNNN.png), whose
mean face the "align to the mean face" rule uses.
"""
import glob, itertools, json, sys
import numpy as np
from scipy import ndimage

from restart_io import SHIFTS, image, kernel, psnr, roll, shift_to

def shift_by_correlation(x, ref):
    a, r = x - x.mean(), ref - ref.mean()
    return max(SHIFTS, key=lambda s: (roll(a, s) * r).sum())
def kernel_box_offset(k, threshold=0.2):  # centre of the heaviest connected blob above threshold*max
    labels, n = ndimage.label(k > threshold * k.max(), structure=np.ones((3, 3)))
    blob = 1 + int(np.argmax(ndimage.sum(k, labels, range(1, n + 1))))
    ys, xs = np.nonzero(labels == blob); c = k.shape[0] // 2
    return int(np.round((ys.min() + ys.max()) / 2 - c)), int(np.round((xs.min() + xs.max()) / 2 - c))

d = sys.argv[1]
mean_face = np.mean([image(p) for p in glob.glob(sys.argv[2] + '/??????.png')], 0) if len(sys.argv) > 2 else None
faces = sorted({p.split('/')[-1][1:-7] for p in glob.glob(d + '/j*_9.json')})
rules, shifted, box = {}, 0, {'right': 0, 'wrong': 0, 'left': 0, 'moved_unshifted': 0}
for f in faces:
    t = image('%s/t%s.png' % (d, f))
    order = sorted(range(10), key=lambda s: json.load(open('%s/j%s_%d.json' % (d, f, s)))['total'])
    X = [image('%s/d%s_%d.png' % (d, f, s)) for s in order]
    K = [kernel('%s/k%s_%d.kernel' % (d, f, s)) for s in order]
    need = [shift_to(x, t) for x in X]
    shifted += sum(s != (0, 0) for s in need)
    pred = [kernel_box_offset(k) for k in K]
    for s, p in zip(need, pred):
        if s != (0, 0): box['right' if p == s else 'left' if p == (0, 0) else 'wrong'] += 1
        elif p != (0, 0): box['moved_unshifted'] += 1
    B = [roll(x, p) for x, p in zip(X, pred)]
    dist = np.array([[((a - b) ** 2).mean() for b in X] for a in X])
    tight = min(itertools.combinations(range(6), 4), key=lambda S: sum(dist[a, b] for a in S for b in S))
    out = {'best restart': psnr(X[0], t), 'mean of 4 best': psnr(sum(X[:4]) / 4, t),
           'best restart, translated back (oracle)': psnr(roll(X[0], need[0]), t),
           'best restart, kernel box centred': psnr(B[0], t), 'mean of 4 best, kernel boxes centred': psnr(sum(B[:4]) / 4, t),
           'medoid restart': psnr(X[int(np.argmin(np.median(dist, 1)))], t),
           'mean of the tightest 4 of the 6 best': psnr(sum(X[i] for i in tight) / 4, t)}
    if mean_face is not None:
        out['best restart aligned to the mean face'] = psnr(roll(X[0], shift_by_correlation(X[0], mean_face)), t)
    for k, v in out.items(): rules.setdefault(k, []).append(v)
print('faces %d, restarts %d; translated against the truth: %d' % (len(faces), 10 * len(faces), shifted))
print('kernel box as a predictor: of the translated restarts %(right)d put right, %(wrong)d moved wrongly, '
      '%(left)d left; %(moved_unshifted)d untranslated ones moved' % box)
base = np.mean(rules['best restart'])
for k, v in rules.items(): print('%-42s %.2f dB (%+.2f against the best restart)' % (k, np.mean(v), np.mean(v) - base))
