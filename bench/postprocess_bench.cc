// postprocess_bench: YoloDecoder::Decode (candidate extraction + NMS +
// letterbox mapping) on synthetic YOLOv8 [1, 84, 8400] and YOLOv5
// [1, 25200, 85] outputs for a 640x640 input.
//
// Background anchors get class scores of a sigmoid near its floor (uniform in
// log space over 0.001..0.05, as trained heads produce), and objects light up
// the anchors near their centre on the pyramid level that suits their size,
// so NMS sees realistic clusters. Counters report the candidates above
// conf 0.25 and the detections kept.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "common/letterbox_transform.h"
#include "model/yolo_decoder.h"

namespace yoloscope {
namespace {

constexpr int kInput = 640;
constexpr int kClasses = 80;
constexpr int kStrides[] = {8, 16, 32};

struct Anchor {
  float x, y;  // centre in network pixels.
  int stride;
};

std::vector<Anchor> MakeAnchors(int anchors_per_cell) {
  std::vector<Anchor> anchors;
  for (int s : kStrides) {
    for (int gy = 0; gy < kInput / s; ++gy) {
      for (int gx = 0; gx < kInput / s; ++gx) {
        for (int k = 0; k < anchors_per_cell; ++k) {
          anchors.push_back({(gx + 0.5f) * s, (gy + 0.5f) * s, s});
        }
      }
    }
  }
  return anchors;
}

struct Object {
  float cx, cy, w, h;
  int cls;
};

// Objects of random size and class; `spread` widens the region of anchors
// that fire (fraction of the half-size).
std::vector<Object> MakeObjects(int count, std::mt19937* rng) {
  std::uniform_real_distribution<float> pos(40.f, 600.f);
  std::uniform_real_distribution<float> log_size(std::log(24.f), std::log(400.f));
  std::uniform_int_distribution<int> cls(0, kClasses - 1);
  std::vector<Object> objects;
  for (int i = 0; i < count; ++i) {
    const float w = std::exp(log_size(*rng));
    const float h = std::exp(log_size(*rng));
    objects.push_back({pos(*rng), pos(*rng), w, h, cls(*rng)});
  }
  return objects;
}

// Which pyramid level detects an object of this size best (Ultralytics
// assigns by size; this crude rule is enough for a realistic spread).
bool LevelFits(int stride, float size) {
  const float cells = size / static_cast<float>(stride);
  return cells >= 3.f && cells <= 20.f;
}

// A synthetic output. Returns the number of (anchor) candidates above 0.25.
struct Synthetic {
  std::vector<int64_t> shape;
  std::vector<float> data;
  int candidates = 0;
};

// `spread`: fraction of an object's half-size within which anchors fire.
Synthetic MakeV8(int num_objects, float spread, uint32_t seed) {
  std::mt19937 rng(seed);
  const std::vector<Anchor> anchors = MakeAnchors(1);
  const int n = static_cast<int>(anchors.size());  // 8400
  Synthetic out;
  out.shape = {1, 4 + kClasses, n};
  out.data.resize(static_cast<size_t>(4 + kClasses) * n);
  auto at = [&](int channel, int a) -> float& {
    return out.data[static_cast<size_t>(channel) * n + a];
  };

  std::uniform_real_distribution<float> log_low(std::log(0.001f), std::log(0.05f));
  std::uniform_real_distribution<float> jitter(-0.5f, 0.5f);
  for (int a = 0; a < n; ++a) {
    at(0, a) = anchors[a].x;
    at(1, a) = anchors[a].y;
    at(2, a) = anchors[a].stride * 2.f;
    at(3, a) = anchors[a].stride * 2.f;
    for (int c = 0; c < kClasses; ++c) at(4 + c, a) = std::exp(log_low(rng));
  }
  for (const Object& o : MakeObjects(num_objects, &rng)) {
    const float size = std::sqrt(o.w * o.h);
    for (int a = 0; a < n; ++a) {
      const Anchor& an = anchors[a];
      if (!LevelFits(an.stride, size)) continue;
      const float dx = std::abs(an.x - o.cx) / (o.w * 0.5f);
      const float dy = std::abs(an.y - o.cy) / (o.h * 0.5f);
      const float d = std::max(dx, dy);
      if (d >= spread) continue;
      // Score falls from ~0.9 at the centre; the box is the object's,
      // jittered a few pixels as a real head's regressions are.
      const float score = 0.9f - 0.6f * d / spread;
      at(4 + o.cls, a) = std::max(at(4 + o.cls, a), score);
      at(0, a) = o.cx + jitter(rng) * 8;
      at(1, a) = o.cy + jitter(rng) * 8;
      at(2, a) = o.w * (1 + jitter(rng) * 0.1f);
      at(3, a) = o.h * (1 + jitter(rng) * 0.1f);
    }
  }
  for (int a = 0; a < n; ++a) {
    float best = 0;
    for (int c = 0; c < kClasses; ++c) best = std::max(best, at(4 + c, a));
    out.candidates += best > 0.25f;
  }
  return out;
}

// Random boxes scattered over the image, `count` of them above conf, random
// classes: little suppression, so NMS keeps up to max_det.
Synthetic MakeV8Scattered(int count, uint32_t seed) {
  Synthetic out = MakeV8(0, 0.f, seed);
  std::mt19937 rng(seed + 1);
  const int n = static_cast<int>(out.shape[2]);
  auto at = [&](int channel, int a) -> float& {
    return out.data[static_cast<size_t>(channel) * n + a];
  };
  std::vector<int> order(n);
  for (int a = 0; a < n; ++a) order[a] = a;
  std::shuffle(order.begin(), order.end(), rng);
  std::uniform_real_distribution<float> score(0.26f, 0.95f);
  std::uniform_real_distribution<float> size(10.f, 120.f);
  std::uniform_int_distribution<int> cls(0, kClasses - 1);
  for (int i = 0; i < count; ++i) {
    const int a = order[i];
    at(2, a) = size(rng);
    at(3, a) = size(rng);
    at(4 + cls(rng), a) = score(rng);
  }
  out.candidates = count;
  return out;
}

LetterboxTransform Letterbox640x480() {
  LetterboxTransform lb;
  lb.pad_y = 80;
  lb.orig_w = 640;
  lb.orig_h = 480;
  return lb;
}

void RunDecode(benchmark::State& state, const Synthetic& input, OutputLayout layout) {
  YoloDecoder decoder;
  PostprocessConfig config;
  const LetterboxTransform lb = Letterbox640x480();
  Detections dets;
  for (auto _ : state) {
    Status st = decoder.Decode(input.data.data(), input.shape, 0, layout, lb, config, &dets);
    if (!st.ok()) {
      state.SkipWithError(st.ToString().c_str());
      return;
    }
    benchmark::DoNotOptimize(dets.data());
    benchmark::ClobberMemory();
  }
  state.counters["candidates"] = input.candidates;
  state.counters["detections"] = static_cast<double>(dets.size());
}

// ~20 objects, a few hundred anchors above conf.
void BM_DecodeV8_Realistic(benchmark::State& state) {
  static const Synthetic input = MakeV8(20, 0.3f, 1);
  RunDecode(state, input, OutputLayout::kYoloV8);
}
BENCHMARK(BM_DecodeV8_Realistic)->Unit(benchmark::kMicrosecond);

// Worst-ish: ~5000 anchors above conf in large overlapping clusters.
void BM_DecodeV8_Clustered5000(benchmark::State& state) {
  static const Synthetic input = MakeV8(60, 1.0f, 2);
  RunDecode(state, input, OutputLayout::kYoloV8);
}
BENCHMARK(BM_DecodeV8_Clustered5000)->Unit(benchmark::kMicrosecond);

// Worst-ish: 5000 scattered candidates of random classes (NMS stops at max_det).
void BM_DecodeV8_Scattered5000(benchmark::State& state) {
  static const Synthetic input = MakeV8Scattered(5000, 3);
  RunDecode(state, input, OutputLayout::kYoloV8);
}
BENCHMARK(BM_DecodeV8_Scattered5000)->Unit(benchmark::kMicrosecond);

// Nothing above conf: the cost of the class-score sweep alone.
void BM_DecodeV8_Empty(benchmark::State& state) {
  static const Synthetic input = MakeV8(0, 0.f, 4);
  RunDecode(state, input, OutputLayout::kYoloV8);
}
BENCHMARK(BM_DecodeV8_Empty)->Unit(benchmark::kMicrosecond);

// YOLOv5 [1, 25200, 85]: the v8 scene transposed, 3 anchors per cell.
void BM_DecodeV5_Realistic(benchmark::State& state) {
  static const Synthetic input = [] {
    const Synthetic v8 = MakeV8(20, 0.3f, 1);
    const int n = static_cast<int>(v8.shape[2]);
    Synthetic v5;
    v5.shape = {1, 3 * n, 5 + kClasses};
    v5.data.resize(static_cast<size_t>(3) * n * (5 + kClasses));
    for (int a = 0; a < n; ++a) {
      for (int k = 0; k < 3; ++k) {
        float* row = &v5.data[(static_cast<size_t>(a) * 3 + k) * (5 + kClasses)];
        for (int i = 0; i < 4; ++i) row[i] = v8.data[static_cast<size_t>(i) * n + a];
        float best = 0;
        for (int c = 0; c < kClasses; ++c) {
          row[5 + c] = v8.data[static_cast<size_t>(4 + c) * n + a];
          best = std::max(best, row[5 + c]);
        }
        // Objectness carries the peak; class scores near 1 for the object.
        row[4] = k == 0 ? best : best * 0.5f;
        for (int c = 0; c < kClasses; ++c) row[5 + c] = row[5 + c] >= best ? 0.95f : 0.02f;
      }
    }
    v5.candidates = v8.candidates;  // anchor k == 0 of each cell, roughly.
    return v5;
  }();
  RunDecode(state, input, OutputLayout::kYoloV5);
}
BENCHMARK(BM_DecodeV5_Realistic)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace yoloscope

BENCHMARK_MAIN();
