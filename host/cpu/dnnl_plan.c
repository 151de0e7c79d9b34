/* Planned oneDNN primitives (dnnl_internal.h): created once per shape, run
 * on the caller's plain fp32 tensors with reorders at the edges. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <oneapi/dnnl/dnnl_debug.h>

#include "dnnl_internal.h"
#include "gpd/common.h"

int dnnl_report(dnnl_status_t status, const char *call, const char *op, const char *file, int line) {
  return gpd_error("%s: oneDNN %s failed: %s (%s:%d)", op ? op : "cpu engine", call, dnnl_status2str(status), file,
                   line);
}

dnnl_plan *dnnl_plan_find(dnnl_state *s, const dnnl_plan_key *key) {
  for (dnnl_plan *p = s->plans; p; p = p->next)
    if (!memcmp(&p->key, key, sizeof *key)) return p;
  return NULL;
}

int dnnl_plain_md(dnnl_memory_desc_t *md, int ndims, const dnnl_dims_t dims, dnnl_format_tag_t tag, const char *op) {
  DNNL_CHECK(dnnl_memory_desc_init_by_tag(md, ndims, dims, dnnl_f32, tag), op);
  return 0;
}

int dnnl_any_md(dnnl_memory_desc_t *md, int ndims, const dnnl_dims_t dims, int bf16, const char *op) {
  DNNL_CHECK(dnnl_memory_desc_init_by_tag(md, ndims, dims, bf16 ? dnnl_bf16 : dnnl_f32, dnnl_format_tag_any), op);
  return 0;
}

static void plan_free(dnnl_plan *p) {
  for (int i = 0; i < p->nargs; i++) {
    dnnl_plan_arg *a = &p->args[i];
    if (a->reorder) dnnl_primitive_destroy(a->reorder);
    if (a->user) dnnl_memory_destroy(a->user);
    if (a->inner) dnnl_memory_destroy(a->inner);
    if (a->staging) dnnl_memory_destroy(a->staging);
  }
  if (p->primitive) dnnl_primitive_destroy(p->primitive);
  free(p);
}

void dnnl_plans_free(dnnl_state *s) {
  while (s->plans) {
    dnnl_plan *next = s->plans->next;
    plan_free(s->plans);
    s->plans = next;
  }
}

int dnnl_make_reorder(dnnl_state *s, const dnnl_memory_desc_t *from, const dnnl_memory_desc_t *to,
                        dnnl_primitive_t *out, const char *op) {
  dnnl_primitive_desc_t pd;
  DNNL_CHECK(dnnl_reorder_primitive_desc_create(&pd, from, s->engine, to, s->engine, NULL), op);
  dnnl_status_t st = dnnl_primitive_create(out, pd);
  dnnl_primitive_desc_destroy(pd);
  DNNL_CHECK(st, op);
  return 0;
}

/* The caller's memory, its primitive-side twin where layouts or types
 * differ, and the reorder between them. */
static int plan_arg_init(dnnl_state *s, dnnl_plan_arg *a, const dnnl_plan_arg_spec *spec,
                         const dnnl_memory_desc_t *inner_md, const char *op) {
  a->arg = spec->arg;
  a->output = spec->output;
  a->accumulate = spec->accumulate;
  /* ndims 0: the caller's tensor is already in the primitive's layout */
  const dnnl_memory_desc_t *user_md = spec->user_md.ndims ? &spec->user_md : inner_md;
  a->count = dnnl_memory_desc_get_size(user_md) / sizeof(float);
  DNNL_CHECK(dnnl_memory_create(&a->user, user_md, s->engine, DNNL_MEMORY_NONE), op);
  const int same = dnnl_memory_desc_equal(user_md, inner_md);
  if (same && !a->accumulate) return 0;
  DNNL_CHECK(dnnl_memory_create(&a->inner, inner_md, s->engine, DNNL_MEMORY_ALLOCATE), op);
  if (same) return 0; /* accumulated in the caller's layout: added straight from inner */
  if (!a->output) return dnnl_make_reorder(s, user_md, inner_md, &a->reorder, op);
  if (!a->accumulate) return dnnl_make_reorder(s, inner_md, user_md, &a->reorder, op);
  DNNL_CHECK(dnnl_memory_create(&a->staging, user_md, s->engine, DNNL_MEMORY_ALLOCATE), op);
  return dnnl_make_reorder(s, inner_md, user_md, &a->reorder, op);
}

