// WorkKey: what makes two inference runs "equal work" -- the same model on
// the same GPU at the same batch size and input size class -- so that slowdowns
// are measured against a baseline of the same work, never confused with bigger
// batches or larger images. Request and batch records are kept apart (a batch
// record counts a batch once; its requests count it batch_size times).
#pragma once

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

namespace yoloscope {

struct WorkKey {
  uint64_t model_hash = 0;  // ModelHash(model); 0 = model unknown.
  int32_t gpu_id = -2;      // -1 = CPU, -2 = unknown.
  int32_t batch_size = 0;   // 0 = unknown.
  int16_t size_class = 0;   // SizeClass(w, h); 0 = unknown.
  uint8_t from_batch_record = 0;

  auto operator<=>(const WorkKey&) const = default;
};

// Every field reaches every bit (MurmurHash3's 64-bit finalizer over the
// combined fields): callers index small tables by the low bits, and the
// earlier mix left size_class out of the low byte -- keys that differed only
// in input size shared a slot of the aggregator's 256-slot cache, which then
// missed on 6 lookups in 10.
struct WorkKeyHash {
  uint64_t operator()(const WorkKey& k) const {
    uint64_t h = k.model_hash;
    h ^= ((static_cast<uint64_t>(static_cast<uint32_t>(k.gpu_id)) << 32) |
          static_cast<uint32_t>(k.batch_size)) *
         0x9e3779b97f4a7c15ull;
    h ^= ((static_cast<uint64_t>(static_cast<uint16_t>(k.size_class)) << 8) | k.from_batch_record) *
         0xc2b2ae3d27d4eb4full;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
  }
};

// FNV-1a of the model name; 0 for an empty name.
inline uint64_t ModelHash(std::string_view model) {
  if (model.empty()) return 0;
  uint64_t h = 1469598103934665603ull;
  for (char c : model) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  return h == 0 ? 1 : h;
}

// Input size classes by the longer side: 1: <=320, 2: <=640, 3: <=1280,
// 4: <=1920, 5: <=2560, 6: <=4096, 7: larger. 0 = unknown.
inline int16_t SizeClass(int64_t w, int64_t h) {
  const int64_t side = w > h ? w : h;
  if (side <= 0) return 0;
  constexpr int64_t kBounds[] = {320, 640, 1280, 1920, 2560, 4096};
  for (int i = 0; i < 6; ++i) {
    if (side <= kBounds[i]) return static_cast<int16_t>(i + 1);
  }
  return 7;
}

// "<=640px" etc.; "" for unknown.
inline std::string SizeClassLabel(int16_t size_class) {
  constexpr const char* kLabels[] = {"",         "<=320px",  "<=640px",  "<=1280px",
                                     "<=1920px", "<=2560px", "<=4096px", ">4096px"};
  if (size_class < 0 || size_class > 7) return "";
  return kLabels[size_class];
}

}  // namespace yoloscope
