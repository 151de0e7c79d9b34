/* The structural check of an image file before stb_image decodes it
 * (image_guard.h). Each format's walk mirrors what stb reads (offsets,
 * tables, the bytes each row or packet takes) and refuses what stb would
 * trust: tables larger than their arrays, sizes the file cannot hold, data
 * cut short, references to tables or palette entries never defined. */
#include "image_guard.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "gpd/common.h"

typedef struct guard {
  const uint8_t *b;
  size_t n;
  const char *name;
  const char *format;
} guard;

static int bad(const guard *g, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static int bad(const guard *g, const char *fmt, ...) {
  char why[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, sizeof why, fmt, ap);
  va_end(ap);
  return gpd_error("image '%s' (%s): %s", g->name, g->format, why);
}

static uint32_t be16(const uint8_t *p) { return (uint32_t)p[0] << 8 | p[1]; }
static uint32_t le16(const uint8_t *p) { return (uint32_t)p[1] << 8 | p[0]; }
static uint32_t be32(const uint8_t *p) { return be16(p) << 16 | be16(p + 2); }
static uint32_t le32(const uint8_t *p) { return le16(p + 2) << 16 | le16(p); }

static int check_size(const guard *g, long long w, long long h) {
  if (w < 1 || h < 1) return bad(g, "declares %lldx%lld pixels", w, h);
  if (w > GPD_IMAGE_MAX_SIDE || h > GPD_IMAGE_MAX_SIDE || w * h > GPD_IMAGE_MAX_PIXELS)
    return bad(g, "declares %lldx%lld pixels, more than the %ld this program decodes", w, h, GPD_IMAGE_MAX_PIXELS);
  return 0;
}

/* ---- PNG: chunks, CRCs, IHDR, and enough compressed data ---------------------------- */

static uint32_t png_crc(const uint8_t *p, size_t n) {
  uint32_t table[256];
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++) c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    table[i] = c;
  }
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; i++) c = table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

static int png_channels(int color) {
  switch (color) {
  case 0: return 1;
  case 2: return 3;
  case 3: return 1;
  case 4: return 2;
  case 6: return 4;
  }
  return 0;
}

static int png_ihdr(const guard *g, const uint8_t *d, uint32_t len, long long *w, long long *h, int *bits) {
  if (len != 13) return bad(g, "IHDR is %u bytes, not 13", len);
  *w = be32(d);
  *h = be32(d + 4);
  const int depth = d[8], color = d[9];
  GPD_TRY(check_size(g, *w, *h));
  const int ok_depth = color == 0   ? (depth == 1 || depth == 2 || depth == 4 || depth == 8 || depth == 16)
                       : color == 3 ? (depth == 1 || depth == 2 || depth == 4 || depth == 8)
                       : png_channels(color) ? (depth == 8 || depth == 16)
                                             : 0;
  if (!ok_depth) return bad(g, "colour type %d with %d-bit samples is not a PNG pixel format", color, depth);
  if (d[10] || d[11] || d[12] > 1) return bad(g, "IHDR compression %d, filter %d, interlace %d", d[10], d[11], d[12]);
  *bits = depth * png_channels(color);
  return 0;
}

