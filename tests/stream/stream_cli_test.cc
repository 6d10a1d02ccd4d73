// The stream flags of the real binary: `yoloscope detect --stream` on an
// ffmpeg-made video and a simulated model (no model file needed) prints one
// JSON line per frame; `serve --stream NAME=URI` goes through the one
// config validation (--print-config shows the result).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "testing/test_videos.h"

namespace yoloscope {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

struct DetectRun {
  int exit_code = -1;
  std::vector<Json> lines;  // stdout, one JSON object per line
  std::string err;
};

class DetectStreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!testing::HaveFfmpeg()) GTEST_SKIP() << "ffmpeg not installed (scripts/setup.sh)";
    dir_ = fs::temp_directory_path() /
           ("ys_detect_stream_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    model_ = (dir_ / "model.yaml").string();
    std::ofstream(model_) << "simulator: yoloscope-sim/1\nmodel:\n  name: s\n  input_size: 320\n"
                             "latency:\n  base_ms: 1\n  per_image_ms: 1\n";
  }
  void TearDown() override {
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
  }

  DetectRun Detect(const std::string& args) {
    DetectRun run;
    const std::string err = (dir_ / "stderr.txt").string();
    const std::string cmd = std::string(YOLOSCOPE_BINARY) + " detect --model '" + model_ + "' " +
                            args + " 2>'" + err + "'";
    FILE* p = popen(cmd.c_str(), "r");
    if (p == nullptr) return run;
    std::string out;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
    const int status = pclose(p);
    run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    std::istringstream lines(out);
    std::string line;
    while (std::getline(lines, line)) {
      if (!line.empty()) run.lines.push_back(Json::parse(line));
    }
    std::ifstream e(err);
    run.err.assign(std::istreambuf_iterator<char>(e), std::istreambuf_iterator<char>());
    return run;
  }

  fs::path dir_;
  std::string model_;
};

TEST_F(DetectStreamTest, OneJsonLinePerFrame) {
#if !YOLOSCOPE_HAVE_OPENCV
  GTEST_SKIP() << "this build has no video support (YOLOSCOPE_USE_OPENCV=OFF)";
#endif
  const std::string video = (dir_ / "clip.mkv").string();
  ASSERT_TRUE(testing::MakeTestVideo(video, 2, 25));
  const DetectRun all = Detect("--stream '" + video + "'");
  ASSERT_EQ(all.exit_code, 0) << all.err;
  ASSERT_EQ(all.lines.size(), 50u) << all.err;
  for (size_t i = 0; i < all.lines.size(); ++i) {
    const Json& l = all.lines[i];
    EXPECT_EQ(l.at("frame_index"), static_cast<int64_t>(i));
    EXPECT_NEAR(l.at("pts_ms").get<double>(), 40.0 * static_cast<double>(i), 1.0);
    EXPECT_EQ(l.at("width"), 320);
    EXPECT_EQ(l.at("height"), 240);
    EXPECT_TRUE(l.at("detections").is_array());
    EXPECT_TRUE(l.at("speed_ms").contains("inference"));
  }
  EXPECT_NE(all.err.find("50 frames read, 50 processed"), std::string::npos) << all.err;

  const DetectRun sampled = Detect("--stream '" + video + "' --fps 5");
  ASSERT_EQ(sampled.exit_code, 0) << sampled.err;
  ASSERT_EQ(sampled.lines.size(), 10u);
  EXPECT_EQ(sampled.lines[1].at("frame_index"), 5);
}

TEST_F(DetectStreamTest, MissingVideoFailsClearly) {
#if !YOLOSCOPE_HAVE_OPENCV
  GTEST_SKIP() << "this build has no video support (YOLOSCOPE_USE_OPENCV=OFF)";
#endif
  const DetectRun r = Detect("--stream '" + (dir_ / "nope.mp4").string() + "'");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(r.lines.empty());
  EXPECT_NE(r.err.find("no such file"), std::string::npos) << r.err;
  // Neither images nor a stream: a usage error.
  EXPECT_EQ(Detect("").exit_code, 2);
}

