// The time-dependent and numeric logic of `yoloscope bench`, without
// sockets: schedules, level ranges, windows and stability, response timing
// parsing, request bytes, replay-log parsing, curve files and the batching
// advisor.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <numeric>

#include "backends/sim_gpu_model.h"
#include "bench/arrival_schedule.h"
#include "bench/batch_queue_model.h"
#include "bench/batching_advisor.h"
#include "bench/engine_curve.h"
#include "bench/image_set.h"
#include "bench/level_range.h"
#include "bench/measurement_window.h"
#include "bench/replay_log.h"
#include "bench/request_builder.h"
#include "bench/server_timing.h"
#include "bench/stability_checker.h"
#include "image/image_probe.h"

namespace yoloscope {
namespace {

// ------------------------------------------------------------ schedules --

TEST(ArrivalScheduleTest, ConstantRateHasExactGaps) {
  ArrivalSchedule s = ArrivalSchedule::FromRate(200, ArrivalProcess::kConstant);
  for (int i = 0; i < 1000; ++i) {
    auto a = s.Next();
    ASSERT_TRUE(a.has_value());
    EXPECT_EQ(a->offset_ns, static_cast<int64_t>(i) * 5'000'000);
  }
}

TEST(ArrivalScheduleTest, PoissonHasTheRequestedMeanRateAndExponentialGaps) {
  ArrivalSchedule s = ArrivalSchedule::FromRate(1000, ArrivalProcess::kPoisson, 7);
  std::vector<double> gaps;
  int64_t prev = 0;
  for (int i = 0; i < 20000; ++i) {
    int64_t t = s.Next()->offset_ns;
    ASSERT_GE(t, prev);
    gaps.push_back(static_cast<double>(t - prev) / 1e6);
    prev = t;
  }
  double mean = std::accumulate(gaps.begin(), gaps.end(), 0.0) / gaps.size();
  EXPECT_NEAR(mean, 1.0, 0.03);  // ms
  double var = 0;
  for (double g : gaps) var += (g - mean) * (g - mean);
  EXPECT_NEAR(std::sqrt(var / gaps.size()), 1.0, 0.05);  // exponential: sd = mean
  // Same seed, same schedule.
  ArrivalSchedule a = ArrivalSchedule::FromRate(1000, ArrivalProcess::kPoisson, 7);
  ArrivalSchedule b = ArrivalSchedule::FromRate(1000, ArrivalProcess::kPoisson, 7);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(a.Next()->offset_ns, b.Next()->offset_ns);
}

TEST(ArrivalScheduleTest, ReplayScalesBySpeedAndEnds) {
  std::vector<Arrival> in = {{0, 640, 480}, {10'000'000, 0, 0}, {30'000'000, 1280, 720}};
  ArrivalSchedule s = ArrivalSchedule::FromReplay(in, 2.0);
  EXPECT_TRUE(s.finite());
  EXPECT_EQ(s.Next()->offset_ns, 0);
  EXPECT_EQ(s.Next()->offset_ns, 5'000'000);
  auto last = s.Next();
  EXPECT_EQ(last->offset_ns, 15'000'000);
  EXPECT_EQ(last->image_w, 1280);
  EXPECT_FALSE(s.Next().has_value());
}

TEST(ArrivalScheduleTest, ParsesProcessNames) {
  EXPECT_EQ(*ParseArrivalProcess("poisson"), ArrivalProcess::kPoisson);
  EXPECT_EQ(*ParseArrivalProcess("constant"), ArrivalProcess::kConstant);
  EXPECT_FALSE(ParseArrivalProcess("bursty").ok());
}

// --------------------------------------------------------------- ranges --

TEST(LevelRangeTest, ParsesValuesListsAndRanges) {
  EXPECT_EQ(*ParseIntLevelRange("8"), std::vector<int>({8}));
  EXPECT_EQ(*ParseIntLevelRange("1,4,16"), std::vector<int>({1, 4, 16}));
  EXPECT_EQ(*ParseIntLevelRange("1:64:x2"), std::vector<int>({1, 2, 4, 8, 16, 32, 64}));
  EXPECT_EQ(*ParseIntLevelRange("8:40:+8"), std::vector<int>({8, 16, 24, 32, 40}));
  EXPECT_EQ(*ParseIntLevelRange("1:3"), std::vector<int>({1, 2, 3}));
  EXPECT_EQ(*ParseLevelRange("100:300:100"), std::vector<double>({100, 200, 300}));
  EXPECT_EQ(*ParseLevelRange("2.5"), std::vector<double>({2.5}));
}

TEST(LevelRangeTest, RejectsBadSpecs) {
  for (const char* bad : {"", "0", "-1", "a", "8:4", "1:8:x1", "1:8:+0", "1,,2", "1:8:y2"}) {
    EXPECT_FALSE(ParseLevelRange(bad).ok()) << bad;
  }
  EXPECT_FALSE(ParseIntLevelRange("1.5").ok());
}

// ------------------------------------------------- windows and stability --

TEST(MeasurementWindowTest, SummarizesLatencyStatusesAndServerTiming) {
  MeasurementWindow w;
  for (int i = 1; i <= 100; ++i) {
    ServerTiming t;
    t.ms[static_cast<int>(Stage::kInference)] = i;
    t.batch_size = i <= 50 ? 1 : 4;
    w.Record(static_cast<int64_t>(i) * 1'000'000, 200, t);
  }
  w.Record(500'000'000, 503, std::nullopt);
  w.Record(1'000, 0, std::nullopt);
  WindowSummary s = w.Summarize(2'000'000'000);
  EXPECT_EQ(s.responses, 102);
  EXPECT_EQ(s.ok, 100);
  EXPECT_DOUBLE_EQ(s.throughput, 50.0);
  EXPECT_DOUBLE_EQ(s.latency.p50_ms, 50);
  EXPECT_DOUBLE_EQ(s.latency.p90_ms, 90);
  EXPECT_DOUBLE_EQ(s.latency.p99_ms, 99);
  EXPECT_DOUBLE_EQ(s.latency.max_ms, 100);  // errors are not in the latencies
  EXPECT_EQ(s.status_counts[503], 1);
  EXPECT_EQ(s.status_counts[0], 1);
  EXPECT_EQ(s.server_timed, 100);
  EXPECT_DOUBLE_EQ(s.stages[static_cast<int>(Stage::kInference)].mean_ms, 50.5);
  EXPECT_DOUBLE_EQ(s.stages[static_cast<int>(Stage::kInference)].p99_ms, 99);
  EXPECT_DOUBLE_EQ(s.stages[static_cast<int>(Stage::kInference)].p50_ms, 50);
  EXPECT_EQ(s.batch_sizes[1], 50);
  EXPECT_EQ(s.batch_sizes[4], 50);
}

TEST(MeasurementWindowTest, MergePoolsSamples) {
  MeasurementWindow a, b;
  for (int i = 0; i < 10; ++i) a.Record(1'000'000, 200, std::nullopt);
  for (int i = 0; i < 10; ++i) b.Record(3'000'000, 200, std::nullopt);
  WindowSummary s = MeasurementWindow::Merge({&a, &b}, 2'000'000'000);
  EXPECT_EQ(s.ok, 20);
  EXPECT_DOUBLE_EQ(s.throughput, 10);
  EXPECT_DOUBLE_EQ(s.latency.mean_ms, 2);
  EXPECT_DOUBLE_EQ(s.latency.p50_ms, 1);
  EXPECT_DOUBLE_EQ(s.latency.p99_ms, 3);
}

TEST(StabilityCheckerTest, NeedsThreeWindowsWithinTenPercent) {
  auto checker = StabilityChecker::Create({});
  ASSERT_TRUE(checker.ok());
  // Too few windows.
  EXPECT_FALSE(checker->Check({1000, 1000}, {5, 5}).stable);
  // Settling: a warm ramp, then three windows within 10% of their mean.
  EXPECT_TRUE(checker->Check({400, 800, 1000, 1040, 980}, {20, 9, 5.0, 5.2, 4.9}).stable);
  // Throughput agrees, p99 does not.
  auto v = checker->Check({1000, 1000, 1000}, {5, 5, 8});
  EXPECT_FALSE(v.stable);
  EXPECT_NEAR(v.p99_deviation, 8 / 6.0 - 1, 1e-9);
  EXPECT_DOUBLE_EQ(v.throughput_deviation, 0);
  // Throughput drifts by more than 10%.
  EXPECT_FALSE(checker->Check({1000, 1150, 1300}, {5, 5, 5}).stable);
  // Exactly at the edge counts as agreeing.
  EXPECT_TRUE(checker->Check({900, 1000, 1100}, {5, 5, 5}).stable);
  // Nothing succeeded at all: agreeing zeros.
  EXPECT_TRUE(checker->Check({0, 0, 0}, {0, 0, 0}).stable);
}

TEST(StabilityCheckerTest, ConfigurableAndValidated) {
  auto strict = StabilityChecker::Create({4, 0.02});
  ASSERT_TRUE(strict.ok());
  EXPECT_FALSE(strict->Check({1000, 1000, 1000}, {5, 5, 5}).stable);
  EXPECT_TRUE(strict->Check({1000, 1000, 1010, 1000}, {5, 5, 5, 5}).stable);
  EXPECT_FALSE(StabilityChecker::Create({1, 0.1}).ok());
  EXPECT_FALSE(StabilityChecker::Create({3, 0}).ok());
}

// --------------------------------------------------------- server timing --

TEST(ServerTimingTest, ReadsTheDetectResponse) {
  const std::string body =
      R"({"request_id":"r1","model":"m","width":640,"height":480,"detections":[{"class_id":0,)"
      R"("label":"person","score":0.9,"box":[1,2,3,4]}],"batch_size":4,"batch_id":17,)"
      R"("timing":{"queue_ms":1.25,"decode_ms":2.5,"preprocess_ms":0.75,"inference_ms":10,)"
      R"("postprocess_ms":0.5,"total_ms":15.125}})";
  auto t = ParseServerTiming(body);
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->batch_size, 4);
  EXPECT_DOUBLE_EQ(t->ms[static_cast<int>(Stage::kQueue)], 1.25);
  EXPECT_DOUBLE_EQ(t->ms[static_cast<int>(Stage::kDecode)], 2.5);
  EXPECT_DOUBLE_EQ(t->ms[static_cast<int>(Stage::kPreprocess)], 0.75);
  EXPECT_DOUBLE_EQ(t->ms[static_cast<int>(Stage::kInference)], 10);
  EXPECT_DOUBLE_EQ(t->ms[static_cast<int>(Stage::kPostprocess)], 0.5);
  EXPECT_DOUBLE_EQ(t->ms[static_cast<int>(Stage::kTotal)], 15.125);
  EXPECT_FALSE(ParseServerTiming(R"({"live":true})").has_value());
  EXPECT_FALSE(ParseServerTiming(R"({"error":"queue full"})").has_value());
}

// ------------------------------------------------------------- requests --

TEST(RequestBuilderTest, ParsesUrls) {
  auto u = ParseHttpUrl("http://127.0.0.1:8080");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->host, "127.0.0.1");
  EXPECT_EQ(u->port, 8080);
  EXPECT_EQ(u->path, "");
  u = ParseHttpUrl("http://localhost/v1/detect");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->port, 80);
  EXPECT_EQ(u->path, "/v1/detect");
  u = ParseHttpUrl("http://[::1]:9000/x");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->port, 9000);
  EXPECT_FALSE(ParseHttpUrl("https://a:1").ok());
  EXPECT_FALSE(ParseHttpUrl("http://a:99999").ok());
  EXPECT_FALSE(ParseHttpUrl("http://:80").ok());
}

TEST(RequestBuilderTest, BuildsDetectGetAndKServeRequests) {
  EncodedImage image;
  image.content_type = "image/jpeg";
  image.bytes = std::string("\xff\xd8JPEGDATA", 10);

  TargetConfig detect;
  detect.url = "http://127.0.0.1:8080";
  detect.headers = {{"X-Priority", "high"}};
  auto b = RequestBuilder::Create(detect);
  ASSERT_TRUE(b.ok());
  PreparedRequest r = b->Build(image);
  EXPECT_EQ(r.prefix,
            "POST /v1/detect HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nX-Priority: high\r\n"
            "Content-Type: image/jpeg\r\nContent-Length: 10\r\n\r\n");
  EXPECT_EQ(r.payload, image.bytes);

  TargetConfig get = detect;
  get.headers.clear();
  get.method = "GET";
  get.endpoint = "/v2/health/live";
  b = RequestBuilder::Create(get);
  ASSERT_TRUE(b.ok());
  r = b->Build(image);
  EXPECT_EQ(r.prefix, "GET /v2/health/live HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n");
  EXPECT_TRUE(r.payload.empty());

  TargetConfig kserve = detect;
  kserve.headers.clear();
  kserve.protocol = BenchProtocol::kKServe;
  kserve.model_name = "yolo";
  b = RequestBuilder::Create(kserve);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->target(), "/v2/models/yolo/infer");
  r = b->Build(image);
  const std::string json =
      R"({"inputs":[{"name":"images","shape":[1],"datatype":"BYTES","parameters":{"binary_data_size":14}}]})";
  std::string expected_head =
      "POST /v2/models/yolo/infer HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"
      "Content-Type: application/octet-stream\r\nInference-Header-Content-Length: " +
      std::to_string(json.size()) + "\r\nContent-Length: " + std::to_string(json.size() + 14) +
      "\r\n\r\n" + json + std::string("\x0a\0\0\0", 4);
  EXPECT_EQ(r.prefix, expected_head);
  EXPECT_EQ(r.payload, image.bytes);
}

