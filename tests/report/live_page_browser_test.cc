// serve's live page in real headless Chromium.
//
// In-process: the pieces `yoloscope serve` wires together for `/` -- an
// InferenceService on the simulated GPU (configs/sim/default.yaml) whose
// annotate_request hook feeds a LiveSeries, a TelemetrySampler on the sim's
// telemetry feeding the same series, and an HttpServer with LivePage's
// routes -- under a steady trickle of real detect requests. The page must
// load with no console error, poll /api/live every second (several updates
// seen) and draw every chart.
//
// As a process: `yoloscope serve --backend sim` answering `/` (skipped while
// inference_server.cc does not route the live page yet).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <regex>
#include <set>
#include <thread>

#include "common/clock.h"
#include "http/http_server.h"
#include "http/router.h"
#include "http/test_http_client.h"
#include "logging/async_log_writer.h"
#include "report/browser_check.h"
#include "report/report_assets.h"
#include "server/inference_service.h"
#include "server/live_page.h"
#include "server/live_series.h"
#include "server/metrics_registry.h"
#include "telemetry/telemetry_factory.h"
#include "testing/test_videos.h"

namespace yoloscope {
namespace {

using Json = nlohmann::json;
using testing::BrowserCheck;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// serve's live page, assembled in-process the way inference_server.cc does.
class LiveServer {
 public:
  Status Start(const std::string& dir) {
    AsyncLogWriterConfig lc;
    lc.path = dir + "/requests.jsonl";
    auto log = AsyncLogWriter::Create(lc, &clock_);
    if (!log.ok()) return log.status();
    log_ = std::move(log).value();
    InferenceServiceConfig sc;
    sc.backend.kind = "sim";
    sc.backend.model_path = std::string(YOLOSCOPE_SOURCE_DIR) + "/configs/sim/default.yaml";
    sc.backend.max_batch = 8;
    sc.batcher.max_batch_size = 8;
    sc.batcher.max_queue_delay_us = 3000;
    sc.annotate_request = [this](RequestLogRecord* rec) { live_.AddRequest(*rec); };
    auto service = InferenceService::Create(sc, &clock_, &metrics_, log_.get());
    if (!service.ok()) return service.status();
    service_ = std::move(service).value();
    TelemetryConfig tc;
    auto source = CreateTelemetrySource(tc, &clock_, service_->NewTelemetrySource());
    if (!source.ok()) return source.status();
    auto sampler =
        TelemetrySampler::Create(tc.sampler, &clock_, std::move(source).value(),
                                 [this](const DeviceSample& s) { live_.AddGpuSample(s); });
    if (!sampler.ok()) return sampler.status();
    sampler_ = std::move(sampler).value();
    YS_RETURN_IF_ERROR(sampler_->Start());
    LivePageOptions po;
    po.title = "yoloscope serve <sim>";  // escaped on the page
    po.subtitle = "model " + service_->model_name() + ", backend sim";
    YS_RETURN_IF_ERROR(LivePage::AddRoutes(&router_, &live_, po));
    http::HttpServerConfig hc;
    hc.port = 0;
    hc.io_threads = 2;
    auto http = http::HttpServer::Create(hc, router_.AsHandler(), &clock_);
    if (!http.ok()) return http.status();
    http_ = std::move(http).value();
    return http_->Start();
  }

  // Sends detect requests at about `rps` until Stop.
  void StartTraffic(double rps) {
    image_ = ReadFile(std::string(YOLOSCOPE_PHOTOS_DIR) + "/dog.jpg");
    traffic_ = std::thread([this, rps] {
      int i = 0;
      while (!stop_) {
        // Bursts of 1..6 so that batches of several sizes form.
        const int burst = 1 + i++ % 6;
        for (int k = 0; k < burst; ++k) {
          InferenceRequest r;
          r.request_id = "live-" + std::to_string(i) + "-" + std::to_string(k);
          r.image = image_;
          r.receive_ns = clock_.NowNs();
          r.arrival_wall_us = clock_.WallNowUs();
          ++sent_;
          service_->Submit(std::move(r), [this](InferenceResult&&) { ++done_; });
        }
        std::this_thread::sleep_for(
            std::chrono::microseconds(static_cast<int64_t>(burst * 1e6 / rps)));
      }
    });
  }

  void Stop() {
    stop_ = true;
    if (traffic_.joinable()) traffic_.join();
    if (http_) http_->Shutdown(std::chrono::seconds(2));
    if (sampler_) sampler_->Stop();
    if (service_) service_->Shutdown();
    if (log_) (void)log_->Close();
  }
  ~LiveServer() { Stop(); }

