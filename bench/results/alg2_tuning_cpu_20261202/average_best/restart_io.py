"""What translation.py and selection_rules.py share: reading deblur's outputs
(8-bit PNGs, .kernel files), PSNR, and integer translations."""
import numpy as np
from PIL import Image

def image(p): return np.asarray(Image.open(p).convert('RGB'), dtype=np.float64) / 255.0
def kernel(p):
    lines = open(p).read().split('\n'); n = int(lines[0].split()[2])
    return np.array([[float(v) for v in l.split()] for l in lines[1:1 + n]])
def psnr(a, b): return 10 * np.log10(1.0 / ((a - b) ** 2).mean())
def roll(x, s): return np.roll(x, s, (0, 1))
SHIFTS = [(a, b) for a in range(-3, 4) for b in range(-3, 4)]
def shift_to(x, ref):  # the integer translation (|s| <= 3) of x nearest to ref
    return min(SHIFTS, key=lambda s: ((roll(x, s) - ref) ** 2).mean())
