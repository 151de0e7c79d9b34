/* safetensors reading, writing and network load / save:
 *  - a written file reads back bit for bit, in the reference layout
 *    (8-byte aligned header padded with spaces, tensors sorted by name);
 *  - damaged files (a header length that lies, offsets outside the data,
 *    sizes that do not match the shape, overlaps, bad JSON) are refused with
 *    a message naming the file and the problem;
 *  - F16 / BF16 tensors convert to known float values;
 *  - a network saved and loaded keeps its weights and running statistics;
 *    a tensor of the wrong shape for the file's architecture, or a missing
 *    one, is refused naming the tensor;
 *  - a file written by PyTorch (tests/fixtures/dcgan_torch.safetensors, by
 *    scripts/make_net_fixtures.py) loads. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "gpd/common.h"
#include "gpd/weights.h"

/* Writes 8-byte length + header + data exactly as given (hlen may lie). */
static void write_raw(const char *path, uint64_t hlen, const char *header, const void *data, size_t data_size) {
  FILE *f = fopen(path, "wb");
  if (!f) {
    perror(path);
    exit(1);
  }
  uint8_t b[8];
  for (int i = 0; i < 8; i++) b[i] = (uint8_t)(hlen >> (8 * i));
  fwrite(b, 1, 8, f);
  fwrite(header, 1, strlen(header), f);
  if (data_size) fwrite(data, 1, data_size, f);
  fclose(f);
}

static void write_file(const char *path, const char *header, const void *data, size_t data_size) {
  write_raw(path, strlen(header), header, data, data_size);
}

/* Expects gpd_st_read to fail with a message containing each of the words. */
static void expect_refused(const char *path, const char *what, const char *w1, const char *w2) {
  gpd_safetensors st;
  gpd_clear_error();
  int rc = gpd_st_read(&st, path);
  CHECK(rc != 0, "%s: a damaged file was accepted", what);
  if (rc) {
    const char *msg = gpd_last_error();
    CHECK(strstr(msg, path) != NULL, "%s: message does not name the file: %s", what, msg);
    CHECK(strstr(msg, w1) != NULL, "%s: message lacks '%s': %s", what, w1, msg);
    if (w2) CHECK(strstr(msg, w2) != NULL, "%s: message lacks '%s': %s", what, w2, msg);
  } else {
    gpd_st_free(&st);
  }
}