  int port() const { return http_->port(); }
  int done() const { return done_; }

 private:
  RealClock clock_;
  LiveSeries live_{LiveSeriesConfig{.window_s = 120, .summary_s = 5}, &clock_};
  MetricsRegistry metrics_;
  std::unique_ptr<AsyncLogWriter> log_;
  std::unique_ptr<InferenceService> service_;
  std::unique_ptr<TelemetrySampler> sampler_;
  http::Router router_;
  std::unique_ptr<http::HttpServer> http_;
  std::string image_;
  std::thread traffic_;
  std::atomic<bool> stop_{false};
  std::atomic<int> sent_{0}, done_{0};
};

class LivePageBrowserTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (auto why = BrowserCheck::SkipReason()) GTEST_SKIP() << *why;
    if (!ReportAssets::HaveCharts()) GTEST_SKIP() << ReportAssets::MissingMessage();
    dir_ = std::filesystem::temp_directory_path() / ("ys_live_test_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Loads the live page at `port`, waits for `updates` polls; checks. The
  // checker's result (web/test/check_page.mjs).
  Json CheckLivePage(int port, const std::string& name, const std::set<std::string>& must_draw) {
    const std::string png = BrowserCheck::ArtifactsDir() + "/" + name + ".png";
    std::filesystem::remove(png);
    const Json r = BrowserCheck::Run("http://127.0.0.1:" + std::to_string(port) + "/", name,
                                     {"--mode", "live", "--min-updates", "3", "--screenshot", png});
    EXPECT_TRUE(r.value("ok", false)) << r.dump(2);
    if (!r.value("ok", false)) return r;
    EXPECT_TRUE(r["console_errors"].empty()) << r["console_errors"].dump(2);
    EXPECT_TRUE(r["page_errors"].empty()) << r["page_errors"].dump(2);
    EXPECT_TRUE(r["report_errors"].empty()) << r["report_errors"].dump(2);
    EXPECT_TRUE(r["failed_requests"].empty()) << r["failed_requests"].dump(2);
    EXPECT_GE(r["updates"].get<int>(), 3);
    int polls = 0;
    for (const auto& u : r["requests"]) {
      const std::string url = u;
      EXPECT_EQ(url.rfind("http://127.0.0.1:" + std::to_string(port) + "/", 0), 0u) << url;
      polls += url.find("/api/live") != std::string::npos;
    }
    EXPECT_GE(polls, 3);
    std::set<std::string> drawn;
    for (const auto& c : r["charts"]) {
      if (c["colored_pixels"].get<int>() > 30) drawn.insert(c["id"].get<std::string>());
    }
    for (const std::string& id : must_draw)
      EXPECT_TRUE(drawn.count(id)) << id << " not drawn: " << r["charts"].dump();
    EXPECT_TRUE(std::filesystem::exists(png));
    return r;
  }

  std::filesystem::path dir_;
};

TEST_F(LivePageBrowserTest, InProcessLivePageDrawsAndUpdates) {
  LiveServer server;
  ASSERT_TRUE(server.Start(dir_.string()).ok());
  server.StartTraffic(40);
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  // The page and its JSON answer, and the title is escaped.
  auto client =
      testing::TestHttpClient::Connect(server.port(), "127.0.0.1", std::chrono::seconds(10));
  ASSERT_TRUE(client.ok());
  auto page = client->Get("/");
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->status, 200);
  EXPECT_NE(page->Header("Content-Type").value_or("").find("text/html"), std::string::npos);
  EXPECT_NE(page->body.find("yoloscope serve &lt;sim&gt;"), std::string::npos);
  auto api = client->Get("/api/live");
  ASSERT_TRUE(api.ok());
  const Json live = Json::parse(api->body, nullptr, false);
  ASSERT_TRUE(live.is_object()) << api->body;
  EXPECT_EQ(live["schema"], "yoloscope.live.v1");
  EXPECT_GT(live["summary"]["requests"].get<int>(), 0);

