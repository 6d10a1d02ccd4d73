// Bad model files: each gives a clear error naming what was wrong; nothing
// crashes.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>

#include "backends/backend.h"
#include "testing/test_models.h"

namespace yoloscope {
namespace {

class BackendErrorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("ys_backend_errors_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Write(const std::string& name, const std::string& bytes) {
    auto p = (dir_ / name).string();
    std::ofstream(p, std::ios::binary) << bytes;
    return p;
  }
  static Status Load(const std::string& kind, const std::string& path) {
    BackendConfig cfg;
    cfg.kind = kind;
    cfg.model_path = path;
    auto b = CreateBackend(cfg);
    return b.status();
  }
  static std::string RandomBytes(size_t n) {
    std::mt19937 rng(7);
    std::string s(n, '\0');
    for (auto& c : s) c = static_cast<char>(rng());
    return s;
  }

  std::filesystem::path dir_;
};

TEST_F(BackendErrorsTest, MissingFileIsNotFound) {
  for (const char* kind : {"torch", "opencv"}) {
    Status s = Load(kind, (dir_ / "nope.model").string());
    EXPECT_EQ(s.code(), StatusCode::kNotFound) << kind << ": " << s.ToString();
    EXPECT_NE(s.message().find("nope.model"), std::string::npos);
  }
}

TEST_F(BackendErrorsTest, TextFileIsNotAModel) {
  auto ts = Write("notes.torchscript", "this is not a model\n");
  auto ox = Write("notes.onnx", "this is not a model\n");
  Status a = Load("torch", ts);
  Status b = Load("opencv", ox);
  EXPECT_EQ(a.code(), StatusCode::kInvalidArgument) << a.ToString();
  EXPECT_NE(a.message().find("notes.torchscript"), std::string::npos) << a.ToString();
  const auto available = AvailableBackends();
  if (std::find(available.begin(), available.end(), "opencv") == available.end()) {
    // YOLOSCOPE_WITH_OPENCV=OFF: the backend itself is refused, by name.
    EXPECT_EQ(b.code(), StatusCode::kUnimplemented) << b.ToString();
    EXPECT_NE(b.message().find("YOLOSCOPE_WITH_OPENCV=OFF"), std::string::npos) << b.ToString();
    return;
  }
  EXPECT_EQ(b.code(), StatusCode::kInvalidArgument) << b.ToString();
  EXPECT_NE(b.message().find("notes.onnx"), std::string::npos) << b.ToString();
}

TEST_F(BackendErrorsTest, EmptyAndRandomFilesAreRejected) {
  for (const auto& [name, bytes] : std::vector<std::pair<std::string, std::string>>{
           {"empty.torchscript", ""},
           {"empty.onnx", ""},
           {"random.torchscript", RandomBytes(4096)},
           {"random.onnx", RandomBytes(4096)}}) {
    auto p = Write(name, bytes);
    Status s = Load("auto", p);
    EXPECT_FALSE(s.ok()) << name;
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << name << ": " << s.ToString();
  }
}

TEST_F(BackendErrorsTest, UnknownExtensionAndBackend) {
  auto p = Write("model.bin", "x");
  Status s = Load("auto", p);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("model.bin"), std::string::npos);
  EXPECT_EQ(Load("tensorrt", p).code(), StatusCode::kInvalidArgument);
}

TEST_F(BackendErrorsTest, CudaOnCpuOnlyBuildIsUnimplemented) {
  auto models = testing::LoadManifest();
  if (models.empty()) GTEST_SKIP() << "no generated models";
  BackendConfig cfg;
  cfg.kind = "torch";
  cfg.model_path = models[0].torchscript;
  cfg.device = "cuda:0";
  auto b = CreateBackend(cfg);
  if (b.ok()) GTEST_SKIP() << "this host has CUDA";
  EXPECT_EQ(b.status().code(), StatusCode::kUnimplemented) << b.status().ToString();
  cfg.device = "tpu";
  EXPECT_EQ(CreateBackend(cfg).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(BackendErrorsTest, IdentityBackendReturnsEmptyV8Output) {
  BackendConfig cfg;
  cfg.kind = "identity";
  cfg.max_batch = 4;
  auto b = CreateBackend(cfg);
  ASSERT_TRUE(b.ok());
  std::vector<float> input(2 * 3 * 640 * 640, 0.f);
  OutputTensor out;
  BatchTiming t;
  ASSERT_TRUE((*b)->Run(input.data(), 2, 640, 640, &out, &t).ok());
  EXPECT_EQ(out.shape, (std::vector<int64_t>{2, 84, 85}));
  EXPECT_EQ((*b)->name(), "identity");
  EXPECT_FALSE((*b)->Run(input.data(), 5, 640, 640, &out, &t).ok());
}

}  // namespace
}  // namespace yoloscope