static int guard_png(const guard *g) {
  size_t pos = 8;
  long long w = 0, h = 0;
  int bits = 0, seen_ihdr = 0, seen_iend = 0;
  unsigned long long idat = 0;
  while (pos < g->n) {
    if (g->n - pos < 12) return bad(g, "truncated: the chunk at byte %zu is cut off", pos);
    const uint32_t len = be32(g->b + pos);
    const uint8_t *type = g->b + pos + 4;
    for (int i = 0; i < 4; i++)
      if (!((type[i] >= 'A' && type[i] <= 'Z') || (type[i] >= 'a' && type[i] <= 'z')))
        return bad(g, "the chunk at byte %zu has no valid type (corrupt file)", pos);
    if (len > 0x7FFFFFFFu || len > g->n - pos - 12)
      return bad(g, "truncated: chunk %.4s at byte %zu declares %u bytes, %zu remain", (const char *)type, pos, len,
                 g->n - pos - 12);
    const uint32_t crc = be32(g->b + pos + 8 + len), want = png_crc(type, (size_t)len + 4);
    if (crc != want)
      return bad(g, "chunk %.4s at byte %zu has CRC %08x, its bytes give %08x: the file is corrupt", (const char *)type,
                 pos, crc, want);
    if (!memcmp(type, "IHDR", 4)) {
      if (seen_ihdr) return bad(g, "a second IHDR at byte %zu", pos);
      GPD_TRY(png_ihdr(g, type + 4, len, &w, &h, &bits));
      seen_ihdr = 1;
    } else if (!seen_ihdr && memcmp(type, "CgBI", 4)) {
      return bad(g, "the first chunk is %.4s, not IHDR", (const char *)type);
    } else if (!memcmp(type, "IDAT", 4)) {
      idat += len;
    } else if (!memcmp(type, "IEND", 4)) {
      seen_iend = 1;
      break;
    }
    pos += 12 + (size_t)len;
  }
  if (!seen_iend) return bad(g, "truncated: no IEND chunk in its %zu bytes", g->n);
  if (!seen_ihdr) return bad(g, "no IHDR chunk");
  if (!idat) return bad(g, "no IDAT chunk: no pixel data");
  /* deflate inflates at most 1032:1 (a 258-byte match in two bits) */
  const unsigned long long raw = (unsigned long long)h * (1 + ((unsigned long long)w * bits + 7) / 8);
  if (raw > 1032 * idat + 4096)
    return bad(g, "declares %lldx%lld pixels (%llu bytes) in %llu compressed bytes, which cannot inflate to them", w, h,
               raw, idat);
  return 0;
}

/* ---- JPEG: the segments stb reads, and the scans' data ------------------------------ */

typedef struct jpeg_state {
  int frame, progressive, ncomp, scans;
  int comp_id[4], comp_tq[4];
  int dqt[4], dc[4], ac[4]; /* defined tables */
  long long w, h;
  unsigned long long entropy; /* bytes of scan data */
} jpeg_state;

static int jpeg_dqt(const guard *g, jpeg_state *j, const uint8_t *s, size_t len, size_t at) {
  size_t p = 0;
  while (p < len) {
    const int pq = s[p] >> 4, tq = s[p] & 15;
    if (pq > 1 || tq > 3) return bad(g, "quantisation table at byte %zu: precision %d, id %d", at + p, pq, tq);
    const size_t size = 64u * (pq ? 2u : 1u);
    if (len - p - 1 < size) return bad(g, "quantisation table %d at byte %zu is cut off", tq, at + p);
    j->dqt[tq] = 1;
    p += 1 + size;
  }
  return 0;
}

/* stb builds each table into arrays of 256 codes: the counts must sum to
 * at most that, the lengths must fit the code space, and the symbols must
 * be 8-bit JPEG's (DC sizes <= 11, AC sizes <= 10). */
static int jpeg_dht(const guard *g, jpeg_state *j, const uint8_t *s, size_t len, size_t at) {
  size_t p = 0;
  while (p < len) {
    if (len - p < 17) return bad(g, "Huffman table at byte %zu is cut off", at + p);
    const int tc = s[p] >> 4, th = s[p] & 15;
    if (tc > 1 || th > 3) return bad(g, "Huffman table at byte %zu: class %d, id %d", at + p, tc, th);
    unsigned total = 0, code = 0;
    for (int i = 0; i < 16; i++) total += s[p + 1 + i];
    if (total > 256)
      return bad(g, "Huffman table %s%d at byte %zu declares %u codes (at most 256)", tc ? "AC" : "DC", th, at + p,
                 total);
    for (int i = 0; i < 16; i++) {
      code += s[p + 1 + i];
      if (code > (1u << (i + 1)))
        return bad(g, "Huffman table %s%d at byte %zu has more codes of length %d than fit", tc ? "AC" : "DC", th,
                   at + p, i + 1);
      code <<= 1;
    }
    if (len - p - 17 < total) return bad(g, "Huffman table %s%d at byte %zu is cut off", tc ? "AC" : "DC", th, at + p);
    for (unsigned i = 0; i < total; i++) {
      const int v = s[p + 17 + i];
      if (tc == 0 ? v > 11 : (v & 15) > 10)
        return bad(g, "Huffman table %s%d at byte %zu holds symbol 0x%02x, not an 8-bit JPEG's", tc ? "AC" : "DC", th,
                   at + p, v);
    }
    (tc ? j->ac : j->dc)[th] = 1;
    p += 17 + total;
  }
  return 0;
}

