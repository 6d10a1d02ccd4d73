// The stream_falling_behind rule: synthetic video-stream logs (request
// records with `stream`, batch records, `stream` records) that must and must
// not trigger it, and the one cause it names for each.
#include <gtest/gtest.h>

#include <cmath>
#include <optional>
#include <string>

#include "analyzer/aggregate/log_aggregator.h"
#include "analyzer/analyzer.h"
#include "analyzer/rules/rule_test_util.h"
#include "analyzer/synthetic_log.h"

namespace yoloscope {
namespace {

using namespace rules_test::names;  // NOLINT(google-build-using-namespace)

constexpr std::string_view kKind = "stream_falling_behind";

// One stream of `seconds` from a source at `source_fps`. Frames are read
// every `read_every_ms` of wall time (the source's interval unless the
// reader lags) with pts advancing `pts_step_ms` per frame read (the
// interval, or more when frames were lost before the reader). Of the frames
// due (not skipped by `target_fps` sampling), one every `process_every` due
// frames gets a record (the others are dropped); each processed frame runs
// alone in a batch of `batch_size` (a batch record per processed frame when
// `batch_records`).
struct StreamSpec {
  std::string name = "cam";
  double seconds = 10;
  double source_fps = 25;
  double target_fps = 0;
  double read_every_ms = 40;
  double pts_step_ms = 40;
  double process_every = 1;  // 2.5: 10 of every 25 due frames are processed
  double decode_ms = 40;     // live: read + decode includes waiting for data
  double queue_ms = 5;
  double preprocess_ms = 0.5;
  double inference_ms = 10;
  double postprocess_ms = 0.3;
  int64_t batch_size = 1;
  bool batch_records = true;
  bool stream_records = true;
  int64_t extra_dropped = 0;  // dropped on top (e.g. the queue at a stop)
  // A `stream` record this often (as serve's stream_stats_period_ms), plus
  // one at the start and one at the end; 0: only those two.
  double stats_period_s = 1;
  int64_t gpu_id = 0;
  // The `stream` records' source_kind and realtime (empty / unset: a log
  // from before they were written).
  std::string source_kind;
  std::optional<bool> realtime;
};

void AddStream(SyntheticLog* log, const StreamSpec& s, int64_t* next_batch) {
  const auto frames_read = static_cast<int64_t>(std::llround(s.seconds * 1000 / s.read_every_ms));
  const int64_t sample_every =
      s.target_fps > 0 ? static_cast<int64_t>(std::llround(s.source_fps / s.target_fps)) : 1;
  int64_t due = 0, processed = 0, skipped = 0;
  double next_due = 0;  // due frames processed at or after this count
  auto stream_record = [&](int64_t ts, int64_t read, int64_t dropped) {
    TestRecord& q = log->Add(RecordKind::kStream, ts);
    q.stream = s.name;
    q.r.source_fps = s.source_fps;
    q.r.target_fps = s.target_fps;
    q.r.frames_read = read;
    q.r.frames_dropped = dropped;
    q.r.frames_skipped = skipped;
    q.source_kind = s.source_kind;
    q.r.realtime = s.realtime;
  };
  if (s.stream_records) stream_record(kT0, 0, 0);
  double next_record_s = s.stats_period_s > 0 ? s.stats_period_s : 1e18;
  for (int64_t i = 0; i < frames_read; ++i) {
    const double t_s = static_cast<double>(i) * s.read_every_ms / 1e3;
    while (s.stream_records && next_record_s <= t_s) {
      stream_record(kT0 + static_cast<int64_t>(next_record_s * 1e6), i, due - processed);
      next_record_s += s.stats_period_s;
    }
    if (i % sample_every != 0) {
      ++skipped;
      continue;
    }
    const int64_t this_due = due++;
    if (static_cast<double>(this_due) + 1e-9 < next_due) continue;  // dropped
    next_due += s.process_every;
    ++processed;
    const int64_t ts = kT0 + static_cast<int64_t>(static_cast<double>(i) * s.read_every_ms * 1e3);
    const int64_t batch = (*next_batch)++;
    TestRecord& q = log->Add(RecordKind::kRequest, ts);
    q.request_id = s.name + "-" + std::to_string(i);
    q.stream = s.name;
    q.device = s.gpu_id >= 0 ? "cuda:" + std::to_string(s.gpu_id) : "cpu";
    q.r.gpu_id = s.gpu_id >= 0 ? std::optional<int64_t>(s.gpu_id) : std::nullopt;
    q.r.frame_index = i;
    q.r.pts_ms = static_cast<double>(i) * s.pts_step_ms;
    q.r.decode_ms = s.decode_ms;
    q.r.queue_ms = s.queue_ms;
    q.r.preprocess_ms = s.preprocess_ms;
    q.r.inference_ms = s.inference_ms;
    q.r.postprocess_ms = s.postprocess_ms;
    q.r.batch_size = s.batch_size;
    q.r.batch_id = batch;
    q.r.queue_len = 0;
    q.r.input_w = 320;
    q.r.input_h = 240;
    if (s.batch_records) {
      TestRecord& b = log->Add(RecordKind::kBatch, ts + static_cast<int64_t>(s.queue_ms * 1e3));
      b.model = "yolov8n";
      b.r.batch_id = batch;
      b.r.batch_size = s.batch_size;
      b.r.gpu_id = q.r.gpu_id;
      b.r.instance = 0;
      b.r.inference_ms = s.inference_ms;
    }
  }
  if (s.stream_records) {
    stream_record(kT0 + static_cast<int64_t>(s.seconds * 1e6), frames_read,
                  due - processed + s.extra_dropped);
  }
}

AnalysisReport AnalyzeStreams(const std::vector<StreamSpec>& specs) {
  SyntheticLog log;
  int64_t batch = 1;
  for (const StreamSpec& s : specs) AddStream(&log, s, &batch);
  return log.Analyze();
}

const Finding* StreamFinding(const AnalysisReport& r, const std::string& stream) {
  for (const Finding& f : r.findings) {
    if (f.kind == kKind && f.title.find("Stream " + stream + " ") != std::string::npos) return &f;
  }
  return nullptr;
}

double Metric(const Finding& f, const std::string& name) {
  for (const auto& [key, value] : f.metrics) {
    if (key == name) return value;
  }
  return std::nan("");
}

// ---------------------------------------------------------------- causes

TEST(StreamFallingBehindTest, DeviceBoundWhenTheDeviceIsBusyAllTheTime) {
  // 25 fps camera, a model of 95 ms per frame: 10 fps processed, the device
  // busy 95% of the time, 60% of the frames dropped.
  StreamSpec cam;
  cam.process_every = 2.5;
  cam.inference_ms = 95;
  cam.queue_ms = 150;
  const AnalysisReport r = AnalyzeStreams({cam});
  const Finding& f = Expect(r, kKind, FindingSeverity::kCritical);
  EXPECT_NE(f.title.find("Stream cam falls behind (device-bound)"), std::string::npos) << f.title;
  EXPECT_NE(f.title.find("9.98 of 25 fps, 60% of its frames lost"), std::string::npos) << f.title;
  EXPECT_TRUE(Contains(f.evidence, "cause: device-bound")) << testing::Describe(r);
  EXPECT_NEAR(Metric(f, "fps"), 10.0, 0.1);
  EXPECT_NEAR(Metric(f, "expected_fps"), 25.0, 1e-9);
  EXPECT_NEAR(Metric(f, "lost_fraction"), 0.6, 0.01);
  EXPECT_NEAR(Metric(f, "device_busy"), 0.95, 0.03);
  // Counted after the opening (the `stream` record at 1 s): 135 of the
  // 225 frames read since.
  EXPECT_EQ(f.affected_count, 135);
  EXPECT_NEAR(Metric(f, "frames_due"), 225, 1e-9);
  EXPECT_NE(f.recommendation.find("`fps`"), std::string::npos) << f.recommendation;
  EXPECT_NE(f.recommendation.find("max_in_flight"), std::string::npos)  // batches of one
      << f.recommendation;
  ASSERT_EQ(f.time_ranges.size(), 1u);
  EXPECT_TRUE(OverlapsSeconds(f, 1, 9));
}

TEST(StreamFallingBehindTest, DeviceBusyFromRequestRecordsWithoutBatchRecords) {
  // No batch records: the device's time is the requests' inference / batch
  // size (two frames per batch of 190 ms).
  StreamSpec cam;
  cam.process_every = 2.5;
  cam.inference_ms = 190;
  cam.batch_size = 2;
  cam.batch_records = false;
  cam.queue_ms = 150;
  const AnalysisReport r = AnalyzeStreams({cam});
  const Finding& f = Expect(r, kKind);
  EXPECT_NE(f.title.find("(device-bound)"), std::string::npos) << f.title;
  EXPECT_NEAR(Metric(f, "device_busy"), 0.95, 0.03);
}

TEST(StreamFallingBehindTest, BatcherStarvedWhenFramesWaitOutTheBatchWindow) {
  // A fast model (3 ms), the device idle, yet 9.6 fps of 25: each frame in
  // flight waits ~100 ms for a batch that never fills.
  StreamSpec cam;
  cam.process_every = 25.0 / 9.6;
  cam.inference_ms = 3;
  cam.queue_ms = 160;
  const AnalysisReport r = AnalyzeStreams({cam});
  const Finding& f = Expect(r, kKind, FindingSeverity::kCritical);
  EXPECT_NE(f.title.find("(batcher-starved)"), std::string::npos) << f.title;
  EXPECT_TRUE(Contains(f.evidence, "waiting out its window")) << testing::Describe(r);
  EXPECT_LT(Metric(f, "device_busy"), 0.1);
  EXPECT_LT(Metric(f, "working_frames"), 0.5);
  EXPECT_NE(f.recommendation.find("max_queue_delay_us"), std::string::npos) << f.recommendation;
  EXPECT_NE(f.recommendation.find("max_in_flight"), std::string::npos) << f.recommendation;
}

TEST(StreamFallingBehindTest, BatcherStarvedWhenMaxInFlightCapsTheStream) {
  // 60 ms of preprocessing per frame and one frame in flight: 14 fps, the
  // device busy 14%, the in-flight frame always being worked on.
  StreamSpec cam;
  cam.process_every = 25.0 / 14;
  cam.preprocess_ms = 60;
  cam.inference_ms = 10;
  cam.postprocess_ms = 1;
  cam.queue_ms = 80;
  const AnalysisReport r = AnalyzeStreams({cam});
  const Finding& f = Expect(r, kKind);
  EXPECT_NE(f.title.find("(batcher-starved)"), std::string::npos) << f.title;
  EXPECT_TRUE(Contains(f.evidence, "max_in_flight caps it")) << testing::Describe(r);
  EXPECT_GE(Metric(f, "working_frames"), 0.5);
  EXPECT_NEAR(Metric(f, "work_ms"), 71, 0.1);
  EXPECT_NE(f.recommendation.find("`max_in_flight`"), std::string::npos) << f.recommendation;
  EXPECT_EQ(f.recommendation.find("max_queue_delay_us"), std::string::npos) << f.recommendation;
}

TEST(StreamFallingBehindTest, DecodeBoundWhenTheReaderLosesTheSourcesFrames) {
  // A 25 fps camera whose reader needs 64 ms a frame: it reads every 66 ms,
  // the pts jump 66 ms per frame read (the frames sent meanwhile were lost
  // in the camera's / socket's buffer), nothing is dropped downstream.
  StreamSpec cam;
  cam.read_every_ms = 66;
  cam.pts_step_ms = 66;
  cam.decode_ms = 64;
  const AnalysisReport r = AnalyzeStreams({cam});
  const Finding& f = Expect(r, kKind);
  EXPECT_EQ(f.severity, FindingSeverity::kWarning);
  EXPECT_NE(f.title.find("(decode-bound)"), std::string::npos) << f.title;
  EXPECT_TRUE(Contains(f.evidence, "cause: decode-bound")) << testing::Describe(r);
  EXPECT_NEAR(Metric(f, "source_loss_fraction"), 1 - 40.0 / 66, 0.01);
  EXPECT_NEAR(Metric(f, "reader_busy"), 64.0 / 66, 0.01);
  EXPECT_NEAR(Metric(f, "lost_fraction"), 0.0, 1e-9);
  EXPECT_NE(f.recommendation.find("decod"), std::string::npos) << f.recommendation;
}

// A 25 fps camera whose reader needs 300 ms a frame and loses nothing yet:
// the frames wait in FFmpeg's / the kernel's buffers (pts advance 40 ms per
// frame, capture times 300 ms), so the stream lags further and further
// behind the camera. Seen on a real 4K 50 fps stream over UDP: pts 20 ms
// apart, captures ~340 ms apart, 9 s behind after 27 frames.
TEST(StreamFallingBehindTest, DecodeBoundWhenALiveReaderLagsItsSourceWithoutLosingFrames) {
  StreamSpec cam;
  cam.source_kind = "network";
  cam.read_every_ms = 300;
  cam.pts_step_ms = 40;
  cam.decode_ms = 298;
  const AnalysisReport r = AnalyzeStreams({cam});
  const Finding& f = Expect(r, kKind);
  EXPECT_EQ(f.severity, FindingSeverity::kCritical);
  EXPECT_NE(f.title.find("(decode-bound)"), std::string::npos) << f.title;
  EXPECT_NE(f.title.find("0.13x real time"), std::string::npos) << f.title;
  EXPECT_TRUE(Contains(f.evidence, "later behind its source than the one before"))
      << testing::Describe(r);
  EXPECT_NEAR(Metric(f, "pace"), 40.0 / 300, 0.001);
  EXPECT_NEAR(Metric(f, "reader_wall_busy"), 298.0 / 300, 0.01);
  // 33 frames, 32 steps of 300 ms capture and 40 ms pts: 8.32 s behind.
  EXPECT_NEAR(Metric(f, "lag_growth_ms"), 32 * 260.0, 1.0);
  EXPECT_NEAR(Metric(f, "lost_fraction"), 0.0, 1e-9);
}

// A realtime file (delivered at its own frame rate) whose reader blocks on
// the stream's full queue behind a slow model: it lags its clock too, but the
// reader is idle -- the device holds it back.
TEST(StreamFallingBehindTest, RealtimeFileHeldBackByASlowModelIsDeviceBound) {
  StreamSpec file;
  file.source_kind = "file";
  file.realtime = true;
  file.read_every_ms = 100;
  file.decode_ms = 3;
  file.inference_ms = 97;
  file.queue_ms = 300;
  const AnalysisReport r = AnalyzeStreams({file});
  const Finding& f = Expect(r, kKind);
  EXPECT_NE(f.title.find("(device-bound)"), std::string::npos) << f.title;
  EXPECT_NEAR(Metric(f, "pace"), 0.4, 0.001);
  EXPECT_TRUE(Contains(f.evidence, "a realtime file")) << testing::Describe(r);
}

// The same file without `realtime` is a batch job: no clock to keep up with.
TEST(StreamFallingBehindTest, NonRealtimeFileReadSlowerThanItsRateIsNotFallingBehind) {
  StreamSpec file;
  file.source_kind = "file";
  file.realtime = false;
  file.read_every_ms = 100;
  file.decode_ms = 3;
  file.inference_ms = 97;
  file.queue_ms = 300;
  ExpectNone(AnalyzeStreams({file}), kKind);
}

// A live source read at its own pace (captures and pts both 40 ms apart).
TEST(StreamFallingBehindTest, LiveSourceReadInRealTimeIsNotLagging) {
  StreamSpec cam;
  cam.source_kind = "network";
  const AnalysisReport r = AnalyzeStreams({cam});
  ExpectNone(r, kKind);
}

TEST(StreamFallingBehindTest, LostShareCountsOnlyTheFramesDueAfterSampling) {
  // 25 fps sampled at 5: 200 of 250 frames skipped (not lost); 20 of the 50
  // due frames dropped is 40%, not 8%.
  StreamSpec cam;
  cam.target_fps = 5;
  cam.process_every = 50.0 / 30;
  cam.inference_ms = 190;
  cam.queue_ms = 300;
  const AnalysisReport r = AnalyzeStreams({cam});
  const Finding& f = Expect(r, kKind);
  EXPECT_NEAR(Metric(f, "lost_fraction"), 0.4, 0.01);
  EXPECT_NEAR(Metric(f, "expected_fps"), 5.0, 1e-9);
  EXPECT_TRUE(Contains(f.evidence, "frames read 225, skipped by sampling 180"))
      << testing::Describe(r);
}

TEST(StreamFallingBehindTest, OnlyTheStreamThatFallsBehindIsNamed) {
  StreamSpec cam;
  cam.process_every = 2.5;
  cam.inference_ms = 38;
  cam.queue_ms = 150;
  StreamSpec door;
  door.name = "door";
  door.target_fps = 2;  // a few frames of the same device's time
  door.inference_ms = 38;
  const AnalysisReport r = AnalyzeStreams({cam, door});
  ASSERT_NE(StreamFinding(r, "cam"), nullptr) << testing::Describe(r);
  EXPECT_EQ(StreamFinding(r, "door"), nullptr) << testing::Describe(r);
}

// ---------------------------------------------------------- healthy controls

TEST(StreamFallingBehindTest, HealthyStreamsGiveNoFinding) {
  StreamSpec live;  // 25 of 25 fps, nothing dropped; decode_ms includes the wait
  StreamSpec sampled;
  sampled.name = "sampled";
  sampled.target_fps = 5;
  StreamSpec stopped;  // the queue's 4 frames counted as dropped at a stop
  stopped.name = "stopped";
  stopped.extra_dropped = 4;
  const AnalysisReport r = AnalyzeStreams({live, sampled, stopped});
  ExpectNone(r, kKind);
  EXPECT_EQ(r.summary.by_stream.size(), 3u);
  for (const SkippedCheck& c : r.skipped_checks) EXPECT_NE(c.check, kKind);
}

TEST(StreamFallingBehindTest, TheOpeningBurstIsNotFallingBehind) {
  // FFmpeg hands over the ~0.8 s it buffered while probing a live source in
  // one burst, which a queue of 4 drops (20 frames); then every frame is
  // processed. With `stream` records after the opening, the counts start
  // there; with only the first and last, one second of frames is forgiven.
  for (double period : {1.0, 0.0}) {
    StreamSpec cam;
    cam.stats_period_s = period;
    cam.seconds = 4;
    cam.extra_dropped = period > 0 ? 0 : 20;  // (the last record counts them)
    SyntheticLog log;
    int64_t batch = 1;
    AddStream(&log, cam, &batch);
    if (period > 0) {
      // The burst happened before the first periodic record.
      for (TestRecord& t : log.records) {
        if (t.r.kind == RecordKind::kStream && t.r.frames_read && *t.r.frames_read > 0) {
          *t.r.frames_dropped += 20;
        }
      }
    }
    const AnalysisReport r = log.Analyze();
    ExpectNone(r, kKind);
    ASSERT_EQ(r.summary.by_stream.size(), 1u);
    EXPECT_EQ(r.summary.by_stream[0].frames_dropped, 20) << period;
  }
}

TEST(StreamFallingBehindTest, FallingBehindWithOnlyTheFirstAndLastStreamRecord) {
  StreamSpec cam;
  cam.stats_period_s = 0;
  cam.process_every = 2.5;
  cam.inference_ms = 95;
  cam.queue_ms = 150;
  const AnalysisReport r = AnalyzeStreams({cam});
  const Finding& f = Expect(r, kKind, FindingSeverity::kCritical);
  EXPECT_NE(f.title.find("(device-bound)"), std::string::npos) << f.title;
  EXPECT_EQ(f.affected_count, 150 - 25);  // one second (25 frames) forgiven
  EXPECT_TRUE(Contains(f.evidence, "less 25 frames for the opening burst")) << testing::Describe(r);
}

TEST(StreamFallingBehindTest, FileSlowerThanRealTimeWithoutDropsIsNotFallingBehind) {
  // A file read with the `block` policy: every frame is processed, at 10 fps
  // of a 25 fps file (frames read every 100 ms, pts 40 ms apart, no frame
  // lost before the reader and none dropped): a batch job, not a lag.
  StreamSpec file;
  file.read_every_ms = 100;
  file.decode_ms = 3;
  file.inference_ms = 95;
  file.queue_ms = 300;
  const AnalysisReport r = AnalyzeStreams({file});
  ExpectNone(r, kKind);
}

TEST(StreamFallingBehindTest, FramesMissingWhileTheReaderIdlesAreNotBlamedOnIt) {
  // pts jump 66 ms per frame but the reader needs 5 ms a frame: the frames
  // were lost on the way (the network), not by the server.
  StreamSpec cam;
  cam.read_every_ms = 66;
  cam.pts_step_ms = 66;
  cam.decode_ms = 5;
  const AnalysisReport r = AnalyzeStreams({cam});
  ExpectNone(r, kKind);
}

TEST(StreamFallingBehindTest, NoStreamsNoFindingNoSkippedCheck) {
  HealthyOptions o;
  o.seconds = 20;
  const AnalysisReport r = HealthyLog(o).Analyze();
  ExpectNone(r, kKind);
  for (const SkippedCheck& c : r.skipped_checks) EXPECT_NE(c.check, kKind);
}

// ---------------------------------------------------------------- edge cases

TEST(StreamFallingBehindTest, WithoutStreamRecordsTheCheckIsSkipped) {
  StreamSpec cam;
  cam.process_every = 2.5;
  cam.inference_ms = 95;
  cam.stream_records = false;
  const AnalysisReport r = AnalyzeStreams({cam});
  ExpectNone(r, kKind);
  bool skipped = false;
  for (const SkippedCheck& c : r.skipped_checks) {
    if (c.check == kKind) {
      skipped = true;
      EXPECT_NE(c.reason.find("no `stream` record"), std::string::npos) << c.reason;
    }
  }
  EXPECT_TRUE(skipped) << testing::Describe(r);
}

TEST(StreamFallingBehindTest, AStreamWithOneFrameIsNotJudged) {
  // One frame processed, 24 dropped: too little to judge a rate on.
  SyntheticLog log;
  TestRecord& q = log.Add(RecordKind::kRequest, kT0);
  q.request_id = "f0";
  q.stream = "one";
  q.r.frame_index = 0;
  q.r.pts_ms = 0;
  q.r.inference_ms = 50;
  q.r.total_ms = 60;
  TestRecord& s = log.Add(RecordKind::kStream, kT0 + 1'000'000);
  s.stream = "one";
  s.r.source_fps = 25;
  s.r.target_fps = 0;
  s.r.frames_read = 25;
  s.r.frames_dropped = 24;
  s.r.frames_skipped = 0;
  const AnalysisReport r = log.Analyze();
  ExpectNone(r, kKind);
  ASSERT_EQ(r.summary.by_stream.size(), 1u);
  bool skipped = false;
  for (const SkippedCheck& c : r.skipped_checks) {
    if (c.check == kKind) {
      skipped = true;
      EXPECT_NE(c.reason.find("one: 1 served frames"), std::string::npos) << c.reason;
    }
  }
  EXPECT_TRUE(skipped) << testing::Describe(r);
}

TEST(StreamFallingBehindTest, SplitAggregationGivesTheSameFinding) {
  StreamSpec cam;
  cam.process_every = 2.5;
  cam.inference_ms = 95;
  cam.queue_ms = 150;
  SyntheticLog log;
  int64_t batch = 1;
  AddStream(&log, cam, &batch);
  LogAggregator whole, a, b;
  log.FeedTo(&whole);
  size_t i = 0;
  for (TestRecord& t : log.records) (i++ % 2 == 0 ? a : b).OnRecord(t.View());
  a.Merge(b);
  const AnalysisReport r1 = Analyzer().Analyze(whole);
  const AnalysisReport r2 = Analyzer().Analyze(a);
  const Finding& f1 = Expect(r1, kKind);
  const Finding& f2 = Expect(r2, kKind);
  EXPECT_EQ(f1.title, f2.title);
  EXPECT_NEAR(Metric(f1, "device_busy"), Metric(f2, "device_busy"), 1e-9);
}

}  // namespace
}  // namespace yoloscope
