/* gpdeblur: blind image deconvolution with deep generative priors.
 * `gpdeblur <subcommand> [options]`; each subcommand lives in
 * host/cli/cmd_<name>.c and has its own --help. */
#include <stdio.h>
#include <string.h>

#include "gpd/cli.h"
#include "gpd/version.h"

int gpd_cmd_info(int argc, char **argv);
int gpd_cmd_kernels(int argc, char **argv);
int gpd_cmd_blur(int argc, char **argv);
int gpd_cmd_metrics(int argc, char **argv);
int gpd_cmd_train(int argc, char **argv);
int gpd_cmd_evalgen(int argc, char **argv);
int gpd_cmd_deblur(int argc, char **argv);
int gpd_cmd_project(int argc, char **argv);
int gpd_cmd_eval(int argc, char **argv);
int gpd_cmd_eval_merge(int argc, char **argv);
int gpd_cmd_sweep(int argc, char **argv);
int gpd_cmd_montage(int argc, char **argv);

static const struct {
  const char *name;
  gpd_cmd_fn fn;
  const char *summary;
} commands[] = {
    {"kernels", gpd_cmd_kernels, "write N motion or Gaussian blur kernels from a seed"},
    {"blur", gpd_cmd_blur, "blur a sharp image with a kernel and add noise"},
    {"metrics", gpd_cmd_metrics, "PSNR and SSIM between two images"},
    {"info", gpd_cmd_info, "architecture, tensors and parameter count of a weights file"},
    {"train", gpd_cmd_train, "train a generator (blur VAE, SVHN VAE, DCGAN) with checkpoints"},
    {"evalgen", gpd_cmd_evalgen, "reconstruction / range error of a generator on held-out data"},
    {"deblur", gpd_cmd_deblur, "blind deblurring with generative priors (naive, Algorithm 1, 2, 3)"},
    {"project", gpd_cmd_project, "closest image to a sharp image in a generator's range"},
    {"eval", gpd_cmd_eval, "deblur a test set: resumable results CSV, summary, Table V report"},
    {"eval-merge", gpd_cmd_eval_merge, "combine the results CSVs of eval shards"},
    {"sweep", gpd_cmd_sweep, "evaluate over noise sigma, blur length or restarts (Fig. 8, 14, 11)"},
    {"montage", gpd_cmd_montage, "images and kernels side by side in one PNG"},
};

static void usage(FILE *f) {
  fprintf(f, "usage: gpdeblur <subcommand> [options]\n\n"
             "Blind image deconvolution with deep generative priors (Asim, Shamshad, Ahmed).\n\nsubcommands:\n");
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
  fprintf(f, "\n'gpdeblur <subcommand> --help' describes each; 'gpdeblur --version' says which build\n"
             "this is and the libraries each engine (ref, cpu, cuda) runs on.\n");
}

int main(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
    usage(stdout);
    return 0;
  }
  if (!strcmp(argv[1], "--version")) {
    char libraries[2048];
    gpd_library_versions(libraries, sizeof libraries);
    printf("gpdeblur %s\n%s", gpd_version(), libraries);
    return 0;
  }
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    if (!strcmp(argv[1], commands[i].name)) return commands[i].fn(argc - 1, argv + 1);
  fprintf(stderr, "gpdeblur: unknown subcommand '%s'; see 'gpdeblur --help'\n", argv[1]);
  return 2;
}
