// StreamFrontend: video streams as a source of requests (`serve --stream
// NAME=URI`, YAML `streams:`; docs/streams.md). Each configured stream gets
// a StreamSource (its reader thread, fps sampling, bounded frame queue,
// reconnects) and a feeder thread that submits its frames through
// InferenceCore into the same InferenceService -- and so the same dynamic
// batcher -- as HTTP and gRPC requests, keeping at most max_in_flight
// frames of the stream in the pipeline. Frames that arrive faster than
// inference takes them wait in the stream's queue, where the drop policy
// applies.
//
// Accounting: every processed frame has one `request` record (protocol
// "stream", with `stream`, `frame_index`, `pts_ms`); every frame read is a
// record, a drop, a skip (fps sampling), queued or in flight, and the
// `stream` records (every config.stream_stats_period_ms, at each state
// change, and when the stream ends) and /metrics
// (yoloscope_stream_frames_total{stream,outcome}) carry those counts.
// A stream that cannot be opened or read is reported (stderr, a `stream`
// record with `error`, yoloscope_stream_up 0) and never stops the server.
//
// Results out: each answered frame goes, in frame order (a small reorder
// buffer of at most max_in_flight frames), to the stream's result sinks
// (StreamResultSink: JSONL file, webhook; only queued, never waited for) and
// to the detection rules (alerts.detection_rules: DetectionAlerter), whose
// firing / resolved transitions go to the LiveAlerter's notifiers
// (LiveAlerter::Submit). Both run on the pipeline thread that completed the
// frame, before the frame leaves the in-flight count, so at shutdown every
// answered frame reached its sinks before they close.
//
// Live page: AddLiveStatus adds "streams" to /api/live (state, fps achieved
// vs target, counts, recent latency p50/p99, results, firing alerts).
//
// Ownership: owns the sources and threads; borrows the context (core,
// metrics, clock; the InferenceServer outlives it). Thread-safety: Start and
// Shutdown from the controlling thread, once each.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string_view>
#include <thread>
#include <vector>

#include "alerts/detection_alerter.h"
#include "server/frontend.h"
#include "server/stream_result_sink.h"
#include "stream/stream_source.h"
#include "stream/video_frame.h"

namespace yoloscope {

class StreamFrontend final : public Frontend {
 public:
  static StatusOr<std::unique_ptr<Frontend>> Create(const FrontendContext& context);
  ~StreamFrontend() override;

  std::string_view name() const override { return "streams"; }
  // Starts every stream's reader and feeder, and the periodic records.
  Status Start() override;
  // Stops reading, counts queued frames as dropped, waits up to `grace` for
  // the frames in flight, and writes each stream's last record. True when
  // every frame in flight was answered in time.
  bool Shutdown(std::chrono::milliseconds grace) override;
  void CollectMetrics() override;
  void AddLiveStatus(nlohmann::json* live) const override;

  // Frames of the recent window (live page): latencies and fps over at most
  // this long, and at most kRecentFrames frames.
  static constexpr int64_t kRecentWindowNs = 10'000'000'000;
  static constexpr size_t kRecentFrames = 1024;

 private:
  struct Stream;
  explicit StreamFrontend(const FrontendContext& context);
  void Feed(Stream* stream);
  void Submit(Stream* stream, VideoFrame&& frame);
  // Puts an answered frame in order and hands the frames now in order to
  // the sinks and the detection rules.
  void Deliver(Stream* stream, int64_t seq, StreamFrameResult&& result);
  void Emit(Stream* stream, const StreamFrameResult& result);
  // The stream ended (by itself, or at shutdown): its firing detection
  // alerts resolve.
  void EndDetections(Stream* stream);
  void Notify(Stream* stream, std::vector<AlertTransition>&& transitions);
  // A stream's frame counts of one moment (the stream record, the live page).
  struct FrameCounts {
    int64_t processed = 0, failed = 0;
    int64_t in_flight = 0;  // delivered by the source, not yet answered
    StreamSourceStats source;
  };
  static FrameCounts CountFrames(const Stream* stream);
  void WriteStreamRecord(Stream* stream);
  void SyncMetrics(Stream* stream);
  void StatsLoop();

  FrontendContext context_;
  std::unique_ptr<DetectionAlerter> detections_;  // null without detection rules
  std::vector<std::unique_ptr<Stream>> streams_;
  std::thread stats_thread_;
  std::mutex stats_mu_;
  std::condition_variable stats_cv_;
  bool stopping_ = false;  // Guarded by stats_mu_.
  bool started_ = false;
  bool shut_down_ = false;
};

}  // namespace yoloscope
