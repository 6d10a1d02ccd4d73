// A served tiny generated YOLO model (TorchScript, 320) on free HTTP and
// gRPC ports with a request log, for the KServe conformance tests over real
// sockets (kserve_http_test.cc, kserve_grpc_test.cc).
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "http/test_http_client.h"
#include "server/inference_server.h"
#include "testing/test_models.h"

namespace yoloscope::testing {

class KServeFixture : public ::testing::Test {
 protected:
  using Json = nlohmann::json;
  static constexpr char kModel[] = "yolov8tiny_320";

  void SetUp() override {
    const std::string model = ModelPath(kModel, "torchscript");
    ASSERT_FALSE(model.empty()) << "generated models missing in " << ModelsDir();
    dir_ = std::filesystem::temp_directory_path() /
           ("ys_kserve_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    config_.service.backend.model_path = model;
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
  // Stops the server and returns the request log's `request` records.
  std::vector<Json> StopAndReadRequests() {
    server_->Shutdown(std::chrono::seconds(10));
    std::vector<Json> records;
    std::ifstream in(config_.log.path);
    std::string line;
    while (std::getline(in, line)) {
      Json j = Json::parse(line, nullptr, false);
      EXPECT_FALSE(j.is_discarded()) << line;
      if (!j.is_discarded() && j.value("event", "") == "request") records.push_back(j);
    }
    return records;
  }
  static std::string Base64(const std::string& in) {
    static const char* a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    size_t i = 0;
    for (; i + 2 < in.size(); i += 3) {
      uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
      for (int k = 3; k >= 0; --k) out += a[(v >> (6 * k)) & 63];
    }
    if (i < in.size()) {
      uint32_t v = uint8_t(in[i]) << 16;
      if (i + 1 < in.size()) v |= uint8_t(in[i + 1]) << 8;
      out += a[(v >> 18) & 63];
      out += a[(v >> 12) & 63];
      out += i + 1 < in.size() ? a[(v >> 6) & 63] : '=';
      out += '=';
    }
    return out;
  }
  // BYTES elements in the binary-tensor layout: 4-byte LE length + bytes.
  static std::string LengthPrefixed(const std::vector<std::string>& elements) {
    std::string out;
    for (const std::string& e : elements) {
      const auto len = static_cast<uint32_t>(e.size());
      out.append(reinterpret_cast<const char*>(&len), 4);
      out += e;
    }
    return out;
  }

  std::filesystem::path dir_;
  ServeConfig config_;
  std::unique_ptr<InferenceServer> server_;
};

}  // namespace yoloscope::testing