static int jpeg_sof(const guard *g, jpeg_state *j, int marker, const uint8_t *s, size_t len) {
  if (j->frame) return bad(g, "a second frame header");
  if (len < 6) return bad(g, "the frame header is %zu bytes", len);
  if (s[0] != 8) return bad(g, "%d-bit samples (8-bit JPEGs only)", s[0]);
  j->h = be16(s + 1);
  j->w = be16(s + 3);
  if (j->h == 0) return bad(g, "height 0 (a height given after the image data is not supported)");
  GPD_TRY(check_size(g, j->w, j->h));
  j->ncomp = s[5];
  if (j->ncomp != 1 && j->ncomp != 3 && j->ncomp != 4) return bad(g, "%d colour components", j->ncomp);
  if (len != 6 + 3 * (size_t)j->ncomp) return bad(g, "the frame header is %zu bytes for %d components", len, j->ncomp);
  int hmax = 1, vmax = 1;
  for (int i = 0; i < j->ncomp; i++) {
    const int hs = s[7 + 3 * i] >> 4, vs = s[7 + 3 * i] & 15;
    if (hs < 1 || hs > 4 || vs < 1 || vs > 4) return bad(g, "component %d has sampling %dx%d", i, hs, vs);
    if (s[8 + 3 * i] > 3) return bad(g, "component %d uses quantisation table %d", i, s[8 + 3 * i]);
    hmax = hs > hmax ? hs : hmax;
    vmax = vs > vmax ? vs : vmax;
    j->comp_id[i] = s[6 + 3 * i];
    j->comp_tq[i] = s[8 + 3 * i];
  }
  for (int i = 0; i < j->ncomp; i++)
    if (hmax % (s[7 + 3 * i] >> 4) || vmax % (s[7 + 3 * i] & 15))
      return bad(g, "component %d's sampling does not divide the largest", i);
  j->frame = 1;
  j->progressive = marker == 0xC2;
  return 0;
}

static int jpeg_sos(const guard *g, jpeg_state *j, const uint8_t *s, size_t len) {
  if (!j->frame) return bad(g, "image data before the frame header");
  const int ns = len ? s[0] : 0;
  if (ns < 1 || ns > 4 || ns > j->ncomp) return bad(g, "a scan of %d components (the frame has %d)", ns, j->ncomp);
  if (len != 4 + 2 * (size_t)ns) return bad(g, "the scan header is %zu bytes for %d components", len, ns);
  const int ss = s[1 + 2 * ns], se = s[2 + 2 * ns], ah = s[3 + 2 * ns] >> 4, al = s[3 + 2 * ns] & 15;
  if (j->progressive ? (ss > se || se > 63 || ah > 13 || al > 13 || (ss == 0 && se != 0) || (ss > 0 && ns != 1))
                     : (ss != 0 || ah != 0 || al != 0))
    return bad(g, "scan %d has spectral selection %d..%d, approximation %d/%d", j->scans + 1, ss, se, ah, al);
  for (int i = 0; i < ns; i++) {
    const int id = s[1 + 2 * i], td = s[2 + 2 * i] >> 4, ta = s[2 + 2 * i] & 15;
    int c = 0;
    while (c < j->ncomp && j->comp_id[c] != id) c++;
    if (c == j->ncomp) return bad(g, "scan %d names component %d, which the frame does not have", j->scans + 1, id);
    if (td > 3 || ta > 3) return bad(g, "scan %d uses Huffman tables %d/%d", j->scans + 1, td, ta);
    const int need_dc = j->progressive ? ss == 0 && ah == 0 : 1, need_ac = j->progressive ? ss > 0 : 1;
    if ((need_dc && !j->dc[td]) || (need_ac && !j->ac[ta]))
      return bad(g, "scan %d uses a Huffman table that was never defined", j->scans + 1);
    if (!j->dqt[j->comp_tq[c]])
      return bad(g, "scan %d uses quantisation table %d, which was never defined", j->scans + 1, j->comp_tq[c]);
  }
  return 0;
}

