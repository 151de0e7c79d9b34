/* One check macro per library. On failure each records
 *   "<function> failed: <status name> (cuda/cuda_conv.c:123)"
 * with gpd_error() and returns -1 from the enclosing function, so a library
 * error is never printed and never ignored. CUDA_LAUNCH_CHECK() follows every
 * kernel launch (a bad launch configuration is only reported by
 * cudaGetLastError). The library checks also clear the CUDA runtime's
 * last-error slot: a library reports through its own status, and a
 * non-sticky error it left behind (a failed trial allocation) must not be
 * blamed on our next kernel launch. Usable from C and from CUDA C++. */
#ifndef GPD_CUDA_CHECK_H
#define GPD_CUDA_CHECK_H

#include <string.h>

#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <cudnn.h>
#include <cufft.h>

#include "gpd/common.h"

/* "/abs/path/cuda/cuda_conv.c" -> "cuda/cuda_conv.c": the last two path
 * components, enough to find the line in the source tree. */
static inline const char *gpd_cuda_short_file(const char *path) {
  const char *last = strrchr(path, '/');
  if (!last) return path;
  const char *p = last;
  while (p > path && p[-1] != '/') p--;
  return p;
}

/* The called function's name: the stringised call up to its '('. */
#define GPD_CALL_NAME_LEN(text) ((int)strcspn((text), "("))

static inline const char *gpd_cufft_status_name(cufftResult r) {
  switch (r) {
  case CUFFT_SUCCESS: return "CUFFT_SUCCESS";
  case CUFFT_INVALID_PLAN: return "CUFFT_INVALID_PLAN";
  case CUFFT_ALLOC_FAILED: return "CUFFT_ALLOC_FAILED";
  case CUFFT_INVALID_TYPE: return "CUFFT_INVALID_TYPE";
  case CUFFT_INVALID_VALUE: return "CUFFT_INVALID_VALUE";
  case CUFFT_INTERNAL_ERROR: return "CUFFT_INTERNAL_ERROR";
  case CUFFT_EXEC_FAILED: return "CUFFT_EXEC_FAILED";
  case CUFFT_SETUP_FAILED: return "CUFFT_SETUP_FAILED";
  case CUFFT_INVALID_SIZE: return "CUFFT_INVALID_SIZE";
  case CUFFT_UNALIGNED_DATA: return "CUFFT_UNALIGNED_DATA";
  case CUFFT_INVALID_DEVICE: return "CUFFT_INVALID_DEVICE";
  case CUFFT_NO_WORKSPACE: return "CUFFT_NO_WORKSPACE";
  case CUFFT_NOT_IMPLEMENTED: return "CUFFT_NOT_IMPLEMENTED";
  case CUFFT_NOT_SUPPORTED: return "CUFFT_NOT_SUPPORTED";
  default: return "CUFFT_UNKNOWN_ERROR";
  }
}

#define GPD_CHECK_FAIL(text, status_name)                                      \
  gpd_error("%.*s failed: %s (%s:%d)", GPD_CALL_NAME_LEN(text), (text),        \
            (status_name), gpd_cuda_short_file(__FILE__), __LINE__)

#define CUDA_CHECK(call)                                                       \
  do {                                                                         \
    cudaError_t gpd_err_ = (call);                                             \
    if (gpd_err_ != cudaSuccess) {                                             \
      (void)cudaGetLastError(); /* clear a non-sticky error */                 \
      return gpd_error("%.*s failed: %s: %s (%s:%d)", GPD_CALL_NAME_LEN(#call), \
                       #call, cudaGetErrorName(gpd_err_),                      \
                       cudaGetErrorString(gpd_err_),                           \
                       gpd_cuda_short_file(__FILE__), __LINE__);               \
    }                                                                          \
  } while (0)

#define CUDNN_CHECK(call)                                                      \
  do {                                                                         \
    cudnnStatus_t gpd_st_ = (call);                                            \
    (void)cudaGetLastError();                                                  \
    if (gpd_st_ != CUDNN_STATUS_SUCCESS)                                       \
      return GPD_CHECK_FAIL(#call, cudnnGetErrorString(gpd_st_));              \
  } while (0)

#define CUFFT_CHECK(call)                                                      \
  do {                                                                         \
    cufftResult gpd_st_ = (call);                                              \
    (void)cudaGetLastError();                                                  \
    if (gpd_st_ != CUFFT_SUCCESS)                                              \
      return GPD_CHECK_FAIL(#call, gpd_cufft_status_name(gpd_st_));            \
  } while (0)

#define CUBLAS_CHECK(call)                                                     \
  do {                                                                         \
    cublasStatus_t gpd_st_ = (call);                                           \
    (void)cudaGetLastError();                                                  \
    if (gpd_st_ != CUBLAS_STATUS_SUCCESS)                                      \
      return GPD_CHECK_FAIL(#call, cublasGetStatusName(gpd_st_));              \
  } while (0)

/* After every kernel launch: reports a bad configuration (or an earlier
 * asynchronous fault) naming the kernel family's file and line. */
#define CUDA_LAUNCH_CHECK()                                                    \
  do {                                                                         \
    cudaError_t gpd_err_ = cudaGetLastError();                                 \
    if (gpd_err_ != cudaSuccess)                                               \
      return gpd_error("kernel launch failed: %s: %s (%s:%d)",                 \
                       cudaGetErrorName(gpd_err_),                             \
                       cudaGetErrorString(gpd_err_),                           \
                       gpd_cuda_short_file(__FILE__), __LINE__);               \
  } while (0)

#endif