// --------------------------------------------------------------- images --

TEST(ImageSetTest, GeneratesJpegsOfTheRequestedSize) {
  ImageSetConfig c;
  c.width = 320;
  c.height = 200;
  c.generated_variants = 2;
  auto set = ImageSet::Create(c);
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  ASSERT_EQ((*set)->size(), 2u);
  EXPECT_NE((*set)->at(0).bytes, (*set)->at(1).bytes);
  for (size_t i = 0; i < 2; ++i) {
    const EncodedImage& img = (*set)->at(i);
    auto info = ProbeImage(reinterpret_cast<const uint8_t*>(img.bytes.data()), img.bytes.size());
    ASSERT_TRUE(info.ok());
    EXPECT_EQ(info->format, ImageFormat::kJpeg);
    EXPECT_EQ(info->width, 320);
    EXPECT_EQ(info->height, 200);
  }
  // Cycling, and sized images on demand (generated once, then cached).
  EXPECT_EQ(&(*set)->Next(), &(*set)->at(0));
  EXPECT_EQ(&(*set)->Next(), &(*set)->at(1));
  EXPECT_EQ(&(*set)->Next(), &(*set)->at(0));
  const EncodedImage& sized = (*set)->ForSize(64, 48);
  EXPECT_EQ(sized.width, 64);
  EXPECT_EQ(&(*set)->ForSize(64, 48), &sized);
  EXPECT_EQ(&(*set)->ForSize(320, 200), &(*set)->at(0));
}

