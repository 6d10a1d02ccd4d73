// Alerts under real overload (issue 7): the real server (InferenceServer
// in-process, as tests/server does) with alerts on, a queue-length rule over
// a short window, real HTTP clients overloading a slow simulated GPU, and a
// webhook receiver on 127.0.0.1. The alert must fire while the load runs
// (an `alert` record with state firing in the request log, and an
// Alertmanager payload at the receiver) and resolve once the load stops.
// Bounded: a fixed number of clients, stopped as soon as the alert fired or
// after a generous deadline; no timing assertion beyond deadlines.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "alerts/test_http_receiver.h"
#include "http/test_http_client.h"
#include "image/image_encoder.h"
#include "server/inference_server.h"

namespace yoloscope {
namespace {

using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using std::chrono::seconds;

constexpr char kRule[] = "ServeQueueBuildsUp";

// A slow simulated GPU: 64x64 input, 25 ms + 5 ms per image, so with batches
// of at most 2 it serves ~57 requests/s; 16 closed-loop clients keep ~14
// requests queued.
constexpr char kSlowSim[] = R"yaml(simulator: yoloscope-sim/1
description: "slow simulated GPU for the overload alert test (a model, not hardware)"
model: {name: slow-sim, input_size: 64}
latency: {base_ms: 25, per_image_ms: 5, jitter_pct: 0}
memory: {activation_mb_per_image: 1}
output: {detections_per_image: 1}
)yaml";

// Fires when on average more than 4 requests were waiting over 2 s, held
// for 1 s; with no traffic the window empties and the alert resolves.
constexpr char kRules[] = R"yaml(rules:
  - name: ServeQueueBuildsUp
    metric: queue_len
    aggregation: mean
    window: 2s
    comparator: ">"
    threshold: 4
    for: 1s
    severity: warning
    labels: {team: vision}
    annotations:
      summary: "{{ $value }} requests waiting on average over 2s"
)yaml";

class ServeOverloadAlertTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("ys_overload_alert_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    std::ofstream(dir_ / "slow-sim.yaml") << kSlowSim;
    std::ofstream(dir_ / "rules.yaml") << kRules;
    Image image;
    image.Resize(64, 48, 3);
    for (size_t i = 0; i < image.data.size(); i += 3) {
      image.data[i] = 200, image.data[i + 1] = 120, image.data[i + 2] = 40;
    }
    auto jpeg = ImageEncoder::EncodeJpeg(image, 95);
    ASSERT_TRUE(jpeg.ok()) << jpeg.status().ToString();
    jpeg_.assign(jpeg->begin(), jpeg->end());
  }
  void TearDown() override {
    StopLoad();
    if (server_) server_->Shutdown(seconds(10));
    std::filesystem::remove_all(dir_);
  }

  // `clients` keep-alive connections posting the JPEG back to back.
  void StartLoad(int clients) {
    for (int i = 0; i < clients; ++i) {
      load_.emplace_back([this] {
        auto client = testing::TestHttpClient::Connect(server_->port(), "127.0.0.1", seconds(30));
        if (!client.ok()) return;
        while (!stop_.load()) {
          auto r = client->Request("POST", "/v1/detect", jpeg_, {{"Content-Type", "image/jpeg"}});
          if (!r.ok()) return;
          if (r->status == 200) ok_.fetch_add(1);
        }
      });
    }
  }
  void StopLoad() {
    stop_ = true;
    for (auto& t : load_) t.join();
    load_.clear();
  }

  // The first webhook payload whose status is `status`.
  static std::optional<Json> Payload(const testing::TestHttpReceiver& receiver,
                                     const std::string& status) {
    for (const auto& r : receiver.received()) {
      Json j = Json::parse(r.body, nullptr, false);
      if (!j.is_discarded() && j.value("status", "") == status) return j;
    }
    return std::nullopt;
  }
  template <typename Fn>
  static bool WaitFor(Fn condition, seconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (!condition()) {
      if (Clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return true;
  }

  std::filesystem::path dir_;
  std::string jpeg_;
  std::unique_ptr<InferenceServer> server_;
  std::vector<std::thread> load_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> ok_{0};
};

TEST_F(ServeOverloadAlertTest, QueueAlertFiresUnderOverloadAndResolvesAfterIt) {
  testing::TestHttpReceiver receiver([](int) { return 200; });
  ServeConfig config;
  config.http.port = 0;
  config.grpc.enabled = false;
  config.http.io_threads = 2;
  config.service.backend.kind = "sim";
  config.service.backend.model_path = (dir_ / "slow-sim.yaml").string();
  config.service.batcher.max_batch_size = 2;
  config.service.batcher.max_queue_delay_us = 0;
  config.service.preprocess_workers = 1;
  config.log.path = (dir_ / "requests.jsonl").string();
  config.telemetry.kind = "off";
  config.alerts.enabled = true;
  config.alerts.rules_path = (dir_ / "rules.yaml").string();
  config.alerts.stderr_lines = true;
  config.alerts.webhook.url = receiver.url("/alerts");
  config.alerts.webhook.initial_backoff_ms = 100;
  auto server = InferenceServer::Create(config);
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  server_ = std::move(server).value();
  ASSERT_TRUE(server_->Start().ok());

  // Overload until the alert fires (or a generous deadline passes).
  StartLoad(16);
  const bool fired = WaitFor([&] { return Payload(receiver, "firing").has_value(); }, seconds(60));
  StopLoad();
  ASSERT_TRUE(fired) << "no firing webhook after 60 s of overload; " << ok_.load()
                     << " requests answered 200";
  EXPECT_GT(ok_.load(), 0);
  // Load stopped: the window empties and the alert resolves.
  ASSERT_TRUE(WaitFor([&] { return Payload(receiver, "resolved").has_value(); }, seconds(60)))
      << "no resolved webhook within 60 s of the load stopping";

  const Json firing = *Payload(receiver, "firing");
  const Json resolved = *Payload(receiver, "resolved");
  for (const Json* p : {&firing, &resolved}) {
    EXPECT_EQ(p->at("version"), "4");
    EXPECT_EQ(p->at("groupLabels").at("alertname"), kRule);
    ASSERT_EQ(p->at("alerts").size(), 1u);
    const Json& alert = p->at("alerts")[0];
    EXPECT_EQ(alert.at("labels").at("alertname"), kRule);
    EXPECT_EQ(alert.at("labels").at("severity"), "warning");
    EXPECT_EQ(alert.at("labels").at("team"), "vision");
  }
  EXPECT_EQ(firing.at("alerts")[0].at("status"), "firing");
  EXPECT_EQ(resolved.at("alerts")[0].at("status"), "resolved");
  EXPECT_EQ(resolved.at("alerts")[0].at("startsAt"), firing.at("alerts")[0].at("startsAt"));
  for (const auto& r : receiver.received()) {
    EXPECT_EQ(r.method, "POST");
    EXPECT_EQ(r.target, "/alerts");
    EXPECT_EQ(r.content_type, "application/json");
  }

  // The request log holds the same story as `alert` records, in order.
  ASSERT_TRUE(server_->Shutdown(seconds(10)));
  std::vector<Json> alerts;
  int64_t requests = 0, max_queue_len = 0;
  std::ifstream in(dir_ / "requests.jsonl");
  std::string line;
  while (std::getline(in, line)) {
    Json j = Json::parse(line);
    const std::string event = j.at("event");
    if (event == "alert") alerts.push_back(j);
    if (event == "request") {
      ++requests;
      max_queue_len = std::max<int64_t>(max_queue_len, j.value("queue_len", 0));
    }
  }
  EXPECT_GE(requests, ok_.load());
  EXPECT_GT(max_queue_len, 4);  // the overload was real
  ASSERT_GE(alerts.size(), 2u);
  EXPECT_EQ(alerts[0].at("rule"), kRule);
  EXPECT_EQ(alerts[0].at("state"), "firing");
  EXPECT_EQ(alerts[0].at("metric"), "queue_len");
  EXPECT_EQ(alerts[0].at("window_s"), 2);
  EXPECT_GT(alerts[0].at("value").get<double>(), 4.0);
  EXPECT_NE(alerts[0].at("annotations").at("summary").get<std::string>().find("requests waiting"),
            std::string::npos);
  // Firing and resolved alternate (one episode expected; hysteresis keeps a
  // steady overload from flapping), ending resolved.
  for (size_t i = 0; i < alerts.size(); ++i) {
    EXPECT_EQ(alerts[i].at("rule"), kRule);
    EXPECT_EQ(alerts[i].at("state"), i % 2 == 0 ? "firing" : "resolved") << alerts[i].dump();
    if (i % 2 == 1) EXPECT_EQ(alerts[i].at("fired_at"), alerts[i - 1].at("fired_at"));
  }
  EXPECT_EQ(alerts.back().at("state"), "resolved");
  EXPECT_TRUE(alerts.back().contains("resolved_at"));
}

}  // namespace
}  // namespace yoloscope
