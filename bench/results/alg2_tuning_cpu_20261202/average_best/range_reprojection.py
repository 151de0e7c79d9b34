#!/usr/bin/python3
"""Is Algorithm 2's z_i stuck? (README.md, "Is z_i stuck?") Compares, per
tuning face, the best restart's range image G_I(z_i) with the range
projection of that restart's free image and with the face's own.

    range_reprojection.py DIR

DIR as for selection_rules.py (bF.png, tF.png, F/00.png, F/00_range.png),
plus pF.png = `gpdeblur project DIR/F/00.png -o DIR/pF.png --restarts 2
--steps 3000` and qF.png = `gpdeblur project DIR/tF.png -o DIR/qF.png
--restarts 2 --steps 3000`. PSNR against the sharp face tF.png.
"""
import glob, os, sys
import numpy as np

from restart_io import image, psnr

d = sys.argv[1]
faces = sorted(os.path.basename(p) for p in glob.glob(d + '/??????') if os.path.isdir(p))
cols = ['blurry', 'free image', 'its range image', 'free image projected', 'face projected']
rows = []
for f in faces:
    t = image('%s/t%s.png' % (d, f))
    rows.append([psnr(image(p), t) for p in ('%s/b%s.png' % (d, f), '%s/%s/00.png' % (d, f),
                                             '%s/%s/00_range.png' % (d, f), '%s/p%s.png' % (d, f), '%s/q%s.png' % (d, f))])
    print(f, ' '.join('%6.2f' % v for v in rows[-1]))
A = np.array(rows)
print('mean   ' + ' '.join('%6.2f' % v for v in A.mean(0)) + '   (' + ', '.join(cols) + ')')
print('the free image above the face projected on %d of %d faces' % ((A[:, 1] > A[:, 4]).sum(), len(A)))