static void test_round_trip(void) {
  float a[4] = {1.5f, -2.25f, 3.0e-38f, 1.0f / 3.0f};
  float b[6] = {0.0f, -0.0f, 65504.0f, 1e-45f, 7.0f, -1e30f};
  float s[1] = {42.0f};
  int64_t sa[1] = {4}, sb[2] = {2, 3}, se[2] = {0, 3};
  gpd_st_writer *w = gpd_st_writer_create();
  CHECK_OK(gpd_st_writer_add(w, "layer.b", 2, sb, b));
  CHECK_OK(gpd_st_writer_add(w, "layer.a", 1, sa, a));
  CHECK_OK(gpd_st_writer_add(w, "empty", 2, se, NULL));
  CHECK_OK(gpd_st_writer_add(w, "scalar", 0, NULL, s));
  CHECK(gpd_st_writer_add(w, "layer.a", 1, sa, a) != 0, "a duplicate tensor name was accepted");
  CHECK(gpd_st_writer_add(w, "bad\"name", 1, sa, a) != 0, "a name that would break the JSON was accepted");
  CHECK_OK(gpd_st_writer_meta(w, "zeta", "last"));
  CHECK_OK(gpd_st_writer_meta(w, "arch", "blur_vae"));
  const char *path = check_tmp_path("round.safetensors");
  CHECK_OK(gpd_st_writer_save(w, path));
  gpd_st_writer_free(w);

  /* The reference layout: header length a multiple of 8, padded with
   * spaces, metadata first, tensors in name order with packed offsets. */
  FILE *f = fopen(path, "rb");
  uint8_t lb[8];
  CHECK(f && fread(lb, 1, 8, f) == 8, "cannot reread %s", path);
  uint64_t hlen = 0;
  for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | lb[i];
  char header[1024] = {0};
  CHECK(hlen < sizeof header && fread(header, 1, hlen, f) == hlen, "header of %llu bytes", (unsigned long long)hlen);
  fclose(f);
  CHECK(hlen % 8 == 0, "header length %llu is not a multiple of 8", (unsigned long long)hlen);
  const char *expect =
      "{\"__metadata__\":{\"arch\":\"blur_vae\",\"zeta\":\"last\"},"
      "\"empty\":{\"dtype\":\"F32\",\"shape\":[0,3],\"data_offsets\":[0,0]},"
      "\"layer.a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
      "\"layer.b\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[16,40]},"
      "\"scalar\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[40,44]}}";
  CHECK(!strncmp(header, expect, strlen(expect)), "header differs from the reference layout:\n%s\nexpected\n%s", header,
        expect);
  for (size_t i = strlen(expect); i < hlen; i++) CHECK(header[i] == ' ', "header padding byte %zu is 0x%02x", i, header[i]);
  DIR *dir = opendir(check_tmp);
  for (struct dirent *de; dir && (de = readdir(dir));)
    CHECK(!strstr(de->d_name, "tmp"), "temporary file %s left behind", de->d_name);
  if (dir) closedir(dir);

  gpd_safetensors st;
  CHECK_OK(gpd_st_read(&st, path));
  CHECK(st.n_tensors == 4, "%d tensors read", st.n_tensors);
  CHECK(st.n_meta == 2, "%d metadata entries read", st.n_meta);
  const char *arch = gpd_st_meta_get(&st, "arch"), *zeta = gpd_st_meta_get(&st, "zeta");
  CHECK(arch && !strcmp(arch, "blur_vae"), "metadata arch is %s", arch ? arch : "(absent)");
  CHECK(zeta && !strcmp(zeta, "last"), "metadata zeta is %s", zeta ? zeta : "(absent)");
  CHECK(gpd_st_meta_get(&st, "nothing") == NULL, "absent metadata key found");
  const gpd_st_tensor *ta = gpd_st_find(&st, "layer.a"), *tb = gpd_st_find(&st, "layer.b"),
                      *ts = gpd_st_find(&st, "scalar"), *te = gpd_st_find(&st, "empty");
  CHECK(ta && tb && ts && te, "tensors missing after the round trip");
  CHECK(gpd_st_find(&st, "layer.c") == NULL, "absent tensor found");
  if (ta && tb && ts && te) {
    float ra[4], rb[6], rs[1];
    CHECK(!strcmp(ta->dtype, "F32") && ta->ndim == 1 && ta->shape[0] == 4, "layer.a header");
    CHECK(tb->ndim == 2 && tb->shape[0] == 2 && tb->shape[1] == 3, "layer.b shape");
    CHECK(ts->ndim == 0 && te->ndim == 2 && te->shape[0] == 0, "scalar / empty shapes");
    CHECK_OK(gpd_st_tensor_to_f32(&st, ta, ra, 4));
    CHECK_OK(gpd_st_tensor_to_f32(&st, tb, rb, 6));
    CHECK_OK(gpd_st_tensor_to_f32(&st, ts, rs, 1));
    CHECK(!memcmp(ra, a, sizeof a) && !memcmp(rb, b, sizeof b) && rs[0] == 42.0f, "data differs after the round trip");
    CHECK(gpd_st_tensor_to_f32(&st, ta, ra, 3) != 0, "a count that differs from the shape was accepted");
  }
  gpd_st_free(&st);
}

