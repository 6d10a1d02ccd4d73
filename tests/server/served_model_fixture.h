// A served tiny generated YOLO model (TorchScript, 320) on free HTTP and
// gRPC ports of 127.0.0.1, with a request log in a per-test temporary
// folder: the common ground of the server tests over real sockets
// (inference_server_test.cc, and the KServe tests through KServeFixture).
//
// SetUp fills config_ (one backend thread, batches of up to 4 with a 2 ms
// window); a test changes config_ before Start(). TearDown stops the server
// and removes the folder.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "http/test_http_client.h"
#include "server/inference_server.h"
#include "testing/test_models.h"

namespace yoloscope::testing {

class ServedModelFixture : public ::testing::Test {
 protected:
  using Json = nlohmann::json;
  static constexpr char kModel[] = "yolov8tiny_320";

  void SetUp() override {
    model_ = ModelPath(kModel, "torchscript");
    ASSERT_FALSE(model_.empty()) << "generated models missing in " << ModelsDir();
    dir_ = std::filesystem::temp_directory_path() /
           ("ys_served_model_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    config_.service.backend.model_path = model_;
    config_.service.backend.num_threads = 1;
    config_.service.batcher.max_batch_size = 4;
    config_.service.batcher.max_queue_delay_us = 2000;
    config_.http.port = 0;
    config_.http.io_threads = 2;
    config_.grpc.port = 0;
    config_.log.path = (dir_ / "requests.jsonl").string();
  }
  void TearDown() override {
    if (server_) server_->Shutdown(std::chrono::seconds(5));
    std::filesystem::remove_all(dir_);
  }

  void Start() {
    auto s = InferenceServer::Create(config_);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(s).value();
    ASSERT_TRUE(server_->Start().ok());
  }
  TestHttpClient Client() {
    auto c = TestHttpClient::Connect(server_->port(), "127.0.0.1", std::chrono::seconds(60));
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return std::move(c).value();
  }
  static std::string Photo(const std::string& name) {
    return ReadFileBytes(PhotosDir() + "/" + name);
  }

  // Stops the server and returns the request log's records: all of them, or
  // those of one `event` ("request", "batch", ...).
  std::vector<Json> StopAndReadLog(const std::string& event = "") {
    server_->Shutdown(std::chrono::seconds(10));
    std::vector<Json> records;
    std::ifstream in(config_.log.path);
    std::string line;
    while (std::getline(in, line)) {
      Json j = Json::parse(line, nullptr, false);
      EXPECT_FALSE(j.is_discarded()) << line;
      if (j.is_discarded()) continue;
      if (event.empty() || j.value("event", "") == event) records.push_back(std::move(j));
    }
    return records;
  }

  std::string model_;  // the TorchScript file served
  std::filesystem::path dir_;
  ServeConfig config_;
  std::unique_ptr<InferenceServer> server_;
};

}  // namespace yoloscope::testing
