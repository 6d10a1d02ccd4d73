#include "model/yolo_decoder.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace yoloscope {
namespace {

// A hand-built v8 output [1, 4 + nc, n]: channel-major, all zeros until set.
class V8Output {
 public:
  V8Output(int nc, int anchors, int batch = 1)
      : nc_(nc),
        n_(anchors),
        batch_(batch),
        data_(static_cast<size_t>(batch) * (4 + nc) * anchors) {}

  // Box as corners (network pixels), written as cx, cy, w, h.
  void SetBox(int a, float x1, float y1, float x2, float y2, int b = 0) {
    At(b, 0, a) = (x1 + x2) / 2;
    At(b, 1, a) = (y1 + y2) / 2;
    At(b, 2, a) = x2 - x1;
    At(b, 3, a) = y2 - y1;
  }
  void SetScore(int a, int cls, float score, int b = 0) { At(b, 4 + cls, a) = score; }
  void Set(int a, float x1, float y1, float x2, float y2, int cls, float score) {
    SetBox(a, x1, y1, x2, y2);
    SetScore(a, cls, score);
  }

  std::vector<int64_t> shape() const { return {batch_, 4 + nc_, n_}; }
  const float* data() const { return data_.data(); }

 private:
  float& At(int b, int channel, int a) {
    return data_[(static_cast<size_t>(b) * (4 + nc_) + channel) * n_ + a];
  }
  int nc_, n_, batch_;
  std::vector<float> data_;
};

LetterboxTransform Identity(int w = 640, int h = 640) {
  LetterboxTransform t;
  t.orig_w = w;
  t.orig_h = h;
  return t;
}

Detections DecodeOrDie(YoloDecoder& decoder, const float* data, const std::vector<int64_t>& shape,
                       OutputLayout layout, const PostprocessConfig& config = {},
                       const LetterboxTransform& lb = Identity(), int batch_index = 0) {
  Detections out;
  Status st = decoder.Decode(data, shape, batch_index, layout, lb, config, &out);
  EXPECT_TRUE(st.ok()) << st.ToString();
  return out;
}

void ExpectBox(const Detection& d, float x1, float y1, float x2, float y2) {
  EXPECT_FLOAT_EQ(d.x1, x1);
  EXPECT_FLOAT_EQ(d.y1, y1);
  EXPECT_FLOAT_EQ(d.x2, x2);
  EXPECT_FLOAT_EQ(d.y2, y2);
}

// ---------------------------------------------------------------- v8 decode

TEST(YoloDecoderTest, EmptyOutputHasNoDetections) {
  V8Output out(80, 8400);
  YoloDecoder decoder;
  EXPECT_TRUE(DecodeOrDie(decoder, out.data(), out.shape(), OutputLayout::kYoloV8).empty());
}

TEST(YoloDecoderTest, V8HandComputed) {
  // nc = 3, 6 anchors, laid out [1, 7, 6].
  V8Output out(3, 6);
  // Anchor 1: scores (0.1, 0.6, 0.3) -> class 1 at 0.6; cx,cy,w,h = 320,240,100,50.
  out.SetBox(1, 270, 215, 370, 265);
  out.SetScore(1, 0, 0.1f);
  out.SetScore(1, 1, 0.6f);
  out.SetScore(1, 2, 0.3f);
  // Anchor 4: scores (0.3, 0.2, 0.26) -> class 0 at 0.3.
  out.SetBox(4, 10, 20, 30, 60);
  out.SetScore(4, 0, 0.3f);
  out.SetScore(4, 1, 0.2f);
  out.SetScore(4, 2, 0.26f);
  // Anchor 5: best 0.2 -> below conf 0.25.
  out.Set(5, 0, 0, 50, 50, 2, 0.2f);

  YoloDecoder decoder;
  Detections dets = DecodeOrDie(decoder, out.data(), out.shape(), OutputLayout::kYoloV8);
  ASSERT_EQ(dets.size(), 2u);
  EXPECT_EQ(dets[0].class_id, 1);
  EXPECT_FLOAT_EQ(dets[0].score, 0.6f);
  ExpectBox(dets[0], 270, 215, 370, 265);
  EXPECT_EQ(dets[1].class_id, 0);
  EXPECT_FLOAT_EQ(dets[1].score, 0.3f);
  ExpectBox(dets[1], 10, 20, 30, 60);
}

TEST(YoloDecoderTest, AllBoxesIdenticalOneSurvives) {
  V8Output out(2, 16);
  for (int a = 0; a < 16; ++a) out.Set(a, 100, 100, 200, 200, 0, 0.3f + 0.01f * (a % 7));
  YoloDecoder decoder;
  Detections dets = DecodeOrDie(decoder, out.data(), out.shape(), OutputLayout::kYoloV8);
  ASSERT_EQ(dets.size(), 1u);
  EXPECT_FLOAT_EQ(dets[0].score, 0.36f);
  ExpectBox(dets[0], 100, 100, 200, 200);
}

TEST(YoloDecoderTest, BoxesOnImageEdgesAreClipped) {
  V8Output out(1, 8);
  out.Set(0, -10, -5, 30, 40, 0, 0.9f);     // off the top-left corner.
  out.Set(1, 600, 610, 660, 700, 0, 0.8f);  // off the bottom-right corner.
  YoloDecoder decoder;
  Detections dets = DecodeOrDie(decoder, out.data(), out.shape(), OutputLayout::kYoloV8);
  ASSERT_EQ(dets.size(), 2u);
  ExpectBox(dets[0], 0, 0, 30, 40);
  ExpectBox(dets[1], 600, 610, 640, 640);
}

TEST(YoloDecoderTest, EdgeClippingUsesTheOriginalImageThroughLetterbox) {
  // 640x480 letterboxed into 640x640: pad_y = 80. A box reaching into the
  // padding band clips to the image, not to the network input.
  LetterboxTransform lb = Identity(640, 480);
  lb.pad_y = 80;
  V8Output out(1, 4);
  out.Set(0, 20, 60, 120, 100, 0, 0.9f);    // y 60..100 net -> -20..20 -> 0..20.
  out.Set(1, 500, 540, 700, 600, 0, 0.8f);  // y 540..600 -> 460..520 -> 460..480; x to 640.
  YoloDecoder decoder;
  Detections dets = DecodeOrDie(decoder, out.data(), out.shape(), OutputLayout::kYoloV8, {}, lb);
  ASSERT_EQ(dets.size(), 2u);
  ExpectBox(dets[0], 20, 0, 120, 20);
  ExpectBox(dets[1], 500, 460, 640, 480);
}

TEST(YoloDecoderTest, LetterboxMappingBack) {
  // 640x480 into 640x640: gain 1, pad_y 80.
  LetterboxTransform lb = Identity(640, 480);
  lb.pad_y = 80;
  V8Output out(80, 100);
  out.Set(42, 100, 180, 200, 280, 16, 0.9f);
  YoloDecoder decoder;
  Detections dets = DecodeOrDie(decoder, out.data(), out.shape(), OutputLayout::kYoloV8, {}, lb);
  ASSERT_EQ(dets.size(), 1u);
  ExpectBox(dets[0], 100, 100, 200, 200);
  EXPECT_EQ(dets[0].class_id, 16);

  // 1280x960 into 640x640: gain 0.5, pad_y 80 -> everything doubles.
  LetterboxTransform big = Identity(1280, 960);
  big.gain_x = big.gain_y = 0.5f;
  big.pad_y = 80;
  dets = DecodeOrDie(decoder, out.data(), out.shape(), OutputLayout::kYoloV8, {}, big);
  ASSERT_EQ(dets.size(), 1u);
  ExpectBox(dets[0], 200, 200, 400, 400);
}

TEST(YoloDecoderTest, ScoreTiesAreOrderedByAnchorIndex) {
  V8Output out(1, 10);
  // Equal scores, disjoint boxes: output order is ascending anchor index.
  out.Set(7, 100, 0, 110, 10, 0, 0.5f);
  out.Set(2, 200, 0, 210, 10, 0, 0.5f);
  out.Set(5, 300, 0, 310, 10, 0, 0.5f);
  YoloDecoder decoder;
  Detections dets = DecodeOrDie(decoder, out.data(), out.shape(), OutputLayout::kYoloV8);
  ASSERT_EQ(dets.size(), 3u);
  EXPECT_FLOAT_EQ(dets[0].x1, 200);  // anchor 2
  EXPECT_FLOAT_EQ(dets[1].x1, 300);  // anchor 5
  EXPECT_FLOAT_EQ(dets[2].x1, 100);  // anchor 7

  // Equal scores, identical boxes: the lowest anchor index is the survivor.
  V8Output same(1, 10);
  same.Set(6, 0, 0, 50, 50, 0, 0.5f);
  same.Set(3, 0, 0, 50, 51, 0, 0.5f);
  same.Set(8, 0, 0, 50, 52, 0, 0.5f);
  dets = DecodeOrDie(decoder, same.data(), same.shape(), OutputLayout::kYoloV8);
  ASSERT_EQ(dets.size(), 1u);
  EXPECT_FLOAT_EQ(dets[0].y2, 51);  // anchor 3
}

TEST(YoloDecoderTest, EqualClassScoresPickTheLowestClass) {
  // The decoder finds the argmax per tile either with one vectorised sweep
  // (many candidates in the tile) or per candidate (few); both must agree.
  for (int anchors : {4, 2048}) {
    V8Output out(6, anchors);
    out.Set(1, 0, 0, 10, 10, 4, 0.7f);
    out.SetScore(1, 2, 0.7f);
    out.SetScore(1, 5, 0.7f);
    out.Set(anchors - 1, 100, 100, 110, 110, 3, 0.6f);
    YoloDecoder decoder;
    Detections dets = DecodeOrDie(decoder, out.data(), out.shape(), OutputLayout::kYoloV8);
    ASSERT_EQ(dets.size(), 2u) << anchors;
    EXPECT_EQ(dets[0].class_id, 2) << anchors;
    EXPECT_EQ(dets[1].class_id, 3) << anchors;
  }
}

TEST(YoloDecoderTest, DenseAndSparseTilesAgree) {
  // 1500 anchors (three tiles), every 3rd anchor fires in the first tile
  // (dense) and only a few in the others (sparse), each with its own class.
  V8Output out(80, 1500);
  int expected = 0;
  for (int a = 0; a < 1500; ++a) {
    if ((a < 512 && a % 3 == 0) || a % 251 == 0) {
      out.Set(a, (a % 40) * 16.f, (a / 40) * 16.f, (a % 40) * 16.f + 8, (a / 40) * 16.f + 8, a % 80,
              0.3f + 0.0001f * a);
      out.SetScore(a, (a + 1) % 80, 0.29f);
      ++expected;
    }
  }
  YoloDecoder decoder;
  Detections dets = DecodeOrDie(decoder, out.data(), out.shape(), OutputLayout::kYoloV8);
  ASSERT_EQ(static_cast<int>(dets.size()), std::min(expected, 300));
  for (const Detection& d : dets) {
    const int a = static_cast<int>(std::lround((d.score - 0.3f) / 0.0001f));
    EXPECT_EQ(d.class_id, a % 80) << a;
  }
}

TEST(YoloDecoderTest, ManyClasses) {
  V8Output out(1000, 50);
  out.Set(3, 10, 10, 20, 20, 999, 0.9f);
  out.SetScore(3, 998, 0.85f);
  out.Set(10, 100, 100, 200, 200, 500, 0.6f);
  out.SetScore(10, 0, 0.59f);
  YoloDecoder decoder;
  Detections dets = DecodeOrDie(decoder, out.data(), out.shape(), OutputLayout::kYoloV8);
  ASSERT_EQ(dets.size(), 2u);
  EXPECT_EQ(dets[0].class_id, 999);
  EXPECT_FLOAT_EQ(dets[0].score, 0.9f);
  EXPECT_EQ(dets[1].class_id, 500);
}

TEST(YoloDecoderTest, ClassAwareVersusAgnostic) {
  // IoU of the two boxes = 9000 / 11000 = 0.82 > 0.7.
  V8Output out(2, 4);
  out.Set(0, 0, 0, 100, 100, 0, 0.9f);
  out.Set(1, 10, 0, 110, 100, 1, 0.8f);
  YoloDecoder decoder;
  Detections dets = DecodeOrDie(decoder, out.data(), out.shape(), OutputLayout::kYoloV8);
  ASSERT_EQ(dets.size(), 2u);
  EXPECT_EQ(dets[0].class_id, 0);
  EXPECT_EQ(dets[1].class_id, 1);

  PostprocessConfig agnostic;
  agnostic.agnostic = true;
  dets = DecodeOrDie(decoder, out.data(), out.shape(), OutputLayout::kYoloV8, agnostic);
  ASSERT_EQ(dets.size(), 1u);
  EXPECT_EQ(dets[0].class_id, 0);
}

TEST(YoloDecoderTest, MaxDetKeepsTheBestScores) {
  V8Output out(1, 40);
  for (int a = 0; a < 20; ++a) out.Set(a, a * 30.f, 0, a * 30.f + 20, 20, 0, 0.3f + 0.01f * a);
  PostprocessConfig config;
  config.max_det = 5;
  YoloDecoder decoder;
  Detections dets = DecodeOrDie(decoder, out.data(), out.shape(), OutputLayout::kYoloV8, config);
  ASSERT_EQ(dets.size(), 5u);
  for (int i = 0; i < 5; ++i) EXPECT_FLOAT_EQ(dets[i].score, 0.3f + 0.01f * (19 - i));
}

TEST(YoloDecoderTest, MaxNmsLimitsCandidates) {
  V8Output out(1, 10);
  for (int a = 0; a < 10; ++a) out.Set(a, a * 50.f, 0, a * 50.f + 40, 40, 0, 0.3f + 0.05f * a);
  PostprocessConfig config;
  config.max_nms = 3;
  YoloDecoder decoder;
  Detections dets = DecodeOrDie(decoder, out.data(), out.shape(), OutputLayout::kYoloV8, config);
  ASSERT_EQ(dets.size(), 3u);
  EXPECT_FLOAT_EQ(dets[0].x1, 450);
  EXPECT_FLOAT_EQ(dets[1].x1, 400);
  EXPECT_FLOAT_EQ(dets[2].x1, 350);

  // The cut happens before NMS: the 0.7 box overlaps nothing, yet with
  // max_nms = 2 it never reaches NMS (Ultralytics does the same).
  V8Output overlap(1, 4);
  overlap.Set(0, 0, 0, 100, 100, 0, 0.9f);
  overlap.Set(1, 0, 0, 100, 100, 0, 0.8f);
  overlap.Set(2, 300, 300, 400, 400, 0, 0.7f);
  config.max_nms = 2;
  dets = DecodeOrDie(decoder, overlap.data(), overlap.shape(), OutputLayout::kYoloV8, config);
  ASSERT_EQ(dets.size(), 1u);
  EXPECT_FLOAT_EQ(dets[0].score, 0.9f);
}

TEST(YoloDecoderTest, ConfThresholdIsStrict) {
  V8Output out(1, 4);
  out.Set(0, 0, 0, 10, 10, 0, 0.5f);
  out.Set(1, 100, 0, 110, 10, 0, std::nextafter(0.5f, 1.f));
  out.Set(2, 200, 0, 210, 10, 0, std::nextafter(0.5f, 0.f));
  PostprocessConfig config;
  config.conf = 0.5f;
  YoloDecoder decoder;
  Detections dets = DecodeOrDie(decoder, out.data(), out.shape(), OutputLayout::kYoloV8, config);
  ASSERT_EQ(dets.size(), 1u);
  EXPECT_FLOAT_EQ(dets[0].x1, 100);
}

TEST(YoloDecoderTest, IouThresholdIsStrict) {
  // IoU of (0,0,100,100) and (0,0,100,50) is exactly 0.5.
  V8Output out(1, 2);
  out.Set(0, 0, 0, 100, 100, 0, 0.9f);
  out.Set(1, 0, 0, 100, 50, 0, 0.8f);
  PostprocessConfig config;
  config.iou = 0.5f;
  YoloDecoder decoder;
  EXPECT_EQ(DecodeOrDie(decoder, out.data(), out.shape(), OutputLayout::kYoloV8, config).size(),
            2u);
  config.iou = std::nextafter(0.5f, 0.f);
  EXPECT_EQ(DecodeOrDie(decoder, out.data(), out.shape(), OutputLayout::kYoloV8, config).size(),
            1u);
}

TEST(YoloDecoderTest, ClassFilterAppliesToTheBestClass) {
  V8Output out(3, 4);
  out.Set(0, 0, 0, 10, 10, 2, 0.9f);
  out.Set(1, 100, 0, 110, 10, 0, 0.8f);
  out.SetScore(1, 2, 0.7f);  // second best is class 2: still dropped.
  PostprocessConfig config;
  config.classes = {2};
  YoloDecoder decoder;
  Detections dets = DecodeOrDie(decoder, out.data(), out.shape(), OutputLayout::kYoloV8, config);
  ASSERT_EQ(dets.size(), 1u);
  EXPECT_EQ(dets[0].class_id, 2);
  EXPECT_FLOAT_EQ(dets[0].x1, 0);
}

TEST(YoloDecoderTest, MultiLabelEmitsEveryClassAboveConf) {
  V8Output out(3, 2);
  out.Set(0, 0, 0, 10, 10, 0, 0.9f);
  out.SetScore(0, 2, 0.4f);
  out.SetScore(0, 1, 0.2f);
  PostprocessConfig config;
  config.multi_label = true;
  YoloDecoder decoder;
  Detections dets = DecodeOrDie(decoder, out.data(), out.shape(), OutputLayout::kYoloV8, config);
  ASSERT_EQ(dets.size(), 2u);
  EXPECT_EQ(dets[0].class_id, 0);
  EXPECT_EQ(dets[1].class_id, 2);
  EXPECT_FLOAT_EQ(dets[1].score, 0.4f);
}

TEST(YoloDecoderTest, NumClassesIgnoresTrailingChannels) {
  // 2 classes + 1 extra channel (e.g. a mask coefficient) that must not be read as a class.
  V8Output out(3, 2);
  out.Set(0, 0, 0, 10, 10, 2, 0.9f);
  out.SetScore(0, 1, 0.3f);
  PostprocessConfig config;
  config.num_classes = 2;
  YoloDecoder decoder;
  Detections dets = DecodeOrDie(decoder, out.data(), out.shape(), OutputLayout::kYoloV8, config);
  ASSERT_EQ(dets.size(), 1u);
  EXPECT_EQ(dets[0].class_id, 1);
  EXPECT_FLOAT_EQ(dets[0].score, 0.3f);
}

TEST(YoloDecoderTest, DecodesTheRequestedBatchImage) {
  V8Output out(2, 5, /*batch=*/3);
  out.SetBox(1, 0, 0, 10, 10, /*b=*/1);
  out.SetScore(1, 1, 0.7f, /*b=*/1);
  out.SetBox(2, 50, 50, 60, 60, /*b=*/2);
  out.SetScore(2, 0, 0.8f, /*b=*/2);
  YoloDecoder decoder;
  EXPECT_TRUE(
      DecodeOrDie(decoder, out.data(), out.shape(), OutputLayout::kYoloV8, {}, Identity(), 0)
          .empty());
  Detections dets =
      DecodeOrDie(decoder, out.data(), out.shape(), OutputLayout::kYoloV8, {}, Identity(), 1);
  ASSERT_EQ(dets.size(), 1u);
  EXPECT_EQ(dets[0].class_id, 1);
  dets = DecodeOrDie(decoder, out.data(), out.shape(), OutputLayout::kYoloV8, {}, Identity(), 2);
  ASSERT_EQ(dets.size(), 1u);
  EXPECT_EQ(dets[0].class_id, 0);
}

// A plain transcription of Ultralytics' v8 postprocess (max over classes,
// conf filter, sort, greedy class-aware NMS by IoU division, max_det), for
// comparing against the optimised decoder on random outputs.
Detections ReferenceV8(const std::vector<float>& data, int nc, int n,
                       const PostprocessConfig& cfg) {
  struct Cand {
    float x1, y1, x2, y2, score;
    int cls, index;
  };
  std::vector<Cand> cands;
  for (int a = 0; a < n; ++a) {
    float best = -1;
    int cls = 0;
    for (int c = 0; c < nc; ++c) {
      const float v = data[static_cast<size_t>(4 + c) * n + a];
      if (v > best) {
        best = v;
        cls = c;
      }
    }
    if (!(best > cfg.conf)) continue;
    const float cx = data[a], cy = data[n + a], w = data[2 * n + a], h = data[3 * n + a];
    cands.push_back({cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2, best, cls, a});
  }
  std::stable_sort(cands.begin(), cands.end(),
                   [](const Cand& x, const Cand& y) { return x.score > y.score; });
  if (static_cast<int>(cands.size()) > cfg.max_nms) cands.resize(cfg.max_nms);
  std::vector<bool> removed(cands.size(), false);
  Detections out;
  for (size_t i = 0; i < cands.size() && static_cast<int>(out.size()) < cfg.max_det; ++i) {
    if (removed[i]) continue;
    const Cand& k = cands[i];
    out.push_back(Detection{k.x1, k.y1, k.x2, k.y2, k.score, k.cls});
    for (size_t j = i + 1; j < cands.size(); ++j) {
      const Cand& o = cands[j];
      if (removed[j] || (!cfg.agnostic && o.cls != k.cls)) continue;
      const float iw = std::max(0.f, std::min(k.x2, o.x2) - std::max(k.x1, o.x1));
      const float ih = std::max(0.f, std::min(k.y2, o.y2) - std::max(k.y1, o.y1));
      const float inter = iw * ih;
      const float uni = (k.x2 - k.x1) * (k.y2 - k.y1) + (o.x2 - o.x1) * (o.y2 - o.y1) - inter;
      if (inter / uni > cfg.iou) removed[j] = true;
    }
  }
  for (Detection& d : out) {
    d.x1 = std::clamp(d.x1, 0.f, 640.f);
    d.y1 = std::clamp(d.y1, 0.f, 640.f);
    d.x2 = std::clamp(d.x2, 0.f, 640.f);
    d.y2 = std::clamp(d.y2, 0.f, 640.f);
  }
  return out;
}

TEST(YoloDecoderTest, MatchesAPlainReferenceOnRandomOutputs) {
  YoloDecoder decoder;
  for (uint32_t seed = 1; seed <= 12; ++seed) {
    std::mt19937 rng(seed);
    const int nc = seed % 3 == 0 ? 1 : 20;
    const int n = 1200 + 300 * static_cast<int>(seed % 4);
    std::uniform_real_distribution<float> low(0.f, 0.3f), pos(0.f, 640.f), size(5.f, 150.f);
    // Quantised scores make exact ties (across anchors and classes) common.
    std::uniform_int_distribution<int> score_step(26, 40);
    // Dense tiles (~1/4 of anchors fire) or sparse ones (~1/40): both argmax
    // paths, and candidate counts on both sides of the NMS radix-sort cutoff.
    std::uniform_int_distribution<int> hot(0, seed % 4 < 2 ? 3 : 40);
    std::vector<float> data(static_cast<size_t>(4 + nc) * n);
    for (int a = 0; a < n; ++a) {
      data[a] = pos(rng);
      data[n + a] = pos(rng);
      data[2 * n + a] = size(rng);
      data[3 * n + a] = size(rng);
      for (int c = 0; c < nc; ++c) data[static_cast<size_t>(4 + c) * n + a] = low(rng);
      if (hot(rng) == 0) {  // fires, sometimes with two tied classes.
        const int c1 = static_cast<int>(rng() % nc), c2 = static_cast<int>(rng() % nc);
        const float s = score_step(rng) * 0.025f;
        data[static_cast<size_t>(4 + c1) * n + a] = s;
        data[static_cast<size_t>(4 + c2) * n + a] = s;
      }
    }
    PostprocessConfig cfg;
    cfg.agnostic = seed % 2 == 0;
    cfg.max_det = seed % 5 == 0 ? 7 : 300;
    cfg.max_nms = seed % 7 == 0 ? 40 : 30000;
    cfg.iou = seed % 3 == 1 ? 0.45f : 0.7f;
    const Detections want = ReferenceV8(data, nc, n, cfg);
    const Detections got =
        DecodeOrDie(decoder, data.data(), {1, 4 + nc, n}, OutputLayout::kYoloV8, cfg);
    ASSERT_EQ(got.size(), want.size()) << "seed " << seed;
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_EQ(got[i].class_id, want[i].class_id) << "seed " << seed << " #" << i;
      EXPECT_EQ(got[i].score, want[i].score) << "seed " << seed << " #" << i;
      EXPECT_EQ(got[i].x1, want[i].x1) << "seed " << seed << " #" << i;
      EXPECT_EQ(got[i].y2, want[i].y2) << "seed " << seed << " #" << i;
    }
  }
}

