#include "common/blas_threads.h"

#include <dirent.h>
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <unistd.h>

namespace yoloscope {
namespace {

int ThreadsOfThisProcess() {
  DIR* dir = opendir("/proc/self/task");
  if (dir == nullptr) return -1;
  int n = 0;
  while (dirent* e = readdir(dir)) {
    if (e->d_name[0] != '.') ++n;
  }
  closedir(dir);
  return n;
}

TEST(BlasThreadsTest, JoinsTheWorkersOpenBlasStartedAtLoad) {
  // Loading OpenBLAS (as OpenCV's dependencies do in the yoloscope binary)
  // starts its workers; RTLD_GLOBAL puts its symbols where the binary's are.
  void* blas = dlopen("libopenblas.so.0", RTLD_NOW | RTLD_GLOBAL);
  if (blas == nullptr) GTEST_SKIP() << "no libopenblas.so.0: " << dlerror();
  // openblas_get_parallel: 0 sequential, 1 pthreads, 2 OpenMP (whose threads
  // belong to the OpenMP runtime, not to OpenBLAS's shutdown).
  auto parallel = reinterpret_cast<int (*)()>(dlsym(blas, "openblas_get_parallel"));
  if (parallel == nullptr || parallel() != 1) GTEST_SKIP() << "not OpenBLAS's pthreads build";
  const int before = ThreadsOfThisProcess();
  if (before <= 1) GTEST_SKIP() << "OpenBLAS started no worker (one core?)";
  ASSERT_TRUE(ReleaseIdleBlasThreads());
  EXPECT_EQ(ThreadsOfThisProcess(), 1);
  // The pool comes back by itself for a threaded call; a second release is
  // harmless.
  EXPECT_TRUE(ReleaseIdleBlasThreads());
}

}  // namespace
}  // namespace yoloscope
