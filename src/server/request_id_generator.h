// RequestIdGenerator: unique, time-sortable request ids (ULID layout: 48-bit
// Unix milliseconds + 80 bits of per-process random prefix and counter,
// Crockford base32, 26 characters). Ids from one generator sort by creation
// time, and ids created in the same millisecond sort by creation order.
// Thread-safe (one atomic counter); no allocation beyond the returned string.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "common/clock.h"

namespace yoloscope {

class RequestIdGenerator {
 public:
  // `clock` is borrowed and must outlive the generator. `seed` makes the
  // random part reproducible in tests (0 = from std::random_device).
  explicit RequestIdGenerator(const Clock* clock, uint64_t seed = 0);

  std::string Next();
  // Writes 26 characters into out[0..25] (no terminator).
  void NextInto(char* out);

 private:
  const Clock* clock_;
  uint32_t prefix_;                 // random per process: 32 of the 80 bits
  std::atomic<uint64_t> counter_;   // the other 48 bits; starts random
  std::atomic<int64_t> last_ms_{0};
};

}  // namespace yoloscope
