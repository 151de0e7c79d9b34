/* Paths as recorded in files that ship (weights metadata, eval manifests,
 * checkpoints that may be committed): relative to the repository, so that
 * nothing written names a folder of the machine it was made on.
 *
 * The repository is the source tree the library was built from
 * (GPD_REPO_DIR, compiled in). A data folder beside it, given as
 * "../shared/data/celeba" from the repository root or as the absolute
 * "/srv/x/shared/data/celeba", is recorded as "../shared/data/celeba";
 * a shipped weights file as "weights/blur_vae.safetensors". */
#ifndef GPD_REPO_PATH_H
#define GPD_REPO_PATH_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The repository root (absolute, no trailing slash). */
const char *gpd_repo_dir(void);

/* path (absolute, or relative to the working directory) relative to the
 * repository root, into out ("." for the root itself). Lexical: "." and
 * ".." are resolved by name, links are not followed. When the working
 * directory cannot be read, or out is too small, out gets path unchanged
 * (truncated to size). */
void gpd_repo_relative(const char *path, char *out, size_t size);

/* text with every absolute path in it (a '/' that starts a word: at the
 * start or after a space, '(', '=', ',', a quote) rewritten by
 * gpd_repo_relative; a path ends at whitespace, ':', ',', ')' or a quote.
 * For free-form descriptions ("/data/celeba: 8000 images ..."). */
void gpd_repo_relative_text(const char *text, char *out, size_t size);

#ifdef __cplusplus
}
#endif
#endif
