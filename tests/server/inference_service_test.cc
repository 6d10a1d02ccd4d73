// InferenceService in-process, on the identity test backend behind a wrapper
// that plays another device or a smaller max_batch(): the batch cap taken
// from the backend, gpu_id on request and batch records, and requests logged
// without a response. No model files needed.
#include "server/inference_service.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "logging/async_log_writer.h"

namespace yoloscope {
namespace {

using Json = nlohmann::json;
constexpr int kInput = 64;  // identity backend input: 64x64, cheap tensors

// Forwards to an identity backend, reporting another device and a smaller
// max_batch(), refusing larger batches, and recording what it was asked.
class WrappedBackend final : public Backend {
 public:
  struct Seen {
    std::mutex mu;
    std::vector<int> warmup_sizes;  // Guarded by mu.
    std::atomic<int> largest_batch{0};
  };

  WrappedBackend(std::unique_ptr<Backend> inner, int max_batch, std::string device, Seen* seen)
      : inner_(std::move(inner)), max_batch_(max_batch), device_(std::move(device)), seen_(seen) {}

  const ModelInfo& info() const override { return inner_->info(); }
  std::string name() const override { return inner_->name(); }
  std::string device() const override { return device_; }
  int max_batch() const override { return max_batch_; }
  Status Run(const float* input, int batch, int height, int width, OutputTensor* out,
             BatchTiming* timing) override {
    if (batch > max_batch_) return InvalidArgumentError("batch over the wrapper's max_batch");
    int largest = seen_->largest_batch.load();
    while (batch > largest && !seen_->largest_batch.compare_exchange_weak(largest, batch)) {
    }
    return inner_->Run(input, batch, height, width, out, timing);
  }
  Status Warmup(const std::vector<int>& batch_sizes) override {
    {
      std::lock_guard<std::mutex> lock(seen_->mu);
      seen_->warmup_sizes.insert(seen_->warmup_sizes.end(), batch_sizes.begin(), batch_sizes.end());
    }
    return Backend::Warmup(batch_sizes);
  }

 private:
  std::unique_ptr<Backend> inner_;
  const int max_batch_;
  const std::string device_;
  Seen* const seen_;
};

class InferenceServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("ys_service_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    config_.backend.kind = "identity";
    config_.backend.input_w = kInput;
    config_.backend.input_h = kInput;
    config_.model_name = "wrapped";
    config_.batcher.max_batch_size = 8;
    config_.batcher.max_queue_delay_us = 20'000;  // let batches fill
  }
  void TearDown() override {
    if (service_) service_->Shutdown();
    if (log_) (void)log_->Close();
    std::filesystem::remove_all(dir_);
  }

  // Wraps every instance's backend: max_batch() = `max_batch`, `device`.
  void WrapBackends(int max_batch, const std::string& device) {
    config_.backend_factory =
        [this, max_batch, device](const BackendConfig& bc) -> StatusOr<std::unique_ptr<Backend>> {
      auto inner = CreateBackend(bc);
      if (!inner.ok()) return inner.status();
      return std::unique_ptr<Backend>(
          new WrappedBackend(std::move(inner).value(), max_batch, device, &seen_));
    };
  }

  void Create(bool with_log) {
    if (with_log) {
      AsyncLogWriterConfig lc;
      lc.path = (dir_ / "requests.jsonl").string();
      auto log = AsyncLogWriter::Create(lc, &clock_);
      ASSERT_TRUE(log.ok()) << log.status().ToString();
      log_ = std::move(log).value();
    }
    auto s = InferenceService::Create(config_, &clock_, &metrics_, log_.get());
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    service_ = std::move(s).value();
  }

  // Submits `n` already letterboxed inputs at once; waits for every answer.
  std::vector<InferenceResult> RunRequests(int n) {
    std::mutex mu;
    std::condition_variable cv;
    std::vector<InferenceResult> results;
    for (int i = 0; i < n; ++i) {
      InferenceRequest req;
      req.request_id = "r" + std::to_string(i);
      req.tensor = TensorInput{std::vector<float>(3 * kInput * kInput, 0.5f)};
      req.receive_ns = clock_.NowNs();
      req.arrival_wall_us = clock_.WallNowUs();
      service_->Submit(std::move(req), [&](InferenceResult&& r) {
        std::lock_guard<std::mutex> lock(mu);
        results.push_back(std::move(r));
        cv.notify_all();
      });
    }
    std::unique_lock<std::mutex> lock(mu);
    EXPECT_TRUE(cv.wait_for(lock, std::chrono::seconds(30),
                            [&] { return results.size() == static_cast<size_t>(n); }));
    return results;
  }

