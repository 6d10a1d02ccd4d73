// `yoloscope serve --model <Ultralytics export>`: concurrent requests are
// batched and get Ultralytics' own detections; the model endpoint and the
// request log say which engine runs the model; a static batch-1 export is
// never batched (no 500s however large --max-batch is).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "http/test_http_client.h"
#include "testing/serve_child.h"
#include "testing/test_models.h"
#include "testing/ultralytics_fixtures.h"

namespace yoloscope {
namespace {

using testing::TestHttpClient;
using testing::UltralyticsModel;

struct Served {
  std::map<std::string, nlohmann::json> responses;  // photo -> /v1/detect body
  std::map<std::string, int> statuses;
};

// Sends every photo at once, one connection each, so the batcher can group them.
Served PostAllPhotos(int port, const UltralyticsModel& m) {
  Served s;
  std::mutex mu;
  std::vector<std::thread> threads;
  for (const auto& [photo, dets] : m.predictions) {
    threads.emplace_back([&, photo = photo] {
      const std::string jpeg = testing::ReadFileBytes(testing::PhotosDir() + "/" + photo);
      auto client = TestHttpClient::Connect(port, "127.0.0.1", std::chrono::seconds(120));
      if (!client.ok()) return;
      auto r = client->Post("/v1/detect", jpeg, "image/jpeg");
      std::lock_guard<std::mutex> lock(mu);
      s.statuses[photo] = r.ok() ? r->status : -1;
      if (r.ok() && r->status == 200) s.responses[photo] = nlohmann::json::parse(r->body);
    });
  }
  for (auto& t : threads) t.join();
  return s;
}

class UltralyticsServeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("ys_ul_serve_" + std::to_string(getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(UltralyticsServeTest, ServesUltralyticsDetectionsForEveryExport) {
  // Every export variant (layout x format x size x static/dynamic batch).
  int served = 0;
  for (const auto& m : testing::LoadUltralyticsModels()) {
    if (m.task != "detect") continue;
    const std::string log = (dir_ / (m.file + ".jsonl")).string();
    testing::ServeChild server({YOLOSCOPE_BINARY, "serve", "--model", m.path, "--log", log,
                                "--port", "0", "--grpc-port", "0", "--threads", "2", "--max-batch",
                                "4", "--max-queue-delay-us", "100000", "--max-queue-size", "64"});
    const int port = server.WaitForPort();
    ASSERT_GT(port, 0) << m.file << ": " << server.Stderr();
    Served s = PostAllPhotos(port, m);
    for (const auto& [photo, expected] : m.predictions) {
      ASSERT_EQ(s.statuses[photo], 200) << m.file << " " << photo;
      auto got = testing::ParseDetections(s.responses[photo].at("detections"));
      // The response rounds scores to 4 decimals and boxes to 2.
      EXPECT_EQ(testing::CompareDetections(expected, got), "") << m.file << " " << photo;
    }
    // The model endpoint names the engine.
    auto client = TestHttpClient::Connect(port, "127.0.0.1", std::chrono::seconds(10));
    ASSERT_TRUE(client.ok());
    const std::string name = std::filesystem::path(m.file).stem().string();
    auto meta = client->Get("/v2/models/" + name);
    ASSERT_TRUE(meta.ok());
    ASSERT_EQ(meta->status, 200) << meta->body;
    auto j = nlohmann::json::parse(meta->body);
    const std::string backend = m.format == "onnx" ? "onnxruntime" : "torch";
    EXPECT_EQ(j["parameters"]["backend"], backend);
    EXPECT_EQ(j["platform"], m.format == "onnx" ? "onnxruntime_onnx" : "pytorch_libtorch");
    if (m.format == "onnx") {
      EXPECT_NE(j["parameters"]["engine"].get<std::string>().find("onnxruntime 1."),
                std::string::npos)
          << meta->body;
    }
    ASSERT_EQ(server.StopWith(SIGTERM), 0) << server.Stderr();
    // Every request's record names the backend; batches formed.
    std::ifstream in(log);
    std::string line;
    int requests = 0, max_batch = 0;
    while (std::getline(in, line)) {
      auto r = nlohmann::json::parse(line);
      if (r.value("event", "") != "request") continue;
      ++requests;
      EXPECT_EQ(r.value("backend", ""), backend);
      max_batch = std::max(max_batch, r.value("batch_size", 0));
    }
    EXPECT_EQ(requests, static_cast<int>(m.predictions.size()));
    if (m.fixed_batch == 1) {
      EXPECT_EQ(max_batch, 1) << "a static batch-1 export must never be batched";
    }
    ++served;
  }
  EXPECT_GE(served, 12);
}

}  // namespace
}  // namespace yoloscope
