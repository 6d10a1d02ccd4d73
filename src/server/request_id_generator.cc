#include "server/request_id_generator.h"

#include <random>

namespace yoloscope {
namespace {
constexpr char kCrockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
}

RequestIdGenerator::RequestIdGenerator(const Clock* clock, uint64_t seed) : clock_(clock) {
  std::mt19937_64 rng(seed ? seed : std::random_device{}());
  prefix_ = static_cast<uint32_t>(rng());
  // Start the counter in the low half of its 48 bits so it never wraps in
  // practice while staying unpredictable across processes.
  counter_.store(rng() & ((uint64_t{1} << 47) - 1));
}

void RequestIdGenerator::NextInto(char* out) {
  // Monotonic milliseconds: never let the time part go backwards even if the
  // wall clock does, so ids stay sortable.
  int64_t ms = clock_->WallNowUs() / 1000;
  int64_t prev = last_ms_.load(std::memory_order_relaxed);
  while (ms > prev && !last_ms_.compare_exchange_weak(prev, ms, std::memory_order_relaxed)) {
  }
  if (ms < prev) ms = prev;
  uint64_t count = counter_.fetch_add(1, std::memory_order_relaxed) & ((uint64_t{1} << 48) - 1);

  // 128 bits: [48 time][32 prefix][48 counter] -> 26 base32 digits (130 bits,
  // top 2 zero).
  unsigned __int128 v = (static_cast<unsigned __int128>(static_cast<uint64_t>(ms)) << 80) |
                        (static_cast<unsigned __int128>(prefix_) << 48) | count;
  for (int i = 25; i >= 0; --i) {
    out[i] = kCrockford[static_cast<unsigned>(v & 31)];
    v >>= 5;
  }
}

std::string RequestIdGenerator::Next() {
  std::string s(26, '0');
  NextInto(s.data());
  return s;
}

}  // namespace yoloscope
