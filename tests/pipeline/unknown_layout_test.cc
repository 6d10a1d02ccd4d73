// A real TorchScript model whose output no YOLO decoder understands must be
// refused at load time with a message naming the shape.
#include <gtest/gtest.h>
#include <torch/script.h>

#include <filesystem>

#include "pipeline/detector.h"

namespace yoloscope {
namespace {

TEST(UnknownLayoutTest, DetectorRefusesTheModelNamingTheShape) {
  auto dir = std::filesystem::temp_directory_path() / ("ys_layout_" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "weird.torchscript").string();
  {
    torch::jit::Module m("Weird");
    // [B, 3, H, W] -> [B, 1, 7, 7]: rank 4, fits no layout.
    m.define(R"(
def forward(self, x):
    return x[:, 0:1, 0:7, 0:7]
)");
    m.save(path);
  }
  DetectorConfig cfg;
  cfg.backend.kind = "torch";
  cfg.backend.model_path = path;
  auto d = Detector::Create(cfg);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(d.status().message().find("unknown output layout"), std::string::npos)
      << d.status().message();
  EXPECT_NE(d.status().message().find("weird.torchscript"), std::string::npos)
      << d.status().message();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace yoloscope