// ---------------------------------------------------------------- v5 decode

TEST(YoloDecoderTest, V5HandComputed) {
  // [1, 4, 8]: cx, cy, w, h, obj, 3 class scores.
  std::vector<float> data = {
      100, 100, 40, 20, 0.8f, 0.5f, 0.9f,  0.1f,  // 0.8*0.9 = 0.72, class 1
      300, 300, 10, 10, 0.2f, 1.0f, 1.0f,  1.0f,  // objectness below conf
      400, 100, 10, 10, 0.9f, 0.2f, 0.25f, 0.1f,  // best 0.9*0.25 = 0.225 < conf
      500, 500, 60, 80, 0.5f, 0.6f, 0.0f,  0.0f,  // 0.5*0.6 = 0.3, class 0
  };
  YoloDecoder decoder;
  Detections dets = DecodeOrDie(decoder, data.data(), {1, 4, 8}, OutputLayout::kYoloV5);
  ASSERT_EQ(dets.size(), 2u);
  EXPECT_EQ(dets[0].class_id, 1);
  EXPECT_FLOAT_EQ(dets[0].score, 0.8f * 0.9f);
  ExpectBox(dets[0], 80, 90, 120, 110);
  EXPECT_EQ(dets[1].class_id, 0);
  EXPECT_FLOAT_EQ(dets[1].score, 0.5f * 0.6f);
  ExpectBox(dets[1], 470, 460, 530, 540);
}

