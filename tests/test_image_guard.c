/* The image guard (host/io/image_guard.c) against real files: every seed
 * image of the fuzz corpus (PNG gray / RGB / 16-bit RGBA / 4-bit palette,
 * baseline JPEG, BMP of 1, 4, 8, 24 and 32 bits, PGM 8 / 16-bit, PPM, TGA
 * plain, top-down, indexed and run-length) and the shared data's photos
 * load, with the pixels their generator wrote; every input that once got
 * past stb (truncated, lying about its size, a bad CRC, a JPEG table of 265
 * codes) is refused with an error naming it. */
#define _DEFAULT_SOURCE
#include <dirent.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "gpd/common.h"
#include "gpd/image.h"

/* Every regular file of a folder, through fn. */
static int each_file(const char *dir, void (*fn)(const char *path)) {
  DIR *d = opendir(dir);
  int n = 0;
  if (!d) return 0;
  for (struct dirent *de; (de = readdir(d));) {
    if (de->d_name[0] == '.') continue;
    char path[2048];
    snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
    fn(path);
    n++;
  }
  closedir(d);
  return n;
}

static void loads(const char *path) {
  gpd_image im = {0};
  CHECK(gpd_image_load(&im, path, 0) == 0, "a valid image was refused: %s", gpd_last_error());
  gpd_image_free(&im);
}

static void refused(const char *path) {
  gpd_image im = {0};
  const int rc = gpd_image_load(&im, path, 0);
  CHECK(rc != 0, "%s was decoded (%dx%dx%d)", path, im.h, im.w, im.c);
  CHECK(rc == 0 || strstr(gpd_last_error(), path), "the error does not name the file: %s", gpd_last_error());
  gpd_image_free(&im);
}

/* The seeds' pixels are formulas of their position (tests/fuzz/README.md):
 * a few checked exactly, so a guard that shifts an offset shows. */
static void pixels(void) {
  gpd_image im = {0};
  CHECK_OK(gpd_image_load(&im, source_path("tests/fuzz/corpus/image/gray8.pgm"), 0));
  if (im.data) {
    CHECK(im.c == 1 && im.h == 5 && im.w == 6, "gray8.pgm is %dx%dx%d", im.h, im.w, im.c);
    for (int i = 0; i < 30; i++) CHECK(im.data[i] == (float)((i * 7) % 256) / 255.0f, "gray8.pgm pixel %d", i);
  }
  gpd_image_free(&im);
  CHECK_OK(gpd_image_load(&im, source_path("tests/fuzz/corpus/image/rgb24.tga"), 0));
  if (im.data) {
    /* TGA rows are stored bottom up, BGR */
    CHECK(im.c == 3 && im.h == 5 && im.w == 6, "rgb24.tga is %dx%dx%d", im.h, im.w, im.c);
    const int y = 0, x = 1, src = ((4 - y) * 6 + x) * 3;
    CHECK(im.data[0 * 30 + y * 6 + x] == (float)((src + 2) * 3 % 256) / 255.0f, "rgb24.tga red");
    CHECK(im.data[2 * 30 + y * 6 + x] == (float)(src * 3 % 256) / 255.0f, "rgb24.tga blue");
  }
  gpd_image_free(&im);
  CHECK_OK(gpd_image_load(&im, source_path("tests/fuzz/corpus/image/pal1.bmp"), 0));
  if (im.data) {
    /* row bits 1011 0000: white, black, white, white, black, black */
    const float want[6] = {1, 0, 1, 1, 0, 0};
    for (int x = 0; x < 6; x++) CHECK(im.data[x] == want[x], "pal1.bmp pixel %d is %g", x, im.data[x]);
  }
  gpd_image_free(&im);
}

int main(void) {
  const int good = each_file(source_path("tests/fuzz/corpus/image"), loads);
  CHECK(good >= 15, "only %d seed images", good);
  const int bad = each_file(source_path("tests/fuzz/regressions/image"), refused);
  CHECK(bad >= 7, "only %d refused images", bad);
  loads(source_path("tests/fixtures/chelsea_64.png"));
  pixels();
  const char *data = shared_data_dir();
  if (data) {
    char path[1200];
    for (int i = 1; i <= 20; i++) {
      snprintf(path, sizeof path, "%s/celeba/%06d.jpg", data, i);
      loads(path);
    }
  } else {
    fprintf(stderr, "note: ../shared/data absent; its JPEGs not checked\n");
  }
  if (check_failures) fprintf(stderr, "%d checks failed\n", check_failures);
  return check_failures ? 1 : 0;
}
