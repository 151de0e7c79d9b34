/* The check every image passes before stb_image sees it (image_guard.c).
 *
 * stb_image (Debian's libstb) decodes what a file declares: table sizes,
 * image sizes and offsets are trusted, a truncated file decodes with
 * whatever memory held, and a JPEG Huffman table with more than 256 codes
 * is written past its array. The guard walks the file's structure first
 * and refuses, naming the file and the problem, anything that is not a
 * complete, well-formed image of a format we support: PNG, JPEG, BMP,
 * binary PGM/PPM and TGA. Formats stb also decodes but we do not check
 * (GIF, PSD, PIC, HDR) are refused. */
#ifndef GPD_IO_IMAGE_GUARD_H
#define GPD_IO_IMAGE_GUARD_H

#include <stddef.h>

/* The largest image we decode: 2^25 pixels (an 8192 x 4096 photo); no side
 * above 2^16. */
#define GPD_IMAGE_MAX_PIXELS (1L << 25)
#define GPD_IMAGE_MAX_SIDE 65536L
/* Files above this are refused before they are read. */
#define GPD_IMAGE_MAX_BYTES ((size_t)1 << 28)

typedef enum gpd_image_format {
  GPD_IMAGE_PNG,
  GPD_IMAGE_JPEG,
  GPD_IMAGE_BMP,
  GPD_IMAGE_PNM,
  GPD_IMAGE_TGA
} gpd_image_format;

/* 0 when b[0..n) is a complete image stb_image may decode safely (its
 * format in *format); -1 with the error "image 'NAME' (FORMAT): ..."
 * otherwise. */
int gpd_image_guard(const unsigned char *b, size_t n, const char *name, gpd_image_format *format);

#endif
