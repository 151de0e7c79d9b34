/* Range projection (Section V-C): the closest image to a sharp image in the
 * range of G_I, i_range = G_I(argmin_z mean((G_I(z) - i_sharp)^2)), which
 * measures what a generator can represent (the range error, eq. 13).
 *
 * The paper runs 10,000 (CelebA) gradient descent steps of 0.001 on this;
 * we use Adam from adam_lr = 0.05 decaying as exp(-t / lr_decay) for 3,000
 * steps by default: Adam does not care that the loss is a mean over pixels
 * (tiny gradients), the large early steps move z across the latent space and
 * the decayed late ones settle it. Restarts are the batch; the best is the
 * lowest range error. The objective is naive deblurring's (alg_naive.c)
 * with the sharp image as its target. */
#include <math.h>
#include <stdlib.h>

#include "gpd/metrics.h"
#include "solve_internal.h"

int range_solve(const solve_inputs *in, const gpd_solve_plan *plan, gpd_solve_result *res) {
  GPD_TRY(solve_batched(in, range_create, plan, res));
  /* PSNR of the generator's window that the sharp image is compared with */
  for (int j = 0; j < solve_inputs_images(in); j++) {
    if (res[j].chosen < 0) continue;
    const gpd_image *sharp = solve_inputs_image(in, j);
    gpd_image win = {0};
    const gpd_image *cmp = &res[j].range_image;
    if (cmp->h != sharp->h || cmp->w != sharp->w) {
      GPD_TRY(gpd_solve_window(cmp, sharp->h, sharp->w, &win));
      cmp = &win;
    }
    res[j].range_psnr = gpd_psnr(cmp->data, sharp->data, sharp->c, sharp->h, sharp->w);
    gpd_image_free(&win);
  }
  return 0;
}