static void test_damaged_files(void) {
  float data[4] = {1, 2, 3, 4};
  const char *p = check_tmp_path("bad.safetensors");

  write_raw(p, 123456789ULL, "{}", NULL, 0);
  expect_refused(p, "lying header length", "header length 123456789 exceeds file size 10", NULL);

  FILE *f = fopen(p, "wb");
  fwrite("abc", 1, 3, f);
  fclose(f);
  expect_refused(p, "3-byte file", "too short", NULL);

  write_file(p, "{\"t\":{\"dtype\":\"F32\",\"shape\":[100],\"data_offsets\":[0,400]}}", data, sizeof data);
  expect_refused(p, "offsets past the data", "tensor t", "exceed the data section of 16 bytes");

  write_file(p, "{\"t\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,8]}}", data, sizeof data);
  expect_refused(p, "size not matching the shape", "tensor t", "needs 16");

  write_file(p, "{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]}}", data, sizeof data);
  expect_refused(p, "backwards offsets", "tensor t", "backwards");

  write_file(p,
             "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
             "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
             data, sizeof data);
  expect_refused(p, "overlapping tensors", "overlap", NULL);

  write_file(p, "{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}", data, sizeof data);
  expect_refused(p, "truncated JSON", "not valid JSON", NULL);

  write_file(p, "{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"t\":{}}", data, sizeof data);
  expect_refused(p, "duplicate tensor", "duplicate key", NULL);

  write_file(p, "{\"t\":{\"dtype\":\"Q4\",\"shape\":[1],\"data_offsets\":[0,4]}}", data, sizeof data);
  expect_refused(p, "unknown dtype", "unknown dtype", "Q4");

  write_file(p, "{\"t\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", data, sizeof data);
  expect_refused(p, "negative dimension", "shape entry 0", NULL);

  write_file(p, "{\"__metadata__\":{\"arch\":5}}", data, 0);
  expect_refused(p, "non-string metadata", "__metadata__", "arch");

  write_file(p, "[1,2]", data, 0);
  expect_refused(p, "array header", "expected an object", NULL);

  expect_refused(check_tmp_path("does-not-exist.safetensors"), "missing file", "cannot open", NULL);

  /* the tensors tile the data section: bytes before, between or after
   * them mean the offsets do not describe the data */
  write_file(p, "{\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", data, sizeof data);
  expect_refused(p, "bytes after the last tensor", "the last 8 belong to none", NULL);
  write_file(p, "{\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}", data, sizeof data);
  expect_refused(p, "bytes before the first tensor", "[0, 8) belong to no tensor", NULL);
  write_file(p,
             "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
             "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}",
             data, sizeof data);
  expect_refused(p, "a gap between tensors", "[4, 8) belong to no tensor", "before b");
  expect_refused(check_tmp_path(""), "a folder", "is a directory", NULL);

  /* weights are finite: a NaN is refused naming the file, tensor and element */
  float nan_data[3] = {1, NAN, 2};
  write_file(p, "{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]}}", nan_data, sizeof nan_data);
  gpd_safetensors st;
  float out[3];
  CHECK_OK(gpd_st_read(&st, p));
  if (st.n_tensors == 1) {
    CHECK_OK(gpd_st_tensor_to_f32(&st, &st.tensors[0], out, 3));
    CHECK(gpd_st_tensor_to_finite_f32(&st, &st.tensors[0], out, 3) != 0 && strstr(gpd_last_error(), p) &&
              strstr(gpd_last_error(), "tensor w holds nan at element 1"),
          "a NaN weight: %s", gpd_last_error());
    gpd_st_free(&st);
  }
}