dnnl_plan *dnnl_plan_create(dnnl_state *s, const dnnl_plan_key *key, const_dnnl_op_desc_t op_desc,
                            const_dnnl_primitive_desc_t hint, int nargs, const dnnl_plan_arg_spec *specs,
                            const char *op) {
  if (nargs > DNNL_PLAN_MAX_ARGS) {
    gpd_error("%s: %d arguments (at most %d)", op, nargs, DNNL_PLAN_MAX_ARGS);
    return NULL;
  }
  dnnl_plan *p = gpd_calloc(1, sizeof *p, "a oneDNN plan");
  if (!p) return NULL;
  p->key = *key;
  dnnl_primitive_desc_t pd = NULL;
  dnnl_status_t st = dnnl_primitive_desc_create(&pd, op_desc, NULL, s->engine, hint);
  if (st != dnnl_success) {
    dnnl_report(st, "dnnl_primitive_desc_create", op, __FILE__, __LINE__);
    free(p);
    return NULL;
  }
  int rc = 0;
  const char *impl = NULL;
  if (dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl) == dnnl_success && impl)
    snprintf(p->impl, sizeof p->impl, "%s", impl);
  for (int i = 0; rc == 0 && i < nargs; i++) {
    const dnnl_memory_desc_t *inner = dnnl_primitive_desc_query_md(pd, dnnl_query_exec_arg_md, specs[i].arg);
    if (!inner) rc = gpd_error("%s: oneDNN has no memory for argument %d", op, specs[i].arg);
    else rc = plan_arg_init(s, &p->args[i], &specs[i], inner, op);
    p->nargs = i + 1;
  }
  if (rc == 0) {
    st = dnnl_primitive_create(&p->primitive, pd);
    if (st != dnnl_success) rc = dnnl_report(st, "dnnl_primitive_create", op, __FILE__, __LINE__);
  }
  dnnl_primitive_desc_destroy(pd);
  if (rc != 0) {
    plan_free(p);
    return NULL;
  }
  p->next = s->plans;
  s->plans = p;
  return p;
}

int dnnl_run_reorder(dnnl_state *s, dnnl_primitive_t r, dnnl_memory_t from, dnnl_memory_t to, const char *op) {
  dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}};
  DNNL_CHECK(dnnl_primitive_execute(r, s->stream, 2, args), op);
  return 0;
}

/* ---- memory held constant ------------------------------------------------------ */

int dnnl_hold_constant(gpd_engine *e, const float *p, size_t count, int constant) {
  dnnl_state *s = dnnl_state_of(e);
  if (constant) {
    /* with no room left the memory is simply not kept: reordered at every call */
    if (s->n_held < DNNL_MAX_HELD) {
      s->held[s->n_held] = p;
      s->held_count[s->n_held] = count;
      s->n_held++;
    }
    return 0;
  }
  for (int i = 0; i < s->n_held; i++)
    if (s->held[i] == p && s->held_count[i] == count) {
      s->held[i] = s->held[s->n_held - 1];
      s->held_count[i] = s->held_count[s->n_held - 1];
      s->n_held--;
      break;
    }
  s->hold_epoch++; /* every form kept so far may be stale from now on */
  return 0;
}

int dnnl_is_held(const dnnl_state *s, const float *p, size_t count) {
  for (int i = 0; i < s->n_held; i++)
    if (p >= s->held[i] && p + count <= s->held[i] + s->held_count[i]) return 1;
  return 0;
}

/* Reorders input a (the caller's tensor p) into its primitive-side form,
 * unless that form was made from p while p was held constant and nothing
 * was released since. */
static int reorder_input(dnnl_state *s, dnnl_plan_arg *a, const float *p, const char *op) {
  if (a->kept == p && a->kept_epoch == s->hold_epoch && dnnl_is_held(s, p, a->count)) return 0;
  a->kept = NULL;
  GPD_TRY(dnnl_run_reorder(s, a->reorder, a->user, a->inner, op));
  if (dnnl_is_held(s, p, a->count)) {
    a->kept = p;
    a->kept_epoch = s->hold_epoch;
  }
  return 0;
}

/* dst += src over count floats */
static void add_into(float *dst, const float *src, size_t count) {
  for (size_t i = 0; i < count; i++) dst[i] += src[i];
}

int dnnl_plan_run(dnnl_state *s, dnnl_plan *p, const float *const *tensors, const char *op) {
  dnnl_exec_arg_t args[DNNL_PLAN_MAX_ARGS];
  for (int i = 0; i < p->nargs; i++) {
    dnnl_plan_arg *a = &p->args[i];
    /* inputs are only read: the cast lets the same memory object carry both */
    DNNL_CHECK(dnnl_memory_set_data_handle(a->user, (void *)tensors[i]), op);
    if (!a->output && a->reorder) GPD_TRY(reorder_input(s, a, tensors[i], op));
    args[i].arg = a->arg;
    args[i].memory = a->inner ? a->inner : a->user;
  }
  DNNL_CHECK(dnnl_primitive_execute(p->primitive, s->stream, p->nargs, args), op);
  for (int i = 0; i < p->nargs; i++) {
    dnnl_plan_arg *a = &p->args[i];
    if (!a->output || !a->inner) continue;
    if (!a->accumulate) {
      GPD_TRY(dnnl_run_reorder(s, a->reorder, a->inner, a->user, op));
      continue;
    }
    dnnl_memory_t plain = a->inner;
    if (a->reorder) {
      GPD_TRY(dnnl_run_reorder(s, a->reorder, a->inner, a->staging, op));
      plain = a->staging;
    }
    DNNL_CHECK(dnnl_stream_wait(s->stream), op);
    void *src = NULL;
    DNNL_CHECK(dnnl_memory_get_data_handle(plain, &src), op);
    add_into((float *)tensors[i], (const float *)src, a->count);
  }
  DNNL_CHECK(dnnl_stream_wait(s->stream), op);
  return 0;
}
