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
