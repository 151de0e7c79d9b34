#!/usr/bin/python3
"""The prototype of Algorithm 2's non-blind finish (--polish; README.md here).

    refine.py DIR TAU:RHO[:MODE],...

DIR: the per-restart outputs of the 16 tuning faces (../average_best/README.md,
"Choosing among the restarts": bF.png, tF.png and F/ from `deblur
--restarts-out`). For each of the 4 best restarts (by the total) of each face,
its kernel k and range image r are fixed and its free image i solves
  min_i (1/C) sum (k (*) i - y)^2 + TAU mean((i - r)^2) + RHO TV(i)
from where the solve left it; then the 4 are averaged as --average-best 4
does. MODE: none, L-BFGS-B on a smoothed anisotropic TV (sqrt(d^2 + 1e-6));
iso, the same with isotropic TV; adamLR_N, N Adam steps of LR with the exact
anisotropic TV subgradient (what the C solver runs). Prints PSNR per face
against the sharp face: the blurry input, the shipped mean of the 4 best,
each configuration."""
import csv, glob, os, sys
import numpy as np
from scipy.optimize import minimize
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'average_best'))
from restart_io import image, kernel, psnr

def kspec(k, shape):
    kp = np.zeros(shape); n = k.shape[0]; kp[:n, :n] = k
    return np.fft.rfft2(np.roll(kp, (-(n // 2), -(n // 2)), (0, 1)))

def refine(x0, k, r, y, tau, rho, eps=1e-3, iters=300, iso=False):
    H, W, C = x0.shape; P = H * W * C
    Fk = kspec(k, (H, W))
    Fy = y.transpose(2, 0, 1)
    R = r.transpose(2, 0, 1)
    def f(v):
        x = v.reshape(C, H, W)
        z = np.fft.irfft2(np.fft.rfft2(x) * Fk, s=(H, W)) - Fy
        loss = (z ** 2).sum() / C + tau * ((x - R) ** 2).sum() / P
        g = np.fft.irfft2(np.fft.rfft2(2 * z / C) * np.conj(Fk), s=(H, W)) + 2 * tau * (x - R) / P
        dy = np.diff(x, axis=1); dx = np.diff(x, axis=2)
        if iso:
            a = dy[:, :, :-1]; b = dx[:, :-1, :]
            m = np.sqrt(a ** 2 + b ** 2 + eps ** 2)
            loss += rho * m.sum()
            ga = a / m; gb = b / m
            gt = np.zeros_like(x)
            gt[:, 1:, :-1] += ga; gt[:, :-1, :-1] -= ga
            gt[:, :-1, 1:] += gb; gt[:, :-1, :-1] -= gb
            # last row / column differences (anisotropic there)
            e1 = dy[:, :, -1]; e2 = dx[:, -1, :]
            s1 = np.sqrt(e1 ** 2 + eps ** 2); s2 = np.sqrt(e2 ** 2 + eps ** 2)
            loss += rho * (s1.sum() + s2.sum())
            gt[:, 1:, -1] += e1 / s1; gt[:, :-1, -1] -= e1 / s1
            gt[:, -1, 1:] += e2 / s2; gt[:, -1, :-1] -= e2 / s2
        else:
            sy = np.sqrt(dy ** 2 + eps ** 2); sx = np.sqrt(dx ** 2 + eps ** 2)
            loss += rho * (sy.sum() + sx.sum())
            gt = np.zeros_like(x)
            gt[:, 1:, :] += dy / sy; gt[:, :-1, :] -= dy / sy
            gt[:, :, 1:] += dx / sx; gt[:, :, :-1] -= dx / sx
        g = g + rho * gt
        return loss, g.ravel()
    res = minimize(f, x0.transpose(2, 0, 1).ravel(), jac=True, method='L-BFGS-B', options={'maxiter': iters})
    return res.x.reshape(C, H, W).transpose(1, 2, 0)

def adam(x0, k, r, y, tau, rho, lr, n, b1=0.9, b2=0.999, eps=1e-8):
    """what the C solver would run: Adam on i alone, the exact anisotropic TV subgradient"""
    H, W, C = x0.shape; P = H * W * C
    Fk = kspec(k, (H, W)); Fy = y.transpose(2, 0, 1); R = r.transpose(2, 0, 1)
    x = x0.transpose(2, 0, 1).copy(); m = np.zeros_like(x); v = np.zeros_like(x)
    for t in range(1, n + 1):
        z = np.fft.irfft2(np.fft.rfft2(x) * Fk, s=(H, W)) - Fy
        g = np.fft.irfft2(np.fft.rfft2(2 * z / C) * np.conj(Fk), s=(H, W)) + 2 * tau * (x - R) / P
        sy = np.sign(np.diff(x, axis=1)); sx = np.sign(np.diff(x, axis=2))
        gt = np.zeros_like(x)
        gt[:, 1:, :] += sy; gt[:, :-1, :] -= sy; gt[:, :, 1:] += sx; gt[:, :, :-1] -= sx
        g += rho * gt
        m = b1 * m + (1 - b1) * g; v = b2 * v + (1 - b2) * g * g
        x -= lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps)
    return x.transpose(1, 2, 0)

d = sys.argv[1]
configs = [c.split(':') for c in sys.argv[2].split(',')]  # tau:rho[:iso|adamLR_N]
faces = sorted(os.path.basename(p) for p in glob.glob(d + '/??????') if os.path.isdir(p))
tot = np.zeros(2 + len(configs))
print('face    blurry  mean4  ' + '  '.join(':'.join(c) for c in configs))
for f in faces:
    t, y = image('%s/t%s.png' % (d, f)), image('%s/b%s.png' % (d, f))
    rows = list(csv.DictReader(open('%s/%s/restarts.csv' % (d, f))))[:4]
    X = [image('%s/%s/%s' % (d, f, q['image'])) for q in rows]
    Rg = [image('%s/%s/%s' % (d, f, q['range_image'])) for q in rows]
    K = [kernel('%s/%s/%s' % (d, f, q['kernel'])) for q in rows]
    v = [psnr(y, t), psnr(sum(X) / 4, t)]
    for c in configs:
        tau, rho = float(c[0]), float(c[1]); m = c[2] if len(c) > 2 else ''
        if m.startswith('adam'):
            lr, n = m[4:].split('_')
            Z = [adam(x, k, r, y, tau, rho, float(lr), int(n)) for x, k, r in zip(X, K, Rg)]
        else:
            Z = [refine(x, k, r, y, tau, rho, iso=(m == 'iso')) for x, k, r in zip(X, K, Rg)]
        v.append(psnr(sum(Z) / 4, t))
    tot += np.array(v)
    print(f, ' '.join('%6.2f' % a for a in v), flush=True)
tot /= len(faces)
print('mean  ', ' '.join('%6.2f' % a for a in tot))
print('lift  ', ' '.join('%+6.2f' % (a - tot[0]) for a in tot))
