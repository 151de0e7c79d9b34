/* The loss log: a CSV appended and flushed row by row, so a run cut off
 * keeps its history; a resumed run first drops the rows past its checkpoint
 * (it is about to redo those steps). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpd/common.h"
#include "gpd/train.h"

static const char *header(gpd_train_kind kind, int recon) {
  if (kind == GPD_TRAIN_VAE) return "step,epoch,loss,recon,kl,images_per_second,seconds\n";
  return recon ? "step,epoch,d_loss,g_loss,d_real,d_fake,images_per_second,seconds,recon\n"
               : "step,epoch,d_loss,g_loss,d_real,d_fake,images_per_second,seconds\n";
}

/* An existing log must have this run's columns (a run that adds the latent
 * reconstruction to a plain GAN's checkpoint starts a new folder's log). */
static int check_header(const char *path, const char *want) {
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  char line[256] = "";
  int empty = !fgets(line, sizeof line, f);
  fclose(f);
  if (empty || !strcmp(line, want)) return 0;
  line[strcspn(line, "\n")] = 0;
  return gpd_error("%s: its columns are '%s', this run writes '%.*s'; give this run its own --checkpoint-dir", path, line,
                   (int)strcspn(want, "\n"), want);
}

/* Rewrites path keeping the header and the rows whose step <= keep. */
static int truncate_rows(const char *path, long keep) {
  FILE *in = fopen(path, "r");
  if (!in) return 0; /* nothing yet */
  char tmp[1100];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  FILE *out = fopen(tmp, "w");
  if (!out) {
    fclose(in);
    return gpd_error("%s: cannot write (%s)", tmp, strerror(errno));
  }
  char line[1024];
  int first = 1;
  while (fgets(line, sizeof line, in)) {
    char *end;
    long step = strtol(line, &end, 10);
    if (first || (end != line && *end == ',' && step <= keep)) fputs(line, out);
    first = 0;
  }
  fclose(in);
  if (fclose(out) != 0 || rename(tmp, path) != 0) return gpd_error("%s: cannot rewrite the loss log (%s)", path, strerror(errno));
  return 0;
}

int gpd_train_log_open(gpd_train_log *log, const char *path, gpd_train_kind kind, int recon, long keep_steps) {
  log->f = NULL;
  log->kind = kind;
  log->recon = kind == GPD_TRAIN_GAN && recon;
  GPD_TRY(check_header(path, header(kind, log->recon)));
  if (keep_steps >= 0) GPD_TRY(truncate_rows(path, keep_steps));
  log->f = fopen(path, "a");
  if (!log->f) return gpd_error("%s: cannot open the loss log (%s)", path, strerror(errno));
  fseek(log->f, 0, SEEK_END);
  if (ftell(log->f) == 0) fputs(header(kind, log->recon), log->f);
  if (fflush(log->f) != 0) return gpd_error("%s: cannot write the loss log (%s)", path, strerror(errno));
  return 0;
}

int gpd_train_log_row(gpd_train_log *log, const gpd_train_status *s) {
  if (!log->f) return 0;
  const gpd_train_losses *a = &s->avg;
  if (log->kind == GPD_TRAIN_VAE)
    fprintf(log->f, "%ld,%d,%.6g,%.6g,%.6g,%.2f,%.1f\n", s->step, s->epoch, a->loss, a->recon, a->kl, s->images_per_second, s->seconds);
  else
    fprintf(log->f, "%ld,%d,%.6g,%.6g,%.4f,%.4f,%.2f,%.1f%s", s->step, s->epoch, a->loss, a->g_loss, a->d_real, a->d_fake,
            s->images_per_second, s->seconds, log->recon ? "," : "\n");
  if (log->recon) fprintf(log->f, "%.6g\n", a->recon);
  if (fflush(log->f) != 0) return gpd_error("cannot write the loss log (%s)", strerror(errno));
  return 0;
}

void gpd_train_log_close(gpd_train_log *log) {
  if (log->f) fclose(log->f);
  log->f = NULL;
}
