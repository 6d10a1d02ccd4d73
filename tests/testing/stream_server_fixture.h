// Test helper: the fixture of the in-process stream server tests
// (tests/server/stream_*_test.cc). SetUpStreamServer() skips without video
// support or ffmpeg, makes a temp folder and a ServeConfig for an in-process
// InferenceServer on a free loopback port with the request log in that
// folder (sim backend, no gRPC, no telemetry, batches of up to 4 within
// 5 ms); the test changes what it needs before Start(). Header-only.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

#include "server/inference_server.h"
#include "testing/test_videos.h"

namespace yoloscope::testing {

class StreamServerFixture : public ::testing::Test {
 protected:
  // `prefix` names the temp folder (ys_PREFIX_PID_TEST). The caller returns
  // when IsSkipped() afterwards (GTEST_SKIP only leaves this function).
  void SetUpStreamServer(const std::string& prefix) {
#if !YOLOSCOPE_HAVE_OPENCV
    GTEST_SKIP() << "this build has no video support (YOLOSCOPE_USE_OPENCV=OFF)";
#endif
    if (!HaveFfmpeg()) GTEST_SKIP() << "ffmpeg not installed (scripts/setup.sh)";
    dir_ = std::filesystem::temp_directory_path() /
           ("ys_" + prefix + "_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    config_.service.backend.kind = "sim";
    config_.service.warmup = false;
    config_.service.batcher.max_batch_size = 4;
    config_.service.batcher.max_queue_delay_us = 5000;
    config_.http.port = 0;
    config_.grpc.enabled = false;
    config_.http.io_threads = 1;
    config_.telemetry.kind = "off";
    config_.log.path = (dir_ / "requests.jsonl").string();
  }
  // YS_KEEP_DIR=1 keeps the folder (its log) for a look after a failure.
  void TearDown() override {
    if (server_) server_->Shutdown(std::chrono::seconds(10));
    server_.reset();
    std::error_code ec;
    if (!dir_.empty() && !std::getenv("YS_KEEP_DIR")) std::filesystem::remove_all(dir_, ec);
  }

  // A simulated model: a batch of b takes base_ms + per_image_ms * b.
  void SimModel(double base_ms, double per_image_ms) {
    const std::string path = (dir_ / "model.yaml").string();
    std::ofstream out(path);
    out << "simulator: yoloscope-sim/1\nmodel:\n  name: stream-sim\n  input_size: 320\n"
        << "latency:\n  base_ms: " << base_ms << "\n  per_image_ms: " << per_image_ms
        << "\n  alpha: 1.0\n  jitter_pct: 0\n  seed: 1\n";
    config_.service.backend.model_path = path;
  }

  // A test pattern video of `seconds` at `fps` in the temp folder.
  std::string Video(const std::string& name, double seconds, int fps = 25) {
    const std::string path = (dir_ / name).string();
    EXPECT_TRUE(MakeTestVideo(path, seconds, fps)) << "ffmpeg failed for " << path;
    return path;
  }

  void Start() {
    auto s = InferenceServer::Create(config_);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(s).value();
    ASSERT_TRUE(server_->Start().ok());
  }

  // The value of one series in /metrics (-1 when absent).
  double Metric(const std::string& series) {
    const std::string text = server_->RenderMetrics();
    const size_t at = text.find("\n" + series + " ");
    if (at == std::string::npos) return -1;
    return std::stod(text.substr(at + series.size() + 2));
  }
  double Frames(const std::string& stream, const std::string& outcome) {
    return Metric("yoloscope_stream_frames_total{stream=\"" + stream + "\",outcome=\"" + outcome +
                  "\"}");
  }

  // Waits until `done` is true (polling every 20 ms), at most `limit`.
  template <typename Pred>
  bool WaitFor(Pred done, std::chrono::milliseconds limit = std::chrono::milliseconds(60'000)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      if (done()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return done();
  }

  std::filesystem::path dir_;
  ServeConfig config_;
  std::unique_ptr<InferenceServer> server_;
};

}  // namespace yoloscope::testing