  // Shuts down, closes the log and returns its records.
  std::vector<Json> StopAndReadLog() {
    service_->Shutdown();
    EXPECT_TRUE(log_->Close().ok());
    std::vector<Json> records;
    std::ifstream in(dir_ / "requests.jsonl");
    std::string line;
    while (std::getline(in, line)) records.push_back(Json::parse(line));
    return records;
  }

  std::filesystem::path dir_;
  RealClock clock_;
  MetricsRegistry metrics_;
  InferenceServiceConfig config_;
  WrappedBackend::Seen seen_;
  std::unique_ptr<AsyncLogWriter> log_;
  std::unique_ptr<InferenceService> service_;
};

TEST_F(InferenceServiceTest, BatchSizeIsCappedByTheBackend) {
  WrapBackends(/*max_batch=*/3, "cpu");
  config_.instances = 2;
  config_.batcher.preferred_batch_sizes = {2, 4, 8};  // 4 and 8 no longer possible
  ::testing::internal::CaptureStderr();
  Create(/*with_log=*/false);
  const std::string err = ::testing::internal::GetCapturedStderr();
  ASSERT_TRUE(service_);
  EXPECT_NE(err.find("max batch size lowered from 8 to 3"), std::string::npos) << err;
  EXPECT_EQ(service_->max_batch_size(), 3);
  {
    // Both instances warmed up with sizes 1..3 only.
    std::lock_guard<std::mutex> lock(seen_.mu);
    std::vector<int> sizes = seen_.warmup_sizes;
    std::sort(sizes.begin(), sizes.end());
    EXPECT_EQ(sizes, (std::vector<int>{1, 1, 2, 2, 3, 3}));
  }
  InferenceServiceStats stats = service_->Stats();
  EXPECT_EQ(stats.batch_count_by_size.size(), 4u);  // index = batch size 0..3
  EXPECT_EQ(stats.batch_latency_ms_by_size.size(), 4u);

  std::vector<InferenceResult> results = RunRequests(40);
  for (const InferenceResult& r : results) {
    EXPECT_TRUE(r.status.ok()) << r.status.ToString();
    EXPECT_GE(r.batch_size, 1);
    EXPECT_LE(r.batch_size, 3);
  }
  EXPECT_LE(seen_.largest_batch.load(), 3);
  stats = service_->Stats();
  int64_t images = 0;
  for (size_t b = 0; b < stats.batch_count_by_size.size(); ++b) {
    images += static_cast<int64_t>(b) * stats.batch_count_by_size[b];
  }
  EXPECT_EQ(images, 40);
}

TEST_F(InferenceServiceTest, NoCapAndNoMessageWhenTheBackendTakesTheWholeBatch) {
  WrapBackends(/*max_batch=*/32, "cpu");
  ::testing::internal::CaptureStderr();
  Create(/*with_log=*/false);
  const std::string err = ::testing::internal::GetCapturedStderr();
  ASSERT_TRUE(service_);
  EXPECT_EQ(err.find("lowered"), std::string::npos) << err;
  EXPECT_EQ(service_->max_batch_size(), 8);
  EXPECT_EQ(service_->Stats().batch_count_by_size.size(), 9u);
}

TEST_F(InferenceServiceTest, BackendThatAcceptsNoBatchIsRefused) {
  WrapBackends(/*max_batch=*/0, "cpu");
  auto s = InferenceService::Create(config_, &clock_, &metrics_, nullptr);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("accepts no batch"), std::string::npos)
      << s.status().ToString();
}

// gpu_id of request and batch records: the instance's device.
struct DeviceCase {
  std::string device;
  std::optional<int64_t> gpu_id;
};

class GpuIdTest : public InferenceServiceTest, public ::testing::WithParamInterface<DeviceCase> {};

