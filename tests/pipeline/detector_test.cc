// The whole pipeline on real photos: both backends agree, every layout
// decodes, batches equal single images, bad images fail alone.
#include "pipeline/detector.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "backends/backend.h"
#include "testing/test_models.h"

namespace yoloscope {
namespace {

const char* kPhotos[] = {"dog.jpg", "eagle.jpg", "giraffe.jpg", "horses.jpg",
                         "kite.jpg", "person.jpg", "scream.jpg"};

std::unique_ptr<Detector> Make(const std::string& kind, const std::string& path, int batch = 1) {
  DetectorConfig cfg;
  cfg.backend.kind = kind;
  cfg.backend.model_path = path;
  cfg.backend.num_threads = 2;
  cfg.backend.max_batch = batch;
  auto d = Detector::Create(cfg);
  EXPECT_TRUE(d.ok()) << path << ": " << d.status().ToString();
  return d.ok() ? std::move(d).value() : nullptr;
}

std::string Photo(const char* name) {
  return testing::ReadFileBytes(testing::PhotosDir() + "/" + name);
}

void ExpectSameDetections(const Detections& a, const Detections& b, const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].class_id, b[i].class_id) << what << " #" << i;
    EXPECT_NEAR(a[i].score, b[i].score, 2e-3) << what << " #" << i;
    EXPECT_NEAR(a[i].x1, b[i].x1, 0.5) << what << " #" << i;
    EXPECT_NEAR(a[i].y1, b[i].y1, 0.5) << what << " #" << i;
    EXPECT_NEAR(a[i].x2, b[i].x2, 0.5) << what << " #" << i;
    EXPECT_NEAR(a[i].y2, b[i].y2, 0.5) << what << " #" << i;
  }
}

TEST(DetectorTest, TorchAndOpenCvAgreeOnRealPhotos) {
  const auto available = AvailableBackends();
  if (std::find(available.begin(), available.end(), "opencv") == available.end()) {
    GTEST_SKIP() << "this build has no opencv backend (YOLOSCOPE_WITH_OPENCV=OFF)";
  }
  for (const char* model : {"yolov8n_640", "yolov8tiny_320", "yolov5tiny_320"}) {
    auto torch = Make("torch", testing::ModelPath(model, "torchscript"));
    auto ocv = Make("opencv", testing::ModelPath(model, "onnx"));
    ASSERT_TRUE(torch && ocv);
    int total = 0;
    for (const char* photo : kPhotos) {
      std::string bytes = Photo(photo);
      auto a = torch->Detect(bytes);
      auto b = ocv->Detect(bytes);
      ASSERT_TRUE(a.ok() && b.ok()) << photo;
      EXPECT_EQ(a->width, b->width);
      ExpectSameDetections(a->detections, b->detections, std::string(model) + "/" + photo);
      total += static_cast<int>(a->detections.size());
      for (const Detection& d : a->detections) {
        EXPECT_GT(d.score, 0.25f);
        EXPECT_GE(d.x1, 0.f);
        EXPECT_LE(d.x2, static_cast<float>(a->width));
        EXPECT_LE(d.y2, static_cast<float>(a->height));
        EXPECT_LE(d.x1, d.x2);
      }
    }
    EXPECT_GT(total, 0) << model << " found nothing on any photo";
  }
}

TEST(DetectorTest, EveryLayoutDecodesOnAPhoto) {
  for (const char* model : {"yolov8tiny_320", "yolov5tiny_320", "yolov8tiny-e2e_320"}) {
    auto d = Make("torch", testing::ModelPath(model, "torchscript"));
    ASSERT_TRUE(d);
    int found = 0;
    for (const char* photo : kPhotos) {
      auto r = d->Detect(Photo(photo));
      ASSERT_TRUE(r.ok()) << model << "/" << photo << ": " << r.status().ToString();
      found += static_cast<int>(r->detections.size());
    }
    EXPECT_GT(found, 0) << model;
  }
  EXPECT_EQ(Make("torch", testing::ModelPath("yolov8tiny-e2e_320", "torchscript"))->layout(),
            OutputLayout::kEndToEnd);
  EXPECT_EQ(Make("torch", testing::ModelPath("yolov5tiny_320", "torchscript"))->layout(),
            OutputLayout::kYoloV5);
}

TEST(DetectorTest, BatchEqualsSingleImagesAndBadImagesFailAlone) {
  const std::string path = testing::ModelPath("yolov8tiny_320", "torchscript");
  auto single = Make("torch", path, 1);
  auto batched = Make("torch", path, 4);
  ASSERT_TRUE(single && batched);
  std::vector<std::string> bytes = {Photo("dog.jpg"), "not an image", Photo("kite.jpg"),
                                    Photo("person.jpg"), Photo("horses.jpg")};
  std::vector<std::string_view> views(bytes.begin(), bytes.end());
  auto results = batched->DetectBatch(views);
  ASSERT_EQ(results.size(), bytes.size());
  EXPECT_FALSE(results[1].ok());
  EXPECT_EQ(results[1].status().code(), StatusCode::kInvalidArgument);
  for (size_t i : {0u, 2u, 3u, 4u}) {
    ASSERT_TRUE(results[i].ok()) << i;
    EXPECT_EQ(results[i]->batch_size, i < 4 ? 3 : 1);  // 4 slots: dog, kite, person | horses
    auto one = single->Detect(bytes[i]);
    ASSERT_TRUE(one.ok());
    ExpectSameDetections(results[i]->detections, one->detections, "image " + std::to_string(i));
  }
}

TEST(DetectorTest, ThresholdsAreApplied) {
  DetectorConfig cfg;
  cfg.backend.model_path = testing::ModelPath("yolov8n_640", "torchscript");
  cfg.postprocess.conf = 0.5f;
  cfg.postprocess.max_det = 2;
  auto d = Detector::Create(cfg);
  ASSERT_TRUE(d.ok());
  for (const char* photo : kPhotos) {
    auto r = (*d)->Detect(Photo(photo));
    ASSERT_TRUE(r.ok());
    EXPECT_LE(r->detections.size(), 2u);
    for (const auto& det : r->detections) EXPECT_GT(det.score, 0.5f);
  }
  cfg.postprocess.conf = 1.5f;
  EXPECT_EQ(Detector::Create(cfg).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace yoloscope