TEST(ImageSetTest, ReadsAFolderInNameOrder) {
  auto dir = std::filesystem::temp_directory_path() / ("ys_imageset_" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  for (auto [name, w] : {std::pair<const char*, int>{"b.jpg", 20}, {"a.jpg", 10}}) {
    std::ofstream(dir / name, std::ios::binary) << *ImageSet::GenerateJpeg(w, 8, 90, 1);
  }
  std::ofstream(dir / "notes.txt") << "not an image";
  ImageSetConfig c;
  c.directory = dir.string();
  auto set = ImageSet::Create(c);
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  ASSERT_EQ((*set)->size(), 2u);
  EXPECT_EQ((*set)->at(0).name, "a.jpg");
  EXPECT_EQ((*set)->at(0).width, 10);
  EXPECT_EQ(&(*set)->ForSize(20, 8), &(*set)->at(1));
  std::filesystem::remove_all(dir);
  c.directory = dir.string();
  EXPECT_EQ(ImageSet::Create(c).status().code(), StatusCode::kNotFound);
}

// ----------------------------------------------------------- replay log --

TEST(ReplayLogTest, KeepsRequestRecordsSortedWithSizes) {
  const std::string log =
      R"({"event":"request","schema":"yoloscope.v1","ts":"2026-01-01T00:00:00.050000Z","input_w":1280,"input_h":720,"status":"ok"})"
      "\n"
      R"({"event":"batch","schema":"yoloscope.v1","ts":"2026-01-01T00:00:00.010000Z","batch_size":2})"
      "\n"
      R"({"event":"request","schema":"yoloscope.v1","ts":"2026-01-01T00:00:00.000000Z","input_w":640,"input_h":480})"
      "\n"
      "not json\n\n"
      R"({"schema":"yoloscope.v1","ts":"2026-01-01T00:00:00.020500Z","status":"bad_image"})"
      "\n"
      R"({"event":"request","ts":1767225600.1})"
      "\n";
  auto r = ReplayLog::Parse(log);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->arrivals().size(), 4u);
  EXPECT_EQ(r->skipped_lines(), 2);  // the batch record and the non-JSON line
  EXPECT_EQ(r->arrivals()[0].offset_ns, 0);
  EXPECT_EQ(r->arrivals()[0].image_w, 640);
  EXPECT_EQ(r->arrivals()[1].offset_ns, 20'500'000);
  EXPECT_EQ(r->arrivals()[1].image_w, 0);  // size unknown
  EXPECT_EQ(r->arrivals()[2].offset_ns, 50'000'000);
  EXPECT_EQ(r->arrivals()[2].image_h, 720);
  EXPECT_EQ(r->arrivals()[3].offset_ns, 100'000'000);
  EXPECT_EQ(r->span_ns(), 100'000'000);
  EXPECT_FALSE(ReplayLog::Parse("{\"event\":\"gpu\",\"ts\":\"2026-01-01T00:00:00Z\"}\n").ok());
  EXPECT_EQ(ReplayLog::Load("/nonexistent/log.jsonl").status().code(), StatusCode::kNotFound);
}