TEST(YoloDecoderTest, V5MultiLabelKeepsBothClassesOfOneBox) {
  std::vector<float> data = {100, 100, 40, 40, 1.0f, 0.9f, 0.8f};
  PostprocessConfig config;
  YoloDecoder decoder;
  EXPECT_EQ(DecodeOrDie(decoder, data.data(), {1, 1, 7}, OutputLayout::kYoloV5, config).size(), 1u);
  config.multi_label = true;
  Detections dets = DecodeOrDie(decoder, data.data(), {1, 1, 7}, OutputLayout::kYoloV5, config);
  ASSERT_EQ(dets.size(), 2u);  // same box, different classes: class-aware NMS keeps both.
  EXPECT_EQ(dets[0].class_id, 0);
  EXPECT_EQ(dets[1].class_id, 1);
}

// --------------------------------------------------------------- e2e decode

TEST(YoloDecoderTest, EndToEndHandComputed) {
  std::vector<float> data = {
      10, 20, 110, 220, 0.9f,  3,  //
      0,  0,  10,  10,  0.1f,  1,  // below conf
      50, 50, 60,  60,  0.95f, 0,  //
      50, 50, 60,  60,  0.5f,  0,  // same box and class: no NMS, kept
      0,  0,  0,   0,   0,     0,  // padding row
  };
  YoloDecoder decoder;
  Detections dets = DecodeOrDie(decoder, data.data(), {1, 5, 6}, OutputLayout::kEndToEnd);
  ASSERT_EQ(dets.size(), 3u);
  EXPECT_FLOAT_EQ(dets[0].score, 0.95f);
  EXPECT_EQ(dets[0].class_id, 0);
  EXPECT_FLOAT_EQ(dets[1].score, 0.9f);
  EXPECT_EQ(dets[1].class_id, 3);
  ExpectBox(dets[1], 10, 20, 110, 220);
  EXPECT_FLOAT_EQ(dets[2].score, 0.5f);

  PostprocessConfig config;
  config.max_det = 2;
  config.classes = {0};
  dets = DecodeOrDie(decoder, data.data(), {1, 5, 6}, OutputLayout::kEndToEnd, config);
  ASSERT_EQ(dets.size(), 2u);
  EXPECT_EQ(dets[0].class_id, 0);
  EXPECT_EQ(dets[1].class_id, 0);
}

