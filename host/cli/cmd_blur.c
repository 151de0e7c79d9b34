/* `gpdeblur blur`: makes a blurry test image y = i (*) k + n from a sharp
 * one, with a kernel from a file or a random motion kernel from a seed. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_solve_options.h"
#include "gpd/blur.h"
#include "gpd/cli.h"
#include "gpd/common.h"
#include "gpd/image.h"

static const char *CMD = "blur";

static void usage(FILE *f) {
  fprintf(f,
          "usage: gpdeblur blur SHARP (--kernel FILE | --seed S) -o OUT.png [options]\n\n"
          "Blurs SHARP with a kernel, adds Gaussian noise and clips to [0, 1]. Writes OUT.png,\n"
          "the kernel as OUT.kernel (exact) and OUT_kernel.png (scaled to its maximum).\n\n"
          "options:\n"
          "  -k, --kernel FILE       kernel: a .kernel file, a Levin-style text file (rows of\n"
          "                          numbers) or an image (normalised to sum 1)\n"
          "  -s, --seed S            or a random motion kernel from seed S\n"
          "      --size K            motion kernel size (default 28)\n"
          "      --min-length L      shortest motion length (default 5)\n"
          "      --max-length L      longest motion length (default 28)\n"
          "      --sigma SIGMA       noise standard deviation on [0, 1] images (default 0.01,\n"
          "                          the paper's 1%%; 0 for none)\n"
          "      --noise-seed N      seed of the noise (default: S, or 0 with --kernel)\n"
          "  -b, --boundary MODE     circular (default: the paper's, image size kept, no shift)\n"
          "                          or linear (the valid part: K-1 pixels smaller)\n"
          "      --gray              load SHARP as gray\n"
          "      --crop-resize C:S   center-crop C x C, then resize to S x S first (54:64 is\n"
          "                          the CelebA recipe for the half-size aligned set)\n"
          "      --sharp-out FILE    also write the sharp image after --gray/--crop-resize\n"
          "  -o, --output OUT.png    the blurry image (required)\n"
          "  -h, --help              this help\n");
}

static int parse_crop_resize(const char *text, long *crop, long *size) {
  char buf[64];
  snprintf(buf, sizeof buf, "%s", text);
  char *colon = strchr(buf, ':');
  if (!colon) return gpd_error("--crop-resize: '%s' is not CROP:SIZE", text);
  *colon = 0;
  GPD_TRY(gpd_parse_int("crop-resize", buf, 1, 65536, crop));
  GPD_TRY(gpd_parse_int("crop-resize", colon + 1, 1, 65536, size));
  return 0;
}

int gpd_cmd_blur(int argc, char **argv) {
  static const struct option opts[] = {
      {"kernel", required_argument, 0, 'k'},     {"seed", required_argument, 0, 's'},
      {"size", required_argument, 0, 'K'},       {"min-length", required_argument, 0, 'a'},
      {"max-length", required_argument, 0, 'A'}, {"sigma", required_argument, 0, 'n'},
      {"noise-seed", required_argument, 0, 'N'}, {"boundary", required_argument, 0, 'b'},
      {"gray", no_argument, 0, 'g'},             {"crop-resize", required_argument, 0, 'c'},
      {"sharp-out", required_argument, 0, 'S'},  {"output", required_argument, 0, 'o'},
      {"help", no_argument, 0, 'h'},             {0, 0, 0, 0}};
  const char *kernel_path = NULL, *out = NULL, *sharp_out = NULL;
  uint64_t seed = 0, noise_seed = 0;
  int have_seed = 0, have_noise_seed = 0, gray = 0;
  long ksize = GPD_KERNEL_SIZE, len_min = GPD_MOTION_LENGTH_MIN, len_max = GPD_MOTION_LENGTH_MAX, crop = 0, size = 0;
  double sigma = 0.01;
  gpd_boundary boundary = GPD_BOUNDARY_CIRCULAR;
  int opt;
  optind = 1;
  opterr = 0;
  while ((opt = getopt_long(argc, argv, ":k:s:b:o:h", opts, NULL)) != -1) {
    int bad = 0;
    switch (opt) {
    case 'k': kernel_path = optarg; break;
    case 's': bad = gpd_parse_u64("seed", optarg, &seed); have_seed = 1; break;
    case 'K': bad = gpd_parse_int("size", optarg, 1, 4096, &ksize); break;
    case 'a': bad = gpd_parse_int("min-length", optarg, 1, 4096, &len_min); break;
    case 'A': bad = gpd_parse_int("max-length", optarg, 1, 4096, &len_max); break;
    case 'n': bad = gpd_parse_float("sigma", optarg, 0.0, 1.0, &sigma); break;
    case 'N': bad = gpd_parse_u64("noise-seed", optarg, &noise_seed); have_noise_seed = 1; break;
    case 'b': bad = gpd_cli_parse_boundary(optarg, &boundary); break;
    case 'g': gray = 1; break;
    case 'c': bad = parse_crop_resize(optarg, &crop, &size); break;
    case 'S': sharp_out = optarg; break;
    case 'o': out = optarg; break;
    case 'h': usage(stdout); return 0;
    default: return gpd_cli_bad_option(CMD, opt, argv);
    }
    if (bad) return gpd_cli_fail(CMD);
  }
  const int npos = gpd_cli_one_positional(CMD, argc, argv, "sharp image");
  if (npos) return npos;
  const char *sharp_path = argv[optind];
  if (!out) {
    gpd_error("-o OUT.png is required");
    return gpd_cli_fail(CMD);
  }
  if (!kernel_path == !have_seed) {
    gpd_error("give exactly one of --kernel FILE and --seed S");
    return gpd_cli_fail(CMD);
  }
  if (gpd_cli_check_output("-o", out) != 0 || (sharp_out && gpd_cli_check_output("--sharp-out", sharp_out) != 0))
    return gpd_cli_fail(CMD);
  if (!have_noise_seed) noise_seed = have_seed ? seed : 0;

  gpd_image sharp = {0}, tmp = {0}, blurry = {0}, kimg = {0};
  float *k = NULL;
  int kn = 0, rc = -1;
  char path[4096];
  if (gpd_image_load(&sharp, sharp_path, gray ? 1 : 0) != 0) goto done;
  if (crop) {
    if (gpd_image_crop_resize(&sharp, (int)crop, (int)size, &tmp) != 0) goto done;
    gpd_image_free(&sharp);
    sharp = tmp;
    tmp = (gpd_image){0};
  }
  if (kernel_path) {
    if (gpd_kernel_load(kernel_path, &k, &kn) != 0) goto done;
  } else {
    kn = (int)ksize;
    k = gpd_malloc(sizeof(float) * kn * kn, "kernel");
    if (!k || gpd_motion_kernel(k, kn, seed, (int)len_min, (int)len_max) != 0) goto done;
  }
  if (gpd_blur_image(&sharp, k, kn, boundary, (float)sigma, noise_seed, &blurry) != 0) {
    /* name the inputs: the library only knows the shapes */
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", gpd_last_error());
    if (kernel_path) gpd_error("%s (image '%s', kernel '%s')", msg, sharp_path, kernel_path);
    else gpd_error("%s (image '%s')", msg, sharp_path);
    goto done;
  }
  if (gpd_image_save_png(&blurry, out) != 0) goto done;
  gpd_path_with_ext(out, ".kernel", path, sizeof path);
  if (gpd_kernel_save(path, k, kn) != 0) goto done;
  gpd_path_with_ext(out, "_kernel.png", path, sizeof path);
  if (gpd_image_from_kernel(k, kn, 1, &kimg) != 0 || gpd_image_save_png(&kimg, path) != 0) goto done;
  if (sharp_out && gpd_image_save_png(&sharp, sharp_out) != 0) goto done;
  rc = 0;
done:
  gpd_image_free(&sharp);
  gpd_image_free(&tmp);
  gpd_image_free(&blurry);
  gpd_image_free(&kimg);
  free(k);
  return rc == 0 ? 0 : gpd_cli_fail(CMD);
}
