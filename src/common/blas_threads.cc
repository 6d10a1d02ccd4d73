#include "common/blas_threads.h"

#include <dlfcn.h>

namespace yoloscope {

bool ReleaseIdleBlasThreads() {
  // Looked up at run time: the program does not link BLAS itself (OpenCV
  // does), and other BLAS builds lack the symbol.
  using ShutdownFn = int (*)();
  auto shutdown = reinterpret_cast<ShutdownFn>(dlsym(RTLD_DEFAULT, "blas_thread_shutdown_"));
  if (shutdown == nullptr) return false;
  shutdown();
  return true;
}

}  // namespace yoloscope