TEST_P(GpuIdTest, RequestAndBatchRecordsCarryTheInstanceDevice) {
  const DeviceCase& c = GetParam();
  WrapBackends(/*max_batch=*/8, c.device);
  config_.instances = 2;
  Create(/*with_log=*/true);
  ASSERT_TRUE(service_);
  EXPECT_EQ(service_->device(), c.device);
  for (const InferenceResult& r : RunRequests(12)) EXPECT_TRUE(r.status.ok());
  // Refused before Submit: no batch ran it, the service's device is its device.
  service_->LogRejected("refused-1", clock_.WallNowUs(), clock_.NowNs(), 100, 413,
                        "payload_too_large", "too big");
  std::vector<Json> log = StopAndReadLog();
  int requests = 0, batches = 0;
  const Json expected = c.gpu_id ? Json(*c.gpu_id) : Json(nullptr);
  for (const Json& j : log) {
    const std::string event = j.at("event");
    if (event == "request") ++requests;
    if (event == "batch") ++batches;
    ASSERT_TRUE(j.contains("gpu_id")) << j.dump();
    EXPECT_EQ(j.at("gpu_id"), expected) << j.dump();
  }
  EXPECT_EQ(requests, 13);
  EXPECT_GE(batches, 1);
}

INSTANTIATE_TEST_SUITE_P(Devices, GpuIdTest,
                         ::testing::Values(DeviceCase{"cuda:1", 1}, DeviceCase{"sim:0", 0},
                                           DeviceCase{"cuda", 0}, DeviceCase{"cpu", std::nullopt}),
                         [](const ::testing::TestParamInfo<DeviceCase>& info) {
                           std::string name = info.param.device;
                           std::replace(name.begin(), name.end(), ':', '_');
                           return name;
                         });

TEST_F(InferenceServiceTest, RequestWithoutAResponseIsLoggedButNotCountedAsAnswered) {
  WrapBackends(/*max_batch=*/8, "cpu");
  Create(/*with_log=*/true);
  ASSERT_TRUE(service_);
  const int64_t receive_ns = clock_.NowNs();
  service_->LogRejected("slow-1", clock_.WallNowUs(), receive_ns, 0, 0, "read_timeout",
                        "request not complete within read_timeout (30000 ms)");
  const std::string metrics = metrics_.Render();
  EXPECT_EQ(metrics.find("code=\"0\""), std::string::npos) << metrics;
  std::vector<Json> log = StopAndReadLog();
  ASSERT_EQ(log.size(), 1u);
  const Json& r = log[0];
  EXPECT_EQ(r.at("event"), "request");
  EXPECT_EQ(r.at("request_id"), "slow-1");
  EXPECT_EQ(r.at("status"), "read_timeout");
  EXPECT_NE(r.at("error").get<std::string>().find("read_timeout"), std::string::npos);
  EXPECT_FALSE(r.contains("input_bytes"));  // unknown, not a made-up 0
  EXPECT_FALSE(r.contains("batch_id"));
  EXPECT_TRUE(r.contains("total_ms"));
}

