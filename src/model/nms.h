// Nms: greedy non-maximum suppression with Ultralytics/torchvision semantics.
//
// Candidates are ordered by score descending; equal scores keep ascending
// `index` (then ascending class id), so the result is deterministic. A
// candidate is suppressed when its IoU with an already kept box of the same
// class (any class when agnostic) is strictly greater than iou_threshold.
// Class-aware mode is equivalent to Ultralytics' trick of offsetting boxes by
// class_id * 7680 (classes never overlap), without its float precision loss.
//
// Thread-safety: an Nms owns scratch buffers; use one object per thread.
// Steady state (candidate counts seen before) allocates nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace yoloscope {

struct NmsCandidate {
  float x1 = 0, y1 = 0, x2 = 0, y2 = 0;  // corners, any consistent unit (pixels).
  float score = 0;
  int class_id = 0;
  int index = 0;  // tie-breaker: position in the raw output (lower wins).
};

struct NmsOptions {
  float iou_threshold = 0.7f;  // suppress when IoU > this.
  bool agnostic = false;       // true: boxes of different classes suppress each other.
  int max_det = 300;           // keep at most this many boxes.
  int max_candidates = 30000;  // only the highest-scoring this many take part.
};

class Nms {
 public:
  // Sorts *candidates in place (score order, see above), truncates it to
  // options.max_candidates, and writes the survivors to *kept in score order
  // (at most options.max_det). Boxes with x2 < x1 or y2 < y1 have zero area.
  void Run(const NmsOptions& options, std::vector<NmsCandidate>* candidates,
           std::vector<NmsCandidate>* kept);

  // Intersection over union of two boxes; 0 when both are empty.
  static float Iou(const NmsCandidate& a, const NmsCandidate& b);

  // The ordering Run uses: true when `a` comes before `b`.
  static bool Before(const NmsCandidate& a, const NmsCandidate& b) {
    if (a.score != b.score) return a.score > b.score;
    if (a.index != b.index) return a.index < b.index;
    return a.class_id < b.class_id;
  }

 private:
  // Class ids above this share one chain (see Run) instead of sizing the
  // per-class tables by them.
  static constexpr int kMaxChainedClass = 1 << 16;
  // Below this many candidates std::sort beats the radix sort's passes.
  static constexpr size_t kRadixMin = 256;

  // Sorts by Before() and keeps the first `limit`.
  void SortByScore(std::vector<NmsCandidate>* candidates, size_t limit);

  std::vector<float> kept_area_;      // parallel to *kept.
  std::vector<int> kept_next_;        // next kept box of the same chain, or -1.
  std::vector<int> chain_head_;       // first kept box per chain, or -1.
  std::vector<int> chain_tail_;       // last kept box per chain, or -1.
  std::vector<uint64_t> keys_;        // sort keys: ~score bits << 32 | position.
  std::vector<uint64_t> radix_tmp_;   // radix sort ping-pong buffer.
  std::vector<NmsCandidate> sorted_;  // gather target, swapped with the input.
};

}  // namespace yoloscope
