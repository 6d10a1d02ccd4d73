// `yoloscope detect` and `yoloscope model inspect` on Ultralytics' own
// exports, as a user runs them: the same detections as Ultralytics for every
// export variant, batched; `model inspect` describes each file and explains
// the ones that do not load.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "testing/test_models.h"
#include "testing/ultralytics_fixtures.h"

namespace yoloscope {
namespace {

struct CliRun {
  int code = -1;
  std::string out, err;
};

CliRun RunYoloscope(const std::string& args) {
  auto dir = std::filesystem::temp_directory_path() / ("ys_ul_cli_" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const std::string out = (dir / "out.txt").string(), err = (dir / "err.txt").string();
  const std::string cmd = std::string(YOLOSCOPE_BINARY) + " " + args + " > " + out + " 2> " + err;
  const int rc = std::system(cmd.c_str());
  CliRun r{WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, testing::ReadFileBytes(out),
           testing::ReadFileBytes(err)};
  std::filesystem::remove_all(dir);
  return r;
}

TEST(UltralyticsCliTest, DetectGivesUltralyticsDetectionsForEveryExport) {
  auto models = testing::LoadUltralyticsModels();
  ASSERT_FALSE(models.empty());
  int checked = 0;
  for (const auto& m : models) {
    if (m.task != "detect") continue;
    std::string args = "detect --threads 2 --batch 4 --model " + m.path;
    for (const auto& [photo, dets] : m.predictions)
      args += " " + testing::PhotosDir() + "/" + photo;
    CliRun r = RunYoloscope(args);
    ASSERT_EQ(r.code, 0) << m.file << ": " << r.err;
    std::istringstream lines(r.out);
    std::string line;
    int images = 0;
    while (std::getline(lines, line)) {
      auto j = nlohmann::json::parse(line);
      const std::string photo = std::filesystem::path(j.at("file").get<std::string>()).filename();
      std::vector<testing::RefDetection> got = testing::ParseDetections(j.at("detections"));
      EXPECT_EQ(testing::CompareDetections(m.predictions.at(photo), got), "")
          << m.file << " " << photo;
      ++images;
    }
    EXPECT_EQ(images, static_cast<int>(m.predictions.size())) << m.file;
    ++checked;
  }
  EXPECT_GE(checked, 10);
}

TEST(UltralyticsCliTest, ImgszNotAMultipleOfTheStrideIsRoundedUpWithANote) {
  for (const auto& m : testing::LoadUltralyticsModels()) {
    if (m.task != "detect" || m.format != "onnx" || m.fixed_batch > 0) continue;
    // A dynamic export: any multiple of 32 works; 333 becomes 352.
    CliRun r = RunYoloscope("detect --imgsz 333 --model " + m.path + " " + testing::PhotosDir() +
                            "/dog.jpg");
    if (r.code == 2 && r.err.find("only runs at") != std::string::npos) continue;  // static H/W
    ASSERT_EQ(r.code, 0) << m.file << ": " << r.err;
    EXPECT_NE(r.err.find("note: imgsz 333x333 is not a multiple of the model's stride 32: using "
                         "352x352"),
              std::string::npos)
        << r.err;
    EXPECT_EQ(r.err.find("terminate"), std::string::npos) << r.err;
    return;
  }
  GTEST_SKIP() << "no export with a dynamic input size";
}

TEST(UltralyticsCliTest, StaticExportRefusesAnotherImgszClearly) {
  for (const auto& m : testing::LoadUltralyticsModels()) {
    if (m.task != "detect" || m.format != "onnx" || m.fixed_batch == 0) continue;
    const int other = m.imgsz_w == 640 ? 320 : 640;
    CliRun r = RunYoloscope("detect --imgsz " + std::to_string(other) + " --model " + m.path + " " +
                            testing::PhotosDir() + "/dog.jpg");
    EXPECT_EQ(r.code, 2) << r.err;
    EXPECT_NE(
        r.err.find("only runs at " + std::to_string(m.imgsz_h) + "x" + std::to_string(m.imgsz_w)),
        std::string::npos)
        << r.err;
    return;
  }
  FAIL() << "no static ONNX fixture";
}

TEST(UltralyticsCliTest, ModelInspectDescribesEachExport) {
  int checked = 0;
  for (const auto& m : testing::LoadUltralyticsModels()) {
    CliRun r = RunYoloscope("model inspect --json " + m.path);
    auto j = nlohmann::json::parse(r.out, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << m.file << ": " << r.out << r.err;
    EXPECT_EQ(j.at("format"), m.format) << m.file;
    if (m.task == "detect") {
      EXPECT_EQ(r.code, 0) << m.file << ": " << r.out;
      EXPECT_TRUE(j.at("loads").get<bool>());
      EXPECT_EQ(j.at("layout"), m.layout) << m.file;
      EXPECT_EQ(j.at("imgsz")[0].get<int>(), m.imgsz_h);
      EXPECT_EQ(j.at("imgsz")[1].get<int>(), m.imgsz_w);
      EXPECT_EQ(j.at("names").size(), m.num_classes);
      EXPECT_EQ(j.at("backend"), m.format == "onnx" ? "onnxruntime" : "torch");
      if (m.fixed_batch > 0) EXPECT_EQ(j.at("max_batch").get<int>(), m.fixed_batch);
      EXPECT_FALSE(j.at("preprocessing").empty());
    } else {
      EXPECT_EQ(r.code, 1) << m.file;
      EXPECT_FALSE(j.at("loads").get<bool>());
      EXPECT_NE(j.at("error").get<std::string>().find(m.task), std::string::npos);
    }
    ++checked;
  }
  EXPECT_GE(checked, 10);
  // Text form, and a checkpoint explained.
  for (const auto& e : std::filesystem::directory_iterator(testing::UltralyticsFixtureDir())) {
    if (e.path().extension() != ".pt") continue;
    CliRun r = RunYoloscope("model inspect " + e.path().string());
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.out.find("format    pytorch-checkpoint"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("yolo export model="), std::string::npos) << r.out;
  }
}

TEST(UltralyticsCliTest, ModelConvertWithoutUltralyticsSaysWhatToRun) {
  for (const auto& e : std::filesystem::directory_iterator(testing::UltralyticsFixtureDir())) {
    if (e.path().extension() != ".pt") continue;
    // A Python that cannot import ultralytics (false(1) exits 1 for anything).
    CliRun r = RunYoloscope("model convert --python false " + e.path().string());
    EXPECT_EQ(r.code, 1) << r.err;
    EXPECT_NE(r.err.find("yolo export model=" + e.path().string() + " format=onnx imgsz=640"),
              std::string::npos)
        << r.err;
    return;
  }
  FAIL() << "no .pt fixture";
}

}  // namespace
}  // namespace yoloscope