// Issue 14: the images of one client request are admitted together or not
// at all; a refused group is answered queue_full image by image (one record
// each, all with the same status), and nothing of it runs.
// Issue 19: a decoded video frame (pixels, no encoded image) is letterboxed
// and logged with its stream, index, pts and the stream's decode time; a
// frame refused before the pipeline still names its stream.
TEST_F(InferenceServiceTest, VideoFrameIsLetterboxedAndLoggedWithItsStream) {
  Create(/*with_log=*/true);
  std::mutex mu;
  std::condition_variable cv;
  std::optional<InferenceResult> result;
  InferenceRequest req;
  req.request_id = "frame-1";
  req.protocol = "stream";
  Image frame;
  frame.Resize(160, 120);
  std::fill(frame.data.begin(), frame.data.end(), uint8_t{90});
  req.pixels = std::move(frame);
  req.frame = StreamFrameInfo{"cam7", 41, 1640.0, 3.25};
  req.receive_ns = clock_.NowNs();
  req.arrival_wall_us = clock_.WallNowUs();
  service_->Submit(std::move(req), [&](InferenceResult&& r) {
    std::lock_guard<std::mutex> lock(mu);
    result = std::move(r);
    cv.notify_all();
  });
  {
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(30), [&] { return result.has_value(); }));
  }
  EXPECT_TRUE(result->status.ok()) << result->status.ToString();
  EXPECT_EQ(result->width, 160);
  EXPECT_EQ(result->height, 120);
  EXPECT_DOUBLE_EQ(result->timing.decode_ms, 3.25);

  RejectedRequest refused;
  refused.request_id = "frame-2";
  refused.protocol = "stream";
  refused.outcome = Outcome::kUnavailable;
  refused.log_status = "log_unavailable";
  refused.message = "the request log cannot be written";
  refused.frame = StreamFrameInfo{"cam7", 42, 1680.0, 2.5};
  service_->LogRejected(refused);

  const auto records = StopAndReadLog();
  std::vector<Json> frames;
  for (const Json& r : records) {
    if (r.value("event", "") == "request") frames.push_back(r);
  }
  ASSERT_EQ(frames.size(), 2u);
  const Json& ok = frames[0].at("request_id") == "frame-1" ? frames[0] : frames[1];
  const Json& no = frames[0].at("request_id") == "frame-1" ? frames[1] : frames[0];
  EXPECT_EQ(ok.at("protocol"), "stream");
  EXPECT_EQ(ok.at("stream"), "cam7");
  EXPECT_EQ(ok.at("frame_index"), 41);
  EXPECT_EQ(ok.at("pts_ms"), 1640);
  EXPECT_EQ(ok.at("decode_ms"), 3.25);
  EXPECT_TRUE(ok.contains("preprocess_ms"));
  EXPECT_TRUE(ok.contains("batch_id"));
  EXPECT_FALSE(ok.contains("input_bytes"));
  EXPECT_EQ(ok.at("input_w"), 160);
  EXPECT_EQ(no.at("stream"), "cam7");
  EXPECT_EQ(no.at("frame_index"), 42);
  EXPECT_EQ(no.at("status"), "log_unavailable");
}

TEST_F(InferenceServiceTest, SubmitAllAdmitsAllImagesOrNone) {
  config_.batcher.max_queue_size = 3;
  config_.batcher.max_queue_delay_us = 0;
  Create(/*with_log=*/true);
  auto submit_all = [&](int n, const std::string& prefix) {
    std::vector<InferenceRequest> reqs;
    for (int i = 0; i < n; ++i) {
      InferenceRequest req;
      req.request_id = prefix + std::to_string(i);
      req.protocol = "kserve_http";
      req.client_id = prefix;
      req.tensor = TensorInput{std::vector<float>(3 * kInput * kInput, 0.5f)};
      req.receive_ns = clock_.NowNs();
      req.arrival_wall_us = clock_.WallNowUs();
      reqs.push_back(std::move(req));
    }
    std::mutex mu;
    std::condition_variable cv;
    std::vector<InferenceResult> results(static_cast<size_t>(n));
    int done = 0;
    service_->SubmitAll(std::move(reqs), [&](size_t i, InferenceResult&& r) {
      std::lock_guard<std::mutex> lock(mu);
      results[i] = std::move(r);
      ++done;
      cv.notify_all();
    });
    std::unique_lock<std::mutex> lock(mu);
    EXPECT_TRUE(cv.wait_for(lock, std::chrono::seconds(30), [&] { return done == n; }));
    return results;
  };
  // 4 images never fit a queue of 3, even an empty one: all refused.
  for (const InferenceResult& r : submit_all(4, "big")) {
    EXPECT_EQ(r.outcome, Outcome::kQueueFull) << r.status.ToString();
    EXPECT_EQ(r.batch_size, 0);
  }
  // 3 images fit: all run.
  for (const InferenceResult& r : submit_all(3, "fits")) {
    EXPECT_TRUE(r.status.ok()) << r.status.ToString();
  }
  std::vector<Json> records = StopAndReadLog();
  int big = 0, fits = 0;
  for (const Json& rec : records) {
    if (rec.value("event", "") != "request") continue;
    EXPECT_EQ(rec.value("protocol", ""), "kserve_http");
    const std::string id = rec.value("client_id", "");
    if (id == "big") {
      ++big;
      EXPECT_EQ(rec.value("status", ""), "queue_full");
    } else if (id == "fits") {
      ++fits;
      EXPECT_EQ(rec.value("status", ""), "ok");
    }
  }
  EXPECT_EQ(big, 4);
  EXPECT_EQ(fits, 3);
}

}  // namespace
}  // namespace yoloscope
