/* Paths written into shipped files are relative to the repository
 * (gpd/repo_path.h): under it, beside it, given relative to another working
 * folder, inside free text, and "." / ".." by name. */
#define _POSIX_C_SOURCE 200809L
#include <unistd.h>

#include "check.h"
#include "gpd/repo_path.h"

static void expect(const char *path, const char *want) {
  char got[1024];
  gpd_repo_relative(path, got, sizeof got);
  CHECK(!strcmp(got, want), "'%s' -> '%s', expected '%s'", path, got, want);
}

static void expect_text(const char *text, const char *want) {
  char got[1024];
  gpd_repo_relative_text(text, got, sizeof got);
  CHECK(!strcmp(got, want), "'%s' -> '%s', expected '%s'", text, got, want);
}

int main(void) {
  const char *root = gpd_repo_dir();
  char p[4096], parent[1024];
  CHECK(root[0] == '/', "the repository root '%s' is not absolute", root);
  snprintf(parent, sizeof parent, "%s", root);
  char *slash = strrchr(parent, '/');
  CHECK(slash && slash != parent, "the repository root '%s' has no parent folder", root);
  if (!slash || slash == parent) return 1;
  *slash = 0;

  expect(root, ".");
  snprintf(p, sizeof p, "%s/weights/blur_vae.safetensors", root);
  expect(p, "weights/blur_vae.safetensors");
  snprintf(p, sizeof p, "%s//weights/./demo/../blur_vae.safetensors", root);
  expect(p, "weights/blur_vae.safetensors");
  snprintf(p, sizeof p, "%s/shared/data/celeba", parent);
  expect(p, "../shared/data/celeba");
  snprintf(p, sizeof p, "%s/shared/data/celeba/", parent);
  expect(p, "../shared/data/celeba");

  /* relative paths are taken from the working folder */
  char cwd[2048];
  CHECK(getcwd(cwd, sizeof cwd) != NULL, "getcwd");
  snprintf(p, sizeof p, "%s/weights", root);
  CHECK(chdir(p) == 0, "chdir %s", p);
  expect("blur_vae.safetensors", "weights/blur_vae.safetensors");
  expect("../../shared/data/celeba", "../shared/data/celeba");
  expect("./demo/../..", ".");
  CHECK(chdir(cwd) == 0, "chdir back");

  /* free text: each absolute path rewritten, the rest kept */
  char text[4096], want[512];
  snprintf(text, sizeof text, "%s/shared/data/celeba: 8000 images 000001.jpg..008000.jpg, center crop 54", parent);
  expect_text(text, "../shared/data/celeba: 8000 images 000001.jpg..008000.jpg, center crop 54");
  snprintf(text, sizeof text, "%s/a.csv %s/out/b.csv (x=%s/c)", root, root, parent);
  snprintf(want, sizeof want, "a.csv out/b.csv (x=../c)");
  expect_text(text, want);
  expect_text("motion kernels 28x28, seeds 0..59999, lengths 5-28", "motion kernels 28x28, seeds 0..59999, lengths 5-28");
  expect_text("a/b and 1/2", "a/b and 1/2");
  return check_failures ? 1 : 0;
}