/* The scan's entropy-coded bytes from p: up to the next marker that is not
 * a stuffed 0xFF00 or a restart marker. Returns the marker's position. */
static int jpeg_scan_data(const guard *g, size_t p, size_t *end) {
  for (;;) {
    if (p + 1 >= g->n) return bad(g, "truncated: the file ends inside the image data");
    if (g->b[p] == 0xFF) {
      const int c = g->b[p + 1];
      if (c == 0xFF) {
        p++;
        continue;
      }
      if (c != 0 && !(c >= 0xD0 && c <= 0xD7)) break;
      p += 2;
      continue;
    }
    p++;
  }
  *end = p;
  return 0;
}

static int guard_jpeg(const guard *g, size_t pos) {
  jpeg_state j;
  memset(&j, 0, sizeof j);
  for (;;) {
    /* stb scans over padding between segments before the frame header */
    if (!j.frame)
      while (pos < g->n && g->b[pos] != 0xFF) pos++;
    if (pos >= g->n) return bad(g, "truncated: no end-of-image marker in its %zu bytes", g->n);
    if (g->b[pos] != 0xFF) return bad(g, "byte %zu: 0x%02x where a marker should be", pos, g->b[pos]);
    while (pos < g->n && g->b[pos] == 0xFF) pos++;
    if (pos >= g->n) return bad(g, "truncated: the file ends inside a marker");
    const int m = g->b[pos++];
    if (m == 0xD9) break;
    const int has_length = m == 0xC0 || m == 0xC1 || m == 0xC2 || m == 0xC4 || m == 0xDB || m == 0xDD || m == 0xDA ||
                           m == 0xDC || (m >= 0xE0 && m <= 0xEF) || m == 0xFE;
    if (!has_length) return bad(g, "marker 0x%02X at byte %zu is not one of a baseline or progressive JPEG", m, pos - 2);
    if (g->n - pos < 2) return bad(g, "truncated: segment 0x%02X at byte %zu is cut off", m, pos - 2);
    const size_t len = be16(g->b + pos);
    if (len < 2) return bad(g, "segment 0x%02X at byte %zu has length %zu", m, pos - 2, len);
    if (len > g->n - pos)
      return bad(g, "truncated: segment 0x%02X at byte %zu declares %zu bytes, %zu remain", m, pos - 2, len, g->n - pos);
    const uint8_t *s = g->b + pos + 2;
    const size_t slen = len - 2;
    switch (m) {
    case 0xC0:
    case 0xC1:
    case 0xC2: GPD_TRY(jpeg_sof(g, &j, m, s, slen)); break;
    case 0xC4: GPD_TRY(jpeg_dht(g, &j, s, slen, pos + 2)); break;
    case 0xDB: GPD_TRY(jpeg_dqt(g, &j, s, slen, pos + 2)); break;
    case 0xDD:
      if (slen != 2) return bad(g, "the restart interval segment is %zu bytes", len);
      break;
    case 0xDC:
      if (!j.frame || slen != 2 || be16(s) != j.h) return bad(g, "a DNL segment that does not repeat the height");
      break;
    case 0xDA: {
      GPD_TRY(jpeg_sos(g, &j, s, slen));
      size_t end = 0;
      GPD_TRY(jpeg_scan_data(g, pos + len, &end));
      j.entropy += end - (pos + len);
      j.scans++;
      pos = end;
      continue;
    }
    default: break; /* APPn, COM */
    }
    pos += len;
  }
  if (!j.frame) return bad(g, "no frame header (SOF)");
  if (!j.scans) return bad(g, "no image data (no scan)");
  /* every 8x8 block of the first component costs at least one bit of
   * image data (its DC code) */
  if ((unsigned long long)(j.w * j.h) > 512 * j.entropy + 65536)
    return bad(g, "declares %lldx%lld pixels in %llu bytes of image data, too few for them", j.w, j.h, j.entropy);
  return 0;
}