  CheckLivePage(server.port(), "live_page",
                {"latency_stages", "latency_percentiles", "throughput", "gpu_memory", "gpu_util",
                 "queue", "batch_sizes", "inference_vs_batch", "where_time_goes"});
  server.Stop();
  EXPECT_GT(server.done(), 50);
}

// `yoloscope serve` itself; skipped until inference_server.cc routes `/`.
TEST_F(LivePageBrowserTest, ServeProcessLivePage) {
  int err[2];
  ASSERT_EQ(pipe(err), 0);
  const std::string model = std::string(YOLOSCOPE_SOURCE_DIR) + "/configs/sim/default.yaml";
  const std::string log = (dir_ / "serve.jsonl").string();
  std::vector<std::string> args = {
      YOLOSCOPE_BINARY, "serve", "--backend", "sim", "--model",     model, "--port", "0",
      "--grpc-port",    "0",     "--log",     log,   "--max-batch", "8"};
  // A video stream for the per-stream panel (issue 19): 60 s at 25 fps,
  // read at its own rate (realtime, like a camera) and sampled at 5 fps, so
  // it is running while the page is checked.
  const std::string video = (dir_ / "cam.mp4").string();
  const bool with_stream = YOLOSCOPE_HAVE_OPENCV && testing::HaveFfmpeg() &&
                           testing::MakeTestVideo(video, 60, 25, 160, 120);
  if (with_stream) {
    const std::string config = (dir_ / "serve.yaml").string();
    std::ofstream(config) << "streams:\n  - {name: cam, uri: '" << video
                          << "', fps: 5, realtime: true}\n";
    args.push_back("--config");
    args.push_back(config);
  }
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(err[1], 2);
    close(err[0]);
    close(err[1]);
    execv(YOLOSCOPE_BINARY, argv.data());
    _exit(127);
  }
  close(err[1]);
  std::string seen;
  int port = -1;
  char buf[512];
  const std::regex re("listening on http://127\\.0\\.0\\.1:([0-9]+)");
  while (port < 0) {
    const ssize_t n = read(err[0], buf, sizeof(buf));
    if (n <= 0) break;
    seen.append(buf, static_cast<size_t>(n));
    std::smatch m;
    if (std::regex_search(seen, m, re)) port = std::stoi(m[1]);
  }
  struct Reaper {
    pid_t pid;
    int fd;
    ~Reaper() {
      kill(pid, SIGTERM);
      int st = 0;
      waitpid(pid, &st, 0);
      close(fd);
    }
  } reaper{pid, err[0]};
  ASSERT_GT(port, 0) << "serve did not start: " << seen;
  auto client = testing::TestHttpClient::Connect(port, "127.0.0.1", std::chrono::seconds(10));
  ASSERT_TRUE(client.ok());
  auto page = client->Get("/");
  ASSERT_TRUE(page.ok());
  if (page->status == 404) GTEST_SKIP() << "serve does not route the live page `/` yet";
  ASSERT_EQ(page->status, 200);
  // Some traffic for the charts.
  const std::string jpeg = ReadFile(std::string(YOLOSCOPE_PHOTOS_DIR) + "/dog.jpg");
  std::atomic<bool> stop{false};
  std::thread traffic([&] {
    auto c = testing::TestHttpClient::Connect(port, "127.0.0.1", std::chrono::seconds(10));
    if (!c.ok()) return;
    while (!stop) {
      (void)c->Post("/v1/detect", jpeg, "image/jpeg");
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  const Json r =
      CheckLivePage(port, "live_page_serve",
                    {"latency_stages", "latency_percentiles", "throughput", "gpu_memory", "queue"});
  stop = true;
  traffic.join();
  if (!with_stream) {
    std::cerr << "no ffmpeg or no video support: the streams panel was not checked\n";
    return;
  }
  // The streams panel shows the stream with real numbers.
  EXPECT_EQ(r["streams_hidden"], false) << r.dump(2);
  ASSERT_EQ(r["streams"].size(), 1u) << r["streams"].dump(2);
  const Json& row = r["streams"][0];
  EXPECT_EQ(row["stream"], "cam");
  const Json& cells = row["cells"];
  EXPECT_EQ(cells["name"], "cam");
  EXPECT_EQ(cells["state"], "running") << cells.dump();
  // "4.9 / 5 (source 25)": achieved fps, a number, against the target.
  EXPECT_TRUE(std::regex_search(cells["fps"].get<std::string>(),
                                std::regex("^[0-9.]+ / 5 \\(source 25\\)$")))
      << cells.dump();
  EXPECT_TRUE(std::regex_search(cells["latency"].get<std::string>(),
                                std::regex("^[0-9.]+ ms / [0-9.]+ ms$")))
      << cells.dump();
  EXPECT_GT(std::stoi(cells["processed"].get<std::string>()), 0) << cells.dump();
  EXPECT_TRUE(
      std::regex_search(cells["dropped"].get<std::string>(), std::regex("^[0-9]+ of [0-9]+$")))
      << cells.dump();
  EXPECT_EQ(cells["reconnects"], "0");
}

}  // namespace
}  // namespace yoloscope
