// Conformance: every backend, every generated model, the same cases. The
// reference output was computed by PyTorch eager on the saved input when the
// model was generated (tools/gen_models.py).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "backends/backend.h"
#include "testing/test_models.h"

namespace yoloscope {
namespace {

using testing::LoadManifest;
using testing::ReadFloats;
using testing::TestModel;

struct Case {
  TestModel model;
  std::string backend;  // "torch" | "opencv" | "onnxruntime"
  std::string path;
};

std::vector<Case> AllCases() {
  std::vector<Case> cases;
  auto available = AvailableBackends();
  auto has = [&](const std::string& b) {
    return std::find(available.begin(), available.end(), b) != available.end();
  };
  for (const auto& m : LoadManifest()) {
    if (has("torch")) cases.push_back({m, "torch", m.torchscript});
    if (has("opencv") && !m.onnx.empty() && m.onnx_opencv_loadable) {
      cases.push_back({m, "opencv", m.onnx});
    }
    // ONNX Runtime runs every ONNX file, the end-to-end (TopK) head included.
    if (has("onnxruntime") && !m.onnx.empty()) cases.push_back({m, "onnxruntime", m.onnx});
  }
  return cases;
}

class BackendConformance : public ::testing::TestWithParam<Case> {
 protected:
  std::unique_ptr<Backend> Load(int max_batch = 8) {
    BackendConfig cfg;
    cfg.kind = GetParam().backend;
    cfg.model_path = GetParam().path;
    cfg.max_batch = max_batch;
    cfg.num_threads = 2;
    auto b = CreateBackend(cfg);
    EXPECT_TRUE(b.ok()) << b.status().ToString();
    return b.ok() ? std::move(b).value() : nullptr;
  }
};

TEST_P(BackendConformance, MatchesPyTorchReferenceWithinTolerance) {
  const TestModel& m = GetParam().model;
  auto backend = Load();
  ASSERT_NE(backend, nullptr);
  std::vector<float> input = ReadFloats(m.ref_input);
  std::vector<float> ref = ReadFloats(m.ref_output);
  ASSERT_EQ(m.ref_input_shape.size(), 4u);
  const int batch = static_cast<int>(m.ref_input_shape[0]);
  ASSERT_EQ(input.size(), static_cast<size_t>(batch * 3 * m.imgsz_h * m.imgsz_w));

  OutputTensor out;
  BatchTiming timing;
  ASSERT_TRUE(backend->Run(input.data(), batch, m.imgsz_h, m.imgsz_w, &out, &timing).ok());
  ASSERT_EQ(out.shape, m.ref_output_shape);
  ASSERT_EQ(out.data.size(), ref.size());
  if (m.layout == "e2e" && GetParam().backend == "onnxruntime") {
    // The end-to-end head ends in TopK over near-equal low scores, whose
    // order is the engine's choice (ONNX Runtime and libtorch break ties
    // differently): per image, the score column (sorted) must match
    // position by position, and every reference row that can survive a
    // confidence filter must be found, anywhere, within tolerance.
    const size_t k = static_cast<size_t>(m.ref_output_shape[1]);
    auto close = [&](float a, float b) {
      return std::fabs(a - b) <= m.tol_abs + m.tol_rel * std::fabs(b);
    };
    for (int img = 0; img < batch; ++img) {
      const float* got = out.data.data() + img * k * 6;
      const float* want = ref.data() + img * k * 6;
      for (size_t r = 0; r < k; ++r) {
        EXPECT_TRUE(close(got[r * 6 + 4], want[r * 6 + 4])) << "score of row " << r;
        if (want[r * 6 + 4] < 0.01f) continue;
        bool found = false;
        for (size_t q = 0; q < k && !found; ++q) {
          found = true;
          for (int c = 0; c < 6; ++c) found = found && close(got[q * 6 + c], want[r * 6 + c]);
        }
        EXPECT_TRUE(found) << "image " << img << " row " << r << " (score " << want[r * 6 + 4]
                           << ") not found";
      }
    }
    return;
  }
  double worst = 0;
  size_t worst_i = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    double err = std::fabs(out.data[i] - ref[i]) - m.tol_rel * std::fabs(ref[i]);
    if (err > worst) {
      worst = err;
      worst_i = i;
    }
  }
  EXPECT_LE(worst, m.tol_abs) << "element " << worst_i << ": got " << out.data[worst_i]
                              << " want " << ref[worst_i] << " (abs " << m.tol_abs << ", rel "
                              << m.tol_rel << ")";
  EXPECT_GT(timing.inference_ms, 0.0);
}

TEST_P(BackendConformance, BatchOfOneEqualsFirstOfBatch) {
  const TestModel& m = GetParam().model;
  auto backend = Load();
  ASSERT_NE(backend, nullptr);
  std::vector<float> input = ReadFloats(m.ref_input);
  OutputTensor both, first;
  BatchTiming t;
  ASSERT_TRUE(backend->Run(input.data(), 2, m.imgsz_h, m.imgsz_w, &both, &t).ok());
  ASSERT_TRUE(backend->Run(input.data(), 1, m.imgsz_h, m.imgsz_w, &first, &t).ok());
  ASSERT_EQ(first.shape[0], 1);
  ASSERT_EQ(both.shape[0], 2);
  ASSERT_EQ(both.data.size(), first.data.size() * 2);
  double worst = 0;
  for (size_t i = 0; i < first.data.size(); ++i) {
    worst = std::max(worst, static_cast<double>(std::fabs(first.data[i] - both.data[i])));
  }
  EXPECT_LE(worst, m.tol_abs);
}

TEST_P(BackendConformance, ReportsModelMetadata) {
  const TestModel& m = GetParam().model;
  auto backend = Load();
  ASSERT_NE(backend, nullptr);
  const ModelInfo& info = backend->info();
  EXPECT_EQ(info.input_h, m.imgsz_h);
  EXPECT_EQ(info.input_w, m.imgsz_w);
  EXPECT_EQ(info.num_classes(), m.num_classes);
  EXPECT_EQ(info.Label(0), "person");
  EXPECT_EQ(OutputLayoutName(info.layout), m.layout);
  EXPECT_EQ(backend->name(), GetParam().backend);
  EXPECT_EQ(backend->device(), "cpu");
}

TEST_P(BackendConformance, RejectsBatchOverMax) {
  const TestModel& m = GetParam().model;
  auto backend = Load(/*max_batch=*/1);
  ASSERT_NE(backend, nullptr);
  std::vector<float> input = ReadFloats(m.ref_input);
  OutputTensor out;
  BatchTiming t;
  Status s = backend->Run(input.data(), 2, m.imgsz_h, m.imgsz_w, &out, &t);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
}

INSTANTIATE_TEST_SUITE_P(AllModels, BackendConformance, ::testing::ValuesIn(AllCases()),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           std::string n = info.param.model.name + "_" + info.param.backend;
                           for (char& c : n) {
                             if (!isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return n;
                         });

TEST(BackendConformanceSetup, ManifestListsEveryLayout) {
  auto models = LoadManifest();
  ASSERT_FALSE(models.empty()) << "no manifest in " << testing::ModelsDir();
  std::set<std::string> layouts;
  for (const auto& m : models) layouts.insert(m.layout);
  EXPECT_TRUE(layouts.count("v8"));
  EXPECT_TRUE(layouts.count("v5"));
  EXPECT_TRUE(layouts.count("e2e"));
}

}  // namespace
}  // namespace yoloscope