/* ---- BMP: header, palette, rows ---------------------------------------------------------- */

static int guard_bmp(const guard *g) {
  if (g->n < 18) return bad(g, "truncated: the %zu-byte file has no header", g->n);
  const long long offset = le32(g->b + 10), hsz = le32(g->b + 14);
  if (hsz != 12 && hsz != 40 && hsz != 56 && hsz != 108 && hsz != 124) return bad(g, "header size %lld", hsz);
  if ((long long)g->n < 14 + hsz) return bad(g, "truncated: the %lld-byte header is cut off", hsz);
  const uint8_t *d = g->b + 18;
  long long w, h;
  int planes, bpp, compress = 0;
  if (hsz == 12) {
    w = le16(d);
    h = le16(d + 2);
    planes = (int)le16(d + 4);
    bpp = (int)le16(d + 6);
  } else {
    w = (int32_t)le32(d);
    h = (int32_t)le32(d + 4);
    planes = (int)le16(d + 8);
    bpp = (int)le16(d + 10);
    compress = (int)le32(d + 12);
  }
  if (h < 0) h = -h; /* top-down rows */
  GPD_TRY(check_size(g, w, h));
  if (planes != 1) return bad(g, "%d colour planes", planes);
  if (bpp != 1 && bpp != 4 && bpp != 8 && bpp != 16 && bpp != 24 && bpp != 32) return bad(g, "%d bits per pixel", bpp);
  if (compress == 1 || compress == 2) return bad(g, "RLE compression is not supported");
  if (compress != 0 && !(compress == 3 && (bpp == 16 || bpp == 32))) return bad(g, "compression %d", compress);
  long long extra = 14; /* bytes before the header stb counts */
  if ((hsz == 40 || hsz == 56) && (bpp == 16 || bpp == 32) && compress == 3) {
    extra += 12;
    if ((long long)g->n < extra + hsz) return bad(g, "truncated: the colour masks are cut off");
  }
  const long long header_end = extra + hsz;
  if (offset < header_end || offset > (long long)g->n)
    return bad(g, "pixel data offset %lld is outside bytes %lld..%zu", offset, header_end, g->n);
  long long row, psize = 0;
  if (bpp < 16) {
    /* stb's palette size, from the gap before the pixels */
    psize = hsz == 12 ? (offset - extra - 24) / 3 : (offset - extra - hsz) >> 2;
    if (psize < 1 || psize > 256) return bad(g, "a palette of %lld entries", psize);
    row = bpp == 1 ? (w + 7) / 8 : bpp == 4 ? (w + 1) / 2 : w;
  } else {
    row = w * (bpp / 8);
  }
  const long long pad = bpp == 32 ? 0 : (-row) & 3;
  if (offset + (h - 1) * (row + pad) + row > (long long)g->n)
    return bad(g, "truncated: %lldx%lld pixels need %lld bytes from byte %lld, the file has %zu", w, h,
               h * (row + pad), offset, g->n);
  /* stb reads palette entries past the file's as uninitialised memory */
  for (long long y = 0; bpp < 16 && y < h; y++) {
    const uint8_t *r = g->b + offset + y * (row + pad);
    for (long long x = 0; x < w; x++) {
      const int v = bpp == 8 ? r[x] : bpp == 4 ? (r[x / 2] >> (x % 2 ? 0 : 4)) & 15 : (r[x / 8] >> (7 - x % 8)) & 1;
      if (v >= psize)
        return bad(g, "pixel (%lld, %lld) is palette entry %d of a palette of %lld", x, y, v, psize);
    }
  }
  return 0;
}