static void test_half_types(void) {
  /* F16: 1, -2, 65504 (largest), 2^-24 (smallest subnormal), -0, 1/3 rounded, +inf.
   * BF16: 1, -5, 3.140625. I64 cannot be read as float. */
  uint16_t h[7] = {0x3C00, 0xC000, 0x7BFF, 0x0001, 0x8000, 0x3555, 0x7C00};
  uint16_t bf[3] = {0x3F80, 0xC0A0, 0x4049};
  int64_t i64[1] = {7};
  uint8_t data[14 + 6 + 8];
  memcpy(data, h, 14);
  memcpy(data + 14, bf, 6);
  memcpy(data + 20, i64, 8);
  const char *p = check_tmp_path("half.safetensors");
  write_file(p,
             "{\"__metadata__\":{\"format\":\"pt\"},"
             "\"h\":{\"dtype\":\"F16\",\"shape\":[7],\"data_offsets\":[0,14]},"
             "\"bf\":{\"dtype\":\"BF16\",\"shape\":[3],\"data_offsets\":[14,20]},"
             "\"n\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[20,28]}}  ",
             data, sizeof data);
  gpd_safetensors st;
  CHECK_OK(gpd_st_read(&st, p));
  const gpd_st_tensor *th = gpd_st_find(&st, "h"), *tbf = gpd_st_find(&st, "bf"), *tn = gpd_st_find(&st, "n");
  CHECK(th && tbf && tn, "half-precision tensors missing");
  if (th && tbf && tn) {
    float fh[7], fbf[3], fn[1];
    const float eh[7] = {1.0f, -2.0f, 65504.0f, 0x1p-24f, -0.0f, 0.333251953125f, INFINITY};
    const float ebf[3] = {1.0f, -5.0f, 3.140625f};
    CHECK_OK(gpd_st_tensor_to_f32(&st, th, fh, 7));
    CHECK_OK(gpd_st_tensor_to_f32(&st, tbf, fbf, 3));
    CHECK(!memcmp(fh, eh, sizeof eh), "F16 conversion: %g %g %g %g %g %g %g", fh[0], fh[1], fh[2], fh[3], fh[4], fh[5],
          fh[6]);
    CHECK(!memcmp(fbf, ebf, sizeof ebf), "BF16 conversion: %g %g %g", fbf[0], fbf[1], fbf[2]);
    CHECK(gpd_st_tensor_to_f32(&st, tn, fn, 1) != 0, "I64 was converted to float");
  }
  gpd_st_free(&st);
}

/* Saves a network of arch `save_as` but labels the file `label_as`. */
static int save_net_file(gpd_engine *e, const char *path, const gpd_arch *save_as, const gpd_arch *label_as,
                         const char *skip_tensor) {
  const char *roles[2] = {"encoder", "decoder"};
  int vae = !strcmp(save_as->name, "blur_vae") || !strcmp(save_as->name, "svhn_vae");
  gpd_st_writer *w = gpd_st_writer_create();
  int rc = 0;
  for (int r = 0; r < (vae ? 2 : 1) && !rc; r++) {
    gpd_net net;
    rc = gpd_net_build(&net, save_as, vae ? roles[r] : NULL);
    if (!rc) rc = gpd_net_alloc(&net, e);
    if (!rc) rc = gpd_net_init(&net, 1234 + r);
    if (!rc) rc = gpd_weights_add_net(w, &net);
    gpd_net_free(&net);
  }
  if (!rc) rc = gpd_weights_add_arch(w, label_as);
  if (!rc && skip_tensor) {
    /* Rebuild without one tensor: write, read, copy all but it. */
    const char *tmp = check_tmp_path("skip.safetensors");
    rc = gpd_st_writer_save(w, tmp);
    gpd_st_writer_free(w);
    w = gpd_st_writer_create();
    gpd_safetensors st;
    if (!rc) rc = gpd_st_read(&st, tmp);
    for (int i = 0; !rc && i < st.n_tensors; i++) {
      const gpd_st_tensor *t = &st.tensors[i];
      if (!strcmp(t->name, skip_tensor)) continue;
      size_t n = 1;
      for (int d = 0; d < t->ndim; d++) n *= (size_t)t->shape[d];
      float *buf = malloc((n ? n : 1) * sizeof(float));
      rc = gpd_st_tensor_to_f32(&st, t, buf, n);
      if (!rc) rc = gpd_st_writer_add(w, t->name, t->ndim, t->shape, buf);
      free(buf);
    }
    if (!rc) rc = gpd_weights_add_arch(w, label_as);
    gpd_st_free(&st);
  }
  if (!rc) rc = gpd_st_writer_save(w, path);
  gpd_st_writer_free(w);
  return rc;
}

