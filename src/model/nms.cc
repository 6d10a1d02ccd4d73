#include "model/nms.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>

namespace yoloscope {
namespace {

float Area(const NmsCandidate& b) {
  return std::max(0.f, b.x2 - b.x1) * std::max(0.f, b.y2 - b.y1);
}

// Maps a float to a uint32 whose unsigned order is the float order (for
// non-NaN values; -0 and +0 both map like +0, as they compare equal).
uint32_t OrderedBits(float f) {
  if (f == 0.f) f = 0.f;
  const uint32_t bits = std::bit_cast<uint32_t>(f);
  return (bits & 0x80000000u) ? ~bits : (bits | 0x80000000u);
}

bool IndexOrder(const NmsCandidate& a, const NmsCandidate& b) {
  return a.index != b.index ? a.index < b.index : a.class_id < b.class_id;
}

}  // namespace

void Nms::SortByScore(std::vector<NmsCandidate>* candidates, size_t limit) {
  // Sorting 28-byte structs is dominated by moving them. Instead sort 8-byte
  // keys (descending score bits << 32 | position) and gather once. Position
  // breaks ties the way Before() does as long as the candidates are in
  // (index, class) order, which the decoder produces; other callers' input
  // is put in that order first.
  if (!std::is_sorted(candidates->begin(), candidates->end(), IndexOrder)) {
    std::sort(candidates->begin(), candidates->end(), IndexOrder);
  }
  const size_t n = candidates->size();
  keys_.resize(n);
  for (size_t i = 0; i < n; ++i) {
    keys_[i] = (static_cast<uint64_t>(~OrderedBits((*candidates)[i].score)) << 32) | i;
  }
  if (n <= kRadixMin) {
    std::sort(keys_.begin(), keys_.end());
  } else {
    // LSD radix sort on the 32 score bits, 8 bits per stable pass: O(n), and
    // stability keeps equal scores in position order. ~5x faster than
    // std::sort on 5000 keys.
    radix_tmp_.resize(n);
    uint64_t* src = keys_.data();
    uint64_t* dst = radix_tmp_.data();
    for (int shift = 32; shift < 64; shift += 8) {
      size_t offsets[257] = {};
      for (size_t i = 0; i < n; ++i) ++offsets[((src[i] >> shift) & 0xFF) + 1];
      if (offsets[((src[0] >> shift) & 0xFF) + 1] == n) continue;  // all keys share this byte.
      for (int b = 0; b < 256; ++b) offsets[b + 1] += offsets[b];
      for (size_t i = 0; i < n; ++i) dst[offsets[(src[i] >> shift) & 0xFF]++] = src[i];
      std::swap(src, dst);
    }
    if (src != keys_.data()) keys_.swap(radix_tmp_);
  }
  if (keys_.size() > limit) keys_.resize(limit);
  sorted_.resize(keys_.size());
  for (size_t i = 0; i < keys_.size(); ++i) sorted_[i] = (*candidates)[keys_[i] & 0xFFFFFFFFu];
  candidates->swap(sorted_);
}

float Nms::Iou(const NmsCandidate& a, const NmsCandidate& b) {
  const float iw = std::min(a.x2, b.x2) - std::max(a.x1, b.x1);
  const float ih = std::min(a.y2, b.y2) - std::max(a.y1, b.y1);
  if (iw <= 0 || ih <= 0) return 0;
  const float inter = iw * ih;
  const float uni = Area(a) + Area(b) - inter;
  return uni > 0 ? inter / uni : 0;
}

void Nms::Run(const NmsOptions& options, std::vector<NmsCandidate>* candidates,
              std::vector<NmsCandidate>* kept) {
  kept->clear();
  kept_area_.clear();
  kept_next_.clear();
  // A NaN score would break the strict weak ordering std::sort relies on.
  std::erase_if(*candidates, [](const NmsCandidate& c) { return std::isnan(c.score); });
  if (options.max_det <= 0 || candidates->empty()) return;
  SortByScore(candidates, static_cast<size_t>(std::max(options.max_candidates, 0)));

  // Kept boxes are chained per class (oldest first) so a class-aware
  // candidate is compared only with kept boxes of its own class; with many
  // classes that is a small fraction of all kept boxes. Agnostic mode (and
  // absurdly large class ids) use one chain for everything.
  int max_class = 0;
  bool chained = !options.agnostic;
  for (const NmsCandidate& c : *candidates) {
    if (c.class_id < 0 || c.class_id > kMaxChainedClass) chained = false;
    max_class = std::max(max_class, c.class_id);
  }
  const size_t chains = chained ? static_cast<size_t>(max_class) + 1 : 1;
  chain_head_.assign(chains, -1);
  chain_tail_.assign(chains, -1);

  // Greedy NMS compares each candidate with the boxes kept so far: the same
  // result as suppressing forward from every kept box, but it touches only
  // kept boxes and stops as soon as max_det are kept.
  const float thr = options.iou_threshold;
  const size_t max_det = static_cast<size_t>(options.max_det);
  for (const NmsCandidate& c : *candidates) {
    const size_t chain = chained ? static_cast<size_t>(c.class_id) : 0;
    const float area = Area(c);
    bool suppressed = false;
    for (int k = chain_head_[chain]; k >= 0; k = kept_next_[k]) {
      const NmsCandidate& o = (*kept)[k];
      if (!options.agnostic && o.class_id != c.class_id) continue;
      const float iw = std::min(c.x2, o.x2) - std::max(c.x1, o.x1);
      const float ih = std::min(c.y2, o.y2) - std::max(c.y1, o.y1);
      if (iw <= 0 || ih <= 0) continue;
      const float inter = iw * ih;
      // IoU > thr without the division; identical for exactly
      // representable boundary cases (inter / union == thr is kept).
      if (inter > thr * (area + kept_area_[k] - inter)) {
        suppressed = true;
        break;
      }
    }
    if (suppressed) continue;
    const int id = static_cast<int>(kept->size());
    kept->push_back(c);
    kept_area_.push_back(area);
    kept_next_.push_back(-1);
    if (chain_tail_[chain] >= 0) {
      kept_next_[chain_tail_[chain]] = id;
    } else {
      chain_head_[chain] = id;
    }
    chain_tail_[chain] = id;
    if (kept->size() >= max_det) break;
  }
}

}  // namespace yoloscope