/* ---- PGM / PPM (binary): stb's header parse, then the samples ------------------------------ */

typedef struct pnm_reader {
  const guard *g;
  size_t pos;
} pnm_reader;

static int pnm_eof(const pnm_reader *r) { return r->pos >= r->g->n; }
static int pnm_get(pnm_reader *r) { return pnm_eof(r) ? 0 : r->g->b[r->pos++]; }
static int pnm_space(int c) { return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'; }

static void pnm_skip(pnm_reader *r, int *c) {
  for (;;) {
    while (!pnm_eof(r) && pnm_space(*c)) *c = pnm_get(r);
    if (pnm_eof(r) || *c != '#') break;
    while (!pnm_eof(r) && *c != '\n' && *c != '\r') *c = pnm_get(r);
  }
}

/* A decimal number of at most 9 digits (stb's int would overflow). */
static int pnm_number(pnm_reader *r, int *c, const char *what, long long *v) {
  int digits = 0;
  *v = 0;
  while (!pnm_eof(r) && *c >= '0' && *c <= '9') {
    if (++digits > 9) return bad(r->g, "the %s has more than 9 digits", what);
    *v = *v * 10 + (*c - '0');
    *c = pnm_get(r);
  }
  if (!digits) return bad(r->g, "no %s in the header", what);
  return 0;
}

static int guard_pnm(const guard *g) {
  pnm_reader r = {g, 2};
  const int channels = g->b[1] == '6' ? 3 : 1;
  long long w, h, maxval;
  int c = pnm_get(&r);
  pnm_skip(&r, &c);
  GPD_TRY(pnm_number(&r, &c, "width", &w));
  pnm_skip(&r, &c);
  GPD_TRY(pnm_number(&r, &c, "height", &h));
  pnm_skip(&r, &c);
  GPD_TRY(pnm_number(&r, &c, "maximum value", &maxval));
  if (!pnm_space(c)) return bad(g, "truncated or malformed: no whitespace after the header's maximum value");
  GPD_TRY(check_size(g, w, h));
  if (maxval < 1 || maxval > 65535) return bad(g, "maximum value %lld (1..65535)", maxval);
  const long long need = w * h * channels * (maxval > 255 ? 2 : 1);
  if (need > (long long)(g->n - r.pos))
    return bad(g, "truncated: %lldx%lld pixels need %lld bytes after the header, the file has %zu", w, h, need,
               g->n - r.pos);
  return 0;
}

/* ---- TGA: stb's test of the header, then palette and pixels ----------------------------------- */

/* The header stb takes for a TGA (stbi__tga_test): TGA has no magic. */
static int tga_header_ok(const uint8_t *b, size_t n) {
  if (n < 18 || b[1] > 1) return 0;
  const int type = b[2], bpp = b[16];
  if (b[1] == 1) {
    if (type != 1 && type != 9) return 0;
    if (b[7] != 8 && b[7] != 15 && b[7] != 16 && b[7] != 24 && b[7] != 32) return 0;
    if (bpp != 8 && bpp != 16) return 0;
  } else if (type != 2 && type != 3 && type != 10 && type != 11) {
    return 0;
  }
  if (le16(b + 12) < 1 || le16(b + 14) < 1) return 0;
  return bpp == 8 || bpp == 15 || bpp == 16 || bpp == 24 || bpp == 32;
}

/* Bytes per pixel (or palette entry) as stb reads them. */
static int tga_bytes(int bits) { return bits == 8 ? 1 : bits == 15 || bits == 16 ? 2 : bits == 24 ? 3 : 4; }

static int guard_tga(const guard *g) {
  const uint8_t *b = g->b;
  const int indexed = b[1], rle = b[2] >= 8;
  const long long w = le16(b + 12), h = le16(b + 14);
  GPD_TRY(check_size(g, w, h));
  size_t pos = 18 + (size_t)b[0];
  if (indexed) {
    const size_t start = le16(b + 3), len = le16(b + 5);
    if (len == 0) return bad(g, "an empty palette");
    pos += start + len * (size_t)tga_bytes(b[7]);
  }
  if (pos > g->n) return bad(g, "truncated: the header and palette need %zu bytes, the file has %zu", pos, g->n);
  const size_t px = (size_t)tga_bytes(b[16]), pixels = (size_t)(w * h);
  if (!rle) {
    if (pixels * px > g->n - pos)
      return bad(g, "truncated: %lldx%lld pixels need %zu bytes, %zu remain", w, h, pixels * px, g->n - pos);
    return 0;
  }
  for (size_t done = 0; done < pixels;) {
    if (pos >= g->n) return bad(g, "truncated: the run-length data ends after %zu of %zu pixels", done, pixels);
    const int head = b[pos++];
    const size_t run = 1 + (size_t)(head & 127), left = pixels - done;
    const size_t bytes = (head & 128) ? px : (run < left ? run : left) * px;
    if (bytes > g->n - pos) return bad(g, "truncated: the run-length data ends after %zu of %zu pixels", done, pixels);
    pos += bytes;
    done += run < left ? run : left;
  }
  return 0;
}

/* ---- which format ------------------------------------------------------------------------------- */

int gpd_image_guard(const unsigned char *b, size_t n, const char *name, gpd_image_format *format) {
  guard g = {b, n, name, "?"};
  static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
  int rc;
  if (n == 0) return gpd_error("image '%s' is empty (0 bytes)", name);
  /* the order stb tries its decoders in */
  size_t ff = 0;
  while (ff < n && b[ff] == 0xFF) ff++;
  if (ff > 0 && ff < n && b[ff] == 0xD8) {
    g.format = "JPEG";
    *format = GPD_IMAGE_JPEG;
    rc = guard_jpeg(&g, ff + 1);
  } else if (n >= 8 && !memcmp(b, png_sig, 8)) {
    g.format = "PNG";
    *format = GPD_IMAGE_PNG;
    rc = guard_png(&g);
  } else if (n >= 2 && b[0] == 'B' && b[1] == 'M') {
    g.format = "BMP";
    *format = GPD_IMAGE_BMP;
    rc = guard_bmp(&g);
  } else if ((n >= 4 && (!memcmp(b, "GIF8", 4) || !memcmp(b, "8BPS", 4) || !memcmp(b, "\x53\x80\xF6\x34", 4))) ||
             (n >= 2 && !memcmp(b, "#?", 2))) {
    return gpd_error("image '%s' is a GIF, PSD, PIC or HDR file; convert it to PNG", name);
  } else if (n >= 2 && b[0] == 'P' && (b[1] == '5' || b[1] == '6')) {
    g.format = b[1] == '5' ? "PGM" : "PPM";
    *format = GPD_IMAGE_PNM;
    rc = guard_pnm(&g);
  } else if (n >= 2 && b[0] == 'P' && b[1] >= '1' && b[1] <= '7') {
    return gpd_error("image '%s' is a text or bitmap PNM (P%c); only binary PGM (P5) and PPM (P6) are read", name, b[1]);
  } else if (tga_header_ok(b, n)) {
    g.format = "TGA";
    *format = GPD_IMAGE_TGA;
    rc = guard_tga(&g);
  } else {
    return gpd_error("image '%s' is not a PNG, JPEG, BMP, PGM/PPM or TGA file", name);
  }
  return rc;
}