static void test_networks(gpd_engine *e) {
  /* svhn_vae (with batch norm buffers) saved and loaded keeps every number. */
  gpd_arch arch = {"svhn_vae", 16, 3, 32, 4};
  const char *p = check_tmp_path("svhn.safetensors");
  CHECK_OK(save_net_file(e, p, &arch, &arch, NULL));
  const char *roles[2] = {"encoder", "decoder"};
  for (int r = 0; r < 2; r++) {
    gpd_net ref, got;
    CHECK_OK(gpd_net_build(&ref, &arch, roles[r]));
    CHECK_OK(gpd_net_alloc(&ref, e));
    CHECK_OK(gpd_net_init(&ref, 1234 + r));
    if (gpd_weights_load_net(&got, e, p, roles[r]) != 0) {
      CHECK(0, "loading %s %s: %s", p, roles[r], gpd_last_error());
      gpd_net_free(&ref);
      continue;
    }
    CHECK(got.n_params == ref.n_params && got.n_buffers == ref.n_buffers, "sizes differ after loading");
    CHECK(!strcmp(got.arch, "svhn_vae") && !strcmp(got.role, roles[r]), "loaded %s %s", got.arch, got.role);
    CHECK(got.layers[0].in_c == (r ? 16 : 3), "loaded arch has the wrong numbers");
    float *a = malloc(ref.n_params * sizeof(float)), *b = malloc(ref.n_params * sizeof(float));
    e->download(e, a, ref.params, ref.n_params);
    e->download(e, b, got.params, got.n_params);
    CHECK(!memcmp(a, b, ref.n_params * sizeof(float)), "%s parameters differ after save and load", roles[r]);
    free(a);
    free(b);
    gpd_net_free(&ref);
    gpd_net_free(&got);
  }

  /* Running statistics survive too: set them, save, load. */
  {
    gpd_arch d = {"dcgan_tf", 8, 3, 16, 2};
    gpd_net net, got;
    CHECK_OK(gpd_net_build(&net, &d, "generator"));
    CHECK_OK(gpd_net_alloc(&net, e));
    CHECK_OK(gpd_net_init(&net, 9));
    float *buf = malloc(net.n_buffers * sizeof(float));
    for (size_t i = 0; i < net.n_buffers; i++) buf[i] = 0.5f + (float)i * 0.25f;
    e->upload(e, net.buffers, buf, net.n_buffers);
    gpd_st_writer *w = gpd_st_writer_create();
    CHECK_OK(gpd_weights_add_net(w, &net));
    CHECK_OK(gpd_weights_add_arch(w, &d));
    const char *pg = check_tmp_path("gen.safetensors");
    CHECK_OK(gpd_st_writer_save(w, pg));
    gpd_st_writer_free(w);
    if (gpd_weights_load_net(&got, e, pg, "generator") == 0) {
      float *b2 = malloc(net.n_buffers * sizeof(float));
      e->download(e, b2, got.buffers, got.n_buffers);
      CHECK(!memcmp(buf, b2, net.n_buffers * sizeof(float)), "running statistics differ after save and load");
      free(b2);
      gpd_net_free(&got);
    } else {
      CHECK(0, "loading %s: %s", pg, gpd_last_error());
    }
    free(buf);
    gpd_net_free(&net);
  }

  /* A decoder written for latent 49 in a file that says latent 50. */
  gpd_arch a49 = {"blur_vae", 49, 1, 28, 0}, a50 = {"blur_vae", 50, 1, 28, 0};
  p = check_tmp_path("blur_wrong.safetensors");
  CHECK_OK(save_net_file(e, p, &a49, &a50, NULL));
  gpd_net net;
  CHECK(gpd_weights_load_net(&net, e, p, "decoder") != 0, "a decoder with the wrong latent size loaded");
  char expect[700];
  snprintf(expect, sizeof expect, "%s: tensor decoder.0.weight has shape [720, 49], expected [720, 50] for arch blur_vae latent 50", p);
  CHECK(!strcmp(gpd_last_error(), expect), "message: %s\nexpected: %s", gpd_last_error(), expect);
  CHECK(gpd_weights_load_net(&net, e, p, "encoder") != 0, "an encoder with the wrong latent size loaded");
  CHECK(strstr(gpd_last_error(), "encoder.7.weight") && strstr(gpd_last_error(), "[98, 720]"),
        "encoder message: %s", gpd_last_error());
  CHECK(gpd_weights_load_net(&net, e, p, "generator") != 0, "a VAE file loaded as a generator");
  CHECK(strstr(gpd_last_error(), "generator"), "role message: %s", gpd_last_error());

  /* A missing tensor. */
  p = check_tmp_path("blur_missing.safetensors");
  CHECK_OK(save_net_file(e, p, &a50, &a50, "decoder.4.bias"));
  CHECK(gpd_weights_load_net(&net, e, p, "decoder") != 0, "a decoder with a missing tensor loaded");
  CHECK(strstr(gpd_last_error(), "missing tensor decoder.4.bias") != NULL, "message: %s", gpd_last_error());
  CHECK_OK(gpd_weights_load_net(&net, e, p, "encoder")); /* the other role is whole */
  gpd_net_free(&net);

  /* A generator file for a wider network than its metadata says. */
  gpd_arch w8 = {"dcgan_torch", 8, 3, 16, 8}, w4 = {"dcgan_torch", 8, 3, 16, 4};
  p = check_tmp_path("dcgan_wide.safetensors");
  CHECK_OK(save_net_file(e, p, &w8, &w4, NULL));
  CHECK(gpd_weights_load_net(&net, e, p, "generator") != 0, "a wider generator loaded");
  CHECK(strstr(gpd_last_error(), "tensor generator.0.weight has shape [8, 64, 4, 4], expected [8, 32, 4, 4]"),
        "message: %s", gpd_last_error());

  /* No architecture in the metadata. */
  float x[1] = {1};
  int64_t one[1] = {1};
  gpd_st_writer *w = gpd_st_writer_create();
  CHECK_OK(gpd_st_writer_add(w, "generator.0.weight", 1, one, x));
  p = check_tmp_path("noarch.safetensors");
  CHECK_OK(gpd_st_writer_save(w, p));
  gpd_st_writer_free(w);
  CHECK(gpd_weights_load_net(&net, e, p, "generator") != 0, "a file without arch loaded");
  CHECK(strstr(gpd_last_error(), "no \"arch\""), "message: %s", gpd_last_error());
}