// ------------------------------------------------------------------- errors

TEST(YoloDecoderTest, RejectsBadArguments) {
  V8Output out(2, 8, /*batch=*/2);
  YoloDecoder decoder;
  Detections dets = {Detection{}};
  const LetterboxTransform lb = Identity();
  EXPECT_EQ(decoder.Decode(out.data(), out.shape(), 2, OutputLayout::kYoloV8, lb, {}, &dets).code(),
            StatusCode::kInvalidArgument);
  EXPECT_TRUE(dets.empty());
  EXPECT_EQ(
      decoder.Decode(out.data(), out.shape(), -1, OutputLayout::kYoloV8, lb, {}, &dets).code(),
      StatusCode::kInvalidArgument);
  EXPECT_EQ(decoder.Decode(out.data(), {6, 8}, 0, OutputLayout::kYoloV8, lb, {}, &dets).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(
      decoder.Decode(out.data(), out.shape(), 0, OutputLayout::kUnknown, lb, {}, &dets).code(),
      StatusCode::kInvalidArgument);
  EXPECT_EQ(decoder.Decode(out.data(), {1, 4, 8}, 0, OutputLayout::kYoloV8, lb, {}, &dets).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(decoder.Decode(out.data(), {1, 8, 5}, 0, OutputLayout::kYoloV5, lb, {}, &dets).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(decoder.Decode(nullptr, out.shape(), 0, OutputLayout::kYoloV8, lb, {}, &dets).code(),
            StatusCode::kInvalidArgument);
  LetterboxTransform zero_gain = lb;
  zero_gain.gain_x = 0;
  EXPECT_EQ(decoder.Decode(out.data(), out.shape(), 0, OutputLayout::kYoloV8, zero_gain, {}, &dets)
                .code(),
            StatusCode::kInvalidArgument);

  PostprocessConfig bad;
  bad.num_classes = 3;  // only 2 class channels.
  EXPECT_EQ(
      decoder.Decode(out.data(), out.shape(), 0, OutputLayout::kYoloV8, lb, bad, &dets).code(),
      StatusCode::kInvalidArgument);
}

TEST(PostprocessConfigTest, Validate) {
  EXPECT_TRUE(PostprocessConfig{}.Validate().ok());
  PostprocessConfig c;
  c.conf = 1.5f;
  EXPECT_NE(c.Validate().message().find("conf"), std::string::npos);
  c = {};
  c.iou = NAN;
  EXPECT_NE(c.Validate().message().find("iou"), std::string::npos);
  c = {};
  c.max_det = 0;
  EXPECT_NE(c.Validate().message().find("max_det"), std::string::npos);
  c = {};
  c.max_nms = 0;
  EXPECT_NE(c.Validate().message().find("max_nms"), std::string::npos);
  c = {};
  c.classes = {1, -2};
  EXPECT_EQ(c.Validate().code(), StatusCode::kInvalidArgument);
}

TEST(YoloDecoderTest, ReusedDecoderGivesTheSameAnswers) {
  // Scratch buffers carry over between calls; results must not.
  V8Output big(80, 300);
  for (int a = 0; a < 300; ++a) big.Set(a, a * 2.f, 0, a * 2.f + 1, 1, a % 80, 0.3f);
  V8Output small(3, 6);
  small.Set(1, 0, 0, 10, 10, 2, 0.9f);
  YoloDecoder decoder;
  Detections first = DecodeOrDie(decoder, small.data(), small.shape(), OutputLayout::kYoloV8);
  DecodeOrDie(decoder, big.data(), big.shape(), OutputLayout::kYoloV8);
  Detections again = DecodeOrDie(decoder, small.data(), small.shape(), OutputLayout::kYoloV8);
  ASSERT_EQ(first.size(), 1u);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].class_id, 2);
  ExpectBox(again[0], 0, 0, 10, 10);
}

// ------------------------------------------------------------ DetectLayout

ModelInfo NamedInfo(int nc) {
  ModelInfo info;
  info.class_names.assign(nc, "x");
  info.class_names_given = true;
  return info;
}

StatusOr<OutputLayout> Detect(std::vector<int64_t> shape, const ModelInfo& info = {}) {
  return YoloDecoder::DetectLayout(shape, info);
}

TEST(DetectLayoutTest, FromShape) {
  EXPECT_EQ(*Detect({1, 84, 8400}), OutputLayout::kYoloV8);
  EXPECT_EQ(*Detect({4, 5, 2100}), OutputLayout::kYoloV8);
  EXPECT_EQ(*Detect({1, 25200, 85}), OutputLayout::kYoloV5);
  EXPECT_EQ(*Detect({1, 300, 6}), OutputLayout::kEndToEnd);
  EXPECT_EQ(*Detect({1, 84, 8400}, NamedInfo(80)), OutputLayout::kYoloV8);
  EXPECT_EQ(*Detect({1, 25200, 85}, NamedInfo(80)), OutputLayout::kYoloV5);
}

TEST(DetectLayoutTest, AmbiguousSixColumnOutput) {
  EXPECT_EQ(YoloDecoder::V5AnchorCount(640, 640), 25200);
  EXPECT_EQ(YoloDecoder::V5AnchorCount(64, 64), 252);
  EXPECT_EQ(YoloDecoder::V5AnchorCount(1280, 1280, /*p6=*/true), 3 * (25600 + 6400 + 1600 + 400));

  // Many rows: a one-class v5 model.
  EXPECT_EQ(*Detect({1, 25200, 6}), OutputLayout::kYoloV5);
  EXPECT_EQ(*Detect({1, 1001, 6}), OutputLayout::kYoloV5);
  // Few rows that are not the v5 anchor count: end-to-end.
  EXPECT_EQ(*Detect({1, 1000, 6}), OutputLayout::kEndToEnd);
  // Few rows that are exactly the v5 anchor count for the input size: v5.
  ModelInfo tiny;
  tiny.input_w = tiny.input_h = 64;
  EXPECT_EQ(*Detect({1, 252, 6}, tiny), OutputLayout::kYoloV5);
  // One named class keeps the rule; any other count means e2e.
  EXPECT_EQ(*Detect({1, 300, 6}, NamedInfo(1)), OutputLayout::kEndToEnd);
  EXPECT_EQ(*Detect({1, 25200, 6}, NamedInfo(1)), OutputLayout::kYoloV5);
  EXPECT_EQ(*Detect({1, 25200, 6}, NamedInfo(80)), OutputLayout::kEndToEnd);
  // Metadata decides when present.
  ModelInfo meta_v5;
  meta_v5.layout = OutputLayout::kYoloV5;
  EXPECT_EQ(*Detect({1, 300, 6}, meta_v5), OutputLayout::kYoloV5);
  ModelInfo meta_e2e;
  meta_e2e.layout = OutputLayout::kEndToEnd;
  EXPECT_EQ(*Detect({1, 25200, 6}, meta_e2e), OutputLayout::kEndToEnd);
}

TEST(DetectLayoutTest, MetadataWinsOnlyWhenConsistent) {
  ModelInfo info;
  info.layout = OutputLayout::kYoloV5;
  EXPECT_EQ(*Detect({1, 84, 8400}, info), OutputLayout::kYoloV8);  // v5 does not fit.
  info.layout = OutputLayout::kYoloV8;
  EXPECT_EQ(*Detect({1, 25200, 85}, info), OutputLayout::kYoloV5);
  // A square output needs the metadata (or class names) to decide.
  EXPECT_EQ(*Detect({1, 84, 84}, info), OutputLayout::kYoloV8);
  EXPECT_EQ(*Detect({1, 84, 84}, NamedInfo(80)), OutputLayout::kYoloV8);
  EXPECT_EQ(*Detect({1, 84, 84}, NamedInfo(79)), OutputLayout::kYoloV5);
}

TEST(DetectLayoutTest, BadShapes) {
  auto r = Detect({1, 7, 7});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("unknown output layout [1, 7, 7]"), std::string::npos)
      << r.status().message();
  EXPECT_FALSE(Detect({84, 8400}).ok());
  EXPECT_FALSE(Detect({1, 1, 84, 8400}).ok());
  EXPECT_FALSE(Detect({1, 3, 8400}).ok());  // too few channels for v8.
  EXPECT_FALSE(Detect({1, 8400, 5}).ok());  // too few columns for v5.
  EXPECT_FALSE(Detect({1, 0, 8400}).ok());
  // Class count disagrees with the names that came with the model.
  r = Detect({1, 84, 8400}, NamedInfo(3));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("unknown output layout [1, 84, 8400]"), std::string::npos);
  EXPECT_NE(r.status().message().find("80 class channels"), std::string::npos);
  EXPECT_FALSE(Detect({1, 25200, 85}, NamedInfo(3)).ok());
  // The COCO default names are not a constraint.
  ModelInfo defaults;
  EXPECT_EQ(*Detect({1, 7, 8400}, defaults), OutputLayout::kYoloV8);
}

}  // namespace
}  // namespace yoloscope
