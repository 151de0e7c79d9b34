/* The training loop: epochs of shuffled batches, the loss log, checkpoints
 * with sample grids, snapshots of the shipped net, resuming. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gpd/common.h"
#include "gpd/train.h"
#include "train_internal.h"

static void add_losses(gpd_train_losses *sum, const gpd_train_losses *x) {
  sum->loss += x->loss;
  sum->recon += x->recon;
  sum->kl += x->kl;
  sum->g_loss += x->g_loss;
  sum->d_real += x->d_real;
  sum->d_fake += x->d_fake;
}

static void scale_losses(gpd_train_losses *x, double s) {
  x->loss *= s;
  x->recon *= s;
  x->kl *= s;
  x->g_loss *= s;
  x->d_real *= s;
  x->d_fake *= s;
}

static int ensure_dir(const char *dir) {
  struct stat sb;
  if (stat(dir, &sb) == 0) return S_ISDIR(sb.st_mode) ? 0 : gpd_error("%s: exists and is not a folder", dir);
  if (mkdir(dir, 0777) != 0) return gpd_error("%s: cannot create the checkpoint folder (%s)", dir, strerror(errno));
  return 0;
}

static int write_checkpoint(gpd_trainer *t, const char *dir) {
  char path[1100];
  snprintf(path, sizeof path, "%s/checkpoint.safetensors", dir);
  GPD_TRY(gpd_checkpoint_save(t, path, t->data_description));
  if (t->cfg.grid > 0) {
    snprintf(path, sizeof path, "%s/samples_%08ld.png", dir, t->step);
    GPD_TRY(gpd_train_sample_grid(t, t->cfg.grid, t->cfg.seed, path));
  }
  return 0;
}

/* The file that would ship now, kept beside the checkpoint. */
static int write_snapshot(gpd_trainer *t, const char *dir) {
  char path[1100];
  snprintf(path, sizeof path, "%s/snapshot_%08ld.safetensors", dir, t->step);
  return gpd_train_save_output(t, path, NULL);
}

int gpd_train_run(gpd_trainer *t, const gpd_dataset *ds) {
  const gpd_train_config *c = &t->cfg;
  const gpd_net *g = &t->nets[1];
  if (ds->c != g->out_c || ds->h != g->out_h || ds->w != g->out_w)
    return gpd_error("data items are %dx%dx%d but %s makes %dx%dx%d", ds->c, ds->h, ds->w, c->arch.name, g->out_c, g->out_h, g->out_w);
  long n = ds->count, spe = n / c->batch;
  if (spe < 1) return gpd_error("the data set has %ld items, fewer than one batch of %d", n, c->batch);
  t->steps_per_epoch = spe;
  snprintf(t->data_description, sizeof t->data_description, "%s", ds->description);
  long total = c->max_steps > 0 ? c->max_steps : (long)c->epochs * spe;
  const char *dir = c->checkpoint_dir;
  char ckpt[1100], logpath[1100];
  gpd_train_log log = {0};
  if (dir) {
    GPD_TRY(ensure_dir(dir));
    snprintf(ckpt, sizeof ckpt, "%s/checkpoint.safetensors", dir);
    snprintf(logpath, sizeof logpath, "%s/loss.csv", dir);
    GPD_TRY(gpd_trainer_latent_table(t, n));
    if (c->resume && access(ckpt, F_OK) == 0) GPD_TRY(gpd_checkpoint_load(t, ckpt));
    if (t->latent_fresh && c->latent_init_steps > 0) {
      /* the projection is part of the state a resume starts from */
      GPD_TRY(gpd_train_latents_project(t, ds));
      GPD_TRY(write_checkpoint(t, dir));
    }
    GPD_TRY(gpd_train_log_open(&log, logpath, t->kind, t->latent_table != NULL, t->step));
  } else if (c->resume) {
    return gpd_error("--resume needs --checkpoint-dir");
  } else {
    GPD_TRY(gpd_trainer_latent_table(t, n));
    GPD_TRY(gpd_train_latents_project(t, ds));
  }
  /* what this run trains with, from where it starts */
  GPD_TRY(gpd_train_history_note(t->precision_history, sizeof t->precision_history, gpd_precision_name(t->e->precision),
                                 t->step));
  if (t->latent_table) {
    char weight[32];
    snprintf(weight, sizeof weight, "%g", c->recon_weight);
    GPD_TRY(gpd_train_history_note(t->recon_history, sizeof t->recon_history, weight, t->step));
  }
  size_t item = gpd_dataset_item_size(ds);
  long *perm = gpd_malloc((size_t)n * sizeof *perm, "the data order");
  float *batch = gpd_malloc((size_t)c->batch * item * sizeof(float), "a host batch");
  int rc = -1;
  if (!perm || !batch) goto done;
  int perm_epoch = -1;
  gpd_train_status st;
  memset(&st, 0, sizeof st);
  st.total_steps = total;
  st.epochs = c->max_steps > 0 ? (int)((total + spe - 1) / spe) : c->epochs;
  long window_steps = 0;
  double window_seconds = 0, last_ckpt = gpd_seconds();
  while (t->step < total) {
    if (c->stop && *c->stop) break;
    int epoch = (int)(t->step / spe);
    long pos = t->step % spe;
    if (epoch != perm_epoch) {
      gpd_train_permutation(c->seed, epoch, n, perm);
      perm_epoch = epoch;
    }
    double t0 = gpd_seconds();
    if (gpd_dataset_batch(ds, perm + pos * c->batch, c->batch, batch) != 0) goto done;
    gpd_train_losses losses;
    if (gpd_trainer_step(t, batch, perm + pos * c->batch, &losses) != 0) goto done;
    double dt = gpd_seconds() - t0;
    t->seconds += dt;
    window_seconds += dt;
    window_steps++;
    add_losses(&st.avg, &losses);
    st.last = losses;
    st.step = t->step;
    st.epoch = (int)((t->step - 1) / spe);
    st.seconds = t->seconds;
    st.images_per_second = window_seconds > 0 ? (double)window_steps * c->batch / window_seconds : 0;
    if (c->progress) {
      gpd_train_status shown = st;
      scale_losses(&shown.avg, 1.0 / (double)window_steps);
      c->progress(c->progress_ctx, &shown);
    }
    if (c->log_every > 0 && (t->step % c->log_every == 0 || t->step == total)) {
      scale_losses(&st.avg, 1.0 / (double)window_steps);
      if (gpd_train_log_row(&log, &st) != 0) goto done;
      memset(&st.avg, 0, sizeof st.avg);
      window_steps = 0;
      window_seconds = 0;
    }
    if (dir && c->snapshot_steps > 0 && t->step % c->snapshot_steps == 0 && write_snapshot(t, dir) != 0) goto done;
    int due = (c->checkpoint_steps > 0 && t->step % c->checkpoint_steps == 0) ||
              (c->checkpoint_seconds > 0 && gpd_seconds() - last_ckpt >= c->checkpoint_seconds);
    if (dir && due && t->step < total) {
      if (write_checkpoint(t, dir) != 0) goto done;
      last_ckpt = gpd_seconds();
    }
  }
  if (dir && write_checkpoint(t, dir) != 0) goto done;
  rc = 0;
done:
  gpd_train_log_close(&log);
  free(perm);
  free(batch);
  return rc;
}