static void test_pytorch_file(gpd_engine *e) {
  const char *p = source_path("tests/fixtures/dcgan_torch.safetensors");
  gpd_safetensors st;
  if (gpd_st_read(&st, p) != 0) {
    CHECK(0, "reading the PyTorch fixture: %s", gpd_last_error());
    return;
  }
  gpd_arch arch;
  CHECK_OK(gpd_weights_arch(&st, &arch));
  CHECK(!strcmp(arch.name, "dcgan_torch") && arch.latent == 100 && arch.width == 8 && arch.size == 64,
        "fixture arch %s latent %d width %d size %d", arch.name, arch.latent, arch.width, arch.size);
  const gpd_st_tensor *nbt = gpd_st_find(&st, "generator.1.num_batches_tracked");
  CHECK(nbt && !strcmp(nbt->dtype, "I64"), "PyTorch's num_batches_tracked is not in the fixture");
  gpd_st_free(&st);
  gpd_net net;
  CHECK_OK(gpd_weights_load_net(&net, e, p, "generator"));
  CHECK(net.out_c == 3 && net.out_h == 64 && net.out_w == 64, "fixture generator output %dx%dx%d", net.out_c, net.out_h,
        net.out_w);
  gpd_net_free(&net);
}

int main(void) {
  check_tmp_make("test_safetensors");
  gpd_engine *e = gpd_engine_cpu_create();
  test_round_trip();
  test_damaged_files();
  test_half_types();
  test_networks(e);
  test_pytorch_file(e);
  gpd_engine_destroy(e);
  check_tmp_remove();
  return check_report("test_safetensors");
}