// ---------------------------------------------------------------- curves --

EngineCurve MakeCurve(std::vector<std::pair<int, double>> points, double p99_factor = 1.1) {
  EngineCurve c;
  c.model = "synthetic";
  c.backend = "test";
  c.device = "cpu";
  for (auto [b, ms] : points) {
    CurvePoint p;
    p.batch_size = b;
    p.p50_ms = ms;
    p.mean_ms = ms;
    p.p99_ms = ms * p99_factor;
    p.per_image_ms = ms / b;
    p.throughput_ips = b * 1000.0 / ms;
    p.iterations = 100;
    c.points.push_back(p);
  }
  return c;
}

// A GPU-like curve where batching pays: 1.46 + 0.142 b ms (the sim default).
EngineCurve GpuLikeCurve() {
  std::vector<std::pair<int, double>> pts;
  for (int b : {1, 2, 4, 8, 16, 32}) pts.emplace_back(b, 1.46 + 0.142 * b);
  return MakeCurve(pts);
}

// A CPU-like curve where batching does not help: per-image cost flat.
EngineCurve FlatCurve() {
  std::vector<std::pair<int, double>> pts;
  for (int b : {1, 2, 4, 8}) pts.emplace_back(b, 20.0 * b);
  return MakeCurve(pts);
}

class CurveFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("ys_curve_" + std::to_string(getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(CurveFileTest, RoundTripsThroughCsvAndJsonAndTheSimulatorReadsIt) {
  EngineCurve c = GpuLikeCurve();
  c.points[0].peak_memory_mb = 512;
  c.points[0].memory_kind = "rss_peak";
  c.input_w = c.input_h = 640;
  c.threads = 2;
  for (const char* name : {"curve.csv", "curve.json"}) {
    const std::string path = (dir_ / name).string();
    ASSERT_TRUE(c.Save(path).ok());
    auto back = EngineCurve::Load(path);
    ASSERT_TRUE(back.ok()) << name << ": " << back.status().ToString();
    EXPECT_EQ(back->model, "synthetic");
    EXPECT_EQ(back->input_w, 640);
    EXPECT_EQ(back->threads, 2);
    ASSERT_EQ(back->points.size(), c.points.size());
    for (size_t i = 0; i < c.points.size(); ++i) {
      EXPECT_EQ(back->points[i].batch_size, c.points[i].batch_size);
      EXPECT_NEAR(back->points[i].p50_ms, c.points[i].p50_ms, 1e-4);
      EXPECT_NEAR(back->points[i].p99_ms, c.points[i].p99_ms, 1e-4);
      EXPECT_NEAR(back->points[i].throughput_ips, c.points[i].throughput_ips, 1e-2);
    }
    ASSERT_TRUE(back->points[0].peak_memory_mb.has_value());
    EXPECT_DOUBLE_EQ(*back->points[0].peak_memory_mb, 512);
    EXPECT_FALSE(back->points[1].peak_memory_mb.has_value());

    // The simulated GPU accepts the same file as a latency curve.
    auto sim = LoadLatencyCurve(path);
    ASSERT_TRUE(sim.ok()) << name << ": " << sim.status().ToString();
    ASSERT_EQ(sim->size(), c.points.size());
    for (size_t i = 0; i < c.points.size(); ++i) {
      EXPECT_EQ((*sim)[i].first, c.points[i].batch_size);
      EXPECT_NEAR((*sim)[i].second, c.points[i].p50_ms, 1e-4);
    }
    // ... also through a sim model YAML naming it.
    std::ofstream(dir_ / "sim.yaml")
        << "model:\n  name: measured\nlatency:\n  curve_file: " << name << "\n  jitter_pct: 0\n";
    auto cfg = LoadSimGpuConfig((dir_ / "sim.yaml").string());
    ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
    EXPECT_EQ(cfg->latency.curve.size(), c.points.size());
  }
}

TEST_F(CurveFileTest, BatcherSeedAndBadFiles) {
  EngineCurve c = MakeCurve({{1, 2.0}, {4, 3.0}});
  EXPECT_EQ(c.BatcherSeedUs(5), std::vector<double>({2000, 0, 0, 3000, 0}));
  EXPECT_EQ(c.BatcherSeedUs(2), std::vector<double>({2000, 0}));
  std::ofstream(dir_ / "bad.csv") << "batch,ms\n1,2\n";
  EXPECT_EQ(EngineCurve::Load((dir_ / "bad.csv").string()).status().code(),
            StatusCode::kInvalidArgument);
  std::ofstream(dir_ / "dup.csv") << "batch_size,latency_ms\n1,2\n1,3\n";
  EXPECT_FALSE(EngineCurve::Load((dir_ / "dup.csv").string()).ok());
  EXPECT_EQ(EngineCurve::Load((dir_ / "none.csv").string()).status().code(), StatusCode::kNotFound);
}

TEST(EngineCurveTest, TableAndChartShowEveryBatchSize) {
  EngineCurve c = GpuLikeCurve();
  std::string table = c.ToTable(), chart = c.ToChart(20);
  for (int b : {1, 2, 4, 8, 16, 32}) {
    EXPECT_NE(chart.find("b=" + std::to_string(b) + " "), std::string::npos);
  }
  EXPECT_NE(chart.find(std::string(20, '#')), std::string::npos);  // the best bar is full
  EXPECT_NE(table.find("images/s"), std::string::npos);
}

// ---------------------------------------------------- queueing + advisor --

TEST(BatchQueueModelTest, MatchesSimpleCases) {
  // Constant 10 ms per request, no batching, 50 req/s: M/D/1 at rho 0.5.
  EngineCurve c = MakeCurve({{1, 10.0}, {2, 20.0}}, 1.0);
  BatchQueueConfig q;
  q.arrival_rate = 50;
  q.num_requests = 20000;
  BatchQueuePrediction p = BatchQueueModel::Simulate(c, q);
  EXPECT_TRUE(p.stable);
  EXPECT_NEAR(p.throughput, 50, 2);
  EXPECT_NEAR(p.utilization, 0.5, 0.03);
  // M/D/1 mean wait = rho * S / (2 (1 - rho)) = 5 ms, plus 10 ms service.
  EXPECT_NEAR(p.mean_ms, 15, 1.0);
  EXPECT_DOUBLE_EQ(p.mean_batch_size, 1);
  // Over capacity: 150 req/s against 100 req/s.
  q.arrival_rate = 150;
  EXPECT_FALSE(BatchQueueModel::Simulate(c, q).stable);
  // Two instances double the capacity.
  q.instances = 2;
  EXPECT_TRUE(BatchQueueModel::Simulate(c, q).stable);
  // A delay makes batches bigger on a batching-friendly curve.
  EngineCurve gpu = GpuLikeCurve();
  BatchQueueConfig g;
  g.arrival_rate = 2000;
  g.max_batch_size = 16;
  g.max_queue_delay_us = 0;
  double greedy = BatchQueueModel::Simulate(gpu, g).mean_batch_size;
  g.max_queue_delay_us = 4000;
  double waited = BatchQueueModel::Simulate(gpu, g).mean_batch_size;
  EXPECT_GT(waited, greedy);
  EXPECT_NEAR(BatchQueueModel::MedianMs(gpu, 3), 1.46 + 0.142 * 3, 1e-9);    // interpolated
  EXPECT_NEAR(BatchQueueModel::MedianMs(gpu, 64), 1.46 + 0.142 * 64, 1e-9);  // extrapolated
}

TEST(BatchingAdvisorTest, FindsTheKnee) {
  EXPECT_EQ(BatchingAdvisor::FindKnee(FlatCurve()), 1);
  // 1.6, 1.74, 2.03, 2.6, 3.7, 6.0 ms: throughput gains 84%, 71%, 56%, 41%, 23%.
  EXPECT_EQ(BatchingAdvisor::FindKnee(GpuLikeCurve()), 32);
  EXPECT_EQ(BatchingAdvisor::FindKnee(GpuLikeCurve(), 0.30), 16);
  // Throughput saturating at 8.
  EXPECT_EQ(BatchingAdvisor::FindKnee(MakeCurve({{1, 10}, {2, 12}, {4, 16}, {8, 24}, {16, 46}})),
            8);
}

TEST(BatchingAdvisorTest, FlatCurveNeverRecommendsWaiting) {
  EngineCurve flat = FlatCurve();  // 20 ms per image at every batch size: 50 img/s
  for (double rate : {5.0, 20.0, 40.0, 45.0, 80.0}) {
    AdvisorConfig a;
    a.arrival_rate = rate;
    a.slo_p99_ms = 200;
    a.max_instances = 2;
    auto rec = BatchingAdvisor::Create(a)->Recommend(flat);
    ASSERT_TRUE(rec.ok());
    EXPECT_FALSE(rec->batching_helps);
    EXPECT_EQ(rec->max_queue_delay_us, 0) << "rate " << rate;
    EXPECT_EQ(rec->max_batch_size, 1) << "rate " << rate;
    for (const auto& c : rec->considered) EXPECT_EQ(c.max_queue_delay_us, 0);
    if (rate >= 50) {
      EXPECT_EQ(rec->instances, 2) << "one instance cannot keep up with " << rate;
    } else if (rate <= 20) {
      EXPECT_EQ(rec->instances, 1);
    }
  }
  // Without a rate: the knee only, still no waiting.
  auto rec = BatchingAdvisor::Create({})->Recommend(flat);
  ASSERT_TRUE(rec.ok());
  EXPECT_FALSE(rec->modelled);
  EXPECT_EQ(rec->max_batch_size, 1);
  EXPECT_EQ(rec->max_queue_delay_us, 0);
}

TEST(BatchingAdvisorTest, BatchingCurveGetsBatchesWhereTheLoadNeedsThem) {
  EngineCurve gpu = GpuLikeCurve();  // b=1: 625 img/s; b=32: 5333 img/s
  // Light load: one request at a time is fast enough; waiting would only hurt.
  AdvisorConfig light;
  light.arrival_rate = 100;
  light.slo_p99_ms = 20;
  auto rec = BatchingAdvisor::Create(light)->Recommend(gpu);
  ASSERT_TRUE(rec.ok());
  EXPECT_TRUE(rec->batching_helps);
  EXPECT_TRUE(rec->meets_slo);
  EXPECT_EQ(rec->max_queue_delay_us, 0);
  EXPECT_LE(rec->predicted.p99_ms, 20);
  // Heavy load, beyond batch-1 capacity: must batch to keep up.
  AdvisorConfig heavy;
  heavy.arrival_rate = 3000;
  heavy.slo_p99_ms = 30;
  rec = BatchingAdvisor::Create(heavy)->Recommend(gpu);
  ASSERT_TRUE(rec.ok());
  EXPECT_TRUE(rec->meets_slo) << rec->ToText();
  EXPECT_GE(rec->max_batch_size, 8);
  EXPECT_TRUE(rec->predicted.stable);
  EXPECT_NEAR(rec->predicted.throughput, 3000, 100);
  EXPECT_LE(rec->predicted.p99_ms, 30);
  EXPECT_GE(rec->capacity_rps, 3000);
  EXPECT_NE(rec->ToServeYaml().find("max_batch_size: " + std::to_string(rec->max_batch_size)),
            std::string::npos);
  EXPECT_NE(rec->ToServeYaml({1602, 1744})
                .find("latency_curve_us (BatcherConfig seed of the "
                      "adaptive policy, 0 = unknown): [1602, 1744]"),
            std::string::npos);
  // Impossible: more than the whole curve can do with one instance.
  AdvisorConfig impossible;
  impossible.arrival_rate = 20000;
  impossible.slo_p99_ms = 30;
  rec = BatchingAdvisor::Create(impossible)->Recommend(gpu);
  ASSERT_TRUE(rec.ok());
  EXPECT_FALSE(rec->meets_slo);
  EXPECT_EQ(rec->max_batch_size, 32);  // the most throughput there is
  EXPECT_NE(rec->rationale.find("exceeds capacity"), std::string::npos);
  // Keeping up but missing the goal: the lowest p99 of those that keep up.
  AdvisorConfig tight;
  tight.arrival_rate = 3000;
  tight.slo_p99_ms = 1;  // below even one batch's latency
  rec = BatchingAdvisor::Create(tight)->Recommend(gpu);
  ASSERT_TRUE(rec.ok());
  EXPECT_FALSE(rec->meets_slo);
  EXPECT_TRUE(rec->predicted.stable);
  for (const auto& c : rec->considered) {
    if (c.predicted.stable) EXPECT_GE(c.predicted.p99_ms, rec->predicted.p99_ms * 0.97);
  }
  EXPECT_NE(rec->rationale.find("latency goal is missed"), std::string::npos);
}

}  // namespace
}  // namespace yoloscope
