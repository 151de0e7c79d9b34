/* The CUDA engine's host-side pieces that need no GPU: the check macros'
 * messages (function name, status name, short file:line), the engine's
 * behaviour when no GPU is present (gpd_cuda_available() is 0 without an
 * error; create fails with a clear message), and the engine-independent
 * graph entry points on the CPU engine. Runs on any machine with a
 * CUDA-enabled build; skips (77) in a build without the CUDA engine. */
#include "check.h"
#include "gpd/common.h"
#include "gpd/engine.h"
#include "gpd/engine_graph.h"

#ifdef GPD_HAVE_CUDA
#include "cuda_check.h"

/* Stand-ins for library calls, returning the status they are given. */
static cudnnStatus_t fake_cudnn_call(cudnnStatus_t s) { return s; }
static cufftResult fake_cufft_call(cufftResult s) { return s; }
static cublasStatus_t fake_cublas_call(cublasStatus_t s) { return s; }
static cudaError_t fake_cuda_call(cudaError_t s) { return s; }

static int line_cudnn, line_cufft, line_cublas, line_cuda;

static int run_cudnn(cudnnStatus_t s) {
  line_cudnn = __LINE__ + 1;
  CUDNN_CHECK(fake_cudnn_call(s));
  return 0;
}
static int run_cufft(cufftResult s) {
  line_cufft = __LINE__ + 1;
  CUFFT_CHECK(fake_cufft_call(s));
  return 0;
}
static int run_cublas(cublasStatus_t s) {
  line_cublas = __LINE__ + 1;
  CUBLAS_CHECK(fake_cublas_call(s));
  return 0;
}
static int run_cuda(cudaError_t s) {
  line_cuda = __LINE__ + 1;
  CUDA_CHECK(fake_cuda_call(s));
  return 0;
}

static void expect_message(const char *got, const char *want) {
  CHECK(!strcmp(got, want), "message\n    got:      '%s'\n    expected: '%s'", got, want);
}

static void test_macros(void) {
  char want[256];
  CHECK(run_cudnn(CUDNN_STATUS_SUCCESS) == 0, "success reported as failure");
  CHECK(run_cufft(CUFFT_SUCCESS) == 0, "success reported as failure");
  CHECK(run_cublas(CUBLAS_STATUS_SUCCESS) == 0, "success reported as failure");
  CHECK(run_cuda(cudaSuccess) == 0, "success reported as failure");

  CHECK(run_cudnn(CUDNN_STATUS_BAD_PARAM) == -1, "failure not returned");
  snprintf(want, sizeof want, "fake_cudnn_call failed: %s (tests/test_cuda_check.c:%d)",
           cudnnGetErrorString(CUDNN_STATUS_BAD_PARAM), line_cudnn);
  expect_message(gpd_last_error(), want);
  CHECK(strstr(gpd_last_error(), "CUDNN_STATUS_BAD_PARAM") != NULL, "no status name in '%s'", gpd_last_error());

  CHECK(run_cufft(CUFFT_INVALID_PLAN) == -1, "failure not returned");
  snprintf(want, sizeof want, "fake_cufft_call failed: CUFFT_INVALID_PLAN (tests/test_cuda_check.c:%d)", line_cufft);
  expect_message(gpd_last_error(), want);

  CHECK(run_cublas(CUBLAS_STATUS_NOT_INITIALIZED) == -1, "failure not returned");
  snprintf(want, sizeof want, "fake_cublas_call failed: CUBLAS_STATUS_NOT_INITIALIZED (tests/test_cuda_check.c:%d)",
           line_cublas);
  expect_message(gpd_last_error(), want);

  CHECK(run_cuda(cudaErrorInvalidValue) == -1, "failure not returned");
  snprintf(want, sizeof want, "fake_cuda_call failed: cudaErrorInvalidValue: %s (tests/test_cuda_check.c:%d)",
           cudaGetErrorString(cudaErrorInvalidValue), line_cuda);
  expect_message(gpd_last_error(), want);

  CHECK(!strcmp(gpd_cuda_short_file("/a/b/cuda/cuda_conv.c"), "cuda/cuda_conv.c"), "short file");
  CHECK(!strcmp(gpd_cuda_short_file("cuda_conv.c"), "cuda_conv.c"), "short file without directory");
}

/* Without a GPU: available() says 0 and records nothing; create explains. */
static void test_no_gpu(void) {
  gpd_clear_error();
  if (gpd_cuda_available()) {
    gpd_engine *e = gpd_engine_cuda_create(0, GPD_PRECISION_FP32);
    CHECK(e != NULL, "a GPU is visible but the CUDA engine failed: %s", gpd_last_error());
    if (e) {
      CHECK(gpd_engine_supports_graphs(e) == 1, "the CUDA engine does not report graph support");
      gpd_engine_destroy(e);
    }
    gpd_clear_error();
    CHECK(gpd_engine_cuda_create(9999, GPD_PRECISION_FP32) == NULL, "device 9999 accepted");
    CHECK(strstr(gpd_last_error(), "9999") != NULL, "message '%s'", gpd_last_error());
    return;
  }
  CHECK(gpd_last_error()[0] == 0, "gpd_cuda_available recorded an error: '%s'", gpd_last_error());
  gpd_engine *e = gpd_engine_cuda_create(0, GPD_PRECISION_FP32);
  CHECK(e == NULL, "a CUDA engine was created without a GPU");
  CHECK(strstr(gpd_last_error(), "no CUDA GPU") != NULL, "message '%s'", gpd_last_error());
  e = gpd_engine_create("auto", GPD_PRECISION_FP32);
  CHECK(e && !strcmp(e->name, "cpu"), "auto did not fall back to the CPU engine");
  gpd_engine_destroy(e);
}
#endif

static void test_cpu_graphs(void) {
  gpd_engine *cpu = gpd_engine_cpu_create();
  if (!cpu) {
    CHECK(0, "CPU engine: %s", gpd_last_error());
    return;
  }
  CHECK(gpd_engine_supports_graphs(cpu) == 0, "the CPU engine claims graph support");
  void *g = &g;
  CHECK_OK(gpd_engine_graph_begin(cpu));
  CHECK_OK(gpd_engine_graph_end(cpu, &g));
  CHECK(g == NULL, "the CPU engine returned a graph");
  gpd_clear_error();
  CHECK(gpd_engine_graph_launch(cpu, g) == -1, "launch on the CPU engine succeeded");
  CHECK(strstr(gpd_last_error(), "does not support graphs") != NULL, "message '%s'", gpd_last_error());
  gpd_engine_graph_free(NULL);
  gpd_engine_destroy(cpu);
}

int main(void) {
  test_cpu_graphs();
#ifdef GPD_HAVE_CUDA
  test_macros();
  test_no_gpu();
  return check_report("test_cuda_check");
#else
  if (check_report("test_cuda_check")) return 1;
  SKIP("this build has no CUDA engine: only the CPU graph fallbacks were checked");
#endif
}
