"""Each test face with the finish (CSV given) against the mean of the 4 best without it
(../average_best/test/): blurry, without, with, the difference, the chosen restart of each.
    against_mean4.py test/alg2.csv > test/against_mean4.txt"""
import csv, glob, os, sys
new={r['file']:r for r in csv.DictReader(open(sys.argv[1]))}
old={}
for f in glob.glob(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'average_best', 'test', '*.csv')):
    for r in csv.DictReader(open(f)): old[r['file']]=r
d=[];lo=[];ln=[]
for k in sorted(new):
    a,b,bl=float(old[k]['psnr']),float(new[k]['psnr']),float(new[k]['blurry_psnr'])
    d.append(b-a); lo.append(a-bl); ln.append(b-bl)
    print(k, '%.2f %.2f %.2f %+.2f'%(bl,a,b,b-a), old[k]['chosen'], new[k]['chosen'])
import statistics as st
n=len(d)
print('n',n,'old lift %+.2f new lift %+.2f gain %+.2f better %d worse %d'%(st.mean(lo),st.mean(ln),st.mean(d),sum(x>0.1 for x in d),sum(x<-0.1 for x in d)))
if n>1: print('new lift sd %.2f ci95 %.2f'%(st.stdev(ln), 1.96*st.stdev(ln)/n**0.5))
