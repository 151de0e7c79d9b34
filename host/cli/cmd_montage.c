/* `gpdeblur montage`: images and kernels side by side in one PNG, each
 * scaled (nearest neighbour, integer factor) towards a common height, so a
 * blurry | deblurred | sharp | kernel panel is one command. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpd/blur.h"
#include "gpd/cli.h"
#include "gpd/common.h"
#include "gpd/image.h"

static const char *CMD = "montage";

static void usage(FILE *f) {
  fprintf(f, "usage: gpdeblur montage FILE... -o OUT.png [options]\n\n"
             "Places images (PNG, JPEG, BMP, PGM/PPM) and kernels (.kernel or Levin text files,\n"
             "drawn scaled to their maximum) side by side, left to right. Each is enlarged by\n"
             "the largest integer factor that keeps it within the height of the tallest.\n\n"
             "options:\n"
             "  -o, --output OUT.png   the montage (required)\n"
             "      --pad N            white pixels between panels (default 4)\n"
             "  -h, --help             this help\n");
}

static int is_kernel_file(const char *path) {
  const char *dot = strrchr(path, '.');
  return dot && (!strcmp(dot, ".kernel") || !strcmp(dot, ".txt"));
}

/* Nearest-neighbour enlargement by an integer factor. */
static int enlarge(const gpd_image *src, int factor, gpd_image *dst) {
  GPD_TRY(gpd_image_alloc(dst, src->c, src->h * factor, src->w * factor));
  for (int c = 0; c < src->c; c++)
    for (int y = 0; y < dst->h; y++)
      for (int x = 0; x < dst->w; x++)
        dst->data[((size_t)c * dst->h + y) * dst->w + x] =
            src->data[((size_t)c * src->h + y / factor) * src->w + x / factor];
  return 0;
}

static int load_panel(const char *path, gpd_image *im) {
  if (!is_kernel_file(path)) return gpd_image_load(im, path, 0);
  float *k = NULL;
  int ksize = 0;
  GPD_TRY(gpd_kernel_load(path, &k, &ksize));
  int rc = gpd_image_from_kernel(k, ksize, 1, im);
  free(k);
  return rc;
}

static int montage(char **paths, int count, int pad, const char *out) {
  gpd_image *panels = gpd_calloc((size_t)count, sizeof *panels, "montage panels");
  const gpd_image **ptrs = gpd_calloc((size_t)count, sizeof *ptrs, "montage panels");
  gpd_image result = {0};
  int rc = -1, tallest = 0;
  if (!panels || !ptrs) goto done;
  for (int i = 0; i < count; i++) {
    if (load_panel(paths[i], &panels[i])) goto done;
    if (panels[i].h > tallest) tallest = panels[i].h;
  }
  for (int i = 0; i < count; i++) {
    int factor = tallest / panels[i].h;
    if (factor > 1) {
      gpd_image big = {0};
      if (enlarge(&panels[i], factor, &big)) goto done;
      gpd_image_free(&panels[i]);
      panels[i] = big;
    }
    ptrs[i] = &panels[i];
  }
  if (gpd_image_hstack(ptrs, count, pad, &result) || gpd_image_save_png(&result, out)) goto done;
  rc = 0;
done:
  for (int i = 0; panels && i < count; i++) gpd_image_free(&panels[i]);
  gpd_image_free(&result);
  free(panels);
  free(ptrs);
  return rc;
}

int gpd_cmd_montage(int argc, char **argv) {
  static const struct option opts[] = {{"output", required_argument, 0, 'o'},
                                       {"pad", required_argument, 0, 'p'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  const char *out = NULL;
  long pad = 4;
  int opt;
  optind = 1;
  opterr = 0;
  while ((opt = getopt_long(argc, argv, ":o:h", opts, NULL)) != -1) {
    switch (opt) {
    case 'o': out = optarg; break;
    case 'p':
      if (gpd_parse_int("pad", optarg, 0, 1000, &pad)) return gpd_cli_fail(CMD);
      break;
    case 'h': usage(stdout); return 0;
    default: return gpd_cli_bad_option(CMD, opt, argv);
    }
  }
  if (!out || optind >= argc) {
    fprintf(stderr, "gpdeblur %s: needs at least one input and -o OUT.png; see 'gpdeblur %s --help'\n", CMD, CMD);
    return 2;
  }
  if (gpd_cli_check_output("-o", out) || montage(argv + optind, argc - optind, (int)pad, out)) return gpd_cli_fail(CMD);
  return 0;
}
