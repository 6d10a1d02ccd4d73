// `yoloscope detect` as a user runs it: JSON lines on stdout, errors naming
// the file on stderr, annotated copies with --draw.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "testing/test_models.h"

namespace yoloscope {
namespace {

struct CliRun {
  int code = -1;
  std::string out, err;
};

CliRun Detect(const std::string& args, const std::filesystem::path& dir) {
  std::string out = (dir / "out.txt").string(), err = (dir / "err.txt").string();
  std::string cmd = std::string(YOLOSCOPE_BINARY) + " detect " + args + " > " + out + " 2> " + err;
  int rc = std::system(cmd.c_str());
  return {WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, testing::ReadFileBytes(out),
          testing::ReadFileBytes(err)};
}

class DetectCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("ys_detect_cli_" + std::to_string(getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(DetectCliTest, PrintsOneJsonObjectPerImageWithBothBackends) {
  const std::string photos = testing::PhotosDir();
  for (const char* fmt : {"torchscript", "onnx"}) {
    std::string model = testing::ModelPath("yolov8tiny_320", fmt);
    CliRun r = Detect("--model " + model + " --draw " + (dir_ / "drawn").string() + " " + photos +
                       "/dog.jpg " + photos + "/kite.jpg",
                   dir_);
    ASSERT_EQ(r.code, 0) << r.err;
    std::istringstream lines(r.out);
    std::string line;
    int n = 0;
    while (std::getline(lines, line)) {
      auto j = nlohmann::json::parse(line);
      EXPECT_TRUE(j.at("file").get<std::string>().find(n == 0 ? "dog.jpg" : "kite.jpg") !=
                  std::string::npos);
      EXPECT_EQ(j.at("width"), n == 0 ? 768 : 1352);
      for (const char* k : {"decode", "preprocess", "inference", "postprocess"}) {
        EXPECT_TRUE(j.at("speed_ms").contains(k));
      }
      for (const auto& d : j.at("detections")) {
        EXPECT_TRUE(d.contains("label"));
        EXPECT_EQ(d.at("box").size(), 4u);
      }
      ++n;
    }
    EXPECT_EQ(n, 2);
    EXPECT_TRUE(std::filesystem::exists(dir_ / "drawn" / "dog.jpg"));
    EXPECT_GT(std::filesystem::file_size(dir_ / "drawn" / "kite.jpg"), 10000u);
  }
}

TEST_F(DetectCliTest, BadImageIsNamedAndOthersStillRun) {
  std::ofstream(dir_ / "broken.jpg") << "\xFF\xD8\xFF\xE0 this is not really a jpeg";
  CliRun r = Detect("--model " + testing::ModelPath("yolov8tiny_320", "torchscript") + " " +
                     (dir_ / "broken.jpg").string() + " " + (dir_ / "missing.png").string() + " " +
                     testing::PhotosDir() + "/dog.jpg",
                 dir_);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("broken.jpg"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("missing.png: cannot read file"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("dog.jpg"), std::string::npos) << r.out;
}

TEST_F(DetectCliTest, ModelErrorsExitTwoWithTheReason) {
  std::ofstream(dir_ / "model.onnx") << "not a model";
  CliRun r = Detect("--model " + (dir_ / "model.onnx").string() + " x.jpg", dir_);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("model.onnx"), std::string::npos) << r.err;
  r = Detect("--model " + (dir_ / "none.torchscript").string() + " x.jpg", dir_);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("not found"), std::string::npos) << r.err;
  r = Detect("--model " + testing::ModelPath("yolov8tiny_320", "torchscript") +
                 " --conf 3 x.jpg",
             dir_);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("conf"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace yoloscope
