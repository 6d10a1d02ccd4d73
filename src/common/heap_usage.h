// HeapUsage: what the C library's allocator holds for this process, and a way
// to hand its free pages back to the kernel.
//
// Resident memory (VmRSS) alone cannot tell a leak from an allocator that
// keeps freed memory: glibc's malloc gives each contending thread its own
// arena and returns an arena's free pages to the kernel only from its top,
// so a burst that spreads work over one more arena raises RSS for good while
// the bytes in use stay flat. `in_use_bytes` is what the program holds;
// `free_bytes` is what the allocator keeps without using it.
//
// Units: bytes. Thread-safety: both functions may be called from any thread
// (the allocator locks each arena in turn); each walks every arena, so call
// them at scrape or housekeeping frequency, not per request.
#pragma once

#include <cstdint>
#include <optional>

namespace yoloscope {

struct HeapUsage {
  uint64_t in_use_bytes = 0;   // allocated and not freed (mmapped chunks included)
  uint64_t free_bytes = 0;     // held by the allocator's arenas, free
  uint64_t mmapped_bytes = 0;  // of in_use_bytes, in chunks mmapped on their own
};

// The allocator's figures summed over all arenas (glibc mallinfo2); empty
// where the C library does not report them.
std::optional<HeapUsage> ReadHeapUsage();

// Returns the free pages of every arena to the kernel (glibc malloc_trim(0):
// whole free pages anywhere in an arena, not only at its top). True when
// memory was released. A no-op returning false elsewhere.
bool TrimHeap();

}  // namespace yoloscope