// Without video support (YOLOSCOPE_USE_OPENCV=OFF) both commands refuse a
// stream at start with the reason and exit 2; they neither crash nor hang
// retrying. Needs no ffmpeg.
TEST(StreamWithoutVideoSupportTest, DetectAndServeFailAtStart) {
#if YOLOSCOPE_HAVE_OPENCV
  GTEST_SKIP() << "this build reads video (YOLOSCOPE_USE_OPENCV=ON)";
#endif
  const fs::path dir = fs::temp_directory_path() / ("ys_stream_nocv_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string model = (dir / "model.yaml").string();
  std::ofstream(model) << "simulator: yoloscope-sim/1\nmodel:\n  name: s\n  input_size: 320\n"
                          "latency:\n  base_ms: 1\n  per_image_ms: 1\n";
  auto run = [&](const std::string& args, std::string* out) {
    const std::string cmd = "timeout 60 " + std::string(YOLOSCOPE_BINARY) + " " + args +
                            " --model '" + model + "' 2>&1";
    FILE* p = popen(cmd.c_str(), "r");
    char buf[4096];
    size_t n;
    while (p != nullptr && (n = fread(buf, 1, sizeof(buf), p)) > 0) out->append(buf, n);
    const int status = p ? pclose(p) : -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  };
  std::string out;
  EXPECT_EQ(run("detect --stream rtsp://127.0.0.1:1/live", &out), 2) << out;
  EXPECT_NE(out.find("video streams are not supported"), std::string::npos) << out;
  out.clear();
  EXPECT_EQ(
      run("serve --backend sim --port 0 --no-warmup --stream door=rtsp://127.0.0.1:1/live", &out),
      2)
      << out;
  EXPECT_NE(out.find("video streams are not supported"), std::string::npos) << out;
  std::error_code ec;
  fs::remove_all(dir, ec);
}

TEST_F(DetectStreamTest, ServeStreamFlagsReachTheConfig) {
  auto run = [&](const std::string& args, std::string* out) {
    const std::string cmd = std::string(YOLOSCOPE_BINARY) + " serve --backend sim --model '" +
                            model_ + "' " + args + " 2>&1";
    FILE* p = popen(cmd.c_str(), "r");
    char buf[4096];
    size_t n;
    while (p != nullptr && (n = fread(buf, 1, sizeof(buf), p)) > 0) out->append(buf, n);
    const int status = p ? pclose(p) : -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  };
  std::string out;
  ASSERT_EQ(run("--stream door=rtsp://u:pw@10.0.0.5/live --stream belt=/data/belt.mp4 "
                "--stream-fps 5 --print-config",
                &out),
            0)
      << out;
  EXPECT_NE(out.find("name: door"), std::string::npos) << out;
  EXPECT_NE(out.find("uri: rtsp://***@10.0.0.5/live"), std::string::npos) << out;
  EXPECT_EQ(out.find("pw@"), std::string::npos) << out;
  EXPECT_NE(out.find("name: belt"), std::string::npos) << out;
  EXPECT_NE(out.find("drop_policy: block"), std::string::npos) << out;  // a file
  EXPECT_NE(out.find("drop_policy: drop_oldest"), std::string::npos) << out;
  EXPECT_NE(out.find("fps: 5"), std::string::npos) << out;
  out.clear();
  EXPECT_EQ(run("--stream nouri --print-config", &out), 2);
  EXPECT_NE(out.find("--stream expects NAME=URI"), std::string::npos) << out;
  out.clear();
  EXPECT_EQ(run("--stream a=x.mp4 --stream a=y.mp4 --print-config", &out), 2);
  EXPECT_NE(out.find("used twice"), std::string::npos) << out;
  out.clear();
  EXPECT_EQ(run("--stream a=x.mp4 --stream-fps -1 --print-config", &out), 2);
  EXPECT_NE(out.find("fps must be in 0..1000"), std::string::npos) << out;
}

}  // namespace
}  // namespace yoloscope
