// ModelFile::Sniff tells formats from bytes; the factory turns a checkpoint
// into export advice, a non-detect task into a clear refusal, and rounds an
// imgsz up to the stride.
#include "backends/model_file.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "backends/backend.h"
#include "backends/onnxruntime_library.h"
#include "testing/test_models.h"

namespace yoloscope {
namespace {

std::string WriteTemp(const std::string& name, const std::string& bytes) {
  auto dir = std::filesystem::temp_directory_path() / "ys_model_file_test";
  std::filesystem::create_directories(dir);
  auto p = dir / name;
  std::ofstream(p, std::ios::binary) << bytes;
  return p.string();
}

TEST(ModelFileTest, TellsGeneratedTorchScriptAndOnnxFromTheirBytes) {
  auto models = testing::LoadManifest();
  ASSERT_FALSE(models.empty()) << "no generated models in " << testing::ModelsDir();
  auto ts = ModelFile::Sniff(models[0].torchscript);
  ASSERT_TRUE(ts.ok()) << ts.status().ToString();
  EXPECT_EQ(ts->format, ModelFileFormat::kTorchScript);
  ASSERT_FALSE(models[0].onnx.empty());
  auto onnx = ModelFile::Sniff(models[0].onnx);
  ASSERT_TRUE(onnx.ok());
  EXPECT_EQ(onnx->format, ModelFileFormat::kOnnx);
  EXPECT_GT(onnx->size_bytes, 1000);
}

TEST(ModelFileTest, NamesDoNotDecide) {
  // An ONNX file named .pt and a TorchScript file named .onnx.
  auto models = testing::LoadManifest();
  ASSERT_FALSE(models.empty());
  std::ifstream in(models[0].onnx, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  auto p = WriteTemp("actually_onnx.pt", bytes);
  auto s = ModelFile::Sniff(p);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->format, ModelFileFormat::kOnnx);
}

TEST(ModelFileTest, ZipWithDataPklOnlyIsACheckpoint) {
  std::string fake = std::string("PK\x03\x04", 4) + "archive/data.pkl" +
                     "\x80\x02 cultralytics.nn.tasks\nDetectionModel\n" + std::string(64, '\0') +
                     "PK\x01\x02 archive/data.pkl archive/version";
  auto p = WriteTemp("best.pt", fake);
  auto s = ModelFile::Sniff(p);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->format, ModelFileFormat::kPyTorchCheckpoint);
  EXPECT_TRUE(s->ultralytics_checkpoint);

  BackendConfig cfg;
  cfg.model_path = p;
  auto b = CreateBackend(cfg);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(b.status().message().find("Ultralytics training checkpoint"), std::string::npos)
      << b.status().message();
  EXPECT_NE(b.status().message().find("yolo export model=" + p + " format=onnx"),
            std::string::npos);
  // Also when the user names the torch backend explicitly.
  cfg.kind = "torch";
  b = CreateBackend(cfg);
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.status().message().find("format=torchscript"), std::string::npos);
}

TEST(ModelFileTest, UnknownAndMissingFiles) {
  auto p = WriteTemp("noise.bin", "\x13\x37 not a model at all");
  auto s = ModelFile::Sniff(p);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->format, ModelFileFormat::kUnknown);
  BackendConfig cfg;
  cfg.model_path = p;
  auto b = CreateBackend(cfg);
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.status().message().find("cannot tell what kind of model"), std::string::npos);

  EXPECT_EQ(ModelFile::Sniff("/nonexistent/model.onnx").status().code(), StatusCode::kNotFound);
}

TEST(ApplyInputSizeOverrideTest, RoundsUpToTheStrideWithANote) {
  ModelInfo info;
  info.stride = 32;
  BackendConfig cfg;
  cfg.input_w = cfg.input_h = 333;
  ASSERT_TRUE(ApplyInputSizeOverride(cfg, /*resizable=*/true, &info).ok());
  EXPECT_EQ(info.input_w, 352);
  EXPECT_EQ(info.input_h, 352);
  ASSERT_EQ(info.notes.size(), 1u);
  EXPECT_NE(info.notes[0].find("352"), std::string::npos);

  ModelInfo exact;
  cfg.input_w = cfg.input_h = 320;
  ASSERT_TRUE(ApplyInputSizeOverride(cfg, true, &exact).ok());
  EXPECT_EQ(exact.input_w, 320);
  EXPECT_TRUE(exact.notes.empty());
}

TEST(ApplyInputSizeOverrideTest, FixedSizeModelsRefuseAnotherSize) {
  ModelInfo info;
  info.input_w = info.input_h = 320;
  BackendConfig cfg;
  cfg.input_w = cfg.input_h = 640;
  Status s = ApplyInputSizeOverride(cfg, /*resizable=*/false, &info);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("only runs at 320x320"), std::string::npos) << s.message();
  EXPECT_EQ(info.input_w, 320);
  // The model's own size is fine, and so is nothing.
  cfg.input_w = cfg.input_h = 320;
  EXPECT_TRUE(ApplyInputSizeOverride(cfg, false, &info).ok());
  cfg.input_w = cfg.input_h = 0;
  EXPECT_TRUE(ApplyInputSizeOverride(cfg, false, &info).ok());
}

TEST(CheckDetectTaskTest, RefusesOtherTasksByName) {
  ModelInfo info;
  EXPECT_TRUE(CheckDetectTask(info, "m.onnx").ok());
  for (const char* task : {"segment", "pose", "obb", "classify"}) {
    info.task = task;
    Status s = CheckDetectTask(info, "m.onnx");
    ASSERT_FALSE(s.ok()) << task;
    EXPECT_NE(s.message().find(std::string("'") + task + "'"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("detection models only"), std::string::npos);
  }
}

TEST(OnnxRuntimeLibraryTest, MissingLibrarySaysHowToInstallIt) {
  auto lib = OnnxRuntimeLibrary::Load("/nonexistent/libonnxruntime.so.1");
  ASSERT_FALSE(lib.ok());
  EXPECT_EQ(lib.status().code(), StatusCode::kNotFound);
  EXPECT_NE(lib.status().message().find("scripts/setup.sh deps"), std::string::npos);
}

TEST(OnnxRuntimeLibraryTest, NotOnnxRuntimeIsRefused) {
  // libc is a real shared library without OrtGetApiBase.
  auto lib = OnnxRuntimeLibrary::Load("libc.so.6");
  ASSERT_FALSE(lib.ok());
  EXPECT_EQ(lib.status().code(), StatusCode::kFailedPrecondition);
}

TEST(OnnxRuntimeLibraryTest, DefaultLibraryLoadsAndReportsItsVersion) {
  auto lib = OnnxRuntimeLibrary::Load();
  ASSERT_TRUE(lib.ok()) << lib.status().ToString();
  EXPECT_FALSE((*lib)->version().empty());
  EXPECT_EQ((*lib)->version()[0], '1') << (*lib)->version();
}

}  // namespace
}  // namespace yoloscope
