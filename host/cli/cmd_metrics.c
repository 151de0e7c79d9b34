/* `gpdeblur metrics`: PSNR and SSIM between two images, plain or up to a
 * small shift (the Levin benchmark's protocol). */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "gpd/cli.h"
#include "gpd/common.h"
#include "gpd/image.h"
#include "gpd/metrics.h"

static const char *CMD = "metrics";

static void usage(FILE *f) {
  fprintf(f,
          "usage: gpdeblur metrics A B [options]\n\n"
          "PSNR (dB, data range 1) and SSIM (Wang et al. 2004 as scikit-image computes it:\n"
          "11x11 Gaussian window, sigma 1.5, mean over channels) of image A against image B.\n\n"
          "options:\n"
          "      --json               print one JSON object instead of text\n"
          "      --shift-tolerant N   A is a restoration of the sharp B known only up to a\n"
          "                           translation: align A by the integer shift within +-N\n"
          "                           pixels with the lowest squared error, then compare\n"
          "      --border B           with --shift-tolerant: ignore B pixels at each border\n"
          "                           (default and minimum: N)\n"
          "      --gray               compare as gray (needed when one image is gray)\n"
          "  -h, --help               this help\n\n"
          "Identical images have an infinite PSNR, printed as inf (null in JSON).\n");
}

int gpd_cmd_metrics(int argc, char **argv) {
  static const struct option opts[] = {{"json", no_argument, 0, 'j'},
                                       {"shift-tolerant", required_argument, 0, 's'},
                                       {"border", required_argument, 0, 'b'},
                                       {"gray", no_argument, 0, 'g'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  int json = 0, gray = 0, opt;
  long shift = -1, border = -1;
  optind = 1;
  opterr = 0;
  while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
    int bad = 0;
    switch (opt) {
    case 'j': json = 1; break;
    case 's': bad = gpd_parse_int("shift-tolerant", optarg, 0, 1000, &shift); break;
    case 'b': bad = gpd_parse_int("border", optarg, 0, 100000, &border); break;
    case 'g': gray = 1; break;
    case 'h': usage(stdout); return 0;
    default: return gpd_cli_bad_option(CMD, opt, argv);
    }
    if (bad) return gpd_cli_fail(CMD);
  }
  if (argc - optind != 2) {
    fprintf(stderr, "gpdeblur %s: two images expected, got %d; see 'gpdeblur %s --help'\n", CMD, argc - optind, CMD);
    return 2;
  }
  if (border >= 0 && shift < 0) {
    gpd_error("--border needs --shift-tolerant");
    return gpd_cli_fail(CMD);
  }
  const char *pa = argv[optind], *pb = argv[optind + 1];
  gpd_image a = {0}, b = {0};
  int rc = -1;
  double psnr, ssim;
  if (gpd_image_load(&a, pa, gray ? 1 : 0) != 0 || gpd_image_load(&b, pb, gray ? 1 : 0) != 0) goto done;
  if (a.c != b.c || a.h != b.h || a.w != b.w) {
    gpd_error("'%s' is %dx%dx%d but '%s' is %dx%dx%d%s", pa, a.h, a.w, a.c, pb, b.h, b.w, b.c,
              a.c != b.c ? " (use --gray to compare as gray)" : "");
    goto done;
  }
  if (shift >= 0) {
    if (border < shift) border = shift;
    psnr = gpd_psnr_shift_tolerant(a.data, b.data, a.c, a.h, a.w, (int)shift, (int)border);
    ssim = gpd_ssim_shift_tolerant(a.data, b.data, a.c, a.h, a.w, (int)shift, (int)border);
  } else {
    psnr = gpd_psnr(a.data, b.data, a.c, a.h, a.w);
    ssim = gpd_ssim(a.data, b.data, a.c, a.h, a.w);
  }
  if (isnan(psnr) || isnan(ssim)) goto done; /* the metric recorded why */
  if (json) {
    char ps[32];
    if (isinf(psnr)) snprintf(ps, sizeof ps, "null");
    else snprintf(ps, sizeof ps, "%.6f", psnr);
    printf("{\"psnr\": %s, \"ssim\": %.6f", ps, ssim);
    if (shift >= 0) printf(", \"shift_tolerant\": %ld, \"border\": %ld", shift, border);
    printf("}\n");
  } else {
    printf("PSNR %.4f dB\nSSIM %.6f\n", psnr, ssim);
  }
  rc = 0;
done:
  gpd_image_free(&a);
  gpd_image_free(&b);
  return rc == 0 ? 0 : gpd_cli_fail(CMD);
}
