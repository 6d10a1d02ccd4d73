#include "common/heap_usage.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace yoloscope {

std::optional<HeapUsage> ReadHeapUsage() {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
  // mallinfo2 (glibc 2.33+) has size_t fields; the older mallinfo's int
  // fields wrap above 2 GiB.
  const struct mallinfo2 mi = mallinfo2();
  HeapUsage u;
  u.mmapped_bytes = mi.hblkhd;
  u.in_use_bytes = mi.uordblks + mi.hblkhd;
  u.free_bytes = mi.fordblks;
  return u;
#else
  return std::nullopt;
#endif
}

bool TrimHeap() {
#if defined(__GLIBC__)
  return malloc_trim(0) != 0;
#else
  return false;
#endif
}

}  // namespace yoloscope
